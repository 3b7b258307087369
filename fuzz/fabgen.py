#!/usr/bin/env python3
"""fabgen.py — random but well-formed .fab programs (docs/language.md).

    fuzz/fabgen.py SEED COUNT OUTDIR [--large]

Writes OUTDIR/gen_SEED_N.fab for N < COUNT.  Every program is valid by
construction: dims satisfy the layers' constraints (heads divide the
width, masks match the sequence), every layer with parameters is named
uniquely, and every output is assigned with its declared type.  A program
uses a random mix of every layer kind of the language — bfly (both
strides, several nblocks, widths that are and are not powers of two),
linear, mha (butterfly and dense projections, every `names` form, masks,
causal), layernorm, embed, posembed, fourier, gelu (both forms), relu,
softmax, scale, meanpool (with and without a mask), take, cls, matmul,
transpose, split_heads, merge_heads, the library blocks (post-LN, pre-LN,
masked, fabnet_layer), user blocks with `..` patterns and defaults,
`repeat`, `choose` and `select`.  Sizes stay small enough for the
simulator unless --large, which draws widths, sequence lengths and repeat
counts up to the sizes fabc must still check quickly (front end and
passes only: fuzz/fabgen.sh runs only `check` and `emit` on those).

fuzz/fabgen.sh drives each program through check -> passes (emit for both
targets) -> both code generators -> the interpreter, the CPU backend and
the simulator; ctest fuzz.fabgen replays the committed set
tests/fuzz/corpus/fabgen/ (under ASan + UBSan in the sanitizer build).
"""
import os
import random
import sys


