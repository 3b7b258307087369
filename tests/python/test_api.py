"""fabc's Python package on .fab models: the same outputs as the CLI, bit
for bit, on every backend; batches; errors as fabc.Error with fabc's
diagnostics; several threads on one model; runtime-only loading; stats."""
import json
import os
import subprocess
import sys
import tempfile
import threading
import unittest

from common import CLI, compile_, FP32, ROOT, assert_same, cli_run, golden, np, fabc

CASES = ("attention_by_hand", "encoder_layer_torch", "fabnet_torch")


class AgreesWithCli(unittest.TestCase):
    def test_every_backend_bit_for_bit(self):
        for case in CASES:
            fab, weights, inputs, expected = golden(case)
            for target in ("interp", "cpu", "fpga"):
                with self.subTest(case=case, target=target):
                    m = compile_(fab, target=target, accel=FP32 if target == "fpga" else None)
                    m.load_weights(weights)
                    got = m.simulate(**inputs) if target == "fpga" else m(**inputs)
                    assert_same(self, got, cli_run(fab, target, weights, inputs))
                    for k, want in expected.items():  # and PyTorch's outputs, loosely
                        np.testing.assert_allclose(got[k], want, rtol=1e-3, atol=1e-4)

    def test_seeded_weights_like_cli(self):
        fab = os.path.join(ROOT, "examples", "fabnet_base.fab")
        m = compile_(fab, target="cpu", defines={"seq": 64}).init_weights(seed=3)
        tokens = np.arange(64, dtype=np.int32) % 7
        got = m(tokens=tokens)
        assert_same(self, got, cli_run(fab, "cpu", None, {"tokens": tokens}, ["-D", "seq=64", "--seed", "3"]))

    def test_weights_from_dict_and_torch(self):
        fab, weights, inputs, _ = golden("attention_by_hand")
        ref = compile_(fab, target="cpu").load_weights(weights)(**inputs)
        as_dict = {k: v.astype(np.float64) for k, v in fabc.load_tensors(weights).items()}
        assert_same(self, compile_(fab, target="cpu").load_weights(as_dict)(**inputs), ref)
        import torch
        sd = {k: torch.from_numpy(v) for k, v in fabc.load_tensors(weights).items()}
        assert_same(self, compile_(fab, target="cpu").load_weights(sd)(**inputs), ref)

    def test_weight_map_and_ir(self):
        fab, weights, inputs, _ = golden("attention_by_hand")
        ref = compile_(fab, target="cpu").load_weights(weights)(**inputs)
        prefixed = {"model." + k: v for k, v in fabc.load_tensors(weights).items()}
        prefixed["model.extra_buffer"] = np.zeros(3, np.float32)
        m = compile_(fab, target="cpu")
        with self.assertRaisesRegex(fabc.Error, "model.extra_buffer|missing"):
            m.load_weights(prefixed)
        m.load_weights(prefixed, rename={"model.": ""}, allow_unused=True)
        assert_same(self, m(**inputs), ref)
        self.assertIn("plan.offset", m.ir())  # what the backend received
        self.assertEqual(fabc.targets(), {"interp": False, "cpu": False, "fpga": True})
        self.assertFalse(m.simulates)
        self.assertNotIn("plan.offset", m.ir(lowered=False))
        with tempfile.TemporaryDirectory() as tmp:
            m.build(os.path.join(tmp, "m.ll"), kind="llvm")
            with open(os.path.join(tmp, "m.ll")) as f:
                self.assertIn("define", f.read())

    def test_int64_ids(self):
        fab, weights, inputs, _ = golden("fabnet_torch")
        for target in ("interp", "cpu"):
            m = compile_(fab, target=target).load_weights(weights)
            assert_same(self, m(tokens=inputs["tokens"].astype(np.int64)), m(**inputs))
        with self.assertRaisesRegex(fabc.Error, "int32 token ids"):
            m(tokens=inputs["tokens"].astype(np.float32))

    def test_info(self):
        fab, _, _, _ = golden("fabnet_torch")
        m = compile_(fab)
        self.assertEqual(m.inputs, {"tokens": fabc.TensorSpec("int32", (16,))})
        self.assertEqual(m.outputs, {"logits": fabc.TensorSpec("float32", (5,))})
        self.assertEqual(m.weights["head.weight"], fabc.TensorSpec("float32", (5, 32)))
        self.assertEqual(m.weights["layers.0.ffn.fc1.twiddle"].shape, (2, 1, 5, 16, 2, 2))  # Butterfly(32, 64): 2 stacks


