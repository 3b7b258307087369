#!/usr/bin/python3
"""gen.py -- writes the golden cases of fabc's reference interpreter.

An independent PyTorch implementation of the reference modules (butterfly
linear layers after torch_butterfly's Butterfly, FNet Fourier mixing,
multi-head attention, LayerNorm, GELU, FBfly / ABfly blocks and a small
FABNet classifier).  For each case it writes, into tests/golden/cases/:

  <case>.fir          the computation in fabc's IR text form (high-level ops)
  <case>.safetensors  the weights (state_dict names), the inputs ("input."
                      + IR input name) and the expected outputs
                      ("expected." + IR output name)

Weights and inputs are drawn in float32 (they are stored as F32), then the
model is evaluated in float64 on exactly those values; only the expected
outputs are rounded to F32.  Run with Debian's /usr/bin/python3 (torch):

  /usr/bin/python3 tests/golden/gen/gen.py [outdir]   # outdir/cases, outdir/fab
  /usr/bin/python3 tests/golden/gen/gen.py --check   # committed data up to date?
"""
import json
import math
import os
import struct
import sys
import zlib

try:
    import numpy as np
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError as e:  # ctest: skipped (SKIP_RETURN_CODE 77)
    print("gen.py needs torch and numpy (/usr/bin/python3): %s" % e)
    sys.exit(77)

EPS = 1e-5


# ---------------------------------------------------------------------------
# Reference modules (float64 at evaluation time)
# ---------------------------------------------------------------------------

