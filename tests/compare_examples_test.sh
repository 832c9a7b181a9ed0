#!/usr/bin/env bash
# tests/compare_examples_test.sh PROGRAM... — runs the comparisons of examples/compare
# (spawn_cost, fork_cost, context_switch, scale, skynet, c10k, idle_cpu, policies: the paths
# of one or more, in any order) as the tour does, with --quick, and checks that
#  1. each one's --json document is sane (tests/compare_examples_check.py: the keys, every
#     model, positive spreads in order, the limits named, skynet's sums right, idle
#     processor times that are times, the policies' shares and fairness);
#  2. the checker catches broken copies of those documents, so this test can fail;
#  3. --help succeeds, and a bad flag fails with a message that names the flag;
#  4. policies without CAP_SYS_NICE (as root, through setpriv) reports its real-time rows
#     as not permitted and runs the others.
# c10k needs redis-benchmark (Debian's redis-tools, which scripts/run.sh installs): without
# it, c10k must say so, the others run, and the test ends as skipped (status 77).
# Explained in: docs/12-comparisons.md (code: the comparisons).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
check="$here/compare_examples_check.py"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
[ "$#" -ge 1 ] || { echo "usage: $0 PROGRAM... (the comparisons' paths)" >&2; exit 2; }
skipped=

documents=()
for program in "$@"; do
  name=$(basename "$program")
  if [ "$name" = c10k ] && ! command -v redis-benchmark >/dev/null; then
    echo "== $name: redis-benchmark is not installed (Debian: redis-tools); skipped"
    if "$program" --quick >"$work/out" 2>&1 || ! grep -q redis-tools "$work/out"; then
      echo "$name did not refuse to run without redis-benchmark, naming redis-tools:" >&2
      cat "$work/out" >&2
      exit 1
    fi
    skipped="$skipped $name"
    continue
  fi
  echo "== $name --quick --json"
  "$program" --quick --json >"$work/$name.json" 2>"$work/$name.err" || {
    echo "$name failed:" >&2
    cat "$work/$name.err" >&2
    exit 1
  }
  python3 "$check" "$name" "$work/$name.json"
  documents+=("$work/$name.json")
done

echo "== the checker catches broken documents"
[ "${#documents[@]}" -eq 0 ] || python3 "$check" --self-test "${documents[@]}"

# A bad value for each program's own flag: the exit status is not 0, and the message
# names the flag.
# expect_refusal PROGRAM FLAG VALUE [OTHER FLAG...]
expect_refusal() {
  local program=$1 flag=$2 value=$3 status=0
  "$program" "$flag" "$value" "${@:4}" >"$work/out" 2>&1 || status=$?
  if [ "$status" -eq 0 ] || ! grep -q -- "$flag" "$work/out"; then
    echo "$(basename "$program") $flag $value: status $status, and the output was:" >&2
    cat "$work/out" >&2
    exit 1
  fi
  echo "$(basename "$program") refuses $flag $value"
}

echo "== --help, and bad flags"
for program in "$@"; do
  "$program" --help >"$work/help" || { echo "$(basename "$program") --help failed" >&2; exit 1; }
  expect_refusal "$program" --repetitions 1
  case "$(basename "$program")" in
    fork_cost) expect_refusal "$program" --max-gib 1000 ;;
    # A JSON file that cannot be written is an error naming the flag, after the run.
    spawn_cost) expect_refusal "$program" --json-file "$work/no-such-folder/x.json" --quick ;;
    scale) expect_refusal "$program" --max-clone-threads 1000000 ;;
    skynet) expect_refusal "$program" --leaves 300 ;;
    c10k) expect_refusal "$program" --clients 10,ten,1000 ;;
    idle_cpu) expect_refusal "$program" --seconds 0 ;;
    policies)
      expect_refusal "$program" --slice-us 5
      # Without CAP_SYS_NICE (and no RLIMIT_RTPRIO) the real-time rows must say "not
      # permitted" and the rest run: as root, drop the capability with setpriv.
      if [ "$(id -u)" = 0 ] && [ "$(ulimit -r)" = 0 ] && command -v setpriv >/dev/null; then
        setpriv --bounding-set -sys_nice --inh-caps -sys_nice "$program" --quick --json \
          >"$work/refused.json" 2>"$work/refused.err" || {
          status=$?
          echo "policies without CAP_SYS_NICE failed with status $status:" >&2
          cat "$work/refused.err" >&2
          exit 1
        }
        python3 "$check" policies "$work/refused.json"
        python3 -c 'import json, sys
rows = [r for r in json.load(open(sys.argv[1]))["results"] if "SCHED_" in r["scheduler"]]
sys.exit(0 if len(rows) == 2 and all(not r["ran"] and r["note"].startswith("not permitted")
                                      for r in rows) else f"real-time rows without CAP_SYS_NICE: {rows}")' \
          "$work/refused.json"
        echo "policies without CAP_SYS_NICE: the real-time rows say not permitted"
      fi
      ;;
  esac
done
if [ -n "$skipped" ]; then
  echo "skipped, for want of redis-benchmark:$skipped; every other comparison ran, and its JSON is sane"
  exit 77
fi
echo "every comparison ran, and its JSON is sane"
