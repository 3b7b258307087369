"""fabc.from_torch / compile_torch on models as PyTorch users write them
(tests/golden/gen/wild.py, the golden generator's FABNet pieces,
nn.MultiheadAttention, attention by hand): the .fab binds the unchanged
state_dict and computes PyTorch's outputs on cpu and fpga (fp32); what the
importer cannot express is a fabc.Error naming the module and the node."""
import math
import unittest

from common import FP32, assert_same, compile_, golden, np, fabc

import torch  # required: python3-torch (scripts/setup.sh)
import torch.nn as nn
import torch.nn.functional as F

import gen
import wild

RTOL, ATOL = 1e-4, 1e-5


def check(tc, module, example, input_names=None, targets=("cpu", "fpga")):
    module = module.eval()
    args = example if isinstance(example, tuple) else (example,)
    with torch.no_grad():
        want = module(*args)
    src, mapping = fabc.from_torch(module, example, input_names=input_names)
    tc.assertEqual(set(mapping), set(module.state_dict()))  # every parameter used, by its own name
    tc.assertTrue(all(k == v for k, v in mapping.items()))
    names = input_names or [n for n in fabc.compile(source=src).inputs]
    feed = {n: a.numpy() for n, a in zip(names, args)}
    for target in targets:
        with tc.subTest(target=target):
            m = fabc.compile_torch(module, example, target=target, accel=FP32 if target == "fpga" else None,
                                   input_names=input_names)
            got = m.simulate(**feed) if target == "fpga" else m(**feed)
            np.testing.assert_allclose(got["y"], want.numpy(), rtol=RTOL, atol=ATOL)
    return src


class HandAttention(nn.Module):
    """Attention by hand, traceable by torch.fx (shapes read by index)."""

    def __init__(self, d, heads):
        super().__init__()
        self.h, self.dh = heads, d // heads
        self.q, self.k, self.v, self.o = (nn.Linear(d, d) for _ in range(4))

    def forward(self, x):
        b, s, d = x.shape[0], x.shape[1], x.shape[2]  # fx on Python 3.11 cannot unpack a shape
        q = self.q(x).view(b, s, self.h, self.dh).transpose(1, 2)
        k = self.k(x).view(b, s, self.h, self.dh).transpose(1, 2)
        v = self.v(x).view(b, s, self.h, self.dh).transpose(1, 2)
        a = F.softmax(q @ k.transpose(-2, -1) / math.sqrt(self.dh), dim=-1)
        o = (a @ v).transpose(1, 2).reshape(b, s, d)
        return self.o(F.dropout(o, 0.1, self.training))


