/* isa.h — the instruction set of the fabc butterfly accelerator.
 *
 * Modelled on Lua's lopcodes.h: every instruction is one fixed 128-bit
 * word; the layouts below are generated from isa.def (the single source
 * of opcodes and fields), and the access macros check their field.
 *
 * Word bits (bit 0 = least significant bit of word[0], bit 64 = bit 0 of
 * word[1]):
 *
 *   127                                                  16 15  11 10   6 5    0
 *   +------------------------------------------------------+------+------+------+
 *   |            format-specific fields (isa.def)           | sig  | wait |  op  |
 *   +------------------------------------------------------+------+------+------+
 *
 *  DMA (ld, st)
 *   127 126    107 106     87 86        55 54   42 41   29 28 22 21 20 19 18 17 16
 *   +--+---------+----------+-------------+-------+-------+-----+--+--+--+--+-----+
 *   |0 |  addr   |  stride  |     ext     | rows  |  len  | ne  |bk|br|tr|cx| buf |
 *   +--+---------+----------+-------------+-------+-------+-----+--+--+--+--+-----+
 *  GATH (gather)
 *   127 126 125   106 105      74 73       42 41   29 28   16
 *   +-----+---------+------------+----------+-------+-------+
 *   |  0  |  addr   |   table    |   ids    | count |   d   |
 *   +-----+---------+------------+----------+-------+-------+
 *  BE (bfly, fft, zero)
 *   127      84 83   64 63 62 61 58 57 54 53 52  40 39  27 26 23 22  16
 *   +----------+-------+--+--+-----+-----+--+------+------+-----+-----+
 *   |    0     |  cb   |ri|in| nst | ls  |bk| addr |nrows | logn| ne  |
 *   +----------+-------+--+--+-----+-----+--+------+------+-----+-----+
 *  MM (mm)
 *   127  116 115 114 102 101  89 88   76 75    56 55    36 35    16
 *   +------+---+-------+------+-------+--------+--------+--------+
 *   |  0   |tb |   n   |  k   |   m   |   c    |   b    |   a    |
 *   +------+---+-------+------+-------+--------+--------+--------+
 *  ATTN (attn, attns, attnm)
 *   127 126      95 94   82 81   69 68   56 55    36 35    16
 *   +--+----------+-------+-------+-------+--------+--------+
 *   |mk|scale f32 |  dh   |   t   |   s   |   o    |   q    |
 *   +--+----------+-------+-------+-------+--------+--------+
 *  PPU (ppu)
 *   127 121 120 119     88 87 86    67 66    47 46  34 33  21 20 16
 *   +------+--+----------+--+--------+--------+------+------+-----+
 *   |  0   |mk| p  f32   |bc|   b    |   a    | len  | rows | fn  |
 *   +------+--+----------+--+--------+--------+------+------+-----+
 *  MSK (amask, pmask)
 *   127   102 101    82 81    62 61 60   48 47           16
 *   +--------+--------+--------+--+-------+---------------+
 *   |   0    |   c0   |   r0   |cz|   n   |      ext      |
 *   +--------+--------+--------+--+-------+---------------+
 *  EWB (ldp, stp)
 *   127 122 121    102 101      70 69 68  56 55   43 42   30 29 26 25 19 18 16
 *   +------+--------+-----------+--+------+-------+-------+-----+-----+----+
 *   |  0   | stride |    ext    |bk| addr | rows  |  len  | lp  | ne  | fn |
 *   +------+--------+-----------+--+------+-------+-------+-----+-----+----+
 *  WBP (wbp)
 *   127 123 122       91 90    78 77        46 45   31 30   16
 *   +------+-----------+--------+------------+-------+-------+
 *   |  0   |  eps f32  |rstride |    res     |  gb   |  pb   |
 *   +------+-----------+--------+------------+-------+-------+
 *
 * Queues and dependency tokens: each opcode belongs to one of five queues
 * (LD, BE, ATT, PPU, ST), which execute concurrently, each in program
 * order.  `wait` bit Q pops one token from the channel Q -> own queue
 * before the instruction starts (blocking until one is there); `sig` bit
 * Q pushes one token into own -> Q when it completes.  A bit naming the
 * instruction's own queue is invalid.
 *
 * This header depends only on the C library and fab_tensor.h (status).
 */
#ifndef FAB_FPGA_ISA_H
#define FAB_FPGA_ISA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "fab_tensor.h"

#define FAB_FPGA_INSN_BYTES 16

typedef enum { FAB_Q_LD, FAB_Q_BE, FAB_Q_ATT, FAB_Q_PPU, FAB_Q_ST, FAB_Q_COUNT } fab_fpga_queue;
extern const char *const fab_fpga_queue_names[FAB_Q_COUNT]; /* "ld", "be", ... */

typedef enum {
#define FAB_FMT(name, desc) FAB_FMT_##name,
#include "isa.def"
#undef FAB_FMT
  FAB_FMT_COUNT
} fab_fpga_format;

typedef enum {
#define FAB_INSN(id, mn, fmt, q, desc) FAB_I_##id,
#include "isa.def"
#undef FAB_INSN
  FAB_I_COUNT
} fab_fpga_opcode;

/* Global field ids: FAB_F_<FMT>_<NAME>. */
typedef enum {
#define FAB_FIELD(fmt, name, key, lsb, w, kind, desc) FAB_F_##fmt##_##name,
#include "isa.def"
#undef FAB_FIELD
  FAB_F_COUNT
} fab_fpga_field;

typedef enum {
#define FAB_PPUFN(id, name, useb, desc) FAB_PPU_##id,
#include "isa.def"
#undef FAB_PPUFN
  FAB_PPU_COUNT
} fab_fpga_ppufn;

