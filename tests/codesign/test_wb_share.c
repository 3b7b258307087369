/* test_wb_share.c — the accelerator's write-back sharing (config field
 * wb_share) in codesign data sets and the latency predictor:
 *   wb_share_record: every sampled line's "accel" carries wb_share (the
 *     point's value, or the base's 2); a line written before it (no
 *     wb_share, as every committed data set) reads as 2, with the same
 *     features as a line saying 2; bad values are errors naming the line
 *     and field.
 *   wb_share_feature: two accelerators differing only in wb_share differ in
 *     exactly one feature, the global node's last; the default is 0 there.
 *   wb_share_predict: a GCN trained on simulated latencies of a space that
 *     varies wb_share predicts differently for points differing only in
 *     wb_share and orders them as the simulator does; with the feature
 *     zeroed (wb_share ignored) the same training cannot tell them apart.
 *   wb_share_pred_file: a GCN trained on data without wb_share keeps a zero
 *     weight row for it, and its file without that row (a predictor saved
 *     before the feature, nfeat FAB_PRED_NFEAT_V2) loads and predicts the
 *     same, whatever the point's wb_share.
 *   wb_share_search_point: the predictor-driven search predicts a point as
 *     the predictor predicts the point's data set line.
 * Usage: test_wb_share SPACES_DIR TEST */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cd_compare.h" /* fab_cd_predict_point */
#include "cd_test.h"
#include "codesign.h"
#include "predict.h"

/* 2 x 2 x 2 models x 2 x 4 accelerators: small enough to simulate every
 * point in about a second. */
static const char *wb_space =
    "{\"name\":\"wb\",\"seq\":64,\"vocab\":16,\"classes\":2,"
    "\"model\":{\"layers\":[1,2],\"hidden\":[64,128],\"kind0\":[\"fbfly\",\"abfly\"]},"
    "\"accel\":{\"p_be\":[8,16],\"wb_share\":[1,2,4,8]}}";

/* Samples n points of the space `json` (simulated if sim) into a
 * temporary file whose name is left in path (24 bytes). */
static bool sample_to(const char *json, int n, bool sim, char *path) {
  fab_cd_space s;
  if (!fab_cd_space_parse(json, strlen(json), "wb", &s, d)) {
    fab_diag_print(d, stderr);
    return false;
  }
  return cd_sample_file(&s, n, sim, path);
}

static const float *global_x(const fab_pred_sample *s) {
  return s->g.x + (size_t)(s->g.n - 1) * FAB_PRED_NFEAT;
}

/* Writes `lines` to path and loads it (target fpga_model_ms). */
static bool load_lines(const char *path, const char *lines, fab_pred_dataset *ds) {
  FILE *f = fopen(path, "w");
  if (!f) return false;
  fputs(lines, f);
  fclose(f);
  return fab_pred_dataset_load(path, "fpga_model_ms", ds, d);
}