class MHAModel(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.attn = nn.MultiheadAttention(d, heads, batch_first=True)
        self.norm = nn.LayerNorm(d, eps=1e-6)
        self.drop = nn.Dropout(0.1)

    def forward(self, x):
        y = self.attn(x, x, x, need_weights=False)[0]  # fx on Python 3.11 cannot unpack tuples
        return self.norm(x + self.drop(y))


class Wrap(nn.Module):
    def __init__(self, **mods):
        super().__init__()
        for k, v in mods.items():
            setattr(self, k, v)

    def forward(self, x):
        return self.attn(x)


class Wrap2(Wrap):
    def forward(self, x, mask):
        return self.attn(x, mask)


class RoundTrip(unittest.TestCase):
    def setUp(self):
        torch.manual_seed(0)

    def test_fabnet_wild(self):
        m = gen.prepare(wild.FABNet(40, 16, 32, 64, 4, 5))
        ids = torch.randint(0, 40, (16,), dtype=torch.int32)
        src = check(self, m, ids, input_names=["tokens"])
        self.assertIn('mha(', src)
        self.assertIn('mha(x, 4, names = "hf") as attn', src)  # in the ABfly block
        self.assertIn("as layers.2;", src)
        self.assertIn("fourier(", src)

    def test_fabnet_golden_weights_bind(self):
        """The hand-written golden case's files fit the imported model."""
        fab, weights, inputs, expected = golden("fabnet_torch")
        m = gen.prepare(wild.FABNet(40, 16, 32, 64, 4, 5))
        src, _ = fabc.from_torch(m, torch.zeros(16, dtype=torch.int32), input_names=["tokens"])
        got = fabc.compile(source=src, target="cpu").load_weights(weights)(**inputs)["y"]
        np.testing.assert_allclose(got, expected["logits"], rtol=RTOL, atol=ATOL)
        assert_same(self, {"y": got}, {"y": compile_(fab, target="cpu").load_weights(weights)(**inputs)["logits"]})

    def test_fabnet_generator(self):
        """The golden generator's FABNet (gen.py): q/k/v/o attention names,
        Fourier mixing as two 1-D FFTs, positions sliced by the input length,
        post- and pre-LN."""
        for prenorm in (False, True):
            m = gen.prepare(gen.FABNet(50, 32, 64, 128, 4, "fa", prenorm, 5))
            src = check(self, m, torch.randint(0, 50, (2, 16), dtype=torch.int32))
            self.assertIn("posembed(16, 64, maxlen = 32) as pos", src)
            self.assertIn("mha(t1, 4) as attn" if prenorm else "mha(x, 4) as attn", src)  # in the ABfly block

    def test_repeated_layers_are_blocks_and_repeat(self):
        class Deep(nn.Module):
            def __init__(self):
                super().__init__()
                self.layers = nn.ModuleList([wild.FBfly(32, 64) for _ in range(3)] + [wild.ABfly(32, 64, 4)])

            def forward(self, x):
                for layer in self.layers:
                    x = layer(x)
                return x

        src = check(self, gen.prepare(Deep()), gen.randn(16, 32))
        self.assertIn("block fbfly(x: f32[16, 32]) -> f32[16, 32] {", src)
        self.assertIn("block butterflyffn(x: f32[16, 32]) -> f32[16, 32] {", src)  # nested, shared
        self.assertEqual(src.count("block butterflyffn("), 1)
        self.assertIn("= butterflyffn(t3) as ffn;", src)
        self.assertIn("repeat i in 0..3 {", src)
        self.assertIn("= fbfly(t", src)
        self.assertIn("as layers.{i};", src)
        self.assertIn("= abfly(t", src)
        self.assertIn("as layers.3;", src)

    def test_fbfly_abfly(self):
        check(self, gen.prepare(wild.FBfly(32, 64)), gen.randn(2, 16, 32))
        check(self, gen.prepare(wild.ABfly(32, 64, 4)), gen.randn(16, 32))

    def test_encoder_layer(self):
        for norm_first, act in ((False, "gelu"), (True, "relu")):
            e = nn.TransformerEncoderLayer(32, 4, dim_feedforward=64, dropout=0.1, activation=act,
                                           batch_first=True, norm_first=norm_first)
            with torch.no_grad():
                e.self_attn.in_proj_bias.normal_()
            check(self, e, torch.randn(2, 12, 32))
        enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(32, 4, 64, 0.0, batch_first=True), 2,
                                    norm=nn.LayerNorm(32), enable_nested_tensor=False)
        check(self, enc, torch.randn(2, 12, 32), targets=("cpu",))

    def test_attention(self):
        src = check(self, gen.prepare(Wrap(attn=wild.HFAttention(32, 4, False))), gen.randn(2, 10, 32))
        self.assertIn('names = "hf"', src)
        src = check(self, HandAttention(32, 4), torch.randn(2, 10, 32))
        self.assertIn("split_heads(", src)
        self.assertIn("merge_heads(", src)
        self.assertIn("transpose_b = true", src)
        check(self, MHAModel(32, 4), torch.randn(2, 10, 32))

    def test_tanh_gelu_and_pos_slice(self):
        class M(nn.Module):
            def __init__(self):
                super().__init__()
                self.emb, self.pos = nn.Embedding(50, 16), nn.Embedding(32, 16)
                self.fc = nn.Linear(16, 16)

            def forward(self, ids):
                x = self.emb(ids) + self.pos.weight[:8]
                return self.fc(F.gelu(x, approximate="tanh")).mean(dim=-2) * 0.5

        check(self, M(), torch.randint(0, 50, (3, 8)))


class MHAMasked(nn.Module):
    """nn.MultiheadAttention on a padded batch, a causal attn_mask made the
    usual ways, and a masked mean with a clamped count."""

    def __init__(self, kpm="eq", causal=None):
        super().__init__()
        self.attn = nn.MultiheadAttention(32, 4, batch_first=True)
        self.kpm, self.causal = kpm, causal
        self.register_buffer("future", torch.triu(torch.ones(16, 16), 1).bool(), persistent=False)

    def forward(self, x, mask):
        kpm = mask == 0 if self.kpm == "eq" else ~mask.bool()
        am = {None: None, "buffer": self.future, "subsequent": nn.Transformer.generate_square_subsequent_mask(16),
              "tril": torch.tril(torch.ones(16, 16), -1).bool()}[self.causal]
        y = self.attn(x, x, x, key_padding_mask=kpm, attn_mask=am, need_weights=False)[0]
        m = mask.float()[..., None]
        return (y * m).sum(-2) / m.sum(-2).clamp(min=1e-9)


