"""Compiled models over libfabc.so and runtime models over libfabrt.so,
with NumPy arrays in and out."""
import collections
import ctypes
import json
import os
import threading

import numpy as np

from . import _lib

# fabc_dtype / fab_tensor_dtype numbering -> NumPy.
_NP_OF = {0: np.float32, 1: np.float16, 3: np.int32, 4: np.int64, 5: np.float64}
_CODE_OF = {np.dtype(np.float32): 0, np.dtype(np.float16): 1, np.dtype(np.int32): 3,
            np.dtype(np.int64): 4, np.dtype(np.float64): 5}
_NAME_OF = {0: "float32", 1: "float16", 2: "bfloat16", 3: "int32", 4: "int64", 5: "float64"}
_KINDS = ("inputs", "outputs", "weights")


class Error(Exception):
    """An error reported by fabc: the message is fabc's diagnostic text
    (file:line:col, the source line and a caret where there is a location)."""

    def __init__(self, message, status=None):
        super().__init__(message)
        self.status = status
        self.diagnostics = message


TensorSpec = collections.namedtuple("TensorSpec", "dtype shape")


def _check(status, err):
    """Raises Error with the message libfabc stored in `err` (and frees it)."""
    if status == 0:
        return
    msg = "fabc error %d" % status
    if err.value:
        msg = ctypes.string_at(err.value).decode("utf-8", "replace")
        _lib.fabc().fabc_free(err.value)
    raise Error(msg, status)


def _call(fn, *args):
    err = ctypes.c_void_p()
    _check(fn(*args, ctypes.byref(err)), err)


def _to_numpy(value, name):
    """Accepts ndarrays, array-likes and torch tensors (no torch import)."""
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch.Tensor
        value = value.detach().cpu().numpy()
    a = np.asarray(value)
    if a.dtype not in _CODE_OF:
        raise Error("tensor '%s': dtype %s is not supported (float32/16/64, int32/64)" % (name, a.dtype))
    return np.ascontiguousarray(a)


class _Tensors:
    """An owned fabc_tensors handle."""

    def __init__(self, handle=None):
        self.lib = _lib.fabc()
        self.h = handle if handle is not None else self.lib.fabc_tensors_new()
        if not self.h:
            raise MemoryError("fabc_tensors_new")

    def add(self, name, a):
        dims = (ctypes.c_int64 * max(a.ndim, 1))(*a.shape)
        _call(self.lib.fabc_tensors_add, self.h, name.encode(), _CODE_OF[a.dtype], a.ndim, dims,
              a.ctypes.data_as(ctypes.c_void_p), a.nbytes)

    def to_dict(self):
        out = {}
        for i in range(self.lib.fabc_tensors_count(self.h)):
            name, dt, rank = ctypes.c_char_p(), ctypes.c_int(), ctypes.c_int()
            dims, data, nbytes = _lib.c_i64p(), ctypes.c_void_p(), ctypes.c_size_t()
            self.lib.fabc_tensors_get(self.h, i, ctypes.byref(name), ctypes.byref(dt), ctypes.byref(rank),
                                      ctypes.byref(dims), ctypes.byref(data), ctypes.byref(nbytes))
            shape = tuple(dims[k] for k in range(rank.value))
            buf = ctypes.string_at(data.value, nbytes.value) if nbytes.value else b""
            out[name.value.decode()] = np.frombuffer(buf, dtype=_NP_OF[dt.value]).reshape(shape).copy()
        return out

    def close(self):
        if self.h:
            self.lib.fabc_tensors_free(self.h)
            self.h = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def save_tensors(path, tensors):
    """Writes a dict of arrays to .safetensors (or one to .npy), like `fabc run -o`."""
    with _Tensors() as t:
        for name, v in tensors.items():
            t.add(name, _to_numpy(v, name))
        _call(t.lib.fabc_tensors_save, os.fspath(path).encode(), t.h)


