#!/usr/bin/env bash
# scripts/tour.sh BUILD_DIR [--full] — the tour: run the examples that show spindle at
# work. Called by `scripts/run.sh tour` after the build. The comparisons run with --quick
# unless --full is given; at full size they take a few minutes, and fork_cost needs about
# 9 GiB of free memory (the tables of docs/11-comparisons.md come from such a run).
set -euo pipefail
build_dir="${1:?usage: scripts/tour.sh BUILD_DIR [--full]}"
size=(--quick)
case "${2:-}" in
  --full) size=() ;;
  "") ;;
  *)
    echo "usage: scripts/tour.sh BUILD_DIR [--full]" >&2
    exit 2
    ;;
esac

echo "== The concurrent prime sieve: one green thread per prime, linked by channels"
"$build_dir/examples/primes" --count 2000 --quiet
"$build_dir/examples/primes" --count 25

echo
echo "== The one rule of green threads: a blocking libc call freezes every green thread"
"$build_dir/examples/blocking_hazard"
# The comparisons (docs/11-comparisons.md). Each program also runs alone: --help, and
# --json for a machine-readable document.
echo
echo "== What starting a thread or a process costs: green, clone, pthread, fork, vfork, posix_spawn"
"$build_dir/examples/compare/spawn_cost" "${size[@]}"
echo
echo "== Why fork is not free: fork against the parent's memory (up to 4 GiB with --full)"
"$build_dir/examples/compare/fork_cost" "${size[@]}"
echo
echo "== What a hand-over between two threads costs, on one processor and across two"
"$build_dir/examples/compare/context_switch" "${size[@]}"
echo
echo "== How many threads fit, what each costs while parked, and the limit each model meets"
"$build_dir/examples/compare/scale" "${size[@]}"
echo
echo "== C10K: spindle-kv under redis-benchmark, 10 to 10 000 connections, green against clone"
"$build_dir/examples/compare/c10k" "${size[@]}"
