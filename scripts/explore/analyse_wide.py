#!/usr/bin/python3
"""analyse_wide.py OUTDIR — the tables of the wider-space experiment
(run_wide.sh; docs/explore.md §5) from its CSVs:
  archs.txt     the sample, "d ratio layers cand..." (index = line number)
  train.csv     index,seed,step,train_loss(window),test_acc,test_loss,seconds
  proxies.csv   index,seed,linear_layers,proxy,fabc|reference,score,ms
  zcpt.csv      Zero-Cost-PT runs (space.c zcpt), chosen architecture last
  chosen.txt, train-chosen.csv   chosen architectures outside the sample
analyse_wide.py --chosen OUTDIR prints the chosen architectures that are not
in the sample (archs.txt lines).  Intervals: 95 % percentile bootstrap over
architectures (2000 resamples), the functions of
explore/results/budget_stability.py.  Needs numpy; run with /usr/bin/python3."""
import glob
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../explore/results"))
from budget_stability import ci, fmt_ci as fmt_interval, kendall, spearman  # noqa: E402

CANDS = ["fbfly", "fdense", "abfly", "transformer"]
ZC_EDGES = 4
PROXIES = ["synflow", "snip", "grad_norm", "fisher", "jacob_cov", "nwot", "params", "macs"]
LOG_VALUED = {"synflow"}               # returned as ln(score)
COUNTING = {"synflow", "snip", "grad_norm", "fisher"}  # sums over scored weights/layers
SEEDS = (1, 2)


