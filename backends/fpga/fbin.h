/* fbin.h — accelerator configurations and compiled programs (.fbin).
 *
 * Part of fab_fpga_isa: depends only on the runtime (status, tensors),
 * jansson and fab_datadir (where the shipped configurations are), never on
 * the compiler, so the simulator can load programs
 * without the IR.  Every reader treats its input as hostile: sizes,
 * offsets, field ranges and the checksum are checked, and failures return
 * a fab_status with a one-line message in err.
 */
#ifndef FAB_FPGA_FBIN_H
#define FAB_FPGA_FBIN_H

#include "fab_util.h"
#include "isa.h"

/* ---- configuration (configs/NAME.json; docs/isa.md lists the fields) ---- */
typedef struct fab_fpga_config {
  char name[64];
  char device[32];     /* "xcvu37p" | "xc7z045" | "generic" */
  double clock_mhz;    /* (0, 1000] */
  int p_be;            /* butterfly engines, 1..127 */
  int p_bu;            /* butterfly units per engine, power of two 1..64 */
  int be_rams;         /* RAMs per engine bank; must equal 2*p_bu */
  int be_depth;        /* words per RAM, power of two 16..65536 */
  int cb_depth;        /* coefficient buffer words, >= 2*(max n) */
  int att_mults;       /* attention-processor multipliers, 1..65536 */
  int exp_units;       /* softmax exponent units, 1..1024 */
  int ppu_lanes;       /* post-processing lanes, 1..1024 */
  int wb_share;        /* engines per write-back lane, 1..FAB_FPGA_MAX_WB_SHARE;
                        * optional in the JSON, FAB_FPGA_WB_SHARE by default */
  int vm_words;        /* vector memory words (ATT + PPU), 1K..1M */
  int bw_in, bw_coef, bw_out; /* off-chip bits per cycle, 8..65536 */
  int fp16;            /* number format: 1 fp16, 0 fp32 */
  double efficiency;   /* implementation efficiency (0, 1] */
} fab_fpga_config;

/* Words per engine bank (be_rams * be_depth): the longest row. */
int fab_fpga_bank_words(const fab_fpga_config *c);
/* Words of the write-back parameter buffer (PB): two sets (ping-pong) of
 * bias, gamma and beta of the longest row, 6 * bank words. */
int fab_fpga_pb_words(const fab_fpga_config *c);
/* Engines sharing one write-back lane (docs/fpga.md §1, §6): an stp's
 * serial port runs at 1/wb_share element per cycle per engine.  A
 * configuration without the field has FAB_FPGA_WB_SHARE (the lanes every
 * .fbin before version 6 was compiled for). */
#define FAB_FPGA_WB_SHARE 2
#define FAB_FPGA_MAX_WB_SHARE 8
/* Write-back lanes of the configuration: ceil(p_be / wb_share). */
int fab_fpga_wb_lanes(const fab_fpga_config *c);
/* Bits of a data element on the off-chip streams: 16 (fp16) or 32. */
int fab_fpga_elem_bits(const fab_fpga_config *c);
/* Reads a configuration file.  A `path` without a slash that names no file
 * is a shipped configuration: NAME or NAME.json in fabc's data folder
 * (configs/ of the source tree or <prefix>/share/fabc/configs); the error
 * for an unknown one lists the shipped names. */
fab_status fab_fpga_config_load(const char *path, fab_fpga_config *c, char *err, size_t errlen);
fab_status fab_fpga_config_parse(const char *json, size_t len, const char *what,
                                 fab_fpga_config *c, char *err, size_t errlen);
/* Range / power-of-two checks; the message names the field. */
fab_status fab_fpga_config_validate(const fab_fpga_config *c, char *err, size_t errlen);
/* Canonical JSON (malloc'd; NULL if out of memory). */
char *fab_fpga_config_to_json(const fab_fpga_config *c);
/* The first .fbin version whose CONF section can carry c: the newest of
 * the optional fields it writes (those not at their default), 1 if none;
 * *field (if field is not NULL) names that field, else is left as it is. */
