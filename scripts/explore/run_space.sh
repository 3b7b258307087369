#!/bin/sh
# run_space.sh — the enumerated-space experiment of docs/explore.md.
# Trains all 256 architectures (2 processes), scores every proxy, runs
# Zero-Cost-PT for 10 seeds with nwot, synflow, snip and jacob_cov, retrains every 8th
# architecture with a second seed (noise ceiling), then analyses.
#   scripts/explore/run_space.sh [OUTDIR] [BUILD]
# Takes ~30-40 minutes on 2 cores.  Run it with nohup and poll.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$root/build-train/space}
build=${2:-$root/build-train}
mkdir -p "$out"
"$root/scripts/explore/build.sh" "$build" >/dev/null
bin=$build/explore_space
common="task=listops seq=16 d=16 h=32 heads=2 layers=4 batch=32 steps=600 lr=3e-3 ntrain=20000 ntest=1000"
rm -f "$out"/*.csv
t0=$(date +%s)
echo "phase 1: training 256 architectures ($(date))"
$bin train $common seed=1 lo=0 hi=128 out="$out/train_a.csv" 2>"$out/train_a.log" &
$bin train $common seed=1 lo=128 hi=256 out="$out/train_b.csv" 2>"$out/train_b.log" &
wait
t1=$(date +%s)
echo "phase 1 done in $((t1 - t0)) s"
echo "phase 2: proxies, Zero-Cost-PT, seed-2 retraining ($(date))"
( $bin proxies $common seed=1 pbatch=32 out="$out/proxies.csv" 2>"$out/proxies.log"
  $bin train $common seed=2 lo=0 hi=256 stride=8 out="$out/train_seed2.csv" 2>"$out/train_seed2.log" ) &
# nwot (the default) and synflow with the paper's V = 100; the backward
# proxies with V = 20 to keep the experiment within its time budget
( for p in nwot synflow; do
    $bin zcpt $common proxy=$p seeds=10 proposals=10 valid=100 zbatch=32 out="$out/zcpt.csv" 2>>"$out/zcpt.log"
  done
  for p in snip jacob_cov; do
    $bin zcpt $common proxy=$p seeds=10 proposals=10 valid=20 zbatch=32 out="$out/zcpt.csv" 2>>"$out/zcpt.log"
  done ) &
wait
t2=$(date +%s)
echo "phase 2 done in $((t2 - t1)) s"
cat "$out/train_a.csv" "$out/train_b.csv" > "$out/train.csv"
/usr/bin/python3 "$root/scripts/explore/analyse_space.py" "$out" | tee "$out/report.md"
echo "total $((t2 - t0)) s"
