#!/usr/bin/env bash
# Load script: the shipped OAuth2 token endpoint (POST /oauth/token,
# client_credentials with HTTP Basic, execution history on) served by
#   - one nectar serve on bbolt (the default store), and
#   - two nectar serve replicas sharing one PostgreSQL database,
# each measured with wrk; prints requests/s and p99 of each and the ratio.
# The two replicas get half of wrk's threads and connections each (wrk's
# Lua setup assigns each thread an address), which is what a round-robin
# load balancer in front of them does, without a proxy's cost.
#
#   bench/replicas/run.sh [duration] [connections] [threads]
#
# PG_PARAMS adds connection parameters to the replicas' DSN
# (pool_max_conns=16); SERVE_ARGS adds flags to every nectar serve
# (--no-history).
#
# Needs wrk (apt-get install -y wrk) and PostgreSQL 15's server binaries
# (apt-get install -y postgresql-15). The database runs with its defaults
# (fsync and synchronous_commit on), as bbolt syncs its commits: a fair
# comparison of durable stores. Everything runs on this machine, so the
# replicas, PostgreSQL and wrk share its cores; the CPU time each request
# costs in nectar and in PostgreSQL (from /proc) tells what separate
# machines would give. Not part of the test suite.
set -euo pipefail
cd "$(dirname "$0")/../.."
DUR=${1:-15s}
CONN=${2:-32}
THREADS=${3:-2}
PGBIN=${NECTAR_PG_BIN:-/usr/lib/postgresql/15/bin}
TMP=$(mktemp -d)
PGDIR=$(mktemp -d /tmp/nectar-bench-pg-XXXXXX)
RUN=()
if [ "$(id -u)" = 0 ]; then # initdb refuses root
  chown postgres: "$PGDIR"
  RUN=(runuser -u postgres --)
