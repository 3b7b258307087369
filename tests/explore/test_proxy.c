/* test_proxy.c — explore.proxy.* and explore.zcpt.*: the proxies'
 * invariants, supernet extraction, and Zero-Cost-PT. */
#include "frontend.h"
#include "interp.h"
#include "proxy.h"
#include "stats.h"
#include "util.h"

static const char *examples;

/* synflow identity: a bias-free chain of dense layers and ReLUs with
 * non-negative weights has sum theta dR/dtheta = R per layer, so the score
 * is (layers) * R. */
static void test_synflow_identity(void) {
  fab_diag *d = fab_diag_new();
  fab_module *m = fab_module_new("chain");
  fab_func *f = fab_module_add_func(m, "main");
  int x = b_input(m, f, "x", 0, ty(FAB_F32, 1, 5));
  int widths[4] = {5, 7, 6, 3};
  for (int l = 0; l < 3; l++) {
    char nm[32];
    snprintf(nm, sizeof nm, "l%d.weight", l);
    int w = b_weight(m, f, nm, ty(FAB_F32, 2, widths[l + 1], widths[l]));
    x = b_infer(m, f, b_op(m, f, FAB_OP_DENSE, 2, x, w));
    if (l < 2) x = b_infer(m, f, b_op(m, f, FAB_OP_RELU, 1, x));
  }
  b_output(m, f, x, "y", 0);
  fab_ad *ad = fab_ad_new(m, d);
  CHECK(ad != NULL);
  fab_rng r;
  fab_rng_seed(&r, 9);
  for (int p = 0; p < fab_ad_nparams(ad); p++)
    for (int64_t j = 0; j < fab_ad_param_numel(ad, p); j++) fab_ad_param(ad, p)[j] = fab_rng_uniform(&r);
  double ls = 0, lr = 0;
  CHECK(fab_proxy_synflow(ad, &ls, &lr, d));
  printf("synflow identity: ln score %.12f, ln(3 R) %.12f\n", ls, lr + log(3.0));
  CHECK(fabs(ls - (lr + log(3.0))) < 1e-10);
  /* signs do not matter: synflow takes |theta| (and restores theta) */
  fab_ad_param(ad, 0)[0] = -fab_ad_param(ad, 0)[0];
  double keep = fab_ad_param(ad, 0)[0], ls2;
  CHECK(fab_proxy_synflow(ad, &ls2, NULL, d) && fabs(ls2 - ls) < 1e-12);
  CHECK(fab_ad_param(ad, 0)[0] == keep);
  fab_ad_free(ad);
  fab_module_free(m);
  fab_diag_free(d);
}

static fab_module *tiny(fab_diag *d) {
  char path[1024];
  snprintf(path, sizeof path, "%s/tiny.fab", examples);
  fab_define defs[] = {{"seq", 16}, {"d", 16}, {"h", 32}, {"vocab", 16}, {"classes", 10}};
  fab_frontend_options o = {.defines = defs, .ndefines = 5};
  fab_module *m = fab_frontend_compile_file(path, &o, d);
  if (!m) fab_diag_print(d, stderr);
  return m;
}

static fab_dataset listops(int n, uint64_t seed) {
  fab_task_options to = {.kind = FAB_TASK_LISTOPS, .n = n, .seq = 16, .seed = seed, .max_depth = 2};
  fab_dataset ds;
  if (!fab_task_generate(&to, &ds, NULL)) memset(&ds, 0, sizeof ds);
  return ds;
}

/* jacob_cov's correlation eigenvalues sum to the batch size; nwot's
 * kernel diagonal is the number of units; every proxy is finite; params
 * and MACs agree with explore/stats. */
