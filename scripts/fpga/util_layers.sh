#!/bin/sh
# scripts/fpga/util_layers.sh — FABNet-Base and -Large (every layer FBfly)
# at sequence 128-1024 on the three shipped HBM/DDR3 configurations: whole-model
# cycles, BU utilisation while computing and over the butterfly layers, how
# close the layers come to their bound, and the utilisation the bound allows
# (tests/fpga/fpga_results, timing-only).  The before/after table of
# docs/fpga.md section 10 (streaming store) compares two builds' output.
#
#   sh scripts/fpga/util_layers.sh [BUILD]     (BUILD defaults to build)
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$ROOT/build}
R=$BUILD/tests/fpga/fpga_results
[ -x "$R" ] || { echo "build fpga_results in $BUILD first" >&2; exit 1; }
for c in vcu128-be120 vcu128-be40 zynq7045-be20; do
  for m in base large; do
    for s in 128 256 512 768 1024; do
      l=$("$R" "$ROOT/examples/fabnet_$m.fab" "$ROOT/configs/$c.json" -D seq=$s --timing-only 2>&1 | grep '^RESULT' || echo "RESULT error=1")
      set -- $l
      keep=""
      for kv in "$@"; do
        case $kv in cycles=*|bu_util_insn=*|bu_util_layers=*|roofline_util=*|attainable=*|error=*) keep="$keep $kv" ;; esac
      done
      echo "$c $m $s$keep"
    done
  done
done
