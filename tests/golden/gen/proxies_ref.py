#!/usr/bin/python3
"""proxies_ref.py -- reference values of fabc's zero-cost proxies.

An independent computation with torch autograd (float64) of the proxies
of zero-cost-nas (Abdelfattah et al., ICLR 2021; SamsungLabs/zero-cost-nas,
foresight/pruners/measures/*.py) and NASWOT (Mellor et al., ICML 2021) on
three small models -- dense, butterfly, and a FABNet with Fourier mixing
and attention -- built from gen.py's reference modules.  Written into
tests/explore/golden/ (checked by ctest explore.proxy.golden_*):

  <model>.fir          the model in fabc's IR text form (one sample)
  <model>.safetensors  its weights (state_dict names), the minibatch
                       ("input.<name>", [N, ...]) and "labels" (i32 [N])
  proxies.txt          "<model> <proxy> <fabc|reference> <value>" lines

fabc and the reference differ in fisher (fan-in factor; the channel
dim) and, on token models, synflow's input (docs/explore.md); both
variants are written.  Scored layers are nn.Linear and butterfly layers
(zero-cost-nas knows only nn.Linear/Conv2d; fabc scores butterflies too,
and so does this script).  Run with Debian's /usr/bin/python3:

  /usr/bin/python3 tests/golden/gen/proxies_ref.py          # rewrite
  /usr/bin/python3 tests/golden/gen/proxies_ref.py --check  # up to date?
"""
import math
import os
import sys
import tempfile
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen  # noqa: E402  (reference modules, IR emission, safetensors)

np, torch, nn, F = gen.np, gen.torch, gen.nn, gen.F

N = 8        # minibatch
CLASSES = 5
LINEAR = (nn.Linear, gen.Butterfly)


def weight_of(layer):
    return layer.weight if isinstance(layer, nn.Linear) else layer.twiddle


def out_units(layer):
    return layer.out_features if isinstance(layer, nn.Linear) else layer.out_size


# ---------------------------------------------------------------------------
# Models, as the proxies see them: linears() (scored layers), acts() (the
# layers whose outputs feed GELU/ReLU: NASWOT's codes), run(x, embed_out)
# (a batch; token models: embed_out replaces or captures the embedding's
# output), tokens (whether input 0 holds token ids).
# ---------------------------------------------------------------------------

class DenseMLP(nn.Module):
    tokens = False

    def __init__(self):
        super().__init__()
        self.fc1, self.fc2, self.head = nn.Linear(16, 32), nn.Linear(32, 24), nn.Linear(24, CLASSES)

    def linears(self):
        return [self.fc1, self.fc2, self.head]

    def acts(self):
        return [self.fc1, self.fc2]

    def run(self, x, embed_out=None):
        return self.head(F.relu(self.fc2(F.gelu(self.fc1(x)))))


class BflyMLP(DenseMLP):
    """[8 tokens, 16 features] -> butterfly 16->32, GELU, butterfly 32->16,
    ReLU, mean over tokens, dense head (a 3-d activation: fisher's
    channel dim matters)."""

    def __init__(self):
        nn.Module.__init__(self)
        self.fc1 = gen.Butterfly(16, 32, increasing_stride=False)
        self.fc2 = gen.Butterfly(32, 16)
        self.head = nn.Linear(16, CLASSES)

    def run(self, x, embed_out=None):
        return self.head(F.relu(self.fc2(F.gelu(self.fc1(x)))).mean(dim=-2))


class FABNetFA(gen.FABNet):
    """One FBfly and one ABfly block, post-LN (gen.py's FABNet)."""
    tokens = True

    def __init__(self):
        super().__init__(20, 16, 16, 32, 2, "fa", False, CLASSES)

    def linears(self):
        return [l for l in self.modules() if isinstance(l, LINEAR)]

    def acts(self):
        return [b.ffn.fc1 for b in self.layers]

    def run(self, ids, embed_out=None):
        e = self.embed(ids.long())
        if embed_out is not None:
            e = embed_out(e)
        h = e + self.pos.weight[: ids.shape[-1]]
        for b in self.layers:
            h = b(h)
        return self.head(h.mean(dim=-2))


