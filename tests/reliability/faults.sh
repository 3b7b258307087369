#!/bin/sh
# faults.sh FABC WORKDIR CASE — no output is torn or lost (docs/reliability.md,
# "Faults: full disk, signals, kill").  ctest: reliability.faults.CASE.
#
#   inject_*    every I/O operation of a command fails in turn (the test hook
#               FABC_TEST_IO_FAIL=any:K, runtime/fab_out.h): each run exits 1
#               naming the file, the previous outputs are intact and no
#               temporary is left; the run after the last operation succeeds
#   diskfull_*  a real full disk: a 1 MB tmpfs in a private mount namespace
#               (unshare -rm; skipped with exit 77 where that is not allowed)
#   kill_*      SIGTERM and SIGKILL at several points of a long command: the
#               previous output is intact or replaced whole; SIGTERM leaves no
#               temporary; SIGKILL's are named .NAME.fabc-tmp.PID.N and the
#               next run removes them
FABC=$1 W=$2/faults.$3 CASE=$3
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$(dirname "$0")/lib.sh"
rm -rf "$W" && mkdir -p "$W/out" && cd "$W" || exit 1
TINY=$ROOT/examples/tiny.fab
CFG=$ROOT/configs/small.json
SPACE=$ROOT/spaces/latbench.json

no_temporaries() {
  left=$(ls -A out | grep 'tmp' || true)
  [ -z "$left" ] || fail "temporaries left: $left"
}
# Lines of a log: every one complete (the file ends with a newline).
whole_lines() {
  [ ! -s "$1" ] || [ "$(tail -c 1 "$1" | od -An -c | tr -d ' ')" = '\n' ] || fail "$1 ends in a torn line"
}

# inject NAMES CMD...: the K-th I/O operation fails, K = 1, 2, ... until CMD
# succeeds.  `check_after` (a function, default: out/ unchanged) runs after
# every failed run.
check_after() {
  snap after
  cmp -s before after || { diff before after >&2; fail "out/ changed (K=$k): $*"; }
}
inject() {
  names=$1
  shift
  k=1
  while :; do
    snap before
    FABC_TEST_IO_FAIL=any:$k "$@" >stdout 2>stderr
    rc=$?
    [ $rc -lt 128 ] || fail "killed by a signal (exit $rc, K=$k): $*"
    [ $rc -eq 0 ] && break
    [ $rc -eq 1 ] || { cat stderr >&2; fail "exit $rc, want 1 (K=$k): $*"; }
    grep -Eq -- "$names" stderr || { cat stderr >&2; fail "the message names none of /$names/ (K=$k)"; }
    check_after "$@"
    no_temporaries
    k=$((k + 1))
    [ $k -le 100 ] || fail "still failing after 100 injected failures: $*"
  done
  [ $k -gt 1 ] || fail "no I/O operation went through the writer: $*"
  echo "$*: $((k - 1)) injected failures, each clean" >&2
  no_temporaries
}

old() { for f in "$@"; do echo "old $f" >"out/$f"; done; }
# old_or_new FILE GOOD: out/FILE is the old one or whole GOOD; then old again
old_or_new() {
  [ "$(cat "out/$1")" = "old $1" ] || cmp -s "out/$1" "$2" || fail "out/$1 torn (K=$k)"
  old "$1"
}

case $CASE in
inject_emit)
  old o.fir
  inject 'o\.fir' "$FABC" emit --ir "$TINY" -o out/o.fir
  grep -q 'func @main' out/o.fir || fail "no IR written" ;;
inject_build_cpu)
  # the header is committed right after the model: a failure of its own
  # (named in the message) may leave the new model beside the old header
  for kind in so obj llvm asm; do
    # -O0: the writes are the same, LLVM's optimiser is not under test
    "$FABC" build "$TINY" --target cpu --opt-level 0 --emit $kind -o good.$kind || fail "build $kind"
    old m.$kind
    hdr=
    case $kind in so|obj) old m.h; hdr=m.h ;; esac
    check_after() {
      grep -q 'm\.h:' stderr || [ "$(cat out/m.$kind)" = "old m.$kind" ] || fail "m.$kind replaced (K=$k)"
      old_or_new m.$kind good.$kind
      [ -z "$hdr" ] || [ "$(cat out/m.h)" = "old m.h" ] || fail "m.h replaced (K=$k)"
    }
    inject "m\\.($kind|h)" "$FABC" build "$TINY" --target cpu --opt-level 0 --emit $kind -o out/m.$kind
    same good.$kind out/m.$kind
  done ;;
inject_build_fpga)
  old m.fbin
  inject 'm\.fbin' "$FABC" build "$TINY" --target fpga --accel "$CFG" -o out/m.fbin ;;
