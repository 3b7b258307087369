/* stats.h — model statistics: parameters and multiply-accumulates per layer
 * and in total, under two conventions, and the same for the dense model of
 * the same shape.
 *
 * "real": what the model actually stores and computes (a torch_butterfly
 *   layer stores nstacks·nblocks·2·n·log2(n) twiddles; Fourier mixing has
 *   no parameters).
 * "paper": the FABNet paper's convention (Fan et al. 2022, after Dao et al.
 *   2019): a butterfly matrix counts 4·n parameters (the weight-tied count)
 *   per stack and block, and the FFT twiddles of Fourier mixing count as
 *   parameters too (4·n per transform length n).
 * MACs count real multiply-accumulates per inference (one input sample):
 * a butterfly stage costs 2 per output (4 per radix-2 butterfly), a
 * complex radix-2 FFT butterfly 4 (one complex multiply).  A Fourier axis
 * whose length is not a power of two is counted as the mixed-radix FFT
 * lower-fourier produces (2s, then odd primes q): a radix-q stage costs
 * 4·(q − 1) per element (q − 1 twiddles and (q − 1)² DFT multiplies per
 * butterfly of q); a lowered `dft` 4·n per element.
 * "dense": each butterfly linear replaced by nn.Linear of the same in/out,
 * Fourier mixing computed with dense DFT matrices (2·s·d·(s+d) MACs).
 */
#ifndef FAB_STATS_H
#define FAB_STATS_H

#include <stdio.h>

#include "ir.h"

typedef struct fab_layer_stats {
  const char *name; /* instance name ("layers.0.ffn.fc1") */
  const char *kind; /* op keyword */
  int64_t params, params_paper, params_dense;
  int64_t macs, macs_paper, macs_dense;
} fab_layer_stats;

typedef struct fab_model_stats {
  fab_layer_stats *layers; /* malloc'd; names point into the module */
  int nlayers;
  fab_layer_stats total;
} fab_model_stats;

/* Fills `out` for the entry function of a high-level module (lowered ops
 * are counted too, so any IR level works). */
bool fab_stats_compute(const fab_module *m, fab_model_stats *out, fab_diag *d);
void fab_stats_free(fab_model_stats *s);
void fab_stats_print_table(FILE *out, const fab_module *m, const fab_model_stats *s);
/* JSON for machines (jansson); returns false on an I/O error. */
bool fab_stats_print_json(FILE *out, const fab_module *m, const fab_model_stats *s);

#endif