def emit_mlp(ir, x, m, bfly):
    def lin(v, layer, name):
        if bfly and name != "head":
            return gen.emit_bfly(ir, v, layer, name)
        w = ir.weight(name + ".weight", layer.weight, gen.init_uniform(1 / math.sqrt(layer.in_features)))
        b = ir.weight(name + ".bias", layer.bias, gen.init_uniform(1 / math.sqrt(layer.in_features)))
        return ir.op("dense", [v, w, b], {}, "f32", v[1][:-1] + (layer.out_features,))
    h = lin(x, m.fc1, "fc1")
    h = ir.op("gelu", [h], {"approx": "erf"}, "f32", h[1])
    h = ir.op("relu", [lin(h, m.fc2, "fc2")], {}, "f32", h[1][:-1] + (out_units(m.fc2),))
    if bfly:
        h = ir.op("meanpool", [h], {}, "f32", h[1][1:])
    ir.output(lin(h, m.head, "head"), "logits")


def emit_fabnet(ir, ids, m):
    x = gen.emit_embed_pos(ir, ids, m, ids[1][0], 16)
    for i, blk in enumerate(m.layers):
        x = gen.emit_block(ir, x, blk, "layers.%d" % i)
    gen.emit_head(ir, ir.op("meanpool", [x], {}, "f32", (16,)), m, 16, CLASSES)


def build(name):
    torch.manual_seed(zlib.crc32(name.encode()))
    ir = gen.IR(name)
    if name == "fabnet_fa":
        m = gen.prepare(FABNetFA())
        x = torch.randint(0, 20, (N, 16), dtype=torch.int32)
        emit_fabnet(ir, ir.input("ids", "i32", (16,)), m)
        m.embed_input = "ids"
    else:
        bfly = name == "bfly_mlp"
        m = gen.prepare(BflyMLP() if bfly else DenseMLP())
        shape = (8, 16) if bfly else (16,)
        x = gen.randn(N, *shape)
        emit_mlp(ir, ir.input("x", "f32", shape), m, bfly)
        m.embed_input = "x"
    y = torch.randint(0, CLASSES, (N,), dtype=torch.int32)
    return m, ir, x, y


# ---------------------------------------------------------------------------
# Proxies (zero-cost-nas's definitions; fabc's variants where they differ)
# ---------------------------------------------------------------------------

def loss_backward(m, x, y):
    m.zero_grad()
    F.cross_entropy(m.run(x), y.long()).backward()


def grad_norm(m, x, y):
    loss_backward(m, x, y)
    return sum(weight_of(l).grad.norm().item() for l in m.linears())


def snip(m, x, y):
    loss_backward(m, x, y)
    return sum((weight_of(l) * weight_of(l).grad).abs().sum().item() for l in m.linears())


def fisher(m, x, y, reference):
    """zero-cost-nas: act = the layer's output (bias included), grad = dL/dact;
    channel = dim 1 of act (summed over dims 2..); 1/2 mean_n g^2 per
    channel, broadcast to prod(weight.shape[1:]) weights (fan-in; a
    butterfly: twiddles per output unit).  fabc: channel = the last dim,
    counted once."""
    acts, handles = {}, []
    for l in m.linears():
        def hook(mod, inp, out):
            out.retain_grad()
            acts[mod] = out
        handles.append(l.register_forward_hook(hook))
    loss_backward(m, x, y)
    for h in handles:
        h.remove()
    total = 0.0
    for l in m.linears():
        a = acts[l]
        z = a.detach() * a.grad
        if reference:
            g = z.sum(dim=tuple(range(2, z.dim()))) if z.dim() > 2 else z
            factor = weight_of(l).numel() / out_units(l)
        else:
            g = z.sum(dim=tuple(range(1, z.dim() - 1))) if z.dim() > 2 else z
            factor = 1
        total += factor * g.pow(2).mean(0).mul(0.5).abs().sum().item()
    return total


def synflow(m, x, reference):
    """|theta| everywhere, input of ones (batch 1), R = sum of outputs;
    sum |theta dR/dtheta| over scored layers, reported as ln.  Token
    models: the reference's ones are token ids 1; fabc's are the
    embedding's output."""
    import copy
    net = copy.deepcopy(m)
    with torch.no_grad():
        for p in net.state_dict().values():
            p.abs_()
    net.zero_grad()
    ones = torch.ones((1,) + tuple(x.shape[1:]), dtype=torch.float64)
    if net.tokens:
        out = net.run(ones.long(), None if reference else (lambda e: torch.ones_like(e)))
    else:
        out = net.run(ones)
    out.sum().backward()
    return math.log(sum((weight_of(l) * weight_of(l).grad).abs().sum().item() for l in net.linears()))


