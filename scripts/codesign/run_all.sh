#!/bin/sh
# Reproduces the measurements of docs/codesign.md.  Usage:
#   scripts/codesign/run_all.sh BUILD_DIR OUT_DIR [STEP ...]
# STEP: 1 2 3 3c 4 5 5b 6 7 (default: all); each table of docs/codesign.md
# names its step.  Step 3 reads the data set of step 1, 3c that of step 2,
# step 7 the predictor of step 3.
# Every step is a `fabc` command (sample, predictor compare, codesign and
# its --compare experiments).  Long steps run under nice; everything is
# single-threaded except where parallel speed-up is the point.
set -eu
B=${1:-build}
OUT=${2:-/tmp/codesign}
F=$B/cli/fabc
S=$(dirname "$0")/../../spaces
mkdir -p "$OUT"
if [ $# -ge 2 ]; then shift 2; else shift $#; fi
STEPS=" ${*:-1 2 3 3c 4 5 5b 6 7} "
want() { case "$STEPS" in *" $1 "*) return 0 ;; esac; return 1; }
[ -x "$OUT/fabc-sampler" ] || cp "$F" "$OUT/fabc-sampler"
SMP="$OUT/fabc-sampler"
A="--acc-cache $OUT/acc.cache" # trained accuracies, shared by steps 5 and 5b

# 1. Latency data set against the simulator: two samplers (seeds 9, 10), one
#    after the other, merged by point key; one accelerator.  Every line of a
#    data set must come from one build of the compiler and simulator (the
#    first data set mixed two simulator versions; see docs/codesign.md), so
#    the sampler binary is copied once and used for every step.
if want 1; then
nice -n 10 "$SMP" sample --space "$S/latbench.json" -n 600 --seed 9 -o "$OUT/lat_sim_c.jsonl"
nice -n 10 "$SMP" sample --space "$S/latbench.json" -n 1000 --seed 10 -o "$OUT/lat_sim_d.jsonl"
python3 "$(dirname "$0")/merge_jsonl.py" "$OUT/lat_sim.jsonl" "$OUT/lat_sim_c.jsonl" "$OUT/lat_sim_d.jsonl"
fi

# 2. CPU latency data set (small models; JIT, median of 5 after 2 warm-ups,
#    1 thread, every model timed twice with a fresh JIT: cpu_ms and cpu_ms_2).
if want 2; then
nice -n 10 "$SMP" sample --space "$S/latbench-cpu.json" -n 300 --seed 12 --measure cpu --cpu-twice \
  --repeats 5 -o "$OUT/lat_cpu.jsonl"
fi

# 3. Predictors against the simulator: GCN (residual on the analytical
#    model; sum readout), BRP and the baselines; 80/10/10 split in draw
#    order; held-out family = hidden >= 512; iterative selection.  (Graphs of data sets sampled before the heads were
#    recorded: scripts/codesign/add_heads.py IN OUT first.)
if want 3; then
P="--epochs 1500 --patience 300 --dropout 0"
nice -n 10 "$F" predictor compare "$OUT/lat_sim.jsonl" --target fpga_sim_ms $P --residual \
  --no-brp -o "$OUT/gcn_res.pred" | tee "$OUT/pred_sim_res.txt"
nice -n 10 "$F" predictor compare "$OUT/lat_sim.jsonl" --target fpga_sim_ms $P --residual \
  --no-brp --shuffle 5 | tee "$OUT/pred_sim_res_s5.txt"
nice -n 10 "$F" predictor compare "$OUT/lat_sim.jsonl" --target fpga_sim_ms --epochs 600 \
  --patience 150 --dropout 0 --no-brp --sum-readout -o "$OUT/gcn_sim.pred" | tee "$OUT/pred_sim_sum.txt"
nice -n 10 "$F" predictor compare "$OUT/lat_sim.jsonl" --target fpga_sim_ms $P --no-brp \
  --residual --holdout-hidden 512 | tee "$OUT/pred_family_res.txt"
nice -n 10 "$F" predictor compare "$OUT/lat_sim.jsonl" --target fpga_sim_ms --epochs 1 --brp-epochs 200 \
  | tee "$OUT/pred_brp.txt"
nice -n 10 "$F" predictor compare "$OUT/lat_sim.jsonl" --target fpga_sim_ms --epochs 300 \
  --dropout 0 --select-only --select-kind gcn --residual | tee "$OUT/pred_select.txt"
fi

# 3c. Predictors against the CPU timings of step 2 (two splits, global and
#     sum readout).
if want 3c; then
P="--epochs 1500 --patience 300 --dropout 0"
for sp in 0 5; do
  for ro in "" --sum-readout; do
    nice -n 10 "$F" predictor compare "$OUT/lat_cpu.jsonl" --target cpu_ms $P --no-brp \
      --shuffle $sp $ro | tee "$OUT/pred_cpu_s$sp$ro.txt"
  done