class Batch(unittest.TestCase):
    def test_leading_axis_is_samples(self):
        fab, weights, inputs, _ = golden("fabnet_torch")
        rng = np.random.default_rng(1)
        toks = rng.integers(0, 40, size=(3, 16)).astype(np.int32)
        for target in ("cpu", "fpga"):
            m = compile_(fab, target=target, accel=FP32).load_weights(weights)
            run = m.simulate if target == "fpga" else m
            y = run(tokens=toks)["logits"]
            self.assertEqual(y.shape, (3, 5))
            for i in range(3):
                self.assertTrue(np.array_equal(y[i], run(tokens=toks[i])["logits"]))
        _, rep = m.simulate(tokens=toks, report=True)
        self.assertEqual(rep["samples"], 3)
        self.assertEqual(rep["batch_cycles"], 3 * rep["total_cycles"])


class Errors(unittest.TestCase):
    def test_syntax_error_has_location_and_caret(self):
        with self.assertRaises(fabc.Error) as cm:
            fabc.compile(source="dim d = 4;\nmodel m(x: f32[d]) -> (y: f32[d]) {\n  y = relu(x;\n}\n")
        msg = str(cm.exception)
        self.assertIn("<string>:3:", msg)
        self.assertIn("error:", msg)
        self.assertIn("  y = relu(x;", msg)
        self.assertIn("^", msg)

    def test_file_error_names_file(self):
        with tempfile.TemporaryDirectory() as tmp:
            p = os.path.join(tmp, "bad.fab")
            with open(p, "w") as f:
                f.write("model m(x: f32[4]) -> (y: f32[4]) {\n  y = nosuch(x);\n}\n")
            with self.assertRaises(fabc.Error) as cm:
                fabc.compile(p, target="cpu")
            self.assertIn("bad.fab:2:", str(cm.exception))
            self.assertIn("nosuch", str(cm.exception))

    def test_bad_weights_inputs_targets(self):
        fab, weights, inputs, _ = golden("attention_by_hand")
        m = compile_(fab, target="cpu")
        w = fabc.load_tensors(weights)
        with self.assertRaisesRegex(fabc.Error, "no weights bound"):
            m(**inputs)
        w["attn.q_proj.weight"] = w["attn.q_proj.weight"][:, :5].copy()
        with self.assertRaisesRegex(fabc.Error, "attn.q_proj.weight"):
            m.load_weights(w)
        del w["attn.q_proj.weight"]
        with self.assertRaisesRegex(fabc.Error, "attn.q_proj.weight"):
            m.load_weights(w)
        m.load_weights(weights)
        with self.assertRaisesRegex(fabc.Error, "input 'x': shape"):
            m(x=np.zeros((3, 3), np.float32))
        with self.assertRaisesRegex(fabc.Error, "unknown target 'gpu'"):
            compile_(fab, target="gpu")
        with self.assertRaisesRegex(fabc.Error, "accelerator configuration"):
            compile_(fab, target="fpga")
        with self.assertRaisesRegex(fabc.Error, "fpga target"):
            m.simulate(**inputs)
        with self.assertRaisesRegex(fabc.Error, "must be an integer"):
            compile_(fab, defines={"d": "x"})

    def test_token_out_of_range(self):
        fab, weights, _, _ = golden("fabnet_torch")
        for target in ("interp", "cpu", "fpga"):
            m = compile_(fab, target=target, accel=FP32).load_weights(weights)
            with self.assertRaises(fabc.Error, msg=target):
                (m.simulate if target == "fpga" else m)(tokens=np.full(16, 40, np.int32))


