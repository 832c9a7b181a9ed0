#!/usr/bin/env bash
# scripts/tsan.sh — builds spindle with ThreadSanitizer and runs what it can follow: the
# behaviour tests on the green backend (harness.hpp drops the clone backend under TSan)
# and the green suite, which includes the cross-thread tests (green_remote_test: std::
# threads posting to a green scheduler; green_home_test: foreign-thread errors).
#
# Not one of the CI's checked configurations: the whole tree instrumented takes far more
# than the three minutes a CI configuration may add on this machine, so it is run by hand
# before a change to anything that crosses kernel threads (the inbox, remote_event, the
# home check, the clone parking lot's callers). Clone threads are left out because TSan
# cannot follow them: glibc's clone() is intercepted as a fork, and the child, with the TLS
# block spindle made for it, has no ThreadSanitizer state (only TSan's pthread_create
# interceptor makes one): it crashes at once (docs/11-performance.md).
#
# Usage: scripts/tsan.sh [meson test arguments...]   e.g. scripts/tsan.sh green_remote_test
# Environment: SPINDLE_TSAN_BUILD (default: build-tsan in the source tree), SPINDLE_SEEDS
# (default 5), JOBS (default 2).
# Explained in: docs/11-performance.md (the checked configurations).
set -euo pipefail

source_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${SPINDLE_TSAN_BUILD:-$source_dir/build-tsan}
jobs=${JOBS:-2}

if [[ ! -f $build/build.ninja ]]; then
  meson setup "$build" "$source_dir" -Db_sanitize=thread -Dbenchmarks=disabled -Dwerror=true
fi
export SPINDLE_SEEDS=${SPINDLE_SEEDS:-5}
if (($# == 0)); then
  ninja -C "$build" -j "$jobs"
  meson test -C "$build" --setup=tsan --num-processes "$jobs" --suite behaviour --suite green
else
  meson test -C "$build" --setup=tsan --num-processes "$jobs" "$@"
fi
