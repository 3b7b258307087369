/* interp.h — the reference interpreter: the golden model of fabc.
 *
 * Executes any IR module, high or low level, op by op, accumulating in
 * double.  Written for obviousness, not speed: every pass and backend is
 * tested against it.  Also binds weights and inputs to a module: checks a
 * tensor set against the module's parameters / inputs (missing, extra,
 * misshaped or mistyped tensors are errors naming the tensor) and makes
 * seeded random ones where none are given.
 */
#ifndef FAB_INTERP_H
#define FAB_INTERP_H

#include "fab_tensor.h"
#include "fab_weight_map.h"
#include "ir.h"

/* Checks `weights` against m's parameters: every parameter present with
 * its declared shape (F16/BF16/F64 converted to F32 in place), no extra
 * tensors unless allow_extra.  Reports every problem; a missing weight's
 * error names the closest entries present. */
bool fab_bind_check_weights(const fab_module *m, fab_tensor_set *weights, bool allow_extra,
                            fab_diag *d);
/* The same through a weight map (fab_weight_map.h; NULL: none): `weights`
 * is rewritten in place (renamed, stated reshapes applied, unused entries
 * dropped when the map allows them, else errors) once every check
 * passes; on error it keeps its names. */
bool fab_bind_map_weights(const fab_module *m, const fab_weight_map *map, fab_tensor_set *weights,
                          fab_diag *d);
/* Adds every parameter missing from `weights`, initialised from its
 * fab_init with a seeded RNG (PyTorch's default distributions). */
bool fab_bind_init_weights(const fab_module *m, uint64_t seed, fab_tensor_set *weights,
                           fab_diag *d);
/* Checks `inputs` against the entry function's `input` ops (by name).
 * Each may have the declared shape or [n, declared...], the same n for
 * every input (a batch of n samples). */
bool fab_bind_check_inputs(const fab_module *m, fab_tensor_set *inputs, fab_diag *d);
/* Adds seeded random inputs for every missing input: f32 ~ N(0,1); i32
 * token ids uniform in [0, V) where V is the vocabulary of the embedding
 * that consumes them (else [0, 2)). */
bool fab_bind_init_inputs(const fab_module *m, uint64_t seed, fab_tensor_set *inputs,
                          fab_diag *d);
/* Same with a leading sample axis of `batch` samples (0: none).  The
 * stream per input is the same, so sample 0 equals the unbatched input. */
bool fab_bind_init_inputs_batch(const fab_module *m, uint64_t seed, int64_t batch,
                                fab_tensor_set *inputs, fab_diag *d);

/* Runs the entry function.  `outputs` receives one F32 tensor (I32 for
 * integer results) per `output` op, named after it.  Run-time errors (a
 * token id out of range, a missing tensor) are reported and return
 * false.  Inputs of shape [n, declared...] (the same n for all) run n
 * samples one after another; each output then has the leading axis n. */
bool fab_interp_run(const fab_module *m, const fab_tensor_set *weights,
                    const fab_tensor_set *inputs, fab_tensor_set *outputs, fab_diag *d);

/* Same for one sample (no batch axis), but also returns every
 * intermediate value (named "%<op index>") in `values` when it is not
 * NULL: for debugging and pass testing. */
bool fab_interp_run_all(const fab_module *m, const fab_tensor_set *weights,
                        const fab_tensor_set *inputs, fab_tensor_set *outputs,
                        fab_tensor_set *values, fab_diag *d);

/* True when the interpreter has a kernel for `opcode` (a fab_opcode). */
bool fab_interp_supports(int opcode);

#endif /* FAB_INTERP_H */
