#!/usr/bin/env bash
# demo.sh — the main job: install what is missing, build fabc, compile an
# example FABNet and run it on the reference interpreter, the CPU backend
# (JIT and an ahead-of-time shared library loaded by the runtime) and the
# FPGA backend (accelerator simulator), comparing every output.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

model=${1:-examples/fabnet_small.fab}
build=build/release
out=out/demo
mkdir -p "$out"

echo "== build (Release)"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j"$(nproc)" --target fabc run_model fab_python
fabc="$build/cli/fabc"
step() { echo; echo "\$ $*"; "$@"; }

echo; echo "== model: $model"
step "$fabc" check --verbose "$model"
step "$fabc" stats "$model"
# Weights: the trained ones shipped next to the model, else seeded init.
weights="${model%.fab}.safetensors"
if [[ ! -f "$weights" ]]; then
  weights="$out/weights.safetensors"
  step "$fabc" init "$model" -o "$weights"
fi
step "$fabc" init "$model" --inputs "$out/input.safetensors"
common=(--weights "$weights" --input "$out/input.safetensors")

if [[ "$weights" == "${model%.fab}.safetensors" ]]; then
  echo; echo "== the shipped weights were trained by fabc (fabc train --task listops): held-out accuracy"
  step "$fabc" eval "$model" --weights "$weights" --task listops --samples 1000
fi

echo; echo "== reference interpreter"
step "$fabc" run "$model" "${common[@]}" -o "$out/y_interp.safetensors"

echo; echo "== CPU backend (LLVM): JIT, and a shared library loaded by the runtime"
step "$fabc" run "$model" --backend cpu "${common[@]}" -o "$out/y_cpu.safetensors"
step "$fabc" compare "$out/y_cpu.safetensors" "$out/y_interp.safetensors" --rtol 1e-4
step "$fabc" build "$model" --target cpu -o "$out/model.so"
step "$build/tests/cpu/run_model" "$out/model.so" "$weights" "$out/input.safetensors" -o "$out/y_so.safetensors"
step "$fabc" compare "$out/y_so.safetensors" "$out/y_interp.safetensors" --rtol 1e-4

echo; echo "== FPGA backend: the adaptable butterfly accelerator, simulated"
step "$fabc" build "$model" --target fpga --accel configs/vcu128-be40-fp32.json -o "$out/model_fp32.fbin"
step "$fabc" sim "$out/model_fp32.fbin" "${common[@]}" -o "$out/y_fpga_fp32.safetensors"
step "$fabc" compare "$out/y_fpga_fp32.safetensors" "$out/y_interp.safetensors" --rtol 1e-4
step "$fabc" build "$model" --target fpga --accel configs/vcu128-be40.json -o "$out/model.fbin"
step "$fabc" sim "$out/model.fbin" "${common[@]}" -o "$out/y_fpga.safetensors" --report --trace "$out/trace.json"
echo; echo "(fp16 datapath against the double-precision reference: error relative to the largest"
echo " logit, within the 1e-2 bound docs/fpga.md states for fp16)"
step "$fabc" compare "$out/y_fpga.safetensors" "$out/y_interp.safetensors" --relative-to-max --rtol 1e-2

echo; echo "== a FABNet trained in PyTorch: its state_dict as saved (a model. prefix, an nn.Parameter"
echo "   [1, S, d] positional table, a buffer), four padded samples, on every backend"
torch_case=tests/golden/fab/fabnet_padded_torch
torch_common=(--weights "$torch_case.weights.safetensors" --weight-map "$torch_case.map.json"
              --input "$torch_case.input.safetensors")
step "$fabc" run "$torch_case.fab" --backend cpu "${torch_common[@]}" -o "$out/y_torch_cpu.safetensors"
step "$fabc" compare "$out/y_torch_cpu.safetensors" "$torch_case.expected.safetensors" --rtol 1e-4
step "$fabc" run "$torch_case.fab" --backend fpga --accel vcu128-be40-fp32 "${torch_common[@]}" \
  -o "$out/y_torch_fpga.safetensors"
step "$fabc" compare "$out/y_torch_fpga.safetensors" "$torch_case.expected.safetensors" --rtol 1e-4

echo; echo "== from Python (docs/python.md): a PyTorch module imported, run on the CPU and simulated"
PYTHONPATH="$build/python:tests/golden/gen" /usr/bin/python3 - <<'PY'   # Debian's python3 (numpy, torch)
import numpy as np, torch, fabc, gen, wild
torch.manual_seed(0)
model = gen.prepare(wild.FABNet(vocab=40, seq=16, d=32, h=64, heads=4, classes=5)).eval()
ids = torch.randint(0, 40, (16,), dtype=torch.int32)
m = fabc.compile_torch(model, ids, target="cpu", input_names=["tokens"])
a = fabc.compile_torch(model, ids, target="fpga", accel="vcu128-be40-fp32", input_names=["tokens"])
y, report = a.simulate(tokens=ids.numpy(), report=True)
ref = model(ids).detach().numpy()
cpu = next(iter(m(tokens=ids.numpy()).values()))
fpga = next(iter(y.values()))
print("max |cpu - torch| / max|torch| = %.2e" % (np.abs(cpu - ref).max() / np.abs(ref).max()))
print("max |fpga - torch| / max|torch| = %.2e" % (np.abs(fpga - ref).max() / np.abs(ref).max()))
print("accelerator: %d cycles, %.4f ms" % (report["total_cycles"], report["latency_ms"]))
PY

echo; echo "demo: done — outputs, model.so, model.h, model.fbin and trace.json are in $out/"
