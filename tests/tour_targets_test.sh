#!/usr/bin/env bash
# tests/tour_targets_test.sh BUILD_DIR SOURCE_DIR — `scripts/run.sh tour` builds only the
# alias target `tour` (examples/meson.build); this checks that the alias builds every
# program scripts/tour.sh runs (`tour.sh --programs`), so that the tour never meets a
# program the quick build left out.
set -euo pipefail
build=$1
source=$2
built=$( (ninja -C "$build" -t query tour 2>/dev/null || true) | sed -n 's/^    | //p' | sort)
[ -n "$built" ] || { echo "$build has no target 'tour' (examples/meson.build)" >&2; exit 1; }
missing=$(comm -23 <("$source/scripts/tour.sh" --programs | sort) <(echo "$built"))
if [ -n "$missing" ]; then
  echo "scripts/tour.sh runs programs that 'ninja tour' does not build: ${missing//$'\n'/ }" >&2
  exit 1
fi
echo "'ninja -C $build tour' builds every program the tour runs: ${built//$'\n'/ }"
