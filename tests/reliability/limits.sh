#!/bin/sh
# limits.sh FABC WORKDIR CASE — absurd inputs through the CLI: each must be
# a clean error (exit 1, a message naming the problem), never a crash, a
# hang or runaway memory.  ctest: reliability.limits.CASE.
FABC=$1 W=$2/limits.$3 CASE=$3
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$(dirname "$0")/lib.sh"
rm -rf "$W" && mkdir -p "$W" && cd "$W" || exit 1
# The interpreter allocates what a valid model asks for; cap the address
# space (not under the sanitizers, whose shadow memory needs terabytes) so a
# regression shows up as an error here rather than on the machine.
if [ -z "${FAB_SANITIZED:-}" ]; then ulimit -v 4194304 2>/dev/null || true; fi
TINY=$ROOT/examples/tiny.fab

# u64le N: N as 8 little-endian bytes (printf octal escapes)
u64le() {
  n=$1 i=0
  while [ $i -lt 8 ]; do
    printf "\\$(printf '%03o' $((n & 255)))"
    n=$((n >> 8)) i=$((i + 1))
  done
}
# st_header JSON: a safetensors file holding only this header
st_header() {
  len=${#1}
  u64le "$len"
  printf '%s' "$1"
}

case $CASE in
fab_dim_2_40)
  printf 'dim seq = 1099511627776;\nmodel m(x: f32[seq]) -> (y: f32[seq]) { y = x; }\n' >big.fab
  expect_error 1 'too large' "$FABC" check big.fab
  expect_error 1 'too large' "$FABC" run big.fab ;;
fab_run_16gib)
  # A valid model whose input alone is 16 GiB (2^32 elements, under the
  # 2^34-element type limit): with the address space capped at 4 GiB the
  # allocation fails and must be reported.  Not under the sanitizers (no
  # cap there: it would really allocate).
  if [ -n "${FAB_SANITIZED:-}" ]; then echo "skipped under the sanitizers"; exit 0; fi
  printf 'dim seq = 4294967296;\nmodel m(x: f32[seq]) -> (y: f32[seq]) { y = x + x; }\n' >big.fab
  expect_error 1 "cannot allocate input 'x'" "$FABC" run big.fab ;;
fab_define_2_40)
  expect_error 1 'too large|out of range|overflow' "$FABC" check -D seq=1099511627776 "$TINY" ;;
fab_dim_product_overflow)
  printf 'dim a = 4194304 * 4194304 * 4194304 * 4194304;\nmodel m(x: f32[a]) -> (y: f32[a]) { y = x; }\n' >ovf.fab
  expect_error 1 'overflow|too large|range' "$FABC" check ovf.fab ;;
fab_deep_brackets)
  { printf 'model m(x: f32[4]) -> (y: f32[4]) { y = '
    i=0; while [ $i -lt 20000 ]; do printf '(((((' ; i=$((i + 1)); done
    printf x
    i=0; while [ $i -lt 20000 ]; do printf ')))))' ; i=$((i + 1)); done
    printf '; }\n'; } >deep.fab
  expect_error 1 'nest' "$FABC" check deep.fab ;;
fab_deep_operators)
  { printf 'model m(x: f32[4]) -> (y: f32[4]) { y = x'
    i=0; while [ $i -lt 20000 ]; do printf ' + x + x + x + x + x' ; i=$((i + 1)); done
    printf '; }\n'; } >chain.fab
  expect_error 1 'nest' "$FABC" check chain.fab ;;
fab_repeat_huge)
  printf 'model m(x: f32[4]) -> (y: f32[4]) {\n  y = x;\n  repeat i in 0..1099511627776 { y = y + x; }\n}\n' >rep.fab
  expect_error 1 'repeat of 1099511627776 iterations is too long' "$FABC" check rep.fab
  printf 'model m(x: f32[4]) -> (y: f32[4]) {\n  y = x;\n  repeat i in 0..1000 { repeat j in 0..1000 { repeat k in 0..1000 { y = y + x; } } }\n}\n' >rep3.fab
  expect_error 1 'model too large' "$FABC" check rep3.fab ;;
fir_dim_2_40)
  printf 'module @m\nfunc @main {\n  %%0 = input {index = 0, name = "x"} : f32[1099511627776]\n  output %%0 {index = 0, name = "y"}\n}\n' >big.fir
  expect_error 1 'more than .* elements' "$FABC" check big.fir
  expect_error 1 'more than .* elements' "$FABC" run big.fir ;;
fir_dim_int64_overflow)
  printf 'module @m\nfunc @main {\n  %%0 = input {index = 0, name = "x"} : f32[99999999999999999999999]\n  output %%0 {index = 0, name = "y"}\n}\n' >ovf.fir
  expect_error 1 'error' "$FABC" check ovf.fir ;;
fir_rank_too_high)
  printf 'module @m\nfunc @main {\n  %%0 = input {index = 0, name = "x"} : f32[1,1,1,1,1,1,1,1,1,1]\n  output %%0 {index = 0, name = "y"}\n}\n' >rank.fir
  expect_error 1 'rank|dimensions|more than' "$FABC" check rank.fir ;;