uint32_t fab_fpga_config_fbin_version(const fab_fpga_config *c, const char **field);
/* True if equal; otherwise names the first differing field in `what`. */
bool fab_fpga_config_equal(const fab_fpga_config *a, const fab_fpga_config *b, char *what,
                           size_t len);

/* ---- programs ---------------------------------------------------------- */
typedef enum { FAB_FT_WEIGHT, FAB_FT_INPUT, FAB_FT_OUTPUT, FAB_FT_CONST } fab_fpga_tkind;
typedef enum { FAB_FD_F32, FAB_FD_I32, FAB_FD_C64 } fab_fpga_tdtype;

/* One off-chip tensor: a weight (bound by state_dict name), an input, an
 * output (read back after the run), or a constant table the compiler
 * generated, whose contents its name defines (fab_fpga_const_fill; the
 * loader materialises it, so the .fbin stays small).  Everything else in
 * the memory is the arena of intermediates, zero at start. */
typedef struct fab_fpga_tensor {
  char *name;
  fab_fpga_tkind kind;
  fab_fpga_tdtype dtype;
  int rank;
  int64_t dims[FAB_TENSOR_MAX_RANK];
  uint64_t addr;  /* word address */
  uint64_t words; /* numel (x2 for c64) */
} fab_fpga_tensor;

typedef struct fab_fpga_program {
  fab_fpga_config cfg;  /* the configuration it was compiled for */
  uint8_t *code;        /* ninsn * 16 bytes */
  size_t ninsn;
  fab_fpga_tensor *tensors;
  int ntensors, tensors_cap;
  fab_index by_name;      /* tensors by (name, kind) */
  fab_index gather_index; /* f32 rank-2 weights by address (gather tables) */
  uint64_t mem_words;     /* off-chip memory the program uses */
  uint64_t model_cycles;  /* the authors' analytical model for its butterfly/FFT layers */
  /* The op map (optional; `--codegen op-map`, .fbin version 5): a label per
   * op of the compiled IR ("%12 add.layernorm <- bfly.stages
   * layers.0.ffn.fc2"), and per instruction the op that emitted it
   * (FAB_FPGA_NO_OP: none).  NULL / 0 without; `fabc sim --ops` reads it. */
  char **op_labels;
  uint32_t nops;
  uint32_t *insn_op;
} fab_fpga_program;
#define FAB_FPGA_NO_OP UINT32_MAX
/* Attaches an op map (labels copied; insn_op[ninsn] copied); replaces one
 * present.  FAB_E_NOMEM. */
fab_status fab_fpga_program_set_op_map(fab_fpga_program *p, uint32_t nops, const char *const *labels,
                                       const uint32_t *insn_op);

/* .fbin versions: 2 added the mask instructions (amask, pmask and the mk
 * bits of attn/attns/attnm and ppu); 3 the engines' write-back (ldp, stp,
 * wbp and loads into the parameter buffer); 4 mixed-radix FFTs (fftq and
 * digit-reversing loads, brev with a len that is not a power of two).  A
 * program is written as the lowest version that holds it, byte for byte as
 * before; readers take all four and reject a file whose version is older than an instruction in
 * it (a clear error naming the version it needs). */
/* 5: the optional op map (section OPS) and VM loads through the
 * coefficient port (ld cp=1); a program without either is written as
 * before. */
/* 6: bfly with an out-of-place first stage (os, sb, src: an FFN's fc1
 * stacks read one loaded copy of their rows), stp keeping its results
 * in the bank (keep: fc1's first wave reads LN1's results there), and a
 * configuration whose write-back lanes are not the default (config field
 * wb_share, written only when it is not FAB_FPGA_WB_SHARE); every other
 * program is written as before. */
