#!/usr/bin/env bash
# tests/check_format.sh — every C and C++ file of the project is laid out as .clang-format
# says (clang-format 14, Debian's package), so that one style runs through the tree.
# Explained in: docs/README.md (how the code is laid out).
#
#   tests/check_format.sh SOURCE_ROOT     fails, naming each file clang-format would change
#   tests/check_format.sh --self-test     shows the check fails on a file laid out otherwise
set -euo pipefail

check_tree() {
  local root=$1 bad=0 file
  cd "$root"
  # The tracked files where there is a git checkout, else every C/C++ file but build trees.
  local -a files
  if git -C "$root" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    mapfile -t files < <(git -C "$root" ls-files '*.cpp' '*.hpp' '*.h' '*.c')
  else
    mapfile -t files < <(find . -path './build*' -prune -o \
      \( -name '*.cpp' -o -name '*.hpp' -o -name '*.h' -o -name '*.c' \) -print)
  fi
  for file in "${files[@]}"; do
    [[ -f $file ]] || continue
    if ! clang-format --style=file --dry-run --Werror "$file" >/dev/null 2>&1; then
      echo "check_format: $file is not laid out as .clang-format says; run: clang-format -i $file" >&2
      bad=$((bad + 1))
    fi
  done
  if ((bad > 0)); then
    echo "check_format: $bad file(s) to format" >&2
    return 1
  fi
  echo "check_format: ${#files[@]} files, all formatted"
}

self_test_dir=""
self_test() {
  local here tmp
  here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  tmp=$(mktemp -d)
  self_test_dir=$tmp
  trap 'rm -rf "$self_test_dir"' EXIT
  cp "$here/.clang-format" "$tmp/"
  printf 'int formatted(int x) { return x + 1; }\n' >"$tmp/good.cpp"
  (check_tree "$tmp") || { echo "self-test: a formatted file was refused" >&2; exit 1; }
  printf 'int   badly( int x ){\n  return x+1 ;}\n' >"$tmp/bad.cpp"
  if (check_tree "$tmp" 2>/dev/null); then
    echo "self-test: an unformatted file passed" >&2
    exit 1
  fi
  echo "self-test: an unformatted file is caught"
}

case "${1:-}" in
  --self-test) self_test ;;
  "") echo "usage: $0 SOURCE_ROOT | --self-test" >&2; exit 2 ;;
  *) check_tree "$1" ;;
esac
