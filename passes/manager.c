/* manager.c — the pass table, pipeline strings, and running them.
 *
 * One table lists every pass with its contract and options; the pipeline
 * parser, `fabc opt --help`, the contract checks and docs/passes.md all
 * read it.  A pipeline is parsed completely before anything runs, so a
 * typo never leaves a half-transformed module behind.
 *
 * Debugging aids in the MLIR style: print-before/after (one pass, a comma
 * list, or "all"), verify-each (fab_verify and the pass's `establishes`
 * after every pass), time-passes, stop-after, and a crash reproducer: when
 * a pass fails or its output does not verify, the module as it was before
 * that pass and the rest of the pipeline are written to reproducer_dir. */
#include "fab_out.h"
#include "pass_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- the generic cost model ------------------------------------------------ */

/* For `fabc opt` without a target; real targets fill their own from the
 * machine or the accelerator (backends/target.h). */
static const fab_target_info generic = {.name = "generic", .vector_lanes = 8, .vector_registers = 16,
                                        .fast_memory_bytes = 262144, .max_fused_stages = 3,
                                        .max_vector_length = 0};

const fab_target_info *fab_generic_target(void) { return &generic; }

int pass_default_fuse_k(const fab_target_info *t) {
  int k = t->max_fused_stages > 0 ? t->max_fused_stages : 1;
  if (t->vector_registers > 0) {
    /* Half the registers hold the 2^k data vectors of a radix-2^k kernel,
     * the other half its twiddles and temporaries. */
    int fit = 0;
    while ((2 << fit) <= t->vector_registers / 2) fit++;
    if (fit < k) k = fit;
  }
  return k < 1 ? 1 : k;
}

/* ---- the pass table ------------------------------------------------------ */

typedef struct pass_def {
  fab_pass_info info;
  bool (*run)(fab_pass_ctx *cx, fab_func *f);
  const char *keys[PASS_MAX_OPTS]; /* accepted option names */
} pass_def;

