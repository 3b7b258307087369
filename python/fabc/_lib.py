"""Finding and declaring the shared libraries (ctypes): libfabc.so, the
compiler as a library (api/fabc.h), and libfabrt.so, the runtime that loads
models built by `fabc build` (runtime/fab_runtime.h).

Where they are: the paths CMake wrote into _paths.py (the build tree's
package copy, or the installed package), else the build trees next to the
source tree (python/fabc -> ../../build*/), else the system's loader path.
FABC_LIBRARY / FABRT_LIBRARY name a library file explicitly (they only say
where the library is; they change nothing it computes).

ctypes.CDLL releases the GIL for the duration of every foreign call, so
model runs in several Python threads proceed in parallel.
"""
import ctypes
import glob
import os

_HERE = os.path.dirname(os.path.abspath(__file__))

try:  # written by CMake at configure time (build tree) or install time
    from . import _paths  # type: ignore
except ImportError:  # running from the source tree
    _paths = None


def _candidates(env, attr, rel, soname):
    out = []
    if os.environ.get(env):
        out.append(os.environ[env])
    if _paths is not None and getattr(_paths, attr, None):
        out.append(getattr(_paths, attr))
    root = os.path.dirname(os.path.dirname(_HERE))
    out += sorted(glob.glob(os.path.join(root, "build*", rel, soname)))
    out.append(soname)
    return out


def _open(env, attr, rel, soname):
    errors = []
    for path in _candidates(env, attr, rel, soname):
        if os.sep in path and not os.path.exists(path):
            continue
        try:
            return ctypes.CDLL(path)
        except OSError as e:
            errors.append(str(e))
    raise OSError("cannot find %s (build the project, or set %s): %s" % (soname, env, "; ".join(errors)))


def config_dir():
    """The folder of the shipped accelerator configurations (configs/)."""
    if _paths is not None and getattr(_paths, "CONFIG_DIR", None):
        return _paths.CONFIG_DIR
    return os.path.join(os.path.dirname(os.path.dirname(_HERE)), "configs")


c_i64p = ctypes.POINTER(ctypes.c_int64)
c_charp = ctypes.c_char_p
c_errp = ctypes.POINTER(ctypes.c_void_p)


class Options(ctypes.Structure):
    """fabc_options (api/fabc.h)."""
    _fields_ = [
        ("source_path", c_charp),
        ("source_text", c_charp),
        ("define_names", ctypes.POINTER(c_charp)),
        ("define_values", c_i64p),
        ("ndefines", ctypes.c_int),
        ("include_dirs", ctypes.POINTER(c_charp)),
        ("ninclude_dirs", ctypes.c_int),
        ("target", c_charp),
        ("accel_path", c_charp),
        ("passes", c_charp),
        ("threads", ctypes.c_int),
        ("opt_level", ctypes.c_int),
        ("cpu", c_charp),
        ("features", c_charp),
        # API version 2
        ("codegen", c_charp),
        ("stage", ctypes.c_int),
        ("print_before", c_charp),
        ("print_after", c_charp),
        ("stop_after", c_charp),
        ("verify_each", ctypes.c_int),
        ("time_passes", ctypes.c_int),
        ("reproducer_dir", c_charp),
        ("print_stream", ctypes.c_void_p),
    ]


def _declare(lib, name, restype, *argtypes):
    f = getattr(lib, name)
    f.restype = restype
    f.argtypes = list(argtypes)


_fabc = None
_fabrt = None


