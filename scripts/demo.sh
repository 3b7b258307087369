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
cmake --build "$build" -j"$(nproc)" --target fabc run_model
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

echo; echo "demo: done — outputs, model.so, model.h, model.fbin and trace.json are in $out/"
