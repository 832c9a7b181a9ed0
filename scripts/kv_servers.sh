# scripts/kv_servers.sh — sourced by scripts/kv_benchmark.sh, scripts/kv_fork_cost.sh and
# scripts/kv_keyspace_cost.sh: a scratch folder, servers started on 127.0.0.1 on a free
# port, filled with keys, and a trap that stops the running server and removes the
# folder whatever happens.
# The sourcing script sets $spindle_kv and defines die MESSAGE. Explained in:
# docs/10-spindle-kv.md (measured).

scratch=$(mktemp -d)
server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$scratch"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_server NAME PORT [REDIS_FLAG...]: a fresh, empty server in the background
# (server_pid), answering PING: spindle-kv with NAME green or clone, redis-server with
# NAME redis (given the extra flags).
start_server() {
  local name=$1 port=$2 dir="$scratch/$1-$2"
  shift 2
  mkdir -p "$dir"
  case "$name" in
    green | clone)
      "$spindle_kv" --port "$port" --backend "$name" --dir "$dir" >"$dir/log" 2>&1 &
      ;;
    redis)
      redis-server --bind 127.0.0.1 --port "$port" --dir "$dir" --save '' --appendonly no \
        --daemonize no --logfile "$dir/log" "$@" &
      ;;
    *) die "start_server: no server called $name" ;;
  esac
  server_pid=$!
  for _ in $(seq 100); do
    [ "$(redis-cli -p "$port" ping 2>/dev/null)" = PONG ] && return 0
    sleep 0.1
  done
  die "$name did not answer PING on port $port; its log: $(cat "$dir/log")"
}

stop_server() {
  kill "$server_pid"
  wait "$server_pid" || true
  server_pid=
}

# fill PORT N: SET key:0 .. key:N-1 (values "value:I"), as one pipelined stream.
fill() {
  local port=$1 n=$2
  [ "$n" -gt 0 ] || return 0
  awk -v n="$n" 'BEGIN {
    for (i = 0; i < n; i++) {
      k = "key:" i; v = "value:" i
      printf "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", length(k), k, length(v), v
    }
  }' | redis-cli -p "$port" --pipe >/dev/null
  [ "$(redis-cli -p "$port" dbsize)" = "$n" ] || die "the server holds $(redis-cli -p "$port" dbsize) keys, not $n"
}
