#!/usr/bin/env bash
# Load script: an HTTP-triggered pipeline (assert + JOLT shift renaming five
# fields, passing the rest) under nectar serve, with execution history on,
# against the hand-written net/http handler of bench/baseline, both on the
# same ~1 KB record. Prints requests/s and p99 of each and the ratio.
#
#   bench/run.sh [duration] [connections] [threads]
#
# Needs wrk (apt-get install -y wrk). Not part of the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
setup "$@"

go build -o "$TMP/nectar" ./cmd/nectar
go build -o "$TMP/baseline" ./bench/cmd/baseline

cat > "$TMP/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open("bench/record.json", "rb")
wrk.body = f:read("*a")
f:close()
LUA

"$TMP/nectar" serve --dir bench/pipelines --data-dir "$TMP/data" --addr 127.0.0.1:8090 --log-level warn --reload-interval 0 &
"$TMP/baseline" -addr 127.0.0.1:8091 &
for port in 8090 8091; do
  for _ in $(seq 100); do
    curl -fsS -o /dev/null -X POST -H 'Content-Type: application/json' --data @bench/record.json "http://127.0.0.1:$port/bench" && break
    sleep 0.1
  done
done

# Rounds alternate the two handlers, so that load from anything else on the
# machine falls on both alike; the medians are reported.
ROUNDS=${ROUNDS:-3}
: > "$TMP/results"
for r in $(seq "$ROUNDS"); do
  measure baseline "$TMP/post.lua" http://127.0.0.1:8091/bench >> "$TMP/results"
  measure nectar "$TMP/post.lua" http://127.0.0.1:8090/bench >> "$TMP/results"
done
printf '%-10s %12s %10s\n' handler "requests/s" "p99 (ms)"
for h in baseline nectar; do
  printf '%-10s %12s %10s\n' "$h" "$(median $h 2)" "$(median $h 3)"
done
awk -v a="$(median nectar 2)" -v b="$(median baseline 2)" 'BEGIN {printf "nectar/baseline throughput: %.0f%% (median of '"$ROUNDS"' alternating rounds)\n", 100*a/b}'
# Each round's own ratio, to show how much the machine moved.
awk '$1=="baseline" {b[++nb]=$2} $1=="nectar" {n[++nn]=$2}
  END {printf "per round:"; for (i=1; i<=nb; i++) printf " %.0f%%", 100*n[i]/b[i]; print ""}' "$TMP/results"
echo "executions recorded: $(curl -fsS -H "Authorization: Bearer $(cat "$TMP/data/admin.key")" 'http://127.0.0.1:8090/api/executions?limit=1000' | grep -o '"id"' | wc -l) (last 1000 listed)"
