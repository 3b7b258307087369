#!/bin/sh
# brp_accuracy.sh FABC — reruns the accuracy-predictor tables of
# docs/codesign.md ("Measured: BRP-NAS on accuracy") on the committed data
# set accbench-acc.jsonl and writes the printed outputs next to it.
# (The data set itself: fabc sample --space spaces/accbench.json -n 130
# --seed S --measure accuracy --train-steps 200 -o acc_sS.jsonl for S = 1..6 (stopped at 163 lines, 155 distinct models),
# merged by scripts/codesign/merge_jsonl.py.)
set -e
FABC=${1:-build/cli/fabc}
D=$(dirname "$0")
DATA=$D/accbench-acc.jsonl
COMMON="--target accuracy --test 100 --epochs 200 --patience 50"
"$FABC" predictor compare "$DATA" $COMMON > "$D/brp-acc-ours.txt"
"$FABC" predictor compare "$DATA" $COMMON --graph paper > "$D/brp-acc-paper.txt"
"$FABC" predictor compare "$DATA" $COMMON --brp-hard --brp-pairs 80 > "$D/brp-acc-hard-random.txt"
for g in ours paper; do
  for seed in 1 2 3 4 5; do
    "$FABC" predictor select "$DATA" --target accuracy --test 100 --rounds 4 --per-round 6 --epochs 200 \
      --graph $g --seed $seed > "$D/brp-acc-select-$g-$seed.txt"
  done
done
