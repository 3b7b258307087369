/* test_model.c — backends/fpga/model.c against the authors' own simulator
 * (SamsungLabs/Butterfly_Acc simulator_bfly.py, run unmodified by
 * scripts/fpga/authors_sim.sh; its numbers are committed in
 * tests/fpga/data/authors_sim.txt).
 *
 * 1. The table (FABNet-Base / -Large, every layer FBfly,
 *    vcu128-be120, 200 MHz, efficiency 0.85), literally.
 * 2. Every run of the reference file: model.c's functions composed the way
 *    the authors compose one layer (Fourier mix, fc1, fc2), within 1 %
 *    (they agree exactly).
 * 3. The programs fabc compiles: examples/fabnet_{base,large}.fab for the
 *    fabc configurations of the reference file, whose model_cycles (summed
 *    per op by the code generator) must be the authors' numbers. */
#include "fpga_example.h"

typedef struct ref {
  char config[32], board[16], mem[8], version[8];
  int p_be, seq, layers;
  double cycles, ms;
} ref;

static uint64_t pow2ceil(uint64_t n) {
  uint64_t p = 1;
  while (p < n) p <<= 1;
  return p;
}

/* The accelerator the artifact simulates for a board / memory / engines
 * (simulator_bfly.py): P_bu 4, fp16, the memory's stream widths. */
static fab_fpga_config artifact_config(const ref *r) {
  fab_fpga_config c = test_config("vcu128-be40");
  bool hbm = !strcmp(r->mem, "hbm");
  c.p_be = r->p_be, c.p_bu = 4, c.fp16 = 1, c.clock_mhz = 200, c.efficiency = 0.85;
  c.bw_in = hbm ? 2048 : 64, c.bw_coef = hbm ? 256 : 64, c.bw_out = hbm ? 2048 : 128;
  return c;
}

/* One FABNet-BERT layer as the authors run it: FFT, FFT, fc1, fc2. */
static uint64_t model_layer(const fab_fpga_config *c, const ref *r) {
  uint64_t d = pow2ceil(strcmp(r->version, "base") ? 1024 : 768);
  uint64_t h = pow2ceil(strcmp(r->version, "base") ? 4096 : 3072), s = (uint64_t)r->seq;
  return fab_fpga_model_fft_layer(c, s, d) + fab_fpga_model_bfly_layer(c, s, d, h / d) +
         fab_fpga_model_bfly_layer(c, s, h, 1);
}

static int read_refs(ref *rs, int cap) {
  char path[512], line[512];
  snprintf(path, sizeof path, "%s/tests/fpga/data/authors_sim.txt", FAB_ROOT);
  FILE *f = fopen(path, "r");
  if (!f) {
    fprintf(stderr, "cannot open %s\n", path);
    exit(2);
  }
  int n = 0;
  while (fgets(line, sizeof line, f) && n < cap) {
    ref *r = &rs[n];
    if (line[0] == '#') continue;
    if (sscanf(line, "%31s %15s %7s %d %7s %d %d %lf %lf", r->config, r->board, r->mem, &r->p_be, r->version,
               &r->seq, &r->layers, &r->cycles, &r->ms) == 9)
      n++;
    else
      CHECK(0, "malformed reference line: %s", line);
  }
  fclose(f);
  return n;
}

static double rel(double a, double b) { return fabs(a - b) / b; }

/* model_cycles of examples/fabnet_<version>.fab compiled for `cfg` at `seq`
 * with `layers` layers (0: the example's own); 0 on failure. */
static uint64_t compiled_model_cycles(const char *version, const char *cfg, int seq, int layers) {
  fab_fpga_config c;
  fab_fpga_program *p = fpga_compile_example(version, cfg, seq, layers, &c);
  uint64_t cyc = p ? p->model_cycles : 0;
  fab_fpga_program_free(p);
  return cyc;
}

static const ref *find(const ref *rs, int n, const char *config, const char *version, int seq) {
  for (int i = 0; i < n; i++)
    if (!strcmp(rs[i].config, config) && !strcmp(rs[i].version, version) && rs[i].seq == seq) return &rs[i];
  return NULL;
}

int main(void) {
  static ref rs[512];
  int n = read_refs(rs, 512);
  CHECK(n >= 180, "only %d reference runs", n);

  /* 1. the table, as printed by the artifact (ms) */
  static const int seqs[5] = {128, 256, 512, 768, 1024};
  static const double table[2][5] = {{1.9968, 3.1985, 5.6019, 8.0053, 10.4087},
                                     {3.9936, 6.3970, 11.2038, 16.0105, 20.8173}};
  for (int v = 0; v < 2; v++)
    for (int i = 0; i < 5; i++) {
      const ref *r = find(rs, n, "vcu128-be120", v ? "large" : "base", seqs[i]);
      CHECK(r && fabs(r->ms - table[v][i]) < 6e-5, "reference file disagrees with the issue's table");
      if (!r) continue;
      fab_fpga_config c = artifact_config(r);
      double ms = (double)model_layer(&c, r) * r->layers / (c.clock_mhz * 1e3) / c.efficiency;
      CHECK(fabs(ms - table[v][i]) < 6e-5, "%s seq %d: model %.4f ms, authors %.4f ms", r->version, r->seq, ms,
            table[v][i]);
    }

  /* 2. every reference run through model.c's functions */
  double worst = 0;
  for (int i = 0; i < n; i++) {
    fab_fpga_config c = artifact_config(&rs[i]);
    double m = (double)model_layer(&c, &rs[i]), e = rel(m, rs[i].cycles);
    double ms = m * rs[i].layers / (c.clock_mhz * 1e3) / c.efficiency;
    CHECK(e <= 0.01 && rel(ms, rs[i].ms) <= 0.01, "%s %s %s be%d %s seq %d: model %.0f, authors %.0f cycles",
          rs[i].config, rs[i].board, rs[i].mem, rs[i].p_be, rs[i].version, rs[i].seq, m, rs[i].cycles);
    if (e > worst) worst = e;
  }
  printf("model.c against the authors' simulator: %d runs, max relative error %.2g\n", n, worst);

  /* 3. what fabc's programs carry: the whole example on the issue's
   * configuration, one layer (scaled) elsewhere to keep the test short */
  double worst_prog = 0;
  int nprog = 0;
  for (int i = 0; i < n; i++) {
    const ref *r = &rs[i];
    if (!strcmp(r->config, "-") || r->seq < 64 || r->seq > 2048) continue;
    bool whole = !strcmp(r->config, "vcu128-be120") && r->seq >= 128 && r->seq <= 1024;
    int layers = whole ? 0 : 1;
    uint64_t cyc = compiled_model_cycles(r->version, r->config, r->seq, layers);
    double want = r->cycles * (whole ? r->layers : 1), e = cyc ? rel((double)cyc, want) : 1;
    CHECK(e <= 0.01, "fabc %s %s seq %d: program's model %llu cycles, authors %.0f", r->config, r->version, r->seq,
          (unsigned long long)cyc, want);
    if (e > worst_prog) worst_prog = e;
    nprog++;
  }
  printf("fabc programs' authors' model against the authors' simulator: %d programs, max relative error %.2g\n",
         nprog, worst_prog);
  printf("%s\n", g_fail ? "FAILED" : "ok");
  return g_fail ? 1 : 0;
}
