#!/usr/bin/env bash
# tests/gdb_extension_test.sh PROGRAM LIBRARY_DIR debug-info|no-debug-info "BACKENDS"
#   TRANSCRIPT gcore|crash —
# the gdb extension (runtime/gdb/spindle.py) against tests/gdb_parked_threads.cpp, whose
# five threads park in a channel's recv, a mutex's lock, a sleep, an io::read and a join.
# For each backend, gdb runs the program to everyone_is_parked (a live process), lists
# the threads, backtraces each one, has a core file written, and then does the same from
# the core file alone. The core file is gdb's own (gcore, the 6th argument's default) or
# the kernel's, of a crash (crash: gdb sends the stopped program SIGABRT), which is how
# the sanitised configuration gets one: see below. Checked: each thread's listed state and wait, and that
# its backtrace holds the function that parked it. The extension is auto-loaded from
# beside the library, as gdb finds it (runtime/meson.build), not sourced by hand.
# Prints each gdb session. docs/13-debugging.md's transcript, docs/programs/gdb_session.out
# (the 5th argument), is the green live session with addresses and tids blanked: its
# thread listing must match this run's (the backtraces' inlining differs between
# configurations, so they are shown there, not compared). SPINDLE_UPDATE_TRANSCRIPT=1
# rewrites it from this run.
set -euo pipefail
program=$(realpath "$1")
library_dir=$(realpath "$2")
if [[ $3 != debug-info ]]; then
  echo "gdb_extension_test: the library has no debug info (-Ddebug=false): skipped"
  exit 77
fi
read -r -a backends <<<"$4"
transcript=${5:-}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# gcore cannot write a sanitised program's core: gdb (13.1) dumps every private anonymous
# mapping whole, and ASan reserves terabytes of them with PROT_NONE (the shadow gap and
# its allocator's space: 6 TiB in 139 mappings here; its shadow, 14 TiB, is marked
# MADV_DONTDUMP, which gdb honours). The kernel dumps only the pages a mapping has, so a
# crash's core is small (57 MB apparent, 6 MB on disk here): the sanitised configuration
# (crash) makes one, with ASan's disable_coredump=0 (by default ASan sets RLIMIT_CORE to
# 0) and the core limit raised, where the kernel writes cores to a file in the current
# directory (core_pattern without a pipe or a path; else the core file case is skipped,
# saying so). No core file may fill the disk: gdb's writes stop at 1 GiB, and so do the
# kernel's.
cores=${6:-gcore}
if [[ $cores != gcore && $cores != crash ]]; then
  echo "gdb_extension_test: the 6th argument is gcore or crash, not '$cores'" >&2
  exit 2
