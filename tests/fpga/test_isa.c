/* test_isa.c — every opcode: random fields encode/decode/disassemble/
 * assemble round trip; decoder rejections; docs/isa.md matches isa.def. */
#include "fpga_test.h"

static uint64_t rnd(fab_rng *r, int width) {
  uint64_t v = fab_rng_next(r);
  return width >= 64 ? v : v & ((1ull << width) - 1);
}

int main(int argc, char **argv) {
  if (argc > 1 && !strcmp(argv[1], "--print-doc")) {
    fab_fpga_isa_doc(stdout);
    return 0;
  }
  fab_rng r;
  fab_rng_seed(&r, 42);
  int trips = 0;
  for (int op = 0; op < FAB_I_COUNT; op++)
    for (int k = 0; k < 500; k++) {
      fab_fpga_insn in = fab_fpga_insn_make((fab_fpga_opcode)op);
      unsigned own = 1u << fab_fpga_ops[op].queue;
      in.wait = (unsigned)rnd(&r, 5) & ~own;
      in.sig = (unsigned)rnd(&r, 5) & ~own;
      for (int f = 0; f < FAB_F_COUNT; f++) {
        if (fab_fpga_fields[f].fmt != fab_fpga_ops[op].fmt) continue;
        uint64_t v = rnd(&r, fab_fpga_fields[f].width);
        if (fab_fpga_fields[f].kind == 'F') v = fab_fpga_f32_bits((float)(fab_rng_normal(&r) * 100));
        if (f == FAB_F_PPU_FN) v %= FAB_PPU_COUNT;
        in.f[f] = v;
      }
      uint8_t w[16], w2[16];
      fab_fpga_encode(&in, w);
      fab_fpga_insn d;
      char err[200];
      CHECK(fab_fpga_decode(w, &d, err, sizeof err) == FAB_OK, "decode %s: %s", fab_fpga_ops[op].mnemonic, err);
      CHECK(!memcmp(&d, &in, sizeof d), "decode differs for %s", fab_fpga_ops[op].mnemonic);
      char txt[512];
      fab_fpga_disasm(&in, txt, sizeof txt);
      fab_fpga_insn a;
      bool empty;
      CHECK(fab_fpga_asm_line(txt, &a, &empty, err, sizeof err) == FAB_OK && !empty, "asm '%s': %s", txt, err);
      fab_fpga_encode(&a, w2);
      CHECK(!memcmp(w, w2, 16), "asm round trip differs: %s", txt);
      trips++;
    }
  /* rejections */
  uint8_t w[16] = {0};
  fab_fpga_insn d;
  char err[200];
  w[0] = 63;
  CHECK(fab_fpga_decode(w, &d, err, sizeof err) != FAB_OK && strstr(err, "opcode"), "bad opcode accepted");
  for (int op = 0; op < FAB_I_COUNT; op++) {
    fab_fpga_insn in = fab_fpga_insn_make((fab_fpga_opcode)op);
    fab_fpga_encode(&in, w);
    /* the highest bit no field of the format covers (attn's mk, the
     * DMA's cp and the BE's src took 127) */
    int bit = 127;
    for (bool covered = true; covered && bit > 15; bit -= covered) {
      covered = false;
      for (int k = 0; k < FAB_F_COUNT; k++)
        if (fab_fpga_fields[k].fmt == fab_fpga_ops[op].fmt && bit >= fab_fpga_fields[k].lsb &&
            bit < fab_fpga_fields[k].lsb + fab_fpga_fields[k].width)
          covered = true;
    }
    if (bit > 15) { /* ATTN, DMA and BE have none left */
      w[bit / 8] |= (uint8_t)(1u << (bit % 8));
      CHECK(fab_fpga_decode(w, &d, err, sizeof err) != FAB_OK && strstr(err, "reserved"),
            "reserved bit %d accepted (%s)", bit, fab_fpga_ops[op].mnemonic);
    } else {
      CHECK(fab_fpga_ops[op].fmt == FAB_FMT_ATTN || fab_fpga_ops[op].fmt == FAB_FMT_DMA || fab_fpga_ops[op].fmt == FAB_FMT_BE,
            "no reserved bit in the format of %s", fab_fpga_ops[op].mnemonic);
    }
    in.wait = 1u << fab_fpga_ops[op].queue;
    fab_fpga_encode(&in, w);
    CHECK(fab_fpga_decode(w, &d, err, sizeof err) != FAB_OK, "own-queue wait accepted (%s)", fab_fpga_ops[op].mnemonic);
  }
  fab_fpga_insn a;
  bool empty;
  CHECK(fab_fpga_asm_line("ld len=9999999", &a, &empty, err, sizeof err) != FAB_OK, "overflowing field accepted");
  CHECK(fab_fpga_asm_line("frob x=1", &a, &empty, err, sizeof err) != FAB_OK, "unknown mnemonic accepted");
  CHECK(fab_fpga_asm_line("bfly a=1", &a, &empty, err, sizeof err) != FAB_OK, "foreign operand accepted");
  /* docs/isa.md carries the generated tables verbatim */
  char *gen = NULL;
  size_t glen = 0;
  FILE *m = open_memstream(&gen, &glen);
  fab_fpga_isa_doc(m);
  fclose(m);
  char path[512];
  snprintf(path, sizeof path, "%s/docs/isa.md", FAB_ROOT);
  FILE *f = fopen(path, "rb");
  char *doc = calloc(1, 1 << 20);
  size_t dn = f ? fread(doc, 1, (1 << 20) - 1, f) : 0;
  if (f) fclose(f);
  (void)dn;
  CHECK(strstr(doc, gen) != NULL, "docs/isa.md does not contain the tables generated from isa.def "
                                  "(regenerate with fab_fpga_isa_doc)");
  free(doc);
  free(gen);
  printf("isa: %d round trips, %d opcodes\n", trips, FAB_I_COUNT);
  return g_fail ? 1 : 0;
}
