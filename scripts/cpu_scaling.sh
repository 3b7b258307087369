#!/usr/bin/env bash
# cpu_scaling.sh [BUILD_DIR] [REPS] — issue 15's depth and thread figures for the
# CPU backend, on FABNet-Base (examples/fabnet_base.fab, seq 128):
#   1. `fabc build --target cpu` time at 1, 12 and 24 layers (-Dlayers=N), best of
#      REPS wall-clock runs, with the user+sys CPU time of that run, and 24 / 1;
#   2. fork/joins per inference (parallel_for calls with more than one row) and the
#      best-of-REPS run time with 1 and 2 threads (scripts/cpu_threads.c).
# Wall-clock figures need an idle machine: the load average is printed before and
# after.  No figure here is asserted anywhere (tests have no timing assertions).
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/.."
B=$(realpath "${1:-build}")
REPS=${2:-5}
FABC="$B/cli/fabc"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs)"

best_build() { # layers -> "wall cpu" of the fastest of REPS builds
  local best="" 
  for _ in $(seq "$REPS"); do
    /usr/bin/time -f "%e %U %S" -o "$T/time" "$FABC" build examples/fabnet_base.fab -Dlayers="$1" \
      --target cpu -o "$T/m$1.so"
    read -r w u s <"$T/time"
    local cpu; cpu=$(echo "$u + $s" | bc)
    if [ -z "$best" ] || [ "$(echo "$w < ${best%% *}" | bc)" = 1 ]; then best="$w $cpu"; fi
  done
  echo "$best"
}

echo "fabc build --target cpu, FABNet-Base, best of $REPS (wall s, cpu s):"
declare -A wall
for L in 1 12 24; do
  r=$(best_build "$L")
  wall[$L]=${r%% *}
  printf '  %2d layers: %6.2f s wall  %6.2f s cpu\n' "$L" ${r}
done
echo "  24 layers / 1 layer: $(echo "scale=2; ${wall[24]} / ${wall[1]}" | bc)"

cc -std=c17 -O2 scripts/cpu_threads.c -Iruntime -Itests/cpu -L"$B/runtime" -l:libfabrt.a -ljansson -lpthread -ldl -lm \
  -o "$T/cpu_threads"
"$FABC" init examples/fabnet_base.fab -o "$T/w.safetensors" --inputs "$T/in.safetensors"
"$FABC" build examples/fabnet_base.fab --target cpu -o "$T/base.so"
echo "FABNet-Base seq 128:"
"$T/cpu_threads" "$T/base.so" "$T/w.safetensors" "$T/in.safetensors" 2 "$((REPS * 4))" | sed 's/^/  /'
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
