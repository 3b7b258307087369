#!/bin/sh
# install_test.sh BUILD SRC — fabc as someone who installed it sees it.
# Installs into a temporary prefix outside the build and source trees and,
# from a folder outside them both:
#  - checks a model importing "lib/blocks.fab" (found in share/fabc) and
#    builds it for the FPGA with a shipped accelerator named without a path;
#  - unresolved imports and unknown accelerators name where fabc looked;
#  - builds the example C programs with the command lines examples/README.md
#    prints (shared and static runtime) and runs them: their outputs must
#    equal the reference interpreter's;
#  - moves the prefix: fabc must still find its data (no absolute path).
set -eu
build=$1 src=$2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fabc-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
PREFIX=$tmp/prefix
cmake --install "$build" --prefix "$PREFIX" >/dev/null
PREFIX=$(cd "$PREFIX" && pwd -P)
export PATH="$PREFIX/bin:$PATH"
mkdir "$tmp/work" && cd "$tmp/work"

fail() {
  echo "install_test: $*" >&2
  exit 1
}
# Runs a command line exactly as examples/README.md prints it (indented).
doc() {
  grep -qxF "    $1" "$src/examples/README.md" || fail "not printed in examples/README.md: $1"
  echo "+ $1"
  eval "$1"
}
# Runs a command that must fail with a message containing each pattern.
fails_with() {
  cmd=$1
  shift
  if sh -c "$cmd" >out.txt 2>&1; then fail "succeeded: $cmd"; fi
  for p in "$@"; do grep -qF -- "$p" out.txt || { cat out.txt >&2; fail "'$cmd': no '$p' in its message"; }; done
}

test -f "$PREFIX/share/fabc/lib/blocks.fab" || fail "block library not installed"
test -f "$PREFIX/share/fabc/configs/vcu128-be40.json" || fail "configurations not installed"

# A model importing the block library, away from the source tree.
cp "$src/examples/tiny.fab" model.fab
grep -q '^import "lib/blocks.fab";' model.fab || fail "tiny.fab no longer imports lib/blocks.fab"
cp "$src/examples/c/run_model.c" "$src/examples/c/static_model.c" "$src/examples/c/example_common.h" .
fabc check model.fab
fabc build model.fab --target fpga --accel vcu128-be40 -o model.fbin
fabc sim model.fbin --timing-only >/dev/null
fabc resources --accel vcu128-be40.json >/dev/null
printf 'import "lib/no_such_block.fab";\nmodel m(x: f32[4]) -> (y: f32[4]) { y = x; }\n' >bad.fab
fails_with "fabc check bad.fab -I inc" "looked in ./" "looked in inc (-I)" "looked in $PREFIX/share/fabc" "-I DIR"
fails_with "fabc resources --accel no-such-accel" "no-such-accel" "vcu128-be40, vcu128-be40-fp32"
fails_with "fabc resources --accel ./vcu128-be40.json" "cannot open configuration './vcu128-be40.json'"

# The example programs, built and run as examples/README.md prints.
doc 'export PKG_CONFIG_PATH=$PREFIX/lib/pkgconfig'
doc 'fabc init model.fab -o weights.safetensors --inputs inputs.safetensors'
fabc run model.fab --weights weights.safetensors --input inputs.safetensors -o expected.safetensors
doc 'fabc build model.fab --target cpu -o model.so'
doc 'cc -std=c17 -O2 run_model.c $(pkg-config --cflags --libs fabrt) -Wl,-rpath,$PREFIX/lib -o run_model'
doc './run_model model.so weights.safetensors inputs.safetensors -o outputs.safetensors'
fabc compare outputs.safetensors expected.safetensors --rtol 1e-4
ldd run_model | grep -q "$PREFIX/lib/libfabrt.so" || fail "run_model does not use the installed libfabrt.so"

doc 'fabc build model.fab --target cpu --emit=obj -o model.o'
doc 'cc -std=c17 -O2 -static static_model.c model.o -I. $(pkg-config --static --cflags --libs fabrt) -o static_model'
doc './static_model weights.safetensors inputs.safetensors --check expected.safetensors'
if ldd static_model >/dev/null 2>&1; then fail "static_model is linked dynamically"; fi

# A moved prefix still finds its data.
mv "$PREFIX" "$tmp/moved"
PATH="$tmp/moved/bin:$PATH" fabc check model.fab
PATH="$tmp/moved/bin:$PATH" fabc resources --accel small >/dev/null
echo "install_test: ok"
