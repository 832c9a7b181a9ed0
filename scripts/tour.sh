#!/usr/bin/env bash
# scripts/tour.sh BUILD_DIR — the tour: run the examples that show spindle at work.
# Called by `scripts/run.sh tour` after the build.
set -euo pipefail
build_dir="${1:?usage: scripts/tour.sh BUILD_DIR}"

echo "== The concurrent prime sieve: one green thread per prime, linked by channels"
"$build_dir/examples/primes" --count 2000 --quiet
"$build_dir/examples/primes" --count 25

# The comparisons (docs/11-comparisons.md), each quick here; run one without --quick for
# the full measurement, or with --json for a machine-readable document.
echo
echo "== What starting a thread or a process costs: green, clone, pthread, fork, vfork, posix_spawn"
"$build_dir/examples/compare/spawn_cost" --quick
echo
echo "== Why fork is not free: fork against the parent's memory (up to 4 GiB without --quick)"
"$build_dir/examples/compare/fork_cost" --quick
echo
echo "== What a hand-over between two threads costs, on one processor and across two"
"$build_dir/examples/compare/context_switch" --quick
echo
echo "== How many threads fit, what each costs while parked, and the limit each model meets"
"$build_dir/examples/compare/scale" --quick
