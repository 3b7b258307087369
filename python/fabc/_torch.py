"""PyTorch modules -> .fab source (fabc.from_torch).

The module is traced with torch.fx (torch 1.13): known layers are kept whole
(leaves) and become one fab layer each, named `as <module path>` so that the
module's state_dict binds unchanged; everything between them is read op by
op.  Shapes come from running the traced graph on the example inputs
(torch.fx.passes.shape_prop), so shape-dependent Python in forward() is fine
as long as fx can trace it.

Recognised:
  Butterfly (torch_butterfly's layout, by its attributes in_size, out_size,
  increasing_stride, nblocks, twiddle; torch_butterfly is not imported),
  nn.Linear, nn.LayerNorm, nn.Embedding (and an embedding's .weight added as
  positions), nn.MultiheadAttention (packed in_proj, self-attention,
  key-padding and causal masks: _torch_masks.py), nn.TransformerEncoderLayer / nn.TransformerEncoder, attention
  modules with q_proj/k_proj/v_proj/out_proj (Hugging Face style), GELU
  (erf, tanh), ReLU, softmax, torch.fft.fft2(x).real / fftn over the last
  two axes, mean over the sequence axis, residual adds, elementwise
  products, scaling by constants, attention by hand (view/reshape +
  transpose to split heads, matmul / @, transpose(-1, -2), softmax, merge
  heads), dropout and identity (inference: dropped), dtype casts.
Anything else raises fabc.Error naming the module path and the traced node
with its source line.
"""
import operator
import os

from ._core import Error, compile as _compile

try:
    import torch
    import torch.fx
    import torch.nn as nn
    import torch.nn.functional as F
    from torch.fx.passes.shape_prop import ShapeProp
except ImportError as e:  # pragma: no cover - torch is optional for the rest of fabc
    torch = None
    _torch_error = e

from ._torch_layers import LayerEmitter, _Val, _leaf_kind, _num, _shape
from ._torch_masks import MaskEmitter


_MASK_FUNCS = {operator.eq: "eq", torch.eq: "eq", operator.ne: "ne", torch.ne: "ne",
               operator.invert: "invert", torch.logical_not: "logical_not", torch.bitwise_not: "bitwise_not",
               operator.getitem: "getitem", torch.unsqueeze: "unsqueeze", torch.sum: "sum",
               torch.masked_fill: "masked_fill"} if torch else {}
_CONST_OPS = set("ones zeros full triu tril bool float to getitem masked_fill type_as ones_like".split())


class _ValueProp(ShapeProp if torch else object):
    """ShapeProp that also keeps the example values of the inputs and of
    the extra arguments of known layers (masks to check)."""

    def run_node(self, n):
        result = super().run_node(n)
        if n.op == "placeholder" or n.meta.get("fabc_keep"):
            n.meta["fabc_value"] = result
        return result


def _mark_kept(gm):
    for n in gm.graph.nodes:
        if n.op == "call_module":
            for a in list(n.args[1:]) + list(n.kwargs.values()):
                if isinstance(a, torch.fx.Node):
                    a.meta["fabc_keep"] = True
        if n.op == "call_module" and len(n.args) > 1:
            n.args[0].meta["fabc_keep"] = True


class _Tracer(torch.fx.Tracer if torch else object):
    """Keeps known layers whole and records each node's module path."""

    def __init__(self):
        super().__init__()
        self.record_stack_traces = True
        self.path = []

    def is_leaf_module(self, m, qualname):
        return _leaf_kind(m) is not None or super().is_leaf_module(m, qualname)

    def call_module(self, m, forward, args, kwargs):
        path = self.path_of_module(m)
        self.path.append(path)
        traced_through = not self.is_leaf_module(m, path)
        if traced_through:  # the nodes made until it returns are this call's
            self.ncalls = getattr(self, "ncalls", 0) + 1
            self.calls = getattr(self, "calls", ()) + ((path, self.ncalls, type(m).__name__),)
        try:
            return super().call_module(m, forward, args, kwargs)
        finally:
            self.path.pop()
            if traced_through:
                self.calls = self.calls[:-1]

    def create_node(self, *args, **kw):
        node = super().create_node(*args, **kw)
        node.meta["fabc_path"] = self.path[-1] if self.path else ""
        node.meta["fabc_calls"] = getattr(self, "calls", ())
        return node


