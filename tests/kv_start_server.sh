# tests/kv_start_server.sh — sourced by the shell tests that drive the real spindle-kv
# (kv_redis_cli_pipe_test.sh, kv_hiredis_test.sh): starts it on a port the kernel picks.
#
#   source tests/kv_start_server.sh
#   start_spindle_kv PROGRAM BACKEND    # sets $work, $server (its pid) and $port
#
# The server runs with --port 0 in a scratch directory $work, its log in $work/log, and
# the port is read from the line it announces ("listening on 127.0.0.1:PORT"), waiting
# 5 s at most. An EXIT trap stops the server and removes $work, whatever happens.
# Explained in: docs/10-spindle-kv.md (testing against redis).

work=
server=
port=

stop_spindle_kv() {
  if [ -n "$server" ]; then
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
    server=
  fi
  if [ -n "$work" ]; then rm -rf "$work"; fi
}

start_spindle_kv() {
  local program=$1 backend=$2
  work=$(mktemp -d)
  trap stop_spindle_kv EXIT
  : >"$work/log"  # made here: the background job below may not have opened it yet
  "$program" --port 0 --backend "$backend" --dir "$work" >"$work/log" 2>&1 &
  server=$!
  for _ in $(seq 100); do
    port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/log")
    [ -n "$port" ] && return 0
    kill -0 "$server" 2>/dev/null || { echo "spindle-kv exited:" >&2; cat "$work/log" >&2; return 1; }
    sleep 0.05
  done
  echo "spindle-kv did not say which port it listens on" >&2
  return 1
}
