#!/bin/sh
# valgrind.sh CASE FABC ROOT WORKDIR VALGRIND [ARGS...] — one memcheck run
# (ctest reliability.valgrind.CASE, label valgrind).  Fails on a valgrind
# error (exit 99), a signal, or an unexpected fabc exit code.
CASE=$1 FABC=$2 ROOT=$3 W=$4/valgrind.$1
shift 4
VG="$* -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect"
rm -rf "$W" && mkdir -p "$W" && cd "$W" || exit 1
vg() {
  want=$1
  shift
  $VG "$@"
  rc=$?
  [ $rc -eq 99 ] && { echo "FAIL: valgrind errors: $*" >&2; exit 1; }
  [ $rc -ge 128 ] && { echo "FAIL: signal (exit $rc): $*" >&2; exit 1; }
  [ "$want" = any ] || [ $rc -eq "$want" ] || { echo "FAIL: exit $rc, want $want: $*" >&2; exit 1; }
  return 0
}
case $CASE in
run_tiny) vg 0 "$FABC" run "$ROOT/examples/tiny.fab" -o y.safetensors ;;
check_diagnostics)
  # 15 of the corpus (fabc check takes at most 16 files; valgrind's start-up
  # with libLLVM costs ~5 s per process, so one batch)
  set --
  for f in absurd_dims bad_arguments block_result_shape choose_bad_index deep_nesting \
           division_by_zero error_in_block float_too_large import_cycle import_error_inside \
           integer_overflow long_chain mha_heads non_utf8 unterminated_string; do
    set -- "$@" "$ROOT/tests/diagnostics/$f.fab"
  done
  vg 1 "$FABC" check "$@" 2>diag.err ;;
ir_roundtrip)
  "$FABC" emit --ir "$ROOT/examples/tiny_preln.fab" -o a.fir || exit 1
  vg 0 "$FABC" emit --ir a.fir -o b.fir
  cmp a.fir b.fir || exit 1
  vg 0 "$FABC" opt a.fir -passes=canonicalize,lower-bfly,lower-fourier,lower-mha,fuse-stages,fuse-elementwise,tile,memplan -o c.fir ;;
fpga)
  vg 0 "$FABC" build "$ROOT/examples/tiny.fab" --target fpga --accel "$ROOT/configs/small.json" -o m.fbin
  "$FABC" init "$ROOT/examples/tiny.fab" -o w.safetensors --inputs x.safetensors || exit 1
  vg 0 "$FABC" sim m.fbin --weights w.safetensors --input x.safetensors -o y.safetensors --report >/dev/null ;;
replay_*)
  # the fuzz corpora through the replay drivers: FABC is the driver here
  kind=${CASE#replay_}
  vg 0 "$FABC" "$ROOT/tests/fuzz/corpus/$kind" "$ROOT/tests/fuzz/crashers/$kind" ;;
*) echo "unknown case $CASE" >&2; exit 1 ;;
esac
echo "ok: $CASE"
