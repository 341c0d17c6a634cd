#!/usr/bin/env bash
# How close the engine itself comes to limit-raw (net/http echoing the body: ratio.sh's
# transform-raw), with less and less work per request: ratio.sh's method (wrk -t1 -c32, rounds
# alternating Nectar and the limit, the mean of the ratios) for three servers:
#   transform            the assert + JOLT pipeline of ratio.sh, history on (= ratio.sh transform-raw)
#   assert               the same without the JOLT step (bench/pipelines/transform-assert.yaml)
#   assert-no-history    the same, nectar serve --no-history: parse, one condition, answer
# The last is the engine's floor for this request: what parsing the body into a message, running
# a pipeline and encoding the answer cost over net/http's own work.
# Run it from anywhere:   bench/floor.sh [ROUNDS]      (default 4; WRK_D seconds per round, default 6s)
# Needs wrk (apt-get install -y wrk) and ../shared/limits.
set -u
rounds=${1:-4}
limits=$(cd "$(dirname "$0")/../../shared/limits" && pwd) || { echo "../shared/limits missing"; exit 1; }
cd "$(dirname "$0")/.." || exit 1 # the repository root, wherever it is run from
command -v wrk >/dev/null || { echo "wrk missing (apt-get install -y wrk)"; exit 1; }
t=$(mktemp -d); pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$t"' EXIT
go build -o "$t/nectar" ./cmd/nectar || exit 1
(cd "$limits/limit-raw" && go build -o "$t/limit" .) || exit 1
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
up() { for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$1/" && return 0; sleep 0.1; done; return 1; }
rps() {
  local line; line=$(wrk -t1 -c32 -d"${WRK_D:-6s}" --timeout 5s -s "$limits/transform.lua" "http://127.0.0.1:$1" 2>&1 | grep '^RESULT')
  case "$line" in *non2xx=0*) echo "$line" | sed -n 's/.*rps=\([0-9.]*\).*/\1/p';; *) echo 0;; esac
}
lp=$(port); "$t/limit" -addr 127.0.0.1:$lp >"$t/llog" 2>&1 & pids+=($!)
declare -A np
for server in transform assert assert-no-history; do
  mkdir -p "$t/$server"; args=()
  case "$server" in
    transform) cp bench/soak/pipelines/soak-transform.yaml "$t/$server/" ;;
    assert) cp bench/pipelines/transform-assert.yaml "$t/$server/" ;;
    assert-no-history) cp bench/pipelines/transform-assert.yaml "$t/$server/"; args=(--no-history) ;;
  esac
  np[$server]=$(port)
  "$t/nectar" serve "${args[@]}" --addr 127.0.0.1:${np[$server]} --dir "$t/$server" --data-dir "$t/data-$server" >"$t/$server.log" 2>&1 & pids+=($!)
done
for p in $lp "${np[@]}"; do up "$p" || { echo "a server did not start"; exit 1; }; done
for server in transform assert assert-no-history; do
  sum=0
  for i in $(seq 1 "$rounds"); do
    a=$(rps "${np[$server]}"); b=$(rps "$lp")
    r=$(python3 -c "print(round($a/$b,3) if $b>0 else 0)"); sum=$(python3 -c "print($sum+$r)")
    echo "$server round $i: nectar $a req/s, limit-raw $b req/s, ratio $r"
  done
  echo "$server: mean ratio nectar/limit-raw $(python3 -c "print(round($sum/$rounds,3))")"
done
