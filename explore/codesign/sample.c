/* sample.c — the latency data set: distinct random points of a space,
 * each compiled and measured, one JSON line per model with its IR graph. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codesign.h"
#include "fab_alloc.h"
#include "predict.h"
#include "stats.h"

void fab_cd_sample_options_default(fab_cd_sample_options *o) {
  memset(o, 0, sizeof *o);
  o->count = 100;
  o->seed = 1;
  o->fpga_sim = true;
  o->cpu = false;
  o->cpu_threads = 1;
  o->cpu_warmup = 2;
  o->cpu_repeats = 7;
}

static uint64_t xs(uint64_t *s) {
  *s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
  return *s;
}

static json_t *accel_json(const fab_fpga_config *c) {
  return json_pack("{s i s i s i s i s i s f s i s i s i s i s i s i}", "p_be", c->p_be, "p_bu",
                   c->p_bu, "bw_in", c->bw_in, "bw_coef", c->bw_coef, "bw_out", c->bw_out,
                   "clock_mhz", c->clock_mhz, "fp16", c->fp16, "att_mults", c->att_mults,
                   "ppu_lanes", c->ppu_lanes, "exp_units", c->exp_units, "be_depth", c->be_depth,
                   "wb_share", c->wb_share);
}

char *fab_cd_accel_json(const fab_fpga_config *c) {
  json_t *j = accel_json(c);
  char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
  json_decref(j);
  return text;
}

static json_t *model_json(const fab_cd_model *m) {
  json_t *kinds = json_array();
  for (int l = 0; l < m->layers; l++) json_array_append_new(kinds, json_string(m->kind[l] ? "abfly" : "fbfly"));
  return json_pack("{s i s i s i s i s i s o s b s b}", "layers", m->layers, "hidden", m->hidden,
                   "ffn", m->ffn, "heads", m->heads, "seq", m->seq, "kinds", kinds, "ffn_dense",
                   m->ffn_dense, "proj_dense", m->proj_dense);
}

bool fab_cd_sample_read_keys(const char *path, int64_t **keys, int *n, long *complete_bytes,
                             fab_diag *d) {
  *keys = NULL;
  *n = 0;
  *complete_bytes = 0;
  FILE *f = fopen(path, "rb");
  if (!f) return true; /* nothing to resume */
  char *line = NULL;
  size_t cap = 0;
  ssize_t len;
  int cap_keys = 0;
  bool ok = true;
  while (ok && (len = getline(&line, &cap, f)) > 0) {
    if (line[len - 1] != '\n') break; /* cut short by a stop: measured again */
    json_error_t je;
    json_t *j = json_loadb(line, (size_t)len, 0, &je);
    json_t *k = j ? json_object_get(j, "key") : NULL;
    if (!json_is_integer(k)) {
      fab_error(d, (fab_loc){0}, "%s:%d: not a line of a sampled data set (no \"key\"); "
                "give another -o or --fresh", path, *n + 1);
      ok = false;
    } else {
      if (*n == cap_keys) {
        cap_keys = cap_keys ? 2 * cap_keys : 256;
        int64_t *nk = realloc(*keys, sizeof(int64_t) * (size_t)cap_keys);
        if (!nk) ok = false;
        else *keys = nk;
      }
      if (ok) {
        (*keys)[(*n)++] = (int64_t)json_integer_value(k);
        *complete_bytes += (long)len;
      }
    }
    json_decref(j);
  }
  free(line);
  fclose(f);
  if (!ok) {
    free(*keys);
    *keys = NULL;
    *n = 0;
  }
  return ok;
}