static void test_invariants(void) {
  fab_diag *d = fab_diag_new();
  fab_module *m = tiny(d);
  if (!m) {
    check_failures++;
    return;
  }
  fab_ad *ad = fab_ad_new(m, d);
  CHECK(ad && fab_ad_init_params(ad, 4, d));
  fab_dataset ds = listops(64, 3);
  fab_proxy_batch b;
  CHECK(fab_proxy_batch_from_dataset(&ds, 0, 12, &b, d));
  double eig[12], sum = 0, K[144];
  CHECK(fab_proxy_jacob_cov_eigs(ad, &b, eig, d));
  for (int i = 0; i < 12; i++) sum += eig[i];
  printf("jacob_cov: eigenvalue sum %.12f (batch 12)\n", sum);
  CHECK(fabs(sum - 12) < 1e-9);
  CHECK(fab_proxy_nwot_kernel(ad, &b, K, d));
  int64_t units = 0;
  const fab_func *f = fab_module_main(m);
  for (int i = 0; i < f->nops; i++)
    if (f->ops[i].code == FAB_OP_GELU) units += fab_type_numel(&f->ops[i].type);
  for (int i = 0; i < 12; i++) {
    CHECK(K[i * 12 + i] == (double)units);
    for (int j = 0; j < 12; j++) CHECK(K[i * 12 + j] == K[j * 12 + i] && K[i * 12 + j] <= units);
  }
  printf("nwot: kernel diagonal %.0f = %lld units\n", K[0], (long long)units);
  fab_model_stats st;
  CHECK(fab_stats_compute(m, &st, d));
  for (int k = 0; k < FAB_PROXY_COUNT; k++) {
    double s = NAN;
    CHECK(fab_proxy_score_ad(ad, k, &b, &s, d));
    CHECK(isfinite(s));
    printf("proxy %-9s %.6g\n", fab_proxy_name(k), s);
    if (k == FAB_PROXY_PARAMS) CHECK(s == (double)st.total.params);
    if (k == FAB_PROXY_MACS) CHECK(s == (double)st.total.macs);
  }
  fab_stats_free(&st);
  /* duplicate samples are counted once by nwot (else K is singular) */
  fab_proxy_batch dup;
  CHECK(fab_proxy_batch_from_dataset(&ds, 0, 12, &dup, d));
  memcpy(dup.x + 6 * dup.width, dup.x, sizeof(double) * (size_t)dup.width);
  double s_dup = NAN, s_5 = NAN;
  CHECK(fab_proxy_score_ad(ad, FAB_PROXY_NWOT, &dup, &s_dup, d) && isfinite(s_dup));
  fab_proxy_batch_free(&dup);
  CHECK(fab_proxy_batch_from_dataset(&ds, 0, 12, &dup, d));
  memmove(dup.x + 6 * dup.width, dup.x + 7 * dup.width, sizeof(double) * (size_t)(5 * dup.width));
  dup.n = 11; /* the same 11 distinct samples */
  CHECK(fab_proxy_score_ad(ad, FAB_PROXY_NWOT, &dup, &s_5, d) && fabs(s_5 - s_dup) < 1e-9);
  fab_proxy_batch_free(&dup);
  /* labels are required by the gradient proxies */
  fab_proxy_batch nb = b;
  nb.y = NULL;
  double s;
  CHECK(!fab_proxy_score_ad(ad, FAB_PROXY_SNIP, &nb, &s, d));
  CHECK(fab_proxy_score_ad(ad, FAB_PROXY_NWOT, &nb, &s, d));
  fab_proxy_batch_free(&b);
  fab_dataset_free(&ds);
  fab_ad_free(ad);
  fab_module_free(m);
  fab_diag_free(d);
}

static fab_module *supernet(int layers, const char *const *cands, int ncands, fab_diag *d) {
  fab_supernet_options o = {.seq = 16, .d = 16, .h = 32, .heads = 2, .vocab = 16, .classes = 10,
                            .layers = layers, .ncands = ncands, .cands = cands};
  fab_module *m = fab_supernet_fabnet(&o, d);
  if (!m) fab_diag_print(d, stderr);
  return m;
}

/* Extracting [fbfly, abfly] from a supernet gives tiny.fab exactly: the
 * same state_dict and the same outputs in the reference interpreter;
 * the supernet survives the IR text round trip; masked parts are not
 * counted. */