inject_run)
  old y.safetensors w.safetensors x.safetensors
  inject 'y\.safetensors' "$FABC" run "$TINY" -o out/y.safetensors
  # two files, each replaced whole: a failure of the second leaves the
  # first one new
  "$FABC" init "$TINY" -o good.w.safetensors || fail "init"
  check_after() {
    if grep -q 'x\.safetensors:' stderr; then
      same good.w.safetensors out/w.safetensors
      [ "$(cat out/x.safetensors)" = "old x.safetensors" ] || fail "x.safetensors changed"
      old w.safetensors
    else
      snap after
      cmp -s before after || { diff before after >&2; fail "out/ changed (K=$k)"; }
    fi
  }
  inject '(w|x)\.safetensors' "$FABC" init "$TINY" -o out/w.safetensors --inputs out/x.safetensors ;;
inject_sim_trace)
  "$FABC" build "$TINY" --target fpga --accel "$CFG" -o m.fbin || fail "build"
  "$FABC" init "$TINY" -o w.safetensors --inputs x.safetensors || fail "init"
  "$FABC" sim m.fbin --weights w.safetensors --input x.safetensors --trace good.t.json -o y.safetensors ||
    fail "sim"
  old t.json y.safetensors
  # the trace is written first: a failure of the output leaves it new
  check_after() {
    cmp -s good.t.json out/t.json || [ "$(cat out/t.json)" = "old t.json" ] || fail "t.json torn (K=$k)"
    [ "$(cat out/y.safetensors)" = "old y.safetensors" ] || fail "y.safetensors changed (K=$k)"
    old t.json
  }
  inject '(t\.json|y\.safetensors)' "$FABC" sim m.fbin --weights w.safetensors --input x.safetensors \
    --trace out/t.json -o out/y.safetensors ;;
inject_codesign)
  set -- codesign --space "$ROOT/spaces/fabnet-mid.json" --budget 20 --strategy random --accuracy standin \
    --threads 1
  "$FABC" "$@" -o good.csv --plot good.svg >/dev/null || fail "codesign"
  old f.csv f.svg
  # each file whole or old; the log is appended to: after a failure it
  # holds whole lines or is gone
  check_after() {
    old_or_new f.csv good.csv
    old_or_new f.svg good.svg
    whole_lines out/l.log
    rm -f out/l.log
  }
  inject '(f\.csv|f\.svg|l\.log)' "$FABC" "$@" --log out/l.log -o out/f.csv --plot out/f.svg
  grep -q '^key,' out/f.csv || fail "no front written" ;;
inject_sample)
  # two models measured, then each run adds the third: a failed write leaves
  # the two whole lines (or all three when only the final fsync failed)
  "$FABC" sample --space "$SPACE" -n 3 --measure model -o full.jsonl 2>/dev/null || fail "sample"
  head -n 2 full.jsonl >two.jsonl
  cp two.jsonl out/d.jsonl
  check_after() {
    cmp -s out/d.jsonl two.jsonl || cmp -s out/d.jsonl full.jsonl || fail "d.jsonl is neither 2 nor 3 whole lines (K=$k)"
    cp two.jsonl out/d.jsonl
  }
  inject 'd\.jsonl' "$FABC" sample --space "$SPACE" -n 3 --measure model -o out/d.jsonl
  same full.jsonl out/d.jsonl
  # a new data set: a failure leaves whole lines or no file
  rm out/d.jsonl
  check_after() {
    whole_lines out/d.jsonl
    rm -f out/d.jsonl
  }
  inject 'd\.jsonl' "$FABC" sample --space "$SPACE" -n 1 --measure model -o out/d.jsonl ;;
inject_predictor)
  "$FABC" sample --space "$SPACE" -n 12 --measure model -o d.jsonl 2>/dev/null || fail "sample"
  old p.pred
  inject 'p\.pred' "$FABC" predictor train d.jsonl --target fpga_model_ms --epochs 3 -o out/p.pred ;;
diskfull_*)
  # re-run inside a private mount namespace with a 1 MB tmpfs on out/
  if [ "${FAB_IN_NS:-}" != 1 ]; then
    unshare -rm true 2>/dev/null || { echo "SKIP: unshare -rm not permitted here" >&2; exit 77; }
    exec unshare -rm env FAB_IN_NS=1 sh "$0" "$FABC" "$2" "$CASE"
  fi
  mount -t tmpfs -o size=1m tmpfs out || { echo "SKIP: cannot mount a tmpfs" >&2; exit 77; }
  case $CASE in
  diskfull_build_cpu)
    "$FABC" build "$TINY" --target cpu -o out/m.so || fail "build"
    cp out/m.so good.so && cp out/m.h good.h
    # fill the disk, leaving room for the header but not for the object
    # (before: LLVM's "IO failure on output stream", SIGABRT, exit 134)
    dd if=/dev/zero of=out/fill bs=4k 2>/dev/null
    truncate -s -8K out/fill
    expect_error 1 'm\.so: write failed: No space left' "$FABC" build "$TINY" --target cpu -D d=64 -o out/m.so
    same good.so out/m.so
    same good.h out/m.h
    no_temporaries
    # no room at all: the header fails first
    dd if=/dev/zero of=out/fill2 bs=4k 2>/dev/null
    expect_error 1 'm\.h: .*No space left' "$FABC" build "$TINY" --target cpu -D d=64 -o out/m.so
    same good.so out/m.so
    same good.h out/m.h
    no_temporaries ;;
  diskfull_sample)
    dd if=/dev/zero of=out/fill bs=4k 2>/dev/null
    truncate -s -4K out/fill # one page left: a line (~2.6 KB) fits, not two
    expect_error 1 'd\.jsonl.*No space left' "$FABC" sample --space "$SPACE" -n 3 --measure model -o out/d.jsonl
    grep -q 'sample 3/3' stderr && fail "reported the third sample as done"
    whole_lines out/d.jsonl
    no_temporaries ;;
  *) fail "unknown case $CASE" ;;
  esac ;;
