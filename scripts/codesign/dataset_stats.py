#!/usr/bin/env python3
"""dataset_stats.py — a `fabc sample --measure fpga` data set summarised as
docs/codesign.md quotes it: models, simulated latency range, simulated /
analytical latency (median, 10th-90th percentile), and how well the
analytical model alone ranks the simulated latencies (Kendall tau with a
95% percentile-bootstrap interval, 1000 resamples of the models).

usage: /usr/bin/python3 scripts/codesign/dataset_stats.py DATA.jsonl
"""
import json, sys
import numpy as np


def kendall(a, b):
    """Kendall tau-a (as explore/predict's metrics: ties count 0)."""
    sa = np.sign(a[:, None] - a[None, :])
    sb = np.sign(b[:, None] - b[None, :])
    n = len(a)
    return float((sa * sb).sum()) / (n * (n - 1))


def main():
    sim, ana = [], []
    for line in open(sys.argv[1]):
        j = json.loads(line)
        if j.get("fpga_sim_ms", 0) > 0 and j.get("fpga_model_ms", 0) > 0:
            sim.append(j["fpga_sim_ms"])
            ana.append(j["fpga_model_ms"])
    sim, ana = np.array(sim), np.array(ana)
    r = sim / ana
    tau = kendall(sim, ana)
    rng = np.random.default_rng(1)
    boot = []
    for _ in range(1000):
        i = rng.integers(0, len(sim), len(sim))
        boot.append(kendall(sim[i], ana[i]))
    lo, hi = np.percentile(boot, [2.5, 97.5])
    print(f"{len(sim)} models with a simulated latency, {sim.min():.4g}-{sim.max():.4g} ms")
    print(f"simulated / analytical latency: median {np.median(r):.3f}, "
          f"10th-90th percentile {np.percentile(r, 10):.3f}-{np.percentile(r, 90):.3f}")
    print(f"analytical model ranks the simulated latencies: Kendall tau {tau:.3f} [95% CI {lo:.3f}, {hi:.3f}]")


main()
