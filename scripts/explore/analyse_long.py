#!/usr/bin/python3
"""analyse_long.py [--warmup W] OUTDIR WIDE [OTHER...] — the tables of a longer-budget
run (run_long.sh; docs/explore.md §5.5.1, §5.5.2): the labels of OUTDIR's subset
(subset.txt "wide-index line", train.csv or, while the run goes on, its chunk files;
indices = subset lines) at every checkpoint against the 500-step labels of WIDE
(run_wide.sh's run) on the same architectures; convergence over the last interval
(and, for at most 30 architectures, per architecture); the ranking at every
checkpoint against the last one, seed against seed; the proxies of
WIDE/proxies.csv against the last checkpoint, the 2000-step checkpoint and the
500-step labels, with paired intervals of the differences.  Each OTHER is another
run_long.sh directory: its final labels against OUTDIR's, and its accuracies at the
checkpoints the two runs share, seed by seed (reproducibility).  W = the run's
warm-up steps (run_long.sh's WARMUP; default N/10, run_long.sh's default), only
printed.  Reuses analyse_wide.py's readers and budget_stability.py's statistics
(95 % percentile bootstrap over architectures, 2000 resamples)."""
import glob
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from analyse_wide import SEEDS, corr_pair, curves, labels, read  # noqa: E402
from budget_stability import ci, fmt_ci, kendall, spearman  # noqa: E402

# the proxies reported (name, definitions): as named in the brief of issue 17 point 2
PROXIES = [("params", "fabc"), ("macs", "fabc"), ("synflow", "fabc"), ("nwot", "fabc"),
           ("snip", "fabc"), ("fisher", "reference")]
THRESHOLD = 0.02       # §5.1: a change of more than this over the last interval = still changing
PER_ARCH_MAX = 30      # list every architecture's convergence when there are at most this many
CEILING_STEPS = (500, 2000, 5000)  # seed-vs-seed noise ceilings (and at the last checkpoint)


def load_run(out):
    """({(wide index, seed): {step: row}} keyed like curves(), subset lines)."""
    sub = [int(line.split()[0]) for line in open(os.path.join(out, "subset.txt")) if line.strip()]
    files = [os.path.join(out, "train.csv")]
    if not os.path.exists(files[0]):  # a run still going: its chunk files
        files = sorted(glob.glob(os.path.join(out, "train-[0-9]*.csv")))
    cur = curves([r for f in files for r in read(f)])
    return {(sub[i], s): c for (i, s), c in cur.items()}, sub


def steps_of(cur):
    return sorted({s for c in cur.values() for s in c})


def seed_labels(cur, step, seed):
    return {i: c[step][1] for (i, s), c in cur.items() if s == seed and step in c}


def delta(f, x, y_long, y_short):
    """f(x, y_long) - f(x, y_short) with a paired bootstrap CI (the same resampled architectures)."""
    x, Y = np.asarray(x, float), np.column_stack([y_long, y_short])
    g = lambda a, b: f(a, b[:, 0]) - f(a, b[:, 1])  # noqa: E731
    return fmt_ci(g(x, Y), *ci(g, x, Y))


def row(name, x, y):
    return f"| {name} | {len(x)} | " + " | ".join(corr_pair(x, y)) + " |"


def still_improving(cur, ids, prev, last, thr):
    hp, hl = labels(cur, prev, 2), labels(cur, last, 2)
    ap, al = labels(cur, prev), labels(cur, last)
    dl = np.array([hp[i] - hl[i] for i in ids])
    da = np.array([al[i] - ap[i] for i in ids])
    n = len(ids)
    return (f"| {prev} → {last} | {thr:.2f} | {int(np.sum(dl > thr))} of {n} | {int(np.sum(dl < -thr))} of {n} "
            f"| {np.median(dl):+.3f} | {int(np.sum(da > thr))} of {n} | {int(np.sum(da < -thr))} of {n} "
            f"| {np.median(da):+.3f} |")