class EncoderMasked(nn.Module):
    def __init__(self, stack, causal=False):
        super().__init__()
        layer = nn.TransformerEncoderLayer(32, 4, 64, dropout=0.1, batch_first=True)
        self.enc = nn.TransformerEncoder(layer, 2) if stack else layer
        self.causal = nn.Transformer.generate_square_subsequent_mask(16) if causal else None

    def forward(self, x, mask):
        # PyTorch's nested-tensor path zeroes padded rows: compare the masked mean.
        y = self.enc(x, self.causal, src_key_padding_mask=mask == 0)
        m = mask[..., None].to(y.dtype)
        return (y * m).sum(-2) / m.sum(-2)


class HandMasked(HandAttention):
    def forward(self, x, mask):
        b, s, d = x.shape[0], x.shape[1], x.shape[2]
        q = self.q(x).view(b, s, self.h, self.dh).transpose(1, 2)
        k = self.k(x).view(b, s, self.h, self.dh).transpose(1, 2)
        v = self.v(x).view(b, s, self.h, self.dh).transpose(1, 2)
        sc = q @ k.transpose(-2, -1) / math.sqrt(self.dh)
        sc = sc.masked_fill(mask[:, None, None, :] == 0, float("-inf"))
        return self.o((F.softmax(sc, dim=-1) @ v).transpose(1, 2).reshape(b, s, d))


MASK = gen.padding_mask([16, 11, 6, 1], 16)  # no sample fully padded (PyTorch: NaN, fabc: 0)


class RoundTripMasks(unittest.TestCase):
    def setUp(self):
        torch.manual_seed(0)

    def test_padded_fabnet(self):
        m = gen.prepare(wild.PaddedFABNet(30, 16, 32, 64, 4, 3)).eval()
        ids = torch.randint(1, 30, (4, 16), dtype=torch.int32) * MASK
        src, mapping = fabc.from_torch(m, (ids, MASK), input_names=["tokens", "mask"])
        self.assertIn("model paddedfabnet(tokens: i32[4, 16], mask: i32[4, 16])", src)
        self.assertIn('mha(t3, 4, names = "hf", mask = mask) as layers.1.attn', src)
        self.assertIn("meanpool(t9, mask = mask)", src)
        self.assertIn("posembed(16, 32) as pos_embedding", src)
        self.assertEqual(mapping["pos_embedding.weight"], "pos_embedding")  # [1, S, d] reshaped
        with torch.no_grad():
            want = m(ids, MASK).numpy()
        for target in ("cpu", "fpga"):
            with self.subTest(target=target):
                c = fabc.compile_torch(m, (ids, MASK), target=target, accel=FP32 if target == "fpga" else None,
                                       input_names=["tokens", "mask"])
                feed = {"tokens": ids.numpy(), "mask": MASK.numpy()}
                got = c.simulate(**feed) if target == "fpga" else c(**feed)
                np.testing.assert_allclose(got["y"], want, rtol=RTOL, atol=ATOL)

    def test_mha_key_padding_mask(self):
        x = gen.randn(4, 16, 32)
        src = check(self, gen.prepare(MHAMasked()), (x, MASK), input_names=["x", "mask"])
        self.assertIn('names = "packed", mask = mask) as attn', src)
        self.assertIn("meanpool(t1, mask = mask)", src)
        # Bool inputs are attention masks too (True = token), also at run time.
        src = check(self, gen.prepare(MHAMasked("inv")), (x, MASK.bool()), input_names=["x", "mask"],
                    targets=("cpu",))
        self.assertIn("mask: i32[4, 16]", src)
        for causal in ("buffer", "subsequent"):
            src = check(self, gen.prepare(MHAMasked("eq", causal)), (x, MASK), input_names=["x", "mask"],
                        targets=("cpu",))
            self.assertIn("mask = mask, causal = 1) as attn", src)
        # Traced on one sample, run on the padded batch (bool masks converted).
        m = gen.prepare(MHAMasked("eq", "buffer")).eval()
        c = fabc.compile_torch(m, (x[0], MASK[0]), input_names=["x", "mask"])
        self.assertIn("mask: i32[16]", c.source)
        with torch.no_grad():
            want = torch.stack([m(x[i], MASK[i]) for i in range(4)]).numpy()
        np.testing.assert_allclose(c(x=x.numpy(), mask=MASK.bool().numpy())["y"], want, rtol=RTOL, atol=ATOL)

    def test_encoder_src_key_padding_mask(self):
        x = gen.randn(4, 16, 32)
        for stack in (False, True):
            src = check(self, gen.prepare(EncoderMasked(stack)), (x, MASK), input_names=["x", "mask"],
                        targets=("cpu", "fpga") if stack else ("cpu",))
            self.assertEqual(src.count("mask = mask) as enc."), 2 if stack else 1)
            src = check(self, gen.prepare(EncoderMasked(stack, causal=True)), (x, MASK), input_names=["x", "mask"],
                        targets=("cpu",))
            self.assertEqual(src.count("mask = mask, causal = 1) as enc."), 2 if stack else 1)

    def test_masked_fill_before_softmax(self):
        src = check(self, HandMasked(32, 4), (gen.randn(4, 16, 32).float(), MASK), input_names=["x", "mask"],
                    targets=("cpu",))
        self.assertIn("mask = mask);", src)
        self.assertIn("softmax(", src)


