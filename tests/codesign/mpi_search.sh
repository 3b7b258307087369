#!/usr/bin/env bash
# mpi_search.sh FABC SPACES — the same `fabc codesign` search in one
# process and under `mpirun -np 2 ... --mpi` must print the same checksum
# (docs/codesign.md, "parallel evaluation, MPI, resume").  Exit 77 (skip)
# without mpirun or when fabc was built without MPI (it then refuses
# --mpi).
set -u
tool=$1 spaces=$2
command -v mpirun >/dev/null 2>&1 || { echo "SKIP: no mpirun (Debian: openmpi-bin libopenmpi-dev)"; exit 77; }
# CI runs as root; Open MPI refuses that unless told.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# no network probing on a CI machine: shared memory and loopback only
export OMPI_MCA_btl=self,vader OMPI_MCA_btl_vader_single_copy_mechanism=none
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

check() { # name, then the search arguments
  local name=$1
  shift
  "$tool" codesign "$@" --threads 1 >"$tmp/one.out" 2>"$tmp/one.err" ||
    { echo "FAIL $name: single process"; cat "$tmp/one.err"; fail=1; return; }
  if ! mpirun -np 2 --oversubscribe "$tool" codesign "$@" --threads 1 --mpi >"$tmp/mpi.out" 2>"$tmp/mpi.err"; then
    if grep -q "built without MPI" "$tmp/mpi.err"; then
      echo "SKIP: fabc has no MPI support"
      exit 77
    fi
    echo "FAIL $name: mpirun"; cat "$tmp/mpi.err"; fail=1; return
  fi
  local n
  n=$(grep -c '^checksum' "$tmp/mpi.out")
  [[ $n -eq 1 ]] || { echo "FAIL $name: $n ranks printed a result"; fail=1; return; }
  local a b
  a=$(grep '^checksum' "$tmp/one.out") b=$(grep '^checksum' "$tmp/mpi.out")
  echo "$name: one process: $a; mpirun -np 2: $b"
  [[ -n $a && $a == "$b" ]] || { echo "FAIL $name: checksums differ"; fail=1; }
}

check standin --space "$spaces/fabnet-large.json" --strategy evolution --budget 400 --seed 3 --accuracy standin
# trained accuracy with a tiny budget: every rank trains its share of the
# models; the exchange gives every rank the same numbers
check trained --space "$spaces/fabnet-text.json" --strategy random --budget 24 --seed 2 --accuracy trained \
  --train-steps 10 --train-batch 8 --train-samples 200 --acc-cache "$tmp/acc.cache"
exit $fail
