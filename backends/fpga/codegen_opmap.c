/* codegen_opmap.c — the op map (`--codegen op-map`): which op of the
 * compiled IR each instruction comes from, so that `fabc sim --ops` can
 * show where a layer's time goes.  Labels name the op, the engine or
 * attention work folded into it and the layer (a weight's state_dict
 * prefix): "%52 bias.gelu <- bfly.stages layers.0.ffn.fc1". */
#include "codegen_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_compute(fab_opcode c) {
  return c == FAB_OP_BFLY_STAGES || c == FAB_OP_FFT_STAGES || c == FAB_OP_ATTENTION || c == FAB_OP_EMBED ||
         c == FAB_OP_DFT;
}

/* The state_dict prefix of the first weight op i reads, directly or
 * through the ops folded into it (depth-first, at most `depth` deep). */
static const char *layer_of(const fab_func *f, int i, int depth, size_t *len) {
  const fab_op *op = &f->ops[i];
  for (int k = 0; k < op->noperands; k++) {
    const fab_op *w = &f->ops[op->operands[k]];
    if (w->code != FAB_OP_WEIGHT) continue;
    const char *name = fab_op_str(w, "name", NULL), *dot = name ? strrchr(name, '.') : NULL;
    if (!name) continue;
    *len = dot ? (size_t)(dot - name) : strlen(name);
    return name;
  }
  for (int k = 0; depth > 0 && k < op->noperands; k++)
    if (fab_fpga_folded(&f->ops[op->operands[k]])) {
      const char *n = layer_of(f, op->operands[k], depth - 1, len);
      if (n) return n;
    }
  return NULL;
}

/* Appends " <- code" for each compute op folded into op i. */
static void folded_compute(const fab_func *f, int i, int depth, char *buf, size_t cap) {
  const fab_op *op = &f->ops[i];
  for (int k = 0; depth > 0 && k < op->noperands; k++) {
    const fab_op *u = &f->ops[op->operands[k]];
    if (!fab_fpga_folded(u)) continue;
    size_t n = strlen(buf);
    if (is_compute(u->code) && n + 1 < cap) snprintf(buf + n, cap - n, " <- %s", fab_opinfos[u->code].name);
    folded_compute(f, op->operands[k], depth - 1, buf, cap);
  }
}

bool fpga_cg_attach_op_map(fpga_cg *g) {
  const fab_func *f = g->f;
  uint32_t n = (uint32_t)f->nops;
  char **labels = calloc(n ? n : 1, sizeof *labels);
  uint32_t *map = malloc((g->n ? g->n : 1) * sizeof *map);
  bool ok = labels && map;
  for (uint32_t i = 0; ok && i < n; i++) {
    char buf[512];
    snprintf(buf, sizeof buf, "%%%u %s", i, fab_opinfos[f->ops[i].code].name);
    folded_compute(f, (int)i, 8, buf, sizeof buf);
    size_t len = 0, at = strlen(buf);
    const char *layer = layer_of(f, (int)i, 8, &len);
    if (layer && f->ops[i].code != FAB_OP_WEIGHT && at + 2 + len < sizeof buf)
      snprintf(buf + at, sizeof buf - at, " %.*s", (int)len, layer);
    ok = (labels[i] = strdup(buf)) != NULL;
  }
  for (size_t k = 0; ok && k < g->n; k++)
    map[k] = g->ins[k].op >= 0 && g->ins[k].op < f->nops ? (uint32_t)g->ins[k].op : FAB_FPGA_NO_OP;
  ok = ok && fab_fpga_program_set_op_map(g->p, n, (const char *const *)labels, map) == FAB_OK;
  for (uint32_t i = 0; labels && i < n; i++) free(labels[i]);
  free(labels);
  free(map);
  if (!ok) fab_error(g->d, (fab_loc){0}, "fpga: out of memory");
  return ok;
}
