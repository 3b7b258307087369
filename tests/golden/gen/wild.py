"""wild.py -- golden models written the way a PyTorch user writes them.

Each model here is plain PyTorch: torch_butterfly's Butterfly with the
library's defaults (gen.Butterfly, increasing stride), nn.MultiheadAttention
and nn.TransformerEncoderLayer as shipped, attention written by hand with
view/transpose/@/softmax, Hugging Face-style q_proj/k_proj/v_proj/out_proj
names.  For each, into tests/golden/fab/:

  <case>.weights.safetensors   save_file(model.state_dict()): the names and
                               layouts PyTorch gives, nothing renamed
  <case>.input.safetensors     the inputs, under the .fab model's input names
  <case>.expected.safetensors  PyTorch's outputs, under the output names

and, for the backends' IR-level golden tests, into tests/golden/cases/ the
same computation as <case>.fir + <case>.safetensors (gen.finish).  The
matching .fab sources are written by hand (tests/golden/fab/<case>.fab):
the test is that fabc, given the unchanged state_dict, computes PyTorch's
outputs on every backend.
"""
import math
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import gen

CASES = []


def case(fn):
    CASES.append(fn)
    return fn


def write_fab_case(fabdir, name, module, inputs, outputs):
    gen.write_safetensors(os.path.join(fabdir, name + ".weights.safetensors"),
                          {k: gen.f32(v) for k, v in module.state_dict().items()})
    gen.write_safetensors(os.path.join(fabdir, name + ".input.safetensors"),
                          {k: (v.numpy().astype(np.int32) if v.dtype in (torch.int32, torch.int64)
                               else gen.f32(v)) for k, v in inputs.items()})
    gen.write_safetensors(os.path.join(fabdir, name + ".expected.safetensors"),
                          {k: gen.f32(v) for k, v in outputs.items()})


# ---------------------------------------------------------------------------
# Modules
# ---------------------------------------------------------------------------

class HFAttention(nn.Module):
    """Self-attention as Hugging Face models write it: q_proj, k_proj,
    v_proj, out_proj (torch_butterfly Butterfly(d, d) with the library's
    defaults, or nn.Linear), heads split with view + transpose."""

    def __init__(self, d, heads, bfly):
        super().__init__()
        self.heads, self.dh = heads, d // heads
        make = (lambda: gen.Butterfly(d, d)) if bfly else (lambda: nn.Linear(d, d))
        self.q_proj, self.k_proj, self.v_proj, self.out_proj = make(), make(), make(), make()

    def split(self, t):
        *lead, s, _ = t.shape
        return t.view(*lead, s, self.heads, self.dh).transpose(-2, -3)

    def forward(self, x):
        q, k, v = self.split(self.q_proj(x)), self.split(self.k_proj(x)), self.split(self.v_proj(x))
        a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(self.dh), dim=-1)
        o = (a @ v).transpose(-2, -3)
        return self.out_proj(o.reshape(*o.shape[:-2], -1))


class ButterflyFFN(nn.Module):
    def __init__(self, d, h):
        super().__init__()
        self.fc1, self.fc2 = gen.Butterfly(d, h), gen.Butterfly(h, d)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))


class FBfly(nn.Module):
    def __init__(self, d, h):
        super().__init__()
        self.norm1, self.ffn, self.norm2 = nn.LayerNorm(d), ButterflyFFN(d, h), nn.LayerNorm(d)

    def forward(self, x):
        x = self.norm1(x + torch.fft.fft2(x).real)
        return self.norm2(x + self.ffn(x))


class ABfly(nn.Module):
    def __init__(self, d, h, heads):
        super().__init__()
        self.attn, self.norm1 = HFAttention(d, heads, True), nn.LayerNorm(d)
        self.ffn, self.norm2 = ButterflyFFN(d, h), nn.LayerNorm(d)

    def forward(self, x):
        x = self.norm1(x + self.attn(x))
        return self.norm2(x + self.ffn(x))