class Butterfly(nn.Module):
    """torch_butterfly.Butterfly semantics (docs/fabnet.md section 2),
    written independently: explicit p/q index pairs per stage.  The
    defaults are the library's (bias=True, increasing_stride=True,
    nblocks=1): a case that wants another stride says so."""

    def __init__(self, in_size, out_size, bias=True, increasing_stride=True, nblocks=1):
        super().__init__()
        self.in_size, self.out_size = in_size, out_size
        self.log_n = max(1, math.ceil(math.log2(in_size)))
        self.n = 1 << self.log_n
        self.nstacks = -(-out_size // self.n)
        self.increasing_stride, self.nblocks = increasing_stride, nblocks
        shape = (self.nstacks, nblocks, self.log_n, self.n // 2, 2, 2)
        self.twiddle = nn.Parameter(torch.randn(shape) / math.sqrt(2))
        if bias:
            bound = 1 / math.sqrt(in_size)
            self.bias = nn.Parameter(torch.empty(out_size).uniform_(-bound, bound))
        else:
            self.register_parameter("bias", None)

    def forward(self, x):
        lead = x.shape[:-1]
        x = x.reshape(-1, self.in_size)
        y = F.pad(x, (0, self.n - self.in_size))
        y = y.unsqueeze(1).repeat(1, self.nstacks, 1)  # (rows, S, n)
        for b in range(self.nblocks):
            inc = bool(self.increasing_stride) ^ (b % 2 == 1)
            for k in range(self.log_n):
                ls = k if inc else self.log_n - 1 - k
                stride = 1 << ls
                i = torch.arange(self.n // 2)
                low = i % stride
                p = 2 * (i - low) + low
                q = p + stride
                t = self.twiddle[:, b, k]  # (S, n/2, 2, 2)
                a, c = y[:, :, p], y[:, :, q]
                new = y.clone()
                new[:, :, p] = t[:, :, 0, 0] * a + t[:, :, 0, 1] * c
                new[:, :, q] = t[:, :, 1, 0] * a + t[:, :, 1, 1] * c
                y = new
        y = y.reshape(y.shape[0], self.nstacks * self.n)[:, : self.out_size]
        if self.bias is not None:
            y = y + self.bias
        return y.reshape(*lead, self.out_size)

    def dense_matrix(self):
        """The layer's matrix built as a product of explicit stage matrices
        (a second, structurally different derivation used as a self-check)."""
        n, blocks = self.n, []
        for s in range(self.nstacks):
            m = torch.eye(n, dtype=self.twiddle.dtype)
            for b in range(self.nblocks):
                inc = bool(self.increasing_stride) ^ (b % 2 == 1)
                for k in range(self.log_n):
                    ls = k if inc else self.log_n - 1 - k
                    stride = 1 << ls
                    st = torch.zeros(n, n, dtype=self.twiddle.dtype)
                    for i in range(n // 2):
                        p = (i // stride) * 2 * stride + i % stride
                        q = p + stride
                        t = self.twiddle[s, b, k, i]
                        st[p, p], st[p, q], st[q, p], st[q, q] = t[0, 0], t[0, 1], t[1, 0], t[1, 1]
                    m = st @ m
            blocks.append(m[:, : self.in_size])
        return torch.cat(blocks, 0)[: self.out_size]


def fourier_mix(x):
    return torch.fft.fft(torch.fft.fft(x, dim=-1), dim=-2).real


def mha(q, k, v, heads, mask=None, causal=False):
    """Softmax attention per head; mask i32 [.., t] (0 = padding), causal
    (query i sees keys j <= i).  A row with every key masked gives zeros."""
    *lead, s, d = q.shape
    t = k.shape[-2]
    dh = d // heads
    qh = q.reshape(*lead, s, heads, dh).transpose(-2, -3)
    kh = k.reshape(*lead, t, heads, dh).transpose(-2, -3)
    vh = v.reshape(*lead, t, heads, dh).transpose(-2, -3)
    sc = qh @ kh.transpose(-1, -2) / math.sqrt(dh)
    keep = torch.ones(sc.shape, dtype=torch.bool)
    if mask is not None:
        keep = keep & (mask != 0)[..., None, None, :]
    if causal:
        keep = keep & torch.ones(s, t).tril().bool()
    a = torch.softmax(sc.masked_fill(~keep, float("-inf")), dim=-1)
    a = torch.nan_to_num(a, nan=0.0)  # every key masked: zeros
    return (a @ vh).transpose(-2, -3).reshape(*lead, s, d)


def mha_torch(q, k, v, heads, mask=None, causal=False):
    """nn.MultiheadAttention with identity projections, key_padding_mask =
    (mask == 0) and attn_mask = triu(ones, 1) for causal."""
    d, s, t = q.shape[-1], q.shape[-2], k.shape[-2]
    m = nn.MultiheadAttention(d, heads, bias=True, batch_first=True).double()
    with torch.no_grad():
        m.in_proj_weight.copy_(torch.eye(d, dtype=torch.float64).repeat(3, 1))
        m.in_proj_bias.zero_()
        m.out_proj.weight.copy_(torch.eye(d, dtype=torch.float64))
        m.out_proj.bias.zero_()
    kpm = (mask == 0) if mask is not None else None
    am = torch.triu(torch.ones(s, t), 1).bool() if causal else None
    return m(q, k, v, key_padding_mask=kpm, attn_mask=am, need_weights=False)[0]


class FFN(nn.Module):
    def __init__(self, d, h):
        super().__init__()
        self.fc1 = Butterfly(d, h)
        self.fc2 = Butterfly(h, d)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))


class Attn(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.q, self.k, self.v, self.o = (Butterfly(d, d) for _ in range(4))

    def forward(self, x):
        return self.o(mha(self.q(x), self.k(x), self.v(x), self.heads))


class Block(nn.Module):
    """FBfly (heads = 0: Fourier mixing) or ABfly (attention) block."""

    def __init__(self, d, h, heads, prenorm):
        super().__init__()
        self.prenorm, self.heads = prenorm, heads
        if heads:
            self.attn = Attn(d, heads)
        self.norm1 = nn.LayerNorm(d, eps=EPS)
        self.ffn = FFN(d, h)
        self.norm2 = nn.LayerNorm(d, eps=EPS)

    def mix(self, x):
        return self.attn(x) if self.heads else fourier_mix(x)

    def forward(self, x):
        if self.prenorm:
            x = x + self.mix(self.norm1(x))
            return x + self.ffn(self.norm2(x))
        x = self.norm1(x + self.mix(x))
        return self.norm2(x + self.ffn(x))


class Layers(nn.Module):
    def __init__(self, blocks):
        super().__init__()
        self.layers = nn.ModuleList(blocks)

    def forward(self, x):
        for b in self.layers:
            x = b(x)
        return x


class FABNet(nn.Module):
    def __init__(self, vocab, maxlen, d, h, heads, kinds, prenorm, classes):
        super().__init__()
        self.prenorm = prenorm
        self.embed = nn.Embedding(vocab, d)
        self.pos = nn.Embedding(maxlen, d)
        self.layers = nn.ModuleList(Block(d, h, heads if k == "a" else 0, prenorm) for k in kinds)
        if prenorm:
            self.norm = nn.LayerNorm(d, eps=EPS)
        self.head = nn.Linear(d, classes)

    def forward(self, ids):
        x = self.embed(ids.long()) + self.pos.weight[: ids.shape[-1]]
        for b in self.layers:
            x = b(x)
        if self.prenorm:
            x = self.norm(x)
        return self.head(x.mean(dim=-2))


# ---------------------------------------------------------------------------
# IR text emission
# ---------------------------------------------------------------------------

def fnum(v):
    s = repr(float(v))
    return s if ("." in s or "e" in s or "n" in s) else s + ".0"


def ftype(dtype, shape):
    return "%s[%s]" % (dtype, ",".join(str(int(x)) for x in shape))


def fattr(v):
    if isinstance(v, str):
        return '"%s"' % v
    if isinstance(v, bool):
        return str(int(v))
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return fnum(v)
    return "[%s]" % ", ".join(str(int(x)) for x in v)


class IR:
    def __init__(self, name):
        self.name, self.params, self.lines, self.n = name, [], [], 0
        self.nin = self.nout = 0

    def op(self, name, operands, attrs, dtype, shape):
        a = ""
        if attrs:
            a = " {" + ", ".join("%s = %s" % (k, fattr(attrs[k])) for k in sorted(attrs)) + "}"
        ops = (" " + ", ".join("%%%d" % o[0] for o in operands)) if operands else ""
        self.lines.append("  %%%d = %s%s%s : %s" % (self.n, name, ops, a, ftype(dtype, shape)))
        self.n += 1
        return (self.n - 1, tuple(shape), dtype)

    def input(self, name, dtype, shape):
        v = self.op("input", [], {"index": self.nin, "name": name}, dtype, shape)
        self.nin += 1
        return v

    def weight(self, name, tensor, init):
        self.params.append('param @"%s" : %s = %s' % (name, ftype("f32", tensor.shape), init))
        return self.op("weight", [], {"name": name}, "f32", tensor.shape)

    def output(self, v, name):
        self.lines.append('  output %%%d {index = %d, name = "%s"}' % (v[0], self.nout, name))
        self.nout += 1

    def text(self):
        return "module @%s\n%s\nfunc @main {\n%s\n}\n" % (
            self.name, "\n".join(self.params), "\n".join(self.lines))


def init_normal(std):
    return "normal(0.0, %s)" % fnum(std)


def init_uniform(b):
    return "uniform(%s, %s)" % (fnum(-b), fnum(b))


def emit_bfly(ir, x, mod, prefix):
    tw = ir.weight(prefix + ".twiddle", mod.twiddle, init_normal(1 / math.sqrt(2)))
    ops = [x, tw]
    if mod.bias is not None:
        ops.append(ir.weight(prefix + ".bias", mod.bias, init_uniform(1 / math.sqrt(mod.in_size))))
    attrs = {"in": mod.in_size, "out": mod.out_size, "increasing": int(bool(mod.increasing_stride)),
             "nblocks": mod.nblocks}
    return ir.op("bfly.linear", ops, attrs, "f32", x[1][:-1] + (mod.out_size,))


def emit_ln(ir, x, mod, prefix):
    g = ir.weight(prefix + ".weight", mod.weight, "ones")
    b = ir.weight(prefix + ".bias", mod.bias, "zeros")
    return ir.op("layernorm", [x, g, b], {"eps": mod.eps}, "f32", x[1])


def emit_add(ir, a, b):
    return ir.op("add", [a, b], {}, "f32", a[1])


def emit_block(ir, x, blk, prefix):
    def mix(v):
        if not blk.heads:
            return ir.op("fourier.mix", [v], {}, "f32", v[1])
        q, k, w = (emit_bfly(ir, v, getattr(blk.attn, n), "%s.attn.%s" % (prefix, n)) for n in "qkv")
        a = ir.op("mha", [q, k, w], {"heads": blk.heads}, "f32", v[1])
        return emit_bfly(ir, a, blk.attn.o, prefix + ".attn.o")

    def ffn(v):
        h = emit_bfly(ir, v, blk.ffn.fc1, prefix + ".ffn.fc1")
        g = ir.op("gelu", [h], {"approx": "erf"}, "f32", h[1])
        return emit_bfly(ir, g, blk.ffn.fc2, prefix + ".ffn.fc2")

    if blk.prenorm:
        x = emit_add(ir, x, mix(emit_ln(ir, x, blk.norm1, prefix + ".norm1")))
        return emit_add(ir, x, ffn(emit_ln(ir, x, blk.norm2, prefix + ".norm2")))
    x = emit_ln(ir, emit_add(ir, x, mix(x)), blk.norm1, prefix + ".norm1")
    return emit_ln(ir, emit_add(ir, x, ffn(x)), blk.norm2, prefix + ".norm2")


# ---------------------------------------------------------------------------
# safetensors writer (8-byte little-endian header length, JSON, raw data)
# ---------------------------------------------------------------------------

def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name, arr in tensors.items():
        arr = np.ascontiguousarray(arr)
        dt = {np.dtype("float32"): "F32", np.dtype("int32"): "I32"}[arr.dtype]
        raw = arr.astype(arr.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": dt, "shape": list(arr.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


# ---------------------------------------------------------------------------
# Cases
# ---------------------------------------------------------------------------

CASES = []


def case(fn):
    CASES.append(fn)
    return fn


def f32(t):
    return t.detach().to(torch.float32).numpy()


def finish(outdir, name, ir, module, inputs, outputs):
    """module: its state_dict gives the weights (already F32-exact)."""
    tensors = {}
    if module is not None:
        for k, v in module.state_dict().items():
            tensors[k] = f32(v)
    for k, v in inputs.items():
        tensors["input." + k] = v.detach().numpy().astype(np.int32) if v.dtype in (
            torch.int32, torch.int64) else f32(v)
    for k, v in outputs.items():
        tensors["expected." + k] = f32(v)
    with open(os.path.join(outdir, name + ".fir"), "w") as f:
        f.write(ir.text())
    write_safetensors(os.path.join(outdir, name + ".safetensors"), tensors)


def prepare(module):
    """Rounds the freshly initialised parameters to float32, then float64."""
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(p.to(torch.float32).to(p.dtype))
        # LayerNorm defaults (ones / zeros) would hide a swapped gamma/beta.
        for m in module.modules():
            if isinstance(m, nn.LayerNorm):
                m.weight.copy_(1 + 0.25 * torch.randn(m.weight.shape).to(torch.float32))
                m.bias.copy_(0.25 * torch.randn(m.bias.shape).to(torch.float32))
    return module.double()


def randn(*shape, scale=1.0, shift=0.0):
    """Inputs are F32-exact (they are stored as F32)."""
    return (torch.randn(*shape) * scale + shift).to(torch.float32).to(torch.float64)


def bfly_case(in_size, out_size, inc, nblocks, bias=True, suffix=""):
    name = "bfly_%d_%d_%s_b%d%s" % (in_size, out_size, "inc" if inc else "dec", nblocks, suffix)

    def gen(outdir):
        class M(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = Butterfly(in_size, out_size, bias=bias, increasing_stride=inc, nblocks=nblocks)

        m = prepare(M())
        x = randn(4, in_size)
        y = m.fc(x)
        # self-check against the explicit product of stage matrices
        ref = x @ m.fc.dense_matrix().T + (m.fc.bias if bias else 0)
        assert torch.allclose(y, ref, rtol=1e-10, atol=1e-10), name
        ir = IR(name)
        xi = ir.input("x", "f32", x.shape)
        ir.output(emit_bfly(ir, xi, m.fc, "fc"), "y")
        finish(outdir, name, ir, m, {"x": x}, {"y": y})

    gen.__name__ = name
    CASES.append(gen)


for (i, o) in [(64, 64), (64, 200), (128, 48), (100, 100), (20, 37)]:
    bfly_case(i, o, False, 1)
    bfly_case(i, o, True, 2)
    bfly_case(i, o, True, 1)
    bfly_case(i, o, False, 2)
bfly_case(64, 64, False, 1, bias=False, suffix="_nobias")
bfly_case(20, 37, True, 2, bias=False, suffix="_nobias")


def fourier_case(s, d):
    name = "fourier_%d_%d" % (s, d)

    def gen(outdir):
        x = randn(2, s, d)
        ir = IR(name)
        xi = ir.input("x", "f32", x.shape)
        ir.output(ir.op("fourier.mix", [xi], {}, "f32", x.shape), "y")
        finish(outdir, name, ir, None, {"x": x}, {"y": fourier_mix(x)})

    gen.__name__ = name
    CASES.append(gen)


fourier_case(16, 32)
fourier_case(12, 20)
# mixed radix: 3, 5, 7 times a power of two, on either axis, and primes
fourier_case(12, 384)  # 3 * 128 (768 itself: fab/fft_mixed_torch; the small fpga config holds 512-word lines)
fourier_case(96, 24)
fourier_case(40, 56)
fourier_case(17, 97)


@case
def mha_4heads(outdir):
    q, k, v = randn(2, 10, 32), randn(2, 10, 32), randn(2, 10, 32)
    y = mha(q, k, v, 4)
    assert torch.allclose(y, mha_torch(q, k, v, 4), rtol=1e-10, atol=1e-12)
    ir = IR("mha_4heads")
    ins = [ir.input(n, "f32", t.shape) for n, t in (("q", q), ("k", k), ("v", v))]
    ir.output(ir.op("mha", ins, {"heads": 4}, "f32", q.shape), "y")
    finish(outdir, "mha_4heads", ir, None, {"q": q, "k": k, "v": v}, {"y": y})


@case
def layernorm_48(outdir):
    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.norm = nn.LayerNorm(48, eps=EPS)

    m = prepare(M())
    x = randn(3, 7, 48, scale=2.0, shift=0.5)
    ir = IR("layernorm_48")
    xi = ir.input("x", "f32", x.shape)
    ir.output(emit_ln(ir, xi, m.norm, "norm"), "y")
    finish(outdir, "layernorm_48", ir, m, {"x": x}, {"y": m.norm(x)})


def gelu_case(approx):
    name = "gelu_" + approx

    def gen(outdir):
        x = randn(4, 64, scale=3.0)
        y = F.gelu(x, approximate="none" if approx == "erf" else "tanh")
        ir = IR(name)
        xi = ir.input("x", "f32", x.shape)
        ir.output(ir.op("gelu", [xi], {"approx": approx}, "f32", x.shape), "y")
        finish(outdir, name, ir, None, {"x": x}, {"y": y})

    gen.__name__ = name
    CASES.append(gen)


gelu_case("erf")
gelu_case("tanh")


def block_case(kind, prenorm):
    name = "%s_%s" % ("abfly" if kind == "a" else "fbfly", "pre" if prenorm else "post")

    def gen(outdir):
        m = prepare(Layers([Block(64, 128, 4 if kind == "a" else 0, prenorm)]))
        x = randn(2, 16, 64)
        ir = IR(name)
        xi = ir.input("x", "f32", x.shape)
        ir.output(emit_block(ir, xi, m.layers[0], "layers.0"), "y")
        finish(outdir, name, ir, m, {"x": x}, {"y": m(x)})

    gen.__name__ = name
    CASES.append(gen)


for kind in "fa":
    for pre in (False, True):
        block_case(kind, pre)


def emit_embed_pos(ir, xi, m, seq, d):
    """FABNet's input: token embedding of the ids input xi plus the first
    seq rows of the learned positional table (nn.Embedding weights)."""
    e = ir.weight("embed.weight", m.embed.weight, "normal(0.0, 1.0)")
    p = ir.weight("pos.weight", m.pos.weight, "normal(0.0, 1.0)")
    x = ir.op("embed", [xi, e], {}, "f32", xi[1] + (d,))
    ps = ir.op("slice", [p], {"axis": 0, "start": 0, "size": seq}, "f32", (seq, d))
    return emit_add(ir, x, ps)


def emit_head(ir, x, m, d, classes):
    """The classifier: nn.Linear(d, classes) named head, output logits."""
    b = 1 / math.sqrt(d)
    hw = ir.weight("head.weight", m.head.weight, init_uniform(b))
    hb = ir.weight("head.bias", m.head.bias, init_uniform(b))
    ir.output(ir.op("dense", [x, hw, hb], {}, "f32", x[1][:-1] + (classes,)), "logits")


def fabnet_case(prenorm):
    name = "fabnet_small_" + ("pre" if prenorm else "post")

    def gen(outdir):
        vocab, maxlen, seq, d, h, heads, classes = 50, 32, 16, 64, 128, 4, 5
        m = prepare(FABNet(vocab, maxlen, d, h, heads, "fa", prenorm, classes))
        ids = torch.randint(0, vocab, (2, seq), dtype=torch.int32)
        y = m(ids)
        ir = IR(name)
        x = emit_embed_pos(ir, ir.input("ids", "i32", ids.shape), m, seq, d)
        for i, blk in enumerate(m.layers):
            x = emit_block(ir, x, blk, "layers.%d" % i)
        if prenorm:
            x = emit_ln(ir, x, m.norm, "norm")
        emit_head(ir, ir.op("meanpool", [x], {}, "f32", (2, d)), m, d, classes)
        finish(outdir, name, ir, m, {"ids": ids}, {"logits": y})

    gen.__name__ = name
    CASES.append(gen)


fabnet_case(False)
fabnet_case(True)


# ---------------------------------------------------------------------------
# Masks and padding: a key-padding mask i32 [.., t] (Hugging Face's
# attention_mask: 1 = token, 0 = padding; PyTorch's key_padding_mask is
# its negation) and causal attention.  A row with every key masked gives
# zeros (PyTorch gives NaN there), as does a masked mean over no token.
# ---------------------------------------------------------------------------

def padding_mask(lengths, seq):
    """One row per sample: 1 for the first `length` tokens, then 0."""
    return torch.tensor([[1 if j < n else 0 for j in range(seq)] for n in lengths], dtype=torch.int32)


def masked_mean(x, mask):
    """Mean over the tokens whose flag is 1 (zeros when there is none)."""
    m = mask.to(x.dtype)[..., None]
    return (x * m).sum(dim=-2) / m.sum(dim=-2).clamp(min=1)


@case
def mha_keypad(outdir):
    q, k, v = randn(3, 10, 32), randn(3, 10, 32), randn(3, 10, 32)
    mask = padding_mask([7, 10, 0], 10)  # the last sample is all padding
    y = mha(q, k, v, 4, mask)
    ref = mha_torch(q[:2], k[:2], v[:2], 4, mask[:2])  # PyTorch: NaN for the third
    assert torch.allclose(y[:2], ref, rtol=1e-10, atol=1e-12)
    assert torch.all(y[2] == 0)
    ir = IR("mha_keypad")
    ins = [ir.input(n, "f32", t.shape) for n, t in (("q", q), ("k", k), ("v", v))]
    ins.append(ir.input("mask", "i32", mask.shape))
    ir.output(ir.op("mha", ins, {"heads": 4}, "f32", q.shape), "y")
    finish(outdir, "mha_keypad", ir, None, {"q": q, "k": k, "v": v, "mask": mask}, {"y": y})


@case
def mha_causal(outdir):
    q, k, v = randn(2, 9, 24), randn(2, 9, 24), randn(2, 9, 24)
    mask = padding_mask([9, 5], 9)
    y = mha(q, k, v, 3, causal=True)
    y_pad = mha(q, k, v, 3, mask, causal=True)
    assert torch.allclose(y, mha_torch(q, k, v, 3, causal=True), rtol=1e-10, atol=1e-12)
    assert torch.allclose(y_pad, mha_torch(q, k, v, 3, mask, causal=True), rtol=1e-10, atol=1e-12)
    ir = IR("mha_causal")
    ins = [ir.input(n, "f32", t.shape) for n, t in (("q", q), ("k", k), ("v", v))]
    mi = ir.input("mask", "i32", mask.shape)
    ir.output(ir.op("mha", ins, {"heads": 3, "causal": 1}, "f32", q.shape), "y")
    ir.output(ir.op("mha", ins + [mi], {"heads": 3, "causal": 1}, "f32", q.shape), "y_pad")
    finish(outdir, "mha_causal", ir, None, {"q": q, "k": k, "v": v, "mask": mask}, {"y": y, "y_pad": y_pad})


@case
def meanpool_masked(outdir):
    x = randn(3, 12, 16)
    mask = padding_mask([12, 5, 0], 12)
    y = masked_mean(x, mask)
    ir = IR("meanpool_masked")
    xi, mi = ir.input("x", "f32", x.shape), ir.input("mask", "i32", mask.shape)
    ir.output(ir.op("meanpool", [xi, mi], {}, "f32", (3, 16)), "y")
    finish(outdir, "meanpool_masked", ir, None, {"x": x, "mask": mask}, {"y": y})


class PaddedFABNet(FABNet):
    """FABNet on padded sequences: the attention ignores padded keys and
    the pooling averages the real tokens only (Fourier mixing, as in FNet,
    mixes every position)."""

    def forward(self, ids, mask):
        x = self.embed(ids.long()) + self.pos.weight[: ids.shape[-1]]
        for b in self.layers:
            x = self.block(b, x, mask)
        if self.prenorm:
            x = self.norm(x)
        return self.head(masked_mean(x, mask))

    @staticmethod
    def block(b, x, mask):
        def mix(v):
            if not b.heads:
                return fourier_mix(v)
            a = b.attn
            return a.o(mha(a.q(v), a.k(v), a.v(v), a.heads, mask))
        if b.prenorm:
            x = x + mix(b.norm1(x))
            return x + b.ffn(b.norm2(x))
        x = b.norm1(x + mix(x))
        return b.norm2(x + b.ffn(x))


def emit_masked_block(ir, x, blk, prefix, mask):
    """emit_block with the mask on the mha op."""
    lines = len(ir.lines)
    y = emit_block(ir, x, blk, prefix)
    for i in range(lines, len(ir.lines)):
        if " = mha " in ir.lines[i]:
            ir.lines[i] = ir.lines[i].replace(" {heads", ", %%%d {heads" % mask[0])
    return y


@case
def fabnet_padded(outdir):
    vocab, maxlen, seq, d, h, heads, classes = 50, 32, 16, 64, 128, 4, 5
    m = prepare(PaddedFABNet(vocab, maxlen, d, h, heads, "fa", False, classes))
    lengths = [16, 11, 6, 1]
    mask = padding_mask(lengths, seq)
    ids = torch.randint(1, vocab, (4, seq), dtype=torch.int32) * mask  # padding id 0
    y = m(ids, mask)
    # Each sample alone, cut to its length, gives the same logits when the
    # model has no Fourier block; here check the attention block part:
    # padded keys must not change a sample's attention output.
    blk = m.layers[1]
    xs = randn(4, seq, d)
    full = PaddedFABNet.block(blk, xs, mask)
    for i, n in enumerate(lengths):
        alone = PaddedFABNet.block(blk, xs[i:i + 1, :n], padding_mask([n], n))
        assert torch.allclose(full[i:i + 1, :n], alone, rtol=1e-9, atol=1e-10)
    ir = IR("fabnet_padded")
    xi = ir.input("ids", "i32", ids.shape)
    mi = ir.input("mask", "i32", mask.shape)
    x = emit_embed_pos(ir, xi, m, seq, d)
    for i, blk in enumerate(m.layers):
        x = emit_masked_block(ir, x, blk, "layers.%d" % i, mi)
    emit_head(ir, ir.op("meanpool", [x, mi], {}, "f32", (4, d)), m, d, classes)
    finish(outdir, "fabnet_padded", ir, m, {"ids": ids, "mask": mask}, {"logits": y})


def generate(outdir, fabdir, verbose):
    import wild  # models as PyTorch users write them (tests/golden/fab/)
    os.makedirs(outdir, exist_ok=True)
    torch.set_grad_enabled(False)
    for gen in CASES:
        # Seeded by name, so adding a case leaves every other case's data as it is.
        torch.manual_seed(zlib.crc32(gen.__name__.encode()))
        gen(outdir)
        if verbose:
            print(gen.__name__)
    wild.generate(outdir, fabdir, verbose)


def generated(folder):
    """The generated files of a folder (fab/ also holds hand-written .fab)."""
    return sorted(f for f in os.listdir(folder) if f.endswith((".fir", ".safetensors")))


def check(cases, fab):
    """Regenerates into a temporary folder and compares byte for byte."""
    import tempfile
    nfiles, bad = 0, []
    with tempfile.TemporaryDirectory() as tmp:
        generate(os.path.join(tmp, "cases"), os.path.join(tmp, "fab"), False)
        for sub, committed in (("cases", cases), ("fab", fab)):
            fresh, old = generated(os.path.join(tmp, sub)), generated(committed)
            nfiles += len(fresh)
            bad += ["%s/%s" % (sub, f) for f in sorted(set(fresh) ^ set(old))]
            for f in fresh:
                if f in old:
                    with open(os.path.join(tmp, sub, f), "rb") as a, \
                            open(os.path.join(committed, f), "rb") as b:
                        if a.read() != b.read():
                            bad.append("%s/%s" % (sub, f))
    for f in bad:
        print("out of date: %s" % f)
    print("%d files, %d out of date" % (nfiles, len(bad)))
    return 1 if bad else 0


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    cases, fab = os.path.join(here, "..", "cases"), os.path.join(here, "..", "fab")
    if sys.argv[1:] == ["--check"]:
        sys.exit(check(cases, fab))
    if len(sys.argv) > 1:
        generate(os.path.join(sys.argv[1], "cases"), os.path.join(sys.argv[1], "fab"), True)
    else:
        generate(cases, fab, True)


if __name__ == "__main__":
    main()
