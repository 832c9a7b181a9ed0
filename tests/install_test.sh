#!/usr/bin/env bash
# tests/install_test.sh BUILD_DIR SOURCE_DIR — proves the README's "Using spindle in your
# program" as written, on a throwaway copy of this machine's /usr/local and /etc:
#  1. in a mount namespace of its own, /usr/local and /etc become overlays whose writes go
#     to a scratch tmpfs, so that the install below is a real one to the default prefix
#     (and ldconfig's cache a real one) that vanishes with the namespace;
#  2. a fresh `meson setup` of the source, with dpkg-architecture hidden as on a fresh
#     Debian 12 without dpkg-dev, must choose the same prefix and libdir as BUILD_DIR (the
#     README's `meson setup build`); then `meson install -C BUILD_DIR`, as the README says;
#  3. the README's sample program (its first cpp block) is built with the README's own
#     pkg-config line, and as the README's CMake project (its cmake block,
#     find_package(spindle) and spindle::spindle), each with no environment variables
#     (env -i, a plain PATH), and each runs and must load /usr/local's libspindle.so.0;
#  4. gdb, started on the installed program with no options, auto-loads the installed gdb
#     extension (docs/13-debugging.md): its file mirrors the library's path under
#     <datadir>/gdb/auto-load;
#  5. link only what is used: tests/interposition_check.cpp built with pkg-config's
#     spindle (the green backend alone) keeps libc's setuid, its family, sigprocmask and
#     pthread_sigmask, and built with spindle-clone (and as a CMake project with
#     spindle::clone) gets libspindle-clone's;
#  6. the same program builds in a meson project that uses spindle as a subproject; and
#     there, with default_library=static, the clone backend's replacements are linked
#     into a clone program and stay out of a green one.
# Exit 77 (meson's "skipped") only if the namespace cannot be made (not root, or no mount
# namespaces in this container), or if BUILD_DIR was configured with another prefix or
# libdir than a fresh set-up gets (the recipe uses the defaults).
# Explained in: docs/02-the-api.md (using spindle from your program).
set -euo pipefail

if [ "${1:-}" != --inside ]; then
  [ "$#" -eq 2 ] || { echo "usage: tests/install_test.sh BUILD_DIR SOURCE_DIR" >&2; exit 2; }
  self=$(realpath "$0")
  # Root, as the README's recipe is run: a user namespace's root could not write the
  # build directory, which belongs to the real root.
  namespace=(unshare --mount --propagation private)
  if [ "$(id -u)" -ne 0 ] || ! "${namespace[@]}" true 2>/dev/null; then
    echo "install_test: SKIPPED: cannot make a mount namespace (${namespace[*]}, as root:" \
      "uid $(id -u)); run as root (CI does) to test the README's install into /usr/local" >&2
    exit 77
  fi
  exec "${namespace[@]}" "$self" --inside "$(realpath "$1")" "$(realpath "$2")"
fi
build=$2
source=$3
command -v cmake >/dev/null ||
  { echo "cmake is not installed: apt-get install cmake (scripts/run.sh installs it)" >&2; exit 1; }
work=$(mktemp -d)
trap 'umount -l "$work" 2>/dev/null || true; rm -rf "$work"' EXIT

