#!/bin/sh
# limits.sh FABC WORKDIR CASE — the findings of issue 18 points 1 and 4
# (docs/reliability.md): each input finishes in seconds or fails fast with
# the limit in the message, and numbers mean one thing.  ctest:
# scaling.limits.CASE (exit 1 for the -D and option errors: the commands
# report them as input errors today).  Every case failed (hung, aborted, or was accepted)
# before the fixes.
FABC=$1 W=$2/limits.$3 CASE=$3
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/reliability/lib.sh"
rm -rf "$W" && mkdir -p "$W" && cd "$W" || exit 1
# 4 GiB of address space (not under the sanitizers' shadow memory): the
# name bomb used 3.8 GB before the name limits
if [ -z "${FAB_SANITIZED:-}" ]; then ulimit -v 4194304 2>/dev/null || true; fi
TINY=$ROOT/examples/tiny.fab

# repeat_names LEN N: N linear layers named by a LEN-character prefix
repeat_names() {
  { printf 'model m(x: f32[4, 8]) -> (y: f32[4, 8]) {\n  y = x;\n  repeat i in 0..%s { y = linear(y, 8) as ' "$2"
    head -c "$1" /dev/zero | tr '\0' a
    printf '.{i}; }\n}\n'; } >names.fab
}
# space FIELDS MODEL: a search space with top-level FIELDS and model knobs MODEL
space() {
  printf '{"name": "t", %s "model": {%s}, "accel": {"p_be": [8, 16]}}\n' "$1" "$2" >space.json
}
codesign() { timeout 120 "$FABC" codesign --space space.json --strategy random --budget 5 --accuracy standin -o front.csv "$@"; }

case $CASE in
name_too_long)
  # a 20,000-character `as` name inside repeat 0..100000
  repeat_names 20000 100000
  expect_error 1 "parameter name 'a+\.\.\.' is longer than 4096 bytes \(the limit\)" "$FABC" check names.fab ;;
name_bytes)
  # 4,000-character names are allowed; 100,000 of them are not
  repeat_names 4000 100000
  expect_error 1 'would take the parameter names past 64 MiB in all \(the limit\)' "$FABC" check names.fab ;;
fir_name_too_long)
  { printf 'module @m\n\nparam @"'; head -c 5000 /dev/zero | tr '\0' a
    printf '" : f32[4] = zeros\n\nfunc @main {\n  %%x = input {index = 0, name = "x"} : f32[4]\n  output %%x {index = 0, name = "y"} : f32[4]\n}\n'; } >long.fir
  expect_error 1 'is longer than 4096 bytes' "$FABC" check long.fir ;;
define_decimal)
  # -D seq=010 is ten, not octal eight
  "$FABC" emit --ir -D seq=010 "$TINY" -o tiny.fir || fail "emit failed"
  grep -q 'input.*i32\[10\]' tiny.fir || fail "seq=010 is not 10: $(grep input tiny.fir)" ;;
define_hex)
  expect_error 2 "-D expects NAME=INTEGER \(decimal\), got 'seq=0x10'" "$FABC" check -D seq=0x10 "$TINY" ;;
define_junk)
  expect_error 2 "-D expects NAME=INTEGER \(decimal\), got 'seq=12abc'" "$FABC" check -D seq=12abc "$TINY" ;;
define_overflow)
  expect_error 2 "-D seq: '99999999999999999999' does not fit in 64 bits" \
    "$FABC" check -D seq=99999999999999999999 "$TINY" ;;
option_hex)
  expect_error 1 "--seed expects a decimal integer in \[0, 9223372036854775807\], got '0x10'" \
    "$FABC" init "$TINY" --seed 0x10 -o w.safetensors ;;
option_overflow)
  expect_error 1 "--seed: '99999999999999999999' does not fit in 64 bits" \
    "$FABC" init "$TINY" --seed 99999999999999999999 -o w.safetensors ;;
space_2_96)
  # 24 knobs of 16 values (within the knob limits): 2^96 points
  m='"hidden": [1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]'
  for k in layers heads seq ffn_ratio; do m="$m, \"$k\": [1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]"; done
  for k in kind0 kind1 kind2 kind3 kind4 kind5 kind6 kind7 ffn_linear attn_proj; do
    m="$m, \"$k\": [0,1,0,1,0,1,0,1,0,1,0,1,0,1,0,1]"
  done
  a='"p_bu": [1,2,4,8,16,32,1,2,4,8,16,32,1,2,4,8]'
  for k in be_depth cb_depth att_mults exp_units ppu_lanes vm_words bw_in bw_coef; do
    a="$a, \"$k\": [1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]"
  done
  printf '{"name": "t", "model": {%s}, "accel": {%s}}\n' "$m" "$a" >space.json
  expect_error 1 'the space has more than 2\^62 points' codesign ;;
