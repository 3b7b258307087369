/* test_wmap.c — weight maps (fab_weight_map.h): rules, the JSON form,
 * applying a map to a set, the runtime's mapped binding, closest-name
 * suggestions (against a plain edit distance) and a 100k-entry file. */
#include "check.h"
#include "fab_runtime.h"
#include "fab_weight_map.h"

#include <stdlib.h>
#include <string.h>

static char err[1024];

static bool has(const char *s, const char *part) {
  if (strstr(s, part)) return true;
  fprintf(stderr, "  missing \"%s\" in: %s\n", part, s);
  return false;
}

void test_wmap_rules(void) {
  fab_weight_map *m = fab_wmap_new();
  char buf[128];
  CHECK_ST(fab_wmap_add_rename_rule(m, "model.=", err, sizeof err), FAB_OK);
  CHECK_ST(fab_wmap_add_rename_rule(m, "model.enc.layer.=layers.", err, sizeof err), FAB_OK);
  CHECK_ST(fab_wmap_add_rename(m, "model.", "", err, sizeof err), FAB_OK); /* same rule again */
  /* Longest FROM wins, whatever the order; rules never chain. */
  CHECK(!strcmp(fab_wmap_rename(m, "model.enc.layer.0.w", buf, sizeof buf), "layers.0.w"));
  CHECK(!strcmp(fab_wmap_rename(m, "model.head.w", buf, sizeof buf), "head.w"));
  CHECK(!strcmp(fab_wmap_rename(m, "other.w", buf, sizeof buf), "other.w"));
  CHECK(fab_wmap_rename(m, "model.head.w", buf, 3) == NULL);
  CHECK_ST(fab_wmap_add_rename_rule(m, "model.=x.", err, sizeof err), FAB_E_ARG);
  CHECK(has(err, "two rename rules for the prefix 'model.': to '' and to 'x.'"));
  CHECK_ST(fab_wmap_add_rename_rule(m, "model.", err, sizeof err), FAB_E_ARG);
  CHECK(has(err, "has no '='"));
  CHECK_ST(fab_wmap_add_rename_rule(m, "a=a", err, sizeof err), FAB_E_ARG);
  CHECK(has(err, "does nothing"));
  CHECK_ST(fab_wmap_add_rename_rule(m, "=", err, sizeof err), FAB_E_ARG);
  /* An empty FROM adds a prefix to every name. */
  fab_weight_map *add = fab_wmap_new();
  CHECK_ST(fab_wmap_add_rename_rule(add, "=net.", err, sizeof err), FAB_OK);
  CHECK(!strcmp(fab_wmap_rename(add, "w", buf, sizeof buf), "net.w"));
  fab_wmap_free(add);
  /* Reshapes: the same twice is fine, two different shapes are not. */
  int64_t s1[] = {4, 8}, s2[] = {8, 4}, bad[] = {4, 0};
  CHECK_ST(fab_wmap_add_reshape(m, "pos.weight", -1, NULL, err, sizeof err), FAB_OK);
  CHECK_ST(fab_wmap_add_reshape(m, "pos.weight", 2, s1, err, sizeof err), FAB_OK);
  CHECK_ST(fab_wmap_add_reshape(m, "pos.weight", -1, NULL, err, sizeof err), FAB_OK);
  CHECK_ST(fab_wmap_add_reshape(m, "pos.weight", 2, s2, err, sizeof err), FAB_E_ARG);
  CHECK(has(err, "two reshapes of 'pos.weight': to [4, 8] and to [8, 4]"));
  CHECK_ST(fab_wmap_add_reshape(m, "x", 2, bad, err, sizeof err), FAB_E_ARG);
  CHECK_ST(fab_wmap_add_reshape(m, "", -1, NULL, err, sizeof err), FAB_E_ARG);
  CHECK(!fab_wmap_allows_unused(m) && !fab_wmap_allows_unused(NULL));
  fab_wmap_set_allow_unused(m, true);
  CHECK(fab_wmap_allows_unused(m));
  fab_wmap_free(m);
  fab_wmap_free(NULL);
}

