#!/usr/bin/env python3
"""budget_stability.py A.jsonl B.jsonl... — ranking stability of trained
accuracy between two training budgets: the models of A (e.g. accbench-acc.jsonl,
200 steps) that are also in the B files (the same points sampled again with
--train-steps 400), their Spearman rho and Kendall tau with 95% percentile
bootstrap intervals (2000 resamples of the models).  Run with /usr/bin/python3.
Its ranks/spearman/kendall/ci/fmt_ci are imported by scripts/explore/analyse_*.py
and scripts/codesign/dataset_stats.py.

The rules (docs/explore.md §5, "Intervals"):
- tau is Kendall's tau-b.  A bootstrap resample repeats items; the pair an
  item forms with its own copy is tied in both variables, so tau-b drops it
  from the numerator and from both normalisers (it is not counted as a 0 as
  tau-a would, which pulls resampled tau toward 0).  Pairs that are really
  tied in one variable count as tau-b counts them.
- rho and tau are undefined (nan) when either variable is constant; a
  resample on which the statistic is undefined is drawn again, so n >= 4
  always gives an interval.  Below MIN_N items ci() returns (nan, nan) and
  fmt_ci prints "n too small" instead of an interval."""
import json
import sys

import numpy as np

MIN_N = 4


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
    """Spearman rho (Pearson correlation of average ranks); nan if a or b is constant."""
    ra, rb = ranks(a), ranks(b)
    ra, rb = ra - ra.mean(), rb - rb.mean()
    den = np.sqrt(np.sum(ra * ra) * np.sum(rb * rb))
    return float(np.sum(ra * rb) / den) if den > 0 else float("nan")


def kendall(a, b):
    """Kendall tau-b over all pairs (one n x n sign matrix per argument); nan if a or b is constant.
    Pairs tied in both (an item with its bootstrap copy) drop out of numerator and normalisers."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    x = np.sign(a[:, None] - a[None, :])
    y = np.sign(b[:, None] - b[None, :])
    s, ta, tb = np.sum(x * y) / 2, np.sum(x != 0) / 2, np.sum(y != 0) / 2
    return float(s / np.sqrt(ta * tb)) if ta and tb else float("nan")


def ci(f, a, b, rounds=2000, seed=1):
    """95 % percentile bootstrap interval of f(a, b), resampling the items (rows of a and b
    together) `rounds` times; undefined (nan) resamples are drawn again.  (nan, nan) if
    len(a) < MIN_N."""
    if len(a) < MIN_N:
        return np.array([np.nan, np.nan])
    rng = np.random.default_rng(seed)
    v = []
    for _ in range(100 * rounds):
        i = rng.integers(0, len(a), len(a))
        r = f(a[i], b[i])
        if not np.isnan(r):
            v.append(r)
            if len(v) == rounds:
                break
    return np.percentile(v, [2.5, 97.5]) if len(v) == rounds else np.array([np.nan, np.nan])


def fmt_ci(est, lo, hi, spec="+.3f"):
    """'est [lo, hi]', or 'est [n too small]' when ci() gave no interval."""
    if np.isnan(lo):
        return f"{est:{spec}} [n too small]"
    return f"{est:{spec}} [{lo:{spec}}, {hi:{spec}}]"


def main():
    a = load([sys.argv[1]])
    b = load(sys.argv[2:])
    keys = sorted(set(a) & set(b))
    x = np.array([a[k] for k in keys])
    y = np.array([b[k] for k in keys])
    print(f"{len(keys)} models in both; mean accuracy {x.mean():.3f} (A) and {y.mean():.3f} (B)")
    for name, f in (("Spearman rho", spearman), ("Kendall tau", kendall)):
        lo, hi = ci(f, x, y)
        print(f"{name} " + fmt_ci(f(x, y), lo, hi, ".3f").replace("[", "[95% CI ", 1)
              .replace("[95% CI n too small", "[n too small"))


if __name__ == "__main__":
    main()
