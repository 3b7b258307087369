#!/usr/bin/env python3
"""trace_table.py — the "hypervolume against evaluations" table of
docs/codesign.md from a `fabc codesign --compare strategies` trace
(TRACE.csv: strategy,seed,evaluations,hypervolume_ratio), each cell the mean
over the seeds with its 95% percentile-bootstrap interval (2000 resamples
of the seeds, as the strategies table; standard library only).

usage: scripts/codesign/trace_table.py TRACE.csv [EVALS ...]
       (default columns: 500 2000 3600 5200 6800 and the budget)
"""
import csv, random, sys


def at(trace, e):
    """A seed's hypervolume after e evaluations (its trace as a step function)."""
    v = 0.0
    for n, h in trace:
        if n > e:
            break
        v = h
    return v


def ci(vals, rounds=2000, seed=1):
    rng = random.Random(seed)
    means = sorted(sum(rng.choice(vals) for _ in vals) / len(vals) for _ in range(rounds))
    return means[int(0.025 * rounds)], means[int(0.975 * rounds) - 1]


def main():
    rows = list(csv.DictReader(open(sys.argv[1])))
    traces, budget = {}, 0
    for r in rows:
        n = int(r["evaluations"])
        traces.setdefault(r["strategy"], {}).setdefault(r["seed"], []).append((n, float(r["hypervolume_ratio"])))
        budget = max(budget, n)
    cols = [int(a) for a in sys.argv[2:]] or [500, 2000, 3600, 5200, 6800, budget]
    print("| evaluations | " + " | ".join(str(c) for c in cols) + " |")
    print("|---|" + "---|" * len(cols))
    for strat, seeds in traces.items():
        cells = []
        for c in cols:
            vals = [at(sorted(t), c) for t in seeds.values()]
            lo, hi = ci(vals)
            cells.append(f"{sum(vals) / len(vals):.3f} [{lo:.3f}, {hi:.3f}]")
        print(f"| {strat} | " + " | ".join(cells) + " |")


main()
