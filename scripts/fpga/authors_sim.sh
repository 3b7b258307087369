#!/bin/sh
# scripts/fpga/authors_sim.sh — runs the authors' own simulator
# (SamsungLabs/Butterfly_Acc, hardware/npu_design/simulator/simulator_bfly.py,
# unmodified) with the settings of its speed_benchmark_sim.sh — FABNet-BERT,
# every layer FBfly, 200 MHz, efficiency 0.85 (the script's defaults) — and
# writes the reference table tests/fpga/data/authors_sim.txt that
# tests/fpga/test_model.c holds model.c to (optional to run: the table is
# committed).
#
#   sh scripts/fpga/authors_sim.sh ARTIFACT [OUT]
# ARTIFACT: a checkout of github.com/SamsungLabs/Butterfly_Acc; OUT defaults
# to tests/fpga/data/authors_sim.txt.  Needs python3 (standard library only).
#
# How the artifact selects the accelerator: --fpga_board zcu128|zynq7045
# (only sets P_bu = 4 and the default engine count, 128 or 32),
# --offchip_mem hbm|ddr3 (stream widths in / coefficients / out: 2048 / 256 /
# 2048 or 64 / 64 / 128 bits per cycle), --parallesm_be N (engines).
# fabc's configurations map to: vcu128-be120 = zcu128 hbm 120 (the
# artifact's speed_benchmark_sim.sh), vcu128-be40 = zcu128 hbm 40,
# zynq7045-be20 = zynq7045 ddr3 20 (speed_benchmark_sim.sh); "-" rows use
# the artifact's default engine counts (no fabc configuration: P_be 128
# exceeds fabc's 127).
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
ART=${1:?usage: authors_sim.sh ARTIFACT [OUT]}
OUT=${2:-$ROOT/tests/fpga/data/authors_sim.txt}
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
SIM=$ART/hardware/npu_design/simulator
[ -f "$SIM/simulator_bfly.py" ] || { echo "no $SIM/simulator_bfly.py" >&2; exit 1; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
cp "$SIM"/*.py "$TMP"/
commit=$(git -C "$ART" rev-parse HEAD 2>/dev/null || echo unknown)
{
  echo "# The authors' simulator (SamsungLabs/Butterfly_Acc $commit, simulator_bfly.py unmodified),"
  echo "# written by scripts/fpga/authors_sim.sh.  cycles: one layer (its last 'Total Runtime cost');"
  echo "# ms: the printed overall latency (layers * cycles / 200 MHz / 0.85)."
  echo "# config board mem p_be version seq layers cycles ms"
  for row in "vcu128-be120 zcu128 hbm 120" "vcu128-be40 zcu128 hbm 40" "zynq7045-be20 zynq7045 ddr3 20" \
             "- zcu128 hbm 0" "- zynq7045 ddr3 0" "- zcu128 ddr3 64" "- zynq7045 hbm 16"; do
    set -- $row
    for v in base large; do
      for s in 2 64 100 128 200 256 384 512 768 1000 1024 2048 4096; do
        log=$(cd "$TMP" && "$PY" simulator_bfly.py --num_len "$s" --version "$v" --fpga_board "$2" \
                --offchip_mem "$3" --parallesm_be "$4" 2>&1)
        ms=$(printf '%s\n' "$log" | sed -n 's/^The overall latecy is: //p')
        cyc=$(printf '%s\n' "$log" | sed -n 's/.*Total Runtime cost is \([0-9.]*\) cycles.*/\1/p' | tail -1)
        be=$4
        [ "$be" = 0 ] && { [ "$2" = zcu128 ] && be=128 || be=32; }
        layers=12
        [ "$v" = large ] && layers=24
        echo "$1 $2 $3 $be $v $s $layers $cyc $ms"
      done
    done
  done
} > "$OUT"
echo "wrote $OUT ($(grep -vc '^#' "$OUT") runs)"
