#!/usr/bin/env bash
# scripts/kv_keyspace_cost.sh — what the keyspace costs spindle-kv in memory and in
# instructions, for one or more builds side by side (before and after a change).
#
#   scripts/kv_keyspace_cost.sh [BUILD_DIR...]     (default: build)
#
# For each build, on the green backend: the resident set (VmRSS) and INFO's used_memory
# of an empty server and of one holding a million keys ("key:I" = "value:I", loaded with
# redis-cli --pipe); then the instructions valgrind's cachegrind counts in the whole
# server (start and stop included) while redis-benchmark sends it 20,000 SETs and then
# 20,000 GETs (one client, random keys among 100,000). Counts move far less with the
# machine's load than requests per second do, but they move: a few per cent from run to
# run (the housekeeper's ticks, and the receives that find nothing yet, follow the
# clock), so compare several runs. A minute. Needs redis-cli and
# redis-benchmark (redis-tools) and valgrind, as scripts/run.sh installs them.
# Explained in: docs/10-spindle-kv.md (measured).
set -euo pipefail
cd "$(dirname "$0")/.."

[ "$#" -gt 0 ] || set -- build
die() { echo "kv_keyspace_cost.sh: $*" >&2; exit 1; }
for program in redis-cli redis-benchmark valgrind; do
  command -v "$program" >/dev/null || die "$program is not installed (scripts/run.sh installs it)"
done
readonly requests=20000 keys=1000000

spindle_kv=
# shellcheck source=scripts/kv_servers.sh
source scripts/kv_servers.sh

rss_mib() { awk '/^VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$server_pid/status"; }
used_mib() {
  redis-cli -p "$1" info memory | tr -d '\r' | awk -F: '$1 == "used_memory" { printf "%.1f", $2 / 1048576 }'
}

# memory BUILD: one row, the server empty then full.
memory() {
  local port empty_rss empty_used
  port=$(free_port)
  start_server green "$port"
  empty_rss=$(rss_mib)
  empty_used=$(used_mib "$port")
  fill "$port" "$keys"
  printf "%-34s %10s %10s %12s %12s\n" "$1" "$empty_rss" "$empty_used" "$(rss_mib)" "$(used_mib "$port")"
  stop_server
}

# instructions BUILD: one row, cachegrind's total over the benchmark. (Not callgrind:
# valgrind 3.19's callgrind asserts in vgCallgrind_post_signal on this server.)
instructions() {
  local port out="$scratch/cachegrind.out" real=$spindle_kv total
  port=$(free_port)
  printf '#!/bin/sh\nexec valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=%s %s "$@" 2>/dev/null\n' \
    "$out" "$real" >"$scratch/under-valgrind"
  chmod +x "$scratch/under-valgrind"
  spindle_kv="$scratch/under-valgrind"
  start_server green "$port"
  redis-benchmark -h 127.0.0.1 -p "$port" -c 1 -n "$requests" -r 100000 -t set,get -q >/dev/null
  stop_server
  spindle_kv=$real
  total=$(sed -n 's/^summary: //p' "$out")
  printf "%-34s %16s %14s\n" "$1" "$total" "$((total / (2 * requests)))"
}

echo "spindle-kv green, empty and with $keys keys (MiB):"
printf "%-34s %10s %10s %12s %12s\n" build "RSS empty" "used" "RSS full" "used full"
for build in "$@"; do
  spindle_kv="$build/examples/spindle-kv"
  [ -x "$spindle_kv" ] || die "$spindle_kv is not built"
  memory "$build"
done
echo
echo "cachegrind, $requests SET then $requests GET, 1 client, keys among 100000:"
printf "%-34s %16s %14s\n" build instructions "per request"
for build in "$@"; do
  spindle_kv="$build/examples/spindle-kv"
  instructions "$build"
done