static int t_record(void) {
  char path[24];
  CHECK(sample_to(wb_space, 12, false, path));
  FILE *f = fopen(path, "r");
  char *line = NULL, *first = NULL;
  size_t cap = 0;
  int n = 0;
  while (f && getline(&line, &cap, f) > 0) {
    json_t *j = json_loads(line, 0, NULL);
    json_t *wb = json_object_get(json_object_get(j, "accel"), "wb_share");
    const char *pt = json_string_value(json_object_get(j, "point"));
    char want[16];
    snprintf(want, sizeof want, "wb_share=%d", json_is_integer(wb) ? (int)json_integer_value(wb) : -1);
    CHECK(json_is_integer(wb) && pt && strstr(pt, want)); /* the point's value */
    if (!first && json_integer_value(wb) == 2) first = strdup(line);
    json_decref(j);
    n++;
  }
  if (f) fclose(f);
  CHECK(n == 12 && first);
  unlink(path);
  /* a space without the knob records the base's default */
  fab_cd_space lb;
  CHECK(load("latbench.json", &lb));
  fab_fpga_config c;
  fab_cd_point p;
  fab_cd_point_decode(&lb, 0, &p);
  CHECK(fab_cd_point_config(&lb, &p, &c, d));
  char *aj = fab_cd_accel_json(&c);
  CHECK(aj && strstr(aj, "\"wb_share\":2"));
  free(aj);
  if (!first) return 0;
  /* an old record: the same line without wb_share */
  json_t *j = json_loads(first, 0, NULL);
  json_object_del(json_object_get(j, "accel"), "wb_share");
  char *old = json_dumps(j, JSON_COMPACT);
  json_decref(j);
  size_t lo = strlen(old), ln = strlen(first);
  char *both = malloc(lo + ln + 2);
  snprintf(both, lo + ln + 2, "%s\n%s", old, first);
  fab_pred_dataset ds;
  CHECK(!strstr(old, "\"wb_share\"") && load_lines(path, both, &ds) && ds.n == 2);
  if (ds.n == 2) {
    CHECK(ds.s[0].accel[8] == 0 && ds.s[1].accel[8] == 0);
    CHECK(ds.s[0].g.n == ds.s[1].g.n &&
          !memcmp(ds.s[0].g.x, ds.s[1].g.x, sizeof(float) * FAB_PRED_NFEAT * (size_t)ds.s[0].g.n));
    fab_pred_dataset_free(&ds);
  }
  free(both);
  /* a committed record of the README demo's data set, sampled before */
  char demo[1024];
  snprintf(demo, sizeof demo, "%s/../explore/results/latbench-sim-1000.jsonl", dir);
  FILE *df = fopen(demo, "r");
  CHECK(df && getline(&line, &cap, df) > 0 && !strstr(line, "\"wb_share\""));
  if (df) fclose(df);
  CHECK(load_lines(path, line, &ds) && ds.n == 1 && ds.s[0].accel[8] == 0 &&
        global_x(&ds.s[0])[FAB_PRED_SLOT_WB_SHARE] == 0 && global_x(&ds.s[0])[FAB_PRED_SLOT_ANALYTICAL] > 0);
  if (ds.n) fab_pred_dataset_free(&ds);
  /* bad values: an error naming the line and the field */
  const char *bad[] = {"0", "9", "\"2\"", "1.5", "-1", "true"};
  for (int i = 0; i < 6; i++) {
    j = json_loads(first, 0, NULL);
    json_object_set_new(json_object_get(j, "accel"), "wb_share", json_loads(bad[i], JSON_DECODE_ANY, NULL));
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    size_t lt = strlen(text);
    both = malloc(ln + lt + 2);
    snprintf(both, ln + lt + 2, "%s%s\n", first, text); /* first ends in a newline: line 2 is bad */
    fab_diag_clear(d);
    CHECK(!load_lines(path, both, &ds));
    const char *msg = fab_diag_count(d) ? fab_diag_message(d, 0) : "";
    CHECK(fab_diag_error_count(d) == 1 && strstr(msg, "accel.wb_share"));
    if (i == 0) fab_diag_print(d, stderr); /* the message with its file:line */
    free(text);
    free(both);
  }
  fab_diag_clear(d);
  /* the same check on a point to predict */
  fab_pred_sample s;
  CHECK(!fab_pred_sample_make("{\"nodes\":[[\"input\",[4,8],[4,8],32]],\"edges\":[]}", "{\"wb_share\":0}", &s, d));
  CHECK(fab_diag_error_count(d) == 1 && strstr(fab_diag_message(d, 0), "accel.wb_share"));
  fab_diag_clear(d);
  unlink(path);
  free(old);
  free(first);
  free(line);
  return 0;
}