# The throwaway root: the system as it is, with every write to /usr/local and /etc kept
# in the scratch tmpfs.
mount -t tmpfs scratch "$work"
for dir in /usr/local /etc; do
  name=${dir//\//_}
  mkdir -p "$work/upper$name" "$work/work$name"
  if ! mount -t overlay overlay \
    -o "lowerdir=$dir,upperdir=$work/upper$name,workdir=$work/work$name" "$dir"; then
    echo "install_test: SKIPPED: cannot mount an overlay over $dir in the namespace" >&2
    exit 77
  fi
done
# What a program sees with no environment variables set.
clean=(env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$work")

# The README's recipe, read from the README itself, so that the test follows the text.
readme="$source/README.md"
recipe=$(sed -n '/^## Using spindle in your program/,/^## /p' "$readme")
expected_setup='meson setup build && ninja -C build && meson install -C build'
grep -qxF "    $expected_setup" <<<"$recipe" ||
  { echo "README.md's install line is no longer '$expected_setup': update this test" >&2; exit 1; }
link_line=$(grep -m1 '^    c++ .*pkg-config --cflags --libs spindle' <<<"$recipe" | sed 's/^    //')
[ -n "$link_line" ] || { echo "README.md has no pkg-config compile line" >&2; exit 1; }
cmake_build_line=$(grep -m1 '^    cmake -S ' <<<"$recipe" | sed 's/^    //')
[ -n "$cmake_build_line" ] || { echo "README.md has no cmake command line" >&2; exit 1; }
mkdir -p "$work/app" "$work/cmake-app"
# The first block of each language: the sample program, and the CMake project.
first_block() { awk -v fence="\`\`\`$1" '$0 == fence { on = 1; next } on && /^```$/ { exit } on'; }
first_block cpp <"$readme" >"$work/app/app.cpp"
first_block cmake <<<"$recipe" >"$work/cmake-app/CMakeLists.txt"
if [ ! -s "$work/app/app.cpp" ] || [ ! -s "$work/cmake-app/CMakeLists.txt" ]; then
  echo "README.md lacks its cpp sample or its CMakeLists.txt" >&2
  exit 1
fi
cp "$work/app/app.cpp" "$work/cmake-app/"

echo "== a fresh 'meson setup' (no dpkg-architecture, as on a fresh Debian) picks the build's directories"
if [ -e /usr/bin/dpkg-architecture ]; then mount --bind /bin/false /usr/bin/dpkg-architecture; fi
"${clean[@]}" meson setup "$work/fresh" "$source" >"$work/fresh.log" 2>&1 ||
  { cat "$work/fresh.log" >&2; exit 1; }
directories() {
  meson introspect --buildoptions "$1" | python3 -c '
import json, sys
o = {x["name"]: x["value"] for x in json.load(sys.stdin)}
print(o["prefix"], o["libdir"])'
}
read -r prefix libdir <<<"$(directories "$work/fresh")"
read -r build_prefix build_libdir <<<"$(directories "$build")"
echo "a fresh set-up installs into $prefix/$libdir"
if [ "$prefix $libdir" != "$build_prefix $build_libdir" ]; then
  echo "install_test: SKIPPED: $build was configured with prefix=$build_prefix" \
    "libdir=$build_libdir, not what a fresh 'meson setup' gives ($prefix, $libdir):" \
    "the README's recipe uses the defaults (meson configure $build -Dlibdir=$libdir)" >&2
  exit 77
fi

echo "== meson install -C build, into the default prefix"
meson install -C "$build" --no-rebuild --quiet
installed="$prefix/$libdir/libspindle.so.0"
[ -e "$installed" ] || { echo "no $installed after meson install" >&2; exit 1; }

# Runs the program $1 with no environment; it must print the sum and load $installed.
runs_on_the_installed_library() {
  "${clean[@]}" "$1" || { echo "$1 failed (exit $?)" >&2; exit 1; }
  local loaded
  loaded=$("${clean[@]}" ldd "$1" | awk '$1 == "libspindle.so.0" { print $3 }')
  [ "$loaded" = "$installed" ] ||
    { echo "$1 loads libspindle.so.0 from '$loaded', not $installed" >&2; exit 1; }
}

echo "== the README's sample, with: $link_line"
(cd "$work/app" && "${clean[@]}" bash -c "$link_line")
runs_on_the_installed_library "$work/app/a.out"

echo "== the README's CMake project (find_package(spindle), spindle::spindle): $cmake_build_line"
(cd "$work/cmake-app" && "${clean[@]}" bash -c "$cmake_build_line" >"$work/cmake.log" 2>&1) ||
  { cat "$work/cmake.log" >&2; exit 1; }
runs_on_the_installed_library "$work/cmake-app/build/app"

echo "== the gdb extension is installed where gdb's auto-load looks for the library's"
library=$(readlink -f "$installed")
script="$prefix/share/gdb/auto-load$library-gdb.py"
[ -f "$script" ] || { echo "no $script was installed (the gdb extension)" >&2; exit 1; }
if command -v gdb >/dev/null; then
  # With the two lines docs/13 tells a user of a /usr/local install to add, gdb loads
  # the script when it loads the library; the command's help exists only if it did.
  "${clean[@]}" gdb -nx -batch -iex "add-auto-load-scripts-directory $prefix/share/gdb/auto-load" \
    -iex "add-auto-load-safe-path $prefix/share/gdb/auto-load" \
    -ex "break main" -ex run -ex "help info spindle-threads" "$work/app/a.out" \
    >"$work/gdb.log" 2>&1 || true
  grep -q "List every spindle thread" "$work/gdb.log" ||
    { cat "$work/gdb.log" >&2; echo "gdb did not auto-load $script" >&2; exit 1; }
fi

echo "== link only what is used: a green program keeps libc's setuid, a clone program gets spindle's"
check="$source/tests/interposition_check.cpp"
(cd "$work/app" && "${clean[@]}" bash -c \
  "c++ -std=c++20 -o green-check '$check' \$(pkg-config --cflags --libs spindle) -ldl")
"${clean[@]}" "$work/app/green-check" libc
(cd "$work/app" && "${clean[@]}" bash -c \
  "c++ -std=c++20 -DUSES_CLONE_THREADS -o clone-check '$check' \$(pkg-config --cflags --libs spindle-clone) -ldl")
"${clean[@]}" "$work/app/clone-check" libspindle-clone
! "${clean[@]}" "$work/app/green-check" libspindle-clone >/dev/null ||
  { echo "the interposition check cannot fail" >&2; exit 1; }
mkdir -p "$work/cmake-clone"
cp "$check" "$work/cmake-clone/"
cat >"$work/cmake-clone/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.16)
project(clone_check CXX)
find_package(spindle 0.1 REQUIRED)
add_executable(clone_check interposition_check.cpp)
target_compile_definitions(clone_check PRIVATE USES_CLONE_THREADS)
target_link_libraries(clone_check PRIVATE spindle::clone ${CMAKE_DL_LIBS})
CMAKE
(cd "$work/cmake-clone" && "${clean[@]}" bash -c "cmake -S . -B build && cmake --build build" \
  >"$work/cmake-clone.log" 2>&1) || { cat "$work/cmake-clone.log" >&2; exit 1; }
"${clean[@]}" "$work/cmake-clone/build/clone_check" libspindle-clone

echo "== use spindle as a meson subproject"
mkdir -p "$work/sub/subprojects"
ln -s "$source" "$work/sub/subprojects/spindle"
cp "$source/tests/outside_program.cpp" "$work/sub/"
cat >"$work/sub/meson.build" <<'MESON'
project('outside', 'cpp', default_options: ['cpp_std=c++20'])
spindle = dependency('spindle', fallback: ['spindle'])
executable('outside', 'outside_program.cpp', dependencies: spindle)
MESON
# Away from the installed copy, so that the fallback (the subproject) is what is used.
umount /usr/local
meson setup "$work/sub/build" "$work/sub" >/dev/null
ninja -C "$work/sub/build" >/dev/null
"$work/sub/build/outside"

echo "== the static libraries, as a subproject: the replacements are in the clone program only"
mkdir -p "$work/static/subprojects"
ln -s "$source" "$work/static/subprojects/spindle"
cp "$check" "$work/static/"
cat >"$work/static/meson.build" <<'MESON'
project('static', 'cpp', default_options: ['cpp_std=c++20', 'default_library=static'])
dl = meson.get_compiler('cpp').find_library('dl', required: false)
executable('green_check', 'interposition_check.cpp',
  dependencies: [dependency('spindle', fallback: ['spindle']), dl])
executable('clone_check', 'interposition_check.cpp', cpp_args: ['-DUSES_CLONE_THREADS'],
  dependencies: [dependency('spindle-clone', fallback: ['spindle']), dl])
MESON
meson setup "$work/static/build" "$work/static" >/dev/null
ninja -C "$work/static/build" >/dev/null
"$work/static/build/green_check" libc
"$work/static/build/clone_check" program
echo "install_test: the README's recipe, CMake, the subproject and the split libraries all work"
