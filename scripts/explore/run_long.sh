#!/bin/sh
# run_long.sh — the longer-budget check of docs/explore.md §5.5.1 (issue 17 point 2).
#   scripts/explore/run_long.sh [OUTDIR] [BUILD] [WIDE]       train, then the tables
#   /usr/bin/python3 scripts/explore/analyse_long.py [--warmup W] OUTDIR WIDE [OTHER...]   the tables only
# A stratified subset of run_wide.sh's sample (WIDE, default explore/results/wide):
# K architectures (default 4) from each of the 12 (d, FFN ratio, blocks) cells,
# drawn by long_subset.py with SUBSET_SEED (default 1), of which the first TAKE
# (default K) of each cell are used (so TAKE < K gives a nested subset); both seeds trained STEPS
# steps (default 2000; the learning rate is constant after a warmup of WARMUP
# steps, default STEPS/10)
# with the held-out accuracy every EVERY steps (default 500), the same
# task and hyper-parameters as run_wide.sh.  Jobs of CHUNK architectures
# (default 2) run two at a time (xargs -P 2) under nice -n 10.  RESUME=1 keeps
# finished chunks.  The 2 000-step run of explore/results/wide-long is the
# defaults; its 4 000-step run on one architecture per cell (nested in the 48):
#   OTHER=explore/results/wide-long K=4 TAKE=1 STEPS=4000 EVERY=1000 CHUNK=1 scripts/explore/run_long.sh explore/results/wide-long/4000
# and its 10 000-step run on two per cell, with the 2 000-step run's warm-up (§5.5.2):
#   OTHER=explore/results/wide-long K=4 TAKE=2 STEPS=10000 EVERY=1000 WARMUP=200 CHUNK=1 sh scripts/explore/run_long.sh explore/results/wide-long/10000
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$root/explore/results/wide-long}
build=${2:-$root/build-train}
wide=${3:-$root/explore/results/wide}
K=${K:-4}
TAKE=${TAKE:-$K}
CHUNK=${CHUNK:-2}
STEPS=${STEPS:-2000}
EVERY=${EVERY:-500}
py=/usr/bin/python3
mkdir -p "$out" "$build/long-logs"
logs=$build/long-logs/$(basename "$out"); mkdir -p "$logs"
"$root/scripts/explore/build.sh" "$build" >/dev/null
$py "$root/scripts/explore/long_subset.py" "$wide/archs.txt" "$K" "${SUBSET_SEED:-1}" "$TAKE" >"$out/subset.txt"
cut -d' ' -f2- "$out/subset.txt" >"$out/archs.txt"   # line i of archs.txt = subset index i
n=$(wc -l <"$out/archs.txt")
common="task=listops seq=16 heads=2 batch=32 lr=3e-3 ntrain=20000 ntest=1000 seed=1"
train="$common steps=$STEPS every=$EVERY nseed=2 warmup=${WARMUP:--1}"
per_run=$((STEPS / EVERY))
[ "${RESUME:-0}" = 1 ] || rm -f "$out"/train*.csv "$out/time.txt"
t0=$(date +%s)
jobs=$logs/jobs.txt
lo=0
while [ "$lo" -lt "$n" ]; do
  chunk=$out/train-$(printf %03d $lo).csv
  want=$(( (lo + CHUNK > n ? n - lo : CHUNK) * 2 * per_run ))
  if [ ! -f "$chunk" ] || [ "$(wc -l <"$chunk")" -lt "$want" ]; then
    rm -f "$chunk"
    echo "nice -n 10 $build/explore_space train archs=$out/archs.txt $train lo=$lo hi=$((lo + CHUNK)) out=$chunk 2>$logs/train-$lo.log"
  fi
  lo=$((lo + CHUNK))
done >"$jobs"
echo "$(wc -l <"$jobs") jobs, started $(date -u)"
tr '\n' '\0' <"$jobs" | xargs -0 -P 2 -I{} sh -c '{}'
t1=$(date +%s)
cat "$out"/train-[0-9]*.csv >"$out/train.csv" && rm -f "$out"/train-[0-9]*.csv
echo "finished $(date -u): $((t1 - t0)) s wall, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$out/time.txt"
$py "$root/scripts/explore/analyse_long.py" --warmup "${WARMUP:-$((STEPS / 10))}" "$out" "$wide" ${OTHER:-} | tee "$out/report.md"