def labels_table(cur, wcur, ids, N, warmup):
    print("| run | step | mean held-out acc | min | median | max | mean held-out loss "
          "| mean training loss (since the previous checkpoint) |")
    print("|---|---|---|---|---|---|---|---|")
    for name, c in (("wide (500 steps, 50 warm-up)", wcur), (f"long ({N} steps, {warmup} warm-up)", cur)):
        for s in steps_of(c):
            a, h, t = labels(c, s), labels(c, s, 2), labels(c, s, 0)
            v = np.array([a[i] for i in ids])
            print(f"| {name} | {s} | {v.mean():.3f} | {v.min():.3f} | {np.median(v):.3f} | {v.max():.3f} "
                  f"| {np.mean([h[i] for i in ids]):.3f} | {np.mean([t[i] for i in ids]):.3f} |")


def verdict(d_loss, d_acc):
    """§5.1's criterion in both directions over the last interval (changes as last - previous)."""
    better = d_loss < -THRESHOLD or d_acc > THRESHOLD
    worse = d_loss > THRESHOLD or d_acc < -THRESHOLD
    return {(True, False): "improving", (False, True): "worsening", (True, True): "mixed"}.get(
        (better, worse), "flat")


def per_arch_table(cur, ids, wlines, prev, N):
    steps = steps_of(cur)
    shown = [s for s in (2000, 3000, 5000) if s in steps and s < prev] + [prev, N]
    acc = {s: labels(cur, s) for s in steps}
    loss = {s: labels(cur, s, 2) for s in steps}
    print(f"\nPer architecture (mean of the two seeds; Δ = value at {N} − value at {prev}; verdict by the "
          f"§5.1 threshold {THRESHOLD} in either direction: improving, worsening, mixed = loss and accuracy "
          "disagree, flat = neither moved by more):\n")
    print("| wide index | architecture | " + " | ".join(f"acc@{s}" for s in shown)
          + f" | Δ acc | held-out loss@{prev} | @{N} | Δ loss | lowest held-out loss (step) | verdict |")
    print("|---|---|" + "---|" * (len(shown) + 6))
    count, lowest_last = {}, 0
    for i in sorted(ids, key=lambda i: -acc[N][i]):
        da, dl = acc[N][i] - acc[prev][i], loss[N][i] - loss[prev][i]
        low = min(steps, key=lambda s: loss[s][i])
        lowest_last += low == N
        v = verdict(dl, da)
        count[v] = count.get(v, 0) + 1
        print(f"| {i} | {wlines[i]} | " + " | ".join(f"{acc[s][i]:.3f}" for s in shown)
              + f" | {da:+.3f} | {loss[prev][i]:.3f} | {loss[N][i]:.3f} | {dl:+.3f} | {loss[low][i]:.3f} ({low}) "
              f"| {v} |")
    print(f"\nVerdicts: " + ", ".join(f"{v} {count.get(v, 0)}" for v in ("improving", "flat", "worsening", "mixed"))
          + f" of {len(ids)}; the held-out loss is lowest at the last checkpoint for {lowest_last} of {len(ids)}.")


def convergence_section(cur, wcur, ids, wlines):
    steps, N = steps_of(cur), max(steps_of(cur))
    print("\nStill changing (the §5.1 criterion: the mean of the two seeds' held-out loss fell, or accuracy "
          "rose, by more than the threshold over the last interval; the opposite moves are counted too):\n")
    print("| interval | threshold | loss fell | loss rose | median fall | acc rose | acc fell | median rise |")
    print("|---|---|---|---|---|---|---|---|")
    print(still_improving(wcur, ids, 375, 500, THRESHOLD))
    if len(steps) < 2:
        return
    prev = steps[-2]
    if len(steps) > 2:  # the interval before the last: does the trend persist?
        print(still_improving(cur, ids, steps[-3], prev, THRESHOLD))
    print(still_improving(cur, ids, prev, N, THRESHOLD))
    print(still_improving(cur, ids, prev, N, THRESHOLD * (N - prev) / 125))  # the same rate per 125 steps
    if len(ids) <= PER_ARCH_MAX:
        per_arch_table(cur, ids, wlines, prev, N)