def load_tensors(path):
    """Reads a .safetensors or .npy file into a dict of arrays."""
    lib = _lib.fabc()
    h = ctypes.c_void_p()
    _call(lib.fabc_tensors_load, os.fspath(path).encode(), ctypes.byref(h))
    with _Tensors(h.value) as t:
        return t.to_dict()


def _accel_path(accel):
    """A configuration file, or the name of a shipped one ("vcu128-be40")."""
    if accel is None or os.path.exists(accel):
        return accel
    cand = os.path.join(_lib.config_dir(), accel if accel.endswith(".json") else accel + ".json")
    return cand if os.path.exists(cand) else accel


def _options(path=None, source=None, defines=None, include=None, target=None, accel=None, passes=None,
             threads=1, opt_level=3, cpu=None, features=None):
    keep = []  # ctypes buffers that must live as long as the options

    def s(v):
        return None if v is None else os.fspath(v).encode()

    o = _lib.Options()
    o.source_path, o.source_text, o.target = s(path), s(source), s(target)
    o.accel_path, o.passes, o.cpu, o.features = s(_accel_path(accel)), s(passes), s(cpu), s(features)
    defines = dict(defines or {})
    for k, v in defines.items():
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise Error("define '%s' must be an integer, got %r" % (k, v))
    names = (ctypes.c_char_p * max(len(defines), 1))(*[k.encode() for k in defines])
    values = (ctypes.c_int64 * max(len(defines), 1))(*[int(v) for v in defines.values()])
    incs = [s(d) for d in (include or [])]
    incs_arr = (ctypes.c_char_p * max(len(incs), 1))(*incs)
    keep += [names, values, incs_arr]
    o.define_names, o.define_values, o.ndefines = names, values, len(defines)
    o.include_dirs, o.ninclude_dirs = incs_arr, len(incs)
    o.threads, o.opt_level = int(threads), int(opt_level)
    return o, keep


def _check_batch(specs, arrays):
    """Every input has its declared shape, or all carry the same one extra
    leading axis of samples; raises Error naming the input otherwise (before
    any array is handed to the library)."""
    extra = set()
    for name, a in arrays.items():
        spec = specs.get(name)
        if spec is None:
            continue  # the library reports unknown inputs by name
        if a.shape == spec.shape:
            extra.add(None)
        elif a.ndim == len(spec.shape) + 1 and a.shape[1:] == spec.shape:
            extra.add(a.shape[0])
        else:
            raise Error("input '%s': shape %s, the model takes %s (or a leading batch axis on it)"
                        % (name, tuple(a.shape), spec.shape))
    if len(extra) > 1:
        raise Error("inputs disagree about the batch: give every input its declared shape, "
                    "or every one the same leading axis")


class _ModelBase:
    """What compiled and runtime models share: info, weights, input checks."""

    def _convert_inputs(self, inputs):
        arrays = {}
        for name, v in inputs.items():
            spec = self.inputs.get(name)
            if spec is not None and spec.dtype == "int32":
                v = v.detach().cpu().numpy() if hasattr(v, "detach") and hasattr(v, "cpu") else np.asarray(v)
                if v.dtype == np.bool_:
                    v = v.astype(np.int32)  # a padding mask as bools: True = token (1)
            a = _to_numpy(v, name)
            if spec is not None and spec.dtype == "float32" and a.dtype != np.float32:
                if a.dtype.kind != "f":
                    raise Error("input '%s' takes float32, got %s" % (name, a.dtype))
                a = a.astype(np.float32)
            if spec is not None and spec.dtype == "int32" and a.dtype.kind != "i":
                raise Error("input '%s' takes int32 token ids, got %s" % (name, a.dtype))
            arrays[name] = a
        return arrays

    def _run_checked(self, run_one, inputs):
        """Converts and checks the inputs, then runs them as they are: a
        leading axis of samples goes to the library, which runs the batch
        itself (the CPU spreads it over its threads)."""
        arrays = self._convert_inputs(inputs)
        _check_batch(self.inputs, arrays)
        return run_one(arrays)

    def __call__(self, **inputs):
        """Runs on keyword inputs (name=array); returns {output name: array}.
        Arrays may carry a leading axis of samples."""
        return self._run_checked(self._run_one, inputs)

    def run(self, inputs=None, **kw):
        """Same as calling the model; inputs as a dict and/or keywords."""
        d = dict(inputs or {})
        d.update(kw)
        return self(**d)


