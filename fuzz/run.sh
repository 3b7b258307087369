#!/bin/sh
# fuzz/run.sh KIND SECONDS [extra seed folders...] — run one libFuzzer
# harness politely (nice 19, one job, 2 GiB RSS, 10 s per input) on
# build-fuzz/work/KIND/corpus, seeded from tests/fuzz/corpus/KIND.
# Crashes land in build-fuzz/work/KIND/ (crash-*, leak-*, timeout-*, oom-*).
set -eu
kind=$1 secs=$2
shift 2
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${FUZZ_BUILD:-$root/build-fuzz}/fuzz/fuzz_$kind
work=${FUZZ_BUILD:-$root/build-fuzz}/work/$kind
mkdir -p "$work/corpus"
case $kind in
  fpga_config) maxlen=8192 ;;
  runtime) maxlen=4096 ;;
  *) maxlen=65536 ;;
esac
dict=
[ -f "$root/fuzz/$kind.dict" ] && dict=-dict=$root/fuzz/$kind.dict
cd "$work"
exec nice -n 19 "$bin" -jobs=1 -workers=1 -rss_limit_mb=2048 -timeout=10 -max_len=$maxlen \
  -max_total_time="$secs" -print_final_stats=1 $dict -artifact_prefix="$work/" \
  "$work/corpus" "$root/tests/fuzz/corpus/$kind" "$@"
