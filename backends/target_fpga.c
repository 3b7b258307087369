/* target_fpga.c — the butterfly accelerator (backends/fpga/) as a target:
 * an instruction stream for the configuration given with --accel, run by
 * the cycle-level simulator, built as a .fbin. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen.h"
#include "fbin.h"
#include "sim.h"
#include "target.h"

struct fab_compiled {
  fab_fpga_config accel;
  fab_fpga_program *program;
  const fab_tensor_set *weights;
};

static bool load_config(const fab_target_config *cfg, fab_fpga_config *c, fab_diag *d) {
  if (cfg->accel_config) {
    *c = *cfg->accel_config;
    return true;
  }
  if (!cfg->accel) {
    fab_error(d, (fab_loc){0},
              "the fpga target needs an accelerator configuration (--accel NAME or FILE.json, e.g. vcu128-be40)");
    return false;
  }
  char msg[512];
  if (fab_fpga_config_load(cfg->accel, c, msg, sizeof msg) != FAB_OK) {
    fab_error(d, (fab_loc){0}, "%s", msg);
    return false;
  }
  return true;
}

/* One engine: 2*p_bu elements per cycle; its two banks of be_rams x
 * be_depth 16-bit words are the fast memory; one engine pass runs up to
 * 12 radix-2 stages of a row of at most a bank's words. */
static bool cost_model(const fab_target_config *cfg, fab_target_info *out, fab_diag *d) {
  /* Lowering alone (fabc emit --ir --target fpga) may leave the board
   * open: every shipped board has this engine (4 BUs, 8 RAMs x 512). */
  fab_fpga_config c = {.p_bu = 4, .be_rams = 8, .be_depth = 512, .wb_share = FAB_FPGA_WB_SHARE};
  if ((cfg->accel || cfg->accel_config) && !load_config(cfg, &c, d)) return false;
  *out = (fab_target_info){.name = "fpga",
                           .vector_lanes = 2 * c.p_bu,
                           .vector_registers = 0,
                           .fast_memory_bytes = 2 * (int64_t)fab_fpga_bank_words(&c) * 2,
                           .max_fused_stages = 12,
                           .max_vector_length = fab_fpga_bank_words(&c),
                           .engines = c.p_be,
                           .post_lanes = c.ppu_lanes,
                           .wb_share = c.wb_share};
  return true;
}

/* --codegen for the fpga target: "op-map" (the .fbin names the op of every
 * instruction, for `fabc sim --ops`), or nothing. */
static bool check_config(const fab_target_config *cfg, fab_diag *d) {
  if (!cfg->codegen || !*cfg->codegen || !strcmp(cfg->codegen, "op-map")) return true;
  fab_error(d, (fab_loc){0}, "--codegen '%s': the fpga target takes only 'op-map'", cfg->codegen);
  return false;
}

static fab_compiled *compile(const fab_module *lowered, const fab_target_config *cfg, fab_diag *d) {
  fab_compiled *c = fab_target_calloc(sizeof *c, d);
  if (!c) return NULL;
  fab_fpga_codegen_opts o = {.op_map = cfg->codegen && !strcmp(cfg->codegen, "op-map")};
  if (!load_config(cfg, &c->accel, d) || !(c->program = fab_fpga_codegen_ex(lowered, &c->accel, &o, d))) {
    free(c);
    return NULL;
  }
  return c;
}

static void release(fab_compiled *c) {
  if (!c) return;
  fab_fpga_program_free(c->program);
  free(c);
}

static bool bind_weights(fab_compiled *c, const fab_tensor_set *w, fab_diag *d) {
  (void)d;
  c->weights = w;
  return true;
}

static char *capture_report(const fab_fpga_report *r, const fab_fpga_config *c) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (!f) return NULL;
  fab_fpga_report_print(r, c, f);
  if (fclose(f) != 0) {
    free(buf);
    return NULL;
  }
  return buf;
}

static json_t *u64_array(const uint64_t *v, int n) {
  json_t *a = json_array();
  for (int i = 0; i < n; i++) json_array_append_new(a, json_integer((json_int_t)v[i]));
  return a;
}

