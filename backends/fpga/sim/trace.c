/* trace.c — Chrome trace JSON (chrome://tracing, Perfetto): one track per
 * queue plus one per engine; times in microseconds at the
 * configured clock. */
#include "fab_out.h"
#include "sim.h"

#include <stdlib.h>
#include <string.h>

fab_status fab_fpga_trace_write(const char *path, const fab_fpga_program *p,
                                const fab_fpga_event *ev, size_t n, char *err, size_t errlen) {
  fab_out *o = fab_out_open(path, err, errlen);
  if (!o) return FAB_E_IO;
  FILE *f = fab_out_file(o);
  if (!f) return fab_out_commit(o, err, errlen); /* reports why */
  static const char *tracks[] = {"DMA load", "butterfly engines (queue)", "attention processor",
                                 "post-processing", "DMA store"};
  double us = 1.0 / p->cfg.clock_mhz;
  fprintf(f, "{\"traceEvents\":[\n");
  for (int t = 0; t < 5 + p->cfg.p_be; t++) {
    char nm[32];
    if (t >= 5) snprintf(nm, sizeof nm, "engine %d", t - 5);
    fprintf(f, "{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":0,\"tid\":%d,\"args\":{\"name\":\"%s\"}},\n", t,
            t < 5 ? tracks[t] : nm);
  }
  for (size_t i = 0; i < n; i++) {
    fab_fpga_insn in;
    char txt[256] = "?";
    if (fab_fpga_decode(p->code + (size_t)ev[i].insn * FAB_FPGA_INSN_BYTES, &in, NULL, 0) == FAB_OK)
      snprintf(txt, sizeof txt, "%s", fab_fpga_ops[in.op].mnemonic);
    fprintf(f, "{\"name\":\"%s\",\"ph\":\"X\",\"pid\":0,\"tid\":%d,\"ts\":%.4f,\"dur\":%.4f,\"args\":{\"insn\":%u}}%s\n",
            txt, ev[i].track, (double)ev[i].start * us, (double)(ev[i].end - ev[i].start) * us, ev[i].insn,
            i + 1 < n ? "," : "");
  }
  fprintf(f, "]}\n");
  return fab_out_commit(o, err, errlen);
}