/* Parses `json` into a new map; returns the status, message in err. */
static fab_status parse(const char *json) {
  fab_weight_map *m = fab_wmap_new();
  fab_status st = fab_wmap_parse_json(m, json, strlen(json), "map.json", err, sizeof err);
  fab_wmap_free(m);
  return st;
}

void test_wmap_json(void) {
  fab_weight_map *m = fab_wmap_new();
  const char *good = "{\"rename\": {\"model.\": \"\", \"a.\": \"b.\"}, \"reshape\": [\"pos.weight\"],"
                     " \"allow_unused\": true}";
  CHECK_ST(fab_wmap_parse_json(m, good, strlen(good), "good.json", err, sizeof err), FAB_OK);
  char buf[64];
  CHECK(fab_wmap_allows_unused(m) && !strcmp(fab_wmap_rename(m, "a.x", buf, sizeof buf), "b.x"));
  fab_wmap_free(m);
  CHECK_ST(parse("{}"), FAB_OK);
  CHECK_ST(parse("{\"reshape\": {\"p\": [1, 2]}, \"allow_unused\": false}"), FAB_OK);
  /* Malformed JSON: file, line and column. */
  CHECK_ST(parse("{\"rename\": {\"a\": \"b\",}\n}"), FAB_E_FORMAT);
  CHECK(has(err, "map.json:1:") && has(err, "malformed weight map"));
  CHECK_ST(parse(""), FAB_E_FORMAT);
  CHECK_ST(parse("[1, 2]"), FAB_E_FORMAT);
  CHECK(has(err, "map.json: a weight map is a JSON object"));
  /* Unknown keys, with the closest known one. */
  CHECK_ST(parse("{\"renames\": {}}"), FAB_E_FORMAT);
  CHECK(has(err, "map.json: unknown key 'renames'; did you mean 'rename'?"));
  CHECK_ST(parse("{\"frobnicate\": 1}"), FAB_E_FORMAT);
  CHECK(has(err, "unknown key 'frobnicate' (the keys are"));
  CHECK_ST(parse("{\"rename\": {}, \"rename\": {}}"), FAB_E_FORMAT); /* duplicate key */
  /* Bad values. */
  CHECK_ST(parse("{\"rename\": [\"a\", \"b\"]}"), FAB_E_FORMAT);
  CHECK(has(err, "\"rename\" must be an object"));
  CHECK_ST(parse("{\"rename\": {\"a\": 3}}"), FAB_E_FORMAT);
  CHECK(has(err, "the new prefix for 'a' must be a string"));
  CHECK_ST(parse("{\"rename\": {\"a\": \"a\"}}"), FAB_E_ARG);
  CHECK(has(err, "map.json: \"rename\": rename rule 'a=a' does nothing"));
  CHECK_ST(parse("{\"reshape\": \"pos\"}"), FAB_E_FORMAT);
  CHECK_ST(parse("{\"reshape\": [3]}"), FAB_E_FORMAT);
  CHECK(has(err, "entry 0 is not a parameter name"));
  CHECK_ST(parse("{\"reshape\": {\"p\": [2, -1]}}"), FAB_E_FORMAT);
  CHECK(has(err, "the shape of 'p' must be an array"));
  CHECK_ST(parse("{\"reshape\": {\"p\": [1,1,1,1,1,1,1,1,1]}}"), FAB_E_FORMAT);
  CHECK_ST(parse("{\"allow_unused\": 1}"), FAB_E_FORMAT);
  CHECK(has(err, "\"allow_unused\" must be true or false"));
  /* Files. */
  m = fab_wmap_new();
  CHECK_ST(fab_wmap_load_json(m, tmp_path("absent.json"), err, sizeof err), FAB_E_IO);
  CHECK(has(err, "absent.json"));
  put_file(tmp_path("bad.json"), "{\"rename\": {", 12);
  CHECK_ST(fab_wmap_load_json(m, tmp_path("bad.json"), err, sizeof err), FAB_E_FORMAT);
  CHECK(has(err, "bad.json:1:"));
  put_file(tmp_path("ok.json"), good, strlen(good));
  CHECK_ST(fab_wmap_load_json(m, tmp_path("ok.json"), err, sizeof err), FAB_OK);
  fab_wmap_free(m);
}

