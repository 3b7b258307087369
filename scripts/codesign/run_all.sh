#!/bin/sh
# Reproduces the measurements of docs/codesign.md.  Usage:
#   scripts/codesign/run_all.sh BUILD_DIR OUT_DIR
# Long steps run under nice; everything is single-threaded except where
# parallel speed-up is the point.
set -eu
B=${1:-build}
OUT=${2:-/tmp/codesign}
T=$B/explore/codesign
S=$(dirname "$0")/../../spaces
mkdir -p "$OUT"

# 1. Latency data set against the simulator (two samplers with different
#    seeds, merged by point key; one accelerator).
nice -n 10 "$T/fab-codesign" sample "$S/latbench.json" -n 1000 --seed 7 -o "$OUT/lat_sim_a.jsonl" &
nice -n 10 "$T/fab-codesign" sample "$S/latbench.json" -n 1000 --seed 8 -o "$OUT/lat_sim_b.jsonl"
wait
python3 "$(dirname "$0")/merge_jsonl.py" "$OUT/lat_sim.jsonl" "$OUT/lat_sim_a.jsonl" "$OUT/lat_sim_b.jsonl"

# 2. CPU latency data set (small models; JIT, median of 5 after 2 warm-ups,
#    1 thread, every model timed twice with a fresh JIT).
"$T/fab-codesign" sample "$S/latbench-cpu.json" -n 80 --seed 11 --no-sim -o "$OUT/lat_cpu_in.jsonl"
nice -n 10 "$T/fab-codesign-cpu" "$S/latbench-cpu.json" "$OUT/lat_cpu_in.jsonl" \
  -o "$OUT/lat_cpu.jsonl" --repeats 5

# 3. Predictors: GCN (both readouts), BRP and the two baselines; 80/10/10
#    split; held-out family = hidden >= 512 (trained on hidden <= 256).
P="--epochs 1500 --patience 300 --dropout 0"
nice -n 10 "$T/fab-codesign" predictor "$OUT/lat_sim.jsonl" --target fpga_sim_ms $P --brp-epochs 60 \
  --save "$OUT/gcn_sim.pred" | tee "$OUT/pred_sim.txt"
nice -n 10 "$T/fab-codesign" predictor "$OUT/lat_sim.jsonl" --target fpga_sim_ms $P --no-brp \
  --sum-readout --save "$OUT/gcn_sum.pred" | tee "$OUT/pred_sim_sum.txt"
nice -n 10 "$T/fab-codesign" predictor "$OUT/lat_sim.jsonl" --target fpga_sim_ms $P --no-brp \
  --sum-readout --holdout-hidden 512 | tee "$OUT/pred_family_sum.txt"
nice -n 10 "$T/fab-codesign" predictor "$OUT/lat_sim.jsonl" --target fpga_sim_ms $P --no-brp \
  --holdout-hidden 512 | tee "$OUT/pred_family.txt"
nice -n 10 "$T/fab-codesign" predictor "$OUT/lat_cpu.jsonl" --target cpu_ms --train 40 $P \
  --brp-epochs 100 | tee "$OUT/pred_cpu.txt"
nice -n 10 "$T/fab-codesign" predictor "$OUT/lat_sim.jsonl" --target fpga_sim_ms --epochs 300 \
  --dropout 0 --select-only | tee "$OUT/pred_select.txt"

# 4. Codesign study on the ~10^6-pair space: exhaustive front, every strategy
#    at 1% of the space (3 seeds), hypervolume traces, sequential flow.
nice -n 10 "$T/fab-codesign" study "$S/fabnet-large.json" --frac 0.01 --seeds 3 --threads 1 \
  --out "$OUT" | tee "$OUT/study.txt"

# 5. The authors' LRA-Text exploration, with the Pareto front as CSV + SVG.
"$T/fab-codesign" search "$S/fabnet-text.json" --strategy exhaustive \
  --csv "$OUT/fabnet-text-front.csv" --svg "$OUT/fabnet-text-front.svg"

# 6. Parallel evaluation and MPI sharding give identical results (checksum).
for th in 1 2; do
  "$T/fab-codesign" search "$S/fabnet-large.json" --strategy exhaustive --threads $th | grep -E "checksum|evaluations"
done
if command -v mpirun >/dev/null; then
  mpirun --oversubscribe -np 2 "$T/fab-codesign" search "$S/fabnet-large.json" \
    --strategy evolution --budget 8000 --threads 1 | grep -E "checksum|evaluations"
  "$T/fab-codesign" search "$S/fabnet-large.json" --strategy evolution --budget 8000 --threads 1 \
    | grep -E "checksum|evaluations"
fi

# 7. Predictor-driven against measurement-driven search (simulator).
nice -n 10 "$T/fab-codesign" predsearch "$S/latbench.json" --pred "$OUT/gcn_sim.pred" \
  --budget-meas 64 --budget-pred 1000 | tee "$OUT/predsearch.txt"
