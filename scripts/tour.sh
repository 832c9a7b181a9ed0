#!/usr/bin/env bash
# scripts/tour.sh BUILD_DIR — the tour: run the examples that show spindle at work.
# Called by `scripts/run.sh tour` after the build.
set -euo pipefail
build_dir="${1:?usage: scripts/tour.sh BUILD_DIR}"

echo "== The concurrent prime sieve: one green thread per prime, linked by channels"
"$build_dir/examples/primes" --count 2000 --quiet
"$build_dir/examples/primes" --count 25

echo
echo "== The one rule of green threads: a blocking libc call freezes every green thread"
"$build_dir/examples/blocking_hazard"