typedef enum {
#define FAB_WBFN(id, name, user, desc) FAB_WB_##id,
#include "isa.def"
#undef FAB_WBFN
  FAB_WB_COUNT
} fab_fpga_wbfn;

enum { FAB_BUF_BE = 0, FAB_BUF_CB = 1, FAB_BUF_VM = 2, FAB_BUF_PB = 3 };

typedef struct fab_fpga_fieldinfo {
  fab_fpga_format fmt;
  const char *key;
  int lsb, width;
  char kind; /* 'U' or 'F' */
  const char *desc;
} fab_fpga_fieldinfo;

typedef struct fab_fpga_opinfo {
  const char *mnemonic;
  fab_fpga_format fmt;
  fab_fpga_queue queue;
  const char *desc;
} fab_fpga_opinfo;

extern const fab_fpga_fieldinfo fab_fpga_fields[FAB_F_COUNT];
extern const fab_fpga_opinfo fab_fpga_ops[FAB_I_COUNT];
extern const char *const fab_fpga_format_names[FAB_FMT_COUNT];
extern const char *const fab_fpga_ppufn_names[FAB_PPU_COUNT];
extern const char *const fab_fpga_wbfn_names[FAB_WB_COUNT];
extern const bool fab_fpga_wbfn_residual[FAB_WB_COUNT]; /* reads the residual stream */

/* A decoded instruction: header plus every field value, indexed by the
 * global field id (only the format's own fields are meaningful). */
typedef struct fab_fpga_insn {
  fab_fpga_opcode op;
  unsigned wait, sig; /* 5-bit queue masks */
  uint64_t f[FAB_F_COUNT];
} fab_fpga_insn;

/* Checked field access (the lopcodes.h GETARG/SETARG idea): the field must
 * belong to the instruction's format, and a set value must fit its width;
 * a violation is a bug in the caller and goes to fab_fpga_isa_bug. */
#define FAB_GET(in, F) ((in)->f[fab_fpga_check_field((in), FAB_F_##F, __FILE__, __LINE__)])
#define FAB_SET(in, F, v) fab_fpga_set_field((in), FAB_F_##F, (uint64_t)(v), __FILE__, __LINE__)
int fab_fpga_check_field(const fab_fpga_insn *in, fab_fpga_field f, const char *file, int line);
void fab_fpga_set_field(fab_fpga_insn *in, fab_fpga_field f, uint64_t v, const char *file, int line);
/* fp32 fields (bit patterns) */
float fab_fpga_bits_f32(uint64_t bits);
uint64_t fab_fpga_f32_bits(float f);

/* Formats the message into err (when err and errlen are set) and returns
 * st: `return fab_fpga_fail(err, errlen, FAB_E_FORMAT, "...", ...)`.  The
 * one error helper of the accelerator's readers, writers and simulator. */
fab_status fab_fpga_fail(char *err, size_t errlen, fab_status st, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* A fresh instruction of opcode op with all fields 0. */
fab_fpga_insn fab_fpga_insn_make(fab_fpga_opcode op);

/* Encoding.  encode never fails for an instruction built with FAB_SET
 * (fields already fit).  decode rejects an unknown opcode, reserved bits
 * that are not zero, and wait/sig bits naming the own queue. */
void fab_fpga_encode(const fab_fpga_insn *in, uint8_t out[FAB_FPGA_INSN_BYTES]);
fab_status fab_fpga_decode(const uint8_t in[FAB_FPGA_INSN_BYTES], fab_fpga_insn *out, char *err,
                           size_t errlen);

/* Text form.  One instruction per line:
 *   mnemonic key=value ... [wait=be|ppu] [sig=st]
 * disassemble writes exactly what assemble reads (round trip).  `comment`
 * (may be NULL) is appended after "; ". */
void fab_fpga_disasm(const fab_fpga_insn *in, char *buf, size_t len);
/* Parses one line (comments after ';' ignored).  Returns FAB_OK,
 * or FAB_E_FORMAT with a message naming the column's problem.  An empty
 * line sets *empty = true. */
fab_status fab_fpga_asm_line(const char *line, fab_fpga_insn *out, bool *empty, char *err,
                             size_t errlen);

/* Markdown tables of formats, fields, opcodes and PPU functions for
 * docs/isa.md, generated from isa.def. */
void fab_fpga_isa_doc(FILE *out);

/* ---- the engine buffer bank mapping (docs/fpga.md) --------------------
 * An engine with P_bu butterfly units has B = 2*P_bu RAMs per bank.
 * Element i of a row lives in RAM fab_fpga_bank(i) at row i / B:
 *   bank(i) = (i mod B) XOR (parity(i / B) * B/2)
 * Every radix-2 stage of every power-of-two length reads its 2*P_bu
 * operands of a cycle from 2*P_bu distinct RAMs (proof in docs/fpga.md,
 * exhaustive test in tests/fpga). */
unsigned fab_fpga_bank(uint64_t i, unsigned pbu);
/* The authors' skew (i mod 8 + popcount(bits 3..10)) mod 8, for tests. */
unsigned fab_fpga_bank_authors(uint64_t i);
/* The 2*pbu element indices butterfly-processed in cycle `cyc` of a stage
 * with log2 stride `ls` on a row of length 2^logn (torch_butterfly order:
 * butterflies pbu*cyc .. pbu*cyc + pbu-1). */
void fab_fpga_cycle_operands(unsigned logn, unsigned ls, uint64_t cyc, unsigned pbu,
                             uint64_t *idx);

#endif /* FAB_FPGA_ISA_H */