static int t_feature(void) {
  const char *g = "{\"nodes\":[[\"input\",[4,8],[4,8],32],[\"dense\",[4,16],[4,8],512]],\"edges\":[[0,1]]}";
  const char *acc[] = {"{\"p_be\":16,\"p_bu\":4}", "{\"p_be\":16,\"p_bu\":4,\"wb_share\":2}",
                       "{\"p_be\":16,\"p_bu\":4,\"wb_share\":1}", "{\"p_be\":16,\"p_bu\":4,\"wb_share\":8}"};
  fab_pred_sample s[4];
  for (int i = 0; i < 4; i++) CHECK(fab_pred_sample_make(g, acc[i], &s[i], d));
  /* absent = the default 2 = 0 in the feature */
  CHECK(!memcmp(s[0].g.x, s[1].g.x, sizeof(float) * FAB_PRED_NFEAT * 3) && global_x(&s[1])[FAB_PRED_SLOT_WB_SHARE] == 0);
  CHECK(global_x(&s[2])[FAB_PRED_SLOT_WB_SHARE] == -0.5f && global_x(&s[3])[FAB_PRED_SLOT_WB_SHARE] == 1.0f);
  /* 1 against 8: exactly the one slot differs */
  int ndiff = 0;
  for (int k = 0; k < FAB_PRED_NFEAT * 3; k++) ndiff += s[2].g.x[k] != s[3].g.x[k];
  CHECK(ndiff == 1);
  /* the other slots keep their places (the analytical latency included) */
  fab_pred_sample_set_analytical(&s[2], 1.0);
  CHECK(global_x(&s[2])[FAB_PRED_SLOT_ANALYTICAL] > 0 && global_x(&s[2])[FAB_PRED_SLOT_WB_SHARE] == -0.5f);
  CHECK(FAB_PRED_SLOT_ANALYTICAL == FAB_PRED_NFEAT_V2 - 1);
  for (int i = 0; i < 4; i++) fab_pred_sample_free(&s[i]);
  /* an accelerator config (fabc predict --accel: fab_fpga_config_to_json,
   * "format" and wb_share only when not 2) has the features of the data
   * set line of the same accelerator (fab_cd_accel_json) */
  const char *cfgs[] = {"vcu128-be40.json", "vcu128-be40-fp32.json", "zynq7045-be20.json"};
  for (int i = 0; i < 3; i++) {
    char path[1024], err[256];
    snprintf(path, sizeof path, "%s/../configs/%s", dir, cfgs[i]);
    fab_fpga_config c;
    CHECK(fab_fpga_config_load(path, &c, err, sizeof err) == FAB_OK);
    char *cj = fab_fpga_config_to_json(&c), *lj = fab_cd_accel_json(&c);
    fab_pred_sample a, b;
    CHECK(cj && lj && fab_pred_sample_make(g, cj, &a, d) && fab_pred_sample_make(g, lj, &b, d));
    CHECK(!memcmp(global_x(&a), global_x(&b), sizeof(float) * FAB_PRED_NFEAT));
    CHECK(global_x(&a)[FAB_PRED_SLOT_WB_SHARE] == (c.wb_share == 1 ? -0.5f : 0.0f));
    CHECK(global_x(&a)[FAB_PRED_SLOT_ACCEL + 5] == (c.fp16 ? 1.0f : 0.0f));
    fab_pred_sample_free(&a);
    fab_pred_sample_free(&b);
    free(cj);
    free(lj);
  }
  return 0;
}

/* Trains a GCN on every sample; preds[i] = its prediction of sample i. */
static fab_predictor *train_all(const fab_pred_dataset *ds, double *preds) {
  const fab_pred_sample **tr = malloc(sizeof *tr * (size_t)ds->n);
  for (int i = 0; i < ds->n; i++) tr[i] = &ds->s[i];
  fab_pred_train_options o;
  fab_pred_train_options_default(&o);
  o.residual = true; /* what the committed predictors use (docs/codesign.md) */
  o.epochs = 200;
  o.width = 16;
  o.lr = 3e-3;
  o.dropout = 0;
  o.seed = 3;
  fab_predictor *pr = fab_pred_train(tr, ds->n, NULL, 0, &o, d);
  CHECK(pr != NULL);
  for (int i = 0; pr && i < ds->n; i++) preds[i] = fab_pred_predict(pr, tr[i]);
  free(tr);
  return pr;
}