bool fab_cd_sample(const fab_cd_space *s, const fab_cd_sample_options *o, FILE *out,
                   fab_diag *d) {
  fab_cd_sample_options def;
  if (!o) fab_cd_sample_options_default(&def), o = &def;
  int64_t size = fab_cd_space_size(s);
  if (o->count < 1 || o->count > size) {
    fab_error(d, (fab_loc){0}, "sample count %d outside [1, %lld]", o->count, (long long)size);
    return false;
  }
  if (o->cpu && !fab_cd_have_cpu()) {
    fab_error(d, (fab_loc){0}, "CPU latency needs the CPU backend (fab_cpu), not built");
    return false;
  }
  if (o->fpga_sim && !fab_cd_have_sim()) {
    fab_error(d, (fab_loc){0}, "simulated latency needs fab_fpga_sim, not built");
    return false;
  }
  int64_t *seen = calloc((size_t)o->count, sizeof *seen);
  if (!seen) {
    fab_error(d, (fab_loc){0}, "out of memory");
    return false;
  }
  uint64_t rng = o->seed * 0x9E3779B97F4A7C15ull + 3;
  int done = 0, tries = 0;
  bool ok = true;
  double *times = calloc((size_t)(o->cpu_repeats > 0 ? o->cpu_repeats : 1), sizeof(double));
  while (ok && done < o->count && tries < 100 * o->count + 1000) {
    tries++;
    int64_t key = (int64_t)(xs(&rng) % (uint64_t)size);
    fab_cd_point p;
    fab_cd_point_decode(s, key, &p);
    if (!fab_cd_point_canonical(s, &p)) continue;
    bool dup = false;
    for (int i = 0; i < done && !dup; i++) dup = seen[i] == key;
    if (dup) continue;
    bool replaying = done < o->nresume;
    if (replaying && key == o->resume_keys[done]) { /* measured by the stopped run */
      seen[done++] = key;
      continue;
    }
    fab_cd_model m;
    fab_fpga_config c;
    fab_cd_point_model(s, &p, &m);
    if (!fab_cd_point_config(s, &p, &c, d)) {
      ok = false;
      break;
    }
    fab_module *mod = fab_cd_model_build(&m, d);
    if (!mod) {
      ok = false;
      break;
    }
    fab_model_stats st;
    uint64_t cyc = 0;
    double model_ms = 0;
    char *graph = fab_pred_graph_json(mod, d);
    if (!graph || !fab_stats_compute(mod, &st, d)) {
      free(graph);
      fab_module_free(mod);
      ok = false;
      break;
    }
    long failures = fab_alloc_failure_count();
    if (!fab_cd_model_latency(mod, &c, &cyc, &model_ms, d)) {
      /* a row longer than the engine bank: not a valid pair, draw again
       * (out of memory is an error, never a reason to draw again) */
      if (fab_alloc_failure_count() != failures) {
        fab_stats_free(&st);
        free(graph);
        fab_module_free(mod);
        ok = false;
        break;
      }
      fab_diag_clear(d);
      fab_stats_free(&st);
      free(graph);
      fab_module_free(mod);
      continue;
    }
    if (replaying) { /* a valid point the stopped run would have written here */
      fab_error(d, (fab_loc){0}, "the existing data set's line %d is point %lld, but this space and "
                "seed draw %lld there: it was sampled from another space or seed", done + 1,
                (long long)o->resume_keys[done], (long long)key);
      fab_stats_free(&st);
      free(graph);
      fab_module_free(mod);
      ok = false;
      break;
    }
    char pstr[512];
    json_t *j = json_pack("{s I s s s o s o s f s f s f s f}", "key", (json_int_t)key, "point",
                          fab_cd_point_str(s, &p, pstr, sizeof pstr), "model", model_json(&m),
                          "accel", accel_json(&c), "params", (double)st.total.params, "macs",
                          (double)st.total.macs, "fpga_model_ms", model_ms, "fpga_model_cycles",
                          (double)cyc);
    fab_stats_free(&st);
    json_t *gj = json_loads(graph, 0, NULL);
    free(graph);
    json_object_set_new(j, "graph", gj ? gj : json_null());
    if (o->fpga_sim) {
      double ms;
      failures = fab_alloc_failure_count();
      if (fab_cd_sim_latency(mod, &c, &cyc, &ms, d)) {
        json_object_set_new(j, "fpga_sim_ms", json_real(ms));
        json_object_set_new(j, "fpga_sim_cycles", json_real((double)cyc));
      } else if (fab_alloc_failure_count() != failures) { /* out of memory: an error */
        json_decref(j);
        fab_module_free(mod);
        ok = false;
        break;
      } else {
        /* recorded with its reason; the line still counts */
        const char *msg = fab_diag_count(d) ? fab_diag_message(d, 0) : "failed";
        json_object_set_new(j, "fpga_sim_error", json_string(msg ? msg : "failed"));
        fab_diag_clear(d);
      }
    }
    if (o->cpu) {
      double med;
      if (!fab_cd_cpu_latency(mod, o->cpu_threads, o->cpu_warmup, o->cpu_repeats, &med, times, d)) {
        json_decref(j);
        fab_module_free(mod);
        ok = false;
        break;
      }
      json_object_set_new(j, "cpu_ms", json_real(med));
      json_t *ta = json_array();
      for (int r = 0; r < o->cpu_repeats; r++) json_array_append_new(ta, json_real(times[r]));
      json_object_set_new(j, "cpu_times", ta);
      /* an independent second measurement (fresh JIT) for the noise floor */
      if (o->cpu_second_pass &&
          fab_cd_cpu_latency(mod, o->cpu_threads, o->cpu_warmup, o->cpu_repeats, &med, NULL, d))
        json_object_set_new(j, "cpu_ms_2", json_real(med));
    }
    fab_module_free(mod);
    double acc;
    if (o->accuracy) {
      if (!fab_cd_train_accuracy(&m, &o->train, &acc, d)) {
        json_decref(j);
        ok = false;
        break;
      }
      json_object_set_new(j, "accuracy", json_real(acc));
    }
    char *line = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    /* the line counts once it reached the file: a full disk stops here */
    if (!line || fprintf(out, "%s\n", line) < 0 || fflush(out) != 0 || ferror(out)) {
      free(line);
      fab_error(d, (fab_loc){0}, "cannot write the data set after %d models", done);
      ok = false;
      break;
    }
    free(line);
    seen[done++] = key;
    if (o->progress) o->progress(&(fab_cd_progress){"sample", done, o->count, 0}, o->user);
  }
  free(times);
  free(seen);
  if (ok && done < o->count) {
    fab_error(d, (fab_loc){0}, "only %d valid distinct points found", done);
    ok = false;
  }
  return ok;
}

