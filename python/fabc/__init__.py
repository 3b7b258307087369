"""fabc from Python: compile .fab models for the reference interpreter, the
CPU (JIT) or the FPGA accelerator's simulator, run them on NumPy arrays,
read the cycle report and the statistics, load models built by
`fabc build`, and import PyTorch modules (fabc.from_torch).

A pure-Python package over libfabc.so and libfabrt.so (ctypes).  ctypes
releases the GIL during every call into the libraries, so models run in
parallel from several threads.  docs/python.md documents the API.
"""
from ._core import (Error, Model, RuntimeModel, TensorSpec, compile, load, load_tensors, save_tensors,
                    stats, targets)


def from_torch(module, example_inputs, **kw):
    """A PyTorch module -> (.fab source text, {fab parameter: state_dict name}).
    See fabc._torch."""
    from . import _torch
    return _torch.from_torch(module, example_inputs, **kw)


def compile_torch(module, example_inputs, target="cpu", accel=None, **kw):
    """from_torch, compiled for `target`, with the module's weights bound."""
    from . import _torch
    return _torch.compile_torch(module, example_inputs, target=target, accel=accel, **kw)


def version():
    from . import _lib
    return _lib.fabc().fabc_version().decode()


__all__ = ["Error", "Model", "RuntimeModel", "TensorSpec", "compile", "compile_torch", "from_torch", "load",
           "load_tensors", "save_tensors", "stats", "targets", "version"]