static const pass_def passes[] = {
    {{"canonicalize",
      "fold reshape/transpose chains, identity scale/pad/slice/reshape, CSE, dead code",
      "", "", ""},
     pass_canonicalize, {NULL}},
    {{"lower-bfly", "bfly.linear -> pad, stack, one bfly.stages per radix-2 stage, slice, add",
      "", "no-bfly-linear", ""},
     pass_lower_bfly, {NULL}},
    {{"lower-fourier", "fourier.mix -> complex, bitrev + mixed-radix fft.stages per axis, real",
      "", "no-fourier-mix",
      "dense-max=<int>: non-power-of-two axes up to this length become one dense dft (default 0); "
      "max-radix=<int>: axes with an odd prime factor above it become one dense dft (default 0: any); "
      "seq-first=<0|1|2>: the sequence axis first, the hidden axis last (1), or only where the hidden "
      "axis lowers to stages (2, the fpga target's; default 0)"},
     pass_lower_fourier, {"dense-max", "seq-first", "max-radix", NULL}},
    {{"lower-bluestein",
      "bitrev + fft.stages with a large prime radix -> chirp, pad, power-of-two FFTs, chirp (Bluestein)",
      "", "",
      "min-prime=<int>: only lengths with a prime factor at least this (default 17); "
      "cost=<int>: Bluestein where n p > cost/100 M log2 M (p the largest prime factor, M the power of "
      "two >= 2n - 1; default 400)"},
     pass_lower_bluestein, {"min-prime", "cost", NULL}},
    {{"lower-mha", "mha -> per-head reshape/transpose and attention (or matmul+softmax+matmul)",
      "", "no-mha", "blocked=<0|1>: 1 (default) one blocked attention op, 0 matmul+softmax+matmul"},
     pass_lower_mha, {"blocked", NULL}},
    {{"lower-masked-mean",
      "meanpool x, mask -> softmax(zeros, mask) matmul x (exact weights; the accelerator's mm)",
      "", "", "min-elems=<int>: only means over at least this many elements per sample (default 0)"},
     pass_lower_masked_mean, {"min-elems", NULL}},
    {{"fuse-stages", "merge up to k consecutive radix-2 bfly.stages of one block into a radix-2^k op",
      "no-bfly-linear", "",
      "k=<int>: stages per fused op (default from the target: cpu 4, fpga 12, generic 3); "
      "merge-matrices=<0|1>: also merge dense(dense(x)) when it saves work (default 0)"},
     pass_fuse_stages, {"k", "merge-matrices", NULL}},
    {{"fuse-elementwise",
      "add+gelu -> bias.gelu, add+layernorm -> add.layernorm, scale+softmax, fft.stages+real",
      "", "", ""},
     pass_fuse_elementwise, {NULL}},
    {{"tile", "record row tiles, four-step butterfly splits and attention key blocks as hints",
      "lowered", "",
      "buffer=<int>: longest row segment in elements (default from the target); "
      "rows=<int>: rows per tile (default from fast memory)"},
     pass_tile, {"buffer", "rows", NULL}},
    {{"memplan", "liveness + best-fit offsets in one arena (plan.offset, plan.size, plan.inplace)",
      "", "planned", "inplace=<0|1>: reuse a dying operand's buffer (default 1)"},
     pass_memplan, {"inplace", NULL}},
    {{"fpga-absorb",
      "mark ops the accelerator folds into their user (fpga.fold): stack/bitrev/complex/pad into engine "
      "loads, row-wise chains into one post-processing pass, a butterfly's post-processing into its "
      "engines' write-back (fpga.wb), an embedding and its position-table slice into the add that "
      "reads them",
      "lowered", "",
      "loads=<0|1>: fold stack, bitrev, complex into loads (default 1); "
      "chain=<int>: row-wise ops per post-processing pass, 1..4 (default 4); "
      "wb=<0|1>: bias, gelu, residual + layer norm, truncation and padding in the engines' "
      "write-back and loads (fpga.wb; default 1); "
      "fft-ln=<0|1>: the Fourier mix's residual + layer norm in its last fft pass's write-back "
      "(default: where the engines are at least as many as the PPU lanes, or no board is given)"},
     pass_fpga_absorb, {"loads", "chain", "wb", "fft-ln", NULL}},
    {{"fpga-alloc",
      "the accelerator's off-chip memory plan (plan.offset, plan.size, plan.table, plan.scratch), "
      "after the folds of fpga-absorb",
      "lowered", "", "reuse=<0|1>: reuse the regions of dead values (default 1; 0 keeps every value)"},
     pass_fpga_alloc, {"reuse", NULL}},
    {{"attention-block", "attention's key block: the largest power of two whose K, V and scores fit fast memory",
      "lowered", "", ""},
     pass_attention_block_run, {NULL}},
    /* The cpu-* passes read and keep the memory plan (they require
     * `planned`): they make only changes the plan allows. */
    {{"cpu-chain-bfly",
      "cpu: a chain of bfly.stages becomes one op (one kernel); its register groups (cpu.groups)",
      "lowered,planned", "",
      "chain=<0|1>: merge chains (default 1); "
      "group=<int>: most stages per register group, 1..6 (default 3)"},
     pass_cpu_chain_bfly, {"chain", "group", NULL}},
    {{"cpu-fold-fft-loads",
      "cpu: fft.stages loads through its bitrev/complex operands (cpu.bitrev_in, cpu.real_in), cpu.hermitian",
      "lowered,planned", "",
      "fold=<0|1>: read through bitrev and complex (default 1); "
      "hermitian=<0|1>: half the columns for Re(FFT2) (default 1); "
      "move=<0|1>: when the fft's result sits on the bytes a fold would read, move it to free bytes "
      "(default 1)"},
     pass_cpu_fold_fft_loads, {"fold", "hermitian", "move", NULL}},
    {{"cpu-fold-embed",
      "cpu: an add of an embed (the positional embedding's) gathers the table rows itself (cpu.embed_in) and reads a slice of a weight's rows in place (cpu.slice_in)",
      "lowered,planned", "", "fold=<0|1>: fold (default 1)"},
     pass_cpu_fold_embed, {"fold", NULL}},
    {{"cpu-fuse-ffn",
      "cpu: a butterfly feed-forward block ending in add.layernorm runs as one kernel on row tiles (cpu.ffn)",
      "lowered,planned", "",
      "ffn=<0|1>: fuse (default 1); "
      "norm-in=<0|1>: the kernel also computes the block's input layer norm (cpu.ffn = 2; default 1)"},
     pass_cpu_fuse_ffn, {"ffn", "norm-in", NULL}},
};
enum { NPASSES = sizeof passes / sizeof passes[0] };