def fabc():
    """libfabc.so with its functions declared (loaded once)."""
    global _fabc
    if _fabc is not None:
        return _fabc
    lib = _open("FABC_LIBRARY", "FABC_LIBRARY", "api", "libfabc.so")
    vp, i, sz = ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t
    _declare(lib, "fabc_free", None, vp)
    _declare(lib, "fabc_api_version", i)
    _declare(lib, "fabc_version", c_charp)
    _declare(lib, "fabc_tensors_new", vp)
    _declare(lib, "fabc_tensors_free", None, vp)
    _declare(lib, "fabc_tensors_add", i, vp, c_charp, i, i, c_i64p, vp, sz, c_errp)
    _declare(lib, "fabc_tensors_count", i, vp)
    _declare(lib, "fabc_tensors_get", i, vp, i, ctypes.POINTER(c_charp), ctypes.POINTER(i), ctypes.POINTER(i),
             ctypes.POINTER(c_i64p), ctypes.POINTER(vp), ctypes.POINTER(sz))
    _declare(lib, "fabc_tensors_load", i, c_charp, ctypes.POINTER(vp), c_errp)
    _declare(lib, "fabc_tensors_save", i, c_charp, vp, c_errp)
    _declare(lib, "fabc_compile", i, ctypes.POINTER(Options), ctypes.POINTER(vp), c_errp)
    _declare(lib, "fabc_model_free", None, vp)
    _declare(lib, "fabc_model_count", i, vp, i)
    _declare(lib, "fabc_model_tensor_info", i, vp, i, i, ctypes.POINTER(c_charp), ctypes.POINTER(i),
             ctypes.POINTER(i), ctypes.POINTER(c_i64p))
    _declare(lib, "fabc_model_target", c_charp, vp)
    _declare(lib, "fabc_model_name", c_charp, vp)
    _declare(lib, "fabc_model_bind_weights", i, vp, vp, i, c_errp)
    _declare(lib, "fabc_model_init_weights", i, vp, ctypes.c_uint64, c_errp)
    _declare(lib, "fabc_model_run", i, vp, vp, vp, c_errp)
    _declare(lib, "fabc_model_simulate", i, vp, vp, vp, i, c_errp, c_errp)
    _declare(lib, "fabc_model_build", i, vp, c_charp, i, c_errp)
    _declare(lib, "fabc_model_emit", i, vp, c_charp, c_charp, i, c_errp)
    _declare(lib, "fabc_model_bind_weights_json", i, vp, vp, c_charp, c_errp)
    _declare(lib, "fabc_model_ir", i, vp, i, i, c_errp, c_errp)
    _declare(lib, "fabc_stats", i, ctypes.POINTER(Options), c_errp, c_errp)
    _declare(lib, "fabc_target_name", c_charp, i)
    _declare(lib, "fabc_target_simulates", i, i)
    if lib.fabc_api_version() != 2:
        raise OSError("libfabc.so speaks API version %d; this package needs 2" % lib.fabc_api_version())
    _fabc = lib
    return lib


class ModelTensorDesc(ctypes.Structure):
    """fab_model_tensor_desc (runtime/fab_runtime.h)."""
    _fields_ = [("name", c_charp), ("dtype", ctypes.c_int32), ("rank", ctypes.c_int32),
                ("dims", ctypes.c_int64 * 8), ("nbytes", ctypes.c_int64)]


class Tensor(ctypes.Structure):
    """fab_tensor (runtime/fab_tensor.h)."""
    _fields_ = [("name", c_charp), ("dtype", ctypes.c_int), ("rank", ctypes.c_int),
                ("dims", ctypes.c_int64 * 8), ("data", ctypes.c_void_p), ("nbytes", ctypes.c_size_t)]


class TensorSet(ctypes.Structure):
    """fab_tensor_set (runtime/fab_tensor.h)."""
    _fields_ = [("items", ctypes.POINTER(Tensor)), ("count", ctypes.c_int), ("cap", ctypes.c_int)]


def fabrt():
    """libfabrt.so (the runtime) with its functions declared."""
    global _fabrt
    if _fabrt is not None:
        return _fabrt
    lib = _open("FABRT_LIBRARY", "FABRT_LIBRARY", "runtime", "libfabrt.so")
    vp, i, sz = ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t
    ip = ctypes.POINTER(ctypes.c_int)
    tsp = ctypes.POINTER(TensorSet)
    _declare(lib, "fab_tset_new", tsp)
    _declare(lib, "fab_tset_free", None, tsp)
    _declare(lib, "fab_tset_add", ctypes.POINTER(Tensor), tsp, c_charp, i, i, c_i64p)
    _declare(lib, "fab_model_load", vp, c_charp, ip, c_charp, sz)
    _declare(lib, "fab_model_free", None, vp)
    _declare(lib, "fab_model_bind_weights", i, vp, tsp, c_charp, sz)
    _declare(lib, "fab_model_num_inputs", i, vp)
    _declare(lib, "fab_model_num_outputs", i, vp)
    _declare(lib, "fab_model_num_weights", i, vp)
    for kind in ("input", "output", "weight"):
        _declare(lib, "fab_model_" + kind, ctypes.POINTER(ModelTensorDesc), vp, i)
    _declare(lib, "fab_context_new", vp, vp, i, ip, c_charp, sz)
    _declare(lib, "fab_context_run", i, vp, tsp, tsp, c_charp, sz)
    _declare(lib, "fab_context_free", None, vp)
    _declare(lib, "fab_tensors_load", i, c_charp, ctypes.POINTER(tsp), c_charp, sz)
    _fabrt = lib
    return lib
