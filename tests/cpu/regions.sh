#!/usr/bin/env bash
# regions.sh FABC EXAMPLES_DIR OUT_DIR — the parallel regions of backends/cpu/schedule.c:
#  1. outputs are the same bytes with 1, 2 and 3 threads (regions run units of
#     rows on whichever thread takes them; moved values keep them apart);
#  2. consecutive row-local kernels share regions: each fabnet_base layer runs
#     at most 3 regions (one per kernel, 6, before).
set -eu
FABC=$1 EX=$2 D=$3
mkdir -p "$D"
for m in fabnet_text transformer_text fabnet_small tiny_preln; do
  for t in 1 2 3; do
    "$FABC" run "$EX/$m.fab" --backend cpu --threads $t -o "$D/$m.t$t.safetensors" >/dev/null
  done
  cmp "$D/$m.t1.safetensors" "$D/$m.t2.safetensors"
  cmp "$D/$m.t1.safetensors" "$D/$m.t3.safetensors"
done
count() { # count LAYERS WHAT: entries of @fab_WHAT in fabnet_base with LAYERS layers
  "$FABC" emit "$EX/fabnet_base.fab" -Dlayers=$1 --emit=llvm --opt-level 0 -o "$D/base$1.ll"
  grep -oE "^@fab_$2 = private constant \[[0-9]+" "$D/base$1.ll" | grep -oE '[0-9]+$'
}
s2=$(count 2 steps) r2=$(count 2 regions) s4=$(count 4 steps) r4=$(count 4 regions)
echo "fabnet_base: 2 layers $s2 steps in $r2 regions; 4 layers $s4 steps in $r4 regions"
# a layer is six kernels (complex, dft, sequence bitrev, column fft, LN1, the
# fused FFN); row-local ones share a region, so at most 3 regions per layer
test $((r4 - r2)) -le 6
