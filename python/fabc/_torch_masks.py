"""The importer's masks (fabc.from_torch; see _torch.py).

A padding mask is a model input `[.., s]` of ints (nonzero = token, as Hugging
Face's attention_mask) or bools (True = token, the same convention); the .fab
declares it `i32[.., s]`.  What forward() derives from it is tracked as a
"flags" value: the input's name, whether True/nonzero now means padding
(`mask == 0`, `~mask`: PyTorch's key_padding_mask) and its shape after
indexing with None / unsqueeze.  The layers that take one:

  nn.MultiheadAttention(key_padding_mask = <padding flags>, attn_mask = causal)
  nn.TransformerEncoderLayer / Encoder(src_key_padding_mask, src_mask / mask)
  Hugging Face-style attention modules called as attn(x, mask)
  scores.masked_fill(<padding flags>, -inf) before softmax(dim=-1)
  (x * m[..., None]).sum(-2) / m[..., None].sum(-2)     (the masked mean)
"""
import math

try:
    import torch
except ImportError:  # pragma: no cover
    torch = None

from ._torch_layers import _Val, _shape, _num

# masked_fill values that exclude a score (exp underflows to 0 in f32).
_FILL_MAX = -1e4


class MaskEmitter:
    """Mixed into the importer's emitter."""

    def flags(self, arg):
        """The flags value of a traced argument, or None."""
        if not isinstance(arg, torch.fx.Node):
            return None
        v = self.vals.get(arg.name)
        if v is None:
            return None
        if v.kind == "flags":
            return v
        if v.kind == "expr" and getattr(v, "int_input", False):
            return _Val(kind="flags", name=v.expr, pad=False)
        return None

    def set_flags(self, node, f, pad):
        self.vals[node.name] = _Val(kind="flags", name=f.name, pad=pad)

    def flags_op(self, node, t, a):
        """Ops on masks (call_function or call_method); True if handled."""
        f = self.flags(a[0]) if a else None
        if f is None:
            if t in ("masked_fill", "masked_fill_"):
                return self.masked_fill(node)
            return False
        if self.vals[a[0].name].kind != "flags" and (t in _CASTS or t == "getitem" and not _expanding_index(a[1])):
            return False  # an int input cast or indexed (token ids too): as any tensor
        other = a[1] if len(a) > 1 else None
        dtype = node.args[0].meta.get("tensor_meta")
        dtype = dtype.dtype if dtype is not None else None
        if t in ("eq", "ne") and isinstance(other, (int, float, bool)) and other in (0, False):
            return self.set_flags(node, f, (not f.pad) if t == "eq" else f.pad) or True
        if t in ("eq", "ne"):
            self.fail(node, "a mask compared with %r (fabc reads `mask == 0` / `mask != 0`)" % (other,))
        if t in ("invert", "logical_not", "bitwise_not"):
            if dtype is not torch.bool:
                self.fail(node, "~ of an integer mask (write `mask == 0`)")
            return self.set_flags(node, f, not f.pad) or True
        if t in ("bool", "float", "long", "int", "to", "type_as", "double", "contiguous", "unsqueeze", "getitem"):
            if t == "getitem" and not _expanding_index(a[1]):
                self.fail(node, "indexing a mask with %r (fabc reads `m[..., None]`, unsqueeze)" % (a[1],))
            return self.set_flags(node, f, f.pad) or True
        if t == "sum":
            return self.flags_sum(node, f)
        self.fail(node, "%s of a mask is not supported (see docs/python.md, masks)" % t)

    def mask_of(self, node, arg, what):
        """The fab mask name for a key_padding_mask argument (True =
        padding; its shape the input's: [.., s], one flag per token)."""
        f = self.flags(arg)
        if f is None:
            self.fail(node, "%s is not a padding mask derived from a model input" % what)
        if not f.pad:
            self.fail(node, "%s is True/nonzero at tokens here, but PyTorch reads it as True = padding; "
                      "fabc's masks flag tokens (nonzero = token): pass the attention mask (1/True = token) "
                      "as the model input and write `%s = (mask == 0)`" % (what, what.split()[0]))
        if _shape(arg) != self.input_shapes[f.name]:
            self.fail(node, "%s has shape %s, fabc needs the input's %s" % (what, list(_shape(arg)),
                                                                            list(self.input_shapes[f.name])))
        return f.name

    def masked_fill(self, node):
        x, m, value = (list(node.args) + [node.kwargs.get("mask"), node.kwargs.get("value")])[:3]
        f = self.flags(m)
        if f is None:
            return False
        if not isinstance(value, (int, float)) or value > _FILL_MAX:
            self.fail(node, "masked_fill with %r (fabc reads masked_fill(mask == 0, -inf) before softmax)" % (value,))
        if not f.pad:
            self.fail(node, "masked_fill at the tokens (fill where `mask == 0`)")
        xs, ms = _shape(x), _shape(m)
        lead = self.input_shapes[f.name][:-1]
        want = lead + (1,) * (len(xs) - len(lead) - 1) + (xs[-1],)
        if len(ms) > len(xs) or (1,) * (len(xs) - len(ms)) + ms != want or xs[:len(lead)] != lead:
            self.fail(node, "masked_fill with a mask of shape %s on scores %s (fabc masks the last axis "
                      "by a key-padding mask, m[..., None, None, :])" % (list(ms), list(xs)))
        v = self.vals[x.name]
        src, factor = (v.src, v.factor) if v.kind == "scaled" else (self.expr(node, x), None)
        self.vals[node.name] = _Val(kind="masked_scores", src=src, factor=factor, mask=f.name)
        return True

    def softmax_masked(self, node, v):
        scale = "" if v.factor is None else ", scale = %s" % _num(v.factor)
        return self.set(node, "softmax(%s%s, mask = %s)" % (v.src, scale, v.mask))

    def flags_sum(self, node, f):
        """m.sum(-2) of m = mask[..., None] (or mask.sum(-1, keepdim=True)):
        the token count of the masked mean."""
        dim, keep = _sum_args(node)
        shape, lead = _shape(node.args[0]), self.input_shapes[f.name][:-1]
        counts = (shape == lead + (shape[-2], 1) and dim % len(shape) == len(shape) - 2 and not keep) or \
                 (shape == lead + (shape[-1],) and dim % len(shape) == len(shape) - 1 and keep)
        if f.pad or not counts:
            self.fail(node, "sum of a mask other than the masked mean's token count")
        self.vals[node.name] = _Val(kind="mask_count", mask=f.name)
        return True

    def masked_product(self, node, x, m):
        """x * mask[..., None]: the masked mean's numerator (0/1 flags)."""
        f = self.flags(m)
        if f is None or not isinstance(x, torch.fx.Node):
            return False
        xs, ms = _shape(x), _shape(m)
        if f.pad or ms != self.input_shapes[f.name] + (1,) or xs[:-1] != ms[:-1]:
            self.fail(node, "a product with a mask other than x * mask[..., None] (the masked mean)")
        self.vals[node.name] = _Val(kind="masked_x", src=self.expr(node, x), mask=f.name)
        return True

    def masked_sum(self, node):
        v = self.vals.get(node.args[0].name)
        if v is None or v.kind != "masked_x":
            return False
        dim, keep = _sum_args(node)
        if dim % len(_shape(node.args[0])) != len(_shape(node.args[0])) - 2 or keep:
            self.fail(node, "a masked sum over an axis other than the sequence (-2)")
        self.vals[node.name] = _Val(kind="masked_sum", src=v.src, mask=v.mask)
        return True

    def masked_mean(self, node, a, b):
        va, vb = self.vals.get(getattr(a, "name", None)), self.vals.get(getattr(b, "name", None))
        if va is None or vb is None or va.kind != "masked_sum" or vb.kind != "mask_count" or va.mask != vb.mask:
            return False
        self.set(node, "meanpool(%s, mask = %s)" % (va.src, va.mask))
        return True

    def clamp_count(self, node):
        """count.clamp(min=eps) with 0 < eps <= 1 leaves token counts as
        they are (and 0 / eps is 0, as fabc's mean over no token)."""
        v = self.vals.get(node.args[0].name)
        lo = node.kwargs.get("min", node.args[1] if len(node.args) > 1 else None)
        if v is None or v.kind != "mask_count":
            return False
        if not isinstance(lo, (int, float)) or not 0 < lo <= 1 or node.kwargs.get("max") is not None:
            self.fail(node, "clamp of the token count other than clamp(min=eps), 0 < eps <= 1")
        self.vals[node.name] = v
        return True

    # ---- causal attn_mask ------------------------------------------------
    def is_causal(self, node, arg, what):
        """True for a constant [s, s] mask that hides the future (bool
        triu(ones, 1), or generate_square_subsequent_mask's -inf above the
        diagonal); None -> False; anything else an error."""
        if arg is None:
            return False
        v = arg.meta.get("fabc_value") if isinstance(arg, torch.fx.Node) else arg
        if isinstance(arg, torch.fx.Node) and self.vals.get(arg.name, _Val()).kind != "const":
            self.fail(node, "%s depends on the model's inputs (fabc takes a causal mask only)" % what)
        if not isinstance(v, torch.Tensor) or v.dim() != 2 or v.shape[0] != v.shape[1]:
            self.fail(node, "%s of shape %s (fabc takes a causal [s, s] mask only)" %
                      (what, list(v.shape) if isinstance(v, torch.Tensor) else type(v).__name__))
        above = torch.triu(torch.ones(v.shape, dtype=torch.bool), 1)
        if v.dtype is torch.bool:
            ok = bool((v == above).all())
        else:
            ok = bool((v[above] <= _FILL_MAX).all()) and bool((v[~above] == 0).all())
        if not ok:
            self.fail(node, "%s is not causal (fabc takes torch.triu(ones(s, s), 1).bool() or "
                      "generate_square_subsequent_mask(s))" % what)
        return True

    # ---- Hugging Face-style attention called with a mask -----------------
    def check_hf_mask(self, node, m, heads, mask_name):
        """attn(x, mask) on a module fabc keeps whole: checks on the example
        that the module's output is multi-head attention with the mask's
        zeros as padded keys (what fabc's mha(mask = m) computes)."""
        x, mk = node.args[0].meta.get("fabc_value"), node.args[1].meta.get("fabc_value")
        tok = self.gm_values.get(mask_name)
        if x is None or mk is None or tok is None:
            self.fail(node, "internal: no example values for the attention's check")
        names = [n for n in ("q_proj", "k_proj", "v_proj", "out_proj") if hasattr(m, n)] or ["q", "k", "v", "o"]
        with torch.no_grad():
            got = m(x, mk)
            q, k, v = (getattr(m, n)(x) for n in names[:3])
            *lead, s, d = q.shape
            dh = d // heads
            sh = [t.reshape(*lead, s, heads, dh).transpose(-2, -3) for t in (q, k, v)]
            sc = sh[0] @ sh[1].transpose(-1, -2) / math.sqrt(dh)
            sc = sc.masked_fill((tok == 0)[..., None, None, :], float("-inf"))
            o = (torch.softmax(sc, dim=-1) @ sh[2]).transpose(-2, -3).reshape(*lead, s, d)
            want = getattr(m, names[3])(o)
        finite = want[torch.isfinite(want)]
        tol = 1e-4 * max(1.0, float(finite.abs().max()) if finite.numel() else 1.0)
        if got.shape != want.shape or not torch.allclose(got, want, rtol=1e-4, atol=tol, equal_nan=True):
            self.fail(node, "%s(x, mask) does not compute attention with the mask's zeros as padded keys on "
                      "the example (fabc's mha(mask = m)); fabc cannot see inside it" % type(m).__name__)


_CASTS = ("float", "long", "int", "to", "type_as", "double", "contiguous")


def _expanding_index(idx):
    items = idx if isinstance(idx, tuple) else (idx,)
    return all(i is None or i is Ellipsis or (isinstance(i, slice) and i == slice(None)) for i in items)


def _sum_args(node):
    a, kw = node.args, node.kwargs
    dim = kw.get("dim", a[1] if len(a) > 1 else None)
    if isinstance(dim, (tuple, list)) and len(dim) == 1:
        dim = dim[0]
    if not isinstance(dim, int):
        dim = 10 ** 6  # no axis (a full sum): matches nothing
    return dim, kw.get("keepdim", a[2] if len(a) > 2 else False)
