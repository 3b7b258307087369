/* fixed_targets.h — machine-independent cost models for the pass tests:
 * what the tests' expectations were written against (an AVX-512 CPU, the
 * vcu128 engines, the generic model), so that they do not depend on the
 * machine running them.  Real compiles take the model from the target
 * (backends/target.h). */
#ifndef FAB_TEST_FIXED_TARGETS_H
#define FAB_TEST_FIXED_TARGETS_H

#include <string.h>

#include "passes.h"

static inline const fab_target_info *fixed_target(const char *name) {
  static const fab_target_info cpu = {.name = "cpu", .vector_lanes = 16, .vector_registers = 32,
                                      .fast_memory_bytes = 1310720, .max_fused_stages = 6};
  static const fab_target_info fpga = {.name = "fpga", .vector_lanes = 8, .fast_memory_bytes = 16384,
                                       .max_fused_stages = 12, .max_vector_length = 4096};
  if (!name || strcmp(name, "generic") == 0) return fab_generic_target();
  if (strcmp(name, "cpu") == 0) return &cpu;
  if (strcmp(name, "fpga") == 0) return &fpga;
  return NULL;
}

#endif
