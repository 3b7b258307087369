/* test_proxy_golden.c — explore.proxy.golden_* and explore.zcpt.golden:
 * fabc's proxies and Zero-Cost-PT decisions against an independent
 * PyTorch computation (tests/golden/gen/proxies_ref.py, which writes the
 * models, weights, minibatches and values into tests/explore/golden/).
 *
 *   test_explore_proxy_golden GOLDEN_DIR proxies MODEL
 *   test_explore_proxy_golden GOLDEN_DIR zcpt SUPERNET.fab
 *
 * fabc's differentiable program runs in double, so values agree to 1e-8
 * relative (they agree to ~1e-12; the weights and inputs are F32-exact). */
#include "frontend.h"
#include "proxy.h"
#include "util.h"

#define RTOL 1e-8

static const char *golden;

static char *read_text(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *buf = malloc((size_t)n + 1);
  if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) n = 0;
  if (buf) buf[n] = 0;
  fclose(f);
  if (len) *len = (size_t)n;
  return buf;
}

static bool close_to(double got, double want, double scale) {
  return fabs(got - want) <= RTOL * fmax(fabs(want), scale);
}

/* The minibatch stored beside the weights: "input.<name>" [N, ...] and
 * "labels" [N]. */
static bool golden_batch(const fab_tensor_set *w, const char *input, fab_proxy_batch *b) {
  char key[256];
  snprintf(key, sizeof key, "input.%s", input);
  const fab_tensor *x = fab_tset_find(w, key), *y = fab_tset_find(w, "labels");
  if (!x || !y || y->dtype != FAB_DT_I32 || x->dims[0] != y->dims[0]) return false;
  int64_t n = x->dims[0], total = (int64_t)(x->nbytes / 4);
  b->n = (int)n;
  b->width = total / n;
  b->x = malloc(sizeof(double) * (size_t)total);
  b->y = malloc(sizeof(int32_t) * (size_t)n);
  for (int64_t j = 0; j < total; j++)
    b->x[j] = x->dtype == FAB_DT_I32 ? ((const int32_t *)x->data)[j] : ((const float *)x->data)[j];
  memcpy(b->y, y->data, sizeof(int32_t) * (size_t)n);
  return true;
}

/* The value proxies_ref.py wrote for (model, proxy, defs); NAN if none. */
static double golden_value(const char *table, const char *model, const char *proxy, const char *defs) {
  char key[256];
  snprintf(key, sizeof key, "\n%s %s %s ", model, proxy, defs);
  const char *p = strstr(table, key);
  return p ? strtod(p + strlen(key), NULL) : NAN;
}

static void test_proxies(const char *model) {
  char path[1024];
  size_t len;
  snprintf(path, sizeof path, "%s/%s.fir", golden, model);
  char *fir = read_text(path, &len);
  snprintf(path, sizeof path, "%s/proxies.txt", golden);
  char *table = read_text(path, NULL);
  CHECK(fir && table);
  if (!fir || !table) return;
  fab_diag *d = fab_diag_new();
  fab_module *m = fab_parse_module(model, fir, len, d);
  fab_tensor_set *w = NULL;
  char err[256];
  snprintf(path, sizeof path, "%s/%s.safetensors", golden, model);
  CHECK(m && fab_safetensors_read(path, &w, err, sizeof err) == FAB_OK);
  fab_ad *ad = m && w ? fab_ad_new(m, d) : NULL;
  CHECK(ad && fab_ad_load_weights(ad, w, d));
  fab_proxy_batch b = {0};
  const fab_func *f = m ? fab_module_main(m) : NULL;
  const char *input = f ? fab_op_str(&f->ops[fab_ad_input_op(ad, 0)], "name", "") : "";
  CHECK(ad && golden_batch(w, input, &b));
  static const fab_proxy_kind kinds[] = {FAB_PROXY_SYNFLOW, FAB_PROXY_SNIP, FAB_PROXY_GRAD_NORM,
                                         FAB_PROXY_FISHER, FAB_PROXY_JACOB_COV, FAB_PROXY_NWOT};
  int compared = 0;
  for (int defs = 0; ad && b.x && defs < 2; defs++)
    for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
      const char *dn = defs ? "reference" : "fabc";
      double want = golden_value(table, model, fab_proxy_name(kinds[k]), dn), got = NAN;
      CHECK(fab_proxy_score_ad_defs(ad, kinds[k], (fab_proxy_defs)defs, &b, &got, d));
      bool ok = close_to(got, want, 0);
      printf("%-9s %-10s %-9s fabc %.15g  torch %.15g  rel %.1e%s\n", model, fab_proxy_name(kinds[k]), dn,
             got, want, fabs(got - want) / fabs(want), ok ? "" : "  MISMATCH");
      CHECK(ok);
      compared++;
    }
  CHECK(compared == 12);
  if (fab_diag_error_count(d)) fab_diag_print(d, stderr);
  fab_proxy_batch_free(&b);
  fab_ad_free(ad);
  fab_tset_free(w);
  fab_module_free(m);
  fab_diag_free(d);
  free(fir);
  free(table);
}