int fab_pass_count(void) { return NPASSES; }

const fab_pass_info *fab_pass_get(int i) {
  return i >= 0 && i < NPASSES ? &passes[i].info : NULL;
}

static const pass_def *find_def(const char *name, size_t len) {
  for (int i = 0; i < NPASSES; i++)
    if (strlen(passes[i].info.name) == len && strncmp(passes[i].info.name, name, len) == 0)
      return &passes[i];
  return NULL;
}

const fab_pass_info *fab_pass_find(const char *name) {
  const pass_def *p = name ? find_def(name, strlen(name)) : NULL;
  return p ? &p->info : NULL;
}

/* ---- IR properties (the vocabulary of contracts) ------------------------- */

static bool check_prop(const fab_module *m, const char *prop, size_t len, char *why, size_t wl) {
  int code = -1, mode; /* mode 0: op absent, 1: all LOW, 2: planned */
  if (len == 14 && strncmp(prop, "no-bfly-linear", len) == 0) code = FAB_OP_BFLY_LINEAR, mode = 0;
  else if (len == 14 && strncmp(prop, "no-fourier-mix", len) == 0) code = FAB_OP_FOURIER_MIX, mode = 0;
  else if (len == 6 && strncmp(prop, "no-mha", len) == 0) code = FAB_OP_MHA, mode = 0;
  else if (len == 7 && strncmp(prop, "lowered", len) == 0) mode = 1;
  else if (len == 7 && strncmp(prop, "planned", len) == 0) mode = 2;
  else {
    snprintf(why, wl, "unknown property '%.*s'", (int)len, prop);
    return false;
  }
  for (int fi = 0; fi < m->nfuncs; fi++) {
    const fab_func *f = m->funcs[fi];
    for (int i = 0; i < f->nops; i++) {
      const fab_op *op = &f->ops[i];
      unsigned fl = fab_opinfos[op->code].flags;
      bool bad = mode == 0   ? (int)op->code == code
                 : mode == 1 ? !(fl & FAB_OPF_LOW)
                             : !(fl & (FAB_OPF_SOURCE | FAB_OPF_NORESULT)) &&
                                   (!fab_op_attr(op, "plan.offset") || !fab_op_attr(op, "plan.size"));
      if (bad) {
        snprintf(why, wl, "%%%d = %s in function '%s'", i, fab_opinfos[op->code].name, f->name);
        return false;
      }
    }
  }
  return true;
}

/* Checks every property of a comma list; names the first missing one. */
static bool check_props(const fab_module *m, const char *list, char *why, size_t wl) {
  for (const char *p = list; *p;) {
    const char *e = strchr(p, ',');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    char w[200];
    if (len && !check_prop(m, p, len, w, sizeof w)) {
      /* Name the pass that would establish it, if there is one. */
      const char *by = NULL;
      for (int i = 0; i < NPASSES && !by; i++) {
        const char *e = strstr(passes[i].info.establishes, p);
        if (e && strncmp(e, p, len) == 0 && (e[len] == 0 || e[len] == ',')) by = passes[i].info.name;
      }
      snprintf(why, wl, "'%.*s', which does not hold (%s)%s%s%s", (int)len, p, w,
               by ? "; run " : "", by ? by : "", by ? " before it" : "");
      return false;
    }
    p += len + (e ? 1 : 0);
  }
  return true;
}

bool fab_ir_has_property(const fab_module *m, const char *property, char *why, size_t whylen) {
  char dummy[8];
  if (!why) why = dummy, whylen = sizeof dummy;
  return check_prop(m, property, strlen(property), why, whylen);
}

/* ---- pipeline parsing ---------------------------------------------------- */

#define MAX_PIPELINE 64

typedef struct entry {
  const pass_def *def;
  int nopts;
  char keys[PASS_MAX_OPTS][32];
  int64_t vals[PASS_MAX_OPTS];
  size_t start, end; /* the entry's text in the pipeline string */
} entry;

static void list_passes(char *buf, size_t n) {
  size_t k = 0;
  buf[0] = 0;
  for (int i = 0; i < NPASSES && k < n; i++)
    k += (size_t)snprintf(buf + k, n - k, "%s%s", i ? ", " : "", passes[i].info.name);
}

static bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.';
}

static const char *skip_ws(const char *p) {
  while (*p == ' ' || *p == '\t' || *p == '\n') p++;
  return p;
}

static int parse_pipeline(const char *text, entry *out, int max, fab_diag *d) {
  fab_loc nl = {0};
  int n = 0;
  const char *p = skip_ws(text);
  if (!*p) return 0;
  for (;;) {
    const char *s = p;
    while (is_name_char(*p)) p++;
    if (p == s) {
      fab_error(d, nl, "pipeline: expected a pass name at offset %d in '%s'", (int)(s - text), text);
      return -1;
    }
    const pass_def *def = find_def(s, (size_t)(p - s));
    if (!def) {
      char names[512];
      list_passes(names, sizeof names);
      fab_error(d, nl, "pipeline: unknown pass '%.*s' (valid passes: %s)", (int)(p - s), s, names);
      return -1;
    }
    if (n == max) {
      fab_error(d, nl, "pipeline: more than %d passes", max);
      return -1;
    }
    entry *e = &out[n++];
    memset(e, 0, sizeof *e);
    e->def = def;
    e->start = (size_t)(s - text);
    p = skip_ws(p);
    if (*p == '(') {
      p = skip_ws(p + 1);
      while (*p != ')') {
        const char *ks = p;
        while (is_name_char(*p)) p++;
        size_t kl = (size_t)(p - ks);
        int ki = -1;
        for (int k = 0; def->keys[k]; k++)
          if (strlen(def->keys[k]) == kl && strncmp(def->keys[k], ks, kl) == 0) ki = k;
        if (ki < 0) {
          fab_error(d, nl, "pipeline: pass '%s' has no option '%.*s' (options: %s)", def->info.name,
                    (int)kl, ks, def->info.options[0] ? def->info.options : "none");
          return -1;
        }
        p = skip_ws(p);
        if (*p != '=') {
          fab_error(d, nl, "pipeline: expected '=' after option '%.*s' of '%s'", (int)kl, ks,
                    def->info.name);
          return -1;
        }
        p = skip_ws(p + 1);
        char *end;
        errno = 0;
        long long v = strtoll(p, &end, 0);
        if (end == p || errno) {
          fab_error(d, nl, "pipeline: option '%.*s' of '%s' needs an integer value", (int)kl, ks,
                    def->info.name);
          return -1;
        }
        if (e->nopts == PASS_MAX_OPTS) {
          fab_error(d, nl, "pipeline: too many options for '%s'", def->info.name);
          return -1;
        }
        snprintf(e->keys[e->nopts], sizeof e->keys[0], "%.*s", (int)kl, ks);
        e->vals[e->nopts++] = v;
        p = skip_ws(end);
        if (*p == ',') p = skip_ws(p + 1);
        else if (*p != ')') {
          fab_error(d, nl, "pipeline: expected ',' or ')' in the options of '%s'", def->info.name);
          return -1;
        }
      }
      p++;
    }
    e->end = (size_t)(p - text);
    p = skip_ws(p);
    if (!*p) break;
    if (*p != ',') {
      fab_error(d, nl, "pipeline: expected ',' between passes at offset %d in '%s'", (int)(p - text),
                text);
      return -1;
    }
    p = skip_ws(p + 1);
  }
  return n;
}

bool fab_pipeline_check(const char *pipeline, fab_diag *d) {
  entry *es = calloc(MAX_PIPELINE, sizeof *es);
  if (!es) return false;
  int n = parse_pipeline(pipeline ? pipeline : "", es, MAX_PIPELINE, d);
  free(es);
  return n >= 0;
}

/* ---- running ----------------------------------------------------------- */

/* Does `name` appear in a "all" / comma list? */
static bool in_list(const char *list, const char *name) {
  if (!list || !*list) return false;
  if (strcmp(list, "all") == 0) return true;
  size_t nl = strlen(name);
  for (const char *p = list; *p;) {
    const char *e = strchr(p, ',');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    if (len == nl && strncmp(p, name, nl) == 0) return true;
    p += len + (e ? 1 : 0);
  }
  return false;
}

/* A shallow copy of every function's op array (attribute arrays copied,
 * their contents are immutable), to restore the input of a failing pass. */
