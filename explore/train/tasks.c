/* tasks.c — deterministic generated classification tasks and user data.
 *
 * Every sample is drawn from one fab_rng seeded by the options' seed, so
 * the same options give the same bytes on every machine.  Token 0 is
 * padding in every task.
 *
 * ListOps (after Long-Range Arena, Tay et al. 2021): a bracketed
 * expression such as  [MAX 2 9 [MIN 4 7 ] 0 ]  whose value 0-9 is the
 * label.  MAX, MIN, MED (the lower median of the operands) and SM (sum
 * modulo 10).  Operands are digits or, below max_depth, nested
 * expressions; trees longer than seq tokens are redrawn.
 */
#include <stdlib.h>
#include <string.h>

#include "train.h"

enum { T_DIGIT0 = 1, T_MAX = 11, T_MIN, T_MED, T_SM, T_CLOSE };

static const char *const task_names[FAB_TASK_COUNT] = {"listops", "parity", "majority"};

const char *fab_task_name(fab_task_kind k) { return k >= 0 && k < FAB_TASK_COUNT ? task_names[k] : "?"; }

int fab_task_lookup(const char *name) {
  for (int k = 0; k < FAB_TASK_COUNT; k++)
    if (name && !strcmp(name, task_names[k])) return k;
  return -1;
}

void fab_task_shape(fab_task_kind k, const fab_task_options *o, int *vocab, int *classes) {
  int sym = o && o->symbols > 1 ? o->symbols : 4;
  switch (k) {
  case FAB_TASK_LISTOPS: *vocab = FAB_LISTOPS_VOCAB; *classes = 10; break;
  case FAB_TASK_PARITY: *vocab = 3; *classes = 2; break;
  default: *vocab = sym + 1; *classes = sym; break;
  }
}

/* ---- ListOps ------------------------------------------------------------- */

static int apply_op(int op, const int *v, int n) {
  int r = v[0];
  switch (op) {
  case T_MAX: for (int i = 1; i < n; i++) r = v[i] > r ? v[i] : r; return r;
  case T_MIN: for (int i = 1; i < n; i++) r = v[i] < r ? v[i] : r; return r;
  case T_SM: r = 0; for (int i = 0; i < n; i++) r += v[i]; return r % 10;
  default: { /* lower median */
    int s[64];
    for (int i = 0; i < n; i++) s[i] = v[i];
    for (int i = 1; i < n; i++)
      for (int j = i; j > 0 && s[j - 1] > s[j]; j--) {
        int t = s[j];
        s[j] = s[j - 1];
        s[j - 1] = t;
      }
    return s[(n - 1) / 2];
  }
  }
}

/* Writes one expression at out[*len..]; returns its value, -1 when it
 * does not fit in cap. */
static int gen_expr(fab_rng *r, int depth, const fab_task_options *o, int32_t *out, int64_t *len,
                    int64_t cap) {
  bool leaf = depth > 0 && (depth >= o->max_depth || fab_rng_uniform(r) < 0.6);
  if (leaf) {
    if (*len >= cap) return -1;
    int v = (int)fab_rng_below(r, 10);
    out[(*len)++] = T_DIGIT0 + v;
    return v;
  }
  if (*len >= cap) return -1;
  int op = T_MAX + (int)fab_rng_below(r, 4);
  out[(*len)++] = op;
  int nargs = 2 + (int)fab_rng_below(r, o->max_args - 1), vals[64];
  for (int i = 0; i < nargs; i++) {
    vals[i] = gen_expr(r, depth + 1, o, out, len, cap);
    if (vals[i] < 0) return -1;
  }
  if (*len >= cap) return -1;
  out[(*len)++] = T_CLOSE;
  return apply_op(op, vals, nargs);
}

static int eval_at(const int32_t *t, int64_t len, int64_t *pos) {
  if (*pos >= len) return -1;
  int32_t tok = t[(*pos)++];
  if (tok >= T_DIGIT0 && tok < T_DIGIT0 + 10) return tok - T_DIGIT0;
  if (tok < T_MAX || tok > T_SM) return -1;
  int vals[64], n = 0;
  while (*pos < len && t[*pos] != T_CLOSE) {
    if (n == 64) return -1;
    if ((vals[n++] = eval_at(t, len, pos)) < 0) return -1;
  }
  if (*pos >= len || n == 0) return -1;
  (*pos)++;
  return apply_op(tok, vals, n);
}

