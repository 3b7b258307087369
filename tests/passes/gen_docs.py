#!/usr/bin/env python3
"""gen_docs.py — writes docs/passes.md from the pass table's contracts, the
.fir examples of tests/passes (before) and passes-opt's output (after), and
the memory-plan table of passes-examples.

  python3 tests/passes/gen_docs.py BUILD_DIR > docs/passes.md
"""
import os
import shlex
import subprocess
import sys

build = sys.argv[1]
here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(os.path.dirname(here))
opt = os.path.join(build, "tests/passes/passes-opt")
examples = os.path.join(build, "tests/passes/passes-examples")


def ir_of(path):
    return "\n".join(l for l in open(path).read().splitlines() if not l.startswith("//")).strip()


def run_line(path):
    first = open(path).readline()
    args = first.split("passes-opt %s ", 1)[1].rsplit(" | FileCheck", 1)[0]
    return shlex.split(args)


def after(path, args=None):
    args = args or run_line(path)
    out = subprocess.run([opt, path] + args, capture_output=True, text=True, check=True).stdout
    return out.strip()


def func_body(text):
    lines = text.splitlines()
    start = next(i for i, l in enumerate(lines) if l.startswith("func @"))
    return "\n".join(lines[start:])


def show(fir, note, args=None):
    path = os.path.join(here, fir)
    a = args or run_line(path)
    print(note)
    print()
    print("Before (`tests/passes/%s`):" % fir)
    print()
    print("```")
    print(func_body(ir_of(path)))
    print("```")
    print()
    print("After `passes-opt %s %s`:" % (fir, " ".join(a)))
    print()
    print("```")
    print(func_body(after(path, a)))
    print("```")
    print()


print(open(os.path.join(here, "docs_intro.md")).read().rstrip())
print()
sections = [
    ("canonicalize", "canonicalize.fir", None),
    ("lower-bfly", "lower_bfly.fir", None),
    ("lower-fourier", "lower_fourier.fir", None),
    ("lower-fourier(seq-first=1)", "lower_fourier_seq_first.fir", None),
    ("lower-bluestein", "lower_bluestein.fir", None),
    ("lower-masked-mean", "lower_masked_mean.fir", None),
    ("lower-mha", "lower_mha.fir", None),
    ("lower-mha(blocked=0)", "lower_mha_unfused.fir", None),
    ("fuse-stages", "fuse_stages.fir", None),
    ("fuse-elementwise", "fuse_elementwise.fir", None),
    ("fuse-elementwise (FFT real part)", "fuse_fft_real.fir", None),
    ("tile", "tile.fir", None),
    ("memplan", "memplan.fir", None),
    ("attention-block", "attention_block.fir", None),
    ("cpu-chain-bfly", "cpu_chain_bfly.fir", None),
    ("cpu-chain-bfly(chain=0,group=2)", "cpu_chain_bfly_off.fir", None),
    ("cpu-fold-fft-loads", "cpu_fold_fft_loads.fir", None),
    ("cpu-fold-fft-loads (moving a result)", "cpu_fold_fft_loads_move.fir", None),
    ("cpu-fold-fft-loads(move=0) (memory plan refuses)", "cpu_fold_fft_loads_slots.fir", None),
    ("cpu-fold-fft-loads (a user works in place)", "cpu_fold_fft_loads_move_refused.fir", None),
    ("cpu-fold-embed", "cpu_fold_embed.fir", None),
    ("cpu-fuse-ffn", "cpu_fuse_ffn.fir", None),
    ("cpu-fuse-ffn (a value inside is read elsewhere)", "cpu_fuse_ffn_refused.fir", None),
    ("cpu-fuse-ffn (the block's input norm)", "cpu_fuse_ffn_norm_in.fir", None),
    ("fpga-absorb", "fpga_absorb.fir", None),
    ("fpga-absorb(loads=0,chain=2)", "fpga_absorb_options.fir", None),
    ("fpga-absorb (the engines' write-back)", "fpga_absorb_wb.fir", None),
    ("fpga-absorb(wb=0)", "fpga_absorb_wb_off.fir", None),
    ("fpga-absorb (the Fourier mix's residual and LN1)", "fpga_absorb_fft_ln.fir", None),
    ("fpga-absorb(fft-ln=0)", "fpga_absorb_fft_ln_off.fir", None),
    ("fpga-absorb (attention heads)", "fpga_absorb_heads.fir", None),
    ("fpga-alloc", "fpga_alloc.fir", None),
    ("fpga-alloc(reuse=0)", "fpga_alloc_options.fir", None),
    ("the cpu pipeline", "pipeline_cpu.fir", None),
]
texts = {}
cur = None
for line in open(os.path.join(here, "docs_passes.txt")).read().splitlines():
    if line.startswith("@@ "):
        cur = line[3:].strip()
        texts[cur] = []
    elif cur:
        texts[cur].append(line)
for name, fir, args in sections:
    print("## %s" % name)
    print()
    show(fir, "\n".join(texts.get(name, [])).strip(), args)

print("## Memory plan on the example models")
print()
print("Default pipelines (the cpu and fpga targets' `pipeline`, backends/target.h) on `examples/*.fab` "
      "at their default dims, via `passes-examples` (verify-each on, plan checked by the "
      "independent checker). *Planned peak* is memplan's arena size (fpga: fpga-alloc's whole "
      "memory, weights, inputs and dft tables included); *unplanned sum* is one buffer per "
      "planned value. Ops are counted before and after the pipeline.")
print()
ex = sorted(os.path.join(root, "examples", f) for f in os.listdir(os.path.join(root, "examples"))
            if f.endswith(".fab"))
print(subprocess.run([examples] + ex, capture_output=True, text=True).stdout.strip())
print()
