#!/usr/bin/env bash
# tests/kv_redis_cli_pipe_test.sh SPINDLE_KV BACKEND [KEYS] — a bulk load as Redis's
# documentation teaches it: `redis-cli --pipe` streams KEYS (default a million) SET
# requests in RESP to spindle-kv on the given backend, and must report no errors and
# as many replies; then DBSIZE and a sample of the keys are checked.
# Needs redis-cli (Debian's redis-tools); without it the test ends as skipped (status 77).
# Explained in: docs/10-spindle-kv.md (testing against redis).
set -euo pipefail
[ "$#" -ge 2 ] || { echo "usage: $0 SPINDLE_KV green|clone|mn [KEYS]" >&2; exit 2; }
program=$1 backend=$2 keys=${3:-1000000}
command -v redis-cli >/dev/null || { echo "redis-cli is not installed (Debian: redis-tools); skipped"; exit 77; }

# shellcheck source=tests/kv_start_server.sh
source "$(dirname "$0")/kv_start_server.sh"
start_spindle_kv "$program" "$backend"

awk -v n="$keys" 'BEGIN {
  for (i = 0; i < n; i++) {
    k = "key:" i; v = "value:" i
    printf "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", length(k), k, length(v), v
  }
}' >"$work/load"

redis-cli -p "$port" --pipe <"$work/load" >"$work/pipe" 2>&1
cat "$work/pipe"
grep -q "errors: 0, replies: $keys\$" "$work/pipe" || { echo "redis-cli --pipe reported errors or lost replies" >&2; exit 1; }

fail() { echo "$1" >&2; exit 1; }
[ "$(redis-cli -p "$port" dbsize)" = "$keys" ] || fail "DBSIZE is not $keys"
last=$((keys - 1))
for i in 0 $((keys / 2)) "$last"; do
  [ "$(redis-cli -p "$port" get "key:$i")" = "value:$i" ] || fail "key:$i does not hold value:$i"
done
echo "redis-cli --pipe loaded $keys keys into spindle-kv ($backend)"
