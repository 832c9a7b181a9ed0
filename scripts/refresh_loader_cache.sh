#!/usr/bin/env sh
# scripts/refresh_loader_cache.sh — run by `meson install` (runtime/meson.build) after the
# library is installed: refreshes the dynamic loader's cache, so that a program linked
# against the freshly installed libspindle.so.0 starts without LD_LIBRARY_PATH.
#
# ld.so finds a library in its cache (/etc/ld.so.cache, written by ldconfig from
# /etc/ld.so.conf.d/) or in the few directories built into it (/lib/<multiarch>,
# /usr/lib/<multiarch>, ...); /usr/local/lib, the default install's libdir, is listed in
# ld.so.conf.d but is not built in, so a library installed there is found only once
# ldconfig has run. Skipped when staging into DESTDIR (a package build runs ldconfig in
# its own triggers) and when not root (the cache is root's: the script says what to run).
# Explained in: docs/02-the-api.md (using spindle from your program).
set -eu
libdir=$1
if [ -n "${DESTDIR:-}" ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "spindle: not root, so the loader's cache was not refreshed: run ldconfig as root," \
    "or LD_LIBRARY_PATH=$libdir, if $libdir is not in ld.so's search path" >&2
  exit 0
fi
for ldconfig in /sbin/ldconfig /usr/sbin/ldconfig; do
  if [ -x "$ldconfig" ]; then
    "$ldconfig"
    exit 0
  fi
done
echo "spindle: no ldconfig found; programs may not find $libdir/libspindle.so.0" >&2
