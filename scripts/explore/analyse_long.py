#!/usr/bin/python3
"""analyse_long.py OUTDIR WIDE [OTHER...] — the tables of the longer-budget check
(run_long.sh; docs/explore.md §5.5.1): the labels of OUTDIR's subset (subset.txt
"wide-index line", train.csv or its chunks, indices = subset lines) at every
checkpoint against the 500-step labels of WIDE (run_wide.sh's run) on the
same architectures, seed against seed, how many are still improving, and the
proxies of WIDE/proxies.csv against both.  Each OTHER is another run_long.sh
directory whose final labels are compared with OUTDIR's on their common
architectures.  Reuses analyse_wide.py's readers and budget_stability.py's
statistics (95 % percentile bootstrap over architectures, 2000 resamples)."""
import glob
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from analyse_wide import SEEDS, corr_pair, curves, labels, read  # noqa: E402
from budget_stability import ci, spearman  # noqa: E402

# the proxies reported (name, definitions): as named in the brief of issue 17 point 2
PROXIES = [("params", "fabc"), ("macs", "fabc"), ("synflow", "fabc"), ("nwot", "fabc"),
           ("snip", "fabc"), ("fisher", "reference")]


def load_run(out):
    """({wide index: {(seed): {step: row}}} keyed like curves(), subset lines)."""
    sub = [int(line.split()[0]) for line in open(os.path.join(out, "subset.txt")) if line.strip()]
    files = [os.path.join(out, "train.csv")]
    if not os.path.exists(files[0]):  # a run still going: its chunk files
        files = sorted(glob.glob(os.path.join(out, "train-[0-9]*.csv")))
    cur = curves([r for f in files for r in read(f)])
    return {(sub[i], s): c for (i, s), c in cur.items()}, sub


def seed_labels(cur, step, seed):
    return {i: c[step][1] for (i, s), c in cur.items() if s == seed and step in c}


def delta_rho(x, y_long, y_short):
    """ρ(x, y_long) - ρ(x, y_short) with a paired bootstrap CI (the same resampled architectures)."""
    x, Y = np.asarray(x, float), np.column_stack([y_long, y_short])
    f = lambda a, b: spearman(a, b[:, 0]) - spearman(a, b[:, 1])  # noqa: E731
    lo, hi = ci(f, x, Y)
    return f"{f(x, Y):+.3f} [{lo:+.3f}, {hi:+.3f}]"


def row(name, x, y):
    return f"| {name} | {len(x)} | " + " | ".join(corr_pair(x, y)) + " |"


def still_improving(cur, ids, prev, last, thr):
    hp, hl = labels(cur, prev, 2), labels(cur, last, 2)
    ap, al = labels(cur, prev), labels(cur, last)
    dl = np.array([hp[i] - hl[i] for i in ids])
    da = np.array([al[i] - ap[i] for i in ids])
    return (f"| {prev} → {last} | {thr:.2f} | {int(np.sum(dl > thr))} of {len(ids)} | {np.median(dl):+.3f} "
            f"| {int(np.sum(da > thr))} of {len(ids)} | {np.median(da):+.3f} |")


