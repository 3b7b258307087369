"""The importer's layers: recognising known PyTorch modules and writing
each as one fab layer (fabc.from_torch; see _torch.py)."""
import math

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError:  # pragma: no cover - torch is optional for the rest of fabc
    torch = None


def is_butterfly(m):
    """torch_butterfly.Butterfly (real twiddles), recognised by attributes."""
    need = ("in_size", "out_size", "increasing_stride", "nblocks")
    # _parameters, not getattr: while fx traces, parameters read as proxies.
    return all(hasattr(m, a) for a in need) and isinstance(m._parameters.get("twiddle"), torch.Tensor)


_ATTN_NAMES = {"hf": ("q_proj", "k_proj", "v_proj", "out_proj"), "short": ("q", "k", "v", "o")}


def attention_names(m):
    """"hf" for q_proj/k_proj/v_proj/out_proj, "short" for q/k/v/o (fabc's
    and the golden generator's FABNet), with a head count; else None."""
    if _heads_of(m) is None:
        return None
    for names, projs in _ATTN_NAMES.items():
        if all(isinstance(getattr(m, p, None), nn.Module) for p in projs):
            return names
    return None


def is_hf_attention(m):
    """Self-attention modules with separate projections and a head count."""
    return attention_names(m) is not None


def _heads_of(m):
    for a in ("heads", "num_heads", "n_heads", "num_attention_heads"):
        v = getattr(m, a, None)
        if isinstance(v, int) and v > 0:
            return v
    return None


def _leaf_kind(m):
    if is_butterfly(m):
        return "butterfly"
    if is_hf_attention(m):
        return "hf_attention"
    for cls, kind in ((nn.Linear, "linear"), (nn.LayerNorm, "layernorm"), (nn.Embedding, "embedding"),
                      (nn.MultiheadAttention, "mha"), (nn.TransformerEncoderLayer, "encoder_layer"),
                      (nn.TransformerEncoder, "encoder"), (nn.Dropout, "identity"), (nn.Identity, "identity"),
                      (nn.GELU, "gelu"), (nn.ReLU, "relu"), (nn.Softmax, "softmax")):
        if isinstance(m, cls):
            return kind
    return None


def _join(path, leaf):
    return "%s.%s" % (path, leaf) if path else leaf


def _num(v):
    """A number as fab writes it (repr round-trips doubles)."""
    return repr(float(v))


def _shape(node):
    tm = node.meta.get("tensor_meta")
    return tuple(tm.shape) if tm is not None and hasattr(tm, "shape") else None


class _Val:
    """A traced value: a fab expression (`expr`), or a pending view that the
    next op may fuse (split heads, a transpose, a scale)."""

    def __init__(self, expr=None, kind="expr", src=None, **kw):
        self.expr, self.kind, self.src = expr, kind, src
        self.__dict__.update(kw)