# Keywords and builtin layers: not usable as block names.
_RESERVED = set("block model dim import repeat return as in choose select linear bfly mha layernorm embed "
                "posembed gelu relu softmax scale meanpool take cls fourier matmul transpose split_heads "
                "merge_heads log2 pow2 nextpow2 min max".split())


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def _where(node):
    """'module path, node (source line)' for messages."""
    path = node.meta.get("fabc_path") or "<root>"
    line = ""
    # fx records the innermost frame first: the line in forward() that made the node.
    st = [ln for ln in (node.stack_trace or "").splitlines() if ln.strip()]
    for i, ln in enumerate(st):
        if ln.strip().startswith("File ") and "/torch/" not in ln and _PACKAGE_DIR not in ln:
            line = ", " + ln.strip()
            if i + 1 < len(st) and not st[i + 1].strip().startswith("File "):
                line += ": " + st[i + 1].strip()
            break
    target = node.target if isinstance(node.target, str) else getattr(node.target, "__name__", str(node.target))
    return "module '%s', node %s (%s %s)%s" % (path, node.name, node.op, target, line)


class _Emitter(LayerEmitter, MaskEmitter):
    def __init__(self, gm, root, input_names, output_names, rooted=False):
        self.gm, self.root, self.rooted = gm, root, rooted
        self.modules = dict(root.named_modules())
        self.lines = []
        self.vals = {}
        self.n = 0
        self.inputs = []
        self.input_shapes = {}  # fab input name -> example shape
        self.gm_values = {}  # fab input name -> example value (masks' checks)
        self.param_map = {}  # fab parameter -> state_dict name where they differ
        self.input_names = list(input_names or [])
        self.output_names = output_names
        self.outputs = []
        self.prefix = ""  # inside a block: the instance path, stripped from layer paths
        self.blocks = {}  # body text -> block name
        self.block_defs = []

    # ---- helpers ---------------------------------------------------------
    def fail(self, node, why):
        raise Error("from_torch: %s: %s" % (_where(node), why))

    def rel(self, path):
        """A layer path as written: relative to the block instance inside a block."""
        if self.prefix and path == self.prefix:
            return ""
        if self.prefix and path.startswith(self.prefix + "."):
            return path[len(self.prefix) + 1:]
        return path

    def tmp(self, expr, comment=None):
        self.n += 1
        name = "t%d" % self.n
        # The module path as a comment where the layer does not already say it.
        show = comment and ("as " + comment) not in expr
        self.lines.append("  %s = %s;%s" % (name, expr, "  // " + comment if show else ""))
        return name

    def expr(self, node, arg):
        """The fab expression for an argument (materialising pending views)."""
        if not isinstance(arg, torch.fx.Node):
            self.fail(node, "expected a tensor argument, got %r" % (arg,))
        v = self.vals.get(arg.name)
        if v is None:
            self.fail(node, "uses %s, which has no fab value" % arg.name)
        if v.kind == "expr":
            return v.expr
        if v.kind == "heads":
            return "split_heads(%s, %d)" % (v.src, v.heads)
        if v.kind == "transposed":
            return "transpose(%s, %d, %d)" % (v.src, v.d0, v.d1)
        if v.kind == "scaled":
            return "scale(%s, %s)" % (v.src, _num(v.factor))
        if v.kind in ("fft", "fft_axis"):
            self.fail(node, "torch.fft is supported as fft2(x).real (or fft along both last axes, .real) only")
        if v.kind in ("merged_t", "viewed"):
            self.fail(node, "a view or transpose fabc cannot express (only split/merge of heads and "
                      "matmul's transpose(-1, -2))")
        if v.kind == "tuple":
            self.fail(node, "uses a tuple result as a tensor")
        if v.kind == "flags":
            self.fail(node, "uses a mask as a tensor (fabc takes masks in mha's key_padding_mask, masked_fill "
                      "before softmax and the masked mean; see docs/python.md)")
        if v.kind in ("masked_scores", "masked_x", "masked_sum", "mask_count"):
            self.fail(node, "a masked value other than masked_fill + softmax or the masked mean's "
                      "(x * m).sum(-2) / m.sum(-2)")
        if v.kind == "const":
            self.fail(node, "uses a constant tensor (fabc takes one as a causal attn_mask only)")
        if v.kind == "posweight":
            maxlen = "" if v.rows == v.maxlen else ", maxlen = %d" % v.maxlen
            return "posembed(%d, %d%s) as %s" % (v.rows, v.dim, maxlen, self.rel(v.path))
        self.fail(node, "internal: unknown value kind %s" % v.kind)

    def set(self, node, expr=None, **kw):
        if expr is not None and "kind" not in kw:
            # Name every layer's result: the source stays readable.
            expr = self.tmp(expr, self.rel(node.meta.get("fabc_path") or "") or None) if "(" in expr or "+" in expr or "*" in expr else expr
        self.vals[node.name] = _Val(expr, **kw)

    # ---- the graph -------------------------------------------------------
    def run(self):
        self.run_nodes(list(self.gm.graph.nodes), 0)

    def run_nodes(self, nodes, depth):
        """Nodes in order; runs of nodes made inside one call of a traced-
        through submodule (at this nesting depth) go to block()."""
        i = 0
        while i < len(nodes):
            call = nodes[i].meta.get("fabc_calls", ())[depth:depth + 1]
            j = i + 1
            while call and j < len(nodes) and nodes[j].meta.get("fabc_calls", ())[depth:depth + 1] == call:
                j += 1
            if not call:
                for node in nodes[i:j]:
                    getattr(self, "op_" + node.op)(node)
            elif not self.block(nodes[i:j], call[0], depth):
                self.run_nodes(nodes[i:j], depth + 1)  # inline, its own submodules still blocks
            i = j

    def block(self, group, call, depth):
        """A traced-through submodule call with one tensor in and one out
        becomes a fab block (shared by calls with the same body) and a call
        `as <path>`; anything else stays inline.  Returns False to inline."""
        path, _, cls = call
        inside = {n.name for n in group}
        ins = []
        for n in group:
            for a in n.all_input_nodes:
                if a.name not in inside and a not in ins and self.vals.get(a.name) is not None \
                        and self.vals[a.name].kind != "meta":
                    ins.append(a)
        outs = [n for n in group if any(u.name not in inside for u in n.users)]
        if len(ins) != 1 or len(outs) != 1 or self.vals[ins[0].name].kind != "expr" or _shape(outs[0]) is None:
            return False
        saved = (self.lines, self.n, self.prefix, dict(self.vals))
        self.lines, self.n, self.prefix = [], 0, path
        self.vals[ins[0].name] = _Val("x")
        try:
            self.run_nodes(group, depth + 1)
            body_ret = self.expr(outs[0], outs[0])
        except Error:
            self.lines, self.n, self.prefix, self.vals = saved
            return False
        body = self.render(self.lines)
        self.lines, self.n, self.prefix, self.vals = saved
        shape_in, shape_out = _shape(ins[0]), _shape(outs[0])
        sig = "(x: f32[%s]) -> f32[%s]" % (", ".join(map(str, shape_in)), ", ".join(map(str, shape_out)))
        text = "\n".join([sig] + body + ["  return %s;" % body_ret])
        name = self.blocks.get(text)
        if name is None:
            base = "".join(c if c.isalnum() else "_" for c in cls.lower())
            if not base or not base[0].isalpha() or base in _RESERVED:
                base = "%s_layer" % (base or "a")
            taken = set(self.blocks.values())
            name, k = base, 2
            while name in taken:
                name, k = "%s_%d" % (base, k), k + 1
            self.blocks[text] = name
            self.block_defs.append("block %s%s {\n%s\n}\n" % (name, sig, "\n".join(body + ["  return %s;" % body_ret])))
        x = self.expr(outs[0], ins[0])
        self.n += 1
        var = "t%d" % self.n
        self.lines.append(("call", var, name, x, self.rel(path)))
        self.vals[outs[0].name] = _Val(var)
        return True

    def op_placeholder(self, node):
        shape = _shape(node)
        tm = node.meta.get("tensor_meta")
        if shape is None:
            self.fail(node, "the input is not a tensor")
        idx = len(self.inputs)
        name = self.input_names[idx] if idx < len(self.input_names) else node.target
        self.input_shapes[name] = tuple(shape)
        self.gm_values[name] = node.meta.get("fabc_value")
        if tm.dtype is torch.bool:
            # A padding mask, True = token (as an attention_mask); i32 in fab.
            self.inputs.append("%s: i32[%s]" % (name, ", ".join(str(d) for d in shape)))
            self.vals[node.name] = _Val(kind="flags", name=name, pad=False)
            return
        if tm.dtype in (torch.int32, torch.int64, torch.int16, torch.uint8):
            dt = "i32"
        elif tm.dtype in (torch.float32, torch.float64, torch.float16):
            dt = "f32"
        else:
            self.fail(node, "input dtype %s (fabc takes f32 activations and i32 token ids)" % tm.dtype)
        self.inputs.append("%s: %s[%s]" % (name, dt, ", ".join(str(d) for d in shape)))
        self.vals[node.name] = _Val(name, int_input=dt == "i32")

    def op_get_attr(self, node):
        owner, _, leaf = node.target.rpartition(".")
        m = self.modules.get(owner)
        if isinstance(m, nn.Embedding) and leaf == "weight":
            self.vals[node.name] = _Val(kind="posweight", rows=m.num_embeddings, dim=m.embedding_dim,
                                        maxlen=m.num_embeddings, path=owner)
            return
        p = self.gm.get_parameter(node.target) if node.target in dict(self.gm.named_parameters()) else None
        shape = _shape(node) if _shape(node) is not None else ()
        if p is not None and len(shape) in (2, 3) and shape[:-2] in ((), (1,)):
            # A learned positional table as nn.Parameter [S, d] or [1, S, d]:
            # posembed's `<name>.weight`, bound to the parameter (reshaped).
            self.param_map[node.target + ".weight"] = node.target
            self.vals[node.name] = _Val(kind="posweight", rows=shape[-2], dim=shape[-1], maxlen=shape[-2],
                                        path=node.target)
            return
        if p is None and node.target in dict(self.gm.named_buffers()) or "_tensor_constant" in node.target:
            self.vals[node.name] = _Val(kind="const")  # a causal mask, say (checked where used)
            return
        self.fail(node, "reads parameter '%s' directly (only an nn.Embedding's weight or an [S, d] / "
                  "[1, S, d] table, as positions, is supported)" % node.target)

    def op_output(self, node):
        res = node.args[0]
        if isinstance(res, torch.fx.Node):
            items = [(None, res)]
        elif isinstance(res, (tuple, list)):
            items = [(None, r) for r in res]
        elif isinstance(res, dict):
            items = list(res.items())
        else:
            self.fail(node, "the model returns %r" % (res,))
        names = self.output_names
        for i, (key, r) in enumerate(items):
            name = names[i] if names and i < len(names) else key or ("y" if len(items) == 1 else "y%d" % i)
            shape = _shape(r)
            self.lines.append("  %s = %s;" % (name, self.expr(node, r)))
            self.outputs.append("%s: f32[%s]" % (name, ", ".join(str(d) for d in shape)))

    # ---- modules ---------------------------------------------------------
    def op_call_function(self, node):
        t = node.target
        a = node.args
        name = _MASK_FUNCS.get(t)
        if name and self.flags_op(node, name, a):
            return
        if self.const_op(node, getattr(t, "__name__", "")):
            return
        if t in (operator.mul, torch.mul) and (self.masked_product(node, a[0], a[1]) or
                                               self.masked_product(node, a[1], a[0])):
            return
        if t in (operator.truediv, torch.div) and self.masked_mean(node, a[0], a[1]):
            return
        if t is torch.sum and self.masked_sum(node):
            return
        if t in (torch.clamp, torch.clamp_min) and self.clamp_count(node):
            return
        if t in (operator.add, torch.add, operator.iadd):
            return self.binary(node, "+")
        if t in (operator.mul, torch.mul, operator.imul):
            return self.binary(node, "*")
        if t in (operator.truediv, torch.div):
            return self.divide(node)
        if t in (operator.matmul, torch.matmul, torch.bmm):
            return self.matmul(node, a[0], a[1])
        if t in (F.gelu,):
            return self.set(node, self.gelu(node, self.expr(node, a[0]), node.kwargs.get("approximate", "none")))
        if t in (F.relu, torch.relu):
            return self.set(node, "relu(%s)" % self.expr(node, a[0]))
        if t in (F.softmax, torch.softmax):
            return self.softmax(node, a[0], node.kwargs.get("dim", a[1] if len(a) > 1 else None))
        if t in (F.dropout,):
            self.vals[node.name] = self.vals[a[0].name]
            return
        if t in (torch.fft.fft2, torch.fft.fftn):
            return self.fft(node)
        if t is torch.fft.fft:
            return self.fft1(node)
        if t is torch.mean:
            return self.mean(node, a[0], node.kwargs.get("dim", a[1] if len(a) > 1 else None),
                             node.kwargs.get("keepdim", a[2] if len(a) > 2 else False))
        if t is getattr and a[1] == "real":
            return self.real(node, a[0])
        if t is getattr and a[1] in ("shape", "dtype", "device"):
            self.vals[node.name] = _Val(kind="meta")
            return
        if t is getattr:
            self.fail(node, "attribute .%s is not supported" % a[1])
        if t is operator.getitem:
            return self.getitem(node)
        if t is torch.transpose:
            return self.transpose(node, a[0], a[1], a[2])
        if t is torch.reshape:
            return self.view(node, a[0])
        self.fail(node, "function %s is not supported" % getattr(t, "__name__", t))

    def op_call_method(self, node):
        t, a = node.target, node.args
        if self.flags_op(node, t, a) or self.const_op(node, t):
            return
        if t in ("mul", "mul_") and (self.masked_product(node, a[0], a[1]) or self.masked_product(node, a[1], a[0])):
            return
        if t in ("div", "div_") and self.masked_mean(node, a[0], a[1]):
            return
        if t == "sum" and self.masked_sum(node):
            return
        if t in ("clamp", "clamp_min") and self.clamp_count(node):
            return
        if t in ("long", "int", "float", "contiguous", "to", "type_as", "clone", "detach"):
            self.vals[node.name] = self.vals[a[0].name]
            return
        if t in ("add", "add_"):
            return self.binary(node, "+")
        if t in ("mul", "mul_"):
            return self.binary(node, "*")
        if t in ("div", "div_"):
            return self.divide(node)
        if t == "matmul":
            return self.matmul(node, a[0], a[1])
        if t == "softmax":
            return self.softmax(node, a[0], node.kwargs.get("dim", a[1] if len(a) > 1 else None))
        if t == "mean":
            return self.mean(node, a[0], node.kwargs.get("dim", a[1] if len(a) > 1 else None),
                             node.kwargs.get("keepdim", a[2] if len(a) > 2 else False))
        if t in ("view", "reshape"):
            return self.view(node, a[0])
        if t == "transpose":
            return self.transpose(node, a[0], a[1], a[2])
        if t == "size":
            self.vals[node.name] = _Val(kind="meta")
            return
        if t == "relu":
            return self.set(node, "relu(%s)" % self.expr(node, a[0]))
        self.fail(node, "method .%s() is not supported" % t)

    def binary(self, node, op):
        x, y = node.args[0], node.args[1]
        if not isinstance(x, torch.fx.Node) or not isinstance(y, torch.fx.Node):
            if op == "*":
                tensor, c = (x, y) if isinstance(x, torch.fx.Node) else (y, x)
                if isinstance(c, (int, float)):
                    return self.scaled(node, tensor, float(c))
            self.fail(node, "%s of a tensor and a constant (fabc adds tensors, scales by constants)" % op)
        if len(node.args) > 2 or node.kwargs.get("alpha") not in (None, 1):
            self.fail(node, "add with alpha")
        return self.set(node, "%s %s %s" % (self.expr(node, x), op, self.expr(node, y)))

    def divide(self, node):
        x, c = node.args[0], node.args[1]
        if not isinstance(c, (int, float)) or c == 0:
            self.fail(node, "division by %r (fabc divides by non-zero constants only)" % (c,))
        return self.scaled(node, x, 1.0 / float(c))

    def scaled(self, node, x, factor):
        v = self.vals[x.name]
        if v.kind == "scaled":
            factor *= v.factor
            src = v.src
        else:
            src = self.expr(node, x)
        self.vals[node.name] = _Val(kind="scaled", src=src, factor=factor)

    def softmax(self, node, x, dim):
        shape = _shape(x)
        if dim is None or dim not in (-1, len(shape) - 1):
            self.fail(node, "softmax over axis %r (fabc's softmax is over the last axis)" % (dim,))
        v = self.vals[x.name]
        if v.kind == "masked_scores":
            return self.softmax_masked(node, v)
        if v.kind == "scaled":
            return self.set(node, "softmax(%s, scale = %s)" % (v.src, _num(v.factor)))
        return self.set(node, "softmax(%s)" % self.expr(node, x))

    def matmul(self, node, a, b):
        vb = self.vals[b.name]
        rank = len(_shape(b))
        if vb.kind == "transposed" and sorted((vb.d0 % rank, vb.d1 % rank)) == [rank - 2, rank - 1]:
            return self.set(node, "matmul(%s, %s, transpose_b = true)" % (self.expr(node, a), vb.src))
        return self.set(node, "matmul(%s, %s)" % (self.expr(node, a), self.expr(node, b)))

    def view(self, node, x):
        src, new = _shape(x), _shape(node)
        v = self.vals[x.name]
        # [.., s, d] -> [.., s, H, dh]: the first half of split_heads.
        if len(new) == len(src) + 1 and new[:-2] == src[:-1] and new[-2] * new[-1] == src[-1]:
            self.vals[node.name] = _Val(kind="viewed", src=self.expr(node, x), heads=new[-2])
            return
        # [.., s, H, dh] (after merge's transpose) -> [.., s, H*dh].
        if v.kind == "merged_t" and len(new) == len(src) - 1 and new[-1] == src[-1] * src[-2]:
            return self.set(node, "merge_heads(%s)" % v.src)
        if new == src:
            self.vals[node.name] = v
            return
        self.fail(node, "reshape %s -> %s (fabc splits and merges heads only)" % (src, new))

    def transpose(self, node, x, d0, d1):
        shape = _shape(x)
        r = len(shape)
        if not isinstance(d0, int) or not isinstance(d1, int):
            self.fail(node, "transpose with non-constant axes")
        pair = sorted((d0 % r, d1 % r))
        v = self.vals[x.name]
        if v.kind == "viewed" and pair == [r - 3, r - 2]:
            self.vals[node.name] = _Val(kind="heads", src=v.src, heads=v.heads)
            return
        if pair == [r - 3, r - 2] and r >= 3 and v.kind == "expr":
            # [.., H, s, dh] -> [.., s, H, dh]: the first half of merge_heads
            # (or a plain transpose if no reshape follows).
            self.vals[node.name] = _Val(kind="merged_t", src=v.expr, d0=d0, d1=d1)
            return
        self.vals[node.name] = _Val(kind="transposed", src=self.expr(node, x), d0=d0, d1=d1)

    def fft(self, node):
        x = node.args[0]
        r = len(_shape(x))
        dim = node.kwargs.get("dim", node.args[2] if len(node.args) > 2 else None)
        s = node.kwargs.get("s", node.args[1] if len(node.args) > 1 else None)
        norm = node.kwargs.get("norm", None)
        if node.target is torch.fft.fftn and dim is None:
            dim = tuple(range(r))
        if dim is None:
            dim = (-2, -1)
        if s is not None or norm not in (None, "backward") or sorted(d % r for d in dim) != [r - 2, r - 1]:
            self.fail(node, "FFT other than over the last two axes without size or norm options")
        self.vals[node.name] = _Val(kind="fft", src=self.expr(node, x))

    def fft1(self, node):
        """torch.fft.fft along one of the last two axes, then along the other
        (the golden generator's fourier_mix): together fft2."""
        x = node.args[0]
        r = len(_shape(x))
        dim = node.kwargs.get("dim", node.args[2] if len(node.args) > 2 else -1)
        n = node.kwargs.get("n", node.args[1] if len(node.args) > 1 else None)
        if n is not None or node.kwargs.get("norm") not in (None, "backward") or dim % r not in (r - 2, r - 1):
            self.fail(node, "torch.fft.fft other than along one of the last two axes without n or norm")
        v = self.vals[x.name]
        if v.kind == "fft_axis" and v.axis != dim % r:
            self.vals[node.name] = _Val(kind="fft", src=v.src)
            return
        if v.kind in ("fft_axis", "fft"):
            self.fail(node, "FFT along the same axis twice")
        self.vals[node.name] = _Val(kind="fft_axis", src=self.expr(node, x), axis=dim % r)

    def real(self, node, x):
        v = self.vals[x.name]
        if v.kind != "fft":
            self.fail(node, ".real of something other than torch.fft.fft2")
        return self.set(node, "fourier(%s)" % v.src)

    def mean(self, node, x, dim, keepdim):
        r = len(_shape(x))
        if isinstance(dim, (tuple, list)) and len(dim) == 1:
            dim = dim[0]
        if not isinstance(dim, int) or dim % r != r - 2 or keepdim:
            self.fail(node, "mean over axis %r (fabc's meanpool averages the sequence axis, -2)" % (dim,))
        return self.set(node, "meanpool(%s)" % self.expr(node, x))

    def getitem(self, node):
        x, idx = node.args
        v = self.vals.get(x.name)
        if v is not None and v.kind == "tuple" and isinstance(idx, int) and idx in v.items:
            self.vals[node.name] = _Val(v.items[idx])
            return
        if v is not None and v.kind == "meta":
            self.vals[node.name] = _Val(kind="meta")
            return
        if v is not None and v.kind == "posweight" and isinstance(idx, slice) and idx.start in (None, 0) \
                and idx.step in (None, 1):
            # The stop may be traced (ids.shape[-1]): the result's shape says the rows.
            self.vals[node.name] = _Val(kind="posweight", rows=_shape(node)[0], dim=v.dim, maxlen=v.maxlen,
                                        path=v.path)
            return
        self.fail(node, "indexing with %r is not supported" % (idx,))

    def const_op(self, node, name):
        """Tensors made from shapes and constants (torch.ones(s, s).triu(1),
        a buffer's slice): kept as "const" for a causal attn_mask."""
        if name not in _CONST_OPS:
            return False
        for a in node.all_input_nodes:
            v = self.vals.get(a.name)
            if v is None or v.kind not in ("const", "meta"):
                return False
        if name in ("getitem", "bool", "float", "to", "triu", "tril", "masked_fill", "type_as") and \
                self.vals.get(node.args[0].name, _Val()).kind != "const":
            return False
        self.vals[node.name] = _Val(kind="const")
        return True

    def render(self, lines):
        """Block calls as statements; runs of one block over consecutive
        instances (layers.0, layers.1, ...), each taking the last one's
        result, as `repeat`."""
        out, i = [], 0
        while i < len(lines):
            ln = lines[i]
            if not isinstance(ln, tuple):
                out.append(ln)
                i += 1
                continue
            _, var, blk, x, path = ln
            stem, _, idx = path.rpartition(".")
            j = i + 1
            if idx.isdigit():
                while j < len(lines) and isinstance(lines[j], tuple) and lines[j][2] == blk and \
                        lines[j][3] == lines[j - 1][1] and lines[j][4] == "%s.%d" % (stem, int(idx) + j - i):
                    j += 1
            if j - i >= 2:
                last = lines[j - 1][1]
                out.append("  %s = %s;" % (last, x))
                out.append("  repeat i in %d..%d {" % (int(idx), int(idx) + j - i))
                out.append("    %s = %s(%s) as %s.{i};" % (last, blk, last, stem))
                out.append("  }")
            else:
                out.append("  %s = %s(%s) as %s;" % (var, blk, x, path))
            i = j
        return out

    def source(self, name):
        head = ["// Written by fabc.from_torch from %s; parameter names are its state_dict names." %
                type(self.root).__name__]
        head += ["// %s is the state_dict's %s (reshaped)." % kv for kv in sorted(self.param_map.items())] + [""]
        return "\n".join(head + self.block_defs +
                         ["model %s(%s) -> (%s) {" % (name, ", ".join(self.inputs), ", ".join(self.outputs))]
                         + self.render(self.lines) + ["}", ""])


