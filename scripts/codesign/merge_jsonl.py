#!/usr/bin/env python3
"""Merges `fabc sample` JSONL files, keeping the first line of each
point key (two samplers with different seeds may draw the same point)."""
import json
import sys

seen = set()
out = open(sys.argv[1], "w")
for path in sys.argv[2:]:
    for line in open(path):
        try:
            key = json.loads(line)["key"]
        except (ValueError, KeyError):
            continue  # a torn last line of a sampler still running
        if key in seen:
            continue
        seen.add(key)
        out.write(line)
print(f"{len(seen)} distinct models", file=sys.stderr)