fi
cleanup() {
  kill $(jobs -p) 2>/dev/null || true
  wait 2>/dev/null || true
  "${RUN[@]}" "$PGBIN/pg_ctl" -D "$PGDIR/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$TMP" "$PGDIR"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PGPORT=$(free_port)
"${RUN[@]}" "$PGBIN/initdb" -D "$PGDIR/data" -U postgres -A trust -E UTF8 --no-locale >/dev/null
"${RUN[@]}" "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/log" -w \
  -o "-p $PGPORT -k $PGDIR -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null
DSN="postgres://postgres@127.0.0.1:$PGPORT/postgres?sslmode=disable${PG_PARAMS:+&$PG_PARAMS}"

go build -o "$TMP/nectar" ./cmd/nectar
mkdir -p "$TMP/pipelines" # only the shipped pipelines are served

export NECTAR_CREDENTIALS_APIKEY=bench-credentials-key
export NECTAR_MASTER_KEY=$(head -c 32 /dev/urandom | base64)
serve() { # port data-dir [store]
  NECTAR_STORE=${3:-} "$TMP/nectar" serve --dir "$TMP/pipelines" --data-dir "$2" --addr "127.0.0.1:$1" \
    --log-level warn --reload-interval 0 ${SERVE_ARGS:-} 2>>"$TMP/serve.log" &
}
serve 8094 "$TMP/bolt"
BOLT_PID=$!
serve 8092 "$TMP/pg-a" "$DSN"
PG_PIDS="$!"
serve 8093 "$TMP/pg-b" "$DSN"
PG_PIDS="$PG_PIDS $!"
POSTMASTER=$(head -1 "$PGDIR/data/postmaster.pid")
for port in 8092 8093 8094; do
  for _ in $(seq 200); do
    curl -fs -o /dev/null "http://127.0.0.1:$port/readyz" && break
    sleep 0.1
  done
done

# One client per store (the PostgreSQL one is shared by both replicas).
basic() { # port -> Basic credentials of a new client
  local out
  out=$(curl -fsS -X POST -H 'Content-Type: application/json' \
    --data "{\"partnerId\":\"bench\",\"executionType\":\"create\",\"apikey\":\"$NECTAR_CREDENTIALS_APIKEY\"}" \
    "http://127.0.0.1:$1/credential-provider")
  printf '%s:%s' "$(jq -r .clientId <<<"$out")" "$(jq -r .clientSecret <<<"$out")" | base64 -w0
}
BOLT_BASIC=$(basic 8094)
PG_BASIC=$(basic 8092)

script() { # file basic ports...
  local file=$1 basic=$2
  shift 2
  {
    echo 'wrk.method = "POST"'
    echo 'wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"'
    echo "wrk.headers[\"Authorization\"] = \"Basic $basic\""
    echo 'wrk.body = "grant_type=client_credentials"'
    echo "local ports = {$(printf '"%s",' "$@")}"
    echo 'local n = 0'
    echo 'function setup(thread)'
    echo '  n = n + 1'
    echo '  thread.addr = wrk.lookup("127.0.0.1", ports[(n - 1) % #ports + 1])[1]'
    echo 'end'
  } >"$file"
}
script "$TMP/bolt.lua" "$BOLT_BASIC" 8094
script "$TMP/pg.lua" "$PG_BASIC" 8092 8093

for f in bolt pg; do # both answer before measuring
  port=8094
  [ $f = pg ] && port=8092
  code=$(curl -s -o "$TMP/check.json" -w '%{http_code}' -X POST -H "Authorization: Basic $( [ $f = pg ] && echo "$PG_BASIC" || echo "$BOLT_BASIC")" \
    --data grant_type=client_credentials "http://127.0.0.1:$port/oauth/token")
  if [ "$code" != 200 ]; then echo "$f: /oauth/token answered $code: $(cat "$TMP/check.json")"; exit 1; fi
done

# ticks: CPU time (user+system, in clock ticks) used so far by the pids.
ticks() { for p in "$@"; do cat "/proc/$p/stat" 2>/dev/null; done | awk '{ sub(/^.*\) /, ""); t += $12 + $13 } END { print t + 0 }'; }
pg_pids() { echo "$POSTMASTER $(pgrep -P "$POSTMASTER" | tr '\n' ' ')"; }
HZ=$(getconf CLK_TCK)

measure() { # name script nectar-pids with-postgres
  wrk -t"$THREADS" -c"$CONN" -d3s -s "$2" http://127.0.0.1:8094/oauth/token >/dev/null # warm up
  local n0 p0
  n0=$(ticks $3)
  p0=$(ticks $(pg_pids))
  wrk -t"$THREADS" -c"$CONN" -d"$DUR" --latency -s "$2" http://127.0.0.1:8094/oauth/token >"$TMP/$1.txt"
  local n1 p1 reqs
  n1=$(ticks $3)
  p1=$(ticks $(pg_pids))
  reqs=$(awk '/requests in/ {print $1}' "$TMP/$1.txt")
  rps=$(awk '/Requests\/sec/ {print $2}' "$TMP/$1.txt")
  p99=$(awk '$1=="99%" {print $2}' "$TMP/$1.txt")
  non2xx=$(awk '/Non-2xx/ {print $4}' "$TMP/$1.txt")
  # CPU microseconds per request, in nectar and in PostgreSQL.
  ncpu=$(awk -v d=$((n1 - n0)) -v r="$reqs" -v hz="$HZ" 'BEGIN { printf "%.0f", d / hz * 1e6 / r }')
  pcpu=0
  [ "$4" = yes ] && pcpu=$(awk -v d=$((p1 - p0)) -v r="$reqs" -v hz="$HZ" 'BEGIN { printf "%.0f", d / hz * 1e6 / r }')
  echo "$1 $rps $p99 ${non2xx:-0} $ncpu $pcpu"
}

b=$(measure bbolt-x1 "$TMP/bolt.lua" "$BOLT_PID" no)
if [ -n "${PROFILE:-}" ]; then # a CPU profile of one replica under load, saved to $PROFILE
  (sleep 5 && curl -fsS -o "$PROFILE" -H "Authorization: Bearer $(cat "$TMP/pg-a/admin.key")" \
    "http://127.0.0.1:8092/debug/pprof/profile?seconds=5") &
fi
p=$(measure postgres-x2 "$TMP/pg.lua" "$PG_PIDS" yes)
printf '%-12s %12s %10s %8s %14s %16s\n' setup "requests/s" p99 non-2xx "nectar µs/req" "postgres µs/req"
printf '%-12s %12s %10s %8s %14s %16s\n' $b
printf '%-12s %12s %10s %8s %14s %16s\n' $p
awk -v a="$(echo $p | cut -d' ' -f2)" -v b="$(echo $b | cut -d' ' -f2)" 'BEGIN {printf "postgres-x2/bbolt-x1 throughput: %.0f%%\n", 100*a/b}'
