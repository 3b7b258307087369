/* common.c — what several subcommands share: reading a model (.fab or
 * .fir), binding weights and inputs, writing outputs. */
#include "cli.h"
#include "fab_alloc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fab_tensor.h"
#include "fabc.h"
#include "fab_weight_map.h"
#include "frontend.h"
#include "interp.h"
#include "ir.h"

enum { MAX_SOURCE_BYTES = 64 << 20 }; /* text files read whole */

void cli_print_diag(fab_diag *d) { fab_diag_print(d, stderr); }

bool cli_ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), k = strlen(suffix);
  return n >= k && strcmp(s + n - k, suffix) == 0;
}

char *cli_read_text(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    cli_user_error("cannot open '%s': %s", path, strerror(errno));
    return NULL;
  }
  size_t cap = 1 << 16, n = 0;
  char *buf = fab_malloc(cap);
  while (buf) {
    size_t got = fread(buf + n, 1, cap - n - 1, f);
    n += got;
    if (got == 0) break;
    if (n + 1 == cap) {
      if (cap >= MAX_SOURCE_BYTES) {
        cli_user_error("'%s' is larger than %d MiB", path, MAX_SOURCE_BYTES >> 20);
        free(buf);
        buf = NULL;
        break;
      }
      char *nb = fab_realloc(buf, cap * 2);
      if (!nb) {
        free(buf);
        buf = NULL;
        break;
      }
      buf = nb;
      cap *= 2;
    }
  }
  bool failed = ferror(f);
  fclose(f);
  if (!buf) return NULL;
  if (failed) {
    cli_user_error("cannot read '%s'", path);
    free(buf);
    return NULL;
  }
  buf[n] = 0;
  *len = n;
  return buf;
}

fab_module *cli_load_model(const cli_args *a, const char *path) {
  const opt_value *incs = cli_opt(a, "I");
  const char *names[CLI_MAX_LIST];
  int64_t values[CLI_MAX_LIST];
  char buf[CLI_MAX_LIST][128];
  fab_define defines[CLI_MAX_LIST];
  int ndef;
  if (!cli_defines(a, names, values, buf, &ndef)) return NULL;
  for (int i = 0; i < ndef; i++) defines[i] = (fab_define){names[i], values[i]};
  fab_frontend_options opt = {
      .defines = defines,
      .ndefines = ndef,
      .include_dirs = incs ? incs->list : NULL,
      .ninclude_dirs = incs ? incs->nlist : 0,
  };
  fab_diag *d = fab_diag_new();
  fab_module *m = fab_load_model_file(path, &opt, d);
  cli_print_diag(d);
  if (!m && fab_diag_error_count(d) == 0) cli_user_error("cannot compile '%s'", path);
  fab_diag_free(d);
  return m;
}

static bool parse_seed(const cli_args *a, uint64_t *seed) {
  int64_t v;
  if (!cli_int(a, "seed", 0, 0, INT64_MAX, &v)) return false;
  *seed = (uint64_t)v;
  return true;
}

/* The weight map of --rename, --reshape, --weight-map and --allow-unused
 * (an empty map when none is given); NULL after printing an error. */
static fab_weight_map *weight_map(const cli_args *a) {
  fab_weight_map *map = fab_wmap_new();
  if (!map) {
    cli_user_error("out of memory");
    return NULL;
  }
  char err[1024];
  fab_status st = FAB_OK;
  const opt_value *v = cli_opt(a, "rename");
  for (int i = 0; v && i < v->nlist && st == FAB_OK; i++)
    st = fab_wmap_add_rename_rule(map, v->list[i], err, sizeof err);
  v = cli_opt(a, "reshape");
  for (int i = 0; v && i < v->nlist && st == FAB_OK; i++)
    st = fab_wmap_add_reshape(map, v->list[i], -1, NULL, err, sizeof err);
  bool options_ok = st == FAB_OK;
  const char *file = cli_str(a, "weight-map", NULL);
  if (st == FAB_OK && file) st = fab_wmap_load_json(map, file, err, sizeof err);
  if (st == FAB_OK && cli_flag(a, "allow-unused")) fab_wmap_set_allow_unused(map, true);
  if (st != FAB_OK) {
    /* A bad --rename is a usage error; a bad map file, the user's. */
    if (!options_ok)
      cli_usage_error(a, "%s", err);
    else
      cli_user_error("%s", err);
    fab_wmap_free(map);
    return NULL;
  }
  return map;
}

bool cli_weight_map_given(const cli_args *a) {
  const opt_value *r = cli_opt(a, "rename"), *s = cli_opt(a, "reshape");
  return (r && r->nlist) || (s && s->nlist) || cli_str(a, "weight-map", NULL) || cli_flag(a, "allow-unused");
}

bool cli_weights_map(const cli_args *a, fab_weight_map **map) {
  *map = NULL;
  if (!cli_str(a, "weights", NULL)) {
    if (!cli_weight_map_given(a)) return true;
    cli_usage_error(a, "--rename, --reshape, --weight-map and --allow-unused apply to --weights: give it");
    return false;
  }
  return (*map = weight_map(a)) != NULL;
}

fab_tensor_set *cli_load_weights(const cli_args *a, const fab_module *m) {
  uint64_t seed;
  if (!parse_seed(a, &seed)) return NULL;
  const char *path = cli_str(a, "weights", NULL);
  fab_weight_map *map;
  if (!cli_weights_map(a, &map)) return NULL;
  fab_tensor_set *w = NULL;
  char err[512];
  if (path) {
    if (fab_tensors_load(path, &w, err, sizeof err) != FAB_OK) {
      cli_user_error("%s", err);
      fab_wmap_free(map);
      return NULL;
    }
  } else {
    w = fab_tset_new();
  }
  fab_diag *d = fab_diag_new();
  bool ok = path ? fab_bind_map_weights(m, map, w, d) : fab_bind_init_weights(m, seed, w, d);
  cli_print_diag(d);
  fab_diag_free(d);
  fab_wmap_free(map);
  if (!ok) {
    fab_tset_free(w);
    return NULL;
  }
  return w;
}

