#!/usr/bin/python3
"""analyse_space.py OUTDIR — tables for docs/explore.md from the CSVs of
run_space.sh: proxy rank correlations with trained accuracy, the seed
noise ceiling, and Zero-Cost-PT's chosen ranks, per-edge op-score
correlations and cost.  Needs only numpy."""
import math
import os
import sys

import numpy as np

PROXIES = ["synflow", "snip", "grad_norm", "fisher", "jacob_cov", "nwot", "params", "macs"]
CANDS = ["fbfly", "fdense", "abfly", "transformer"]
LAYERS = 4


def ranks(x):
    """Average ranks (1 = smallest), ties shared."""
    x = np.asarray(x, dtype=float)
    order = np.argsort(x, kind="mergesort")
    r = np.empty(len(x))
    i = 0
    while i < len(x):
        j = i
        while j + 1 < len(x) and x[order[j + 1]] == x[order[i]]:
            j += 1
        r[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return r


def spearman(a, b):
    ra, rb = ranks(a), ranks(b)
    if np.std(ra) == 0 or np.std(rb) == 0:
        return float("nan")
    return float(np.corrcoef(ra, rb)[0, 1])


def kendall(a, b):
    """Kendall tau-b."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    n = len(a)
    conc = disc = ta = tb = 0
    for i in range(n):
        da = np.sign(a[i + 1:] - a[i])
        db = np.sign(b[i + 1:] - b[i])
        conc += int(np.sum(da * db > 0))
        disc += int(np.sum(da * db < 0))
        ta += int(np.sum((da == 0) & (db != 0)))
        tb += int(np.sum((db == 0) & (da != 0)))
    den = math.sqrt((conc + disc + ta) * (conc + disc + tb))
    return (conc - disc) / den if den else float("nan")


def read(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [line.strip().split(",") for line in f if line.strip()]


def main():
    out = sys.argv[1]
    tr = read(os.path.join(out, "train.csv"))
    acc = {int(r[0]): float(r[LAYERS + 1]) for r in tr}
    secs = {int(r[0]): float(r[LAYERS + 4]) for r in tr}
    arch = {int(r[0]): r[1:LAYERS + 1] for r in tr}
    ids = sorted(acc)
    A = np.array([acc[i] for i in ids])
    print(f"## Ground truth: {len(ids)} architectures trained\n")
    print(f"accuracy: min {A.min():.3f}, median {np.median(A):.3f}, max {A.max():.3f}, "
          f"std {A.std():.3f}; training wall time {sum(secs.values()):.0f} s summed over architectures "
          f"({np.mean(list(secs.values())):.2f} s each; one thread per process, two processes)\n")
    best = sorted(ids, key=lambda i: -acc[i])[:5]
    print("best: " + "; ".join(f"{'/'.join(arch[i])} {acc[i]:.3f}" for i in best) + "\n")
    # rank of an architecture by accuracy: 1 = best, ties share the best rank
    def rank_of(i):
        return 1 + sum(1 for j in ids if acc[j] > acc[i])

    s2 = read(os.path.join(out, "train_seed2.csv"))
    if s2:
        sid = [int(r[0]) for r in s2 if int(r[0]) in acc]
        a1 = [acc[i] for i in sid]
        a2 = [float(r[LAYERS + 1]) for r in s2 if int(r[0]) in acc]
        print(f"seed noise ceiling ({len(sid)} architectures retrained with another seed): "
              f"Kendall tau {kendall(a1, a2):.3f}, Spearman rho {spearman(a1, a2):.3f}, "
              f"mean |acc difference| {np.mean(np.abs(np.array(a1) - np.array(a2))):.3f}\n")

    px = read(os.path.join(out, "proxies.csv"))
    if px:
        print("## Proxies at initialisation vs trained accuracy\n")
        print("| proxy | Kendall tau | Spearman rho | rank of its top-1 arch | ms per evaluation |")
        print("|---|---|---|---|---|")
        P = {int(r[0]): r for r in px}
        pid = [i for i in ids if i in P]
        for k, name in enumerate(PROXIES):
            col = 1 + LAYERS + 2 * k
            v = [float(P[i][col]) for i in pid]
            t = np.mean([float(P[i][col + 1]) for i in pid]) * 1e3
            a = [acc[i] for i in pid]
            top = pid[int(np.nanargmax(v))]
            print(f"| {name} | {kendall(v, a):.3f} | {spearman(v, a):.3f} | {rank_of(top)} | {t:.1f} |")
        print()

    zc = read(os.path.join(out, "zcpt.csv"))
    if zc:
        # op strength: mean accuracy of all architectures using op c on edge e
        strength = np.zeros((LAYERS, len(CANDS)))
        for e in range(LAYERS):
            for c, name in enumerate(CANDS):
                strength[e, c] = np.mean([acc[i] for i in ids if arch[i][e] == name])
        print("## Op strength (mean accuracy of the architectures using the op on the edge)\n")
        print("| edge | " + " | ".join(CANDS) + " |")
        print("|---" * (len(CANDS) + 1) + "|")
        for e in range(LAYERS):
            print(f"| layers.{e} | " + " | ".join(f"{strength[e, c]:.3f}" for c in range(len(CANDS))) + " |")
        print()
        total_train = sum(secs.values())
        train_passes = None
        print("## Zero-Cost-PT (N = 10 proposals, minibatches of 32, 10 seeds; V = 100 for nwot and "
          "synflow, 20 for snip and jacob_cov)\n")
        print("| proxy | chosen ranks (10 seeds, of 256; 1 = best) | median rank | mean acc of chosen "
              "| per-edge Spearman (mean op score vs strength) | mean per-seed per-edge Spearman "
              "| s per run | proxy evals | samples passed |")
        print("|---|---|---|---|---|---|---|---|---|")
        for name in PROXIES:
            rows = [r for r in zc if r[0] == name]
            if not rows:
                continue
            chosen = [int(r[2]) for r in rows]
            rk = [rank_of(i) for i in chosen]
            scores = np.array([[float(x) for x in r[7:7 + LAYERS * len(CANDS)]] for r in rows])
            scores = scores.reshape(len(rows), LAYERS, len(CANDS))
            mean_sc = scores.mean(axis=0)
            pe = [spearman(mean_sc[e], strength[e]) for e in range(LAYERS)]
            per_seed = np.nanmean([[spearman(scores[s, e], strength[e]) for e in range(LAYERS)]
                                   for s in range(len(rows))])
            sec = np.mean([float(r[6]) for r in rows])
            ev = np.mean([float(r[4]) for r in rows])
            fp = np.mean([float(r[5]) for r in rows])
            print(f"| {name} | {' '.join(map(str, rk))} | {np.median(rk):.0f} | "
                  f"{np.mean([acc[i] for i in chosen]):.3f} | "
                  f"{' '.join(f'{x:+.2f}' for x in pe)} | {per_seed:+.2f} | {sec:.1f} | {ev:.0f} | {fp:.0f} |")
        print()
        print(f"Random choice: expected rank {(len(ids) + 1) / 2:.0f}, expected accuracy {A.mean():.3f}. "
              f"Training the whole space took {total_train:.0f} s of wall time summed over architectures "
              f"(256 x 600 steps x 32 samples = {256 * 600 * 32} forward+backward passes).\n")


if __name__ == "__main__":
    main()