/* The edges in the order the proposal visited them (its log lines). */
static int visit_order(FILE *log, int *order, int max) {
  char line[1024];
  int n = 0, e;
  rewind(log);
  while (fgets(line, sizeof line, log))
    if (n < max && sscanf(line, "zcpt: proposal 0 edge layers.%d:", &e) == 1) order[n++] = e;
  return n;
}

/* One run: the decisions and every op score (base - without) match the
 * PyTorch run that visited the edges in the same order. */
static void zcpt_case(const fab_module *sm, const fab_tensor_set *w, const fab_dataset *ds,
                      const char *table, fab_proxy_kind k, fab_proxy_defs defs, uint64_t seed) {
  static const char *const cands[] = {"fbfly", "abfly", "identity"};
  fab_diag *d = fab_diag_new();
  fab_zcpt_options o;
  fab_zcpt_options_default(&o);
  o.proxy = k;
  o.defs = defs;
  o.seed = seed; /* the edge order */
  o.proposals = 1;
  o.valid_batches = 1;
  o.batch = (int)ds->n;
  o.log = tmpfile();
  fab_zcpt_result r;
  bool ran = o.log && fab_zcpt_select(sm, w, ds, &o, &r, d);
  CHECK(ran);
  int order[2];
  if (!ran || visit_order(o.log, order, 2) != 2) {
    fab_diag_print(d, stderr);
    check_failures++;
    goto done;
  }
  char head[128], key[256], chosen[128];
  snprintf(head, sizeof head, "\n%s %s %d,%d ", defs ? "reference" : "fabc", fab_proxy_name(k), order[0],
           order[1]);
  snprintf(key, sizeof key, "%schosen ", head);
  const char *p = strstr(table, key);
  CHECK(p != NULL);
  snprintf(chosen, sizeof chosen, "%s %s", cands[r.choice[0]], cands[r.choice[1]]);
  bool same = p && !strncmp(p + strlen(key), chosen, strlen(chosen));
  printf("zcpt %-9s %-10s order %d,%d: fabc chose %s%s\n", defs ? "reference" : "fabc", fab_proxy_name(k),
         order[0], order[1], chosen, same ? ", as PyTorch" : "  MISMATCH");
  CHECK(same);
  for (int e = 0; e < 2; e++) {
    snprintf(key, sizeof key, "%slayers.%d base ", head, e);
    const char *b = strstr(table, key);
    double base = b ? strtod(b + strlen(key), NULL) : NAN;
    for (int c = 0; c < 3; c++) {
      snprintf(key, sizeof key, "%slayers.%d without %s ", head, e, cands[c]);
      const char *q = strstr(table, key);
      double without = q ? strtod(q + strlen(key), NULL) : NAN;
      bool ok = close_to(r.op_score[e][c], base - without, fmax(fabs(base), fabs(without)));
      if (!ok)
        printf("  layers.%d %s: op score fabc %.15g torch %.15g\n", e, cands[c], r.op_score[e][c],
               base - without);
      CHECK(ok);
    }
  }
  fab_zcpt_result_free(&r);
done:
  if (o.log) fclose(o.log);
  fab_diag_free(d);
}

static void test_zcpt(const char *fab) {
  fab_diag *d = fab_diag_new();
  fab_module *sm = fab_frontend_compile_file(fab, &(fab_frontend_options){0}, d);
  fab_tensor_set *w = NULL;
  char path[1024], err[256];
  snprintf(path, sizeof path, "%s/supernet_tiny.safetensors", golden);
  CHECK(sm && fab_safetensors_read(path, &w, err, sizeof err) == FAB_OK);
  snprintf(path, sizeof path, "%s/zcpt.txt", golden);
  char *table = read_text(path, NULL);
  fab_proxy_batch b = {0};
  CHECK(table && w && golden_batch(w, "tokens", &b));
  if (sm && table && b.x) {
    fab_dataset ds = {.n = b.n, .seq = b.width, .vocab = 32, .classes = 4, .y = b.y};
    ds.x = malloc(sizeof(int32_t) * (size_t)(b.n * b.width));
    for (int64_t j = 0; j < b.n * b.width; j++) ds.x[j] = (int32_t)b.x[j];
    for (int defs = 0; defs < 2; defs++)
      for (int k = FAB_PROXY_SYNFLOW; k <= FAB_PROXY_NWOT; k++)
        for (uint64_t seed = 1; seed <= 4; seed += 3) /* seeds 1 and 4: both edge orders */
          zcpt_case(sm, w, &ds, table, (fab_proxy_kind)k, (fab_proxy_defs)defs, seed);
    free(ds.x);
  } else {
    fab_diag_print(d, stderr);
  }
  fab_proxy_batch_free(&b);
  free(table);
  fab_tset_free(w);
  fab_module_free(sm);
  fab_diag_free(d);
}

int main(int argc, char **argv) {
  if (argc < 4) return 2;
  golden = argv[1];
  if (!strcmp(argv[2], "proxies")) test_proxies(argv[3]);
  else if (!strcmp(argv[2], "zcpt")) test_zcpt(argv[3]);
  else return 2;
  if (check_failures) fprintf(stderr, "%s %s: %d check(s) failed\n", argv[2], argv[3], check_failures);
  return check_failures ? 1 : 0;
}
