#!/bin/sh
# docs/programs/run_all.sh — builds spindle and every program in docs/programs, runs
# each, and stores what it printed (stdout and stderr) in NAME.out beside it. The
# figures in the book are copied from these files.
# Usage: docs/programs/run_all.sh   (BUILD=dir to use another meson build folder)
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-$root/build}
[ -d "$build" ] || meson setup "$build" "$root"
ninja -C "$build" >/dev/null
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
for source in "$root"/docs/programs/*.cpp; do
  name=$(basename "$source" .cpp)
  g++ -std=c++20 -Wall -Wextra -Werror -I "$root/runtime/include" "$source" \
      -L "$build/runtime" -lspindle -lboost_context -Wl,-rpath,"$build/runtime" -o "$bin/$name"
  status=0
  (cd "$bin" && "./$name") >"$root/docs/programs/$name.out" 2>&1 || status=$?
  [ "$status" -eq 0 ] || echo "(exit status $status)" >>"$root/docs/programs/$name.out"
  echo "$name.out"
done
