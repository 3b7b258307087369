#!/usr/bin/env bash
# readme_commands.sh — every command README.md prints runs as printed.
#
# usage: readme_commands.sh FABC README SRCROOT SCRATCH
#
# Takes the README's indented (4-space) and fenced blocks.  A block whose
# first line starts with a command (fabc, ./build/cli/fabc, bash, cmake,
# ctest) is a command block; each of its lines (a trailing `\` joins the
# next line) runs, top to bottom, with bash -o pipefail in SCRATCH, where
# `fabc` is FABC, and must exit 0.  Any other block is source text (the
# example model).  A line of a command block that is neither fabc nor in
# the skip list below fails the test, so a new README command cannot go
# unrun by accident.  Exits 1 after naming every command that failed.
set -u
if [ $# -ne 4 ]; then
  echo "usage: $0 FABC README SRCROOT SCRATCH" >&2
  exit 2
fi
fabc=$1 readme=$2 src=$3 scratch=$4

# ---- setup: a scratch copy of the source root's data, as a user has it ----
rm -rf "$scratch"
mkdir -p "$scratch/bin" "$scratch/build/cli" || exit 1
# The README's commands run from the source root and name these folders;
# copies, so that no command can write into the source tree.
for d in examples configs spaces tests/golden/fab; do
  if [ -d "$src/$d" ]; then mkdir -p "$scratch/$(dirname "$d")" && cp -R "$src/$d" "$scratch/$d" || exit 1; fi
done
# `fabc` on PATH and ./build/cli/fabc (README "Building by hand") are the
# binary under test.
ln -s "$fabc" "$scratch/bin/fabc" && ln -s "$fabc" "$scratch/build/cli/fabc" || exit 1
export PATH="$scratch/bin:$PATH"

# ---- the README's blocks -------------------------------------------------
cmds=()      # command lines, continuations joined
model=""     # the source block that starts with `import`: model.fab
block=() in_block=0
flush_block() {
  [ ${#block[@]} -eq 0 ] && return
  case "${block[0]}" in
    fabc\ *|./build/*|bash\ *|cmake\ *|ctest\ *)
      local joined=""
      for l in "${block[@]}"; do
        if [[ "$l" == *\\ ]]; then joined+="${l%\\} "
        else cmds+=("$joined$l"); joined=""
        fi
      done
      [ -n "$joined" ] && cmds+=("$joined")
      ;;
    import\ *)
      [ -z "$model" ] && model=$(printf '%s\n' "${block[@]}")
      ;;
  esac
  block=()
}
in_fence=0
while IFS= read -r line || [ -n "$line" ]; do
  if [[ "$line" == '```'* ]]; then # a fenced block is a block too
    flush_block
    in_fence=$((1 - in_fence))
  elif [ $in_fence -eq 1 ]; then
    [ -n "$line" ] && block+=("$line")
  elif [[ "$line" == "    "* ]]; then
    block+=("${line#    }")
  elif [ -n "$line" ] || [ ${#block[@]} -eq 0 ]; then
    flush_block
  fi
  # (a blank line inside an indented block keeps the block going)
done < "$readme"
flush_block
if [ ${#cmds[@]} -eq 0 ]; then
  echo "no commands found in $readme" >&2
  exit 1
fi

# model.fab, the file the "Using fabc" commands work on, is the model the
# README shows under "A model in the language", saved (as the README says)
# where its `import "lib/blocks.fab"` resolves: beside a copy of
# examples/lib.
if [ -n "$model" ]; then
  printf '%s\n' "$model" > "$scratch/model.fab"
  ln -s examples/lib "$scratch/lib"
fi

# ---- what is not run, and why: keep this list short ----------------------
# Each entry is a fixed string that must match exactly one README command
# (a stale entry fails the test).
skip_patterns=(
  # install Debian packages and build the whole tree (which ctest runs in)
  "bash scripts/demo.sh"
  "bash scripts/test.sh"
  "bash scripts/setup.sh"
  "cmake -S . -B build"
  # runs this test suite: it would run itself
  "ctest --test-dir build"
  # measures 1000 models in the cycle simulator: about 10 minutes
  "fabc sample --space spaces/latbench.json -n 1000 --measure fpga"
  # needs the data set of the sample above (and trains for minutes)
  "fabc predictor train data.jsonl"
  # trains BRP-NAS's predictor in rounds on the committed data: minutes
  "fabc predictor select explore/results/accbench-acc.jsonl"
  # trains 30 models: 2 minutes or more
  "fabc codesign --space spaces/fabnet-text.json"
  # 8000 evaluations with proxies of sequence-1024 models: tens of minutes
  "fabc codesign --space spaces/fabnet-large.json"
)
skip_hits=()
for _ in "${skip_patterns[@]}"; do skip_hits+=(0); done
skipped() { # cmd -> 0 if skipped
  local i
  for i in "${!skip_patterns[@]}"; do
    if [[ "$1" == *"${skip_patterns[$i]}"* ]]; then
      skip_hits[$i]=$((skip_hits[$i] + 1))
      return 0
    fi
  done
  return 1
}

# ---- run them -----------------------------------------------------------
failed=0 ran=0 n=0
for cmd in "${cmds[@]}"; do
  n=$((n + 1))
  if skipped "$cmd"; then
    echo "[$n] not run (skip list): $cmd"
    continue
  fi
  case "$cmd" in
    fabc\ *|./build/cli/fabc\ *) ;;
    *)
      echo "[$n] FAILED: not a fabc command and not in the skip list: $cmd"
      failed=$((failed + 1))
      continue
      ;;
  esac
  echo "[$n] $cmd"
  (cd "$scratch" && bash -o pipefail -c "$cmd") > "$scratch/cmd$n.log" 2>&1
  rc=$?
  ran=$((ran + 1))
  if [ $rc -ne 0 ]; then
    echo "[$n] FAILED (exit $rc): $cmd"
    tail -n 20 "$scratch/cmd$n.log" | sed 's/^/    | /'
    failed=$((failed + 1))
  fi
done
for i in "${!skip_patterns[@]}"; do
  if [ "${skip_hits[$i]}" -ne 1 ]; then
    echo "FAILED: skip entry '${skip_patterns[$i]}' matches ${skip_hits[$i]} README commands, not 1"
    failed=$((failed + 1))
  fi
done
echo "$ran README commands run, $((n - ran)) not run, $failed failures"
[ $failed -eq 0 ]