static fab_tensor *add_f32(fab_tensor_set *s, const char *name, int rank, const int64_t *dims,
                           float first) {
  fab_tensor *t = fab_tset_add(s, name, FAB_DT_F32, rank, dims);
  if (t) ((float *)t->data)[0] = first;
  return t;
}

typedef struct collected {
  int n, by_param;
  char last[1024];
} collected;

static void collect(void *ctx, int param, fab_status st, const char *msg) {
  (void)st;
  collected *c = ctx;
  c->n++;
  c->by_param += param >= 0;
  snprintf(c->last, sizeof c->last, "%s", msg);
}

/* The model of these tests: pos.weight [4, 8], fc.weight [8, 8], fc.bias [8]. */
static const int64_t pos_dims[] = {4, 8}, fc_dims[] = {8, 8}, bias_dims[] = {8};
static const fab_wmap_param model[] = {
    {"pos.weight", 2, pos_dims}, {"fc.weight", 2, fc_dims}, {"fc.bias", 1, bias_dims}};

/* A file as a Hugging Face model saves it. */
static fab_tensor_set *hf_file(void) {
  fab_tensor_set *s = fab_tset_new();
  int64_t pos3[] = {1, 4, 8}, ids[] = {1, 4};
  add_f32(s, "model.pos.weight", 3, pos3, 1);
  add_f32(s, "model.fc.weight", 2, fc_dims, 2);
  add_f32(s, "model.fc.bias", 1, bias_dims, 3);
  fab_tset_add(s, "model.position_ids", FAB_DT_I64, 2, ids);
  return s;
}