class FABNet(nn.Module):
    """FBfly, FBfly, ABfly (post-LN), mean pooling, a linear head."""

    def __init__(self, vocab, seq, d, h, heads, classes):
        super().__init__()
        self.embed, self.pos = nn.Embedding(vocab, d), nn.Embedding(seq, d)
        self.layers = nn.ModuleList([FBfly(d, h), FBfly(d, h), ABfly(d, h, heads)])
        self.head = nn.Linear(d, classes)

    def forward(self, ids):
        x = self.embed(ids.long()) + self.pos.weight
        for layer in self.layers:
            x = layer(x)
        return self.head(x.mean(dim=-2))


# ---------------------------------------------------------------------------
# IR emission of the same computations (cases/<case>.fir)
# ---------------------------------------------------------------------------

def emit_linear(ir, x, mod, name):
    b = 1 / math.sqrt(mod.in_features)
    ops = [x, ir.weight(name + ".weight", mod.weight, gen.init_uniform(b))]
    if mod.bias is not None:
        ops.append(ir.weight(name + ".bias", mod.bias, gen.init_uniform(b)))
    return ir.op("dense", ops, {}, "f32", x[1][:-1] + (mod.out_features,))


def emit_mha_packed(ir, x, m, name):
    """nn.MultiheadAttention: one d -> 3d projection, sliced into q, k, v."""
    d = x[1][-1]
    bound = math.sqrt(6 / (4 * d))
    w = ir.weight(name + ".in_proj_weight", m.in_proj_weight, gen.init_uniform(bound))
    b = ir.weight(name + ".in_proj_bias", m.in_proj_bias, "zeros")
    qkv = ir.op("dense", [x, w, b], {}, "f32", x[1][:-1] + (3 * d,))
    q, k, v = (ir.op("slice", [qkv], {"axis": len(x[1]) - 1, "start": i * d, "size": d}, "f32", x[1])
               for i in range(3))
    a = ir.op("mha", [q, k, v], {"heads": m.num_heads}, "f32", x[1])
    return emit_linear(ir, a, m.out_proj, name + ".out_proj")


def emit_attention_by_hand(ir, x, m, name):
    """HFAttention as matmul / transpose / reshape / softmax ops."""
    *lead, s, d = x[1]
    lead, H, dh = tuple(lead), m.heads, m.dh
    r = len(x[1]) + 1
    perm = list(range(r))
    perm[r - 3], perm[r - 2] = perm[r - 2], perm[r - 3]

    def split(t):
        t = ir.op("reshape", [t], {"shape": lead + (s, H, dh)}, "f32", lead + (s, H, dh))
        return ir.op("transpose", [t], {"perm": perm}, "f32", lead + (H, s, dh))

    q, k, v = (split(emit_linear(ir, x, getattr(m, p), "%s.%s" % (name, p)))
               for p in ("q_proj", "k_proj", "v_proj"))
    sc = ir.op("matmul", [q, k], {"transpose_b": 1}, "f32", lead + (H, s, s))
    a = ir.op("softmax", [sc], {"scale": 1 / math.sqrt(dh)}, "f32", lead + (H, s, s))
    o = ir.op("matmul", [a, v], {}, "f32", lead + (H, s, dh))
    o = ir.op("transpose", [o], {"perm": perm}, "f32", lead + (s, H, dh))
    o = ir.op("reshape", [o], {"shape": lead + (s, d)}, "f32", lead + (s, d))
    return emit_linear(ir, o, m.out_proj, name + ".out_proj")


# ---------------------------------------------------------------------------
# Cases
# ---------------------------------------------------------------------------

@case
def fabnet_torch(outdir, fabdir):
    """A FABNet as a PyTorch user builds it: Butterfly(in, out) defaults,
    HF-style attention names, nn.LayerNorm / nn.Embedding defaults."""
    vocab, seq, d, h, heads, classes = 40, 16, 32, 64, 4, 5
    m = gen.prepare(FABNet(vocab, seq, d, h, heads, classes))
    # three samples: the .fab model is declared for one ([seq]); the leading
    # axis is the run-time batch
    ids = torch.randint(0, vocab, (3, seq), dtype=torch.int32)
    write_fab_case(fabdir, "fabnet_torch", m, {"tokens": ids}, {"logits": m(ids)})


