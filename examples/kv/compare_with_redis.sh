#!/usr/bin/env bash
# Records what a real redis-server replies to each request in golden_cases.txt, byte for
# byte, into golden_replies.txt. tests/kv_golden_test.cpp then checks that the engine
# replies the same, with no redis-server needed at test time.
#
#   examples/kv/compare_with_redis.sh            # re-record, then show the diff
#
# Needs redis-server (Debian: apt-get install redis-server) and g++. Starts its own
# server on 127.0.0.1 (port $KV_REDIS_PORT, default 6391) in a scratch directory, with
# snapshots and the append-only file off and one database (as spindle-kv has), and
# stops it on exit.
# Explained in: docs/10-spindle-kv.md (testing against redis).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
port=${KV_REDIS_PORT:-6391}
scratch=$(mktemp -d)
redis_pid=

cleanup() {
  if [[ -n $redis_pid ]]; then
    kill "$redis_pid" 2>/dev/null || true
    wait "$redis_pid" 2>/dev/null || true
  fi
  rm -rf "$scratch"
}
trap cleanup EXIT

command -v redis-server >/dev/null || { echo "redis-server is not installed" >&2; exit 1; }

g++ -std=c++20 -O1 -Wall -Wextra -Werror -I "$root/tests" \
  "$root/tests/kv_golden_recorder.cpp" "$root/tests/kv_golden_format.cpp" -o "$scratch/recorder"

redis-server --bind 127.0.0.1 --port "$port" --dir "$scratch" --save '' --appendonly no --databases 1 \
  --daemonize no --logfile "$scratch/redis.log" &
redis_pid=$!
for _ in $(seq 50); do
  redis-cli -p "$port" ping >/dev/null 2>&1 && break
  sleep 0.1
done
redis-cli -p "$port" ping >/dev/null

version=$(redis-server --version)
"$scratch/recorder" "$port" "$here/golden_cases.txt" "$here/golden_replies.txt" "$version"
for _ in $(seq 50); do  # let the last cases' BGSAVE child finish before the server stops
  redis-cli -p "$port" info persistence | grep -q '^rdb_bgsave_in_progress:0' && break
  sleep 0.1
done
echo "recorded $(grep -c '^send' "$here/golden_replies.txt") cases from: $version"
git -C "$root" diff --stat -- examples/kv/golden_replies.txt || true