void test_wmap_apply(void) {
  fab_tensor_set *s = hf_file();
  int found[3];
  collected c = {0};
  /* No map: every parameter missing (with the prefixed name and the rule
   * suggested) and every entry unexpected. */
  CHECK_ST(fab_wmap_resolve(NULL, s, model, 3, 0, found, collect, &c, err, sizeof err),
           FAB_E_MISSING);
  CHECK(has(err, "missing weight 'pos.weight' (shape [4, 8]); did you mean 'model.pos.weight'? "
                 "(--rename 'model.=' strips that prefix)"));
  CHECK(c.n == 7 && c.by_param == 3 && found[0] == -1);
  CHECK(has(c.last, "unexpected weight 'model.position_ids'") && has(c.last, "--allow-unused"));
  /* Renamed: the [1, 4, 8] table needs a stated reshape. */
  fab_weight_map *m = fab_wmap_new();
  CHECK_ST(fab_wmap_add_rename_rule(m, "model.=", err, sizeof err), FAB_OK);
  c = (collected){0};
  CHECK_ST(fab_wmap_resolve(m, s, model, 3, 0, found, collect, &c, err, sizeof err), FAB_E_SHAPE);
  CHECK(has(err, "weight 'pos.weight' (renamed from 'model.pos.weight') has shape [1, 4, 8], the "
                 "model expects [4, 8]; to drop the leading axes of size 1, state the reshape "
                 "(--reshape 'pos.weight'"));
  CHECK(c.n == 2 && found[0] == 0 && found[1] == 1 && found[2] == 2);
  CHECK(has(c.last, "unexpected weight 'position_ids' (renamed from 'model.position_ids')"));
  /* The plain runtime binding's rule: unused entries are fine. */
  CHECK_ST(fab_wmap_add_reshape(m, "pos.weight", -1, NULL, err, sizeof err), FAB_OK);
  CHECK_ST(fab_wmap_resolve(m, s, model, 3, FAB_WMAP_UNUSED_OK, found, NULL, NULL, err, sizeof err),
           FAB_OK);
  CHECK_ST(fab_wmap_apply(m, s, model, 3, 0, found, NULL, NULL, err, sizeof err), FAB_E_EXTRA);
  CHECK(!strcmp(s->items[0].name, "model.pos.weight") && s->items[0].rank == 3); /* unchanged */
  /* Everything stated: renamed, reshaped, the buffer dropped. */
  fab_wmap_set_allow_unused(m, true);
  CHECK_ST(fab_wmap_apply(m, s, model, 3, 0, found, NULL, NULL, err, sizeof err), FAB_OK);
  CHECK(s->count == 3 && !strcmp(s->items[0].name, "pos.weight") && s->items[0].rank == 2 &&
        s->items[0].dims[0] == 4 && s->items[0].dims[1] == 8 && s->items[0].dims[2] == 0);
  CHECK(found[0] == 0 && found[1] == 1 && found[2] == 2 &&
        ((float *)fab_tset_find(s, "fc.bias")->data)[0] == 3);
  /* Applying again to the mapped set changes nothing. */
  CHECK_ST(fab_wmap_apply(NULL, s, model, 3, 0, NULL, NULL, NULL, err, sizeof err), FAB_OK);
  /* A name listed twice (a descriptor may) gets the one entry for both,
   * also when unused entries are dropped around it. */
  int64_t d1[] = {1};
  add_f32(s, "extra", 1, d1, 0);
  const fab_wmap_param twice[] = {model[2], model[2]};
  fab_weight_map *drop = fab_wmap_new();
  fab_wmap_set_allow_unused(drop, true);
  CHECK_ST(fab_wmap_apply(drop, s, twice, 2, 0, found, NULL, NULL, err, sizeof err), FAB_OK);
  fab_wmap_free(drop);
  CHECK(s->count == 1 && found[0] == 0 && found[1] == 0 && !strcmp(s->items[0].name, "fc.bias"));
  fab_tset_free(s);
  fab_wmap_free(m);

  /* Rename rules that give two entries one name. */
  s = hf_file();
  int64_t d8[] = {8};
  add_f32(s, "fc.bias", 1, d8, 0);
  m = fab_wmap_new();
  CHECK_ST(fab_wmap_add_rename_rule(m, "model.=", err, sizeof err), FAB_OK);
  CHECK_ST(fab_wmap_apply(m, s, model, 3, FAB_WMAP_UNUSED_OK, NULL, NULL, NULL, err, sizeof err),
           FAB_E_ARG);
  CHECK(has(err, "the rename rules give two entries of the file the name 'fc.bias': "
                 "'model.fc.bias' and 'fc.bias'"));
  CHECK(!strcmp(s->items[2].name, "model.fc.bias"));
  fab_tset_free(s);
  /* A reshape that is not only dropping leading 1-axes. */
  s = fab_tset_new();
  int64_t wrong[] = {2, 2, 8}, d48[] = {4, 8};
  add_f32(s, "pos.weight", 3, wrong, 0);
  add_f32(s, "fc.weight", 2, fc_dims, 0);
  add_f32(s, "fc.bias", 1, bias_dims, 0);
  fab_wmap_free(m);
  m = fab_wmap_new();
  CHECK_ST(fab_wmap_add_reshape(m, "pos.weight", -1, NULL, err, sizeof err), FAB_OK);
  CHECK_ST(fab_wmap_apply(m, s, model, 3, 0, NULL, NULL, NULL, err, sizeof err), FAB_E_SHAPE);
  CHECK(has(err, "cannot reshape weight 'pos.weight' from [2, 2, 8] to [4, 8]: only leading axes "
                 "of size 1 may be dropped"));
  /* Without a stated reshape it is a plain shape error (no hint). */
  CHECK_ST(fab_wmap_apply(NULL, s, model, 3, 0, NULL, NULL, NULL, err, sizeof err), FAB_E_SHAPE);
  CHECK(has(err, "has shape [2, 2, 8], the model expects [4, 8]") && !strstr(err, "--reshape"));
  /* Reshapes of names the model lacks, or to another shape. */
  fab_wmap_free(m);
  m = fab_wmap_new();
  CHECK_ST(fab_wmap_add_reshape(m, "pos.weigth", -1, NULL, err, sizeof err), FAB_OK);
  CHECK_ST(fab_wmap_apply(m, s, model, 3, 0, NULL, NULL, NULL, err, sizeof err), FAB_E_ARG);
  CHECK(has(err, "reshape of 'pos.weigth': the model has no parameter of that name; did you mean "
                 "'pos.weight'?"));
  fab_wmap_free(m);
  m = fab_wmap_new();
  int64_t d84[] = {8, 4};
  CHECK_ST(fab_wmap_add_reshape(m, "pos.weight", 2, d84, err, sizeof err), FAB_OK);
  CHECK_ST(fab_wmap_apply(m, s, model, 3, 0, NULL, NULL, NULL, err, sizeof err), FAB_E_ARG);
  CHECK(has(err, "reshape of 'pos.weight' to [8, 4]: the model's parameter has shape [4, 8]"));
  (void)d48;
  fab_wmap_free(m);
  fab_tset_free(s);
}