class LayerEmitter:
    """Known modules (leaves of the trace) as fab layers; mixed into the
    importer's emitter, whose fail/expr/set/tmp/rel it uses."""

    def op_call_module(self, node):
        m = self.gm.get_submodule(node.target)
        kind = _leaf_kind(m)
        # A recognised layer given as the whole model has the empty path.
        path = "" if self.rooted else self.rel(node.target)
        if kind is None:
            self.fail(node, "module %s is not supported" % type(m).__name__)
        if not path and kind not in ("encoder_layer", "encoder", "identity", "gelu", "relu", "softmax"):
            self.fail(node, "a %s as the whole model: its parameters need a module path; wrap it in a "
                      "module (self.layer = ...)" % type(m).__name__)
        if kind == "identity":
            self.vals[node.name] = self.vals[node.args[0].name]
            return
        x = node.args[0] if node.args else None
        if kind == "embedding":
            if m.max_norm is not None:
                self.fail(node, "nn.Embedding with max_norm")
            return self.set(node, "embed(%s, %d, %d) as %s" % (self.expr(node, x), m.num_embeddings,
                                                               m.embedding_dim, path))
        if kind == "gelu":
            return self.set(node, self.gelu(node, self.expr(node, x), m.approximate))
        if kind == "relu":
            return self.set(node, "relu(%s)" % self.expr(node, x))
        if kind == "softmax":
            return self.softmax(node, x, m.dim)
        if kind == "linear":
            return self.set(node, "linear(%s, %d%s) as %s" % (self.expr(node, x), m.out_features,
                                                              "" if m.bias is not None else ", bias = false", path))
        if kind == "butterfly":
            return self.set(node, self.butterfly(node, m, self.expr(node, x), path))
        if kind == "layernorm":
            return self.set(node, self.layernorm(node, m, self.expr(node, x), path))
        if kind == "hf_attention":
            return self.set(node, self.hf_attention(node, m, self.expr(node, x), path))
        if kind == "mha":
            return self.mha_module(node, m, path)
        if kind == "encoder_layer":
            return self.set(node, self.encoder_layer(node, m, self.expr(node, x), path))
        if kind == "encoder":
            return self.set(node, self.encoder(node, m, self.expr(node, x), path))
        self.fail(node, "internal: leaf %s" % kind)

    def gelu(self, node, x, approximate):
        if approximate in ("none", None):
            return "gelu(%s)" % x
        if approximate == "tanh":
            return 'gelu(%s, approx = "tanh")' % x
        self.fail(node, "GELU approximate=%r" % approximate)

    def butterfly(self, node, m, x, path):
        tw = m._parameters["twiddle"]
        n = 1 << max(1, math.ceil(math.log2(m.in_size)))
        nstacks = -(-m.out_size // n)
        want = (nstacks, m.nblocks, int(math.log2(n)), n // 2, 2, 2)
        if tw.is_complex() or tuple(tw.shape) != want:
            self.fail(node, "Butterfly twiddle of shape %s (fabc reads torch_butterfly's real layout %s)"
                      % (tuple(tw.shape), want))
        if getattr(m, "ortho_init", False) or getattr(m, "complex", False):
            self.fail(node, "Butterfly with ortho_init or complex twiddles")
        opts = ""
        if m._parameters.get("bias") is None:
            opts += ", bias = false"
        if not m.increasing_stride:
            opts += ", increasing = 0"
        if m.nblocks != 1:
            opts += ", nblocks = %d" % m.nblocks
        return "bfly(%s, %d%s) as %s" % (x, m.out_size, opts, path)

    def layernorm(self, node, m, x, path):
        if len(m.normalized_shape) != 1:
            self.fail(node, "LayerNorm over %d axes (fabc normalises the last one)" % len(m.normalized_shape))
        opts = ""
        if m.eps != 1e-5:
            opts += ", eps = %s" % _num(m.eps)
        if not m.elementwise_affine:
            opts += ", affine = false"
        return "layernorm(%s%s) as %s" % (x, opts, path)

    def hf_attention(self, node, m, x, path):
        names = attention_names(m)
        projs = _ATTN_NAMES[names]
        proj = getattr(m, projs[0])
        if isinstance(proj, nn.Linear):
            kind, bias = 'proj = "dense"', proj.bias is not None
            opts = ""
        elif is_butterfly(proj):
            kind, bias = None, proj._parameters.get("bias") is not None
            opts = ("" if proj.increasing_stride else ", increasing = 0") + (
                ", nblocks = %d" % proj.nblocks if proj.nblocks != 1 else "")
        else:
            self.fail(node, "attention projections of type %s" % type(proj).__name__)
        for p in projs[1:]:
            if type(getattr(m, p)) is not type(proj):
                self.fail(node, "attention projections of different types")
        if len(node.args) > 2 or node.kwargs:
            self.fail(node, "attention called with more than the input and a mask (cross attention, options)")
        args = [x, str(_heads_of(m))] + ([kind] if kind else []) + ([] if names == "short" else ['names = "%s"' % names])
        if not bias:
            args.append("bias = false")
        if len(node.args) == 2:  # attn(x, mask): checked on the example to be a key-padding mask
            f = self.flags(node.args[1])
            if f is None or not _shape(node.args[1]) == self.input_shapes[f.name] == _shape(node.args[0])[:-1]:
                self.fail(node, "attention called with a second argument that is not a padding mask input [.., s] "
                          "(one flag per token of x)")
            self.check_hf_mask(node, m, _heads_of(m), f.name)
            args.append("mask = %s" % f.name)
        return "mha(%s%s) as %s" % (", ".join(args), opts, path)

    def mha_check(self, node, m):
        if not m._qkv_same_embed_dim or m.in_proj_weight is None:
            self.fail(node, "nn.MultiheadAttention with kdim/vdim != embed_dim")
        if m.bias_k is not None or m.add_zero_attn:
            self.fail(node, "nn.MultiheadAttention with add_bias_kv or add_zero_attn")
        if m.in_proj_bias is None:
            self.fail(node, "nn.MultiheadAttention without bias")

    def mha_expr(self, m, x, path, opts=""):
        return 'mha(%s, %d, proj = "dense", names = "packed"%s) as %s' % (x, m.num_heads, opts, path)

    def mask_opts(self, node, kpm, attn_mask, kpm_name, attn_name):
        """', mask = m, causal = 1' for a key_padding_mask (True = padding,
        derived from a token-flag input) and a causal attn_mask."""
        opts = ""
        if kpm is not None:
            tm = kpm.meta.get("tensor_meta") if isinstance(kpm, torch.fx.Node) else None
            if tm is None or tm.dtype is not torch.bool:
                self.fail(node, "%s of dtype %s (fabc takes a bool mask, True = padding)" %
                          (kpm_name, tm.dtype if tm is not None else type(kpm).__name__))
            opts += ", mask = %s" % self.mask_of(node, kpm, kpm_name)
        if self.is_causal(node, attn_mask, attn_name):
            opts += ", causal = 1"
        return opts

    def mha_module(self, node, m, path):
        self.mha_check(node, m)
        args = list(node.args) + [None] * (3 - len(node.args))
        q, k, v = (args[i] if args[i] is not None else node.kwargs.get(n) for i, n in
                   enumerate(("query", "key", "value")))
        if not (q is k is v):
            self.fail(node, "nn.MultiheadAttention with different query, key and value (self-attention only)")
        kw = dict(zip(("query", "key", "value", "key_padding_mask", "need_weights", "attn_mask"), node.args))
        kw.update(node.kwargs)
        opts = self.mask_opts(node, kw.get("key_padding_mask"), kw.get("attn_mask"), "key_padding_mask", "attn_mask")
        shape = _shape(q)
        if not m.batch_first and len(shape) == 3:
            self.fail(node, "nn.MultiheadAttention(batch_first=False) on a batch: fabc takes [.., seq, d]")
        expr = self.tmp(self.mha_expr(m, self.expr(node, q), path, opts), path)
        self.vals[node.name] = _Val(kind="tuple", items={0: expr})

    def encoder_opts(self, node, mask_key):
        kw = dict(zip(("src", mask_key, "src_key_padding_mask"), node.args))
        kw.update(node.kwargs)
        extra = [k for k, v in kw.items() if k not in ("src", mask_key, "src_key_padding_mask") and v is not None]
        if extra:
            self.fail(node, "%s with %s" % (type(self.gm.get_submodule(node.target)).__name__, ", ".join(extra)))
        return self.mask_opts(node, kw.get("src_key_padding_mask"), kw.get(mask_key),
                              "src_key_padding_mask", mask_key)

    def encoder_layer(self, node, m, x, path, opts=None):
        if opts is None:
            opts = self.encoder_opts(node, "src_mask")
        self.mha_check(node, m.self_attn)
        if not m.self_attn.batch_first and len(_shape(node.args[0])) == 3:
            self.fail(node, "nn.TransformerEncoderLayer(batch_first=False) on a batch: fabc takes [.., seq, d]")
        act = m.activation
        if act is F.relu or isinstance(act, nn.ReLU):
            act_fmt = "relu(%s)"
        elif act is F.gelu or (isinstance(act, nn.GELU) and act.approximate == "none"):
            act_fmt = "gelu(%s)"
        else:
            self.fail(node, "nn.TransformerEncoderLayer activation %r" % (act,))
        h = m.linear1.out_features
        d = m.linear2.out_features

        def ffn(t):
            return "linear(%s, %d) as %s" % (act_fmt % ("linear(%s, %d) as %s" % (t, h, _join(path, "linear1"))), d,
                                             _join(path, "linear2"))

        ln1 = self.layernorm(node, m.norm1, "%s", _join(path, "norm1"))
        ln2 = self.layernorm(node, m.norm2, "%s", _join(path, "norm2"))
        attn = _join(path, "self_attn")
        if m.norm_first:
            t = self.tmp("%s + %s" % (x, self.mha_expr(m.self_attn, ln1 % x, attn, opts)), path or None)
            return "%s + %s" % (t, ffn(ln2 % t))
        t = self.tmp(ln1 % ("%s + %s" % (x, self.mha_expr(m.self_attn, x, attn, opts))), path or None)
        return ln2 % ("%s + %s" % (t, ffn(t)))

    def encoder(self, node, m, x, path):
        opts = self.encoder_opts(node, "mask")
        for i, layer in enumerate(m.layers):
            p = _join(path, "layers.%d" % i)
            x = self.tmp(self.encoder_layer(node, layer, x, p, opts), p)
        if m.norm is not None:
            x = self.layernorm(node, m.norm, x, _join(path, "norm"))
        return x

    # ---- functions and methods ------------------------------------------------
