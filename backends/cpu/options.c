/* options.c — the code-generation choices of fab_cpu_options from a comma
 * list (`fabc --codegen LIST`).  These pick among kernels for an op; what
 * the IR says (folds, chains, groups) belongs to the cpu-* passes. */
#include "cpu.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char valid[] =
    "no-share, scalar-dft, no-real-dft, scalar-attention, attention-rows=1|2|4, linker=PROGRAM, llvm-pipeline=TEXT";

static bool flag(fab_cpu_options *o, const char *name, size_t n) {
  static const struct {
    const char *name;
    size_t offset;
  } flags[] = {{"no-share", offsetof(fab_cpu_options, no_share)},
               {"scalar-dft", offsetof(fab_cpu_options, scalar_dft)},
               {"no-real-dft", offsetof(fab_cpu_options, no_real_dft)},
               {"scalar-attention", offsetof(fab_cpu_options, scalar_attention)}};
  for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
    if (strlen(flags[i].name) == n && !strncmp(flags[i].name, name, n)) {
      *(bool *)((char *)o + flags[i].offset) = true;
      return true;
    }
  return false;
}

bool fab_cpu_codegen_options_parse(fab_cpu_options *o, const char *text, char *err, size_t errlen) {
  static const char pipe[] = "llvm-pipeline=", rows[] = "attention-rows=", link[] = "linker=";
  for (const char *p = text ? text : ""; *p;) {
    if (!strncmp(p, pipe, sizeof pipe - 1)) {
      o->llvm_pipeline = p + sizeof pipe - 1;
      if (!*o->llvm_pipeline) {
        snprintf(err, errlen, "codegen option llvm-pipeline= needs a pipeline");
        return false;
      }
      return true;
    }
    const char *e = strchr(p, ',');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    if (n > sizeof rows - 1 && !strncmp(p, rows, sizeof rows - 1)) {
      char *end;
      long v = strtol(p + sizeof rows - 1, &end, 10);
      if (end != p + n || (v != 1 && v != 2 && v != 4)) {
        snprintf(err, errlen, "codegen option '%.*s': attention-rows must be 1, 2 or 4", (int)n, p);
        return false;
      }
      o->attention_rows = (int)v;
    } else if (n >= sizeof link - 1 && !strncmp(p, link, sizeof link - 1)) {
      size_t k = n - (sizeof link - 1);
      if (k == 0 || k >= sizeof o->linker) {
        snprintf(err, errlen, "codegen option linker= needs a program name (under %zu bytes)", sizeof o->linker);
        return false;
      }
      memcpy(o->linker, p + sizeof link - 1, k);
      o->linker[k] = 0;
    } else if (!flag(o, p, n)) {
      snprintf(err, errlen, "unknown codegen option '%.*s' (valid: %s)", (int)n, p, valid);
      return false;
    }
    p += n + (e ? 1 : 0);
  }
  return true;
}