/* ---- closest names ----------------------------------------------------- */

static int ref_distance(const char *a, const char *b) {
  size_t m = strlen(a), n = strlen(b);
  int d[40][40];
  for (size_t i = 0; i <= m; i++) d[i][0] = (int)i;
  for (size_t j = 0; j <= n; j++) d[0][j] = (int)j;
  for (size_t i = 1; i <= m; i++)
    for (size_t j = 1; j <= n; j++) {
      int v = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
      if (d[i - 1][j] + 1 < v) v = d[i - 1][j] + 1;
      if (d[i][j - 1] + 1 < v) v = d[i][j - 1] + 1;
      d[i][j] = v;
    }
  return d[m][n];
}

void test_wmap_suggest(void) {
  /* The bounded distance agrees with the plain one: a single candidate is
   * suggested exactly when its distance is within 2 + len/4. */
  fab_rng r;
  fab_rng_seed(&r, 42);
  char a[40], b[40], buf[256];
  for (int it = 0; it < 20000; it++) {
    int la = 1 + (int)fab_rng_below(&r, 30), lb = 1 + (int)fab_rng_below(&r, 30);
    for (int i = 0; i < la; i++) a[i] = (char)('a' + fab_rng_below(&r, 3));
    a[la] = 0;
    /* b: often a small edit of a, sometimes unrelated. */
    if (it % 2) {
      memcpy(b, a, (size_t)la + 1);
      for (int e = (int)fab_rng_below(&r, 8); e > 0; e--) {
        int at = (int)fab_rng_below(&r, (int64_t)strlen(b) + 1);
        if (strlen(b) < 38) {
          memmove(b + at + 1, b + at, strlen(b + at) + 1);
          b[at] = (char)('a' + fab_rng_below(&r, 3));
        }
      }
    } else {
      for (int i = 0; i < lb; i++) b[i] = (char)('a' + fab_rng_below(&r, 3));
      b[lb] = 0;
    }
    fab_tensor_set *s = fab_tset_new();
    fab_tset_add(s, b, FAB_DT_F32, 0, NULL);
    bool want = strcmp(a, b) != 0 && ref_distance(a, b) <= 2 + (int)strlen(a) / 4;
    bool got = fab_wmap_suggest(s, a, 3, buf, sizeof buf) == 1;
    if (want != got && strcmp(a, b) != 0) {
      fprintf(stderr, "  '%s' vs '%s': distance %d, suggested %d\n", a, b, ref_distance(a, b), got);
      check_failures++;
    }
    fab_tset_free(s);
    if (check_failures > 5) break;
  }
  /* Best first, at most `max`, dotted prefixes count as closest. */
  fab_tensor_set *s = fab_tset_new();
  const char *names[] = {"layers.0.attn.k_proj.twiddle", "layers.0.attn.q_proj.twiddle",
                         "encoder.layers.0.attn.q.twiddle", "layers.1.attn.q_proj.bias", "zzz"};
  for (int i = 0; i < 5; i++) fab_tset_add(s, names[i], FAB_DT_F32, 0, NULL);
  CHECK(fab_wmap_suggest(s, "layers.0.attn.q.twiddle", 3, buf, sizeof buf) == 3);
  CHECK(has(buf, "'encoder.layers.0.attn.q.twiddle', 'layers.0.attn.q_proj.twiddle' or "
                 "'layers.0.attn.k_proj.twiddle'"));
  CHECK(fab_wmap_suggest(s, "layers.0.attn.q.twiddle", 1, buf, sizeof buf) == 1);
  CHECK(!strcmp(buf, "'encoder.layers.0.attn.q.twiddle'"));
  CHECK(fab_wmap_suggest(s, "completely.different.name", 3, buf, sizeof buf) == 0 && !*buf);
  fab_tset_free(s);
}

