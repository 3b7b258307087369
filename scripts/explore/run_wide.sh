#!/bin/sh
# run_wide.sh — the wider-space experiment of docs/explore.md §5 (issue 17).
#   scripts/explore/run_wide.sh [OUTDIR] [BUILD]      everything (~75 min wall on 2 shared cores)
#   /usr/bin/python3 scripts/explore/analyse_wide.py explore/results/wide   the tables only
# 208 sampled architectures (wide_archs.py) x 2 seeds, STEPS steps each with
# the held-out accuracy at every EVERY steps; every proxy at initialisation
# for both seeds; Zero-Cost-PT on the d 16 / FFN 64 / 4-block supernet for 10
# seeds (nwot, synflow, snip), its chosen architectures trained the same way.
# Jobs run two at a time (xargs -P 2) under nice -n 10.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$root/explore/results/wide}
build=${2:-$root/build-train}
STEPS=${STEPS:-1000}
EVERY=${EVERY:-250}
mkdir -p "$out" "$build/wide-logs"
logs=$build/wide-logs
"$root/scripts/explore/build.sh" "$build" >/dev/null
bin="nice -n 10 $build/explore_space"
py=/usr/bin/python3
[ -s "$out/archs.txt" ] || $py "$root/scripts/explore/wide_archs.py" >"$out/archs.txt"
n=$(wc -l <"$out/archs.txt")
common="task=listops seq=16 heads=2 batch=32 lr=3e-3 ntrain=20000 ntest=1000 seed=1"
train="$common steps=$STEPS every=$EVERY nseed=2"
zc="$common d=16 h=64 layers=4 seeds=10 proposals=10 zbatch=32"
rm -f "$out"/train*.csv "$out"/proxies.csv "$out"/zcpt.csv "$out"/chosen.txt
t0=$(date +%s)
jobs=$logs/jobs.txt
{
  # Zero-Cost-PT first (its chosen architectures are trained afterwards in the same job)
  echo "$bin zcpt $zc proxy=nwot valid=100 out=$out/zcpt.csv 2>$logs/zcpt.log &&" \
       "$bin zcpt $zc proxy=synflow valid=100 out=$out/zcpt.csv 2>>$logs/zcpt.log &&" \
       "$bin zcpt $zc proxy=snip valid=20 out=$out/zcpt.csv 2>>$logs/zcpt.log &&" \
       "$py $root/scripts/explore/analyse_wide.py --chosen $out >$out/chosen.txt &&" \
       "$bin train archs=$out/chosen.txt $train out=$out/train-chosen.csv 2>$logs/train-chosen.log"
  echo "$bin proxies archs=$out/archs.txt $common nseed=2 pbatch=32 out=$out/proxies.csv 2>$logs/proxies.log"
  lo=0
  while [ "$lo" -lt "$n" ]; do
    echo "$bin train archs=$out/archs.txt $train lo=$lo hi=$((lo + 8)) out=$out/train-$(printf %03d $lo).csv 2>$logs/train-$lo.log"
    lo=$((lo + 8))
  done
} >"$jobs"
echo "$(wc -l <"$jobs") jobs, started $(date -u)"
tr '\n' '\0' <"$jobs" | xargs -0 -P 2 -I{} sh -c '{}'
t1=$(date +%s)
cat "$out"/train-[0-9]*.csv >"$out/train.csv" && rm -f "$out"/train-[0-9]*.csv
echo "finished $(date -u): $((t1 - t0)) s wall" | tee "$out/time.txt"
$py "$root/scripts/explore/analyse_wide.py" "$out" | tee "$out/report.md"