def jacob_cov(m, x):
    """d(sum of logits)/d input per sample (token models: the embedding's
    output), rows correlated (np.corrcoef), -sum log(v+k) + 1/(v+k)."""
    m.zero_grad()
    if m.tokens:
        held = {}

        def capture(e):
            e.retain_grad()
            held["e"] = e
            return e
        out = m.run(x, capture)
        out.backward(torch.ones_like(out))
        jac = held["e"].grad
    else:
        xi = x.clone().requires_grad_(True)
        out = m.run(xi)
        out.backward(torch.ones_like(out))
        jac = xi.grad
    corrs = np.corrcoef(jac.reshape(jac.shape[0], -1).numpy())
    v = np.linalg.eigvalsh(corrs)
    k = 1e-5
    return float(-np.sum(np.log(np.abs(v + k)) + 1.0 / (v + k)))


def nwot(m, x):
    """NASWOT: binary codes (pre-activation > 0) of every GELU/ReLU input,
    K = c c^T + (1-c)(1-c)^T, ln|det K| over the distinct codes."""
    codes, handles = [], []
    for l in m.acts():
        handles.append(l.register_forward_hook(
            lambda mod, inp, out: codes.append((out.detach() > 0).reshape(out.shape[0], -1).double())))
    with torch.no_grad():
        m.run(x)
    for h in handles:
        h.remove()
    c = torch.cat(codes, dim=1)
    keep = []
    for n in range(c.shape[0]):
        if not any(torch.equal(c[n], c[j]) for j in keep):
            keep.append(n)
    c = c[keep]
    K = c @ c.t() + (1 - c) @ (1 - c).t()
    return float(np.linalg.slogdet(K.numpy())[1])


def proxies(m, x, y):
    rows = []
    for defs in ("fabc", "reference"):
        ref = defs == "reference"
        rows += [("synflow", defs, synflow(m, x, ref)), ("snip", defs, snip(m, x, y)),
                 ("grad_norm", defs, grad_norm(m, x, y)), ("fisher", defs, fisher(m, x, y, ref)),
                 ("jacob_cov", defs, jacob_cov(m, x)), ("nwot", defs, nwot(m, x))]
    return rows


# ---------------------------------------------------------------------------
# Zero-Cost-PT on examples/supernet_tiny.fab: two edges "layers.<i>" of
# {fbfly, abfly, identity} (post-LN, decreasing-stride butterflies), mixed
# as (sum of the kept candidates) / 3 while undecided and with weight 1
# once decided (project_op).  The minibatch set is one batch, so every
# draw (fabc's or the reference's fresh ones) holds the same samples.
# ---------------------------------------------------------------------------

CANDS = ("fbfly", "abfly", "identity")


class Supernet(nn.Module):
    tokens = True

    def __init__(self):
        super().__init__()
        self.embed, self.pos = nn.Embedding(32, 16), nn.Embedding(16, 16)
        self.layers = nn.ModuleList(
            nn.ModuleDict({"fbfly": gen.Block(16, 32, 0, False), "abfly": gen.Block(16, 32, 2, False)})
            for _ in range(2))
        self.head = nn.Linear(16, 4)
        for mod in self.modules():
            if isinstance(mod, gen.Butterfly):
                mod.increasing_stride = False
        self.live = [set(CANDS) for _ in self.layers]
        self.decided = [False for _ in self.layers]

    def blocks(self):
        return [edge[c] for i, edge in enumerate(self.layers) for c in ("fbfly", "abfly") if c in self.live[i]]

    def linears(self):
        return [l for b in self.blocks() for l in b.modules() if isinstance(l, LINEAR)] + [self.head]

    def acts(self):
        return [b.ffn.fc1 for b in self.blocks()]

    def run(self, ids, embed_out=None):
        e = self.embed(ids.long())
        if embed_out is not None:
            e = embed_out(e)
        x = e + self.pos.weight
        for i, edge in enumerate(self.layers):
            outs = [x if c == "identity" else edge[c](x) for c in CANDS if c in self.live[i]]
            x = sum(outs) * (1.0 if self.decided[i] else 1.0 / len(CANDS))
        return self.head(x.mean(dim=-2))


