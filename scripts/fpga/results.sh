#!/bin/sh
# scripts/fpga/results.sh — the FPGA backend's results tables (docs/fpga.md §9).
#
# For the five LRA FABNet examples and FABNet-Base/-Large at sequence 128,
# 256, 512 and 1024 (-D seq=N) on vcu128-be40, vcu128-be120 and
# zynq7045-be20: simulated latency, butterfly-unit utilisation, off-chip
# traffic, the authors' analytical model, resources, a per-layer roofline
# for LRA-Text, and the simulator's speed (functional runs on vcu128-be40;
# the sweep itself uses the timing-only mode: same cycle model, no
# arithmetic).  Uses the built fabc (resources) and fpga_results (compile +
# simulate, tests/fpga/fpga_results.c) of BUILD (default build-fpga2).
#
#   nice -n 10 sh scripts/fpga/results.sh [BUILD] [--no-docs]
# Writes BUILD/fpga-results/raw.txt and results.md and, unless
# --no-docs, replaces the block between the results markers in docs/fpga.md.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$ROOT/build-fpga2}
case "$BUILD" in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
DOCS=1
for a in "$@"; do [ "$a" = "--no-docs" ] && DOCS=0; done
R=$BUILD/tests/fpga/fpga_results
F=$BUILD/cli/fabc
[ -x "$R" ] && [ -x "$F" ] || { echo "build fabc and fpga_results in $BUILD first" >&2; exit 1; }
OUT=$BUILD/fpga-results
mkdir -p "$OUT"
RAW=$OUT/raw.txt
: > "$RAW"
MODELS="listops text retrieval image pathfinder base large"
CONFIGS="vcu128-be40 vcu128-be120 zynq7045-be20"
t0=$(date +%s)
for c in $CONFIGS; do
  $F resources --accel "$ROOT/configs/$c.json" > "$OUT/res-$c.txt"
  for m in $MODELS; do
    for s in 128 256 512 1024; do
      line=$("$R" "$ROOT/examples/fabnet_$m.fab" "$ROOT/configs/$c.json" -D seq=$s --timing-only 2>&1 | grep '^RESULT' || echo "RESULT error=1")
      # the same program in the order the ops emitted it (no scheduling)
      emitted=$("$R" "$ROOT/examples/fabnet_$m.fab" "$ROOT/configs/$c.json" -D seq=$s --timing-only --no-schedule 2>&1 |
        grep '^RESULT' | sed 's/.*RESULT cycles=\([0-9]*\).*/\1/' || echo 0)
      echo "RUN config=$c model=$m seq=$s emitted_cycles=$emitted ${line#RESULT }" >> "$RAW"
    done
  done
done
# PPU sweep: the post-processing unit's lanes against whole-model cycles
# and LUTs (how the shipped configurations' ppu_lanes were chosen)
for sw in "vcu128-be40 64 128 256 384" "vcu128-be120 64 128 192 256" "zynq7045-be20 16 32 64"; do
  set -- $sw
  c=$1; shift
  shipped=$(grep -o '"ppu_lanes": [0-9]*' "$ROOT/configs/$c.json" | grep -o '[0-9]*$')
  for l in "$@"; do
    tmp="$OUT/sweep-$c-$l.json"
    sed "s/\"ppu_lanes\": [0-9]*/\"ppu_lanes\": $l/" "$ROOT/configs/$c.json" > "$tmp"
    lut=$($F resources --accel "$tmp" | awk '/^utilisation/ {print $2}')
    fits=$($F resources --accel "$tmp" | grep -q "fits the device" && echo yes || echo no)
    for m in text large; do
      line=$("$R" "$ROOT/examples/fabnet_$m.fab" "$tmp" -D seq=1024 --timing-only 2>&1 | grep '^RESULT' || echo "RESULT error=1")
      echo "SWEEP config=$c lanes=$l shipped=$shipped lut=$lut fits=$fits model=$m seq=1024 ${line#RESULT }" >> "$RAW"
    done
  done
done
# per-layer roofline of LRA-Text (seq 1024) on every configuration
for c in $CONFIGS; do
  "$R" "$ROOT/examples/fabnet_text.fab" "$ROOT/configs/$c.json" --timing-only --layers | grep '^LAYER' |
    sed "s/^LAYER /LAYER config=$c /" >> "$RAW"
done
# simulator speed: functional runs (arithmetic included) on vcu128-be40
for m in listops text retrieval image pathfinder; do
  line=$("$R" "$ROOT/examples/fabnet_$m.fab" "$ROOT/configs/vcu128-be40.json" -D seq=1024 2>&1 | grep '^RESULT' || echo "RESULT error=1")
  echo "FUNC config=vcu128-be40 model=$m seq=1024 ${line#RESULT }" >> "$RAW"
done
for m in base large; do
  line=$("$R" "$ROOT/examples/fabnet_$m.fab" "$ROOT/configs/vcu128-be40.json" -D seq=128 2>&1 | grep '^RESULT' || echo "RESULT error=1")
  echo "FUNC config=vcu128-be40 model=$m seq=128 ${line#RESULT }" >> "$RAW"
done
t1=$(date +%s)
echo "TOTAL seconds=$((t1 - t0))" >> "$RAW"
/usr/bin/env python3 "$ROOT/scripts/fpga/tables.py" "$RAW" "$OUT" > "$OUT/results.md"
if [ "$DOCS" = 1 ]; then
  /usr/bin/env python3 - "$ROOT/docs/fpga.md" "$OUT/results.md" <<'PY'
import sys
doc, res = sys.argv[1], open(sys.argv[2]).read()
s = open(doc).read()
b, e = "<!-- results:begin (scripts/fpga/results.sh) -->", "<!-- results:end -->"
if b in s and e in s:
    s = s[:s.index(b) + len(b)] + "\n" + res + s[s.index(e):]
    open(doc, "w").write(s)
PY
fi
echo "done in $((t1 - t0)) s: $OUT/results.md"
