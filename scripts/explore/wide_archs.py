#!/usr/bin/python3
"""wide_archs.py [SEED] — the architecture sample of the wider space
(docs/explore.md §5), one per line: "d ratio layers cand0 cand1 ...".

The space: width d in {8, 16}, FFN ratio h/d in {2, 4}, depth 2-4 blocks,
each block one of {fbfly, fdense, abfly, transformer}: 4 x (16 + 64 + 256)
= 1344 architectures.  The sample is stratified by (d, ratio, depth): every
depth-2 cell whole (16 each), 18 architectures drawn without replacement
from each depth-3 and depth-4 cell: 64 + 72 + 72 = 208.  The lines are
shuffled so that any prefix of the training order covers all cells."""
import sys

import numpy as np

CANDS = ["fbfly", "fdense", "abfly", "transformer"]
PER_CELL = 18


def main():
    rng = np.random.default_rng(int(sys.argv[1]) if len(sys.argv) > 1 else 17)
    lines = []
    for d in (8, 16):
        for ratio in (2, 4):
            for layers in (2, 3, 4):
                total = 4 ** layers
                ids = range(total) if total <= PER_CELL else rng.choice(total, PER_CELL, replace=False)
                for i in ids:
                    ch = [CANDS[(int(i) // 4 ** l) % 4] for l in range(layers)]
                    lines.append(f"{d} {ratio} {layers} {' '.join(ch)}")
    for k in rng.permutation(len(lines)):
        print(lines[k])


if __name__ == "__main__":
    main()
