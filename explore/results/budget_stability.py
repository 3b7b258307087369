#!/usr/bin/env python3
"""budget_stability.py A.jsonl B.jsonl... — ranking stability of trained
accuracy between two training budgets: the models of A (e.g. accbench-acc.jsonl,
200 steps) that are also in the B files (the same points sampled again with
--train-steps 400), their Spearman rho and Kendall tau with 95% percentile
bootstrap intervals (2000 resamples of the models).  Run with /usr/bin/python3.
Its ranks/spearman/kendall/ci are imported by scripts/explore/analyse_wide.py."""
import json
import sys

import numpy as np


def load(paths):
    out = {}
    for p in paths:
        for line in open(p):
            if line.endswith("\n"):
                j = json.loads(line)
                out[j["key"]] = j["accuracy"]
    return out


def ranks(v):
    """0-based ranks, ties sharing their average rank."""
    _, inv, cnt = np.unique(np.asarray(v, float), return_inverse=True, return_counts=True)
    first = np.cumsum(cnt) - cnt
    return (first + (cnt - 1) / 2)[inv]


def spearman(a, b):
    ra, rb = ranks(a), ranks(b)
    return float(np.corrcoef(ra, rb)[0, 1])


def kendall(a, b):
    """Kendall tau-b over all pairs (one n x n sign matrix per argument)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    x = np.sign(a[:, None] - a[None, :])
    y = np.sign(b[:, None] - b[None, :])
    s, ta, tb = np.sum(x * y) / 2, np.sum(x != 0) / 2, np.sum(y != 0) / 2
    return float(s / np.sqrt(ta * tb)) if ta and tb else 0.0


def ci(f, a, b, rounds=2000, seed=1):
    rng = np.random.default_rng(seed)
    v = []
    for _ in range(rounds):
        i = rng.integers(0, len(a), len(a))
        v.append(f(a[i], b[i]))
    return np.percentile(v, [2.5, 97.5])


def main():
    a = load([sys.argv[1]])
    b = load(sys.argv[2:])
    keys = sorted(set(a) & set(b))
    x = np.array([a[k] for k in keys])
    y = np.array([b[k] for k in keys])
    print(f"{len(keys)} models in both; mean accuracy {x.mean():.3f} (A) and {y.mean():.3f} (B)")
    for name, f in (("Spearman rho", spearman), ("Kendall tau", kendall)):
        lo, hi = ci(f, x, y)
        print(f"{name} {f(x, y):.3f} [95% CI {lo:.3f}, {hi:.3f}]")


if __name__ == "__main__":
    main()
