#!/usr/bin/env bash
# Instructions the whole `nectar serve` process runs per transform request (net/http, GC and the
# history's commits included), counted by callgrind: steadier than CPU time on a shared machine.
# Run from the repository root:   bench/ir-serve.sh [N1] [N2]      (defaults 1000 3000)
# It serves bench/soak/pipelines/soak-transform.yaml under valgrind --tool=callgrind, sends 300
# warm-up requests, then N1, then N2 (one at a time on one keep-alive connection, the body
# ../shared/limits/customer.json), dumping the counters after each (callgrind_control
# -d), and prints (Ir(N2 part) − Ir(N1 part)) / (N2 − N1). A run moves by a few thousand with the
# collector's and the history's batching: compare builds over several runs, alternating.
# BIN=path/to/nectar measures a prebuilt binary instead of building this checkout.
# Needs valgrind and ../shared/limits.
set -u
n1=${1:-1000}; n2=${2:-3000}
limits=$(cd "$(dirname "$0")/../../shared/limits" && pwd) || { echo "../shared/limits missing"; exit 1; }
command -v valgrind >/dev/null || { echo "needs valgrind"; exit 1; }
t=$(mktemp -d); pid=
trap '[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$t"' EXIT
bin=${BIN:-}
if [ -z "$bin" ]; then go build -o "$t/nectar" ./cmd/nectar || exit 1; bin=$t/nectar; fi
mkdir -p "$t/pipes"; cp bench/soak/pipelines/soak-transform.yaml "$t/pipes/"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
# asyncpreemptoff: callgrind does not survive Go's preemption signals (nor a SIGTERM: the process
# is killed once counted).
GODEBUG=asyncpreemptoff=1 NECTAR_CREDENTIALS_APIKEY=ir-admin-key valgrind --tool=callgrind \
  --callgrind-out-file="$t/cg.out" "$bin" serve --addr 127.0.0.1:$port --dir "$t/pipes" --data-dir "$t/data" >"$t/log" 2>&1 &
pid=$!
for _ in $(seq 1 600); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.2; done
send() { # send N requests one at a time on one keep-alive connection, then dump the counters
  python3 - "$port" "$1" "$limits/customer.json" <<'PY' || exit 1
import http.client, sys
port, n, body = int(sys.argv[1]), int(sys.argv[2]), open(sys.argv[3], 'rb').read()
c = http.client.HTTPConnection('127.0.0.1', port)
for _ in range(n):
    c.request('POST', '/transform', body, {'Content-Type': 'application/json'})
    r = c.getresponse(); r.read()
    if r.status != 200: sys.exit('status %d' % r.status)
PY
  sleep 0.5; callgrind_control -d "$pid" >/dev/null 2>&1
}
send 300; send "$n1"; send "$n2"
ir() { sed -n 's/^summary: *//p;s/^totals: *//p' "$1" | head -1; }
a=$(ir "$t/cg.out.2"); b=$(ir "$t/cg.out.3")
echo "$(python3 -c "print(round(($b - $a) / ($n2 - $n1)))") instructions per request ($n1: $a, $n2: $b)"