def ranking_section(cur, wcur, ids, w500, lab, N):
    steps = steps_of(cur)
    print(f"\n| ranking (mean of the two seeds unless a seed is named) | n | Spearman ρ [95 % CI] "
          f"| Kendall τ [95 % CI] |")
    print("|---|---|---|---|")
    print(row(f"wide acc@500 vs long acc@{N}", [w500[i] for i in ids], [lab[i] for i in ids]))
    for s in steps[:-1]:
        a = labels(cur, s)
        print(row(f"long acc@{s} vs long acc@{N}", [a[i] for i in ids], [lab[i] for i in ids]))
    if 2000 in steps and 5000 in steps and N != 5000:
        a, b = labels(cur, 2000), labels(cur, 5000)
        print(row("long acc@2000 vs long acc@5000", [a[i] for i in ids], [b[i] for i in ids]))
    if 500 in steps:
        a = labels(cur, 500)
        print(row("wide acc@500 vs long acc@500 (same budget, other warm-up)",
                  [w500[i] for i in ids], [a[i] for i in ids]))
    ceilings = [("wide", wcur, 500)] + [("long", cur, s) for s in sorted(set(CEILING_STEPS) | {N}) if s in steps]
    for name, c, s in ceilings:
        s1, s2 = seed_labels(c, s, SEEDS[0]), seed_labels(c, s, SEEDS[1])
        k = [i for i in ids if i in s1 and i in s2]
        print(row(f"{name} seed 1 vs seed 2 at step {s} (noise ceiling)", [s1[i] for i in k], [s2[i] for i in k]))
    # checkpoints of one run share its seed's effect; across seeds, budget against budget
    # compares directly with the seed ceiling at N
    for s in [s for s in sorted(set(CEILING_STEPS) | {3000}) if s in steps and s < N]:
        for a, b in (SEEDS, SEEDS[::-1]):
            x, y = seed_labels(cur, s, a), seed_labels(cur, N, b)
            k = [i for i in ids if i in x and i in y]
            print(row(f"long seed {a} acc@{s} vs seed {b} acc@{N} (across seeds)", [x[i] for i in k], [y[i] for i in k]))


def reproducibility(cur, ocur, name):
    """Seed by seed, the runs' values at the checkpoints both have."""
    common = sorted(set(steps_of(cur)) & set(steps_of(ocur)))
    keys = [k for k in cur if k in ocur]
    pts = [(cur[k][s], ocur[k][s]) for k in keys for s in common if s in cur[k] and s in ocur[k]]
    if not pts:
        return f"| {name} | none | 0 | 0 | | | |"
    d = np.abs(np.array([[a[j] - b[j] for j in (1, 2)] for a, b in pts]))
    same = int(np.sum(np.all(d == 0, axis=1)))
    return (f"| {name} | {', '.join(map(str, common))} | {len(keys)} | {len(pts)} | {same} of {len(pts)} "
            f"| {d[:, 0].max():.4f} | {d[:, 1].max():.5f} |")


def others_section(cur, ids, w500, lab, N, others):
    if not others:
        return
    print("\n| ranking against another run_long.sh run | n | Spearman ρ [95 % CI] | Kendall τ [95 % CI] |")
    print("|---|---|---|---|")
    runs = []
    for o in others:
        ocur, _ = load_run(o)
        name = os.path.normpath(o).split("explore/results/")[-1]
        oN = max(steps_of(ocur))
        olab = labels(ocur, oN)
        k = sorted(set(olab) & set(ids))
        print(row(f"{name} acc@{oN} vs long acc@{N}", [olab[i] for i in k], [lab[i] for i in k]))
        if oN in steps_of(cur) and oN != N:
            a = labels(cur, oN)
            print(row(f"{name} acc@{oN} vs long acc@{oN} (same budget)", [olab[i] for i in k], [a[i] for i in k]))
        wk = [i for i in k if i in w500]
        print(row(f"wide acc@500 vs {name} acc@{oN}", [w500[i] for i in wk], [olab[i] for i in wk]))
        runs.append((name, ocur))
    print("\nReproducibility: the same architecture and seed in both runs, held-out accuracy and loss at "
          "the checkpoints both runs have (the training-loss column is a mean since the previous "
          "checkpoint, so it differs whenever the runs' checkpoint intervals do):\n")
    print("| other run | common checkpoints | runs (architecture × seed) | checkpoints compared "
          "| identical accuracy and loss | max abs Δ acc | max abs Δ held-out loss |")
    print("|---|---|---|---|---|---|---|")
    for name, ocur in runs:
        print(reproducibility(cur, ocur, name))


