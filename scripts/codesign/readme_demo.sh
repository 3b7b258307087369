#!/bin/sh
# readme_demo.sh — runs the README's latency-predictor demo exactly as the
# README writes it, timed, and the checks docs/codesign.md quotes ("The
# README's demo, run in full"): the data set's summary, the predictions
# for the README's model.fab and examples/fabnet_small.fab against the
# simulator.  Usage: scripts/codesign/readme_demo.sh [BUILD_DIR] [OUT_DIR]
# (about 10 CPU-minutes of sampling and 2-3 of training on an idle core).
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=$(cd "${1:-$ROOT/build}" && pwd)
OUT=${2:-/tmp/readme-demo}
mkdir -p "$OUT"
cd "$OUT"
PATH="$B/cli:$PATH"
# model.fab: the README's "A model in the language", beside examples/lib
sed -n '/^A model in the language/,/^## /p' "$ROOT/README.md" | sed -n 's/^    //p' > model.fab
ln -sfn "$ROOT/examples/lib" lib
rm -f data.jsonl
T="/usr/bin/time -f %e_s_wall_%U_s_user"
$T nice -n 10 fabc sample --space "$ROOT/spaces/latbench.json" -n 1000 --measure fpga -o data.jsonl 2> sample.err
tail -1 sample.err
$T nice -n 10 fabc predictor train data.jsonl --target fpga --residual -o fpga.pred > train.txt 2> train.err
cat train.txt; tail -1 train.err
/usr/bin/python3 "$ROOT/scripts/codesign/dataset_stats.py" data.jsonl
for m in model.fab "$ROOT/examples/fabnet_small.fab"; do
  echo "== $m"
  fabc predict "$m" --predictor fpga.pred --accel vcu128-be40
  fabc run "$m" --backend fpga --accel vcu128-be40 --report 2>&1 | grep -E "^(total cycles|latency) "
done
