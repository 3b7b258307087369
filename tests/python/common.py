"""Shared by the Python tests: paths, the CLI, golden files."""
import os
import subprocess
import sys
import tempfile

ROOT = os.environ.get("FAB_ROOT", os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
CLI = os.environ.get("FABC_CLI", os.path.join(ROOT, "build", "cli", "fabc"))
GOLDEN = os.path.join(ROOT, "tests", "golden", "fab")
FP32 = os.path.join(ROOT, "configs", "vcu128-be40-fp32.json")
sys.path.insert(0, os.path.join(ROOT, "tests", "golden", "gen"))

import numpy as np  # noqa: E402  (required: the tests fail without NumPy)
import fabc  # noqa: E402


INCLUDE = [os.path.join(ROOT, "examples")]


def compile_(path=None, **kw):
    """fabc.compile with the examples' import path (like the golden tests' -I)."""
    return fabc.compile(path, include=INCLUDE, **kw)


def golden(case):
    base = os.path.join(GOLDEN, case)
    return (base + ".fab", base + ".weights.safetensors", fabc.load_tensors(base + ".input.safetensors"),
            fabc.load_tensors(base + ".expected.safetensors"))


def cli_run(fab, backend, weights=None, inputs=None, extra=()):
    """`fabc run ... -o out.safetensors`, read back."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out.safetensors")
        cmd = [CLI, "run", fab, "-I", INCLUDE[0], "--backend", backend, "-o", out] + list(extra)
        if weights:
            cmd += ["--weights", weights]
        if inputs is not None:
            ipath = os.path.join(tmp, "in.safetensors")
            fabc.save_tensors(ipath, inputs)
            cmd += ["--input", ipath]
        if backend == "fpga":
            cmd += ["--accel", FP32]
        subprocess.run(cmd, check=True, capture_output=True)
        return fabc.load_tensors(out)


def assert_same(tc, got, want):
    tc.assertEqual(sorted(got), sorted(want))
    for k in want:
        tc.assertEqual(got[k].dtype, want[k].dtype, k)
        tc.assertEqual(got[k].shape, want[k].shape, k)
        tc.assertTrue(np.array_equal(got[k], want[k]), "%s differs: max |d| %g" % (
            k, float(np.max(np.abs(got[k].astype(np.float64) - want[k])))))