int fab_listops_eval(const int32_t *tokens, int64_t len) {
  while (len > 0 && tokens[len - 1] == 0) len--;
  int64_t pos = 0;
  int v = eval_at(tokens, len, &pos);
  return pos == len ? v : -1;
}

/* ---- generation ----------------------------------------------------------- */

bool fab_task_generate(const fab_task_options *opt, fab_dataset *out, fab_diag *d) {
  memset(out, 0, sizeof *out);
  fab_task_options o = *opt;
  if (o.max_depth < 1) o.max_depth = 3;
  if (o.max_args < 2) o.max_args = 5;
  if (o.max_args > 32) o.max_args = 32;
  if (o.symbols < 2) o.symbols = 4;
  if (o.kind < 0 || o.kind >= FAB_TASK_COUNT || o.n < 1 || o.n > ((int64_t)1 << 26) ||
      o.seq < 4 || o.seq > ((int64_t)1 << 20) || o.n * o.seq > ((int64_t)1 << 31)) {
    fab_error(d, (fab_loc){0}, "task: bad options (kind %d, n %lld, seq %lld)", (int)o.kind,
              (long long)o.n, (long long)o.seq);
    return false;
  }
  fab_task_shape(o.kind, &o, &out->vocab, &out->classes);
  out->n = o.n;
  out->seq = o.seq;
  out->x = calloc((size_t)(o.n * o.seq), sizeof(int32_t));
  out->y = calloc((size_t)o.n, sizeof(int32_t));
  if (!out->x || !out->y) {
    fab_dataset_free(out);
    fab_error(d, (fab_loc){0}, "task: out of memory");
    return false;
  }
  fab_rng r;
  fab_rng_seed(&r, o.seed ^ ((uint64_t)o.kind << 56));
  int counts[64];
  for (int64_t i = 0; i < o.n; i++) {
    int32_t *x = out->x + i * o.seq;
    if (o.kind == FAB_TASK_LISTOPS) {
      int v = -1;
      for (int tries = 0; v < 0; tries++) {
        int64_t len = 0;
        memset(x, 0, sizeof(int32_t) * (size_t)o.seq);
        fab_task_options oo = o;
        if (tries > 100) oo.max_depth = 1; /* seq too short for deep trees */
        if (tries > 200) oo.max_args = 2;
        v = gen_expr(&r, 0, &oo, x, &len, o.seq);
        if (tries > 300 && v < 0) {
          fab_error(d, (fab_loc){0}, "task: seq %lld is too short for ListOps", (long long)o.seq);
          fab_dataset_free(out);
          return false;
        }
      }
      out->y[i] = v;
      continue;
    }
    int64_t len = o.seq / 2 + fab_rng_below(&r, o.seq - o.seq / 2 + 1);
    int k = o.kind == FAB_TASK_PARITY ? 2 : o.symbols;
    for (;;) {
      memset(counts, 0, sizeof counts);
      for (int64_t j = 0; j < len; j++) {
        int s = (int)fab_rng_below(&r, k);
        x[j] = s + 1;
        counts[s]++;
      }
      if (o.kind == FAB_TASK_PARITY) {
        out->y[i] = counts[1] % 2;
        break;
      }
      int best = 0, ties = 0;
      for (int s = 1; s < k; s++)
        if (counts[s] > counts[best]) best = s;
      for (int s = 0; s < k; s++) ties += counts[s] == counts[best];
      if (ties == 1) { /* a unique most frequent symbol, else redraw */
        out->y[i] = best;
        break;
      }
    }
  }
  return true;
}

void fab_dataset_free(fab_dataset *ds) {
  if (!ds) return;
  free(ds->x);
  free(ds->y);
  ds->x = ds->y = NULL;
  ds->n = 0;
}

/* ---- user data ------------------------------------------------------------ */

