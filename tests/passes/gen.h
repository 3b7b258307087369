/* gen.h — a seeded random model generator for the pass property tests. */
#ifndef FAB_TESTS_PASSES_GEN_H
#define FAB_TESTS_PASSES_GEN_H

#include <stdint.h>

#include "ir.h"

/* A random valid high-level model: stacks of bfly.linear (random in/out/
 * nblocks/direction/bias), dense, fourier.mix, mha, layernorm, gelu, relu,
 * softmax, scale, add, mul, transposes and reshapes, plus duplicated and
 * dead computations for canonicalize.  NULL (message on stderr) only if
 * the generator itself builds an invalid op. */
fab_module *gen_model(uint64_t seed);

/* A random pipeline that satisfies every pass's requirements, into buf. */
void gen_pipeline(uint64_t seed, char *buf, size_t n, const char **target);

#endif