/* ---- the runtime's mapped binding ------------------------------------------ */

/* out[i] = pos[i] + fc.weight[i] + fc.bias[i % 8] for i < 8. */
static int32_t fake_run(const void *const *w, const void *const *in, void *const *out, void *scratch,
                        const fab_parallel *par) {
  (void)in, (void)scratch, (void)par;
  const float *pos = w[0], *fw = w[1], *fb = w[2];
  for (int i = 0; i < 8; i++) ((float *)out[0])[i] = pos[i] + fw[i] + fb[i];
  return FAB_RUN_OK;
}

static const fab_model_tensor_desc fake_weights[] = {
    {"pos.weight", FAB_DT_F32, 2, {4, 8}, 128},
    {"fc.weight", FAB_DT_F32, 2, {8, 8}, 256},
    {"fc.bias", FAB_DT_F32, 1, {8}, 32},
};
static const fab_model_tensor_desc fake_out[] = {{"y", FAB_DT_F32, 1, {8}, 32}};
static const fab_model_desc fake = {
    .magic = FAB_MODEL_MAGIC, .abi_version = FAB_MODEL_ABI_VERSION,
    .desc_size = sizeof(fab_model_desc), .name = "fake", .ninputs = 0, .noutputs = 1,
    .nweights = 3, .outputs = fake_out, .weights = fake_weights, .run = fake_run,
};

static float run_fake(fab_model *mod) {
  fab_status st;
  fab_context *c = fab_context_new(mod, 1, &st, err, sizeof err);
  fab_tensor_set *in = fab_tset_new(), *out = fab_tset_new();
  float y = -1;
  if (c && fab_context_run(c, in, out, err, sizeof err) == FAB_OK) y = ((float *)out->items[0].data)[0];
  fab_context_free(c);
  fab_tset_free(in);
  fab_tset_free(out);
  return y;
}

