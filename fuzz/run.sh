#!/bin/sh
# fuzz/run.sh KIND SECONDS [extra seed folders...] — run one libFuzzer
# harness politely (nice 19, one job) on build-fuzz/work/KIND/corpus, seeded
# from tests/fuzz/corpus/KIND, with OSS-Fuzz's limits: an input that takes
# more than 25 s or 2560 MB is a finding (timeout-*, oom-*), and inputs may
# grow to megabytes (-max_len; MAX_LEN overrides) so that slow and
# memory-hungry inputs can be found at all.
# Crashes land in build-fuzz/work/KIND/ (crash-*, leak-*, timeout-*, oom-*).
set -eu
kind=$1 secs=$2
shift 2
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${FUZZ_BUILD:-$root/build-fuzz}/fuzz/fuzz_$kind
work=${FUZZ_BUILD:-$root/build-fuzz}/work/$kind
mkdir -p "$work/corpus"
case $kind in
  fpga_config) maxlen=1048576 ;;   # the reader refuses > 64 KiB: checks that refusal
  *) maxlen=4194304 ;;
esac
maxlen=${MAX_LEN:-$maxlen}
dict=
[ -f "$root/fuzz/$kind.dict" ] && dict=-dict=$root/fuzz/$kind.dict
cd "$work"
exec nice -n 19 "$bin" -jobs=1 -workers=1 -rss_limit_mb=2560 -timeout=25 -max_len=$maxlen \
  -max_total_time="$secs" -print_final_stats=1 $dict -artifact_prefix="$work/" \
  "$work/corpus" "$root/tests/fuzz/corpus/$kind" "$@"
