"""python -m fabc: run / sim / stats agree with the fabc CLI; errors exit 1
with fabc's diagnostics on standard error."""
import json
import os
import subprocess
import sys
import tempfile
import unittest

from common import CLI, FP32, INCLUDE, assert_same, cli_run, golden, fabc


def pym(*args):
    return subprocess.run([sys.executable, "-m", "fabc"] + list(args), capture_output=True, text=True)


class PythonMain(unittest.TestCase):
    def test_run_and_sim_match_cli(self):
        fab, weights, inputs, _ = golden("fabnet_torch")
        with tempfile.TemporaryDirectory() as tmp:
            ipath = os.path.join(tmp, "in.safetensors")
            fabc.save_tensors(ipath, inputs)
            for backend in ("cpu", "fpga"):
                out = os.path.join(tmp, backend + ".safetensors")
                r = pym("run", fab, "-I", INCLUDE[0], "--backend", backend, "--weights", weights, "--input", ipath,
                        "--accel", FP32, "-o", out)
                self.assertEqual(r.returncode, 0, r.stderr)
                assert_same(self, fabc.load_tensors(out), cli_run(fab, backend, weights, inputs))
            r = pym("sim", fab, "-I", INCLUDE[0], "--accel", FP32, "--weights", weights, "--input", ipath)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertGreater(json.loads(r.stdout)["total_cycles"], 0)

    def test_stats_json_matches_cli(self):
        fab = os.path.join(os.path.dirname(INCLUDE[0]), "examples", "fabnet_base.fab")
        r = pym("stats", fab, "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        cli = subprocess.run([CLI, "stats", fab, "--json"], check=True, capture_output=True, text=True).stdout
        self.assertEqual(json.loads(r.stdout), json.loads(cli))

    def test_error_exits_1_with_diagnostic(self):
        with tempfile.TemporaryDirectory() as tmp:
            p = os.path.join(tmp, "bad.fab")
            with open(p, "w") as f:
                f.write("model m(x: f32[4]) -> (y: f32[4]) {\n  y = relu(x) +;\n}\n")
            r = pym("run", p)
            self.assertEqual(r.returncode, 1)
            self.assertIn("bad.fab:2:", r.stderr)
            self.assertIn("^", r.stderr)
            r = pym("run", p, "-D", "seq")
            self.assertEqual(r.returncode, 1)
            self.assertIn("-D expects NAME=INTEGER", r.stderr)


if __name__ == "__main__":
    unittest.main()