def score(net, proxy, reference, x, y):
    if proxy == "synflow":
        return synflow(net, x, reference)
    if proxy == "fisher":
        return fisher(net, x, y, reference)
    if proxy in ("jacob_cov", "nwot"):
        return {"jacob_cov": jacob_cov, "nwot": nwot}[proxy](net, x)
    return {"snip": snip, "grad_norm": grad_norm}[proxy](net, x, y)


def zcpt(net, proxy, reference, order, x, y):
    """One proposal visiting the edges in `order`: per edge, the score with
    each candidate removed; the candidate whose removal lowers it most is
    kept (project_op: weight 1)."""
    net.live = [set(CANDS) for _ in net.layers]
    net.decided = [False for _ in net.layers]
    lines = []
    for e in order:
        base = score(net, proxy, reference, x, y)
        without = []
        for c in CANDS:
            net.live[e].discard(c)
            without.append(score(net, proxy, reference, x, y))
            net.live[e].add(c)
        best = min(range(len(CANDS)), key=lambda c: (without[c], c))
        net.live[e], net.decided[e] = {CANDS[best]}, True
        lines.append("layers.%d base %.17g" % (e, base))
        lines += ["layers.%d without %s %.17g" % (e, CANDS[c], without[c]) for c in range(len(CANDS))]
    lines.append("chosen %s" % " ".join(next(iter(l)) for l in net.live))
    return lines


ZCPT_PROXIES = ("synflow", "snip", "grad_norm", "fisher", "jacob_cov", "nwot")


def generate_zcpt(outdir):
    torch.manual_seed(zlib.crc32(b"supernet_tiny"))
    net = gen.prepare(Supernet())
    x = torch.randint(0, 32, (N, 16), dtype=torch.int32)
    y = torch.randint(0, 4, (N,), dtype=torch.int32)
    tensors = {k: gen.f32(v) for k, v in net.state_dict().items()}
    tensors["input.tokens"], tensors["labels"] = x.numpy(), y.numpy()
    gen.write_safetensors(os.path.join(outdir, "supernet_tiny.safetensors"), tensors)
    lines = []
    for defs in ("fabc", "reference"):
        for proxy in ZCPT_PROXIES:
            for order in ((0, 1), (1, 0)):
                head = "%s %s %d,%d " % (defs, proxy, order[0], order[1])
                lines += [head + l for l in zcpt(net, proxy, defs == "reference", order, x, y)]
    with open(os.path.join(outdir, "zcpt.txt"), "w") as f:
        f.write("# written by tests/golden/gen/proxies_ref.py: Zero-Cost-PT on examples/supernet_tiny.fab\n"
                "# definitions proxy edge-order (base|without|chosen) ...\n")
        f.write("\n".join(lines) + "\n")


MODELS = ("dense_mlp", "bfly_mlp", "fabnet_fa")


def generate(outdir):
    os.makedirs(outdir, exist_ok=True)
    lines = []
    for name in MODELS:
        m, ir, x, y = build(name)
        tensors = {k: gen.f32(v) for k, v in m.state_dict().items()}
        tensors["input." + m.embed_input] = x.numpy().astype(np.int32) if x.dtype == torch.int32 else gen.f32(x)
        tensors["labels"] = y.numpy()
        with open(os.path.join(outdir, name + ".fir"), "w") as f:
            f.write(ir.text())
        gen.write_safetensors(os.path.join(outdir, name + ".safetensors"), tensors)
        for proxy, defs, v in proxies(m, x, y):
            lines.append("%s %s %s %.17g" % (name, proxy, defs, v))
    with open(os.path.join(outdir, "proxies.txt"), "w") as f:
        f.write("# written by tests/golden/gen/proxies_ref.py: model proxy definitions value\n")
        f.write("\n".join(lines) + "\n")
    generate_zcpt(outdir)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = os.path.join(here, "..", "..", "explore", "golden")
    if sys.argv[1:] == ["--check"]:
        with tempfile.TemporaryDirectory() as tmp:
            generate(tmp)
            bad = [f for f in sorted(os.listdir(tmp))
                   if open(os.path.join(tmp, f), "rb").read() != open(os.path.join(out, f), "rb").read()]
            nfiles = len(os.listdir(tmp))
        for f in bad:
            print("out of date: %s" % f)
        print("%d files, %d out of date" % (nfiles, len(bad)))
        sys.exit(1 if bad else 0)
    generate(out)
    print(open(os.path.join(out, "proxies.txt")).read(), end="")


if __name__ == "__main__":
    main()
