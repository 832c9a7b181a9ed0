#!/usr/bin/env bash
# scripts/ci_configurations.sh — configures, builds and tests spindle in each checked
# configuration, each in a build directory of its own, and reports how long each took.
#
#   configuration  meson options                                 tests run     seeds
#   plain          -O2, debug info (assertions stay on)           natively       100
#   (debug info, since GCC emits the same code with or without -g, and the gdb test
#   needs it: it reads the records by field name, docs/13-debugging.md)
#   (-O2, not -O3: GCC 12 at -O3 reports false -Wrestrict/-Wstringop-overflow
#   warnings inside std::string, which -Werror would turn into failures)
#   sanitized      -Db_sanitize=address,undefined                 natively        20
#   valgrind       (project defaults: debugoptimized)             under memcheck   5
#   (each with -Dwerror=true: the project's default leaves warnings warnings, for builds of
#   spindle as a dependency; its own checked configurations make them errors)
#
# The sanitized and valgrind configurations must also report nothing: the test setups in
# meson.build make an ASan or UBSan report, or a memcheck error or leak, fail the test.
# SPINDLE_SEEDS is how many random-scheduler seeds each seeded test tries; the slow
# configurations try fewer.
#
# Usage: scripts/ci_configurations.sh [plain] [sanitized] [valgrind]   (default: all)
# Environment:
#   SPINDLE_CI_BUILD_ROOT  parent of the build directories (default: the source tree)
#   SPINDLE_SEEDS          overrides every configuration's seed count
#   JOBS                   parallel compile and test jobs (default: 2)
# Exits non-zero if any configuration fails to build or test; the others still run.
# Explained in: docs/11-performance.md (the checked configurations).
set -uo pipefail

source_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_root=${SPINDLE_CI_BUILD_ROOT:-$source_dir}
jobs=${JOBS:-2}

# Every configuration makes warnings errors: meson.build leaves them warnings by default,
# for people who build spindle as a dependency.
options_of() {
  case $1 in
    plain) echo "-Dwerror=true -Doptimization=2 -Ddebug=true" ;;
    sanitized) echo "-Dwerror=true -Db_sanitize=address,undefined -Dbenchmarks=disabled" ;;
    valgrind) echo "-Dwerror=true -Dbenchmarks=disabled" ;;
  esac
}

seeds_of() {
  case $1 in
    plain) echo 100 ;;
    sanitized) echo 20 ;;
    valgrind) echo 5 ;;
  esac
}

test_setup_of() {
  case $1 in
    valgrind) echo "--setup=valgrind" ;;
    sanitized) echo "--setup=sanitized" ;;
    *) echo "" ;;
  esac
}

# Configures, builds and tests one configuration in $build_root/build-ci-<name>.
run_configuration() {
  local name=$1 dir="$build_root/build-ci-$1"
  local -a options setup
  read -r -a options <<<"$(options_of "$name")"
  read -r -a setup <<<"$(test_setup_of "$name")"
  if [[ -d $dir ]]; then
    meson setup --reconfigure "$dir" "$source_dir" "${options[@]}" || return 1
  else
    meson setup "$dir" "$source_dir" "${options[@]}" || return 1
  fi
  ninja -C "$dir" -j "$jobs" || return 1
  SPINDLE_SEEDS=${SPINDLE_SEEDS:-$(seeds_of "$name")} \
    meson test -C "$dir" "${setup[@]}" --num-processes "$jobs" --print-errorlogs
}

configurations=("$@")
[[ ${#configurations[@]} -eq 0 ]] && configurations=(plain sanitized valgrind)

failed=0
summary=""
for name in "${configurations[@]}"; do
  if [[ -z $(options_of "$name") ]]; then
    echo "unknown configuration '$name' (known: plain, sanitized, valgrind)" >&2
    exit 2
  fi
  echo "=== $name ==="
  start=$(date +%s)
  if run_configuration "$name"; then verdict=passed; else verdict=FAILED; failed=1; fi
  summary+=$(printf '%-10s %-7s %5d s' "$name" "$verdict" $(($(date +%s) - start)))$'\n'
done

echo "=== summary (configure + build + test) ==="
printf '%s' "$summary"
exit "$failed"
