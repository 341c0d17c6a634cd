#!/usr/bin/env bash
# How close the engine itself comes to a limit server, with less and less work per request:
# ratio.sh's method (wrk -t1 -c32, rounds alternating Nectar and the limit, the mean of the
# ratios) for three Nectar servers each, their rounds interleaved.
#   bench/floor.sh [transform] [ROUNDS]   against limit-raw (net/http echoing the body: ratio.sh's
#                                          transform-raw)
#     transform            the assert + JOLT pipeline of ratio.sh, history on (= ratio.sh transform-raw)
#     assert               the same without the JOLT step (bench/pipelines/transform-assert.yaml)
#     assert-no-history    the same, nectar serve --no-history: parse, one condition, answer
#   bench/floor.sh token [ROUNDS]          against limit-token (ratio.sh token's request)
#     token                the shipped /oauth/token pipelines, history on (= ratio.sh token)
#     token-no-snapshots   the same, --history-snapshots=none: records without input and output
#     token-no-history     the same, --no-history: nothing recorded (steps still counted in /metrics)
# transform-raw's last line is the engine's floor for that request: what parsing the body into a
# message, running a pipeline and encoding the answer cost over net/http's own work. token's lines
# split what the execution history (masked records, stored in bbolt) costs a token request.
# Run it from anywhere; ROUNDS defaults to 4, WRK_D (seconds per round) to 6s.
# Needs wrk (apt-get install -y wrk) and ../shared/limits.
set -u
what=transform
case "${1:-}" in transform|token) what=$1; shift ;; esac
rounds=${1:-4}
limits=$(cd "$(dirname "$0")/../../shared/limits" && pwd) || { echo "../shared/limits missing"; exit 1; }
cd "$(dirname "$0")/.." || exit 1 # the repository root, wherever it is run from
. bench/lib.sh
command -v wrk >/dev/null || { echo "wrk missing (apt-get install -y wrk)"; exit 1; }
t=$(mktemp -d); pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$t"' EXIT
go build -o "$t/nectar" ./cmd/nectar || exit 1
if [ "$what" = token ]; then
  limit=limit-token servers=(token token-no-snapshots token-no-history)
else
  limit=limit-raw servers=(transform assert assert-no-history)
fi
(cd "$limits/$limit" && go build -o "$t/limit" .) || exit 1
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
up() { for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$1/" && return 0; sleep 0.1; done; return 1; }
rps() {
  local line; line=$(wrk -t1 -c32 -d"${WRK_D:-6s}" --timeout 5s -s "$2" "http://127.0.0.1:$1" 2>&1 | grep '^RESULT')
  case "$line" in *non2xx=0*) echo "$line" | sed -n 's/.*rps=\([0-9.]*\).*/\1/p';; *) echo 0;; esac
}
lp=$(port); "$t/limit" -addr 127.0.0.1:$lp >"$t/llog" 2>&1 & pids+=($!)
declare -A np
for server in "${servers[@]}"; do
  mkdir -p "$t/$server"; args=()
  case "$server" in
    transform) cp bench/soak/pipelines/soak-transform.yaml "$t/$server/" ;;
    assert) cp bench/pipelines/transform-assert.yaml "$t/$server/" ;;
    assert-no-history) cp bench/pipelines/transform-assert.yaml "$t/$server/"; args=(--no-history) ;;
    token-no-snapshots) args=(--history-snapshots=none) ;;
    token-no-history) args=(--no-history) ;;
  esac
  np[$server]=$(port)
  NECTAR_CREDENTIALS_APIKEY=floor-admin-key "$t/nectar" serve "${args[@]}" --addr 127.0.0.1:${np[$server]} \
    --dir "$t/$server" --data-dir "$t/data-$server" >"$t/$server.log" 2>&1 & pids+=($!)
done
for p in $lp "${np[@]}"; do up "$p" || { echo "a server did not start"; exit 1; }; done
if [ "$what" = token ]; then
  sed -e 's|&scope=read+write||' "$limits/token-form.lua" >"$t/limit.lua"
  for server in "${servers[@]}"; do token_lua "${np[$server]}" floor-admin-key "$limits" "$t/$server.lua" || exit 1; done
else
  cp "$limits/transform.lua" "$t/limit.lua"
  for server in "${servers[@]}"; do cp "$limits/transform.lua" "$t/$server.lua"; done
fi
# Rounds interleave the servers (each round runs every server, each followed by the limit), so
# that the machine's drift over a run falls on all of them alike.
declare -A sum
for server in "${servers[@]}"; do sum[$server]=0; done
for i in $(seq 1 "$rounds"); do
  for server in "${servers[@]}"; do
    a=$(rps "${np[$server]}" "$t/$server.lua"); b=$(rps "$lp" "$t/limit.lua")
    r=$(python3 -c "print(round($a/$b,3) if $b>0 else 0)"); sum[$server]=$(python3 -c "print(${sum[$server]}+$r)")
    echo "$server round $i: nectar $a req/s, $limit $b req/s, ratio $r"
  done
done
for server in "${servers[@]}"; do
  echo "$server: mean ratio nectar/$limit $(python3 -c "print(round(${sum[$server]}/$rounds,3))")"
done
