#!/usr/bin/env bash
# regions.sh FABC EXAMPLES_DIR OUT_DIR — the parallel regions of backends/cpu/schedule.c:
#  1. outputs are the same bytes with 1, 2 and 3 threads (regions run units of
#     rows on whichever thread takes them; moved values keep them apart);
#  2. consecutive row-local kernels share regions: fabnet_base (2 layers) runs at
#     most half as many regions as steps (one per op before).
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
"$FABC" emit "$EX/fabnet_base.fab" -Dlayers=2 --emit=llvm --opt-level 0 -o "$D/base2.ll"
steps=$(grep -oE '^@fab_steps = private constant \[[0-9]+' "$D/base2.ll" | grep -oE '[0-9]+$')
regions=$(grep -oE '^@fab_regions = private constant \[[0-9]+' "$D/base2.ll" | grep -oE '[0-9]+$')
echo "fabnet_base, 2 layers: $steps steps in $regions regions"
test $((regions * 2)) -le "$steps"
