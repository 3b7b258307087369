#!/bin/sh
# mix_bench.sh BUILD_DIR [RUNS]: Re(FFT2) mixing, fabc cpu (1 thread) vs
# FFTW r2c (FFTW_MEASURE, 1 thread), best of RUNS, at the issue-15 shapes
# and a few mixed-radix ones.  Wall-clock: run it on an idle machine.
set -e
here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: mix_bench.sh BUILD_DIR [RUNS]}
runs=${2:-50}
exe=$build/fft_mix_bench
cc -O2 -std=c17 -D_GNU_SOURCE -I"$here/../../api" "$here/mix_bench.c" -o "$exe" \
  -L"$build/api" -Wl,-rpath,"$(cd "$build/api" && pwd)" -lfabc -lfftw3f -lm
for shape in "128 768" "1024 256" "768 768" "128 640" "128 896"; do
  # shellcheck disable=SC2086
  "$exe" $shape "$runs"
done
# FABNet-Base (seq 128): the mixed-radix lowering against the dense dft of
# d = 768 (the cpu pipeline of docs/passes.md with lower-fourier(dense-max))
model=$here/../../examples/fabnet_base.fab
dense="canonicalize,lower-bfly,lower-fourier(dense-max=4096),lower-mha,canonicalize,fuse-elementwise,"
dense="${dense}attention-block,memplan,cpu-chain-bfly(chain=1,group=3),cpu-fold-fft-loads(fold=1,hermitian=1)"
"$exe" --model "$model" 5
"$exe" --model "$model" 5 "$dense"