kill_build_cpu)
  # a model that takes a while to compile, over an older one
  BIG=$ROOT/examples/fabnet_small.fab
  "$FABC" build "$TINY" --target cpu -o old.so || fail "build tiny"
  "$FABC" build "$BIG" --target cpu -o new.so || fail "build big"
  for sig in TERM KILL; do
    for t in 0.2 0.6 1.5; do
      cp old.so out/m.so
      cp old.h out/m.h
      setsid "$FABC" build "$BIG" --target cpu -o out/m.so 2>/dev/null &
      pid=$!
      sleep $t
      if [ $sig = TERM ]; then kill -TERM $pid 2>/dev/null; else kill -KILL -- -$pid 2>/dev/null; fi
      wait $pid
      cmp -s out/m.so old.so || cmp -s out/m.so new.so || fail "m.so torn after SIG$sig at ${t}s"
      cmp -s out/m.h old.h || cmp -s out/m.h new.h || fail "m.h torn after SIG$sig at ${t}s"
      if [ $sig = TERM ]; then
        no_temporaries
      else
        # the linker runs in its own process group: let it finish first
        while pgrep -f "fabc-tmp\.$pid\." >/dev/null; do sleep 0.2; done
        for f in $(ls -A out | grep tmp || true); do
          case $f in .m.so.fabc-tmp.*|.m.h.fabc-tmp.*) ;; *) fail "unrecognisable leftover $f" ;; esac
        done
        "$FABC" build "$TINY" --target cpu -o out/m.so || fail "rebuild"
        no_temporaries
      fi
    done
  done ;;
kill_emit_stdout)
  # `emit --emit asm` without -o goes through a temporary in $TMPDIR (the
  # old code: /tmp/fabc-emit-XXXXXX, which a signal left behind): SIGTERM and
  # SIGHUP remove it; SIGKILL's is removed by the next run
  BIG=$ROOT/examples/fabnet_base.fab
  touch marker
  for sig in TERM HUP KILL; do
    TMPDIR=$W/out "$FABC" emit --emit asm "$BIG" >/dev/null 2>&1 &
    pid=$!
    i=0 # wait for the temporary: here, or where the old code put it
    while [ -z "$(ls -A out)" ] && [ -z "$(find /tmp -maxdepth 1 -name 'fabc-emit-*' -newer marker)" ]; do
      kill -0 $pid 2>/dev/null || fail "emit ended before its temporary was seen"
      i=$((i + 1))
      [ $i -lt 1200 ] || fail "no temporary after 60 s"
      sleep 0.05
    done
    kill -$sig $pid
    wait $pid
    rc=$?
    old=$(find /tmp -maxdepth 1 -name 'fabc-emit-*' -newer marker)
    [ -z "$old" ] || { rm -f $old; fail "SIG$sig left $old"; }
    case $sig in
    TERM) [ $rc -eq 143 ] || fail "exit $rc after SIGTERM, want 143"; no_temporaries ;;
    HUP) [ $rc -eq 129 ] || fail "exit $rc after SIGHUP, want 129"; no_temporaries ;;
    KILL)
      for f in $(ls -A out); do
        case $f in .fabc-emit.fabc-tmp.$pid.*|..fabc-emit.fabc-tmp.$pid.*) ;; *) fail "unrecognisable leftover $f" ;; esac
      done
      TMPDIR=$W/out "$FABC" emit --emit asm "$TINY" >tiny.s || fail "emit after SIGKILL"
      [ -s tiny.s ] || fail "nothing emitted"
      left=$(ls -A out | grep '^\.fabc-emit' || true)
      [ -z "$left" ] || fail "not swept: $left" ;;
    esac
  done ;;
kill_sample)
  "$FABC" sample --space "$SPACE" -n 3 --measure fpga -o full.jsonl 2>/dev/null || fail "sample"
  for sig in TERM KILL; do
    for t in 0.5 2; do
      rm -f out/d.jsonl
      "$FABC" sample --space "$SPACE" -n 3 --measure fpga -o out/d.jsonl 2>/dev/null &
      pid=$!
      sleep $t
      kill -$sig $pid 2>/dev/null
      wait $pid
      # complete lines are a prefix of the full run; a torn tail is possible
      # only after SIGKILL, and the next run continues over it
      [ $sig = KILL ] || whole_lines out/d.jsonl
      "$FABC" sample --space "$SPACE" -n 3 --measure fpga -o out/d.jsonl 2>/dev/null || fail "resume"
      same full.jsonl out/d.jsonl
    done
  done ;;
*) fail "unknown case $CASE" ;;
esac
echo "ok: $CASE"
