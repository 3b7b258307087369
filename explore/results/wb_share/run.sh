#!/bin/sh
# run.sh FABC — does the latency predictor see the write-back sharing?
# Samples latbench.json's models on the VCU128 build with wb_share (engines
# per write-back lane) 1, 2, 4 or 8 (latbench-wb.json), simulated, then
# trains and scores the residual GCN on three splits (--shuffle 0, 1, 2;
# 100 test models each) twice: on the data set as sampled (with.txt) and
# with "wb_share" taken out of every line's "accel" (without.txt: every
# point reads as the default 2, as a predictor blind to wb_share sees it).
# docs/codesign.md ("Predictors") quotes both.
set -e
FABC=${1:-build/cli/fabc}
D=$(dirname "$0")
DATA=$D/latbench-wb-600.jsonl
[ -f "$DATA" ] || nice -n 10 "$FABC" sample --space "$D/latbench-wb.json" -n 600 --measure fpga -o "$DATA"
BLIND=$(mktemp /tmp/wb_blind_XXXXXX)
/usr/bin/python3 -c '
import json, sys
for line in open(sys.argv[1]):
    j = json.loads(line)
    j["accel"].pop("wb_share", None)
    print(json.dumps(j, separators=(",", ":")))' "$DATA" > "$BLIND"
COMMON="--target fpga_sim_ms --residual --no-brp --test 100"
: > "$D/with.txt"
: > "$D/without.txt"
for s in 0 1 2; do
  nice -n 10 "$FABC" predictor compare "$DATA" $COMMON --shuffle $s | sed "s|$DATA|latbench-wb-600.jsonl, shuffle $s|" >> "$D/with.txt"
  nice -n 10 "$FABC" predictor compare "$BLIND" $COMMON --shuffle $s |
    sed "s|$BLIND|latbench-wb-600.jsonl without wb_share, shuffle $s|" >> "$D/without.txt"
done
rm -f "$BLIND"