done
fi

# 4. Codesign study on the ~10^6-pair space: exhaustive front, every strategy
#    at 1% of the space (5 seeds, bootstrap intervals), hypervolume traces,
#    sequential flow (explore/results/codesign/fabnet-large-*).  The
#    documented numbers use the stand-in (the AUTO rule would take the
#    synflow proxy for its 3840 models).
if want 4; then
nice -n 10 "$F" codesign --space "$S/fabnet-large.json" --compare strategies --frac 0.01 --seeds 5 \
  --threads 1 --accuracy standin --out-dir "$OUT" | tee "$OUT/fabnet-large-strategies.txt"
fi

# 5. The authors' LRA-Text exploration, with the Pareto front as CSV + SVG,
#    under trained accuracy (the default for its 30 models), the proxy and
#    the stand-in; the accuracies per model and their rank correlations;
#    the fronts compared under trained accuracy.  Trained accuracies are
#    cached in $OUT/acc.cache: a rerun does not retrain.
if want 5; then
nice -n 10 "$F" codesign --space "$S/fabnet-text.json" --compare accuracy --threads 2 $A \
  -o "$OUT/fabnet-text-acc.csv" | tee "$OUT/fabnet-text-acc.txt"
for a in trained proxy standin; do
  rm -f "$OUT/fabnet-text-$a.log"
  "$F" codesign --space "$S/fabnet-text.json" --strategy exhaustive --accuracy $a $A \
    --log "$OUT/fabnet-text-$a.log" -o "$OUT/fabnet-text-front-$a.csv" \
    --plot "$OUT/fabnet-text-front-$a.svg"
done
python3 "$(dirname "$0")/front_compare.py" "$OUT"/fabnet-text-trained.log \
  "$OUT"/fabnet-text-proxy.log "$OUT"/fabnet-text-standin.log | tee "$OUT/fabnet-text-fronts.txt"
nice -n 10 "$F" codesign --space "$S/fabnet-text.json" --compare strategies --frac 0.5 --seeds 5 \
  --threads 1 --accuracy trained $A | tee "$OUT/fabnet-text-strategies-trained.txt"
fi

# 5b. fabnet-mid (72 models x 480 accelerators): trained accuracy for every
#     model, the study (strategies, sequential flow) under each accuracy.
if want 5b; then
nice -n 10 "$F" codesign --space "$S/fabnet-mid.json" --compare accuracy --threads 1 $A \
  -o "$OUT/fabnet-mid-acc.csv" | tee "$OUT/fabnet-mid-acc.txt"
for a in trained proxy standin; do
  mkdir -p "$OUT/mid-$a"
  nice -n 10 "$F" codesign --space "$S/fabnet-mid.json" --compare strategies --frac 0.01 --seeds 5 \
    --threads 1 --accuracy $a $A --out-dir "$OUT/mid-$a" | tee "$OUT/fabnet-mid-strategies-$a.txt"
  rm -f "$OUT/mid-$a/ex.log"
  "$F" codesign --space "$S/fabnet-mid.json" --strategy exhaustive --accuracy $a $A \
    --log "$OUT/mid-$a/ex.log" -o "$OUT/mid-$a/front.csv" --plot "$OUT/mid-$a/front.svg"
done
python3 "$(dirname "$0")/front_compare.py" "$OUT"/mid-trained/ex.log "$OUT"/mid-proxy/ex.log \
  "$OUT"/mid-standin/ex.log | tee "$OUT/fabnet-mid-fronts.txt"
fi

# 6. Parallel evaluation and MPI sharding give identical results (checksum).
if want 6; then
for th in 1 2; do
  "$F" codesign --space "$S/fabnet-large.json" --strategy exhaustive --threads $th \
    --accuracy standin | grep -E "checksum|evaluations"
done
if command -v mpirun >/dev/null; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  for np in 2 1; do
    mpirun --oversubscribe -np $np "$F" codesign --mpi --space "$S/fabnet-large.json" \
      --strategy evolution --budget 8000 --threads 1 --accuracy standin | grep -E "checksum|evaluations"
  done
  # trained accuracy (fabnet-text, every model trained by the rank that
  # first needs it; a fresh cache per run so that the ranks really train)
  for np in 2 1; do
    rm -f "$OUT/mpi-$np.cache"
    mpirun --oversubscribe -np $np "$F" codesign --mpi --space "$S/fabnet-text.json" \
      --strategy evolution --budget 60 --threads 1 --acc-cache "$OUT/mpi-$np.cache" \
      | grep -E "checksum|evaluations|accuracy"
  done
fi
fi

# 7. Predictor-driven against measurement-driven search (simulator).
if want 7; then
nice -n 10 "$F" codesign --space "$S/latbench.json" --compare predictor --predictor "$OUT/gcn_res.pred" \
  --measure-budget 64 --budget 1000 | tee "$OUT/predsearch.txt"
fi
