#!/usr/bin/env bash
# scripts/tour.sh BUILD_DIR [--quick] [--out DIR] — the tour: spindle's examples at work,
# then green threads, clone threads and fork measured side by side on this machine, and a
# report of it all with plots.
#
# Called by `scripts/run.sh tour` after the build. Each comparison of examples/compare
# prints its table here and writes its measurements as JSON into the report folder (DIR,
# by default tour-report/); blocking_hazard writes its green scheduler trace there; then
# scripts/tour_report.py draws the plots with gnuplot and writes DIR/report.md.
# blocking_hazard --preempt runs again with its own trace: a spinner freezing the ticker
# cooperatively and not under preemption (docs/08-reactor.md, preemption).
# The full tour also runs scripts/kv_fork_cost.sh (BGSAVE's fork in redis-server and
# spindle-kv, filled with up to 2,000,000 keys), which --quick leaves out.
# At full size the tour takes about 7 minutes on 2 cores (measured: 7.1, before
# kv_fork_cost.sh joined it; that step alone took 5.2 at a load average of 17; the book's
# run, with it, took 18 at a load average of 11 to 18: docs/data/tour), and fork_cost
# wants about 9 GiB of free memory (it forks a process of up to 4 GiB); --quick runs every
# step at a smaller size in about a minute (measured: 39 s; 78 s at a load average of 34
# once the M:N rows and idle_cpu had joined it), with rougher figures. The
# policies comparison adds about 80 s at full size (17 rows of three 1.5 s windows) and
# 3 s with --quick; blocking_hazard --preempt adds 9 s (measured at a load average of 15).
# Explained in: docs/12-comparisons.md (the tour's report).
set -euo pipefail

usage() {
  echo "usage: scripts/tour.sh BUILD_DIR [--quick] [--out DIR] | --programs" >&2
  exit 2
}

readonly comparisons=(spawn_cost fork_cost context_switch scale skynet c10k idle_cpu policies)
# Every program the tour runs, under BUILD_DIR (c10k starts spindle-kv): what
# `ninja -C BUILD_DIR tour` builds (the alias in examples/meson.build), and all that
# scripts/run.sh builds for the tour; `tour.sh --programs` lists them, and
# tests/tour_targets_test.sh checks that the alias builds each.
programs=(examples/primes examples/blocking_hazard examples/spindle-kv)
for name in "${comparisons[@]}"; do programs+=("examples/compare/$name"); done
if [ "${1:-}" = --programs ]; then
  printf '%s\n' "${programs[@]}"
  exit 0
fi

build_dir="${1:-}"
[ -n "$build_dir" ] && [ "${build_dir#-}" = "$build_dir" ] || usage
shift
size=()
# The full sizes need memory: fork_cost forks a parent of up to 4 GiB (twice that free,
# for the copies), and skynet's classic million leaves (1,111,111 threads) peak at about
# 14 GiB, most of it Boost.Fiber's stack pool. A machine with less free memory runs them
# smaller rather than failing.
available_gib=$(awk '/^MemAvailable:/ { print int($2 / 1048576) }' /proc/meminfo)
# Each size also goes into its step's heading, so that the heading says what this run does.
leaves=(--leaves 1000000)
tree="a million leaves (1,111,111 threads)"
if [ "$available_gib" -lt 16 ]; then
  leaves=()
  tree="100,000 leaves (111,111 threads; a million want 16 GiB free)"
fi
fork_sizes=(--max-gib 4)
parent="up to 4 GiB"
if [ "$available_gib" -lt 10 ]; then
  fork_sizes=(--max-gib 1)
  parent="up to 1 GiB, as less than 10 GiB is free"
fi
connections="10 to 10 000 connections"
bgsave=yes
out=tour-report
while [ "$#" -gt 0 ]; do
  case "$1" in
    --quick)
      size=(--quick)
      leaves=()
      tree="10,000 leaves (11,111 threads), as --quick"
      fork_sizes=()
      parent="up to 256 MiB, as --quick"
      connections="10 to 1000 connections, as --quick"
      bgsave=
      ;;
    --out)
      [ "$#" -ge 2 ] || usage
      out=$2
      shift
      ;;
    *) usage ;;
  esac
  shift
