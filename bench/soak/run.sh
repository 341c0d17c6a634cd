#!/usr/bin/env bash
# Soak: mixed load on one nectar serve (history on, small --history-max),
# sampled every 10 s into bench/soak/out/soak.csv and drawn as
# bench/soak/out/soak.svg; prints the pass rules and exits 1 when one fails
# (2 when the soak could not run). Loopback only. See bench/soak/README.md.
#
#   bench/soak/run.sh [DURATION] [driver flags]     # DURATION default 30m; CI runs 60s
#   bench/soak/run.sh 60s -token-rate 80 -out /tmp/soak
set -euo pipefail
cd "$(dirname "$0")/../.."
DUR=${1:-30m}
shift || true
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
go build -o "$TMP/nectar" ./cmd/nectar
go build -o "$TMP/soak" ./bench/soak
# The driver is bounded (the warm-up, DURATION and five minutes at most)
# and stops the server it starts; a TERM or INT sent here is passed on to
# it, so that it stops the server and reports before this script exits.
set +e
"$TMP/soak" -nectar "$TMP/nectar" -duration "$DUR" "$@" &
driver=$!
trap 'kill -TERM "$driver" 2>/dev/null' TERM INT
wait "$driver"; rc=$?
while kill -0 "$driver" 2>/dev/null; do wait "$driver"; rc=$?; done
exit "$rc"
