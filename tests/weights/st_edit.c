/* st_edit.c — rewrites a safetensors file the way other tools save
 * state_dicts, for the weight-map tests (no PyTorch needed):
 *
 *   st_edit IN OUT OP...   with OP, applied in order:
 *     prefix=P               every name gets P in front
 *     rename=OLD:NEW         one tensor renamed
 *     unsqueeze=NAME         NAME gets a leading axis of size 1
 *     reshape=NAME:D0,D1..   NAME gets another shape with the same size
 *     add=NAME:DTYPE:D0,D1.. a zero tensor (DTYPE F32, I32 or I64; no dims:
 *                            a scalar), like a buffer PyTorch saves
 */
#include "fab_tensor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char *what, const char *arg) {
  fprintf(stderr, "st_edit: %s: %s\n", what, arg);
  return 1;
}

/* "2,3,4" -> dims; returns the rank or -1. */
static int parse_dims(const char *s, int64_t *dims) {
  int rank = 0;
  while (*s) {
    char *end;
    long long v = strtoll(s, &end, 10);
    if (end == s || v < 0 || rank == FAB_TENSOR_MAX_RANK) return -1;
    dims[rank++] = v;
    s = *end == ',' ? end + 1 : end;
    if (*end && *end != ',') return -1;
  }
  return rank;
}

static fab_tensor *find_arg(fab_tensor_set *s, const char *name) {
  fab_tensor *t = fab_tset_find(s, name);
  if (!t) fprintf(stderr, "st_edit: no tensor '%s'\n", name);
  return t;
}

static int op_prefix(fab_tensor_set *s, const char *p) {
  for (int i = 0; i < s->count; i++) {
    size_t n = strlen(p) + strlen(s->items[i].name) + 1;
    char *nm = malloc(n);
    if (!nm) return fail("out of memory", p);
    snprintf(nm, n, "%s%s", p, s->items[i].name);
    free(s->items[i].name);
    s->items[i].name = nm;
  }
  return 0;
}

static int op_rename(fab_tensor_set *s, char *arg) {
  char *colon = strchr(arg, ':');
  if (!colon) return fail("rename needs OLD:NEW", arg);
  *colon = 0;
  fab_tensor *t = find_arg(s, arg);
  char *nm = t ? strdup(colon + 1) : NULL;
  if (!nm) return 1;
  free(t->name);
  t->name = nm;
  return 0;
}

static int op_reshape(fab_tensor_set *s, char *arg, bool unsqueeze) {
  char *colon = strchr(arg, ':');
  if (!unsqueeze && !colon) return fail("reshape needs NAME:DIMS", arg);
  if (colon) *colon = 0;
  fab_tensor *t = find_arg(s, arg);
  if (!t) return 1;
  int64_t dims[FAB_TENSOR_MAX_RANK], n = 1;
  int rank;
  if (unsqueeze) {
    if (t->rank == FAB_TENSOR_MAX_RANK) return fail("rank too large", arg);
    rank = t->rank + 1;
    dims[0] = 1;
    memcpy(dims + 1, t->dims, (size_t)t->rank * sizeof *dims);
  } else {
    rank = parse_dims(colon + 1, dims);
  }
  for (int i = 0; i < rank; i++) n *= dims[i];
  if (rank < 0 || n != fab_tensor_numel(t)) return fail("bad shape for", arg);
  t->rank = rank;
  memset(t->dims, 0, sizeof t->dims);
  memcpy(t->dims, dims, (size_t)rank * sizeof *dims);
  return 0;
}

static int op_add(fab_tensor_set *s, char *arg) {
  char *c1 = strchr(arg, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
  if (!c2) return fail("add needs NAME:DTYPE:DIMS", arg);
  *c1 = *c2 = 0;
  fab_tensor_dtype dt = strcmp(c1 + 1, "I64") == 0 ? FAB_DT_I64
                        : strcmp(c1 + 1, "I32") == 0 ? FAB_DT_I32
                                                     : FAB_DT_F32;
  int64_t dims[FAB_TENSOR_MAX_RANK];
  int rank = parse_dims(c2 + 1, dims);
  if (rank < 0 || !fab_tset_add(s, arg, dt, rank, dims)) return fail("cannot add", arg);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: st_edit IN OUT [prefix=P|rename=A:B|unsqueeze=N|reshape=N:D,..|add=N:DT:D,..]...\n");
    return 2;
  }
  char err[512];
  fab_tensor_set *s = NULL;
  if (fab_tensors_load(argv[1], &s, err, sizeof err) != FAB_OK) return fail("cannot read", err);
  int rc = 0;
  for (int i = 3; i < argc && rc == 0; i++) {
    char *op = argv[i], *eq = strchr(op, '=');
    if (!eq) {
      rc = fail("bad operation", op);
      break;
    }
    *eq = 0;
    char *arg = eq + 1;
    if (strcmp(op, "prefix") == 0) rc = op_prefix(s, arg);
    else if (strcmp(op, "rename") == 0) rc = op_rename(s, arg);
    else if (strcmp(op, "unsqueeze") == 0) rc = op_reshape(s, arg, true);
    else if (strcmp(op, "reshape") == 0) rc = op_reshape(s, arg, false);
    else if (strcmp(op, "add") == 0) rc = op_add(s, arg);
    else rc = fail("unknown operation", op);
    if (rc == 0 && !fab_tset_reindex(s)) rc = fail("out of memory", op); /* names edited in place */
  }
  if (rc == 0 && fab_safetensors_write(argv[2], s, err, sizeof err) != FAB_OK) rc = fail("cannot write", err);
  fab_tset_free(s);
  return rc;
}
