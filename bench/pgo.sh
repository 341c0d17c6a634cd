#!/usr/bin/env bash
# Writes cmd/nectar/default.pgo, the CPU profile `go build ./cmd/nectar` optimizes the binary for
# (profile-guided optimization: https://go.dev/doc/pgo). The profile is of the requests Nectar's speed
# is measured by: the token request through the shipped /oauth/token pipelines and the transform
# pipeline (assert + JOLT shift) over customer.json, each under wrk for SECONDS, taken from the
# server's own /debug/pprof/profile and merged. Refresh it when the hot path changes much; a stale
# profile still builds (the compiler ignores what no longer matches) and only optimizes less. A new
# profile is not always a better one: build with the old and the new and compare them with
# bench/ab.sh before committing it (bench/README.md, "The profile the binary is built with").
# Run it from anywhere:   bench/pgo.sh [SECONDS]     (needs wrk and ../shared/limits)
set -u
source "$(dirname "$0")/lib.sh"
secs=${1:-20}
limits=$(cd "$(dirname "$0")/../../shared/limits" && pwd) || { echo "../shared/limits missing"; exit 1; }
cd "$(dirname "$0")/.." || exit 1 # the repository root, wherever it is run from
command -v wrk >/dev/null || { echo "wrk missing (apt-get install -y wrk)"; exit 1; }
t=$(mktemp -d); pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$t"' EXIT
go build -pgo=off -o "$t/nectar" ./cmd/nectar || exit 1 # profile the code, not a previous profile's build
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
mkdir -p "$t/pipes"; cp bench/soak/pipelines/soak-transform.yaml "$t/pipes/"
NECTAR_ADMIN_KEY=pgo-admin-key NECTAR_CREDENTIALS_APIKEY=pgo-cred-key "$t/nectar" serve --addr 127.0.0.1:$port \
  --dir "$t/pipes" --data-dir "$t/data" >"$t/log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done
token_lua "$port" pgo-cred-key "$limits" "$t/token.lua" || exit 1
cp "$limits/transform.lua" "$t/transform.lua"
for w in token transform; do
  wrk -t1 -c32 -d2s -s "$t/$w.lua" "http://127.0.0.1:$port" >/dev/null 2>&1 # warm up
  wrk -t1 -c32 -d"$((secs + 2))s" -s "$t/$w.lua" "http://127.0.0.1:$port" >"$t/$w.wrk" 2>&1 &
  wp=$!; sleep 1
  curl -sf -H 'Authorization: Bearer pgo-admin-key' "http://127.0.0.1:$port/debug/pprof/profile?seconds=$secs" -o "$t/$w.prof" || { echo "no profile: $(tail -3 "$t/log")"; exit 1; }
  wait $wp
  grep -q 'non2xx=0 ' "$t/$w.wrk" || { echo "$w: error answers: $(grep RESULT "$t/$w.wrk")"; exit 1; }
  echo "$w: $(grep -o 'requests=[0-9]*' "$t/$w.wrk") in $((secs + 2)) s"
done
go tool pprof -proto "$t/token.prof" "$t/transform.prof" >cmd/nectar/default.pgo 2>/dev/null || exit 1
echo "wrote cmd/nectar/default.pgo ($(wc -c <cmd/nectar/default.pgo) bytes)"