def main(out, wide, others):
    cur, sub = load_run(out)
    wcur = {k: c for k, c in curves(read(os.path.join(wide, "train.csv"))).items() if k[0] in sub}
    wlines = [line.strip() for line in open(os.path.join(wide, "archs.txt")) if line.strip()]
    steps = sorted({s for c in cur.values() for s in c})
    N = max(steps)
    lab = labels(cur, N)
    ids = sorted(lab)
    w500 = labels(wcur, 500)
    print(f"### Labels: {len(ids)} of the {len(sub)} subset architectures have both seeds at step {N} "
          f"(checkpoints {', '.join(map(str, steps))}); run_wide.sh's 500-step run on the same ones\n")
    print("| run | step | mean held-out acc | min | median | max | mean held-out loss |")
    print("|---|---|---|---|---|---|---|")
    for name, c, ss in (("wide (500 steps, 50 warm-up)", wcur, sorted({s for v in wcur.values() for s in v})),
                        (f"long ({N} steps, {N // 10} warm-up)", cur, steps)):
        for s in ss:
            a, h = labels(c, s), labels(c, s, 2)
            v = np.array([a[i] for i in ids])
            print(f"| {name} | {s} | {v.mean():.3f} | {v.min():.3f} | {np.median(v):.3f} | {v.max():.3f} "
                  f"| {np.mean([h[i] for i in ids]):.3f} |")
    print("\nStill improving (the §5.1 criterion: the mean of the two seeds' held-out loss fell, "
          "or accuracy rose, by more than the threshold over the last interval):\n")
    print("| interval | threshold | loss fell | median fall | acc rose | median rise |")
    print("|---|---|---|---|---|---|")
    print(still_improving(wcur, ids, 375, 500, 0.02))
    if len(steps) > 1:
        per = (N - steps[-2]) / 125  # the same threshold per 125 steps
        print(still_improving(cur, ids, steps[-2], N, 0.02))
        print(still_improving(cur, ids, steps[-2], N, 0.02 * per))
    print(f"\n| ranking (mean of the two seeds unless a seed is named) | n | Spearman ρ [95 % CI] "
          f"| Kendall τ [95 % CI] |")
    print("|---|---|---|---|")
    print(row(f"wide acc@500 vs long acc@{N}", [w500[i] for i in ids], [lab[i] for i in ids]))
    for s in steps[:-1]:
        a = labels(cur, s)
        print(row(f"long acc@{s} vs long acc@{N}", [a[i] for i in ids], [lab[i] for i in ids]))
    a = labels(cur, 500)
    if 500 in steps:
        print(row("wide acc@500 vs long acc@500 (same budget, other warm-up)",
                  [w500[i] for i in ids], [a[i] for i in ids]))
    for name, c, s in (("wide", wcur, 500), ("long", cur, 500), ("long", cur, N)):
        s1, s2 = seed_labels(c, s, SEEDS[0]), seed_labels(c, s, SEEDS[1])
        k = [i for i in ids if i in s1 and i in s2]
        if k and (s in steps or c is wcur):
            print(row(f"{name} seed 1 vs seed 2 at step {s} (noise ceiling)",
                      [s1[i] for i in k], [s2[i] for i in k]))
    for o in others:
        ocur, _ = load_run(o)
        oN = max(s for c in ocur.values() for s in c)
        olab = labels(ocur, oN)
        k = sorted(set(olab) & set(ids))
        print(row(f"{os.path.basename(os.path.normpath(o))} acc@{oN} vs long acc@{N}",
                  [olab[i] for i in k], [lab[i] for i in k]))
        wk = [i for i in k if i in w500]
        print(row(f"wide acc@500 vs {os.path.basename(os.path.normpath(o))} acc@{oN}",
                  [w500[i] for i in wk], [olab[i] for i in wk]))
    print()
    val = {}
    for r in read(os.path.join(wide, "proxies.csv")):
        val.setdefault((r[3], r[4]), {}).setdefault(int(r[0]), {})[int(r[1])] = float(r[5])
    print(f"### Proxies at initialisation (run_wide.sh's, mean of the two seeds) on the {len(ids)} "
          f"architectures\n")
    print(f"| proxy | definitions | ρ with long acc@{N} | τ with long acc@{N} | ρ with wide acc@500 "
          f"| τ with wide acc@500 | Δρ (long − wide) [paired CI] |")
    print("|---|---|---|---|---|---|---|")
    for name, defs in PROXIES:
        v = val[(name, defs)]
        x = [np.mean([v[i][s] for s in SEEDS]) for i in ids]
        r2, t2 = corr_pair(x, [lab[i] for i in ids])
        r5, t5 = corr_pair(x, [w500[i] for i in ids])
        d = delta_rho(x, [lab[i] for i in ids], [w500[i] for i in ids])
        print(f"| {name} | {defs} | {r2} | {t2} | {r5} | {t5} | {d} |")
    best = sorted(ids, key=lambda i: -lab[i])[:5]
    print(f"\nBest five at step {N} (wide index, architecture, long acc@{N}, wide acc@500): "
          + "; ".join(f"{i} {wlines[i]} {lab[i]:.3f} {w500[i]:.3f}" for i in best))
    secs = sum(c[max(c)][3] for c in cur.values())
    print(f"\nTraining the subset: {len(cur)} runs, {secs:.0f} s summed over runs (wall, nice 10, "
          "two at a time on shared cores).")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