void test_wmap_bind(void) {
  fab_status st;
  fab_model *mod = fab_model_from_desc(&fake, &st, err, sizeof err);
  CHECK(mod != NULL);
  if (!mod) return;
  fab_tensor_set *s = hf_file();
  /* The plain binding: the prefixed names are missing, with suggestions. */
  CHECK_ST(fab_model_bind_weights(mod, s, err, sizeof err), FAB_E_MISSING);
  CHECK(has(err, "did you mean 'model.pos.weight'?"));
  fab_weight_map *m = fab_wmap_new();
  CHECK_ST(fab_wmap_add_rename_rule(m, "model.=", err, sizeof err), FAB_OK);
  CHECK_ST(fab_wmap_add_reshape(m, "pos.weight", -1, NULL, err, sizeof err), FAB_OK);
  /* Mapped binding is strict about the buffer, unlike the plain one. */
  CHECK_ST(fab_model_bind_weights_map(mod, s, m, err, sizeof err), FAB_E_EXTRA);
  CHECK(has(err, "unexpected weight 'position_ids'"));
  fab_wmap_set_allow_unused(m, true);
  CHECK_ST(fab_model_bind_weights_map(mod, s, m, err, sizeof err), FAB_OK);
  CHECK(run_fake(mod) == 6.0f);
  /* The caller's set is untouched; binding by reference sees its data. */
  CHECK(s->count == 4 && !strcmp(s->items[0].name, "model.pos.weight") && s->items[0].rank == 3);
  CHECK_ST(fab_model_bind_weights_map_ref(mod, s, m, err, sizeof err), FAB_OK);
  ((float *)s->items[2].data)[0] = 10;
  CHECK(run_fake(mod) == 13.0f);
  /* A map with no rules is the plain binding, but strict. */
  CHECK_ST(fab_model_bind_weights_map(mod, s, NULL, err, sizeof err), FAB_E_MISSING);
  fab_wmap_free(m);
  fab_tset_free(s);
  fab_model_free(mod);
}

/* ---- a state_dict of 100k entries ----------------------------------------- */

/* Builds the set directly: fab_tset_add searches the set on every add. */
static fab_tensor_set *big_set(int n) {
  fab_tensor_set *s = fab_tset_new();
  s->items = calloc((size_t)n, sizeof *s->items);
  s->cap = n;
  const char *leaf[] = {"attn.q_proj.twiddle", "attn.k_proj.twiddle", "attn.v_proj.twiddle",
                        "attn.out_proj.twiddle", "ffn.fc1.bias"};
  for (int i = 0; i < n; i++) {
    char name[96];
    snprintf(name, sizeof name, "model.encoder.layers.%d.%s", i / 5, leaf[i % 5]);
    fab_tensor *t = &s->items[s->count++];
    t->name = strdup(name);
    t->dtype = FAB_DT_F32;
    t->rank = 1;
    t->dims[0] = 1;
    t->nbytes = 4;
    t->data = aligned_alloc(64, 64);
  }
  return s;
}

void test_wmap_scale(void) {
  enum { N = 100000, P = 2000 };
  fab_tensor_set *s = big_set(N);
  fab_wmap_param *params = calloc(P, sizeof *params);
  char(*names)[96] = calloc(P, sizeof *names);
  int *found = calloc(P, sizeof *found);
  static const int64_t one[] = {1};
  for (int i = 0; i < P; i++) {
    /* Half named as in the file under the rule, half misspelt. */
    snprintf(names[i], sizeof names[i], "layers.%d.attn.%s.twiddle", i, i % 2 ? "q_proj" : "q");
    params[i] = (fab_wmap_param){names[i], 1, one};
  }
  fab_weight_map *m = fab_wmap_new();
  CHECK_ST(fab_wmap_add_rename_rule(m, "model.encoder.=", err, sizeof err), FAB_OK);
  collected c = {0};
  CHECK_ST(fab_wmap_resolve(m, s, params, P, FAB_WMAP_UNUSED_OK, found, collect, &c, err, sizeof err),
           FAB_E_MISSING);
  CHECK(c.n == P / 2 && found[1] == 5 * 1 && found[0] == -1);
  CHECK(has(err, "missing weight 'layers.0.attn.q.twiddle' (shape [1]); did you mean "
                 "'layers.0.attn.q_proj.twiddle'"));
  /* Past the first few missing ones: no suggestions (they cost). */
  CHECK(!strstr(c.last, "did you mean"));
  /* Unused entries are counted, not listed one by one. */
  c = (collected){0};
  CHECK_ST(fab_wmap_resolve(m, s, params + 1, 1, 0, found, collect, &c, err, sizeof err), FAB_E_EXTRA);
  CHECK(c.n == 21 && has(c.last, "and 99979 more unexpected weights"));
  fab_wmap_free(m);
  free(found);
  free(names);
  free(params);
  fab_tset_free(s);
}
