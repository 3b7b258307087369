#!/usr/bin/python3
"""torch_compare.py — checks fab_train's gradients against PyTorch autograd
and compares training throughput on the same model (examples/tiny.fab).

Usage (Debian's python3-torch lives at /usr/bin/python3):
  scripts/explore/build.sh
  build-train/explore_bench examples /tmp/fb SEQ D H BATCH STEPS THREADS
  /usr/bin/python3 scripts/explore/torch_compare.py /tmp/fb SEQ D H BATCH STEPS THREADS

The model is written out here from the FABNet definition (post-LN FBfly
then ABfly block, torch_butterfly semantics for the butterfly layers); it
loads the weights bench wrote, so the loss and every gradient must agree
to double-precision round-off.
"""
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F


def bfly(x, tw, bias, n_in, n_out, increasing=False):
    """torch_butterfly Butterfly: pad to n, run each stack, keep n_out."""
    S, B, L = tw.shape[0], tw.shape[1], tw.shape[2]
    n = 1 << L
    x = F.pad(x, (0, n - n_in))
    outs = []
    for s in range(S):
        y = x
        for b in range(B):
            inc = increasing ^ (b % 2 == 1)
            for k in range(L):
                ls = k if inc else L - 1 - k
                st = 1 << ls
                t = tw[s, b, k].reshape(n // (2 * st), st, 2, 2)
                yy = y.reshape(*y.shape[:-1], n // (2 * st), 2, st)
                a, c = yy[..., 0, :], yy[..., 1, :]
                p = t[..., 0, 0] * a + t[..., 0, 1] * c
                q = t[..., 1, 0] * a + t[..., 1, 1] * c
                y = torch.stack((p, q), dim=-2).reshape(*y.shape)
        outs.append(y)
    y = torch.cat(outs, dim=-1)[..., :n_out]
    return y + bias if bias is not None else y


def mha(q, k, v, heads):
    B, s, d = q.shape
    dh = d // heads
    sp = lambda t: t.reshape(B, s, heads, dh).transpose(1, 2)
    a = torch.softmax(sp(q) @ sp(k).transpose(-1, -2) / math.sqrt(dh), dim=-1) @ sp(v)
    return a.transpose(1, 2).reshape(B, s, d)


def model(W, tokens, d, h, heads=2):
    ln = lambda x, p: F.layer_norm(x, (d,), W[p + ".weight"], W[p + ".bias"], 1e-5)
    bl = lambda x, p, i, o: bfly(x, W[p + ".twiddle"], W[p + ".bias"], i, o)
    ffn = lambda x, p: bl(F.gelu(bl(x, p + ".fc1", d, h)), p + ".fc2", h, d)
    x = W["embed.weight"][tokens] + W["pos.weight"]
    x = ln(x + torch.fft.fftn(x, dim=(-2, -1)).real, "layers.0.norm1")
    x = ln(x + ffn(x, "layers.0.ffn"), "layers.0.norm2")
    a = mha(*(bl(x, "layers.1.attn." + c, d, d) for c in "qkv"), heads)
    x = ln(x + bl(a, "layers.1.attn.o", d, d), "layers.1.norm1")
    x = ln(x + ffn(x, "layers.1.ffn"), "layers.1.norm2")
    return F.linear(x.mean(dim=-2), W["head.weight"], W["head.bias"])


def main():
    out, seq, d, h, batch, steps, threads = sys.argv[1], *map(int, sys.argv[2:8])
    names = [f[:-4] for f in os.listdir(os.path.join(out, "w"))]
    W = {n: torch.tensor(np.load(os.path.join(out, "w", n + ".npy")), dtype=torch.float64,
                         requires_grad=True) for n in names}
    x = torch.tensor(np.load(os.path.join(out, "x.npy")), dtype=torch.long)
    y = torch.tensor(np.load(os.path.join(out, "y.npy")), dtype=torch.long)
    loss = F.cross_entropy(model(W, x, d, h), y)
    loss.backward()
    ours = float(open(os.path.join(out, "loss.txt")).read())
    # per tensor: max|fab - torch| / max|torch|, the scale floored at 1e-3
    # of the largest gradient (a key bias's gradient is exactly zero in
    # theory: softmax ignores it, so both sides hold round-off there)
    top = max(float(np.max(np.abs(W[n].grad.numpy()))) for n in names)
    worst = 0.0
    for n in names:
        g = np.load(os.path.join(out, "g", n + ".npy"))
        t = W[n].grad.numpy()
        scale = max(float(np.max(np.abs(t))), 1e-3 * top)
        worst = max(worst, float(np.max(np.abs(g - t))) / scale)
    print(f"loss: fab_train {ours:.12f}  torch {loss.item():.12f}")
    print(f"gradients: worst relative difference over {len(names)} tensors = {worst:.3g}")

    torch.set_num_threads(threads)
    for dtype in (torch.float32, torch.float64):
        P = {n: torch.nn.Parameter(W[n].detach().to(dtype)) for n in names}
        opt = torch.optim.AdamW(P.values(), lr=1e-3, weight_decay=0.01)
        xb = x[:batch]
        yb = y[:batch]
        for i in range(steps + 5):
            if i == 5:
                t0 = time.perf_counter()
            opt.zero_grad()
            l = F.cross_entropy(model(P, xb, d, h), yb)
            l.backward()
            torch.nn.utils.clip_grad_norm_(P.values(), 1.0)
            opt.step()
        dt = time.perf_counter() - t0
        print(f"torch {str(dtype)[6:]} seq {seq} d {d} h {h}: batch {batch}, {threads} thread(s): "
              f"{steps * batch / dt:.0f} examples/s (forward+backward+AdamW)")


if __name__ == "__main__":
    main()