def proxy_section(wide, ids, cur, w500, lab, N):
    val = {}
    for r in read(os.path.join(wide, "proxies.csv")):
        val.setdefault((r[3], r[4]), {}).setdefault(int(r[0]), {})[int(r[1])] = float(r[5])
    refs = [("wide acc@500", w500)]
    if 2000 in steps_of(cur) and N != 2000:
        refs.insert(0, ("long acc@2000", labels(cur, 2000)))
    y = [lab[i] for i in ids]
    print(f"\n#### Proxies at initialisation (run_wide.sh's, mean of the two seeds) on the {len(ids)} "
          f"architectures\n")
    for sym, f in (("ρ", spearman), ("τ", kendall)):
        print(f"| proxy | definitions | {sym} with long acc@{N} | "
              + " | ".join(f"{sym} with {n}" for n, _ in refs) + " | "
              + " | ".join(f"Δ{sym} (acc@{N} − {n}) [paired CI]" for n, _ in refs) + " |")
        print("|---|---|---|" + "---|" * (2 * len(refs)))
        for name, defs in PROXIES:
            v = val[(name, defs)]
            x = np.array([np.mean([v[i][s] for s in SEEDS]) for i in ids])
            ys = [np.array([r[i] for i in ids], float) for _, r in refs]
            cols = [fmt_ci(f(x, yy), *ci(f, x, yy)) for yy in [np.array(y, float)] + ys]
            cols += [delta(f, x, y, yy) for yy in ys]
            print(f"| {name} | {defs} | " + " | ".join(cols) + " |")
        print()


def main(out, wide, others, warmup=None):
    cur, sub = load_run(out)
    wcur = {k: c for k, c in curves(read(os.path.join(wide, "train.csv"))).items() if k[0] in sub}
    wlines = [line.strip() for line in open(os.path.join(wide, "archs.txt")) if line.strip()]
    steps = steps_of(cur)
    N = max(steps)
    lab = labels(cur, N)
    ids = sorted(lab)
    w500 = labels(wcur, 500)
    print(f"#### Labels: {len(ids)} of the {len(sub)} subset architectures have both seeds at step {N} "
          f"(checkpoints {', '.join(map(str, steps))}); run_wide.sh's 500-step run on the same ones\n")
    labels_table(cur, wcur, ids, N, N // 10 if warmup is None else warmup)
    convergence_section(cur, wcur, ids, wlines)
    ranking_section(cur, wcur, ids, w500, lab, N)
    others_section(cur, ids, w500, lab, N, others)
    proxy_section(wide, ids, cur, w500, lab, N)
    best = sorted(ids, key=lambda i: -lab[i])[:5]
    print(f"Best five at step {N} (wide index, architecture, long acc@{N}, wide acc@500): "
          + "; ".join(f"{i} {wlines[i]} {lab[i]:.3f} {w500[i]:.3f}" for i in best))
    done = [c for (i, s), c in cur.items() if i in lab]
    secs = sum(c[max(c)][3] for c in done)
    print(f"\nTraining the subset: {len(done)} runs, {secs:.0f} s summed over runs (wall, nice 10, "
          "two at a time on shared cores).")


if __name__ == "__main__":
    args = sys.argv[1:]
    w = None
    if args and args[0] == "--warmup":
        w, args = int(args[1]), args[2:]
    main(args[0], args[1], args[2:], w)