class Model(_ModelBase):
    """A model compiled by fabc.compile (in memory; for interp, cpu or fpga).

    Thread safety: one Model may be called from several Python threads at
    once (the GIL is released during runs; each CPU run uses a context of its
    own from the model's pool).  load_weights waits for running calls."""

    def __init__(self, handle, keep_source=None):
        self._lib = _lib.fabc()
        self._h = handle
        self._source = keep_source
        self.target = self._lib.fabc_model_target(handle).decode()
        self.simulates = targets().get(self.target, False)  # runs give a cycle report
        self.name = self._lib.fabc_model_name(handle).decode()
        for kind, attr in enumerate(_KINDS):
            setattr(self, attr, self._info(kind))

    def _info(self, kind):
        out = {}
        for i in range(self._lib.fabc_model_count(self._h, kind)):
            name, dt, rank, dims = ctypes.c_char_p(), ctypes.c_int(), ctypes.c_int(), _lib.c_i64p()
            self._lib.fabc_model_tensor_info(self._h, kind, i, ctypes.byref(name), ctypes.byref(dt),
                                             ctypes.byref(rank), ctypes.byref(dims))
            out[name.value.decode()] = TensorSpec(_NAME_OF[dt.value], tuple(dims[k] for k in range(rank.value)))
        return out

    def __repr__(self):
        return "<fabc.Model %s target=%s inputs=%s outputs=%s, %d weights>" % (
            self.name, self.target, dict(self.inputs), dict(self.outputs), len(self.weights))

    def close(self):
        if getattr(self, "_h", None):
            self._lib.fabc_model_free(self._h)
            self._h = None

    def __del__(self):
        self.close()

    def load_weights(self, weights, allow_extra=False, rename=None, reshape=None, allow_unused=False):
        """Binds weights by state_dict name: a .safetensors/.npy path, a
        dict of arrays, or a torch state_dict.  A weight map adapts names
        and shapes as `fabc run --rename/--reshape/--allow-unused` do:
        rename={"FROM": "TO"} (prefixes, longest wins), reshape=["NAME"]
        (stored with extra leading axes of size 1), allow_unused=True
        (ignore entries the model does not use).  Returns self."""
        if isinstance(weights, (str, os.PathLike)):
            h = ctypes.c_void_p()
            _call(self._lib.fabc_tensors_load, os.fspath(weights).encode(), ctypes.byref(h))
            t = _Tensors(h.value)
        else:
            t = _Tensors()
            try:
                for name, v in weights.items():
                    t.add(name, _to_numpy(v, name))
            except BaseException:
                t.close()
                raise
        with t:
            if rename or reshape or allow_unused:
                wmap = {"rename": dict(rename or {}), "reshape": list(reshape or []),
                        "allow_unused": bool(allow_unused or allow_extra)}
                _call(self._lib.fabc_model_bind_weights_json, self._h, t.h, json.dumps(wmap).encode())
            else:
                _call(self._lib.fabc_model_bind_weights, self._h, t.h, 1 if allow_extra else 0)
        return self

    def ir(self, lowered=True, locs=False):
        """The butterfly IR as text: what the backend receives (lowered=True)
        or the model as written; locs annotates ops with source locations."""
        txt = ctypes.c_void_p()
        _call(self._lib.fabc_model_ir, self._h, 1 if lowered else 0, 1 if locs else 0, ctypes.byref(txt))
        try:
            return ctypes.string_at(txt.value).decode()
        finally:
            self._lib.fabc_free(txt)

    def init_weights(self, seed=0):
        """PyTorch's default initialisation, seeded like `fabc run --seed`."""
        _call(self._lib.fabc_model_init_weights, self._h, seed)
        return self

    def _run_one(self, arrays):
        with _Tensors() as tin, _Tensors() as tout:
            for name, a in arrays.items():
                tin.add(name, a)
            _call(self._lib.fabc_model_run, self._h, tin.h, tout.h)
            return tout.to_dict()

    def _simulate_one(self, arrays, timing_only):
        with _Tensors() as tin, _Tensors() as tout:
            for name, a in arrays.items():
                tin.add(name, a)
            rep = ctypes.c_void_p()
            tin_h = None if timing_only and not arrays else tin.h
            _call(self._lib.fabc_model_simulate, self._h, tin_h, tout.h, 1 if timing_only else 0,
                  ctypes.byref(rep))
            report = json.loads(ctypes.string_at(rep.value).decode()) if rep.value else None
            if rep.value:
                self._lib.fabc_free(rep.value)
            return tout.to_dict(), report

    def simulate(self, report=False, timing_only=False, **inputs):
        """fpga: runs the cycle-level simulator.  Returns the outputs, or
        (outputs, report dict) with report=True; with a leading batch axis the
        report's figures are one sample's, and samples / batch_cycles /
        batch_latency_ms give the whole batch.  timing_only: the cycle model
        alone (no inputs needed, no outputs)."""
        if timing_only:
            outs, rep = self._simulate_one(self._convert_inputs(inputs), True)
            return (outs, rep) if report else outs
        outs, rep = self._run_checked(lambda a: self._simulate_one(a, False), inputs)
        return (outs, rep) if report else outs

    def build(self, path, embed_weights=False, kind=None):
        """Writes the compiled model: cpu -> shared library (+ .h), or kind
        "obj", "llvm", "asm"; fpga -> .fbin."""
        _call(self._lib.fabc_model_emit, self._h, None if kind is None else kind.encode(),
              os.fspath(path).encode(), 1 if embed_weights else 0)
        return path


