#!/usr/bin/env python3
"""dataset_stats.py — a `fabc sample --measure fpga` data set summarised as
docs/codesign.md quotes it: models, simulated latency range, simulated /
analytical latency (median, 10th-90th percentile), and how well the
analytical model alone ranks the simulated latencies (Kendall tau-b with a
95% percentile-bootstrap interval, 1000 resamples of the models; the
functions of explore/results/budget_stability.py).

usage: /usr/bin/python3 scripts/codesign/dataset_stats.py DATA.jsonl
"""
import json, os, sys
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../explore/results"))
from budget_stability import ci, fmt_ci, kendall  # noqa: E402


def main():
    sim, ana = [], []
    for line in open(sys.argv[1]):
        j = json.loads(line)
        if j.get("fpga_sim_ms", 0) > 0 and j.get("fpga_model_ms", 0) > 0:
            sim.append(j["fpga_sim_ms"])
            ana.append(j["fpga_model_ms"])
    sim, ana = np.array(sim), np.array(ana)
    r = sim / ana
    lo, hi = ci(kendall, sim, ana, rounds=1000)
    print(f"{len(sim)} models with a simulated latency, {sim.min():.4g}-{sim.max():.4g} ms")
    print(f"simulated / analytical latency: median {np.median(r):.3f}, "
          f"10th-90th percentile {np.percentile(r, 10):.3f}-{np.percentile(r, 90):.3f}")
    print(f"analytical model ranks the simulated latencies: Kendall tau "
          + fmt_ci(kendall(sim, ana), lo, hi, ".3f").replace("[", "[95% CI ", 1))


main()