/* CPU latencies added to the lines of an existing data set (`fabc sample
 * --from IN.jsonl --measure cpu`): each line's model timed twice with a
 * fresh JIT (cpu_ms, cpu_ms_2, cpu_times, cpu_threads), written in order. */
bool fab_cd_sample_add_cpu(const fab_cd_space *s, const fab_cd_sample_options *o, FILE *in,
                           const char *in_name, FILE *out, int *nlines, fab_diag *d) {
  int repeats = o->cpu_repeats, n = 0;
  double *times = calloc((size_t)(repeats > 0 ? repeats : 1), sizeof(double));
  char *line = NULL;
  size_t cap = 0;
  bool ok = times && repeats > 0;
  if (!ok) fab_error(d, (fab_loc){0}, "CPU timing needs at least one repeat");
  while (ok && getline(&line, &cap, in) > 0) {
    json_t *j = json_loads(line, 0, NULL);
    json_t *k = j ? json_object_get(j, "key") : NULL;
    if (!json_is_integer(k) || json_integer_value(k) < 0 || json_integer_value(k) >= fab_cd_space_size(s)) {
      fab_error(d, (fab_loc){0}, "%s: line %d has no valid \"key\" for this space", in_name, n + 1);
      json_decref(j);
      ok = false;
      break;
    }
    fab_cd_point p;
    fab_cd_model m;
    fab_cd_point_decode(s, (int64_t)json_integer_value(k), &p);
    fab_cd_point_model(s, &p, &m);
    fab_module *mod = fab_cd_model_build(&m, d);
    double med, med2;
    if (!mod || !fab_cd_cpu_latency(mod, o->cpu_threads, o->cpu_warmup, repeats, &med, times, d) ||
        !fab_cd_cpu_latency(mod, o->cpu_threads, o->cpu_warmup, repeats, &med2, NULL, d)) {
      fab_module_free(mod);
      json_decref(j);
      ok = false;
      break;
    }
    fab_module_free(mod);
    json_object_set_new(j, "cpu_ms", json_real(med));
    json_object_set_new(j, "cpu_ms_2", json_real(med2));
    json_t *ta = json_array();
    for (int r = 0; r < repeats; r++) json_array_append_new(ta, json_real(times[r]));
    json_object_set_new(j, "cpu_times", ta);
    json_object_set_new(j, "cpu_threads", json_integer(o->cpu_threads));
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (text) fprintf(out, "%s\n", text);
    free(text);
    fflush(out);
    n++;
  }
  free(line);
  free(times);
  *nlines = n;
  return ok;
}