def compile(path=None, target="interp", defines=None, accel=None, include=None, source=None, passes=None,
            threads=1, opt_level=3, cpu=None, features=None, print_after=None, print_before=None,
            verify_each=False):
    """Compiles a .fab file (or `source` text) for "interp", "cpu" or "fpga".
    defines: {name: int} (-D); accel: a configs/*.json path or a shipped
    configuration's name ("vcu128-be40-fp32"); threads: CPU workers per run;
    print_after / print_before: pass names, a comma list or "all" (the IR
    is printed to standard error, as `fabc --print-after`)."""
    lib = _lib.fabc()
    o, keep = _options(path, source, defines, include, target, accel, passes, threads, opt_level, cpu, features)
    o.print_after = None if print_after is None else print_after.encode()
    o.print_before = None if print_before is None else print_before.encode()
    o.verify_each = 1 if verify_each else 0
    h = ctypes.c_void_p()
    _call(lib.fabc_compile, ctypes.byref(o), ctypes.byref(h))
    del keep
    return Model(h.value, source)


def targets():
    """The targets from fabc's table: {name: simulates} ("interp", "cpu",
    "fpga"; simulates: runs give a cycle report, Model.simulate)."""
    lib = _lib.fabc()
    out, i = {}, 0
    while lib.fabc_target_name(i):
        out[lib.fabc_target_name(i).decode()] = bool(lib.fabc_target_simulates(i))
        i += 1
    return out


def stats(path=None, defines=None, include=None, source=None):
    """`fabc stats --json` as a dict: parameters and MACs per layer and total."""
    lib = _lib.fabc()
    o, keep = _options(path, source, defines, include)
    js = ctypes.c_void_p()
    _call(lib.fabc_stats, ctypes.byref(o), ctypes.byref(js))
    try:
        return json.loads(ctypes.string_at(js.value).decode())
    finally:
        lib.fabc_free(js.value)


