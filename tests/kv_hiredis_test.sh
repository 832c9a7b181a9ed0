#!/usr/bin/env bash
# tests/kv_hiredis_test.sh SPINDLE_KV BACKEND CLIENT — runs CLIENT (tests/kv_hiredis_test.c,
# built against Debian's libhiredis-dev) against spindle-kv on the given backend, started
# as the other shell tests start it (tests/kv_start_server.sh), and stops the server after.
# Explained in: docs/10-spindle-kv.md (testing against redis).
set -euo pipefail
[ "$#" -eq 3 ] || { echo "usage: $0 SPINDLE_KV green|clone|mn CLIENT" >&2; exit 2; }
program=$1 backend=$2 client=$3

# shellcheck source=tests/kv_start_server.sh
source "$(dirname "$0")/kv_start_server.sh"
start_spindle_kv "$program" "$backend"

timeout 120 "$client" "$port"
echo "hiredis against spindle-kv ($backend): ok"