static char *report_json(const fab_fpga_report *r, const fab_fpga_config *c, const char *text) {
  json_t *o = json_object();
  json_object_set_new(o, "accel", json_string(c->name));
  json_object_set_new(o, "clock_mhz", json_real(c->clock_mhz));
  json_object_set_new(o, "total_cycles", json_integer((json_int_t)r->total_cycles));
  json_object_set_new(o, "latency_ms", json_real(r->latency_ms));
  /* A batch: the figures above are one sample's; these are the whole run's. */
  json_object_set_new(o, "samples", json_integer((json_int_t)(r->samples ? r->samples : 1)));
  json_object_set_new(o, "batch_cycles", json_integer((json_int_t)r->batch_cycles));
  json_object_set_new(o, "batch_latency_ms", json_real(r->batch_latency_ms));
  json_object_set_new(o, "model_cycles", json_integer((json_int_t)r->model_cycles));
  json_object_set_new(o, "engine_util", json_real(r->engine_util));
  json_object_set_new(o, "bu_util", json_real(r->bu_util));
  /* over the butterfly layers (sim/layers.c) and what their bounds allow */
  json_object_set_new(o, "bu_util_layers", json_real(r->bl_util));
  json_object_set_new(o, "bu_roofline_layers", json_real(r->bl_roofline));
  json_object_set_new(o, "bfly_cycles", json_integer((json_int_t)r->bfly_cycles));
  json_object_set_new(o, "butterflies", json_integer((json_int_t)r->butterflies));
  json_object_set_new(o, "bytes_in", json_integer((json_int_t)r->bytes_in));
  json_object_set_new(o, "bytes_coef", json_integer((json_int_t)r->bytes_coef));
  json_object_set_new(o, "bytes_out", json_integer((json_int_t)r->bytes_out));
  json_object_set_new(o, "coef_busy", json_integer((json_int_t)r->coef_busy));
  json_object_set_new(o, "queue_insns", u64_array(r->insns, FAB_Q_COUNT));
  json_object_set_new(o, "queue_busy", u64_array(r->busy, FAB_Q_COUNT));
  json_object_set_new(o, "queue_stall", u64_array(r->stall, FAB_Q_COUNT));
  int ne = r->p_be > 0 && r->p_be <= FAB_FPGA_MAX_ENGINES ? r->p_be : 0;
  json_object_set_new(o, "engine_busy", u64_array(r->engine_busy, ne));
  json_object_set_new(o, "engine_stall", u64_array(r->engine_stall, ne));
  json_object_set_new(o, "text", json_string(text ? text : ""));
  char *s = json_dumps(o, JSON_INDENT(1));
  json_decref(o);
  return s;
}

static bool run(fab_compiled *c, const fab_tensor_set *in, fab_tensor_set *out, fab_target_run *r, fab_diag *d) {
  fab_fpga_sim_opts so = {.quiet = true, .timing_only = r && r->timing_only, .trace_path = r ? r->trace_path : NULL};
  fab_fpga_report rep;
  memset(&rep, 0, sizeof rep);
  char msg[512];
  if (fab_fpga_sim_run(c->program, NULL, c->weights, in, out, &so, &rep, msg, sizeof msg) != FAB_OK) {
    fab_error(d, (fab_loc){0}, "%s", msg);
    return false;
  }
  if (r && r->want_report) {
    r->report_text = capture_report(&rep, &c->accel);
    r->report_json = r->report_text ? report_json(&rep, &c->accel, r->report_text) : NULL;
    if (!r->report_json) {
      fab_error(d, (fab_loc){0}, "out of memory");
      return false;
    }
  }
  return true;
}

static bool build(fab_compiled *c, const char *kind, const char *path, const fab_tensor_set *embed, fab_diag *d) {
  (void)embed;
  if (strcmp(kind, "fbin") != 0) {
    fab_error(d, (fab_loc){0}, "fpga: cannot build '%s' (fbin)", kind);
    return false;
  }
  char msg[512];
  if (fab_fpga_fbin_write(path, c->program, msg, sizeof msg) != FAB_OK) {
    fab_error(d, (fab_loc){0}, "%s", msg);
    return false;
  }
  return true;
}

/* The PPU averages one vector-memory half at a time (2^15 words on
 * configs/small.json): masked means over more than half of that go through
 * its mm instead (lower-masked-mean).  The code generator follows
 * fpga-absorb's folds and fpga-alloc's plan and reads no tile hints: no
 * tile, no memplan.  FFT axes of every length 2^k q1 q2 .. with odd primes
 * up to 15 (FAB_FPGA_ENGINE_RADIX) run on the engines as lower-fourier's
 * radix stages (codegen_fft.c: per point (q^2 - 1) / (2 q P_bu) cycles on
 * one of P_be engines, against the matrix unit's 4 q / att_mults for the
 * radix-q combine of its dft split, plus that split's transposing copies:
 * for q = 3 the engines do 360 points per cycle on vcu128-be120 against
 * 85, 60 against 5.3 on zynq7045-be20; no shipped board favours the
 * matrix unit for any q <= 15); an axis with a larger prime stays a dense
 * `dft` (lower-fourier(max-radix)), which the code generator runs on the
 * matrix unit, split into FFTs where it can (codegen_dft.c). */
const fab_target fab_target_fpga = {
    .name = "fpga",
    .summary = "the butterfly accelerator of --accel CONFIG: simulated runs with cycle reports, .fbin builds",
    .pipeline = "canonicalize,lower-bfly,lower-fourier(max-radix=15,seq-first=2),lower-mha,"
                "lower-masked-mean(min-elems=16384),canonicalize,fuse-stages,fuse-elementwise,fpga-absorb,fpga-alloc",
    .build_kinds = "fbin",
    .simulates = true,
    .check_config = check_config,
    .cost_model = cost_model,
    .compile = compile,
    .release = release,
    .bind_weights = bind_weights,
    .run = run,
    .build = build,
};
