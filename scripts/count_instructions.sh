#!/usr/bin/env bash
# scripts/count_instructions.sh — instructions per switch and per spawn+join, counted by
# valgrind's callgrind, which a busy machine cannot disturb.
#
# Runs build/benchmarks/spindle-instructions for each operation with n and 2n repeats
# and prints (instructions(2n) - instructions(n)) / n: the cost of one operation. A
# switch is counted per switch (a yield round trip between two threads is two), a
# blocking hand-over (mutex, condition variable, unbuffered channel) per hand-over.
# With --annotate, also prints callgrind's per-function breakdown of the 2n run.
# Usage: scripts/count_instructions.sh [build-dir] [--annotate]   (default: build)
# Explained in: docs/11-performance.md.
set -euo pipefail

build=${1:-build}
annotate=${2:-}
program="$build/benchmarks/spindle-instructions"
n=20000
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

instructions() {  # operation repeats -> total instructions executed
  valgrind --tool=callgrind --callgrind-out-file="$work/$1.$2" "$program" "$1" "$2" \
    2>"$work/$1.$2.log"
  sed -n 's/^summary: //p' "$work/$1.$2"
}

for operation in switch boost_switch spawn_join spawn_join_pooled lock_unlock mutex_handover \
  notify rendezvous; do
  once=$(instructions "$operation" "$n")
  twice=$(instructions "$operation" $((2 * n)))
  per=$(((twice - once) / n))
  case $operation in
    *switch) per=$((per / 2)) ; unit="per switch" ;;
    mutex_handover | notify) per=$((per / 2)) ; unit="per hand-over" ;;
    rendezvous) per=$((per / 2)) ; unit="per value passed" ;;
    lock_unlock) unit="per lock+unlock" ;;
    *) unit="per spawn+join" ;;
  esac
  printf '%-13s %6d instructions %s\n' "$operation" "$per" "$unit"
  if [[ $annotate == --annotate ]]; then
    callgrind_annotate --inclusive=no "$work/$operation.$((2 * n))" 2>/dev/null | sed -n '1,40p'
  fi
done