class Threads(unittest.TestCase):
    def test_one_model_many_threads(self):
        fab, weights, _, _ = golden("fabnet_torch")
        m = compile_(fab, target="cpu").load_weights(weights)
        rng = np.random.default_rng(7)
        toks = [rng.integers(0, 40, size=16).astype(np.int32) for _ in range(8)]
        want = [m(tokens=t)["logits"] for t in toks]
        errors = []

        def work(k):
            try:
                for r in range(20):
                    i = (k + r) % len(toks)
                    if not np.array_equal(m(tokens=toks[i])["logits"], want[i]):
                        errors.append("thread %d sample %d differs" % (k, i))
            except Exception as e:  # reported below
                errors.append(repr(e))

        ts = [threading.Thread(target=work, args=(k,)) for k in range(6)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        self.assertEqual(errors, [])


    def test_compiles_in_parallel(self):
        """Different models compile at once (front end, passes and LLVM keep
        no shared state)."""
        fab, weights, inputs, _ = golden("attention_by_hand")
        want = compile_(fab, target="cpu").load_weights(weights)(**inputs)
        results, errors = [], []

        def work():
            try:
                results.append(compile_(fab, target="cpu").load_weights(weights)(**inputs))
            except Exception as e:  # reported below
                errors.append(repr(e))

        ts = [threading.Thread(target=work) for _ in range(3)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        self.assertEqual(errors, [])
        for r in results:
            assert_same(self, r, want)


class BuildAndLoad(unittest.TestCase):
    def test_runtime_load(self):
        fab, weights, inputs, _ = golden("encoder_layer_torch")
        m = compile_(fab, target="cpu").load_weights(weights)
        want = m(**inputs)
        with tempfile.TemporaryDirectory() as tmp:
            so = m.build(os.path.join(tmp, "model.so"))
            self.assertTrue(os.path.exists(os.path.join(tmp, "model.h")))
            lib = fabc.load(so).load_weights(weights)
            self.assertEqual(lib.inputs, m.inputs)
            assert_same(self, lib(**inputs), want)
            embedded = m.build(os.path.join(tmp, "embedded.so"), embed_weights=True)
            assert_same(self, fabc.load(embedded)(**inputs), want)  # no weights to load
            # One context per thread.
            got, ts = [], [threading.Thread(target=lambda: got.append(lib(**inputs))) for _ in range(3)]
            for t in ts:
                t.start()
            for t in ts:
                t.join()
            self.assertEqual(len(got), 3)
            for g in got:
                assert_same(self, g, want)
            fbin = compile_(fab, target="fpga", accel=FP32).build(os.path.join(tmp, "m.fbin"))
            self.assertTrue(os.path.getsize(fbin) > 0)
        with self.assertRaises(fabc.Error):
            fabc.load(os.path.join(ROOT, "README.md"))

    def test_installed_package(self):
        """cmake --install puts the package, its _paths.py, the libraries and
        the configurations where the installed package finds them."""
        build = os.environ.get("FAB_BUILD", os.path.join(ROOT, "build"))
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run(["cmake", "--install", build, "--prefix", tmp], check=True, capture_output=True)
            code = ("import fabc, numpy as np; assert fabc.__file__.startswith(%r), fabc.__file__; "
                    "m = fabc.compile(%r, target='fpga', accel='vcu128-be40-fp32').init_weights(); "
                    "print(sorted(m.simulate(**{k: np.zeros(s.shape, np.int32) for k, s in m.inputs.items()})))" % (
                        tmp, os.path.join(ROOT, "examples", "tiny.fab")))
            env = dict(os.environ, PYTHONPATH=os.path.join(tmp, "lib", "python3", "dist-packages"))
            r = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp, capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn(tmp, open(os.path.join(tmp, "lib", "python3", "dist-packages", "fabc", "_paths.py")).read())

    def test_stats_like_cli(self):
        fab = os.path.join(ROOT, "examples", "fabnet_base.fab")
        cli = json.loads(subprocess.run([CLI, "stats", fab, "--json"], check=True, capture_output=True,
                                        text=True).stdout)
        self.assertEqual(fabc.stats(fab), cli)

    def test_timing_only_report(self):
        fab, weights, inputs, _ = golden("fabnet_torch")
        a = compile_(fab, target="fpga", accel="vcu128-be40-fp32").load_weights(weights)
        _, full = a.simulate(report=True, **inputs)
        _, timing = a.simulate(report=True, timing_only=True)
        self.assertEqual(full["total_cycles"], timing["total_cycles"])
        self.assertGreater(full["total_cycles"], 0)
        self.assertIn("cycles", full["text"])


if __name__ == "__main__":
    unittest.main()
