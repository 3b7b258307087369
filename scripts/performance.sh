#!/usr/bin/env bash
# performance.sh — regenerate docs/performance.md and docs/perf-scaling.svg
# in one run on this machine: builds fabc-bench (Release, in build-perf/)
# and runs it; every figure in the generated section comes from that run.
# Run it on an idle machine: the load average is printed before, and the
# bench prints it at the start and the end of the run.
#
#   scripts/performance.sh            # full run (about 6-10 minutes on an idle 2-core machine)
#   scripts/performance.sh --quick    # smoke run: fewer sizes, fewer repetitions
#   OUT=/tmp/base.md scripts/performance.sh --models-only --model 'base seq 128'
#                                     # one whole model: fabc on 1 and N threads
#                                     # interleaved, beside the host probe
#
# Other options go to fabc-bench (build-perf/bench/fabc-bench --help).
# Environment: BUILD (default build-perf), OUT (default docs/performance.md;
# runs of chosen models only must name another file).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD:-build-perf}
out=${OUT:-docs/performance.md}
for arg in "$@"; do
  if [[ -z ${OUT:-} && ( $arg == --model || $arg == --models-only || $arg == --kernels-only ) ]]; then
    echo "performance: $arg times only part of the bench; set OUT=file.md (docs/performance.md keeps whole runs)" >&2
    exit 2
  fi
done

echo "performance: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
command -v /usr/bin/python3 >/dev/null && /usr/bin/python3 -c 'import torch' 2>/dev/null \
  || echo "performance: /usr/bin/python3 cannot import torch: the PyTorch columns will say n/a (scripts/setup.sh installs python3-torch)" >&2
echo "performance: building fabc-bench in $build (Release)" >&2
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j"$(nproc)" --target fabc-bench >&2
[[ -x "$build/bench/fabc-bench" ]] || { echo "performance: fabc-bench was not built (OpenBLAS or FFTW missing? see scripts/setup.sh)" >&2; exit 1; }
echo "performance: running fabc-bench (progress below; tables on stdout)" >&2
"$build/bench/fabc-bench" "$@" "$out"
echo "performance: wrote $out and $(dirname "$out")/perf-scaling.svg" >&2
