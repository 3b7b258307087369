#!/usr/bin/python3
"""torch_eager.py -- the PyTorch eager baselines of fabc-bench.

A FABNet (FBfly layers: Re(FFT2) token mixing, feed-forward network, post-LN)
written the way a PyTorch user would write it, in float32 under
torch.inference_mode(), in these forms:

  dense      nn.Linear fc1/fc2 and torch.fft.fft2(x).real
  butterfly  butterfly fc1/fc2 computed with torch_butterfly's reshape-based
             algorithm (butterfly_multiply_torch: per stage, a view of the
             rows as (groups, 1, pair, stride) times the stage's twiddles
             viewed as (groups, out, in, stride), summed over `in`),
             re-implemented here, and torch.fft.fft2(x).real
  butterfly-pairs  the same reshape-based stages with each stage's twiddles
             made contiguous once (at load time) and the 2 x 2 product
             written as two outputs, t00 a + t01 c and t10 a + t11 c, stacked
             (no broadcast-and-sum over a strided view: several times faster)
  reference  the golden generator's modules (tests/golden/gen/gen.py: an
             explicit gather per butterfly stage; the test oracle, not what
             a user would run; mean pooling)

Prints one JSON line per form with its latency, e.g.

  {"form": "dense", "clock": "cpu", "ms_min": ..., "ms_median": ..., "ms_max": ...,
   "reps": ..., "cpu_ms_median": ..., "wall_ms_median": ...}

ms_*: with one thread the process's CPU time per run (as fabc-bench
measures one thread: equal to wall-clock time on an idle machine, steady
when other jobs share the cores), else wall-clock time.

and with --describe one line "describe: <sentence>" naming the torch
version, its BLAS and the OpenBLAS kernel it runs.  Weights are random
(latency does not depend on their values).  Threads: torch.set_num_threads
and OPENBLAS_NUM_THREADS (set before torch loads OpenBLAS, so that sgemm
does not take every core when torch has one thread).

  /usr/bin/python3 scripts/bench/torch_eager.py --layers 2 --seq 1024 \
      --d 256 --h 512 --vocab 256 --pool mean --threads 1 --forms dense,butterfly
"""
import argparse
import ctypes
import json
import math
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--seq", type=int, default=1024)
    p.add_argument("--maxlen", type=int, default=0)
    p.add_argument("--d", type=int, default=256)
    p.add_argument("--h", type=int, default=512)
    p.add_argument("--vocab", type=int, default=256)
    p.add_argument("--pool", choices=["cls", "mean"], default="mean")
    p.add_argument("--increasing", type=int, default=0, help="butterfly stride order (the examples use 0)")
    p.add_argument("--forms", default="dense,butterfly", help="comma-separated: dense, butterfly, butterfly-pairs, reference")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--min-time", type=float, default=1.0, help="seconds of timed runs (at least --min-reps runs)")
    p.add_argument("--max-reps", type=int, default=50)
    p.add_argument("--min-reps", type=int, default=3)
    p.add_argument("--describe", action="store_true")
    return p.parse_args()


ARGS = parse_args()
os.environ["OPENBLAS_NUM_THREADS"] = str(ARGS.threads)
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError as e:
    print(json.dumps({"error": "needs torch (/usr/bin/python3): %s" % e}))
    sys.exit(77)


