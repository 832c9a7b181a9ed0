#!/usr/bin/env bash
# scripts/kv_fork_cost.sh — what BGSAVE's fork() costs as the dataset grows.
#
#   scripts/kv_fork_cost.sh [BUILD_DIR]     (BUILD_DIR defaults to build)
#
# For 0, 100,000 and 1,000,000 keys, on spindle-kv green, spindle-kv clone and
# redis-server: fills the server through redis-cli --pipe, then runs BGSAVE five times
# and reports latest_fork_usec (how long fork() kept the server from serving: the
# kernel copies the page tables of the whole heap) for each, their median, and the
# server's RSS.
# About a minute. Every server runs on 127.0.0.1 on a free port in a scratch directory
# and is stopped at the end. Needs redis-cli (redis-tools) and redis-server, as
# scripts/run.sh installs them. Explained in: docs/10-spindle-kv.md (the cost of fork).
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=${1:-build}
readonly spindle_kv="$build_dir/examples/spindle-kv"
readonly sizes=(0 100000 1000000)
readonly forks=5

die() { echo "kv_fork_cost.sh: $*" >&2; exit 1; }
command -v redis-cli >/dev/null || die "redis-cli is not installed: apt-get install redis-tools"
command -v redis-server >/dev/null || die "redis-server is not installed: apt-get install redis-server"
[ -x "$spindle_kv" ] || die "$spindle_kv is not built: meson setup $build_dir && ninja -C $build_dir"

# shellcheck source=scripts/kv_servers.sh
source scripts/kv_servers.sh

field() { redis-cli -p "$1" info "$2" | tr -d '\r' | awk -F: -v f="$3" '$1 == f { print $2 }'; }

# One BGSAVE, waited for; prints its latest_fork_usec.
fork_once() {
  local port=$1
  redis-cli -p "$port" bgsave >/dev/null
  for _ in $(seq 600); do
    [ "$(field "$port" persistence rdb_bgsave_in_progress)" = 0 ] && break
    sleep 0.1
  done
  [ "$(field "$port" persistence rdb_bgsave_in_progress)" = 0 ] || die "BGSAVE did not finish"
  field "$port" stats latest_fork_usec
}

main() {
  echo "BGSAVE's fork, by dataset size: latest_fork_usec (microseconds) of $forks forks ($(nproc) cores)"
  printf "%-17s %9s %9s %8s   %s\n" server keys "RSS MiB" median "latest_fork_usec of each fork"
  local name size port rss usecs median label
  for name in green clone redis; do
    for size in "${sizes[@]}"; do
      port=$(free_port)
      start_server "$name" "$port"
      fill "$port" "$size"
      rss=$(awk '/^VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$server_pid/status")
      usecs=()
      for _ in $(seq "$forks"); do usecs+=("$(fork_once "$port")"); done
      case "$name" in
        green | clone) label="spindle-kv $name" ;;
        *) label="redis-server" ;;
      esac
      median=$(printf "%s\n" "${usecs[@]}" | sort -n | sed -n "$(((forks + 1) / 2))p")
      printf "%-17s %9s %9s %8s   %s\n" "$label" "$size" "$rss" "$median" "${usecs[*]}"
      stop_server
    done
  done
}

main