class Unsupported(unittest.TestCase):
    def test_mask_errors(self):
        x = gen.randn(4, 16, 32)
        with self.assertRaisesRegex(fabc.Error, "module 'attn'.*attn_mask is not causal"):
            fabc.from_torch(gen.prepare(MHAMasked("eq", "tril")), (x, MASK))

        class FillTokens(HandMasked):
            def forward(self, x, mask):
                sc = self.q(x) @ self.k(x).transpose(-2, -1)
                return F.softmax(sc.masked_fill(mask[:, None, :].bool(), float("-inf")), dim=-1)

        with self.assertRaisesRegex(fabc.Error, "node masked_fill .*masked_fill at the tokens"):
            fabc.from_torch(FillTokens(32, 4), (x.float(), MASK))

        class CompareOne(HandMasked):
            def forward(self, x, mask):
                return F.softmax(self.q(x).masked_fill(mask[..., None] == 1, 0.0), dim=-1)

        with self.assertRaisesRegex(fabc.Error, "node eq .*mask compared with 1"):
            fabc.from_torch(CompareOne(32, 4), (x.float(), MASK))

        class IgnoresMask(wild.HFAttention):  # kept whole: checked on the example
            def forward(self, x, mask):
                return super().forward(x)

        with self.assertRaisesRegex(fabc.Error, "module 'attn'.*IgnoresMask\\(x, mask\\) does not compute attention"):
            fabc.from_torch(gen.prepare(Wrap2(attn=IgnoresMask(32, 4, False))), (x, MASK))

        class Fn2(nn.Module):
            def __init__(self, fn):
                super().__init__()
                self.fn, self.attn = fn, nn.MultiheadAttention(32, 4, batch_first=True)
                self.enc = nn.TransformerEncoderLayer(32, 4, 64, batch_first=True)

            def forward(self, x, mask):
                return self.fn(self, x, mask)

        def mha(self, x, kpm, am=None):
            return self.attn(x, x, x, key_padding_mask=kpm, attn_mask=am)[0]

        for fn, why in ((lambda s, x, m: x.masked_fill(~m[..., None], 0.0), "~ of an integer mask"),
                        (lambda s, x, m: x[..., :1] * m[:, :1, None], "indexing a mask with"),
                        (lambda s, x, m: x * m.flip(-1)[..., None], "flip of a mask is not supported"),
                        (lambda s, x, m: mha(s, x, x[..., 0] > 0), "key_padding_mask is not a padding mask"),
                        (lambda s, x, m: mha(s, x, (m == 0).float()), "key_padding_mask of dtype torch.float32"),
                        (lambda s, x, m: mha(s, x, m == 0, x[0, :, :16] > 0), "attn_mask depends on the model"),
                        (lambda s, x, m: mha(s, x, m == 0, torch.triu(torch.ones(16, 16, 16), 1).bool()),
                         "attn_mask of shape \\[16, 16, 16\\]"),
                        (lambda s, x, m: s.enc(x, src_key_padding_mask=m == 0, is_causal=True), "TypeError|is_causal"),
                        (lambda s, x, m: x.masked_fill((m == 0)[..., None], 0.0).softmax(-1), "masked_fill with 0.0"),
                        (lambda s, x, m: x.masked_fill((m == 0)[:, None, :], float("-inf")), "masked_fill with a mask of shape"),
                        (lambda s, x, m: x * m.sum(-1)[:, None, None], "sum of a mask other than"),
                        (lambda s, x, m: x * (m == 0)[..., None], "a product with a mask other than"),
                        (lambda s, x, m: (x * m[..., None]).sum(-1), "masked sum over an axis other"),
                        (lambda s, x, m: (x * m[..., None]).sum(-2) / m[..., None].sum(-2).clamp(min=2),
                         "clamp of the token count"),
                        (lambda s, x, m: (x * m[..., None]).sum(-2) + x[:, 0], "a masked value other than"),
                        (lambda s, x, m: x + (m == 0).float()[..., None] * -1e9, "uses a mask as a tensor")):
            with self.subTest(why=why), self.assertRaisesRegex(fabc.Error, "from_torch: .*(" + why + ")"):
                fabc.from_torch(Fn2(fn), (x.float(), MASK))

        with self.assertRaisesRegex(fabc.Error, "module 'attn'.*second argument that is not a padding mask"):
            fabc.from_torch(gen.prepare(Wrap2(attn=IgnoresMask(32, 4, False))), (x, MASK[..., None]))

        class MaskAsTensor(nn.Module):
            def forward(self, x, mask):
                return x + mask[..., None].float()

        with self.assertRaisesRegex(fabc.Error, "node add .*uses a mask as a tensor"):
            fabc.from_torch(MaskAsTensor(), (x, MASK.bool()))


    def test_errors_name_module_and_node(self):
        class Conv(nn.Module):
            def __init__(self):
                super().__init__()
                self.block = nn.Sequential(nn.Linear(8, 8), nn.Conv1d(4, 4, 1))

            def forward(self, x):
                return self.block(x)

        with self.assertRaises(fabc.Error) as cm:
            fabc.from_torch(Conv(), torch.randn(4, 8))
        msg = str(cm.exception)
        self.assertIn("block.1", msg)
        self.assertIn("Conv1d", msg)

        class Sig(nn.Module):
            def forward(self, x):
                return torch.sigmoid(x)

        with self.assertRaises(fabc.Error) as cm:
            fabc.from_torch(Sig(), torch.randn(4, 8))
        msg = str(cm.exception)
        self.assertIn("sigmoid", msg)
        self.assertIn("test_torch.py", msg)  # the source line of the node
        self.assertIn("torch.sigmoid(x)", msg)

        class Masked(nn.Module):
            def __init__(self):
                super().__init__()
                self.attn = nn.MultiheadAttention(8, 2, batch_first=True)

            def forward(self, x, mask):
                return self.attn(x, x, x, key_padding_mask=mask)[0]

        # A bool input is an attention mask (True = token): given as the
        # key_padding_mask itself it would mean the opposite.
        with self.assertRaisesRegex(fabc.Error, "module 'attn'.*key_padding_mask is True/nonzero at tokens.*"
                                    "pass the attention mask"):
            fabc.from_torch(Masked(), (torch.randn(1, 4, 8), torch.zeros(1, 4, dtype=torch.bool)))

        with self.assertRaisesRegex(fabc.Error, "whole model"):
            fabc.from_torch(nn.Linear(4, 4), torch.randn(2, 4))

        class Fn(nn.Module):
            def __init__(self, fn):
                super().__init__()
                self.fn = fn

            def forward(self, x):
                return self.fn(x)

        x = torch.randn(2, 8, 16)
        for fn, why in ((lambda t: torch.softmax(t, dim=0), "softmax over axis 0"),
                        (lambda t: t.mean(dim=-1), "mean over axis -1"),
                        (lambda t: t.reshape(2, 128), "reshape"),
                        (lambda t: t / t, "division by"),
                        (lambda t: t + 1.0, "a tensor and a constant"),
                        (lambda t: torch.fft.fft2(t, norm="ortho").real, "FFT other than"),
                        (lambda t: torch.fft.fft2(t).imag, "attribute .imag"),
                        (lambda t: torch.fft.fft2(t), "fft2\\(x\\).real"),
                        (lambda t: t.permute(2, 0, 1), "method .permute")):
            with self.subTest(why=why), self.assertRaisesRegex(fabc.Error, "from_torch: module .*" + why):
                fabc.from_torch(Fn(fn), x)

        class OtherLayout(nn.Module):  # Butterfly's attributes, another twiddle layout
            def __init__(self):
                super().__init__()
                self.in_size = self.out_size = 8
                self.increasing_stride, self.nblocks = True, 1
                self.twiddle = nn.Parameter(torch.randn(1, 3, 4, 2))

            def forward(self, x):
                return x

        bad = OtherLayout()
        with self.assertRaisesRegex(fabc.Error, "twiddle of shape"):
            fabc.from_torch(Wrap(attn=bad), torch.randn(2, 8))


if __name__ == "__main__":
    unittest.main()