/* Pairs of samples of the same model and p_be (keys differing only in the
 * wb_share digit: the space's last knob, so key / 4 is the rest):
 * *nsame = pairs the predictor gives equal values, *agree / *differ =
 * pairs whose simulated latencies differ by more than 2 % and that the
 * predictor orders the same way. */
static void pairs(const fab_pred_dataset *ds, const double *pred, int *nsame, int *agree, int *differ) {
  *nsame = *agree = *differ = 0;
  for (int i = 0; i < ds->n; i++)
    for (int j = i + 1; j < ds->n; j++) {
      const fab_pred_sample *a = &ds->s[i], *b = &ds->s[j];
      if (a->key / 4 != b->key / 4) continue;
      *nsame += pred[i] == pred[j];
      if (fabs(a->latency / b->latency - 1) <= 0.02) continue;
      (*differ)++;
      *agree += (a->latency < b->latency) == (pred[i] < pred[j]);
    }
}

static int t_predict(void) {
  if (!fab_cd_have_sim()) return 77;
  char path[24];
  CHECK(sample_to(wb_space, 64, true, path));
  fab_pred_dataset ds;
  CHECK(fab_pred_dataset_load(path, "fpga_sim_ms", &ds, d));
  unlink(path);
  if (fails) return 0;
  double *pred = malloc(sizeof(double) * (size_t)ds.n);
  int nsame, agree, differ;
  fab_pred_free(train_all(&ds, pred));
  pairs(&ds, pred, &nsame, &agree, &differ);
  fprintf(stderr, "wb_share seen: %d equal pairs, %d of %d pairs the simulator separates ordered alike\n", nsame,
          agree, differ);
  CHECK(nsame == 0 && differ >= 8 && agree >= differ * 3 / 4);
  /* the control: with the feature zeroed, pairs differing only in
   * wb_share have the same inputs and the same predictions */
  for (int i = 0; i < ds.n; i++) ds.s[i].g.x[(size_t)(ds.s[i].g.n - 1) * FAB_PRED_NFEAT + FAB_PRED_SLOT_WB_SHARE] = 0;
  fab_pred_free(train_all(&ds, pred));
  pairs(&ds, pred, &nsame, &agree, &differ);
  fprintf(stderr, "wb_share zeroed: %d equal pairs, %d of %d ordered alike\n", nsame, agree, differ);
  CHECK(nsame > 0 && agree < differ);
  free(pred);
  fab_pred_dataset_free(&ds);
  return 0;
}