done
for program in "${programs[@]}"; do
  [ -x "$build_dir/$program" ] ||
    { echo "tour.sh: $build_dir/$program is not built: ninja -C $build_dir tour" >&2; exit 1; }
done
mkdir -p "$out"
out=$(cd "$out" && pwd)
# What an earlier tour left there would mix with this one's; only the tour's own files go.
rm -rf "$out/plots" "$out/report.md" "$out/blocking_hazard.trace.json" \
  "$out/blocking_hazard_preempt.trace.json"
for name in "${comparisons[@]}" skynet_quick kv_fork_cost; do rm -f "$out/$name.json" "$out/$name.md"; done
# The tour's own record, tour.json: when it ran, how long it took, the load before and
# after (each program's document gives the load at its own start).
rm -f "$out/tour.json"
started=$(date +%s)
started_at=$(date -u +%Y-%m-%dT%H:%M:%SZ)
load_at_start=$(cut -d' ' -f1-3 /proc/loadavg)

step() { echo; echo "== $*"; }

step "The concurrent prime sieve: one green thread per prime, linked by channels"
"$build_dir/examples/primes" --count 2000 --quiet
"$build_dir/examples/primes" --count 25

step "The one rule of green threads: a blocking libc call freezes every green thread"
"$build_dir/examples/blocking_hazard" --trace "$out/blocking_hazard.trace.json"

step "A green thread that computes without yielding: the ticker freezes cooperatively, not preempted"
"$build_dir/examples/blocking_hazard" --backend green --preempt \
  --trace "$out/blocking_hazard_preempt.trace.json"

# The comparisons (docs/12-comparisons.md). Each program also runs alone: --help, and
# --json for a machine-readable document; here each writes its document into the report
# folder and prints its table, which the report keeps too.
#   compare NAME TITLE [FLAG...]   runs examples/compare/NAME with the size and FLAGs
compare() {
  local name=$1 title=$2
  shift 2
  step "$title"
  "$build_dir/examples/compare/$name" "${size[@]}" "$@" --json-file "$out/$name.json" |
    tee "$out/$name.md"
}
compare spawn_cost "What starting a thread or a process costs: green, clone, pthread, fork, vfork, posix_spawn"
compare fork_cost "Why fork is not free: fork against the parent's memory ($parent)" "${fork_sizes[@]}"
compare context_switch "What a hand-over between two threads costs, on one processor and across two"
compare scale "How many threads fit, what each costs while parked, and the limit each model meets"
compare skynet "Skynet: a tree of $tree, on spindle's green threads and on Boost.Fiber" "${leaves[@]}"
if [ ${#size[@]} -eq 0 ]; then
  # The guarded stacks cannot hold the full tree (two mappings each, vm.max_map_count);
  # the full tour also runs a small tree, where they fit (docs/12, "Skynet").
  step "Skynet at 10,000 leaves, where guarded stacks fit too"
  "$build_dir/examples/compare/skynet" --quick --json-file "$out/skynet_quick.json" |
    tee "$out/skynet_quick.md"
fi
compare c10k "C10K: spindle-kv under redis-benchmark, $connections, green against clone"
compare idle_cpu "An idle program: parked threads' processor time, on every backend and Boost.Fiber's work_stealing"
compare policies "Scheduling policies: one workload mix under each green policy and the kernel's scheduler, on one processor"
if [ -n "$bgsave" ]; then
  step "BGSAVE's fork in a real server: redis-server and spindle-kv, 0 to 2,000,000 keys"
  bash "$(dirname "$0")/kv_fork_cost.sh" "$build_dir" --json-file "$out/kv_fork_cost.json" |
    tee "$out/kv_fork_cost.md"
fi

printf '{\n  "program": "tour",\n  "quick": %s,\n  "started": "%s",\n  "seconds": %d,\n  "load_average_start": "%s",\n  "load_average_end": "%s"\n}\n' \
  "$([ ${#size[@]} -gt 0 ] && echo true || echo false)" "$started_at" "$(($(date +%s) - started))" \
  "$load_at_start" "$(cut -d' ' -f1-3 /proc/loadavg)" >"$out/tour.json"

step "The report"
python3 "$(dirname "$0")/tour_report.py" "$out"
