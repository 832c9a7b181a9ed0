#!/usr/bin/env bash
# tests/kv_fork_cost_test.sh BUILD_DIR SOURCE_DIR — BGSAVE's fork comparison
# (scripts/kv_fork_cost.sh), run small as the full tour runs it large. Checks that
#  1. with --sizes and --json-file it writes a sane document (tests/compare_examples_check.py
#     kv_fork_cost: every server forked at every size, its memory grew with its keys, a
#     line per server), and the checker catches broken copies of it;
#  2. the tour's report draws its plot from it (scripts/tour_report.py), beside fork_cost's;
#  3. a bad --sizes and a --json-file that cannot be written fail with a message naming
#     the flag.
# Needs redis-server and redis-cli (redis-server and redis-tools, which scripts/run.sh
# installs): without them the test is skipped (status 77).
# Explained in: docs/12-comparisons.md (BGSAVE's fork in a real server).
set -euo pipefail
build_dir=${1:?usage: kv_fork_cost_test.sh BUILD_DIR SOURCE_DIR}
source_dir=${2:?usage: kv_fork_cost_test.sh BUILD_DIR SOURCE_DIR}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
script="$source_dir/scripts/kv_fork_cost.sh"
check="$source_dir/tests/compare_examples_check.py"

fail() { echo "kv_fork_cost_test: $*" >&2; exit 1; }
for program in redis-server redis-cli; do
  command -v "$program" >/dev/null || { echo "$program is not installed; skipped"; exit 77; }
done

echo "== kv_fork_cost.sh --sizes 0,20000,100000 --json-file"
mkdir "$work/report"
bash "$script" "$build_dir" --sizes 0,20000,100000 --json-file "$work/report/kv_fork_cost.json" \
  >"$work/report/kv_fork_cost.md" 2>"$work/err" || { cat "$work/err" >&2; fail "the script failed"; }
cat "$work/report/kv_fork_cost.md"
python3 "$check" kv_fork_cost "$work/report/kv_fork_cost.json"
python3 "$check" --self-test "$work/report/kv_fork_cost.json"

echo "== the report plots it"
python3 "$source_dir/scripts/tour_report.py" "$work/report" >/dev/null
[ -s "$work/report/plots/kv_fork_cost.png" ] || fail "the report drew no plots/kv_fork_cost.png"
grep -q '^!\[.*\](plots/kv_fork_cost.png)' "$work/report/report.md" ||
  fail "the report does not show its plot"
grep -q "^- spindle-kv clone: .* ms of fork per GiB" "$work/report/report.md" ||
  fail "the report gives no line for spindle-kv clone"

# expect_refusal FLAG VALUE: the script exits non-zero with a message naming FLAG.
expect_refusal() {
  local status=0
  bash "$script" "$build_dir" "$1" "$2" >"$work/out" 2>&1 || status=$?
  if [ "$status" -eq 0 ] || ! grep -q -- "$1" "$work/out"; then
    cat "$work/out" >&2
    fail "$1 $2: status $status"
  fi
  echo "refused: $(head -n 1 "$work/out")"
}
echo "== bad flags"
expect_refusal --sizes ten,twenty
expect_refusal --sizes 1000
expect_refusal --json-file "$work/no-such-folder/x.json"
echo "BGSAVE's fork was measured in every server, and the report drew it"
