/* cmd_tools.c — fabc init (write seeded weights and inputs) and fabc
 * compare (tensor files within a tolerance): the pieces that let a user
 * move data between fabc, PyTorch and the backends. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "fab_tensor.h"
#include "interp.h"
#include "ir.h"

static int run_init(const cli_args *a) {
  const char *wpath = cli_str(a, "o", NULL), *ipath = cli_str(a, "inputs", NULL);
  if (!wpath && !ipath) return cli_usage_error(a, "give -o WEIGHTS and/or --inputs FILE");
  fab_module *m = cli_load_model(a, a->pos[0]);
  if (!m) return EXIT_USER;
  int rc = EXIT_OK;
  char err[512];
  if (wpath) {
    fab_tensor_set *w = cli_load_weights(a, m);
    if (!w || fab_tensors_save(wpath, w, err, sizeof err) != FAB_OK)
      rc = w ? cli_user_error("%s", err) : EXIT_USER;
    fab_tset_free(w);
  }
  if (rc == EXIT_OK && ipath) {
    fab_tensor_set *in = cli_load_inputs(a, m);
    if (!in || fab_tensors_save(ipath, in, err, sizeof err) != FAB_OK)
      rc = in ? cli_user_error("%s", err) : EXIT_USER;
    fab_tset_free(in);
  }
  fab_module_free(m);
  return rc;
}

static const opt_spec init_opts[] = {
    CLI_MODEL_OPTS,
    {"seed", OPT_VALUE, "N", "seed (default 0; the same seed as `fabc run` uses)"},
    {"o", OPT_VALUE, "FILE", "write the initialised weights (.safetensors)"},
    {"inputs", OPT_VALUE, "FILE", "write the seeded random inputs (.safetensors)"},
    {"batch", OPT_VALUE, "N", "with --inputs: N samples, a leading axis of N (sample 0 = no --batch)"},
};

const cli_cmd cmd_init = {
    "init", "FILE.fab -o WEIGHTS.safetensors [--inputs X.safetensors] [options]",
    "write a model's seeded initial weights and inputs",
    "The files hold exactly what `fabc run` uses without --weights / --input for the\n"
    "same --seed, named like the PyTorch state_dict of the equivalent module.",
    init_opts, sizeof init_opts / sizeof *init_opts, 1, 1, run_init,
};

/* Reads one value of a numeric tensor as double (F32 or I32 after
 * conversion of the others). */
static double value_at(const fab_tensor *t, int64_t i) {
  switch (t->dtype) {
  case FAB_DT_F32: return ((const float *)t->data)[i];
  case FAB_DT_I32: return ((const int32_t *)t->data)[i];
  case FAB_DT_F64: return ((const double *)t->data)[i];
  case FAB_DT_I64: return (double)((const int64_t *)t->data)[i];
  default: return NAN;
  }
}

static bool same_shape(const fab_tensor *x, const fab_tensor *y) {
  if (x->rank != y->rank) return false;
  for (int k = 0; k < x->rank; k++)
    if (x->dims[k] != y->dims[k]) return false;
  return true;
}

static int run_compare(const cli_args *a) {
  double rtol = 1e-5, atol = 1e-3;
  if (!cli_double(a, "rtol", rtol, 0, 1e30, &rtol) || !cli_double(a, "floor", atol, 1e-30, 1e30, &atol))
    return EXIT_USAGE;
  fab_tensor_set *x = NULL, *y = NULL;
  char err[512];
  if (fab_tensors_load(a->pos[0], &x, err, sizeof err) != FAB_OK) return cli_user_error("%s", err);
  if (fab_tensors_load(a->pos[1], &y, err, sizeof err) != FAB_OK) {
    fab_tset_free(x);
    return cli_user_error("%s", err);
  }
  int rc = EXIT_OK;
  for (int i = 0; i < x->count; i++) {
    fab_tensor *tx = &x->items[i], *ty = fab_tset_find(y, tx->name);
    if (!ty) {
      printf("%-32s missing in %s\n", tx->name, a->pos[1]);
      rc = EXIT_USER;
      continue;
    }
    fab_tensor_convert(tx, FAB_DT_F32, NULL, 0);
    fab_tensor_convert(ty, FAB_DT_F32, NULL, 0);
    if (!same_shape(tx, ty)) {
      printf("%-32s shapes differ\n", tx->name);
      rc = EXIT_USER;
      continue;
    }
    /* Error relative to the reference's magnitude, floored so that values
     * near zero do not blow the ratio up: |x - y| / max(|y|, floor); with
     * --relative-to-max, relative to the tensor's largest |y| (the metric
     * for reduced-precision datapaths, docs/fpga.md). */
    double worst = 0, ymax = 0;
    int64_t n = fab_tensor_numel(tx), at = 0;
    for (int64_t k = 0; k < n; k++) ymax = fmax(ymax, fabs(value_at(ty, k)));
    bool to_max = cli_flag(a, "relative-to-max");
    for (int64_t k = 0; k < n; k++) {
      double vx = value_at(tx, k), vy = value_at(ty, k);
      double e = fabs(vx - vy) / fmax(to_max ? ymax : fabs(vy), atol);
      if (!(e <= worst)) worst = e, at = k; /* NaN counts as worst */
    }
    bool ok = worst <= rtol;
    printf("%-32s max rel err %.3e at %lld  %s\n", tx->name, worst, (long long)at, ok ? "ok" : "FAIL");
    if (!ok) rc = EXIT_USER;
  }
  for (int i = 0; i < y->count; i++)
    if (!fab_tset_find(x, y->items[i].name)) {
      printf("%-32s missing in %s\n", y->items[i].name, a->pos[0]);
      rc = EXIT_USER;
    }
  fab_tset_free(x);
  fab_tset_free(y);
  return rc;
}

static const opt_spec compare_opts[] = {
    {"rtol", OPT_VALUE, "R", "largest relative error allowed (default 1e-5)"},
    {"floor", OPT_VALUE, "F", "magnitude below which errors count as absolute (default 1e-3)"},
    {"relative-to-max", OPT_FLAG, NULL, "errors relative to each tensor's largest reference value"},
};

const cli_cmd cmd_compare = {
    "compare", "ACTUAL REFERENCE [options]", "compare two tensor files tensor by tensor",
    "Prints, per tensor, max |a - r| / max(|r|, floor); exits 1 if any exceeds --rtol,\n"
    "or if names or shapes differ.",
    compare_opts, sizeof compare_opts / sizeof *compare_opts, 2, 2, run_compare,
};