static void test_extract(void) {
  fab_diag *d = fab_diag_new();
  const char *cands[] = {"fbfly", "abfly", "transformer"};
  fab_module *sm = supernet(2, cands, 3, d), *tm = tiny(d);
  CHECK(sm && tm);
  if (!sm || !tm) return;
  fab_supernet s;
  CHECK(fab_supernet_scan(sm, &s, d) && s.nedges == 2 && s.edges[0].ncand == 3);
  int choice[2] = {0, 1};
  fab_tensor_set *w = fab_tset_new(), *pw = fab_tset_new();
  CHECK(fab_bind_init_weights(sm, 5, w, d));
  fab_module *pm = fab_supernet_extract(sm, &s, choice, w, pw, d);
  CHECK(pm != NULL);
  if (!pm) return;
  CHECK(pm->nparams == tm->nparams);
  { /* a plain model: no supernet markers survive the extraction */
    const fab_func *pf = fab_module_main(pm);
    int marked = 0;
    for (int i = 0; pf && i < pf->nops; i++)
      marked += fab_op_attr(&pf->ops[i], "hint.choice") || fab_op_attr(&pf->ops[i], "hint.choice_edge") ||
                fab_op_attr(&pf->ops[i], "hint.choice_mix");
    CHECK(marked == 0);
  }
  for (int p = 0; p < tm->nparams; p++) {
    int q = fab_module_find_param(pm, tm->params[p].name);
    CHECK(q >= 0 && fab_type_equal(&pm->params[q].type, &tm->params[p].type));
    if (q < 0) fprintf(stderr, "  missing %s\n", tm->params[p].name);
  }
  fab_tensor_set *in = fab_tset_new(), *o1 = fab_tset_new(), *o2 = fab_tset_new();
  CHECK(fab_bind_init_inputs(tm, 2, in, d));
  CHECK(fab_interp_run(tm, pw, in, o1, d) && fab_interp_run(pm, pw, in, o2, d));
  const fab_tensor *a = fab_tset_find(o1, "logits"), *bb = fab_tset_find(o2, "logits");
  CHECK(a && bb && !memcmp(a->data, bb->data, a->nbytes));
  /* masked supernet: params of the live part = the plain model's */
  fab_ad *ad = fab_ad_new(sm, d);
  CHECK(ad && fab_ad_load_weights(ad, w, d));
  fab_supernet_apply(ad, &s, choice);
  double sp, pp;
  CHECK(fab_proxy_score_ad(ad, FAB_PROXY_PARAMS, NULL, &sp, d));
  CHECK(fab_proxy_score(pm, pw, 0, FAB_PROXY_PARAMS, NULL, &pp, d));
  CHECK(sp == pp);
  double smacs, pmacs;
  CHECK(fab_proxy_score_ad(ad, FAB_PROXY_MACS, NULL, &smacs, d));
  CHECK(fab_proxy_score(pm, pw, 0, FAB_PROXY_MACS, NULL, &pmacs, d) && smacs == pmacs);
  printf("extract: %d params, %.0f live parameters, %.0f MACs\n", pm->nparams, sp, smacs);
  /* text round trip keeps the choice annotations */
  char *txt = fab_print_module_str(sm, 0);
  fab_module *back = txt ? fab_parse_module("supernet.fir", txt, strlen(txt), d) : NULL;
  fab_supernet s2;
  CHECK(back && fab_supernet_scan(back, &s2, d) && s2.nedges == 2 && s2.edges[1].ncand == 3);
  if (back) fab_supernet_free(&s2);
  if (fab_diag_error_count(d)) fab_diag_print(d, stderr);
  free(txt);
  fab_module_free(back);
  fab_ad_free(ad);
  fab_tset_free(in);
  fab_tset_free(o1);
  fab_tset_free(o2);
  fab_tset_free(w);
  fab_tset_free(pw);
  fab_module_free(pm);
  fab_supernet_free(&s);
  fab_module_free(sm);
  fab_module_free(tm);
  fab_diag_free(d);
}

static void test_zcpt(void) {
  fab_diag *d = fab_diag_new();
  const char *cands[] = {"fbfly", "abfly", "abfly_dffn", "transformer"};
  fab_module *sm = supernet(2, cands, 4, d);
  if (!sm) {
    check_failures++;
    return;
  }
  fab_dataset ds = listops(200, 8);
  fab_zcpt_options o;
  fab_zcpt_options_default(&o);
  o.proposals = 3;
  o.valid_batches = 2;
  o.batch = 8;
  o.log = stdout;
  fab_zcpt_result r1, r2;
  CHECK(fab_zcpt_select(sm, NULL, &ds, &o, &r1, d));
  o.log = NULL;
  CHECK(fab_zcpt_select(sm, NULL, &ds, &o, &r2, d));
  CHECK(r1.nedges == 2 && r2.nedges == 2);
  for (int e = 0; e < r1.nedges; e++) {
    CHECK(r1.choice[e] >= 0 && r1.choice[e] < 4 && r1.choice[e] == r2.choice[e]);
    for (int c = 0; c < 4; c++) CHECK(isfinite(r1.op_score[e][c]) && r1.op_score[e][c] == r2.op_score[e][c]);
  }
  CHECK(r1.proxy_evals == 3 * 2 * 5 + 2 * r1.nproposals_distinct);
  { /* reference: a fresh minibatch per op evaluation, so other scores
     * for the same number of evaluations */
    fab_zcpt_result rr;
    o.defs = FAB_PROXY_DEFS_REFERENCE;
    CHECK(fab_zcpt_select(sm, NULL, &ds, &o, &rr, d));
    CHECK(rr.proxy_evals == 3 * 2 * 5 + 2 * rr.nproposals_distinct);
    CHECK(rr.op_score[0][0] != r1.op_score[0][0] || rr.op_score[1][1] != r1.op_score[1][1]);
    fab_zcpt_result_free(&rr);
    o.defs = FAB_PROXY_DEFS_FABC;
  }
  printf("zcpt: %lld proxy evaluations, %lld passes, %.3f s\n", (long long)r1.proxy_evals,
         (long long)r1.forward_passes, r1.seconds);
  fab_zcpt_result_free(&r1);
  fab_zcpt_result_free(&r2);
  /* every proxy drives the selection */
  o.proposals = 1;
  o.valid_batches = 1;
  for (int k = 0; k < FAB_PROXY_COUNT; k++) {
    o.proxy = k;
    CHECK(fab_zcpt_select(sm, NULL, &ds, &o, &r1, d));
    fab_zcpt_result_free(&r1);
  }
  /* a plain model is refused */
  fab_module *tm = tiny(d);
  fab_diag_clear(d);
  CHECK(!fab_zcpt_select(tm, NULL, &ds, &o, &r1, d) && fab_diag_error_count(d) == 1);
  fab_module_free(tm);
  fab_dataset_free(&ds);
  fab_module_free(sm);
  fab_diag_free(d);
}