typedef struct snapshot {
  fab_op **ops;
  int *nops;
} snapshot;

/* False when out of memory: the pipeline then runs without a reproducer. */
static bool take_snapshot(fab_module *m, snapshot *s) {
  s->ops = fab_arena_alloc(m->arena, sizeof(fab_op *) * (size_t)(m->nfuncs + 1));
  s->nops = fab_arena_alloc(m->arena, sizeof(int) * (size_t)(m->nfuncs + 1));
  if (!s->ops || !s->nops) return false;
  for (int fi = 0; fi < m->nfuncs; fi++) {
    fab_func *f = m->funcs[fi];
    fab_op *c = fab_arena_alloc(m->arena, sizeof(fab_op) * (size_t)(f->nops + 1));
    if (!c) return false;
    for (int i = 0; i < f->nops; i++) {
      c[i] = f->ops[i];
      if (c[i].nattrs) {
        c[i].attrs = fab_arena_alloc(m->arena, sizeof(fab_attr) * (size_t)c[i].nattrs);
        if (!c[i].attrs) return false;
        memcpy(c[i].attrs, f->ops[i].attrs, sizeof(fab_attr) * (size_t)c[i].nattrs);
      }
    }
    s->ops[fi] = c;
    s->nops[fi] = f->nops;
  }
  return true;
}

static void restore_snapshot(fab_module *m, const snapshot *s) {
  for (int fi = 0; fi < m->nfuncs; fi++) {
    m->funcs[fi]->ops = s->ops[fi];
    m->funcs[fi]->nops = m->funcs[fi]->cap = s->nops[fi];
  }
}

static void write_reproducer(fab_module *m, const char *dir, const char *pipeline,
                             const entry *es, int from, int n, fab_diag *d) {
  char path[4096], err[512];
  fab_loc nl = {0};
  snprintf(path, sizeof path, "%s/fabc-repro.fir", dir);
  fab_out *o = fab_out_open(path, err, sizeof err);
  FILE *f = o ? fab_out_file(o) : NULL;
  if (f) fab_print_module(f, m, FAB_PRINT_LOCS);
  if (!o || fab_out_commit(o, err, sizeof err) != FAB_OK) {
    fab_note(d, nl, "could not write the reproducer: %s", err);
    return;
  }
  snprintf(path, sizeof path, "%s/fabc-repro.pipeline", dir);
  size_t start = es[from].start, end = es[n - 1].end;
  if (!(o = fab_out_open(path, err, sizeof err)) ||
      (fab_out_printf(o, "%.*s\n", (int)(end - start), pipeline + start),
       fab_out_commit(o, err, sizeof err) != FAB_OK)) {
    fab_note(d, nl, "could not write the reproducer: %s", err);
    return;
  }
  fab_note(d, nl,
           "reproducer: %s/fabc-repro.fir is the IR before pass '%s'; "
           "%s/fabc-repro.pipeline the rest of the pipeline",
           dir, es[from].def->info.name, dir);
}

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static bool has_plan(const fab_module *m) {
  for (int fi = 0; fi < m->nfuncs; fi++)
    for (int i = 0; i < m->funcs[fi]->nops; i++)
      if (fab_op_attr(&m->funcs[fi]->ops[i], "plan.offset")) return true;
  return false;
}

static void strip_plan(fab_module *m) {
  for (int fi = 0; fi < m->nfuncs; fi++)
    for (int i = 0; i < m->funcs[fi]->nops; i++)
      pass_strip_attrs(m, &m->funcs[fi]->ops[i], "plan.");
}

/* The header names the pass with the options the pipeline gave it. */
static void dump(FILE *out, const fab_module *m, const char *when, const entry *e) {
  fprintf(out, "// -----// IR Dump %s %s", when, e->def->info.name);
  for (int k = 0; k < e->nopts; k++)
    fprintf(out, "%s%s=%lld", k ? "," : "(", e->keys[k], (long long)e->vals[k]);
  fprintf(out, "%s //----- //\n", e->nopts ? ")" : "");
  fab_print_module(out, m, 0);
  fflush(out);
}

/* One pass over every function; out of memory inside it (a scratch array,
 * the IR builders: ir.h's guard) fails the pass with a message. */
