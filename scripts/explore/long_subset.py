#!/usr/bin/python3
"""long_subset.py WIDE_ARCHS K [SEED [TAKE]] — the stratified subset of the longer-budget
run (docs/explore.md §5.5.1): K architectures drawn without replacement from every
(d, FFN ratio, blocks) cell of WIDE_ARCHS (run_wide.sh's sample), with a fixed
seed (numpy default_rng, default 1); with TAKE, only the first TAKE of each
cell's K in draw order (a subset nested in the K one).  Prints "index line" rows, index = the
line number in WIDE_ARCHS, sorted by index."""
import sys

import numpy as np


def main(path, k, seed=1, take=None):
    lines = [ln.strip() for ln in open(path) if ln.strip()]
    cells = {}
    for i, ln in enumerate(lines):
        cells.setdefault(tuple(map(int, ln.split()[:3])), []).append(i)
    rng = np.random.default_rng(seed)
    pick = []
    for cell in sorted(cells):
        pick += [int(i) for i in rng.choice(cells[cell], size=k, replace=False)][:take]
    for i in sorted(pick):
        print(i, lines[i])


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), *map(int, sys.argv[3:5]))
