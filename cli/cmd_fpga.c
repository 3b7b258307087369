/* cmd_fpga.c — the accelerator's commands: objdump, as, sim, resources,
 * and the FPGA halves of build and run (called from cmd_backend.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "fab_weight_map.h"
#include "codegen.h"
#include "fab_tensor.h"
#include "fbin.h"
#include "ir.h"
#include "sim.h"

/* EXIT_OK, EXIT_USAGE (no --accel) or EXIT_USER (a bad configuration file:
 * an error in the input, not in the command line). */
int cli_fpga_config(const cli_args *a, fab_fpga_config *cfg) {
  const char *path = cli_str(a, "accel", NULL);
  if (!path) return cli_usage_error(a, "the FPGA target needs --accel CONFIG: a shipped configuration's NAME (vcu128-be40, ...) or a FILE.json");
  char err[512];
  if (fab_fpga_config_load(path, cfg, err, sizeof err) != FAB_OK) return cli_user_error("%s", err);
  return EXIT_OK;
}

/* ---- fabc objdump / as ----------------------------------------------------- */

static int run_objdump(const cli_args *a) {
  fab_fpga_program *p = NULL;
  char err[512];
  if (fab_fpga_fbin_read(a->pos[0], &p, err, sizeof err) != FAB_OK) return cli_user_error("%s", err);
  fab_fpga_objdump(p, stdout);
  fab_fpga_program_free(p);
  return EXIT_OK;
}

const cli_cmd cmd_objdump = {
    "objdump", "FILE.fbin", "disassemble an accelerator program (round-trips with `fabc as`)",
    "Prints the configuration, the tensor table and every instruction with its address,\n"
    "encoding, mnemonic, operands and a comment.  The output is valid input for `fabc as`.",
    NULL, 0, 1, 1, run_objdump,
};

static int run_as(const cli_args *a) {
  const char *out = cli_str(a, "o", NULL);
  if (!out) return cli_usage_error(a, "give the output file with -o FILE.fbin");
  size_t n;
  char *text = cli_read_text(a->pos[0], &n);
  if (!text) return EXIT_USER;
  fab_fpga_program *p = NULL;
  char err[512];
  int rc = EXIT_OK;
  if (fab_fpga_assemble(text, n, &p, err, sizeof err) != FAB_OK)
    rc = cli_user_error("%s: %s", a->pos[0], err);
  else if (fab_fpga_fbin_write(out, p, err, sizeof err) != FAB_OK)
    rc = cli_user_error("%s", err);
  fab_fpga_program_free(p);
  free(text);
  return rc;
}

static const opt_spec as_opts[] = {
    {"o", OPT_VALUE, "FILE", "the .fbin to write (atomically)"},
};

const cli_cmd cmd_as = {
    "as", "FILE.fasm -o FILE.fbin", "assemble the text form of an accelerator program",
    NULL, as_opts, 1, 1, 1, run_as,
};

/* ---- fabc sim ---------------------------------------------------------------- */

static int run_sim(const cli_args *a) {
  char err[512];
  bool timing_only = cli_flag(a, "timing-only");
  if (timing_only && (cli_str(a, "o", NULL) || cli_str(a, "weights", NULL) || cli_str(a, "input", NULL)))
    return cli_usage_error(a, "--timing-only computes no values: drop -o, --weights and --input");
  bool ops = cli_flag(a, "ops"), report = cli_flag(a, "report") || ops || !cli_str(a, "o", NULL);
  /* Nothing to compute values from or write them to: the cycle model
   * alone gives the same report (it does not depend on the data). */
  if (!cli_str(a, "o", NULL) && !cli_str(a, "weights", NULL) && !cli_str(a, "input", NULL))
    timing_only = true;
  fab_weight_map *map;
  if (!cli_weights_map(a, &map)) return EXIT_USER; /* as the commands that load weights */
  fab_fpga_sim_opts o = {.timing_only = timing_only, .weight_map = map, .report_ops = ops};
  fab_status st = fab_fpga_sim_files_ex(a->pos[0], cli_str(a, "accel", NULL), cli_str(a, "weights", NULL),
                                        cli_str(a, "input", NULL), cli_str(a, "o", NULL),
                                        cli_str(a, "trace", NULL), &o, report ? stdout : NULL, err, sizeof err);
  fab_wmap_free(map);
  return st == FAB_OK ? EXIT_OK : cli_user_error("%s", err);
}

static const opt_spec sim_opts[] = {
    {"accel", OPT_VALUE, "CONFIG", "the accelerator present (default: the one compiled for)"},
    {"weights", OPT_VALUE, "FILE", "weights by state_dict name (.safetensors or .npy)"},
    CLI_WMAP_OPTS,
    {"input", OPT_VALUE, "FILE", "inputs by name (.safetensors or .npy)"},
    {"o", OPT_VALUE, "FILE", "write the outputs"},
    {"trace", OPT_VALUE, "FILE", "write a Chrome/Perfetto trace (one track per engine and queue)"},
    {"report", OPT_FLAG, NULL, "print cycles, latency, utilisation and off-chip traffic"},
    {"timing-only", OPT_FLAG, NULL, "the same cycle model without arithmetic (fast; no outputs)"},
    {"ops", OPT_FLAG, NULL,
     "the report and a line per op: cycles per queue, engine and butterfly-unit utilisation, off-chip "
     "bytes (build with --codegen op-map)"},
};

const cli_cmd cmd_sim = {
    "sim", "FILE.fbin [options]", "simulate an accelerator program: outputs, cycles, utilisation",
    "The simulator is functional (bit-exact fp16 or fp32 datapath) and cycle-level (queues,\n"
    "engines, DMA bandwidths, dependency tokens).  Without -o it prints the report; without\n"
    "-o, --weights and --input it runs the cycle model alone (--timing-only): the same cycles.\n"
    "Inputs with a leading sample axis [n, ...] (the same n for all, no limit but memory) run\n"
    "n samples one after another; the report then gives the batch's cycles and per-sample figures.\n"
    "--ops adds where the time goes, op by op, for a program built with\n"
    "`fabc build --target fpga --codegen op-map` (docs/fpga.md section 4).",
    sim_opts, sizeof sim_opts / sizeof *sim_opts, 1, 1, run_sim,
};

/* ---- fabc resources ---------------------------------------------------------- */

static int run_resources(const cli_args *a) {
  fab_fpga_config cfg;
  int cfg_rc = cli_fpga_config(a, &cfg);
  if (cfg_rc != EXIT_OK) return cfg_rc;
  fab_fpga_resources r;
  fab_fpga_resources_estimate(&cfg, &r);
  fab_fpga_resources_print(&r, &cfg, stdout);
  return r.fits || r.limit.lut == 0 ? EXIT_OK : EXIT_USER;
}

static const opt_spec res_opts[] = {
    {"accel", OPT_VALUE, "CONFIG", "the accelerator, a shipped configuration's NAME (vcu128-be40, ...) or a FILE.json"},
};

const cli_cmd cmd_resources = {
    "resources", "--accel CONFIG", "LUT/FF/DSP/BRAM of an accelerator and whether it fits its device",
    "Per-unit costs are stated in docs/fpga.md.  Exits 1 if the design does not fit.",
    res_opts, 1, 0, 0, run_resources,
};