space_2_40_budget)
  # 2^40 models, five evaluations: seconds, not a walk over every model
  v16='[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]' w16='[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]'
  space '"seq": 64,' "\"layers\": [1,2,3,4], \"hidden\": [64,128,192,256,320,384,448,512,576,640,704,768,832,896,960,1024], \"ffn_ratio\": $v16, \"heads\": [1,2,4,8], \"kind0\": $w16, \"kind1\": $w16, \"kind2\": $w16, \"kind3\": $w16, \"ffn_linear\": $w16, \"attn_proj\": $w16"
  codesign >out.txt 2>err.txt || fail "codesign failed: $(cat err.txt)"
  grep -q 'random: 5 evaluations' out.txt || fail "unexpected output: $(cat out.txt)" ;;
space_exhaustive)
  v16='[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]'
  space '' "\"kind0\": $v16, \"kind1\": $v16, \"kind2\": $v16, \"kind3\": $v16, \"ffn_linear\": $v16, \"attn_proj\": $v16, \"kind4\": $v16, \"kind5\": $v16, \"kind6\": $v16"
  expect_error 1 'an exhaustive search of 137438953472 points is past the limit of 2\^32' \
    codesign --strategy exhaustive ;;
space_types)
  for bad in '"fp32"' '[1]' '3.7' '1e10'; do
    space "\"seq\": $bad," '"layers": [1]'
    expect_error 1 "space.json: \"seq\" must be an integer in \[1, 16777216\], got " codesign
  done
  for bad in '3.7' '1e10' '"fp32"' 'true'; do
    space '' "\"hidden\": [64, $bad]"
    expect_error 1 "space.json: \"model.hidden\[1\]\" must be an integer in \[1, 1073741824\]" codesign
  done
  space '' '"kind0": ["fbfly", "xyz"]'
  expect_error 1 "\"model.kind0\[1\]\" must be \"fbfly\" or \"abfly\", got \"xyz\"" codesign
  space '"max_latency_ms": "1",' '"layers": [1]'
  expect_error 1 "\"max_latency_ms\" must be a number in" codesign ;;
config_types)
  "$FABC" resources --accel vcu128-be40 >/dev/null || fail "the shipped config fails"
  for bad in '1e10' '3.7' '"40"' '[40]'; do
    sed "s/\"p_be\": *[0-9]*/\"p_be\": $bad/" "$ROOT/configs/vcu128-be40.json" >c.json
    expect_error 1 "config field \"p_be\" must be an integer in" "$FABC" resources --accel c.json
  done ;;
predictor_types)
  printf '{"format": "fab-predictor", "version": 2, "kind": "gcn", "layers": "x", "width": 8, "nfeat": 1}\n' >p.pred
  expect_error 1 "bad predictor file: \"layers\" must be an integer in \[1," "$FABC" predict "$TINY" --predictor p.pred
  printf '{"format": "fab-predictor", "version": 2, "kind": "macs", "a": "1", "b": 2}\n' >p.pred
  expect_error 1 "bad predictor file: \"a\" must be a number" "$FABC" predict "$TINY" --predictor p.pred ;;
sample_types)
  g='"graph": {"nodes": [["relu", [4], [4], 0]], "edges": []}'
  printf '{"key": 1e300, "fpga_sim_ms": 1.0, %s}\n' "$g" >d.jsonl
  expect_error 1 'd.jsonl:1:1: error: "key" must be an integer in' "$FABC" predictor train d.jsonl -o p.pred
  printf '{"key": 1, "fpga_sim_ms": 1.0, "graph": {"nodes": [["relu", [1e30], [4], 0]], "edges": []}}\n' >d.jsonl
  expect_error 1 '"graph.nodes\[0\]\[1\]\[0\]" must be an integer in' "$FABC" predictor train d.jsonl -o p.pred
  printf '{"key": 1, "fpga_sim_ms": 1.0, "graph": {"nodes": [["relu", [4], [4], 0]], "edges": [[0, 7]]}}\n' >d.jsonl
  expect_error 1 '"graph.edges\[0\]\[1\]" must be an integer in \[0, 0\], got 7' "$FABC" predictor train d.jsonl -o p.pred ;;
fbin_duplicate)
  "$FABC" build --target fpga --accel vcu128-be40 "$TINY" -o t.fbin || fail "build failed"
  "$FABC" objdump t.fbin | awk '{print} /^\.tensor weight pos.weight/ {print}' >dup.fasm
  expect_error 1 "tensor 'pos.weight' listed twice" "$FABC" as dup.fasm -o dup.fbin ;;
*) fail "unknown case $CASE" ;;
esac
echo ok
