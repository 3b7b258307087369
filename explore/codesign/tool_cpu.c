/* tool_cpu.c — fab-codesign-cpu: adds CPU latencies (the CPU backend's JIT,
 * median of repeats after warm-up, fixed threads, measured twice with a
 * fresh JIT for the repeat-measurement noise) to a `sample` data set.
 *
 *   fab-codesign-cpu SPACE IN.jsonl -o OUT.jsonl [--repeats 7] [--warmup 2] [--threads 1]
 *
 * It links the CPU backend without the FPGA code generator, so it also
 * served while both backends exported a function of the same name (now
 * fixed); `fab-codesign sample --cpu` does the same in one pass. */
#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "codesign.h"
#include "tool.h"

static const char *arg(int argc, char **argv, const char *name, const char *dflt) {
  for (int i = 0; i + 1 < argc; i++)
    if (!strcmp(argv[i], name)) return argv[i + 1];
  return dflt;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: fab-codesign-cpu SPACE IN.jsonl -o OUT.jsonl [--repeats N] "
                    "[--warmup N] [--threads N]\n");
    return 2;
  }
  fab_diag *d = fab_diag_new();
  fab_cd_space s;
  int rc = 1;
  FILE *in = NULL, *out = NULL;
  char *line = NULL;
  size_t cap = 0;
  int repeats = (int)tool_int(argc, argv, "--repeats", "7", INT_MIN, INT_MAX), warmup = (int)tool_int(argc, argv, "--warmup", "2", INT_MIN, INT_MAX);
  int threads = (int)tool_int(argc, argv, "--threads", "1", INT_MIN, INT_MAX);
  double *times = calloc((size_t)(repeats > 0 ? repeats : 1), sizeof(double));
  if (!times || repeats < 1 || !fab_cd_space_load(argv[1], &s, d)) goto done;
  in = fopen(argv[2], "r");
  const char *op = arg(argc, argv, "-o", NULL);
  out = op ? fopen(op, "w") : stdout;
  if (!in || !out) {
    fab_error(d, (fab_loc){0}, "cannot open the input or the output");
    goto done;
  }
  int n = 0;
  rc = 0;
  while (getline(&line, &cap, in) > 0) {
    json_t *j = json_loads(line, 0, NULL);
    json_t *k = j ? json_object_get(j, "key") : NULL;
    if (!json_is_integer(k) || json_integer_value(k) < 0 ||
        json_integer_value(k) >= fab_cd_space_size(&s)) {
      fab_error(d, (fab_loc){0}, "%s: line %d has no valid \"key\" for this space", argv[2], n + 1);
      json_decref(j);
      rc = 1;
      break;
    }
    fab_cd_point p;
    fab_cd_model m;
    fab_cd_point_decode(&s, (int64_t)json_integer_value(k), &p);
    fab_cd_point_model(&s, &p, &m);
    fab_module *mod = fab_cd_model_build(&m, d);
    double med, med2;
    if (!mod || !fab_cd_cpu_latency(mod, threads, warmup, repeats, &med, times, d) ||
        !fab_cd_cpu_latency(mod, threads, warmup, repeats, &med2, NULL, d)) {
      fab_module_free(mod);
      json_decref(j);
      rc = 1;
      break;
    }
    fab_module_free(mod);
    json_object_set_new(j, "cpu_ms", json_real(med));
    json_object_set_new(j, "cpu_ms_2", json_real(med2));
    json_t *ta = json_array();
    for (int r = 0; r < repeats; r++) json_array_append_new(ta, json_real(times[r]));
    json_object_set_new(j, "cpu_times", ta);
    json_object_set_new(j, "cpu_threads", json_integer(threads));
    char *o = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (o) fprintf(out, "%s\n", o);
    free(o);
    fflush(out);
    n++;
    if (n % 10 == 0) fprintf(stderr, "\rcpu %d", n);
  }
  fprintf(stderr, "\rcpu %d models\n", n);
done:
  free(line);
  free(times);
  if (in) fclose(in);
  if (out && out != stdout) fclose(out);
  fab_diag_print(d, stderr);
  fab_diag_free(d);
  return rc;
}