def _as_tuple(example_inputs):
    if isinstance(example_inputs, torch.Tensor):
        return (example_inputs,)
    if isinstance(example_inputs, dict):
        return tuple(example_inputs.values())
    return tuple(example_inputs)


def _input_names(module, example_inputs, input_names):
    if input_names is not None:
        return list(input_names)
    if isinstance(example_inputs, dict):
        return list(example_inputs)
    return None


def from_torch(module, example_inputs, input_names=None, output_names=None, name=None):
    """Traces `module` (in eval mode) on `example_inputs` (a tensor, a tuple
    or a dict by argument name) and returns (.fab source text, mapping),
    mapping = {fab parameter name: state_dict name} for every parameter of
    the program (the same names: the state_dict binds unchanged; buffers
    and unused entries are not in it; a positional nn.Parameter [1, S, d]
    maps `<name>.weight` to `<name>`, bound reshaped).  Mask inputs (ints,
    nonzero = token; bools, True = token) become i32 inputs.  input_names / output_names rename the
    model's inputs and outputs (default: forward()'s argument names; "y",
    or "y0", "y1", ... for several outputs; a returned dict's keys)."""
    if torch is None:
        raise Error("from_torch needs PyTorch (python3-torch): %s" % _torch_error)
    was_training = module.training
    module.eval()
    try:
        args = _as_tuple(example_inputs)
        em_name = name or "".join(c if c.isalnum() or c == "_" else "_" for c in type(module).__name__.lower())
        rooted = _leaf_kind(module) is not None
        if rooted:
            tracer = _Tracer()
            wrapper = _LeafRoot(module)
            gm = torch.fx.GraphModule(wrapper, tracer.trace(wrapper))
        else:
            tracer = _Tracer()
            try:
                graph = tracer.trace(module)
            except Exception as e:  # fx cannot trace some Python (star unpacking of shapes, ...)
                raise Error("from_torch: torch.fx cannot trace %s: %s" % (type(module).__name__, e)) from e
            gm = torch.fx.GraphModule(module, graph)
        try:
            with torch.no_grad():
                _mark_kept(gm)
                _ValueProp(gm).propagate(*args)
        except Exception as e:
            raise Error("from_torch: running %s on the example inputs failed: %s" % (type(module).__name__, e)) from e
        if input_names is None and rooted and not isinstance(example_inputs, dict):
            input_names = ["x"]
        em = _Emitter(gm, module, _input_names(module, example_inputs, input_names), output_names, rooted)
        em.run()
        src = em.source(em_name)
    finally:
        module.train(was_training)
    # The program's parameters, read back by compiling it (which also
    # checks it): each is the state_dict entry of the same name.
    params = _compile(source=src).weights
    state = module.state_dict()
    mapping = {p: em.param_map.get(p, p) for p in params}
    missing = [p for p in params if mapping[p] not in state]
    if missing:
        raise Error("from_torch: the written program has parameters the state_dict lacks: %s" % ", ".join(missing))
    return src, mapping


class _LeafRoot(nn.Module if torch else object):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, x):
        return self.m(x)


def compile_torch(module, example_inputs, target="cpu", accel=None, input_names=None, output_names=None, **kw):
    """from_torch, then fabc.compile(source=...) for `target` with the
    module's state_dict bound.  Returns the compiled model; its .source is
    the .fab text."""
    src, mapping = from_torch(module, example_inputs, input_names=input_names, output_names=output_names)
    m = _compile(source=src, target=target, accel=accel, **kw)
    state = module.state_dict()
    m.load_weights({p: state[mapping[p]].detach().to(torch.float32).cpu().numpy().reshape(m.weights[p].shape)
                    for p in m.weights})
    m.source = src
    return m