class ReshapeButterfly(nn.Module):
    """torch_butterfly.Butterfly(d_in, d_out) evaluated like its pure-PyTorch
    path: pad to n = 2^ceil(log2 d_in), repeat over ceil(d_out / n) stacks,
    log2 n stages of broadcast multiply + sum, keep d_out outputs, bias."""

    def __init__(self, d_in, d_out, increasing, pairs=False):
        super().__init__()
        self.d_in, self.d_out, self.increasing, self.pairs = d_in, d_out, increasing, pairs
        self.log_n = max(1, math.ceil(math.log2(d_in)))
        self.n = 1 << self.log_n
        self.stacks = -(-d_out // self.n)
        self.twiddle = nn.Parameter(torch.randn(self.stacks, 1, self.log_n, self.n // 2, 2, 2) / math.sqrt(2))
        self.bias = nn.Parameter(torch.zeros(d_out))
        self.stage_twiddles = [self.stage_twiddle(k).contiguous() for k in range(self.log_n)] if pairs else None

    def stride(self, k):
        return 1 << (k if self.increasing else self.log_n - 1 - k)

    def stage_twiddle(self, k):
        """Stage k's twiddles as (stacks, groups, out, in, stride)."""
        stride = self.stride(k)
        return self.twiddle.detach()[:, 0, k].view(self.stacks, self.n // (2 * stride), stride, 2, 2).permute(
            0, 1, 3, 4, 2)

    def forward(self, x):
        lead = x.shape[:-1]
        rows = x.reshape(-1, self.d_in)
        if self.d_in < self.n:
            rows = F.pad(rows, (0, self.n - self.d_in))
        b, n, st = rows.shape[0], self.n, self.stacks
        y = rows.unsqueeze(1).expand(b, st, n)
        for k in range(self.log_n):
            stride = self.stride(k)
            groups = n // (2 * stride)
            if self.pairs:
                w = self.stage_twiddles[k]
                p = y.reshape(b, st, groups, 2, stride)
                a, c = p[:, :, :, 0], p[:, :, :, 1]
                y = torch.stack((w[:, :, 0, 0] * a + w[:, :, 0, 1] * c, w[:, :, 1, 0] * a + w[:, :, 1, 1] * c), dim=3)
            else:
                y = (self.stage_twiddle(k) * y.reshape(b, st, groups, 1, 2, stride)).sum(dim=4)
        y = y.reshape(b, st * n)[:, : self.d_out] + self.bias
        return y.reshape(*lead, self.d_out)


class Layer(nn.Module):
    """FBfly, post-LN: x = LN(x + Re FFT2(x)); x = LN(x + fc2(gelu(fc1(x))))."""

    def __init__(self, d, h, form, increasing):
        super().__init__()
        if form == "dense":
            self.fc1, self.fc2 = nn.Linear(d, h), nn.Linear(h, d)
        else:
            pairs = form == "butterfly-pairs"
            self.fc1 = ReshapeButterfly(d, h, increasing, pairs)
            self.fc2 = ReshapeButterfly(h, d, increasing, pairs)
        self.norm1, self.norm2 = nn.LayerNorm(d), nn.LayerNorm(d)

    def forward(self, x):
        x = self.norm1(x + torch.fft.fft2(x).real)
        return self.norm2(x + self.fc2(F.gelu(self.fc1(x))))


class Net(nn.Module):
    def __init__(self, a, form):
        super().__init__()
        self.pool = a.pool
        self.embed = nn.Embedding(a.vocab, a.d)
        self.pos = nn.Embedding(max(a.seq, a.maxlen), a.d)
        self.layers = nn.ModuleList(Layer(a.d, a.h, form, a.increasing) for _ in range(a.layers))
        self.head = nn.Linear(a.d, 2)

    def forward(self, ids):
        x = self.embed(ids) + self.pos.weight[: ids.shape[-1]]
        for layer in self.layers:
            x = layer(x)
        return self.head(x[0] if self.pool == "cls" else x.mean(dim=-2))


def reference(a):
    sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "golden", "gen"))
    import gen  # the golden generator's reference modules

    return gen.FABNet(a.vocab, max(a.seq, a.maxlen), a.d, a.h, 0, "f" * a.layers, False, 2)


def openblas_core():
    """The kernel the OpenBLAS loaded into this process runs, or None."""
    try:
        with open("/proc/self/maps") as f:
            libs = {ln.split()[-1] for ln in f if "blas" in ln and ".so" in ln}
    except OSError:
        return None
    for lib in sorted(libs):
        try:
            so = ctypes.CDLL(lib)
            get = so.openblas_get_corename
        except (OSError, AttributeError):
            continue
        get.restype = ctypes.c_char_p
        return get().decode()
    return None


def describe():
    cfg = torch.__config__.show()
    blas = next((s.split("=")[1] for s in cfg.replace(",", " ").split() if s.startswith("BLAS_INFO=")), "?")
    cap = next((ln.split(":")[1].strip() for ln in cfg.splitlines() if "CPU capability" in ln), "?")
    core = openblas_core()
    return ("PyTorch %s (BLAS_INFO=%s%s; MKL %s; CPU capability %s; FFT: %s), torch.set_num_threads(%d), "
            "OPENBLAS_NUM_THREADS=%d" % (
                torch.__version__, blas, ", OpenBLAS kernel `%s`" % core if core else "",
                "yes" if torch.backends.mkl.is_available() else "no", cap,
                "MKL" if torch.backends.mkl.is_available() else "pocketfft", torch.get_num_threads(), ARGS.threads))


def time_form(a, form):
    torch.manual_seed(0)
    m = (reference(a) if form == "reference" else Net(a, form)).float().eval()
    ids = torch.randint(0, a.vocab, (a.seq,), dtype=torch.int64)
    m(ids)  # warm up (allocator, thread pool)
    times, cpu = [], []
    t_end = time.perf_counter() + a.min_time
    while len(times) < a.min_reps or (time.perf_counter() < t_end and len(times) < a.max_reps):
        t0, c0 = time.perf_counter(), time.process_time()
        m(ids)
        cpu.append(time.process_time() - c0)
        times.append(time.perf_counter() - t0)
    # one thread: the process's CPU time (as fabc-bench measures one thread)
    ms = [t * 1e3 for t in (cpu if a.threads == 1 else times)]
    return {"form": form, "clock": "cpu" if a.threads == 1 else "wall", "ms_min": min(ms),
            "ms_median": statistics.median(ms), "ms_max": max(ms), "reps": len(ms),
            "cpu_ms_median": statistics.median(cpu) * 1e3, "wall_ms_median": statistics.median(times) * 1e3}


def main():
    a = ARGS
    torch.set_num_threads(a.threads)
    with torch.inference_mode():
        for form in a.forms.split(","):
            print(json.dumps(time_form(a, form)), flush=True)
    if a.describe:
        print("describe: " + describe())
    return 0


if __name__ == "__main__":
    sys.exit(main())
