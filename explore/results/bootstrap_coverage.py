#!/usr/bin/env python3
"""bootstrap_coverage.py [N R REPS] — checks the interval rule of budget_stability.py
by simulation: REPS samples of N points from a bivariate normal with correlation R
(default 24, 0.9, 300; population Spearman rho = (6/pi) asin(R/2), Kendall tau =
(2/pi) asin(R)); for each, the 95 % percentile bootstrap interval (1000 resamples)
of rho, tau-b (the rule used) and tau-a (ties and a resample's item-with-its-copy
pairs counted as 0).  Prints how often each interval holds the population value and
the mean of (bootstrap median - estimate): a resampling bias shows there.
Output for the defaults and N = 48: explore/results/bootstrap-coverage.txt.
Run with /usr/bin/python3 (numpy)."""
import sys

import numpy as np

from budget_stability import kendall, spearman


def kendall_a(a, b):
    x, y = np.sign(a[:, None] - a[None, :]), np.sign(b[:, None] - b[None, :])
    return float(np.sum(x * y)) / (len(a) * (len(a) - 1))


def main(n, r, reps):
    truth = {"Spearman rho": 6 / np.pi * np.arcsin(r / 2), "Kendall tau-b": 2 / np.pi * np.arcsin(r),
             "Kendall tau-a": 2 / np.pi * np.arcsin(r)}
    stats = {"Spearman rho": spearman, "Kendall tau-b": kendall, "Kendall tau-a": kendall_a}
    hit = {k: 0 for k in stats}
    shift = {k: [] for k in stats}
    rng = np.random.default_rng(7)
    for _ in range(reps):
        z = rng.multivariate_normal([0, 0], [[1, r], [r, 1]], n)
        idx = [rng.integers(0, n, n) for _ in range(1000)]
        for k, f in stats.items():
            est = f(z[:, 0], z[:, 1])
            v = np.array([f(z[i, 0], z[i, 1]) for i in idx])
            lo, hi = np.percentile(v, [2.5, 97.5])
            hit[k] += lo <= truth[k] <= hi
            shift[k].append(np.median(v) - est)
    for k in stats:
        print(f"n {n}, r {r}, {reps} samples: {k} (population {truth[k]:.3f}): 95 % interval holds it "
              f"{hit[k] / reps:.3f}; mean bootstrap median - estimate {np.mean(shift[k]):+.4f}")


if __name__ == "__main__":
    a = sys.argv[1:]
    main(int(a[0]) if a else 24, float(a[1]) if len(a) > 1 else 0.9, int(a[2]) if len(a) > 2 else 300)
