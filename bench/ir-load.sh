#!/usr/bin/env bash
# Instructions per request of one server process under ratio.sh's load (wrk -t1 -c32), counted by
# callgrind: Nectar's and the hand-written limit's, side by side, with the collector, the history's
# batched commits and the scheduler included as they run under concurrent requests. Steadier than
# CPU time on a shared machine, where other work moves requests per second by ±10 %.
# Run it from anywhere:   bench/ir-load.sh token|transform [SECONDS]      (default 15)
#   token      POST /oauth/token through the shipped pipelines (a real client), or limit-token
#   transform  POST /transform, the assert + JOLT pipeline over customer.json, or limit-raw
# LIMIT=1 measures the limit server instead of nectar (limit-token, limit-raw).
# CACHE=1 adds callgrind's cache simulation: L1 instruction and data misses per request, which
#   instruction counts do not show (a request that touches more code and memory runs more cycles
#   per instruction), and callgrind's cycle estimate, instructions + 10 × L1 misses + 100 ×
#   last-level misses (valgrind's manual, "Cycle Estimation").
# BIN=path/to/nectar measures a prebuilt binary; the environment (GOGC, …) passes through.
# Under callgrind the server runs one thread at a time, about 50× slower: the counts are per
# request, the requests per second are not a measure. A run moves by 1–2 %: compare over several.
# Needs valgrind, wrk and ../shared/limits.
set -u
source "$(dirname "$0")/lib.sh"
what=${1:?usage: bench/ir-load.sh token|transform [SECONDS]}; secs=${2:-15}
limits=$(cd "$(dirname "$0")/../../shared/limits" && pwd) || { echo "../shared/limits missing"; exit 1; }
bin=${BIN:+$(realpath "$BIN")}
cd "$(dirname "$0")/.." || exit 1 # the repository root, wherever it is run from
command -v valgrind >/dev/null || { echo "needs valgrind"; exit 1; }
command -v wrk >/dev/null || { echo "wrk missing (apt-get install -y wrk)"; exit 1; }
case "$what" in
  token) limit=limit-token; lua=token-form.lua ;;
  transform) limit=limit-raw; lua=transform.lua ;;
  *) echo "unknown measure $what"; exit 2 ;;
esac
t=$(mktemp -d); pid=
trap '[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$t"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
cg=(valgrind --tool=callgrind --callgrind-out-file="$t/cg.out")
[ -n "${CACHE:-}" ] && cg+=(--cache-sim=yes)
# asyncpreemptoff: callgrind does not survive Go's preemption signals.
if [ -n "${LIMIT:-}" ]; then
  (cd "$limits/$limit" && go build -o "$t/server" .) || exit 1
  GODEBUG=asyncpreemptoff=1 "${cg[@]}" "$t/server" -addr 127.0.0.1:$port >"$t/log" 2>&1 &
else
  if [ -z "$bin" ]; then go build -o "$t/nectar" ./cmd/nectar || exit 1; bin=$t/nectar; fi
  mkdir -p "$t/pipes"; cp bench/soak/pipelines/soak-transform.yaml "$t/pipes/"
  GODEBUG=asyncpreemptoff=1 NECTAR_CREDENTIALS_APIKEY=ir-admin-key "${cg[@]}" "$bin" serve --addr 127.0.0.1:$port \
    --dir "$t/pipes" --data-dir "$t/data" >"$t/log" 2>&1 &
fi
pid=$!
for _ in $(seq 1 600); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.2; done
sed -e 's|&scope=read+write||' "$limits/$lua" >"$t/w.lua"
if [ "$what" = token ] && [ -z "${LIMIT:-}" ]; then token_lua "$port" ir-admin-key "$limits" "$t/w.lua" || exit 1; fi
wrk -t1 -c32 -d5s --timeout 10s -s "$t/w.lua" "http://127.0.0.1:$port" >/dev/null 2>&1 # warm up
sleep 0.5; callgrind_control -d "$pid" >/dev/null 2>&1 # counters restart here
line=$(wrk -t1 -c32 -d"${secs}s" --timeout 10s -s "$t/w.lua" "http://127.0.0.1:$port" 2>&1 | grep '^RESULT')
sleep 0.5; callgrind_control -d "$pid" >/dev/null 2>&1
case "$line" in *non2xx=0*) ;; *) echo "error answers: $line"; exit 1 ;; esac
req=$(echo "$line" | sed -n 's/.*requests=\([0-9]*\).*/\1/p')
[ -f "$t/cg.out.2" ] || { echo "no counters dumped: $(tail -3 "$t/log")"; exit 1; }
python3 - "$t/cg.out.2" "$req" "$what" "${LIMIT:+$limit}" <<'PY'
import sys
path, req, what, who = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4] or 'nectar'
events = totals = None
for line in open(path):
    if line.startswith('events:'): events = line.split()[1:]
    elif line.startswith(('summary:', 'totals:')) and totals is None: totals = [int(x) for x in line.split()[1:]]
per = dict(zip(events, (n / req for n in totals)))
out = f"{who} {what}: {req} requests, {per['Ir']:.0f} instructions per request"
if 'I1mr' in per:
    l1 = per['I1mr'] + per['D1mr'] + per['D1mw']
    ll = per['ILmr'] + per['DLmr'] + per['DLmw']
    out += (f"; L1 misses per request: instructions {per['I1mr']:.0f}, data {per['D1mr'] + per['D1mw']:.0f};"
            f" last-level {ll:.0f}; estimated cycles {per['Ir'] + 10 * l1 + 100 * ll:.0f}")
print(out)
PY