fi
ulimit -f $((1024 * 1024))
core_note=
if [[ $cores == crash ]]; then
  export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}disable_coredump=0"
  ulimit -c $((1024 * 1024)) 2>/dev/null || core_note="the core size limit cannot be raised"
  pattern=$(cat /proc/sys/kernel/core_pattern)
  if [[ $pattern == \|* || $pattern == */* ]]; then
    core_note="cores go to '$pattern', not to a file here"
  fi
fi
failures=0

gdb_batch() {  # gdb in batch mode, no ~/.gdbinit, auto-loading from the build tree
  timeout 120 gdb -batch -nx -iex "add-auto-load-safe-path $library_dir" \
    -iex "set debuginfod enabled off" "$@" 2>&1 | grep -v '^\[\(New \|Thread .* exited\|Inferior\)'
}

expect() {  # expect FILE WHAT REGEX: FILE has a line matching REGEX
  if grep -Eq -- "$3" "$1"; then
    echo "ok: $2"
  else
    echo "FAILED: $2 (no line matches: $3)"
    failures=$((failures + 1))
  fi
}

# The section of `spindle-bt` (green) or of `spindle-thread N; bt` (clone) about NAME.
section_of() {  # section_of FILE NAME
  awk -v name="\"$2\"" '/^(green|clone) thread [0-9]+ "/ { on = index($0, name) > 0 } on' "$1"
}

green_commands=(-ex "info spindle-threads" -ex "spindle-bt all"
  -ex "spindle-thread 3" -ex "bt 6" -ex "up" -ex "spindle-thread off" -ex "bt 3")
# (bt 16: a clone channel receive reaches recv at frame #12, counted from the futex wait.)
clone_commands=(-ex "info spindle-threads")
for id in 2 3 4 5 6; do
  clone_commands+=(-ex "spindle-thread $id" -ex "bt 16")
done

check_listing() {  # check_listing FILE BACKEND HOW
  local f=$1 backend=$2 how=$3
  expect "$f" "$backend $how: receiver blocked in a channel" \
    '"receiver" +blocked +on channel \(receive\) 0x'
  expect "$f" "$backend $how: locker blocked on the mutex main holds" \
    '"locker" +blocked +on mutex 0x[0-9a-f]+, held by thread 1$'
  expect "$f" "$backend $how: joiner blocked in a join" '"joiner" +blocked +on join of thread 2$'
  if [[ $backend == green ]]; then
    expect "$f" "$backend $how: sleeper sleeping" '"sleeper" +sleeping +on sleep'
    expect "$f" "$backend $how: reader blocked on its descriptor" \
      '"reader" +blocked +on I/O \(readable\)'
    expect "$f" "$backend $how: main running" '^\* +1 "main" +running'
    expect "$f" "$backend $how: stacks listed" 'stack: guarded \[0x[0-9a-f]+, 0x[0-9a-f]+\)'
  else
    expect "$f" "$backend $how: kernel tids listed" 'kernel tid: [0-9]+$'
  fi
  local name function
  for pair in receiver:'basic_channel<.*>::recv' locker:'mutex(<[^>]*>)?::lock' \
    sleeper:'sleep_(until|for)' reader:'io_calls<.*>::read' joiner:'thread_handle<.*>::join'; do
    name=${pair%%:*} function=${pair#*:}
    section_of "$f" "$name" >"$work/section"
    expect "$work/section" "$backend $how: $name's backtrace shows $function" "$function"
  done
  if [[ $backend == green ]]; then
    expect "$f" "$backend $how: spindle-thread selects a parked thread" \
      'green thread 3 "locker", parked'
    expect "$f" "$backend $how: bt after spindle-thread shows its frames" \
      '^#[0-9]+ .*spindle::green::mutex::lock'
    expect "$f" "$backend $how: spindle-thread off gives the real frames back" \
      '^#1 .*park_five_threads'
  fi
}

# live_session BACKEND: gdb on the running program; the core file it leaves (gcore's, or
# the kernel's after SIGABRT, in the program's working directory $work/run.BACKEND) is
# named by the file $work/core_of.BACKEND.
live_session() {
  local backend=$1 commands_name="${1}_commands[@]" run="$work/run.$1"
  mkdir "$run"
  local ending=(-ex "gcore $run/core" -ex kill)
  if [[ $cores == crash ]]; then
    ending=(-ex "signal SIGABRT")
    [[ -n $core_note ]] && ending=(-ex kill)
  fi
  (cd "$run" && gdb_batch -ex "break everyone_is_parked" -ex run "${!commands_name}" "${ending[@]}" \
    --args "$program" "$backend")
  find "$run" -maxdepth 1 -name 'core*' -type f | head -1 >"$work/core_of.$backend"
}

for backend in "${backends[@]}"; do
  commands_name="${backend}_commands[@]"
  echo "== $backend backend, live process"
  live_session "$backend" | tee "$work/live"
  check_listing "$work/live" "$backend" live
  cp "$work/live" "$work/live.$backend"
  if [[ -n $core_note ]]; then
    echo "== $backend backend, core file of a crash: SKIPPED, $core_note"
    continue
  fi
  core=$(cat "$work/core_of.$backend")
  echo "== $backend backend, core file ($cores)"
  if [[ -z $core || ! -s $core ]]; then
    echo "FAILED: no core file was written"
    failures=$((failures + 1))
    continue
  fi
  gdb_batch "${!commands_name}" "$program" "$core" | tee "$work/core"
  check_listing "$work/core" "$backend" "core file"
done

normalise() {  # addresses, tids and line numbers vary from run to run
  sed -E 's/0x[0-9a-f]+/0x.../g; s/kernel thread [0-9]+/kernel thread TID/g; s/:[0-9]+$/:LINE/' "$@"
}
listing() { sed -n '/^green scheduler of kernel thread/,/stack: kernel stack/p' "$@"; }
if [[ -n $transcript && -s $work/live.green ]]; then
  normalise "$work/live.green" | grep -v '^Breakpoint 1 at\|^Using host libthread_db' >"$work/session"
  if [[ ${SPINDLE_UPDATE_TRANSCRIPT:-} == 1 ]]; then
    cp "$work/session" "$transcript"
    echo "rewrote $transcript"
  elif diff <(listing "$transcript") <(listing "$work/session"); then
    echo "ok: the book's transcript lists the threads as this run does"
  else
    echo "FAILED: $transcript's thread listing differs from this run's (above);" \
      "SPINDLE_UPDATE_TRANSCRIPT=1 rewrites it"
    failures=$((failures + 1))
  fi
fi

if ((failures > 0)); then
  echo "gdb_extension_test: $failures checks failed"
  exit 1
fi
echo "gdb_extension_test: every check passed"
