#!/usr/bin/env bash
# scripts/kv_benchmark.sh — spindle-kv on the green backend, on the clone backend, and
# redis-server, measured in the same run with redis-benchmark, side by side.
#
#   scripts/kv_benchmark.sh [--quick] [BUILD_DIR]     (BUILD_DIR defaults to build)
#
# For 50, 1,000 and 10,000 client connections, redis-benchmark runs SET then GET (random
# keys among 100,000, 3-byte values) against each server; the table shows requests per
# second, the 50th and 99th percentile latency, and the server's resident memory
# (VmRSS from /proc/PID/status, sampled every 0.1 s; the table shows the peak). It ends
# with green's throughput over redis-server's at 50 clients, and what 10,000 connections
# cost in memory on each backend. A few minutes; --quick sends fewer requests, for a
# sub-minute run whose numbers are rougher.
#
# Every server listens on 127.0.0.1 on a free port, in a scratch directory, and is
# stopped at the end, whatever happens. Needs redis-benchmark and redis-cli (Debian's
# redis-tools) and redis-server (redis-server), which scripts/run.sh installs, and a
# built spindle-kv. Explained in: docs/10-spindle-kv.md (measured).
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0
build_dir=build
for arg in "$@"; do
  case "$arg" in
    --quick) quick=1 ;;
    -h | --help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "kv_benchmark.sh: unknown option $arg (try --help)" >&2; exit 2 ;;
    *) build_dir=$arg ;;
  esac
done

readonly spindle_kv="$build_dir/examples/spindle-kv"
readonly client_counts=(50 1000 10000)
readonly keyspace=100000
readonly descriptors_wanted=10240   # 10,000 connections, plus what each program holds besides

die() { echo "kv_benchmark.sh: $*" >&2; exit 1; }

for program in redis-benchmark:redis-tools redis-cli:redis-tools redis-server:redis-server; do
  command -v "${program%%:*}" >/dev/null ||
    die "${program%%:*} is not installed: apt-get install ${program##*:} (scripts/run.sh does)"
done
[ -x "$spindle_kv" ] || die "$spindle_kv is not built: meson setup $build_dir && ninja -C $build_dir"

# Requests per redis-benchmark test: enough for a few seconds each, and at least one
# per connection. redis-benchmark itself takes about 9 s to open 10,000 connections, for
# each test: so a quick run measures only GET there.
requests_for() {
  local clients=$1
  if [ "$quick" = 1 ]; then
    case "$clients" in 50) echo 60000 ;; 1000) echo 20000 ;; *) echo 10000 ;; esac
  else
    echo $((clients >= 10000 ? 100000 : 200000))
  fi
}

# shellcheck source=scripts/kv_servers.sh
source scripts/kv_servers.sh

# Every program started from here on may hold this many descriptors.
raise_descriptor_limit() {
  local hard
  hard=$(ulimit -Hn)
  if [ "$hard" != unlimited ] && [ "$hard" -lt "$descriptors_wanted" ]; then
    ulimit -n "$hard"
  else
    ulimit -n "$descriptors_wanted"
  fi
}

# The machine's kernel stacks, in kB: every kernel thread has one (16 KiB on x86-64),
# outside any process's RSS. System-wide, so other programs move it too.
kernel_stacks() { awk '/^KernelStack/ { print $2 }' /proc/meminfo; }

# sample PID PORT: until killed, appends the server's VmRSS (kB) to $scratch/rss and the
# machine's kernel stacks to $scratch/kstack every 0.1 s, and its connected_clients
# (less this sampler's own connection) to $scratch/clients every 0.5 s.
sample() {
  local pid=$1 port=$2 round=0
  while kill -0 "$pid" 2>/dev/null; do
    awk '/^VmRSS/ { print $2 }' "/proc/$pid/status" >>"$scratch/rss" 2>/dev/null || true
    kernel_stacks >>"$scratch/kstack"
    if [ $((round % 5)) = 0 ]; then
      timeout 2 redis-cli -p "$port" info clients 2>/dev/null |
        awk -F: '/^connected_clients/ { print $2 - 1 }' >>"$scratch/clients" || true
    fi
    round=$((round + 1))
    sleep 0.1
  done
}

peak() { sort -n "$1" | tail -1; }

tests_for() {
  if [ "$quick" = 1 ] && [ "$1" -ge 10000 ]; then echo get; else echo set,get; fi
}

# bench NAME PORT CLIENTS: runs SET and GET and records one row of results.
declare -A result
bench() {
  local name=$1 port=$2 clients=$3 sampler
  : >"$scratch/rss"
  : >"$scratch/clients"
  : >"$scratch/kstack"
  result[$name,$clients,rss_before]=$(awk '/^VmRSS/ { print $2 }' "/proc/$server_pid/status")
  result[$name,$clients,kstack_before]=$(kernel_stacks)
  sample "$server_pid" "$port" &
  sampler=$!
  if ! timeout 900 redis-benchmark -h 127.0.0.1 -p "$port" -c "$clients" \
    -n "$(requests_for "$clients")" -r "$keyspace" -t "$(tests_for "$clients")" --csv \
    >"$scratch/csv" 2>"$scratch/errors"; then
    kill "$sampler" 2>/dev/null || true
    wait "$sampler" 2>/dev/null || true
    result[$name,$clients,failed]="redis-benchmark failed: $(grep -v CONFIG "$scratch/errors" | head -3)"
    return 0
  fi
  kill "$sampler" 2>/dev/null || true
  wait "$sampler" 2>/dev/null || true
  local test
  for test in SET GET; do
    # "SET","rps","avg","min","p50","p95","p99","max"
    result[$name,$clients,$test]=$(tr -d '"' <"$scratch/csv" |
      awk -F, -v t="$test" '$1 == t { print $2, $5, $7 }')
  done
  result[$name,$clients,rss]=$(peak "$scratch/rss")
  result[$name,$clients,kstack]=$(peak "$scratch/kstack")
  result[$name,$clients,reached]=$(peak "$scratch/clients")
}

