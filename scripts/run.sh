#!/usr/bin/env bash
# scripts/run.sh — set up a fresh Debian 12 machine (as root), build spindle, and run
# either the comparison tour or the whole test suite.
#
#   scripts/run.sh tour    # install what is missing, build what the tour runs (ninja's
#                          # target `tour`), run the tour (the main job): the comparisons
#                          # at full size (7 minutes on 2 cores, and BGSAVE's fork
#                          # in real servers, 5 more at a load of 17), report and plots
#                          # in tour-report/
#   scripts/run.sh tour --quick [--out DIR]   # the same in under a minute, rougher
#   scripts/run.sh test    # install what is missing, then build and run every test in
#                          # each checked configuration (plain, ASan+UBSan, valgrind)
#
# Everything the project needs is installed here, from Debian's packages, so that a
# clean machine and CI get exactly what a developer has. Re-running is cheap: packages
# already present are not installed again, and the build is incremental.
set -euo pipefail

cd "$(dirname "$0")/.."
readonly build_dir="${SPINDLE_BUILD_DIR:-build}"

# Debian packages, by what needs them.
readonly packages=(
  g++ meson ninja-build pkgconf python3      # the build
  libboost-context-dev                        # the green backend's context switch
  doctest-dev valgrind                        # the tests, and memcheck's configuration
  gdb                                         # the gdb extension's test (tests/gdb_extension_test.sh)
  libcli11-dev                                # command-line flags of the examples
  nlohmann-json3-dev                          # the comparisons' JSON output (examples/compare)
  libbenchmark-dev libboost-fiber-dev         # spindle-bench, and Boost.Fiber as its peer
  redis-tools                                 # redis-cli for spindle-kv's tests, redis-benchmark
  redis-server                                # the reference in scripts/kv_benchmark.sh and kv tests
  python3-redis libhiredis-dev                # real Redis clients against spindle-kv's tests
  gnuplot-nox                                 # the tour report's plots (scripts/tour_report.py)
  cmake                                       # the CMake package config's test (tests/install_test.sh)
  strace                                      # docs/01's trace of fork and clone (tests/kernel_clone_trace_test.py)
  universal-ctags                             # the book's citations checked against definitions (tests/check_docs_references.py)
  clang-format                                # one layout through the tree (tests/check_format.sh)
)

missing_packages() {
  local p
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"
  done
}

install_packages() {
  local missing
  missing=$(missing_packages)
  [ -z "$missing" ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "run.sh: these Debian packages are missing: $missing" >&2
    echo "run.sh: run this script as root, or install them: apt-get install $missing" >&2
    exit 1
  fi
  echo "run.sh: installing: $missing"
  apt-get update -qq
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
}

# Configures the build directory if needed and builds what the tour runs, and only that:
# the alias target `tour` (examples/meson.build; scripts/tour.sh --programs lists it), not
# the tests and benchmarks, which scripts/ci_configurations.sh builds for `run.sh test`.
configure_and_build_the_tour() {
  if [ ! -f "$build_dir/build.ninja" ]; then
    meson setup "$build_dir" --buildtype=debugoptimized
  fi
  ninja -C "$build_dir" tour
}

main() {
  local what="${1:-}"
  case "$what" in
    tour | test) ;;
    *)
      echo "usage: scripts/run.sh tour [--quick] [--out DIR] | test" >&2
      exit 2
      ;;
  esac
  install_packages
  if [ "$what" = test ]; then
    exec scripts/ci_configurations.sh "${@:2}"
  fi
  configure_and_build_the_tour
  exec scripts/tour.sh "$build_dir" "${@:2}"
}

main "$@"
