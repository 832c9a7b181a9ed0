#!/usr/bin/env bash
# scripts/kv_fork_cost.sh — what BGSAVE's fork() costs as the dataset grows.
#
#   scripts/kv_fork_cost.sh [BUILD_DIR] [--json-file FILE] [--sizes N,N,...]
#                                                  (BUILD_DIR defaults to build)
#
# For 0, 250,000, 500,000, 1,000,000 and 2,000,000 keys, on spindle-kv green, spindle-kv
# clone and redis-server: fills the server through redis-cli --pipe, then runs BGSAVE
# five times and reports latest_fork_usec (how long fork() kept the server from serving:
# the kernel copies the page tables of the whole heap) for each, their median, and the
# server's RSS. With --json-file, also writes the measurements as one JSON document in
# the manner of examples/compare (the program, the machine, each server's rows and two
# straight lines against its RSS, through the median forks and through the fastest),
# which scripts/tour.sh keeps in the tour's report folder and scripts/tour_report.py
# plots. --sizes replaces the five key counts (tests/kv_fork_cost_test.sh runs small
# ones); such a run's document says "quick": true, as a comparison's --quick does.
# 5.2 minutes at a load average of 17 (measured). Every server runs on 127.0.0.1 on a
# free port in a scratch directory and is stopped at the end. Needs redis-cli (redis-tools) and redis-server, as
# scripts/run.sh installs them. Explained in: docs/10-spindle-kv.md (the cost of fork)
# and docs/12-comparisons.md (BGSAVE's fork in a real server).
set -euo pipefail

die() { echo "kv_fork_cost.sh: $*" >&2; exit 1; }

# BUILD_DIR and FILE are taken from where the script is called; the default build folder
# is the repository's.
build_dir="$(dirname "$0")/../build"
json_file=
readonly default_sizes=(0 250000 500000 1000000 2000000)
sizes=("${default_sizes[@]}")
while [ "$#" -gt 0 ]; do
  case "$1" in
    --json-file)
      [ "$#" -ge 2 ] || die "--json-file needs a file name"
      json_file=$2
      shift
      ;;
    --sizes)
      [ "$#" -ge 2 ] && [[ "$2" =~ ^[0-9]+(,[0-9]+)+$ ]] ||
        die "--sizes needs two or more key counts, as in --sizes 0,1000,10000"
      IFS=, read -r -a sizes <<<"$2"
      shift
      ;;
    -*) die "unknown flag $1; usage: scripts/kv_fork_cost.sh [BUILD_DIR] [--json-file FILE] [--sizes N,N,...]" ;;
    *) build_dir=$1 ;;
  esac
  shift
done
[ -d "$build_dir" ] || die "no build folder $build_dir: meson setup $build_dir && ninja -C $build_dir"
readonly spindle_kv="$(cd "$build_dir" && pwd)/examples/spindle-kv"
readonly forks=5
quick=false
[ "${sizes[*]}" = "${default_sizes[*]}" ] || quick=true
if [ -n "$json_file" ]; then
  folder=$(dirname "$json_file")
  [ -d "$folder" ] && [ -w "$folder" ] && { [ ! -e "$json_file" ] || [ -w "$json_file" ]; } ||
    die "--json-file $json_file cannot be written"
  json_file=$(cd "$folder" && pwd)/$(basename "$json_file")
fi
cd "$(dirname "$0")/.."
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

