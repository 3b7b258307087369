#!/bin/sh
# determinism.sh FABC WORKDIR CASE — the same inputs and options give
# byte-identical outputs: every output is produced twice, in two different
# working folders, and compared.  ctest: reliability.determinism.CASE.
FABC=$1 W=$2/determinism.$3 CASE=$3
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$(dirname "$0")/lib.sh"
rm -rf "$W" && mkdir -p "$W/a" "$W/b" || exit 1
TINY=$ROOT/examples/tiny.fab
TEXT=$ROOT/examples/fabnet_text.fab
CFG=$ROOT/configs/small.json

# both OUT CMD...: runs CMD (with -o OUT appended) in a/ and in b/, compares
both() {
  out=$1
  shift
  for d in a b; do
    (cd "$W/$d" && "$@" -o "$out") >"$W/$d.log" 2>&1 || { cat "$W/$d.log" >&2; fail "$* -o $out"; }
  done
  same "$W/a/$out" "$W/b/$out"
  echo "identical: $out" >&2
}

case $CASE in
emit)
  both tiny.fir "$FABC" emit --ir "$TINY"
  both tiny.locs.fir "$FABC" emit --ir --locs "$TINY"
  both text.fir "$FABC" emit --ir "$TEXT"
  both tiny.cpu.fir "$FABC" emit --ir --target cpu "$TINY"
  both tiny.fpga.fir "$FABC" emit --ir --target fpga "$TINY" ;;
opt)
  both opt.fir "$FABC" opt "$TEXT" -passes=canonicalize,lower-bfly,lower-fourier,lower-mha,fuse-stages,fuse-elementwise,tile,memplan ;;
run)
  both y.safetensors "$FABC" run "$TINY"
  both y.npy "$FABC" run "$TINY" --seed 7
  both w.safetensors "$FABC" init "$TINY" --inputs x.safetensors
  same "$W/a/x.safetensors" "$W/b/x.safetensors"
  both y.cpu.safetensors "$FABC" run "$TINY" --backend cpu
  both y.fpga.safetensors "$FABC" run "$TINY" --backend fpga --accel "$CFG" ;;
build_fpga)
  both m.fbin "$FABC" build "$TINY" --target fpga --accel "$CFG"
  both text.fbin "$FABC" build "$TEXT" --target fpga --accel "$ROOT/configs/vcu128-be40.json" ;;
build_cpu)
  both m.so "$FABC" build "$TINY" --target cpu
  same "$W/a/m.h" "$W/b/m.h"
  both m.o "$FABC" build "$TINY" --target cpu --emit obj
  both e.so "$FABC" build "$TINY" --target cpu --embed-weights ;;
*) fail "unknown case $CASE" ;;
esac
echo "ok: $CASE"