#define FAB_FBIN_VERSION 6
#define FAB_FBIN_MAX_INSNS ((size_t)1 << 24)
#define FAB_FBIN_MAX_MEM_WORDS ((uint64_t)1 << 32)

fab_fpga_program *fab_fpga_program_new(const fab_fpga_config *cfg);
void fab_fpga_program_free(fab_fpga_program *p);
/* Appends an encoded instruction / a tensor entry (name copied). */
fab_status fab_fpga_program_push(fab_fpga_program *p, const fab_fpga_insn *in);
fab_status fab_fpga_program_add_tensor(fab_fpga_program *p, const char *name, fab_fpga_tkind kind,
                                       fab_fpga_tdtype dt, int rank, const int64_t *dims,
                                       uint64_t addr);
/* Room for n tensors (a reader that knows the count); FAB_E_NOMEM. */
fab_status fab_fpga_program_reserve_tensors(fab_fpga_program *p, int n);
/* The first tensor named `name` of kind `kind`, or -1 (O(1) expected). */
int fab_fpga_program_find_tensor(const fab_fpga_program *p, const char *name, fab_fpga_tkind kind);
/* The first f32 [V, d] weight at word address `addr` (what a gather
 * reads), or NULL (O(1) expected). */
const fab_fpga_tensor *fab_fpga_program_gather_table(const fab_fpga_program *p, uint64_t addr,
                                                     uint64_t d);

/* Constant tables (kind FAB_FT_CONST, f32, rank 2), W[j, k] = exp(-2 pi i j k / n)
 * as real matrices for a DFT by matrix product (angles reduced mod n,
 * evaluated in double, rounded to f32):
 *   "dft.r.<n>" [n, 2n]:  real row x -> interleaved X:  T[j, 2k] = cos, T[j, 2k+1] = -sin
 *   "dft.c.<n>" [2n, 2n]: interleaved complex row -> interleaved X: the 2x2 block of
 *                         (j, k) is [[cos, -sin], [sin, cos]]
 * Writes t->words floats to dst; FAB_E_FORMAT (naming the tensor) for an
 * unknown name or a shape that does not match it. */
fab_status fab_fpga_const_fill(const fab_fpga_tensor *t, float *dst, char *err, size_t errlen);
fab_status fab_fpga_const_check(const fab_fpga_tensor *t, char *err, size_t errlen);

/* Static check of a whole program against its configuration: every word
 * decodes, every field is in range, every buffer and off-chip access is
 * inside its memory, stores never write weights or inputs, gathers name a
 * weight table.  The message names the instruction index. */
fab_status fab_fpga_program_check(const fab_fpga_program *p, char *err, size_t errlen);
/* Does the instruction need .fbin version 2 (a mask instruction or bit)? */
bool fab_fpga_insn_uses_masks(const fab_fpga_insn *in);
/* The engines' radix-q stages (fftq) and digit-reversing loads take odd
 * radices up to this (docs/fpga.md §1). */
#define FAB_FPGA_MAX_RADIX 15
/* Can a load digit-reverse a row of len (2^k times odd primes <= 15)? */
bool fab_fpga_digitrev_ok(uint64_t len);
/* dst[i] = the position where element i of a digit-reversed row of len
 * lands (element digitrev(p) at p, ir/fft.c's definition). */
void fab_fpga_digitrev_table(uint64_t len, uint32_t *dst);
/* Does the instruction move data on the coefficient (weight) port: a
 * load into the CB, or a VM load with cp = 1? */
bool fab_fpga_insn_coef_port(const fab_fpga_insn *in);
/* Does the instruction write the engines' banks through their serial
 * write port: a load into the engine buffers (ld buf=0, ldp) or an stp
 * that keeps its results (keep = 1)?  One at a time (docs/fpga.md §4). */