static int t_pred_file(void) {
  char data[24], pfile[] = "/tmp/fab_cd_wbpXXXXXX";
  CHECK(sample_to(wb_space, 64, false, data) && temp_path(pfile));
  fab_pred_dataset ds;
  CHECK(fab_pred_dataset_load(data, "fpga_model_ms", &ds, d));
  unlink(data);
  if (fails) return 0;
  /* the data as before wb_share: every point at the default */
  for (int i = 0; i < ds.n; i++) ds.s[i].g.x[(size_t)(ds.s[i].g.n - 1) * FAB_PRED_NFEAT + FAB_PRED_SLOT_WB_SHARE] = 0;
  double *pred = malloc(sizeof(double) * (size_t)ds.n);
  fab_predictor *pr = train_all(&ds, pred);
  CHECK(pr && fab_pred_save(pr, pfile, d));
  json_t *j = json_load_file(pfile, 0, NULL);
  json_t *theta = json_object_get(j, "theta");
  int64_t w = json_integer_value(json_object_get(j, "width"));
  CHECK(json_integer_value(json_object_get(j, "nfeat")) == FAB_PRED_NFEAT && w == 16);
  /* the wb_share row (layer 0, row FAB_PRED_NFEAT_V2) stayed 0 */
  size_t row = (size_t)FAB_PRED_NFEAT_V2 * (size_t)w;
  for (size_t k = row; k < row + (size_t)w; k++) CHECK(json_real_value(json_array_get(theta, k)) == 0);
  /* the file as an older build wrote it: without that row */
  for (int64_t k = 0; k < w; k++) json_array_remove(theta, row);
  json_object_set_new(j, "nfeat", json_integer(FAB_PRED_NFEAT_V2));
  CHECK(json_dump_file(j, pfile, JSON_COMPACT) == 0);
  json_decref(j);
  fab_predictor *old = fab_pred_load(pfile, d);
  CHECK(old != NULL);
  if (!old) fab_diag_print(d, stderr);
  for (int i = 0; old && i < ds.n; i++) CHECK(fab_pred_predict(old, &ds.s[i]) == pred[i]);
  /* and, blind to wb_share, it predicts a wb_share 1 point as it did (the
   * README's `fabc predict --accel vcu128-be40`, a wb_share 1 config, with
   * a predictor trained on wb_share 2 data) */
  float *x1 = &ds.s[0].g.x[(size_t)(ds.s[0].g.n - 1) * FAB_PRED_NFEAT + FAB_PRED_SLOT_WB_SHARE];
  *x1 = -0.5f;
  CHECK(old && fab_pred_predict(old, &ds.s[0]) == pred[0] && fab_pred_predict(pr, &ds.s[0]) == pred[0]);
  /* one feature fewer than that is still refused */
  j = json_load_file(pfile, 0, NULL);
  json_object_set_new(j, "nfeat", json_integer(FAB_PRED_NFEAT_V2 - 1));
  CHECK(json_dump_file(j, pfile, JSON_COMPACT) == 0);
  json_decref(j);
  fab_diag_clear(d);
  CHECK(fab_pred_load(pfile, d) == NULL && strstr(fab_diag_message(d, 0), "feature count"));
  fab_diag_clear(d);
  fab_pred_free(old);
  fab_pred_free(pr);
  free(pred);
  unlink(pfile);
  fab_pred_dataset_free(&ds);
  return 0;
}

/* The predictor-driven search (fab_cd_predict_point, what `fabc codesign
 * --latency predictor` evaluates) gives every point the inputs its data
 * set line gives it, wb_share included: the same predictions. */
static int t_search_point(void) {
  fab_cd_space s;
  char data[24];
  CHECK(fab_cd_space_parse(wb_space, strlen(wb_space), "wb", &s, d) && cd_sample_file(&s, 64, false, data));
  fab_pred_dataset ds;
  CHECK(fab_pred_dataset_load(data, "fpga_model_ms", &ds, d));
  unlink(data);
  if (fails) return 0;
  double *pred = malloc(sizeof(double) * (size_t)ds.n);
  fab_predictor *pr = train_all(&ds, pred);
  int same = 0;
  for (int i = 0; pr && i < ds.n; i++) {
    fab_cd_point p;
    fab_cd_point_decode(&s, ds.s[i].key, &p);
    same += fab_cd_predict_point(&s, &p, pr) == pred[i];
  }
  CHECK(same == ds.n);
  fab_pred_free(pr);
  free(pred);
  fab_pred_dataset_free(&ds);
  return 0;
}

int main(int argc, char **argv) {
  static const cd_test_case cases[] = {{"wb_share_record", t_record},
                                       {"wb_share_feature", t_feature},
                                       {"wb_share_predict", t_predict},
                                       {"wb_share_pred_file", t_pred_file},
                                       {"wb_share_search_point", t_search_point}};
  return cd_test_main(argc, argv, cases, sizeof cases / sizeof *cases);
}
