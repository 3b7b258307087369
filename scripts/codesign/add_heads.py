#!/usr/bin/env python3
"""Adds the attention heads to the "mha" nodes of the graphs of a data set
written before fab_pred_graph_json recorded them (node = [op, out, in,
macs] -> [op, out, in, macs, heads]).  Every attention op of a generated
model has the model's `heads`, so the result is what `sample` writes now
(checked against fresh lines: see docs/codesign.md).
Usage: add_heads.py IN.jsonl OUT.jsonl"""
import json
import sys

n = 0
with open(sys.argv[1]) as f, open(sys.argv[2], "w") as out:
    for line in f:
        j = json.loads(line)
        heads = j["model"]["heads"]
        for node in j["graph"]["nodes"]:
            if node[0] == "mha" and len(node) == 4:
                node.append(heads)
        out.write(json.dumps(j, separators=(",", ":")) + "\n")
        n += 1
print(f"{n} lines", file=sys.stderr)