static bool run_pass(const pass_def *def, fab_pass_ctx *cx, fab_module *m) {
  fab_oom_guard g;
  if (setjmp(g.jb)) {
    fab_oom_pop(&g);
    fab_error(cx->d, (fab_loc){0}, "pass %s: out of memory", cx->pass);
    return false;
  }
  fab_oom_push(&g);
  bool ok = true;
  for (int fi = 0; fi < m->nfuncs && ok; fi++) ok = def->run(cx, m->funcs[fi]);
  fab_oom_pop(&g);
  return ok;
}

bool fab_run_pipeline(fab_module *m, const char *pipeline, const fab_pass_options *opt,
                      fab_diag *d) {
  static const fab_pass_options none = {0};
  if (!opt) opt = &none;
  fab_loc nl = {0};
  if (!m || !pipeline) {
    fab_error(d, nl, "fab_run_pipeline: no module or no pipeline");
    return false;
  }
  const fab_target_info *target = opt->target ? opt->target : &generic;
  FILE *out = opt->print_out ? opt->print_out : stderr;
  entry *es = calloc(MAX_PIPELINE, sizeof *es);
  double *secs = calloc(MAX_PIPELINE, sizeof *secs);
  if (!es || !secs) {
    free(es);
    free(secs);
    fab_error(d, nl, "out of memory");
    return false;
  }
  int n = parse_pipeline(pipeline, es, MAX_PIPELINE, d);
  bool ok = n >= 0;
  int ran = 0;
  for (int pi = 0; ok && pi < n; pi++) {
    const entry *e = &es[pi];
    const char *name = e->def->info.name;
    if (in_list(opt->print_before, name)) dump(out, m, "Before", e);
    char why[300];
    if (!check_props(m, e->def->info.requires, why, sizeof why)) {
      fab_error(d, nl, "pass %s requires %s", name, why);
      ok = false;
      break;
    }
    snapshot snap = {0};
    bool snapped = opt->reproducer_dir && take_snapshot(m, &snap);
    /* any rewrite makes an old plan stale, except from passes that
     * require the plan (they keep it valid) */
    if (has_plan(m) && !strstr(e->def->info.requires, "planned")) strip_plan(m);
    fab_pass_ctx cx = {.m = m, .target = target, .pass = name, .d = d, .nopts = e->nopts};
    for (int k = 0; k < e->nopts; k++) cx.keys[k] = e->keys[k], cx.vals[k] = e->vals[k];
    double t0 = now_seconds();
    bool pass_ok = true;
    pass_ok = run_pass(e->def, &cx, m);
    secs[pi] = now_seconds() - t0;
    ran = pi + 1;
    if (!pass_ok) {
      fab_error(d, nl, "pass %s failed", name);
      ok = false;
    } else if (opt->verify_each) {
      if (!fab_verify(m, d)) {
        fab_error(d, nl, "the IR after pass %s does not verify", name);
        ok = false;
      } else if (!check_props(m, e->def->info.establishes, why, sizeof why)) {
        fab_error(d, nl, "pass %s broke its contract: it establishes %s", name, why);
        ok = false;
      }
    }
    if (!ok) {
      if (snapped) {
        restore_snapshot(m, &snap);
        write_reproducer(m, opt->reproducer_dir, pipeline, es, pi, n, d);
      } else if (opt->reproducer_dir) {
        fab_note(d, nl, "no reproducer: out of memory saving the input of pass %s", name);
      }
      break;
    }
    if (in_list(opt->print_after, name)) dump(out, m, "After", e);
    if (opt->stop_after && strcmp(opt->stop_after, name) == 0) break;
  }
  if (opt->time_passes && n > 0) {
    double total = 0;
    for (int i = 0; i < ran; i++) total += secs[i];
    fprintf(out, "===-------------------------------------------===\n");
    fprintf(out, "  pass execution timing report (%d passes)\n", ran);
    fprintf(out, "===-------------------------------------------===\n");
    fprintf(out, "  %10s  %6s  %s\n", "wall (s)", "%", "pass");
    for (int i = 0; i < ran; i++)
      fprintf(out, "  %10.6f  %5.1f%%  %s\n", secs[i], total > 0 ? 100.0 * secs[i] / total : 0.0,
              es[i].def->info.name);
    fprintf(out, "  %10.6f  100.0%%  total\n", total);
  }
  free(es);
  free(secs);
  return ok;
}
