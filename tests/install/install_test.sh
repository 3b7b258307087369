#!/bin/sh
# Installs fabc into a temporary prefix, builds the example C program
# against the installed runtime with pkg-config (the way an application
# would), compiles a model with the installed fabc and runs it: the output
# must equal the reference interpreter's.
set -eu
build=$1 src=$2 work=$3
rm -rf "$work" && mkdir -p "$work"
cmake --install "$build" --prefix "$work/prefix" >/dev/null
export PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig"
cc -std=c17 -O2 -o "$work/run_model" "$src/examples/c/run_model.c" $(pkg-config --cflags --libs fabrt) \
   -lm -Wl,-rpath,"$work/prefix/lib"
fabc="$work/prefix/bin/fabc"
"$fabc" build "$src/examples/tiny.fab" --target cpu -o "$work/tiny.so"
test -f "$work/tiny.h"
"$fabc" init "$src/examples/tiny.fab" -o "$work/w.safetensors" --inputs "$work/x.safetensors"
"$work/run_model" "$work/tiny.so" "$work/w.safetensors" "$work/x.safetensors" -o "$work/y.safetensors"
"$fabc" run "$src/examples/tiny.fab" --weights "$work/w.safetensors" --input "$work/x.safetensors" \
   -o "$work/y_ref.safetensors"
"$fabc" compare "$work/y.safetensors" "$work/y_ref.safetensors" --rtol 1e-4
# The program must use the shared runtime, not a copy linked in.
ldd "$work/run_model" | grep -q libfabrt.so
