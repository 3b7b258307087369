#!/usr/bin/python3
"""torch_eager.py -- the PyTorch eager baseline of fabc-bench.

Runs one FABNet-shaped model in PyTorch eager mode (float32, no autograd)
built from the golden generator's reference modules
(tests/golden/gen/gen.py: Butterfly, fourier_mix, mha, Block, FABNet), so
the baseline is the same independent reference the interpreter is checked
against, and prints one line of JSON with the latency:

  {"model": ..., "seq": ..., "threads": ..., "ms_min": ..., "ms_median": ...,
   "ms_max": ..., "reps": ...}

Shapes follow the .fab examples; weights are random (same shapes, not the
same values: latency does not depend on them).  The vanilla Transformer
(kind "t") uses nn.Linear projections and FFN around gen.mha.

  /usr/bin/python3 scripts/bench/torch_eager.py --kinds ff --seq 1024 \
      --d 256 --h 512 --heads 4 --vocab 256 --threads 1
"""
import argparse
import json
import math
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "golden", "gen"))

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    import gen  # the golden generator's reference modules
except ImportError as e:
    print(json.dumps({"error": "needs torch (/usr/bin/python3): %s" % e}))
    sys.exit(77)


class DenseBlock(nn.Module):
    """The vanilla post-LN Transformer encoder block (examples/lib/blocks.fab
    `transformer`): dense Q/K/V/O, dense FFN with erf GELU."""

    def __init__(self, d, h, heads):
        super().__init__()
        self.heads = heads
        self.q, self.k, self.v, self.o = (nn.Linear(d, d) for _ in range(4))
        self.norm1 = nn.LayerNorm(d, eps=gen.EPS)
        self.fc1, self.fc2 = nn.Linear(d, h), nn.Linear(h, d)
        self.norm2 = nn.LayerNorm(d, eps=gen.EPS)

    def forward(self, x):
        a = self.o(gen.mha(self.q(x), self.k(x), self.v(x), self.heads))
        x = self.norm1(x + a)
        return self.norm2(x + self.fc2(F.gelu(self.fc1(x))))


def build(a):
    kinds = a.kinds
    fab_kinds = "".join("a" if k == "a" else "f" for k in kinds)
    m = gen.FABNet(a.vocab, max(a.seq, a.maxlen), a.d, a.h, a.heads, fab_kinds, False, 2)
    for i, k in enumerate(kinds):
        if k == "t":
            m.layers[i] = DenseBlock(a.d, a.h, a.heads)
    return m.float().eval()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--kinds", default="ff", help="one letter per layer: f FBfly, a ABfly, t Transformer")
    p.add_argument("--seq", type=int, default=1024)
    p.add_argument("--maxlen", type=int, default=0)
    p.add_argument("--d", type=int, default=256)
    p.add_argument("--h", type=int, default=512)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--vocab", type=int, default=256)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--min-time", type=float, default=1.0, help="seconds of timed runs (at least --min-reps runs)")
    p.add_argument("--max-reps", type=int, default=20)
    p.add_argument("--min-reps", type=int, default=3)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    with torch.inference_mode():
        m = build(a)
        ids = torch.randint(0, a.vocab, (a.seq,), dtype=torch.int32)
        m(ids)  # warm up (allocator, OpenMP pool)
        times = []
        t_end = time.perf_counter() + a.min_time
        while len(times) < a.min_reps or (time.perf_counter() < t_end and len(times) < a.max_reps):
            t0 = time.perf_counter()
            m(ids)
            times.append(time.perf_counter() - t0)
    ms = [t * 1e3 for t in times]
    print(json.dumps({"model": a.kinds, "seq": a.seq, "threads": a.threads, "ms_min": min(ms),
                      "ms_median": statistics.median(ms), "ms_max": max(ms), "reps": len(ms)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
