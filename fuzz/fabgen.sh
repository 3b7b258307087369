#!/bin/sh
# fuzz/fabgen.sh FABC WORKDIR FILE.fab... — drive valid programs (from
# fuzz/fabgen.py) through every stage: check, the passes of both targets
# (emit --target cpu|fpga), both code generators (build), and the
# interpreter, the CPU backend and the simulator (run); the interpreter's
# and the CPU backend's outputs must agree (fabc compare).
#
# Every program is valid, so check, emit, build --target cpu and the
# interpreter and CPU runs must succeed.  The accelerator may refuse a
# program with a message (exit 1: a model that does not fit
# configs/small.json); a signal, a sanitizer report or an internal error is
# a failure anywhere.  Programs named gen_large_* (sizes up to the limits)
# only go through check and emit.  Used by ctest fuzz.fabgen on the
# committed set tests/fuzz/corpus/fabgen/ and by hand on fresh ones:
#   fuzz/fabgen.py 7 200 /tmp/gen && fuzz/fabgen.sh build-asan/cli/fabc /tmp/w /tmp/gen/*.fab
set -u
fabc=$1 work=$2
shift 2
mkdir -p "$work"
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:exitcode=86" UBSAN_OPTIONS="${UBSAN_OPTIONS:-}:exitcode=87:print_stacktrace=1"
fails=0 n=0 fpga_refused=0

# stage NAME MAY_REFUSE CMD... : runs CMD; 0 ok, 1 refused (allowed), 2 failure
stage() {
  name=$1 may=$2
  shift 2
  "$@" >"$work/out" 2>"$work/err"
  rc=$?
  if grep -q -e 'runtime error:' -e 'Sanitizer' -e 'internal error' "$work/err"; then rc=99; fi
  if [ $rc -eq 0 ]; then return 0; fi
  if [ $rc -eq 1 ] && [ "$may" = yes ] && [ -s "$work/err" ]; then return 1; fi
  echo "FAIL $f: $name exited $rc"
  sed -n 1,30p "$work/err"
  return 2
}

for f in "$@"; do
  n=$((n + 1))
  bad=0
  stage check no "$fabc" check "$f" || bad=1
  stage emit_cpu no "$fabc" emit "$f" --ir --target cpu -o "$work/m_cpu.fir" || bad=1
  stage emit_fpga no "$fabc" emit "$f" --ir --target fpga -o "$work/m_fpga.fir" || bad=1
  case $(basename "$f") in
    gen_large_*) ;;
    *)
      stage build_cpu no "$fabc" build "$f" --target cpu -o "$work/m.so" || bad=1
      stage run_interp no "$fabc" run "$f" --seed 3 -o "$work/interp.safetensors" || bad=1
      stage run_cpu no "$fabc" run "$f" --backend cpu --seed 3 --threads 1 -o "$work/cpu.safetensors" || bad=1
      if [ $bad -eq 0 ]; then
        stage compare no "$fabc" compare "$work/cpu.safetensors" "$work/interp.safetensors" --rtol 1e-3 --floor 1e-2 || bad=1
      fi
      stage build_fpga yes "$fabc" build "$f" --target fpga --accel small -o "$work/m.fbin"
      case $? in
        0) stage run_fpga yes "$fabc" run "$f" --backend fpga --accel small --seed 3 -o "$work/fpga.safetensors" || [ $? -eq 1 ] || bad=1 ;;
        1) fpga_refused=$((fpga_refused + 1)) ;;
        *) bad=1 ;;
      esac
      ;;
  esac
  fails=$((fails + bad))
done
echo "fabgen: $n programs, $fails failed, $fpga_refused refused by the accelerator (configs/small.json)"
[ $fails -eq 0 ]