class RuntimeModel(_ModelBase):
    """A model built by `fabc build --target cpu`, loaded with the runtime
    (libfabrt.so) alone.  One context per calling thread."""

    def __init__(self, path, threads=1):
        self._rt = _lib.fabrt()
        err = ctypes.create_string_buffer(1024)
        st = ctypes.c_int()
        self._h = self._rt.fab_model_load(os.fspath(path).encode(), ctypes.byref(st), err, len(err))
        if not self._h:
            raise Error(err.value.decode("utf-8", "replace"), st.value)
        self._threads = threads
        self._local = threading.local()
        self._contexts = []
        self._lock = threading.Lock()
        self._weights = None
        for attr, fn, num in (("inputs", "fab_model_input", "fab_model_num_inputs"),
                              ("outputs", "fab_model_output", "fab_model_num_outputs"),
                              ("weights", "fab_model_weight", "fab_model_num_weights")):
            d = {}
            for i in range(getattr(self._rt, num)(self._h)):
                t = getattr(self._rt, fn)(self._h, i).contents
                d[t.name.decode()] = TensorSpec(_NAME_OF[t.dtype], tuple(t.dims[k] for k in range(t.rank)))
            setattr(self, attr, d)

    def _set(self, arrays):
        s = self._rt.fab_tset_new()
        for name, a in arrays.items():
            dims = (ctypes.c_int64 * max(a.ndim, 1))(*a.shape)
            t = self._rt.fab_tset_add(s, name.encode(), _CODE_OF[a.dtype], a.ndim, dims)
            if not t:
                self._rt.fab_tset_free(s)
                raise Error("tensor '%s': out of memory or bad shape" % name)
            ctypes.memmove(t.contents.data, a.ctypes.data, a.nbytes)
        return s

    def load_weights(self, weights):
        """A .safetensors path or a dict of arrays / torch state_dict."""
        if isinstance(weights, (str, os.PathLike)):
            weights = load_tensors(weights)
        s = self._set({k: _to_numpy(v, k) for k, v in weights.items()})
        err = ctypes.create_string_buffer(1024)
        try:
            with self._lock:
                if self._contexts:
                    raise Error("load weights before the first run (contexts hold the old ones)")
                st = self._rt.fab_model_bind_weights(self._h, s, err, len(err))
        finally:
            self._rt.fab_tset_free(s)
        if st != 0:
            raise Error(err.value.decode("utf-8", "replace"), st)
        return self

    def _context(self):
        ctx = getattr(self._local, "ctx", None)
        if ctx is None:
            err = ctypes.create_string_buffer(1024)
            st = ctypes.c_int()
            ctx = self._rt.fab_context_new(self._h, self._threads, ctypes.byref(st), err, len(err))
            if not ctx:
                raise Error(err.value.decode("utf-8", "replace"), st.value)
            with self._lock:
                self._contexts.append(ctx)
            self._local.ctx = ctx
        return ctx

    def _run_one(self, arrays):
        ctx = self._context()
        sin, sout = self._set(arrays), self._rt.fab_tset_new()
        err = ctypes.create_string_buffer(1024)
        try:
            st = self._rt.fab_context_run(ctx, sin, sout, err, len(err))
            if st != 0:
                raise Error(err.value.decode("utf-8", "replace"), st)
            out = {}
            for i in range(sout.contents.count):
                t = sout.contents.items[i]
                shape = tuple(t.dims[k] for k in range(t.rank))
                buf = ctypes.string_at(t.data, t.nbytes)
                out[t.name.decode()] = np.frombuffer(buf, dtype=_NP_OF[t.dtype]).reshape(shape).copy()
            return out
        finally:
            self._rt.fab_tset_free(sin)
            self._rt.fab_tset_free(sout)

    def close(self):
        if getattr(self, "_h", None):
            for c in self._contexts:
                self._rt.fab_context_free(c)
            self._contexts = []
            self._rt.fab_model_free(self._h)
            self._h = None

    def __del__(self):
        self.close()


def load(path, threads=1):
    """Loads a model built by `fabc build --target cpu` (runtime only)."""
    return RuntimeModel(path, threads)
