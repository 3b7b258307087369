#!/bin/sh
# run_wide.sh — the wider-space experiment of docs/explore.md §5 (issue 17).
#   scripts/explore/run_wide.sh [OUTDIR] [BUILD]      everything (~80 min wall on 2 shared, loaded cores)
#   /usr/bin/python3 scripts/explore/analyse_wide.py explore/results/wide   the tables only
# 208 sampled architectures (wide_archs.py) x 2 seeds, STEPS steps each with
# the held-out accuracy at every EVERY steps; every proxy at initialisation
# for both seeds; Zero-Cost-PT on the d 16 / FFN 64 / 4-block supernet for 10
# seeds (nwot, synflow, snip), its chosen architectures trained the same way.
# Jobs run two at a time (xargs -P 2) under nice -n 10.  RESUME=1 keeps the
# outputs of a stopped run and runs only what is missing (Zero-Cost-PT and
# the proxies if their files are incomplete, training chunks not finished);
# DRY=1 prints the jobs it would run (on a finished run, whose train.csv it
# leaves alone, every training chunk).
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$root/explore/results/wide}
build=${2:-$root/build-train}
STEPS=${STEPS:-500}
EVERY=${EVERY:-125}
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
rmx() { [ "${DRY:-0}" = 1 ] || rm -f "$@"; }  # DRY=1 deletes nothing
lines() { if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi; }
per_run=$((STEPS / EVERY))
if [ "${RESUME:-0}" != 1 ]; then
  rm -f "$out"/train*.csv "$out"/proxies.csv "$out"/zcpt.csv "$out"/chosen.txt "$out"/time.txt
elif [ -f "$out/train.csv" ] && [ "${DRY:-0}" != 1 ]; then  # a finished run's chunks were concatenated: split them back
  awk -F, -v d="$out" '{ f = sprintf("%s/train-%03d.csv", d, int($1 / 8) * 8); print >> f }' "$out/train.csv"
  rm -f "$out/train.csv"
fi
t0=$(date +%s)
jobs=$logs/jobs.txt
{
  # Zero-Cost-PT first (its chosen architectures are trained afterwards in the same job)
  if [ "$(lines "$out/zcpt.csv")" -ge 30 ]; then
    [ -s "$out/chosen.txt" ] || $py "$root/scripts/explore/analyse_wide.py" --chosen "$out" >"$out/chosen.txt"
    if [ "$(lines "$out/train-chosen.csv")" -lt $(($(lines "$out/chosen.txt") * 2 * per_run)) ]; then
      rmx "$out/train-chosen.csv"
      echo "$bin train archs=$out/chosen.txt $train out=$out/train-chosen.csv 2>$logs/train-chosen.log"
    fi
  else
  rmx "$out/zcpt.csv" "$out/chosen.txt" "$out/train-chosen.csv"
  echo "$bin zcpt $zc proxy=nwot valid=100 out=$out/zcpt.csv 2>$logs/zcpt.log &&" \
       "$bin zcpt $zc proxy=synflow valid=100 out=$out/zcpt.csv 2>>$logs/zcpt.log &&" \
       "$bin zcpt $zc proxy=snip valid=20 out=$out/zcpt.csv 2>>$logs/zcpt.log &&" \
       "$py $root/scripts/explore/analyse_wide.py --chosen $out >$out/chosen.txt &&" \
       "$bin train archs=$out/chosen.txt $train out=$out/train-chosen.csv 2>$logs/train-chosen.log"
  fi
  [ "$(lines "$out/proxies.csv")" -ge $((n * 2 * 10)) ] || { rmx "$out/proxies.csv"
  echo "$bin proxies archs=$out/archs.txt $common nseed=2 pbatch=32 out=$out/proxies.csv 2>$logs/proxies.log"; }
  lo=0
  while [ "$lo" -lt "$n" ]; do
    chunk=$out/train-$(printf %03d $lo).csv
    want=$(( (lo + 8 > n ? n - lo : 8) * 2 * per_run ))
    if [ "$(lines "$chunk")" -ge "$want" ]; then lo=$((lo + 8)); continue; fi
    rmx "$chunk"
    echo "$bin train archs=$out/archs.txt $train lo=$lo hi=$((lo + 8)) out=$out/train-$(printf %03d $lo).csv 2>$logs/train-$lo.log"
    lo=$((lo + 8))
  done
} >"$jobs"
echo "$(wc -l <"$jobs") jobs, started $(date -u)"
[ "${DRY:-0}" = 1 ] && { cat "$jobs"; exit 0; }  # DRY=1: print the jobs only
tr '\n' '\0' <"$jobs" | xargs -0 -P 2 -I{} sh -c '{}'
t1=$(date +%s)
cat "$out"/train-[0-9]*.csv >"$out/train.csv" && rm -f "$out"/train-[0-9]*.csv
echo "finished $(date -u): $((t1 - t0)) s wall" | tee "$out/time.txt"
$py "$root/scripts/explore/analyse_wide.py" "$out" | tee "$out/report.md"