mib() { awk -v kb="$1" 'BEGIN { printf "%.1f", kb / 1024 }'; }

print_row() {
  local name=$1 clients=$2 label
  case "$name" in
    green | clone) label="spindle-kv $name" ;;
    *) label="redis-server" ;;
  esac
  if [ -n "${result[$name,$clients,failed]:-}" ]; then
    printf "%-7s %-17s %s\n" "$clients" "$label" "${result[$name,$clients,failed]}"
    return
  fi
  local set get
  read -r -a set <<<"${result[$name,$clients,SET]:-- - -}"
  read -r -a get <<<"${result[$name,$clients,GET]:-- - -}"
  printf "%-7s %-17s %10s %7s %7s %10s %7s %7s %9s %8s\n" "$clients" "$label" \
    "${set[0]%.*}" "${set[1]}" "${set[2]}" "${get[0]%.*}" "${get[1]}" "${get[2]}" \
    "$(mib "${result[$name,$clients,rss]}")" "${result[$name,$clients,reached]:-?}"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

# Green's throughput over redis-server's at 50 clients, against the target.
print_ratios() {
  local test green redis r verdict
  for test in SET GET; do
    green=$(cut -d' ' -f1 <<<"${result[green,50,$test]:-0}")
    redis=$(cut -d' ' -f1 <<<"${result[redis,50,$test]:-0}")
    if [ "${redis%.*}" -le 0 ] || [ "${green%.*}" -le 0 ]; then continue; fi
    r=$(ratio "$green" "$redis")
    verdict=$(awk -v r="$r" 'BEGIN { print (r >= 0.70 ? "met" : "NOT met") }')
    echo "green / redis-server at 50 clients, $test: $r (target: at least 0.70: $verdict)"
  done
}

# What 10,000 connections cost each server: RSS, and kernel stacks outside it.
print_memory() {
  local name before after grown kernel
  for name in green clone redis; do
    [ -n "${result[$name,10000,rss]:-}" ] || continue
    before=${result[$name,10000,rss_before]}
    after=${result[$name,10000,rss]}
    grown=$((after - before))
    kernel=$((result[$name,10000,kstack] - result[$name,10000,kstack_before]))
    printf "%-6s at 10000 connections: peak RSS %s MiB, %s MiB above its RSS before" \
      "$name" "$(mib "$after")" "$(mib "$grown")"
    printf " (%s KiB a connection);\n" "$(awk -v d="$grown" 'BEGIN { printf "%.1f", d / 10000 }')"
    echo "       kernel stacks of the machine rose by $(mib "$kernel") MiB during the run, outside RSS"
  done
  if [ -n "${result[green,10000,rss]:-}" ] && [ -n "${result[clone,10000,rss]:-}" ]; then
    echo "clone / green peak RSS at 10000 connections:" \
      "$(ratio "${result[clone,10000,rss]}" "${result[green,10000,rss]}")"
  fi
}

main() {
  raise_descriptor_limit
  local counts=("${client_counts[@]}")
  if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$descriptors_wanted" ]; then
    echo "NOTE: 10000 connections need about $descriptors_wanted descriptors per process, and the"
    echo "      hard limit here is $(ulimit -n): the 10000-connection runs are left out."
    echo "      (As root: ulimit -Hn $descriptors_wanted, or nofile in /etc/security/limits.conf.)"
    counts=(50 1000)
  fi
  echo "spindle-kv against redis-server: $(redis-server --version | cut -d' ' -f1-3), $(nproc) cores,"
  local run="full run"
  [ "$quick" = 1 ] && run="quick run (fewer requests: rougher numbers)"
  echo "$run, redis-benchmark -r $keyspace, descriptors per process: $(ulimit -n)"
  local name port clients
  for name in green clone redis; do
    port=$(free_port)
    start_server "$name" "$port" --maxclients $((descriptors_wanted - 64))
    for clients in "${counts[@]}"; do
      echo "  running: $name, $clients clients," \
        "$(tests_for "$clients"), $(requests_for "$clients") requests each" >&2
      bench "$name" "$port" "$clients"
    done
    stop_server
  done
  echo
  printf "%-7s %-17s %10s %7s %7s %10s %7s %7s %9s %8s\n" clients server "SET req/s" p50_ms p99_ms \
    "GET req/s" p50_ms p99_ms "RSS MiB" reached
  for clients in "${counts[@]}"; do
    for name in green clone redis; do print_row "$name" "$clients"; done
  done
  echo "(p50/p99: latency percentiles in ms; RSS: peak during the run; reached: most"
  echo " connections the server reported at once, sampled every 0.5 s)"
  echo
  print_ratios
  print_memory
}

main