fab_tensor_set *cli_load_inputs(const cli_args *a, const fab_module *m) {
  uint64_t seed;
  if (!parse_seed(a, &seed)) return NULL;
  const char *path = cli_str(a, "input", NULL);
  int64_t batch; /* --batch N: seeded inputs for N samples (commands without it: 0) */
  if (!cli_int(a, "batch", 0, 1, INT32_MAX, &batch)) return NULL;
  if (path && batch) {
    cli_usage_error(a, "--batch makes seeded inputs; a file given with --input sets its own batch");
    return NULL;
  }
  fab_tensor_set *in = NULL;
  char err[512];
  if (path) {
    if (fab_tensors_load(path, &in, err, sizeof err) != FAB_OK) {
      cli_user_error("%s", err);
      return NULL;
    }
  } else {
    in = fab_tset_new();
  }
  fab_diag *d = fab_diag_new();
  /* Inputs are seeded apart from weights so that both can vary alone. */
  bool ok = path ? fab_bind_check_inputs(m, in, d) : fab_bind_init_inputs_batch(m, seed + 0x9e3779b9u, batch, in, d);
  cli_print_diag(d);
  fab_diag_free(d);
  if (!ok) {
    fab_tset_free(in);
    return NULL;
  }
  return in;
}

int cli_bind_weights(const cli_args *a, fabc_model *m) {
  uint64_t seed;
  fab_weight_map *map;
  if (!parse_seed(a, &seed) || !cli_weights_map(a, &map)) return EXIT_USER;
  const char *path = cli_str(a, "weights", NULL);
  char *err = NULL;
  fabc_status st;
  if (path) {
    fab_tensor_set *w = NULL;
    st = fabc_tensors_load(path, &w, &err);
    if (st == FABC_OK) st = fabc_model_bind_weights_map(m, w, map, &err);
    fab_tset_free(w);
  } else {
    st = fabc_model_init_weights(m, seed, &err);
  }
  fab_wmap_free(map);
  /* Weights that do not fit are the user's problem, not the command line's. */
  return st == FABC_OK ? EXIT_OK : cli_api_error(a, st == FABC_E_ARG ? FABC_E_TENSOR : st, err);
}

fab_tensor_set *cli_model_inputs(const cli_args *a, fabc_model *m, int *rc) {
  uint64_t seed;
  int64_t batch; /* --batch N: seeded inputs for N samples (commands without it: 0) */
  *rc = EXIT_USER; /* as every other reason the inputs cannot be made */
  if (!parse_seed(a, &seed) || !cli_int(a, "batch", 0, 1, INT32_MAX, &batch)) return NULL;
  const char *path = cli_str(a, "input", NULL);
  if (path && batch) {
    cli_usage_error(a, "--batch makes seeded inputs; a file given with --input sets its own batch");
    return NULL;
  }
  fab_tensor_set *in = NULL;
  char *err = NULL;
  fabc_status st;
  if (path) {
    st = fabc_tensors_load(path, &in, &err);
  } else {
    /* Inputs are seeded apart from weights so that both can vary alone. */
    in = fab_tset_new();
    st = in ? fabc_model_init_inputs(m, seed + 0x9e3779b9u, batch, in, &err) : FABC_E_NOMEM;
  }
  if (st != FABC_OK) {
    *rc = cli_api_error(a, st == FABC_E_ARG ? FABC_E_TENSOR : st, err);
    fab_tset_free(in);
    return NULL;
  }
  *rc = EXIT_OK;
  return in;
}

/* Without -o: a short summary of each output (shape and first values), so
 * that `fabc run` shows something useful on a terminal. */
static void print_summary(const fab_tensor_set *outs) {
  for (int i = 0; i < outs->count; i++) {
    const fab_tensor *t = &outs->items[i];
    printf("%s: %s[", t->name, fab_dtype_safetensors_name(t->dtype));
    for (int k = 0; k < t->rank; k++) printf("%s%lld", k ? "," : "", (long long)t->dims[k]);
    printf("] =");
    int64_t n = fab_tensor_numel(t);
    for (int64_t j = 0; j < n && j < 8; j++) {
      if (t->dtype == FAB_DT_F32)
        printf(" %.6g", (double)((const float *)t->data)[j]);
      else if (t->dtype == FAB_DT_I32)
        printf(" %d", ((const int32_t *)t->data)[j]);
    }
    printf("%s\n", n > 8 ? " ..." : "");
  }
}

int cli_write_outputs(const cli_args *a, const fab_tensor_set *outs) {
  const char *path = cli_str(a, "o", NULL);
  if (!path) {
    print_summary(outs);
    return EXIT_OK;
  }
  char err[512];
  if (fab_tensors_save(path, outs, err, sizeof err) != FAB_OK) return cli_user_error("%s", err);
  return EXIT_OK;
}

int cli_write_text(const cli_args *a, const char *text) {
  const char *path = cli_str(a, "o", NULL);
  if (!path) {
    fputs(text, stdout);
    return EXIT_OK;
  }
  char err[512];
  if (fab_write_file_atomic(path, text, strlen(text), err, sizeof err) != FAB_OK) return cli_user_error("%s", err);
  return EXIT_OK;
}

int cli_write_ir(const cli_args *a, const fab_module *m, unsigned flags) {
  char *text = fab_print_module_str(m, flags);
  int rc = text ? cli_write_text(a, text) : cli_user_error("out of memory");
  free(text);
  return rc;
}
