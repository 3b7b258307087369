# lib.sh — helpers for the reliability shell tests (sourced).
#   expect_error WANT_RC REGEX CMD...  runs CMD, requires exit code WANT_RC
#                                      (never a signal: 134 abort, 139 segv,
#                                      137 OOM kill) and stderr matching REGEX
#   same FILE1 FILE2                   byte-identical files
#   snap FILE                          names, sizes and checksums of
#                                      everything in out/, into FILE
set -u
fail() { echo "FAIL: $*" >&2; exit 1; }

expect_error() {
  want=$1 re=$2
  shift 2
  "$@" >"$W/stdout" 2>"$W/stderr"
  rc=$?
  echo "\$ $* -> exit $rc" >&2
  head -c 600 "$W/stderr" >&2
  [ $rc -lt 128 ] || fail "killed by a signal (exit $rc): $*"
  [ $rc -eq "$want" ] || fail "exit $rc, want $want: $*"
  grep -Eq -- "$re" "$W/stderr" || fail "stderr does not match /$re/: $*"
  return 0
}

same() {
  cmp -s "$1" "$2" || fail "$1 and $2 differ"
}

snap() { (cd out && for f in $(ls -A); do cksum "$f"; done) >"$1"; }
