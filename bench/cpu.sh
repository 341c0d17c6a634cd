#!/usr/bin/env bash
# CPU time per request of one `nectar serve`, the measure that stays steady on a shared machine
# where requests per second move with whatever else runs: process CPU (user + sys, from
# /proc/PID/stat) over the requests wrk got answered, in microseconds; for nectar also the bytes
# the process allocated and the collections it ran, per request (go_memstats_alloc_bytes_total and
# go_gc_duration_seconds_count from /metrics, over the same requests).
# Run it from anywhere:   bench/cpu.sh token|transform|transform-assert [ROUNDS] [SECONDS]
#   token      POST /oauth/token, client_credentials in the form body (ratio.sh token's request)
#   transform  POST /transform, assert + JOLT shift of customer.json (ratio.sh transform's request,
#              bench/soak/pipelines/soak-transform.yaml)
#   transform-assert  the same request served without the JOLT step (bench/pipelines/transform-assert.yaml):
#              what the engine costs around a pipeline's steps
# SERVE_ARGS adds flags to nectar serve (SERVE_ARGS=--no-history: the same without the history).
# LIMIT=1 measures the hand-written limit instead, the same way (limit-token for token, limit-raw for
# transform): how much CPU net/http and the kernel take for the same request with no engine.
# BIN=path/to/nectar measures a prebuilt binary instead of building this checkout's.
# Compare two builds by running it in each checkout in turn (or with BIN=), on the same machine, in
# one session.
# Needs wrk (apt-get install -y wrk) and ../shared/limits for the wrk scripts.
set -u
source "$(dirname "$0")/lib.sh"
what=${1:?usage: bench/cpu.sh token|transform|transform-assert [ROUNDS] [SECONDS]}; rounds=${2:-3}; secs=${3:-8}
limits=$(cd "$(dirname "$0")/../../shared/limits" && pwd) || { echo "../shared/limits missing"; exit 1; }
cd "$(dirname "$0")/.." || exit 1 # the repository root, wherever it is run from
command -v wrk >/dev/null || { echo "wrk missing (apt-get install -y wrk)"; exit 1; }
t=$(mktemp -d); pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$t"' EXIT
if [ -n "${BIN:-}" ]; then cp "$BIN" "$t/nectar" || exit 1; else go build -o "$t/nectar" ./cmd/nectar || exit 1; fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
mkdir -p "$t/pipes"
case "$what" in
  token) lua=token-form.lua ;;
  transform) lua=transform.lua; cp bench/soak/pipelines/soak-transform.yaml "$t/pipes/" ;;
  transform-assert) lua=transform.lua; cp bench/pipelines/transform-assert.yaml "$t/pipes/" ;;
  *) echo "unknown measure $what"; exit 2 ;;
esac
if [ -n "${LIMIT:-}" ]; then
  case "$what" in token) limit=limit-token ;; transform) limit=limit-raw ;; *) echo "no limit server for $what"; exit 2 ;; esac
  (cd "$limits/$limit" && go build -o "$t/limit" .) || exit 1
  "$t/limit" -addr 127.0.0.1:$port >"$t/log" 2>&1 &
else
  NECTAR_ADMIN_KEY=cpu-admin-key NECTAR_CREDENTIALS_APIKEY=cpu-admin-key "$t/nectar" serve ${SERVE_ARGS:-} --addr 127.0.0.1:$port --dir "$t/pipes" --data-dir "$t/data" >"$t/log" 2>&1 &
fi
pid=$!
for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done
sed -e 's|&scope=read+write||' "$limits/$lua" >"$t/w.lua"
if [ "$what" = token ] && [ -z "${LIMIT:-}" ]; then token_lua "$port" cpu-admin-key "$limits" "$t/w.lua" || exit 1; fi
cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; } # clock ticks (1/100 s)
# gc: bytes allocated and collections so far (nectar's /metrics; nothing for a limit server).
gc() {
  [ -n "${LIMIT:-}" ] && return
  curl -s -H 'Authorization: Bearer cpu-admin-key' "http://127.0.0.1:$port/metrics" |
    awk '$1=="go_memstats_alloc_bytes_total" {a=$2} $1=="go_gc_duration_seconds_count" {g=$2} END {printf "%.0f %d", a, g}'
}
wrk -t1 -c32 -d2s -s "$t/w.lua" "http://127.0.0.1:$port" >/dev/null 2>&1 # warm up
for i in $(seq 1 "$rounds"); do
  a=$(cpu); g0=$(gc); line=$(wrk -t1 -c32 -d"${secs}s" -s "$t/w.lua" "http://127.0.0.1:$port" 2>&1 | grep '^RESULT'); b=$(cpu); g1=$(gc)
  case "$line" in *non2xx=0*) ;; *) echo "round $i: error answers: $line"; exit 1 ;; esac
  req=$(echo "$line" | sed -n 's/.*requests=\([0-9]*\).*/\1/p')
  mem=
  if [ -n "$g0" ]; then
    mem=$(python3 -c "a0, c0 = map(int, '$g0'.split()); a1, c1 = map(int, '$g1'.split()); print(f', {(a1 - a0) / $req:.0f} bytes allocated, {(c1 - c0) * 1000 / $req:.3f} collections per 1000 requests')")
  fi
  echo "round $i: $req requests, $(python3 -c "print(round(($b - $a) * 10000 / $req, 1))") µs CPU per request$mem"
done