/* tests/explore/supernet_small.fir (written by `test_explore_proxy
 * EXAMPLES dump FILE`): the committed text form of a 2-edge supernet
 * parses, verifies, and every architecture extracts and runs. */
static void test_fir(const char *path) {
  fab_diag *d = fab_diag_new();
  FILE *f = fopen(path, "rb");
  CHECK(f != NULL);
  if (!f) return;
  char *buf = malloc(1 << 20);
  size_t n = fread(buf, 1, (1 << 20) - 1, f);
  fclose(f);
  fab_module *m = fab_parse_module(path, buf, n, d);
  free(buf);
  CHECK(m && fab_verify(m, d));
  fab_supernet s;
  CHECK(m && fab_supernet_scan(m, &s, d) && s.nedges == 2);
  if (!m) {
    fab_diag_print(d, stderr);
    return;
  }
  fab_tensor_set *in = fab_tset_new();
  CHECK(fab_bind_init_inputs(m, 1, in, d));
  for (int a = 0; a < s.edges[0].ncand; a++)
    for (int b = 0; b < s.edges[1].ncand; b++) {
      int choice[2] = {a, b};
      fab_module *pm = fab_supernet_extract(m, &s, choice, NULL, NULL, d);
      fab_tensor_set *w = fab_tset_new(), *out = fab_tset_new();
      CHECK(pm && fab_bind_init_weights(pm, 1, w, d) && fab_interp_run(pm, w, in, out, d));
      fab_tset_free(w);
      fab_tset_free(out);
      fab_module_free(pm);
    }
  printf("fir: %d edges x %d candidates extracted and run\n", s.nedges, s.edges[0].ncand);
  if (fab_diag_error_count(d)) fab_diag_print(d, stderr);
  fab_tset_free(in);
  fab_supernet_free(&s);
  fab_module_free(m);
  fab_diag_free(d);
}

static int dump(const char *path) {
  fab_diag *d = fab_diag_new();
  const char *cands[] = {"fbfly", "fdense", "abfly", "transformer"};
  fab_supernet_options o = {.seq = 8, .d = 8, .h = 16, .heads = 2, .vocab = 16, .classes = 10,
                            .layers = 2, .ncands = 4, .cands = cands};
  fab_module *m = fab_supernet_fabnet(&o, d);
  FILE *f = m ? fopen(path, "w") : NULL;
  if (!f) return 1;
  fprintf(f, "// A Zero-Cost-PT supernet: 2 choice edges x {fbfly, fdense, abfly, transformer}\n"
             "// (explore/proxy/supernet.c, fab_supernet_fabnet; docs/explore.md).\n");
  fab_print_module(f, m, 0);
  fclose(f);
  fab_module_free(m);
  fab_diag_free(d);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 3) return 2;
  if (!strcmp(argv[2], "dump") && argc > 3) return dump(argv[3]);
  if (!strcmp(argv[2], "fir") && argc > 3) {
    test_fir(argv[3]);
    return check_failures ? 1 : 0;
  }
  examples = argv[1];
  const char *t = argv[2];
  if (!strcmp(t, "synflow_identity")) test_synflow_identity();
  else if (!strcmp(t, "invariants")) test_invariants();
  else if (!strcmp(t, "extract")) test_extract();
  else if (!strcmp(t, "zcpt")) test_zcpt();
  else return 2;
  if (check_failures) fprintf(stderr, "%s: %d check(s) failed\n", t, check_failures);
  return check_failures ? 1 : 0;
}