bool fab_fpga_insn_wport(const fab_fpga_insn *in);
/* The .fbin version an instruction needs: 6 an out-of-place bfly or a keeping stp, 5 a VM load through the coefficient port, 4 mixed radix, 3 write-back,
 * 2 masks, else 1. */
uint32_t fab_fpga_insn_version(const fab_fpga_insn *in);

/* .fbin: "FABFBIN\0", version, section table (CONF json, CODE, TENS,
 * META), CRC-32 of everything before it. */
fab_status fab_fpga_fbin_to_mem(const fab_fpga_program *p, uint8_t **out, size_t *len, char *err,
                                size_t errlen);
fab_status fab_fpga_fbin_write(const char *path, const fab_fpga_program *p, char *err,
                               size_t errlen);
/* Reads and fully checks (including fab_fpga_program_check). */
fab_status fab_fpga_fbin_read_mem(const uint8_t *buf, size_t len, fab_fpga_program **out,
                                  char *err, size_t errlen);
fab_status fab_fpga_fbin_read(const char *path, fab_fpga_program **out, char *err, size_t errlen);
uint32_t fab_fpga_crc32(const uint8_t *buf, size_t len);

/* Text form (`fabc objdump`): directives (.config, .mem, .model_cycles,
 * .tensor) then one line per instruction: index, hex word, disassembly.
 * fab_fpga_assemble reads that text back (`fabc as`); the round trip is
 * exact. */
void fab_fpga_objdump(const fab_fpga_program *p, FILE *out);
fab_status fab_fpga_assemble(const char *text, size_t len, fab_fpga_program **out, char *err,
                             size_t errlen);

/* ---- the timing model of one instruction (cycles.c, docs/fpga.md §8) ---- */
/* Cycles the instruction occupies its queue (DMA: its stream or the
 * engines' serial ports, whichever is slower). */
uint64_t fab_fpga_insn_cycles(const fab_fpga_config *c, const fab_fpga_insn *in);
/* The radix-2 butterflies an engine instruction does (bfly, fft), or the
 * equivalent in products (fftq); 0 for the others. */
uint64_t fab_fpga_insn_butterflies(const fab_fpga_insn *in);
/* Off-chip bits an ld / st / gather moves (0 for other opcodes). */
uint64_t fab_fpga_insn_bits(const fab_fpga_config *c, const fab_fpga_insn *in);

/* ---- the authors' performance model (model.c; docs/fpga.md section 5) -- */
/* Their simulator's accounting (SamsungLabs/Butterfly_Acc, run_bfly and
 * run_fft), reproduced with its simplifications.  Lengths are padded to
 * powers of two. */
/* Butterfly layer over `rows` rows of length n, `nstacks` passes per row
 * (expansion; padded to a power of two as their FFN width is). */
uint64_t fab_fpga_model_bfly_layer(const fab_fpga_config *c, uint64_t rows, uint64_t n,
                                   uint64_t nstacks);
/* One FFT pass over `rows` rows of length n; real_in / real_out: the data
 * read / written is real (one word per element), else complex (two). */
uint64_t fab_fpga_model_fft_pass(const fab_fpga_config *c, uint64_t rows, uint64_t n, bool real_in,
                                 bool real_out);
/* The FFT along the middle axis (length len) of an [outer, len, inner]
 * tensor as the authors charge it: along the last axis (inner 1) their
 * first pass; along another axis their second pass, which is again an
 * FFT of the last axis' length (inner) over the outer * len rows. */
uint64_t fab_fpga_model_fft_axis(const fab_fpga_config *c, uint64_t outer, uint64_t len, uint64_t inner,
                                 bool real_in, bool real_out);
/* Their Fourier layer (Re(FFT2)) over an s x d input: two d-point passes
 * over s rows, real -> complex -> real. */
uint64_t fab_fpga_model_fft_layer(const fab_fpga_config *c, uint64_t s, uint64_t d);

#endif /* FAB_FPGA_FBIN_H */
