#!/usr/bin/env bash
# tests/install_test.sh BUILD_DIR SOURCE_DIR — proves spindle can be linked as a runtime:
#  1. installs the built library into a temporary root and builds an outside program
#     against it through pkg-config alone, and checks that the gdb extension lies on
#     gdb's auto-load path for the installed library (docs/13-debugging.md);
#  2. builds the same program in a meson project that uses spindle as a subproject
#     (through meson.override_dependency).
set -euo pipefail
build=$(realpath "$1")
source=$(realpath "$2")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== install into a temporary root, then compile and link through pkg-config"
meson install -C "$build" --no-rebuild --quiet --destdir "$work/root"
pc=$(find "$work/root" -name spindle.pc | head -n 1)
[ -n "$pc" ] || { echo "no spindle.pc was installed" >&2; exit 1; }
# The .pc file names the configured prefix; point it at the temporary root instead.
prefix=$(sed -n 's/^prefix=//p' "$pc")
sed -i "s|^prefix=.*|prefix=$work/root$prefix|" "$pc"
export PKG_CONFIG_PATH
PKG_CONFIG_PATH=$(dirname "$pc")
libdir=$(pkg-config --variable=libdir spindle)
# shellcheck disable=SC2046
c++ -std=c++20 "$source/tests/outside_program.cpp" -o "$work/outside" \
  $(pkg-config --cflags --libs spindle) -Wl,-rpath,"$libdir"
"$work/outside"
if ldd "$work/outside" | grep -q "$build"; then
  echo "the outside program linked the build tree's library, not the installed one" >&2
  exit 1
fi

echo "== the gdb extension is installed where gdb's auto-load looks for the library's"
library=$(find "$work/root" -name 'libspindle.so.*.*.*' ! -name '*.py' -type f | head -n 1)
script=$(find "$work/root" -name "$(basename "$library")-gdb.py" | head -n 1)
[ -n "$script" ] || { echo "no $(basename "$library")-gdb.py was installed" >&2; exit 1; }
# <root><datadir>/gdb/auto-load<libdir>/NAME-gdb.py, for the library at <root><libdir>/NAME.
if [[ ${script%/*}/$(basename "$library") != */gdb/auto-load"${library#"$work/root"}" ]]; then
  echo "the gdb script $script does not mirror the library's path $library" >&2
  exit 1
fi

echo "== use spindle as a meson subproject"
mkdir -p "$work/app/subprojects"
ln -s "$source" "$work/app/subprojects/spindle"
cp "$source/tests/outside_program.cpp" "$work/app/"
cat > "$work/app/meson.build" <<'MESON'
project('outside', 'cpp', default_options: ['cpp_std=c++20'])
spindle = dependency('spindle', fallback: ['spindle'])
executable('outside', 'outside_program.cpp', dependencies: spindle)
MESON
meson setup "$work/app/build" "$work/app" >/dev/null
ninja -C "$work/app/build" >/dev/null
"$work/app/build/outside"
echo "install_test: both ways work"