@case
def encoder_layer_torch(outdir, fabdir):
    """nn.TransformerEncoderLayer (post-LN, GELU, batch_first) as shipped:
    packed self_attn.in_proj_weight, linear1/linear2, norm1/norm2."""
    d, heads, h = 32, 4, 64
    m = gen.prepare(nn.TransformerEncoderLayer(d, heads, dim_feedforward=h, dropout=0.0,
                                               activation="gelu", batch_first=True)).eval()
    with torch.no_grad():  # zero-initialised biases would hide a swapped q/k/v slice
        for b in (m.self_attn.in_proj_bias, m.self_attn.out_proj.bias):
            b.copy_(0.5 * gen.randn(*b.shape))
    x = gen.randn(2, 12, d)
    y = m(x)
    write_fab_case(fabdir, "encoder_layer_torch", m, {"x": x}, {"y": y})
    ir = gen.IR("encoder_layer_torch")
    xi = ir.input("x", "f32", x.shape)
    t = gen.emit_add(ir, xi, emit_mha_packed(ir, xi, m.self_attn, "self_attn"))
    t = gen.emit_ln(ir, t, m.norm1, "norm1")
    f = ir.op("gelu", [emit_linear(ir, t, m.linear1, "linear1")], {"approx": "erf"}, "f32", (2, 12, h))
    t = gen.emit_ln(ir, gen.emit_add(ir, t, emit_linear(ir, f, m.linear2, "linear2")), m.norm2, "norm2")
    ir.output(t, "y")
    gen.finish(outdir, "encoder_layer_torch", ir, m, {"x": x}, {"y": y})


@case
def attention_by_hand(outdir, fabdir):
    """HF-style attention with nn.Linear projections, written with
    matmul / transpose / reshape / softmax."""
    d, heads = 32, 4

    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.attn = HFAttention(d, heads, False)

    m = gen.prepare(M())
    x = gen.randn(2, 10, d)
    y = m.attn(x)
    assert torch.allclose(y, m.attn.out_proj(gen.mha(m.attn.q_proj(x), m.attn.k_proj(x),
                                                     m.attn.v_proj(x), heads)), rtol=1e-10, atol=1e-12)
    write_fab_case(fabdir, "attention_by_hand", m, {"x": x}, {"y": y})
    ir = gen.IR("attention_by_hand")
    xi = ir.input("x", "f32", x.shape)
    ir.output(emit_attention_by_hand(ir, xi, m.attn, "attn"), "y")
    gen.finish(outdir, "attention_by_hand", ir, m, {"x": x}, {"y": y})


class MaskedHFAttention(HFAttention):
    """HFAttention with a key-padding mask (1 = token, 0 = padding)."""

    def forward(self, x, mask):
        q, k, v = self.split(self.q_proj(x)), self.split(self.k_proj(x)), self.split(self.v_proj(x))
        sc = q @ k.transpose(-1, -2) / math.sqrt(self.dh)
        sc = sc.masked_fill((mask == 0)[..., None, None, :], float("-inf"))
        o = (torch.softmax(sc, dim=-1) @ v).transpose(-2, -3)
        return self.out_proj(o.reshape(*o.shape[:-2], -1))


class MaskedABfly(ABfly):
    def __init__(self, d, h, heads):
        super().__init__(d, h, heads)
        self.attn = MaskedHFAttention(d, heads, True)

    def forward(self, x, mask):
        x = self.norm1(x + self.attn(x, mask))
        return self.norm2(x + self.ffn(x))


