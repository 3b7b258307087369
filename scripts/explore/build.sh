#!/bin/sh
# build.sh — compiles the experiment drivers (bench.c, space.c) against a
# fabc build directory (default build-train; configure and build it first:
#   cmake -S . -B build-train -G Ninja && cmake --build build-train -j2).
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build-train}
cmake --build "$build" --target fab_proxy fab_frontend -j2 >/dev/null
inc="-I$root/util -I$root/ir -I$root/runtime -I$root/interp -I$root/frontend -I$root/explore -I$root/explore/train -I$root/explore/proxy"
libs="$build/explore/proxy/libfab_proxy.a $build/explore/train/libfab_train.a $build/explore/libfab_explore.a \
$build/frontend/libfab_frontend.a $build/interp/libfab_interp.a $build/runtime/libfabrt.a $build/ir/libfab_ir.a $build/datadir/libfab_datadir.a $build/util/libfab_util.a"
for p in bench space; do
  cc -std=c17 -O2 -g -Wall -Wextra -Wno-unused-parameter -D_GNU_SOURCE $inc \
     "$root/scripts/explore/$p.c" $libs -ljansson -lm -lpthread -o "$build/explore_$p"
  echo "$build/explore_$p"
done