# write_json FILE: the document, from the rows main collected in $scratch/rows (one line
# each: name, label, keys, RSS in KiB, then every fork's latest_fork_usec).
write_json() {
  local version
  version=$(meson introspect --projectinfo "$build_dir" 2>/dev/null |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["version"])' 2>/dev/null || echo unknown)
  python3 - "$scratch/rows" "$1" "$forks" "$version" "$(redis-server --version)" "$machine_load" \
    "$quick" <<'PY'
import json, os, platform, statistics, sys

rows_path, out_path, forks, spindle_version, redis_version, load, quick = sys.argv[1:]

def first(path, prefix):
    for line in open(path):
        if line.startswith(prefix):
            return line.split(":", 1)[1].strip()
    return "unknown"

def meminfo_mib(field):
    return int(first("/proc/meminfo", field + ":").split()[0]) // 1024

# The machine, with the keys and in the form of examples/compare/machine.cpp's.
thp = open("/sys/kernel/mm/transparent_hugepage/enabled").read()
machine = {
    "cpu_model": first("/proc/cpuinfo", "model name"),
    "online_cpus": os.sysconf("SC_NPROCESSORS_ONLN"),
    "usable_cpus": len(os.sched_getaffinity(0)),
    "kernel": " ".join((platform.system(), platform.release(), platform.machine())),
    "glibc": platform.libc_ver()[1],
    "spindle": spindle_version,
    "memory_total_mib": meminfo_mib("MemTotal"),
    "memory_available_mib": meminfo_mib("MemAvailable"),
    "transparent_hugepages": thp[thp.find("[") + 1:thp.find("]")],
    "load_average": load,
}
results = []
for line in open(rows_path):
    name, label, keys, rss_kib, *usecs = line.split("\t")
    usecs = [int(u) for u in usecs]
    results.append({"server": label, "name": name, "keys": int(keys), "rss_kib": int(rss_kib),
                    "latest_fork_usec": usecs, "median_usec": statistics.median(usecs)})

def line_through(points):
    """The least-squares line through (x, y) points: slope, intercept, r squared."""
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    sxy = sum((x - mx) * (y - my) for x, y in points)
    syy = sum((y - my) ** 2 for _, y in points)
    if sxx == 0:
        sys.exit("kv_fork_cost.sh: every size left the server at one resident memory, "
                 "so no line can be fitted: give --sizes further apart")
    slope = sxy / sxx
    return slope, my - slope * mx, (sxy * sxy / (sxx * syy) if syy else 1.0)

# Two lines per server against its RSS in GiB: through the median forks, and through the
# fastest, which a busy machine delays least.
fits = []
for label in dict.fromkeys(r["server"] for r in results):
    mine = [r for r in results if r["server"] == label]
    slope, intercept, r2 = line_through([(r["rss_kib"] / 2**20, r["median_usec"] / 1000)
                                         for r in mine])
    fastest, fastest_intercept, fastest_r2 = line_through(
        [(r["rss_kib"] / 2**20, min(r["latest_fork_usec"]) / 1000) for r in mine])
    fits.append({"server": label, "fork_ms_per_gib": slope, "intercept_ms": intercept,
                 "r_squared": r2, "fastest_fork_ms_per_gib": fastest,
                 "fastest_intercept_ms": fastest_intercept, "fastest_r_squared": fastest_r2})
document = {"program": "kv_fork_cost", "machine": machine, "quick": quick == "true",
            "redis_server": redis_version, "forks_per_size": int(forks),
            "results": results, "fit": fits}
with open(out_path, "w") as out:
    json.dump(document, out, indent=2)
    out.write("\n")
PY
}

main() {
  machine_load=$(cut -d' ' -f1-3 /proc/loadavg)
  echo "BGSAVE's fork, by dataset size: latest_fork_usec (microseconds) of $forks forks ($(nproc) cores)"
  printf "%-17s %9s %9s %8s   %s\n" server keys "RSS MiB" median "latest_fork_usec of each fork"
  local name size port rss_kib usecs median label
  : >"$scratch/rows"
  for name in green clone redis; do
    for size in "${sizes[@]}"; do
      port=$(free_port)
      start_server "$name" "$port"
      fill "$port" "$size"
      rss_kib=$(awk '/^VmRSS/ { print $2 }' "/proc/$server_pid/status")
      usecs=()
      for _ in $(seq "$forks"); do usecs+=("$(fork_once "$port")"); done
      case "$name" in
        green | clone) label="spindle-kv $name" ;;
        *) label="redis-server" ;;
      esac
      median=$(printf "%s\n" "${usecs[@]}" | sort -n | sed -n "$(((forks + 1) / 2))p")
      printf "%-17s %9s %9s %8s   %s\n" "$label" "$size" "$(awk -v k="$rss_kib" 'BEGIN { printf "%.1f", k / 1024 }')" \
        "$median" "${usecs[*]}"
      (IFS=$'\t'; echo "$name"$'\t'"$label"$'\t'"$size"$'\t'"$rss_kib"$'\t'"${usecs[*]}") >>"$scratch/rows"
      stop_server
    done
  done
  [ -z "$json_file" ] || write_json "$json_file"
}

main