class PaddedFABNet(nn.Module):
    """A FABNet for padded text: a learned positional table stored as
    nn.Parameter [1, S, d], a position_ids buffer, masked attention and a
    masked mean."""

    def __init__(self, vocab, seq, d, h, heads, classes):
        super().__init__()
        self.embed = nn.Embedding(vocab, d)
        self.pos_embedding = nn.Parameter(torch.randn(1, seq, d))
        self.register_buffer("position_ids", torch.arange(seq))
        self.layers = nn.ModuleList([FBfly(d, h), MaskedABfly(d, h, heads)])
        self.head = nn.Linear(d, classes)

    def forward(self, ids, mask):
        x = self.embed(ids.long()) + self.pos_embedding
        x = self.layers[1](self.layers[0](x), mask)
        m = mask.to(x.dtype)[..., None]
        return self.head((x * m).sum(dim=-2) / m.sum(dim=-2))


@case
def fabnet_padded_torch(outdir, fabdir):
    """Four samples of different lengths under a `model.` prefix (as a
    wrapping module saves them): loads with a rename, a reshape of the
    [1, S, d] table and --allow-unused for the buffer."""
    vocab, seq, d, h, heads, classes = 30, 16, 32, 64, 4, 3

    class Wrapper(nn.Module):
        def __init__(self):
            super().__init__()
            self.model = PaddedFABNet(vocab, seq, d, h, heads, classes)

    w = gen.prepare(Wrapper())
    mask = gen.padding_mask([16, 11, 6, 1], seq)
    ids = torch.randint(1, vocab, (4, seq), dtype=torch.int32) * mask
    y = w.model(ids, mask)
    write_fab_case(fabdir, "fabnet_padded_torch", w, {"tokens": ids, "mask": mask}, {"logits": y})


FFT_SHAPES = {"a": (2, 12, 768), "b": (24, 40), "c": (56, 7), "e": (17, 97), "f": (768, 8)}


@case
def fft_mixed_torch(outdir, fabdir):
    """Re(FFT2) as torch.fft.fft2(x).real on lengths that are not powers of
    two, on both axes: 768 = 3 * 256 (hidden and sequence axis), 12, 24,
    40 = 5 * 8, 56 = 7 * 8, 7, and the primes 17 and 97."""
    xs = {k: gen.randn(*shape) for k, shape in FFT_SHAPES.items()}
    ys = {"y" + k: torch.fft.fft2(x).real for k, x in xs.items()}
    write_fab_case(fabdir, "fft_mixed_torch", nn.Module(), xs, ys)


PRIME_SHAPES = {"a": (97, 64), "b": (64, 127), "c": (6, 514), "e": (1018, 8), "f": (4, 1009)}


class FourierMixing(nn.Module):
    """FNet's mixing sublayer, LayerNorm(x + Re FFT2(x))."""

    def __init__(self, d):
        super().__init__()
        self.norm = nn.LayerNorm(d)

    def forward(self, x):
        return self.norm(x + torch.fft.fft2(x).real)


@case
def fft_prime_torch(outdir, fabdir):
    """Re(FFT2) as torch.fft.fft2(x).real on lengths with a large prime
    factor (Bluestein on the cpu, lower-bluestein), on both axes: 97 and
    2 * 509 = 1018 along the sequence, 127, 2 * 257 = 514 and 1009 along
    the hidden axis; and a Fourier-mixing sublayer on the 97 x 64 input."""
    xs = {k: gen.randn(*shape) for k, shape in PRIME_SHAPES.items()}
    ys = {"y" + k: torch.fft.fft2(x).real for k, x in xs.items()}
    mix = gen.prepare(FourierMixing(64))
    ys["mixed"] = mix(xs["a"])
    write_fab_case(fabdir, "fft_prime_torch", mix, xs, ys)


def generate(outdir, fabdir, verbose):
    import zlib
    os.makedirs(fabdir, exist_ok=True)
    for fn in CASES:
        torch.manual_seed(zlib.crc32(fn.__name__.encode()))
        fn(outdir, fabdir)
        if verbose:
            print(fn.__name__)
