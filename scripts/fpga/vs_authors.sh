#!/bin/sh
# scripts/fpga/vs_authors.sh [FABC] — issue 16's whole-model comparison:
# FABNet-Base and -Large (all FBfly, examples/fabnet_{base,large}.fab) at
# sequence 128..1024 on vcu128-be120, vcu128-be40 and zynq7045-be20, the
# simulated latency (`fabc sim --timing-only --report`) beside the authors'
# simulator as model.c reproduces it (docs/fpga.md section 5), and the ratio.
# Cycle counts are deterministic: the table does not depend on the machine.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
FABC=${1:-$ROOT/build/test/cli/fabc}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT INT TERM
echo "| board | model | seq | fabc sim (ms) | authors' simulator (ms) | ratio |"
echo "|---|---|---|---|---|---|"
for cfg in vcu128-be120 vcu128-be40 zynq7045-be20; do
  for m in base large; do
    for s in 128 256 512 768 1024; do
      echo "vcu: $cfg $m seq $s" >&2
      "$FABC" build "$ROOT/examples/fabnet_$m.fab" --target fpga --accel "$ROOT/configs/$cfg.json" -D seq=$s \
        -o "$T/m.fbin"
      "$FABC" sim "$T/m.fbin" --timing-only --report 2>&1 | awk -v c="$cfg" -v m="$m" -v s="$s" '
        /^latency/ { lat = $2 }
        /cycles for the butterfly\/FFT layers/ { match($0, /\(([0-9.]+) ms/); au = substr($0, RSTART + 1, RLENGTH - 4) }
        END { printf "| %s | %s | %s | %.3f | %.4f | %.2f |\n", c, m, s, lat, au, lat / au }'
    done
  done
done