fir_deep_attr)
  { printf 'module @m\nfunc @main {\n  %%0 = input {index = 0, name = "x", k = '
    i=0; while [ $i -lt 20000 ]; do printf '[[[[[' ; i=$((i + 1)); done
    printf '} : f32[4]\n}\n'; } >deep.fir
  expect_error 1 'error' "$FABC" check deep.fir ;;
st_tensor_2_40)
  st_header '{"w":{"dtype":"F32","shape":[1099511627776],"data_offsets":[0,4398046511104]}}' >huge.safetensors
  expect_error 1 "huge.safetensors: tensor 'w'.*exceeds" "$FABC" run "$TINY" --weights huge.safetensors
  expect_error 1 "huge.safetensors: tensor 'w'.*exceeds" "$FABC" run "$TINY" --input huge.safetensors ;;
st_shape_overflow)
  st_header '{"w":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,16]}}' >ovf.safetensors
  expect_error 1 "ovf.safetensors: tensor 'w'" "$FABC" run "$TINY" --weights ovf.safetensors ;;
st_size_mismatch)
  # the message once printed an uninitialised buffer for the shape (valgrind)
  st_header '{"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,8]}}' >short.safetensors
  printf '\000\000\000\000\000\000\000\000' >>short.safetensors
  expect_error 1 "short.safetensors: tensor 'w': shape \[2, 3\] of F32 needs 24 bytes but data offsets \[0, 8\) hold 8" \
    "$FABC" run "$TINY" --weights short.safetensors ;;
st_header_len_2_62)
  u64le 4611686018427387904 >hdr.safetensors
  printf '{}' >>hdr.safetensors
  expect_error 1 'header length .* exceeds the file' "$FABC" run "$TINY" --weights hdr.safetensors ;;
st_many_tensors)
  { printf '{'
    i=0; while [ $i -lt 70000 ]; do printf '"t%d":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},' $i; i=$((i + 1)); done
    printf '"__metadata__":{}}'; } >hdr.json
  { u64le "$(wc -c <hdr.json)"; cat hdr.json; } >many.safetensors
  expect_error 1 'many.safetensors: 70001 tensors exceed the limit' "$FABC" run "$TINY" --weights many.safetensors ;;
npy_2_40)
  h="{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776,), }"
  h=$(printf "%-117s" "$h") # 10 + 117 + newline = 128 bytes
  { printf '\223NUMPY\001\000\166\000'; printf '%s\n' "$h"; } >huge.npy
  expect_error 1 'huge.npy.*(exceeds|too large|larger)' "$FABC" run "$TINY" --input huge.npy ;;
junk_100mb)
  yes 'junk \001 junk' | head -c 104857600 >junk.bin
  for e in fab fir safetensors npy; do ln -sf junk.bin junk.$e; done
  expect_error 1 'junk.fab.*(too large|larger)' "$FABC" check junk.fab
  expect_error 1 'junk.fir.*(too large|larger)' "$FABC" check junk.fir
  expect_error 1 'junk.safetensors' "$FABC" run "$TINY" --weights junk.safetensors
  expect_error 1 'junk.npy' "$FABC" run "$TINY" --input junk.npy
  expect_error 1 'junk.safetensors' "$FABC" compare junk.safetensors junk.safetensors
  ln -sf junk.bin junk.fbin
  expect_error 1 'fbin' "$FABC" sim junk.fbin ;;
accel_junk)
  # a configuration that is not one is an input error (exit 1), not usage
  yes 'junk' | head -c 1048576 >junk.json
  printf '{"name": "x", "p_be": 1000}' >bad.json
  expect_error 1 'junk.json: configuration file too large' "$FABC" build "$TINY" --target fpga --accel junk.json -o m.fbin
  expect_error 1 "bad.json" "$FABC" build "$TINY" --target fpga --accel bad.json -o m.fbin
  [ -e m.fbin ] && fail "m.fbin created"
  # the same for every command taking --accel; a missing one is usage (2)
  mkdir -p dir.json
  for cfg in junk.json bad.json dir.json; do
    expect_error 1 "$cfg" "$FABC" run "$TINY" --backend fpga --accel $cfg
    expect_error 1 "$cfg" "$FABC" resources --accel $cfg
    expect_error 1 "$cfg" "$FABC" emit --ir --target fpga "$TINY" --accel $cfg
  done
  expect_error 1 "unknown accelerator configuration 'nosuch.json'" "$FABC" resources --accel nosuch.json
  expect_error 2 "needs --accel" "$FABC" resources
  expect_error 2 "needs an accelerator configuration" "$FABC" build "$TINY" --target fpga -o m.fbin ;;
fbin_addr_wrap)
  # a tensor at address 2^64 - 1: addr + words wrapped past the memory check
  # and the simulator wrote far outside its memory (found by fuzz_fbin)
  expect_error 1 "tensor 'x' lies outside the off-chip memory" \
    "$FABC" sim "$ROOT/tests/fuzz/crashers/fbin/tensor_addr_wraps.fbin"
  expect_error 1 "tensor 'x' lies outside the off-chip memory" \
    "$FABC" objdump "$ROOT/tests/fuzz/crashers/fbin/tensor_addr_wraps.fbin" ;;
*) fail "unknown case $CASE" ;;
esac
echo "ok: $CASE"
