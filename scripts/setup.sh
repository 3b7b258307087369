#!/usr/bin/env bash
# setup.sh — install what fabc needs to build, test and run, from Debian's
# packages (Debian 12).  Installs only what is missing; safe to re-run.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  flex bison
  libjansson-dev
  llvm-dev llvm clang lld libclang-rt-dev   # LLVM C API, FileCheck (llvm tools), libFuzzer runtime
  libopenblas-dev libfftw3-dev               # baselines for bench/
  valgrind                                   # memcheck tests (tests/reliability)
  openmpi-bin libopenmpi-dev                 # MPI-sharded codesign searches (codesign.mpi_search)
  python3 python3-numpy python3-torch        # the Python package and its tests (tests/python), golden generator
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo=""
  [[ $(id -u) -ne 0 ]] && sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# FileCheck lives in LLVM's versioned bin folder; CMake looks there itself.
echo "setup: ok ($(cmake --version | head -1), LLVM $(llvm-config --version))"
