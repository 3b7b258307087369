#!/bin/sh
# atomic.sh FABC WORKDIR CASE — outputs are written atomically: a command
# that fails (at compile time or at run time) leaves an existing output
# byte-for-byte intact, creates no output when there was none, and leaves
# no temporary file behind.  ctest: reliability.atomic.CASE.
FABC=$1 W=$2/atomic.$3 CASE=$3
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$(dirname "$0")/lib.sh"
rm -rf "$W" && mkdir -p "$W/out" && cd "$W" || exit 1
TINY=$ROOT/examples/tiny.fab
CFG=$ROOT/configs/small.json

printf 'model m(x: f32[4]) -> (y: f32[4]) { y = nosuchfn(x); }\n' >bad.fab
printf 'module @m\nfunc @main {\n  %%0 = input {index = 0, name = "x"} : f32[4]\n  %%1 = relu %%7 : f32[4]\n}\n' >bad.fir
# tiny.fab's input: 16 token ids, all 1000 (the vocabulary has 32): the model
# compiles, and fails only when it runs.
hdr='{"tokens":{"dtype":"I32","shape":[16],"data_offsets":[0,64]}}'
{ printf "\\$(printf '%03o' ${#hdr})\\000\\000\\000\\000\\000\\000\\000"; printf '%s' "$hdr"
  i=0; while [ $i -lt 16 ]; do printf '\350\003\000\000'; i=$((i + 1)); done; } >badids.safetensors

# fails_cleanly OUTFILE CMD...: CMD must fail with exit 1; out/ must be
# unchanged (old file intact, nothing new: no output, no temporary)
fails_cleanly() {
  snap before
  expect_error 1 'error' "$@"
  snap after
  cmp -s before after || { diff before after >&2; fail "out/ changed: $*"; }
}
# for each case: once with no output present, once over a good one
twice() {
  good=$1
  shift
  rm -f "out/$good"
  fails_cleanly "$@"
  [ -e "out/$good" ] && fail "created out/$good"
  cp "good.$good" "out/$good"
  fails_cleanly "$@"
  same "good.$good" "out/$good"
}

case $CASE in
emit)
  "$FABC" emit --ir "$TINY" -o good.o.fir || fail "emit"
  twice o.fir "$FABC" emit --ir bad.fab -o out/o.fir
  twice o.fir "$FABC" emit --ir bad.fir -o out/o.fir ;;
opt)
  "$FABC" opt "$TINY" -passes=canonicalize -o good.o.fir || fail "opt"
  twice o.fir "$FABC" opt bad.fir -passes=canonicalize -o out/o.fir
  twice o.fir "$FABC" opt "$TINY" -passes=no-such-pass -o out/o.fir ;;
run_interp)
  "$FABC" run "$TINY" -o good.y.safetensors || fail "run"
  twice y.safetensors "$FABC" run bad.fab -o out/y.safetensors
  twice y.safetensors "$FABC" run "$TINY" --input badids.safetensors -o out/y.safetensors ;;
run_cpu)
  "$FABC" run "$TINY" --backend cpu -o good.y.safetensors || fail "run cpu"
  twice y.safetensors "$FABC" run "$TINY" --backend cpu --input badids.safetensors -o out/y.safetensors ;;
run_fpga)
  "$FABC" run "$TINY" --backend fpga --accel "$CFG" -o good.y.safetensors || fail "run fpga"
  twice y.safetensors "$FABC" run "$TINY" --backend fpga --accel "$CFG" --input badids.safetensors -o out/y.safetensors ;;
init)
  "$FABC" init "$TINY" -o good.w.safetensors || fail "init"
  twice w.safetensors "$FABC" init bad.fab -o out/w.safetensors ;;
build_fpga)
  "$FABC" build "$TINY" --target fpga --accel "$CFG" -o good.m.fbin || fail "build fpga"
  twice m.fbin "$FABC" build bad.fab --target fpga --accel "$CFG" -o out/m.fbin ;;
build_cpu)
  "$FABC" build "$TINY" --target cpu -o good.m.so || fail "build cpu"
  twice m.so "$FABC" build bad.fab --target cpu -o out/m.so ;;
sim)
  "$FABC" build "$TINY" --target fpga --accel "$CFG" -o m.fbin || fail "build fpga"
  "$FABC" init "$TINY" -o w.safetensors --inputs x.safetensors || fail "init"
  "$FABC" sim m.fbin --weights w.safetensors --input x.safetensors -o good.y.safetensors || fail "sim"
  twice y.safetensors "$FABC" sim m.fbin --weights w.safetensors --input badids.safetensors -o out/y.safetensors ;;
no_such_dir)
  expect_error 1 'nodir' "$FABC" emit --ir "$TINY" -o nodir/o.fir
  expect_error 1 'nodir' "$FABC" run "$TINY" -o nodir/y.safetensors ;;
*) fail "unknown case $CASE" ;;
esac
echo "ok: $CASE"