def read(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [line.strip().split(",") for line in f if line.strip()]


def read_archs(path):
    return [line.strip() for line in open(path) if line.strip()] if os.path.exists(path) else []


def zcpt_rows(out):
    """(proxy, seed, arch line, distinct proposals, proxy evals, samples passed, seconds)."""
    rows = []
    for r in read(os.path.join(out, "zcpt.csv")):
        k = 7 + ZC_EDGES * len(CANDS)
        d, h, layers = int(r[k]), int(r[k + 1]), int(r[k + 2])
        line = f"{d} {h // d} {layers} " + " ".join(r[k + 3:k + 3 + layers])
        rows.append((r[0], int(r[1]), line, int(r[3]), int(r[4]), int(r[5]), float(r[6])))
    return rows


def chosen_main(out):
    sample = set(read_archs(os.path.join(out, "archs.txt")))
    seen = []
    for r in zcpt_rows(out):
        if r[2] not in sample and r[2] not in seen:
            seen.append(r[2])
    for line in seen:
        print(line)
    # the baseline Zero-Cost-PT must beat inside its cell: params/MACs' pick, all dense blocks
    cell = zcpt_rows(out)[0][2].split()[:3]
    base = " ".join(cell + ["transformer"] * int(cell[2]))
    if base not in sample and base not in seen:
        print(base)


def curves(rows):
    """{(index, seed): {step: (train_loss, acc, test_loss, seconds)}}"""
    c = {}
    for r in rows:
        c.setdefault((int(r[0]), int(r[1])), {})[int(r[2])] = tuple(map(float, r[3:7]))
    return c


def labels(cur, step, col=1):
    """{index: mean over both seeds of column col at `step`} for archs with both seeds there."""
    out = {}
    for (i, s), c in cur.items():
        if s == SEEDS[0] and step in c and step in cur.get((i, SEEDS[1]), {}):
            out[i] = (c[step][col] + cur[(i, SEEDS[1])][step][col]) / 2
    return out


def fmt_ci(f, x, y):
    x, y = np.asarray(x, float), np.asarray(y, float)
    return fmt_interval(f(x, y), *ci(f, x, y))


def corr_pair(x, y):
    return fmt_ci(spearman, x, y), fmt_ci(kendall, x, y)


def proxy_table(out, lab, lab_mid, mid, nl_of, par_of):
    px = read(os.path.join(out, "proxies.csv"))
    val = {}
    for r in px:
        i, s, name, defs, v = int(r[0]), int(r[1]), r[3], r[4], float(r[5])
        val.setdefault((name, defs), {}).setdefault(i, {})[s] = v
    ids = sorted(i for i in lab if i in par_of)
    y = [lab[i] for i in ids]
    ye = [lab_mid[i] for i in ids]
    P = np.log([par_of[i] for i in ids])
    NL = np.log([nl_of[i] for i in ids])
    print(f"{len(ids)} architectures; proxy = mean over the two initialisation seeds; "
          "ρ = Spearman, τ = Kendall tau-b, [95 % bootstrap CI]\n")
    print(f"| proxy | definitions | normalised | ρ with acc@N | τ with acc@N | ρ with acc@{mid} "
          "| ρ with params | ρ with linear layers | top-1's rank |")
    print("|---|---|---|---|---|---|---|---|---|")
    order = sorted(ids, key=lambda i: -lab[i])
    rank = {i: 1 + sum(1 for j in ids if lab[j] > lab[i]) for i in ids}
    for name in PROXIES:
        for defs in ("fabc", "reference"):
            if (name, defs) not in val:
                continue
            v = val[(name, defs)]
            raw = np.array([np.mean([v[i][s] for s in SEEDS if s in v.get(i, {})]) for i in ids])
            variants = [("raw", raw)]
            if name in COUNTING:
                if name in LOG_VALUED:  # ln(score) - ln(count) = ln(score / count)
                    variants += [("per parameter", raw - P), ("per layer", raw - NL)]
                else:
                    variants += [("per parameter", raw / np.exp(P)), ("per layer", raw / np.exp(NL))]
            for norm, x in variants:
                r, t = corr_pair(x, y)
                re_, _ = corr_pair(x, ye)
                top = ids[int(np.nanargmax(x))]
                print(f"| {name} | {defs} | {norm} | {r} | {t} | {re_} | {spearman(x, P):+.2f} "
                      f"| {spearman(x, NL):+.2f} | {rank[top]} |")
    print(f"\nBest architecture: {order[0]} (acc {lab[order[0]]:.3f}). 'top-1's rank' = rank by "
          f"acc@N (1 = best of {len(ids)}) of the architecture the proxy scores highest.\n")
    return val


def zcpt_table(out, archs, lab, cur_all, cur_ch, tsec, truns, steps):
    rows = zcpt_rows(out)
    if not rows:
        return
    chosen_lines = read_archs(os.path.join(out, "chosen.txt"))
    lab_ch = labels(cur_ch, steps) if cur_ch else {}
    acc_of = {archs[i]: a for i, a in lab.items()}
    acc_of.update({chosen_lines[i]: a for i, a in lab_ch.items()})
    ids = sorted(lab)
    A = np.array([lab[i] for i in ids])
    cell = rows[0][2].split()[:3]
    cell_ids = [i for i in ids if archs[i].split()[:3] == cell]
    Ac = np.array([lab[i] for i in cell_ids])
    print(f"Zero-Cost-PT on the d {cell[0]}, FFN ratio {cell[1]}, {cell[2]}-block supernet "
          f"(4^{cell[2]} = {4 ** int(cell[2])} architectures; {len(cell_ids)} of them in the sample), "
          "N = 10 proposals of minibatches of 32, seeds 1-10. Rank = 1 + number of sampled "
          f"architectures with a higher acc@N (of {len(ids)} in the whole sample; of {len(cell_ids)} "
          "in the supernet's cell); accuracy = mean of the two training seeds; [95 % bootstrap CI "
          "over the 10 runs].\n")
    print("| proxy | V | distinct archs chosen | ranks in the sample (10 seeds) | median rank "
          "| median rank in the cell | mean acc@N of the chosen | s per run | samples passed per run |")
    print("|---|---|---|---|---|---|---|---|---|")
    chosen_by, chosen_acc = {}, {}
    for name in ("nwot", "synflow", "snip"):
        rr = [r for r in rows if r[0] == name]
        if not rr:
            continue
        acc = [acc_of.get(r[2], np.nan) for r in rr]
        rk = [1 + int(np.sum(A > a)) if a == a else -1 for a in acc]
        rkc = [1 + int(np.sum(Ac > a)) if a == a else -1 for a in acc]
        ok = np.array([a for a in acc if a == a])
        m = fmt_interval(ok.mean(), *ci(lambda a, b: float(np.mean(a)), ok, ok), ".3f") if len(ok) else "n/a"
        v = 100 if name != "snip" else 20
        print(f"| {name} | {v} | {len(set(r[2] for r in rr))} | {' '.join(str(x) if x > 0 else '?' for x in rk)} "
              f"| {np.median([x for x in rk if x > 0]) if any(x > 0 for x in rk) else 'n/a'} "
              f"| {np.median([x for x in rkc if x > 0]) if any(x > 0 for x in rkc) else 'n/a'} "
              f"| {m} | {np.mean([r[6] for r in rr]):.1f} | {np.mean([r[5] for r in rr]):.0f} |")
        for line in sorted(set(r[2] for r in rr), key=lambda x: -acc_of.get(x, -1)):
            a = acc_of.get(line)
            chosen_by[line] = chosen_by.get(line, []) + [f"{name}×{sum(1 for r in rr if r[2] == line)}"]
            chosen_acc[line] = a
    print("\nChosen architectures: " + "; ".join(
        f"{line.split(None, 3)[3].replace(' ', '/')} ({', '.join(chosen_by[line])}) "
        + (f"{chosen_acc[line]:.3f}" if chosen_acc[line] is not None else "not trained")
        for line in sorted(chosen_by, key=lambda x: -(chosen_acc[x] or 0))) + ".")
    zc_pass = {name: np.mean([r[5] for r in rows if r[0] == name]) for name in ("nwot", "synflow", "snip")
               if any(r[0] == name for r in rows)}
    zc_sec = {name: np.mean([r[6] for r in rows if r[0] == name]) for name in zc_pass}
    passes = 2 * truns * steps * 32
    print("Cost against training the sample once (" + f"{passes} passes, {tsec:.0f} s): " + "; ".join(
        f"{name} {passes / zc_pass[name]:.0f}x fewer passes, {tsec / zc_sec[name]:.0f}x less time"
        for name in zc_pass) + f". Training the whole supernet cell (256 x 2 seeds) would cost about "
        f"{256 / max(len(cell_ids), 1) * sum(c[max(c)][3] for (i, s), c in cur_all.items() if i in cell_ids and i in lab):.0f} s "
        "at the cell's measured per-run times.")
    base = " ".join(cell + ["transformer"] * int(cell[2]))
    if acc_of.get(base) is not None:
        a = acc_of[base]
        print(f"Baseline inside the cell, params' and MACs' pick ({base.split(None, 3)[3].replace(' ', '/')}, "
              f"the most parameters and MACs of the 256): acc@N {a:.3f}, rank {1 + int(np.sum(A > a))} in "
              f"the sample, {1 + int(np.sum(Ac > a))} in the cell.")
    if len(Ac) > 1:
        print(f"A random pick inside the cell: mean acc@N of its {len(Ac)} sampled architectures "
              + fmt_interval(Ac.mean(), *ci(lambda a, b: float(np.mean(a)), Ac, Ac), ".3f") + ".")
    best_cell = max(cell_ids, key=lambda i: lab[i]) if cell_ids else None
    print(f"\nReference points: the whole sample's mean acc@N {A.mean():.3f} (a random pick's "
          f"expected rank {(len(ids) + 1) / 2:.0f}), best {A.max():.3f}; the cell's mean "
          f"{Ac.mean() if len(Ac) else float('nan'):.3f}, best sampled "
          f"{lab[best_cell] if best_cell is not None else float('nan'):.3f} ({archs[best_cell] if best_cell is not None else ''}).")
    print(f"Training the sample: {truns} runs x {steps} steps x 32 samples = {truns * steps * 32} samples "
          f"forward + backward ({2 * truns * steps * 32} passes in Zero-Cost-PT's counting), "
          f"{tsec:.0f} s summed over runs (wall, nice 10 on shared cores).\n")


def main(out):
    archs = read_archs(os.path.join(out, "archs.txt"))
    tfiles = [os.path.join(out, "train.csv")]
    if not os.path.exists(tfiles[0]):  # a run still going: its chunk files
        tfiles = sorted(glob.glob(os.path.join(out, "train-[0-9]*.csv")))
    cur = curves([r for f in tfiles for r in read(f)])
    steps_all = sorted({s for c in cur.values() for s in c})
    N = max(steps_all)
    early = steps_all[0]
    lab = labels(cur, N)
    lab_e = labels(cur, early)
    ids = sorted(lab)
    print(f"### 5.1 Labels: {len(ids)} architectures x 2 seeds trained {N} steps "
          f"(checkpoints {', '.join(map(str, steps_all))})\n")
    print("| step | mean held-out acc | min | median | max | mean training loss (window) "
          "| mean held-out loss |")
    print("|---|---|---|---|---|---|---|")
    for s in steps_all:
        a = labels(cur, s)
        v = np.array([a[i] for i in ids if i in a])
        tl = np.mean([labels(cur, s, 0)[i] for i in ids])
        hl = np.mean([labels(cur, s, 2)[i] for i in ids])
        print(f"| {s} | {v.mean():.3f} | {v.min():.3f} | {np.median(v):.3f} | {v.max():.3f} "
              f"| {tl:.3f} | {hl:.3f} |")
    print()
    # still improving at N: held-out loss (mean of seeds) fell by more than 0.02 over the last interval
    prev = steps_all[-2] if len(steps_all) > 1 else N
    hl_prev, hl_N = labels(cur, prev, 2), labels(cur, N, 2)
    acc_prev = labels(cur, prev)
    d_loss = np.array([hl_prev[i] - hl_N[i] for i in ids])
    d_acc = np.array([lab[i] - acc_prev[i] for i in ids])
    print(f"Convergence: between step {prev} and {N} the held-out loss (mean of the two seeds) fell "
          f"by more than 0.02 for {int(np.sum(d_loss > 0.02))} of {len(ids)} architectures "
          f"(median fall {np.median(d_loss):.3f}); held-out accuracy rose by more than 0.02 for "
          f"{int(np.sum(d_acc > 0.02))} (median rise {np.median(d_acc):+.3f}).\n")
    print("| ranking | n | Spearman ρ [95 % CI] | Kendall τ [95 % CI] |")
    print("|---|---|---|---|")
    for s in steps_all[:-1]:
        a = labels(cur, s)
        print(f"| acc@{s} vs acc@{N} (mean of seeds) | {len(ids)} | "
              + " | ".join(corr_pair([a[i] for i in ids], [lab[i] for i in ids])) + " |")
    for s in (early, N):
        s1 = {i: c[s][1] for (i, sd), c in cur.items() if sd == 1 and s in c and i in lab}
        s2 = {i: c[s][1] for (i, sd), c in cur.items() if sd == 2 and s in c and i in lab}
        k = sorted(set(s1) & set(s2))
        print(f"| seed 1 vs seed 2 at step {s} (noise ceiling) | {len(k)} | "
              + " | ".join(corr_pair([s1[i] for i in k], [s2[i] for i in k])) + " |")
    print()
    # architecture features
    feat = {i: archs[i].split() for i in ids}
    print("| factor | value | n | mean acc@N | mean acc@" + str(early) + " |")
    print("|---|---|---|---|---|")
    for name, f in (("width d", lambda w: w[0]), ("FFN ratio", lambda w: w[1]), ("blocks", lambda w: w[2])):
        for v in sorted({f(w) for w in feat.values()}, key=int):
            sel = [i for i in ids if f(feat[i]) == v]
            print(f"| {name} | {v} | {len(sel)} | {np.mean([lab[i] for i in sel]):.3f} | "
                  f"{np.mean([lab_e[i] for i in sel]):.3f} |")
    for c in CANDS:  # share of blocks of a kind
        sel = [i for i in ids if c in feat[i][3:]]
        print(f"| contains a {c} block | yes | {len(sel)} | {np.mean([lab[i] for i in sel]):.3f} | "
              f"{np.mean([lab_e[i] for i in sel]):.3f} |")
    print()
    best = sorted(ids, key=lambda i: -lab[i])[:5]
    print("Best five: " + "; ".join(f"{archs[i]} {lab[i]:.3f}" for i in best) + "\n")
    # proxies
    px = read(os.path.join(out, "proxies.csv"))
    nl_of = {int(r[0]): int(r[2]) for r in px}
    par_of = {int(r[0]): float(r[5]) for r in px if r[3] == "params" and int(r[1]) == 1}
    if px:
        print("### 5.2 Proxies at initialisation vs acc@N\n")
        mid = steps_all[len(steps_all) // 2 - 1] if len(steps_all) > 1 else N
        proxy_table(out, lab, labels(cur, mid), mid, nl_of, par_of)
    truns = sum(1 for (i, s) in cur if i in lab)
    tsec = sum(c[max(c)][3] for (i, s), c in cur.items() if i in lab)
    cur_ch = curves(read(os.path.join(out, "train-chosen.csv")))
    print("### 5.3 Zero-Cost-PT's chosen architectures\n")
    zcpt_table(out, archs, lab, cur, cur_ch, tsec, truns, N)


if __name__ == "__main__":
    if sys.argv[1] == "--chosen":
        chosen_main(sys.argv[2])
    else:
        main(sys.argv[1])