class Gen:
    def __init__(self, rng, large):
        self.r = rng
        self.large = large
        self.names = 0
        self.lines = []
        self.blocks = []

    def name(self, base):
        self.names += 1
        return f"{base}.{self.names}"

    def pick(self, *xs):
        return self.r.choice(xs)

    # ---- layers that keep x: f32[seq, d] -------------------------------------
    def layer(self, x, env):
        r = self.r
        d, heads = env["d"], env["heads"]
        kinds = ["ln", "bfly", "linear", "act", "fourier", "mha", "byhand", "lib", "user",
                 "updown", "mul", "softmax", "scale", "choose"]
        if env["mask"]:
            kinds.append("masked")
        k = r.choice(kinds)
        if k == "ln":
            aff = self.pick("", ", affine = false", ", eps = 1e-6")
            return f"layernorm({x}{aff}) as {self.name('ln')}"
        if k == "bfly":
            inc = self.pick("", ", increasing = 0", ", increasing = 1")
            nb = self.pick("", ", nblocks = 2", "")
            bias = self.pick("", ", bias = false")
            return f"{x} + bfly({x}, d{inc}{nb}{bias}) as {self.name('bf')}"
        if k == "linear":
            bias = self.pick("", ", bias = false")
            return f"{x} + linear({x}, d{bias}) as {self.name('fc')}"
        if k == "act":
            return self.pick(f"gelu({x})", f'gelu({x}, approx = "tanh")', f"relu({x})")
        if k == "fourier":
            return f"{x} + fourier({x})"
        if k == "mha":
            proj = self.pick('"bfly"', '"dense"')
            names = self.pick('"short"', '"hf"') if proj == '"bfly"' else self.pick('"short"', '"hf"', '"packed"')
            extra = self.pick("", ", causal = 1", ", bias = false")
            if env["mask"] and r.random() < 0.5:
                extra += ", mask = mask"
            return f"{x} + mha({x}, heads, proj = {proj}, names = {names}{extra}) as {self.name('attn')}"
        if k == "byhand":
            p = self.name("att")
            dh = d // heads
            sc = 1.0 / (dh ** 0.5)
            return (f"linear(merge_heads(matmul(softmax(matmul(split_heads(linear({x}, d) as {p}.q, heads), "
                    f"split_heads(linear({x}, d) as {p}.k, heads), transpose_b = true), scale = {sc:.6f}), "
                    f"split_heads(linear({x}, d) as {p}.v, heads))), d) as {p}.o")
        if k == "lib":
            blk = self.pick("fbfly", "abfly", "transformer", "fbfly_pre", "abfly_pre", "transformer_pre",
                            "fabnet_layer")
            inc = self.pick("", ", increasing = 0")
            if blk in ("fbfly", "fbfly_pre"):
                return f"{blk}({x}, h{inc}) as {self.name('layers')}"
            if blk in ("transformer", "transformer_pre"):
                return f"{blk}({x}, h, heads) as {self.name('layers')}"
            if blk == "fabnet_layer":
                return f"fabnet_layer({x}, h, heads, {r.randint(0, 1)}{inc}) as {self.name('layers')}"
            return f"{blk}({x}, h, heads{inc}) as {self.name('layers')}"
        if k == "masked":
            blk = self.pick("abfly_masked", "transformer_masked")
            return f"{blk}({x}, mask, h, heads) as {self.name('layers')}"
        if k == "user":
            b = self.user_block()
            return f"{b}({x}, h) as {self.name('blk')}"
        if k == "updown":
            p = self.name("ud")
            return f"{x} + bfly(gelu(bfly({x}, h) as {p}.up), d, increasing = 0) as {p}.down"
        if k == "mul":
            return f"{x} * layernorm({x}) as {self.name('gate')}"
        if k == "softmax":
            return f"softmax({x}, scale = {self.pick('1.0', '0.5', '2.0')})"
        if k == "scale":
            return f"scale({x}, {self.pick('0.5', '2.0', '1')})"
        if k == "choose":
            # choose (k) elaborates one candidate: names may repeat across candidates
            p = self.name("ch")
            return (f"choose ({r.randint(0, 2)}) {{ layernorm({x}) as {p}; {x} + linear({x}, d) as {p}; "
                    f"gelu({x}); }}")
        raise AssertionError(k)

    def user_block(self):
        n = len(self.blocks)
        name = f"ub{n}"
        body = self.pick(
            "  y = gelu(bfly(x, w) as fc1);\n  return x + bfly(y, d, increasing = inc) as fc2;\n",
            "  y = layernorm(x) as norm;\n  return x + linear(relu(linear(y, w) as fc1), d) as fc2;\n",
            "  return layernorm(x + fourier(x)) as norm;\n")
        self.blocks.append(f"block {name}(x: f32[.., s, d], w: dim, inc: dim = 1) -> f32[.., s, d] {{\n{body}}}\n")
        return name

    def program(self):
        r = self.r
        if self.large:
            seq = self.pick(512, 1024, 4096, 1000, 3000)
            d = self.pick(256, 512, 768, 1024, 1000)
            layers = r.randint(1, 40)
        else:
            seq = self.pick(2, 3, 4, 7, 8, 16, 32)
            d = self.pick(4, 6, 8, 12, 16, 32)
            layers = r.randint(1, 4)
        heads = self.pick(*[h for h in (1, 2, 4) if d % h == 0])
        h = self.pick(d, 2 * d, d + 4, d * 3)
        vocab = self.pick(2, 16, 50, 1000 if self.large else 64)
        classes = self.pick(1, 2, 4, 10)
        mask = r.random() < 0.3
        tokens = r.random() < 0.7
        env = {"d": d, "heads": heads, "mask": mask}
        dims = [f"dim seq = {seq};", f"dim d = {d};", f"dim h = {h};", f"dim heads = {heads};",
                f"dim vocab = {vocab};", f"dim classes = {classes};", f"dim layers = {layers};"]
        ins = ["tokens: i32[seq]" if tokens else "x0: f32[seq, d]"]
        if mask:
            ins.append("mask: i32[seq]")
        pool = self.pick("meanpool(x)", "cls(x)", f"take(x, {r.randint(0, seq - 1)})", "meanpool(x)")
        if mask and pool == "meanpool(x)" and r.random() < 0.7:
            pool = "meanpool(x, mask = mask)"
        outs = ["logits: f32[classes]"]
        two = r.random() < 0.2
        if two:
            outs.append("hidden: f32[seq, d]")
        body = []
        if tokens:
            pos = self.pick(" + posembed(seq, d) as pos", "", f" + posembed(seq, d, maxlen = {seq + 3}) as pos")
            body.append(f"  x = embed(tokens, vocab, d) as embed{pos};")
        else:
            body.append("  x = x0;")
        nstmt = r.randint(1, 4)
        for _ in range(nstmt):
            if r.random() < 0.35:
                body.append("  repeat i in 0..layers {")
                body.append(f"    x = {self.layer('x', env).replace(' as ', ' as {i}.')};")
                body.append("  }")
            else:
                body.append(f"  x = {self.layer('x', env)};")
        if self.r.random() < 0.3:
            body.append(f"  x = transpose(transpose(x, 0, 1), -1, -2);")
        body.append(f"  logits = linear({pool}, classes) as head;")
        if two:
            body.append("  hidden = x;")
        src = ["// generated by fuzz/fabgen.py (valid by construction)", 'import "lib/blocks.fab";', ""]
        src += dims + [""] + self.blocks
        src.append(f"model gen({', '.join(ins)}) -> ({', '.join(outs)}) {{")
        src += body
        src.append("}")
        return "\n".join(src) + "\n"


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    large = "--large" in sys.argv
    if len(args) != 3:
        sys.exit(__doc__.split("\n\n")[1])
    seed, count, out = int(args[0]), int(args[1]), args[2]
    os.makedirs(out, exist_ok=True)
    for n in range(count):
        g = Gen(random.Random(seed * 100003 + n), large)
        tag = "large_" if large else ""
        with open(os.path.join(out, f"gen_{tag}{seed}_{n}.fab"), "w") as f:
            f.write(g.program())


if __name__ == "__main__":
    main()