static bool take_i32(fab_tensor *t, const char *what, int rank, fab_diag *d) {
  char err[256];
  if (t->dtype == FAB_DT_I64 && fab_tensor_convert(t, FAB_DT_I32, err, sizeof err) != FAB_OK) {
    fab_error(d, (fab_loc){0}, "data: %s: %s", what, err);
    return false;
  }
  if (t->dtype != FAB_DT_I32 || t->rank != rank) {
    fab_error(d, (fab_loc){0}, "data: '%s' must be i32 of rank %d", what, rank);
    return false;
  }
  return true;
}

bool fab_dataset_load(const char *path, fab_dataset *out, fab_diag *d) {
  memset(out, 0, sizeof *out);
  fab_tensor_set *a = NULL, *b = NULL;
  char err[512];
  size_t L = strlen(path);
  bool ok = false;
  fab_tensor *x = NULL, *y = NULL;
  if (L > 4 && !strcmp(path + L - 4, ".npy")) {
    char *ypath = strdup(path);
    if (!ypath) goto done;
    /* train_x.npy <-> train_y.npy: the last 'x' of the stem becomes 'y' */
    char *slash = strrchr(ypath, '/'), *px = NULL;
    for (char *c = slash ? slash : ypath; c < ypath + L - 4; c++)
      if (*c == 'x') px = c;
    if (!px) {
      free(ypath);
      fab_error(d, (fab_loc){0}, "data: %s: cannot derive the labels file (name it x.npy / *_x.npy)", path);
      goto done;
    }
    *px = 'y';
    fab_status s1 = fab_npy_read(path, "x", &a, err, sizeof err);
    if (s1 != FAB_OK) {
      free(ypath);
      fab_error(d, (fab_loc){0}, "data: %s", err);
      goto done;
    }
    fab_status s2 = fab_npy_read(ypath, "y", &b, err, sizeof err);
    free(ypath);
    if (s2 != FAB_OK) {
      fab_error(d, (fab_loc){0}, "data: %s", err);
      goto done;
    }
    x = fab_tset_find(a, "x");
    y = fab_tset_find(b, "y");
  } else {
    if (fab_tensors_load(path, &a, err, sizeof err) != FAB_OK) {
      fab_error(d, (fab_loc){0}, "data: %s", err);
      goto done;
    }
    x = fab_tset_find(a, "x");
    y = fab_tset_find(a, "y");
  }
  if (!x || !y) {
    fab_error(d, (fab_loc){0}, "data: %s must hold tensors 'x' [N, seq] and 'y' [N]", path);
    goto done;
  }
  if (!take_i32(x, "x", 2, d) || !take_i32(y, "y", 1, d)) goto done;
  if (x->dims[0] != y->dims[0] || x->dims[0] < 1) {
    fab_error(d, (fab_loc){0}, "data: x has %lld samples but y %lld", (long long)x->dims[0],
              (long long)y->dims[0]);
    goto done;
  }
  out->n = x->dims[0];
  out->seq = x->dims[1];
  out->x = malloc(x->nbytes);
  out->y = malloc(y->nbytes);
  if (!out->x || !out->y) {
    fab_error(d, (fab_loc){0}, "data: out of memory");
    goto done;
  }
  memcpy(out->x, x->data, x->nbytes);
  memcpy(out->y, y->data, y->nbytes);
  for (int64_t i = 0; i < out->n * out->seq; i++) {
    if (out->x[i] < 0) {
      fab_error(d, (fab_loc){0}, "data: negative token id %d", (int)out->x[i]);
      goto done;
    }
    if (out->x[i] + 1 > out->vocab) out->vocab = out->x[i] + 1;
  }
  for (int64_t i = 0; i < out->n; i++) {
    if (out->y[i] < 0) {
      fab_error(d, (fab_loc){0}, "data: negative label %d", (int)out->y[i]);
      goto done;
    }
    if (out->y[i] + 1 > out->classes) out->classes = out->y[i] + 1;
  }
  ok = true;
done:
  if (!ok) fab_dataset_free(out);
  fab_tset_free(a);
  fab_tset_free(b);
  return ok;
}
