#!/bin/sh
# docs/programs/run_all.sh — builds spindle and every program in docs/programs, runs
# each, and stores what it printed (stdout and stderr) in NAME.out beside it. A program
# whose header has a line "// Traced by run_all.sh: strace ARGS" is run once more under
# strace ARGS (when strace is installed), and the trace is stored in NAME.trace (but
# fork_and_clone_are_one_call.trace: see the end). The
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
  # The clone backend is a library of its own (docs/09-clone-backend.md): linked only by
  # the programs that include it.
  libraries="-lspindle"
  if grep -q 'spindle/clone.hpp\|spindle/spindle.hpp' "$source"; then
    libraries="-lspindle-clone -lspindle"
  fi
  # The M:N backend (docs/15-many-to-many.md) is built from both: libspindle-clone is
  # named too, and kept (--no-as-needed) though the program calls nothing of it, so that
  # it loads ahead of libc (its wrappers look libc's calls up in what loads after it).
  if grep -q 'spindle/mn.hpp' "$source"; then
    libraries="-Wl,--no-as-needed -lspindle-mn -lspindle-clone -lspindle"
  fi
  # $libraries is left unquoted on purpose: it holds one to four arguments.
  g++ -std=c++20 -Wall -Wextra -Werror -I "$root/runtime/include" "$source" \
      -L "$build/runtime" $libraries -lboost_context -Wl,-rpath,"$build/runtime" -o "$bin/$name"
  status=0
  (cd "$bin" && "./$name") >"$root/docs/programs/$name.out" 2>&1 || status=$?
  [ "$status" -eq 0 ] || echo "(exit status $status)" >>"$root/docs/programs/$name.out"
  echo "$name.out"
  trace=$(sed -n 's|^// Traced by run_all.sh: strace ||p' "$source")
  if [ -n "$trace" ] && command -v strace >/dev/null 2>&1; then
    # $trace is left unquoted on purpose: it holds several strace arguments.
    (cd "$bin" && strace -o "$root/docs/programs/$name.trace" $trace "./$name") \
      >/dev/null 2>&1 || echo "(strace failed for $name)"
    echo "$name.trace"
  fi
done
# The trace of fork_and_clone_are_one_call is stored normalised (ids numbered, addresses
# blanked), since a test compares it with a fresh one: that test writes it.
if command -v strace >/dev/null 2>&1; then
  SPINDLE_UPDATE_TRANSCRIPT=1 python3 "$root/tests/kernel_clone_trace_test.py" \
    "$bin/fork_and_clone_are_one_call" "$root/docs/programs/fork_and_clone_are_one_call.trace"
fi
