#!/usr/bin/env bash
# Load script: CPU per token request (POST /oauth/token, client_credentials
# in a form, ../shared/limits/token-form.lua; execution history on) in
#   - one nectar serve on bbolt (the default store), and
#   - each of two nectar serve replicas sharing one PostgreSQL database,
# each loaded alone, in turn, with the load of ../shared/limits/ratio.sh
# (wrk -t1 -c32). Prints requests/s and p99 of each, the CPU time a request
# costs in that nectar process and in PostgreSQL (every process of the
# cluster, from /proc/PID/stat utime+stime over the requests served), and
# each replica's nectar CPU per request divided by the bbolt process's.
#
#   bench/replicas/run.sh [duration] [connections]
#
# NECTAR_BIN measures a nectar binary built elsewhere (another commit).
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

if [ -n "${NECTAR_BIN:-}" ]; then # a nectar built elsewhere (another commit, to compare)
  cp "$NECTAR_BIN" "$TMP/nectar"
else
  go build -o "$TMP/nectar" ./cmd/nectar
fi
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
PG_A=$!
serve 8093 "$TMP/pg-b" "$DSN"
PG_B=$!
POSTMASTER=$(head -1 "$PGDIR/data/postmaster.pid")
for port in 8092 8093 8094; do
  for _ in $(seq 200); do
    curl -fs -o /dev/null "http://127.0.0.1:$port/readyz" && break
    sleep 0.1
  done
done

# One client per store (the PostgreSQL one is shared by both replicas); the
# requests are ../shared/limits/token-form.lua's (client_secret_post form),
# with the client's credentials.
LUA=${TOKEN_LUA:-../shared/limits/token-form.lua}
script() { # port file -> wrk script for a new client created through port
  local out cid sec
  out=$(curl -fsS -X POST -H 'Content-Type: application/json' \
    --data "{\"partnerId\":\"bench\",\"executionType\":\"create\",\"apikey\":\"$NECTAR_CREDENTIALS_APIKEY\"}" \
    "http://127.0.0.1:$1/credential-provider")
  cid=$(jq -r .clientId <<<"$out" | jq -sRr @uri | sed 's/%0A$//')
  sec=$(jq -r .clientSecret <<<"$out" | jq -sRr @uri | sed 's/%0A$//')
  sed -e "s|client_id=bench-client|client_id=$cid|" -e "s|client_secret=bench-secret-0123456789|client_secret=$sec|" \
    -e 's|&scope=read+write||' "$LUA" >"$2"
}
script 8094 "$TMP/bolt.lua"
script 8092 "$TMP/pg.lua"

for port in 8094 8092 8093; do # each answers before measuring
  lua=$TMP/pg.lua
  [ $port = 8094 ] && lua=$TMP/bolt.lua
  line=$(wrk -t1 -c1 -d1s -s "$lua" "http://127.0.0.1:$port" | grep '^RESULT')
  case "$line" in *non2xx=0*) ;; *) echo "port $port: /oauth/token does not answer 200: $line"; exit 1 ;; esac
done

# ticks: CPU time (user+system, in clock ticks) used so far by the pids.
ticks() { for p in "$@"; do cat "/proc/$p/stat" 2>/dev/null; done | awk '{ sub(/^.*\) /, ""); t += $12 + $13 } END { print t + 0 }'; }
pg_pids() { echo "$POSTMASTER $(pgrep -P "$POSTMASTER" | tr '\n' ' ')"; }
HZ=$(getconf CLK_TCK)

# measure name port script nectar-pid with-postgres: one wrk (-t1 -c32, the
# load of ratio.sh) on one process; prints requests/s, p99, non-2xx and the
# CPU microseconds per request in that nectar process and in PostgreSQL.
measure() {
  wrk -t1 -c"$CONN" -d3s -s "$3" "http://127.0.0.1:$2" >/dev/null # warm up
  local n0 p0 n1 p1 line reqs
  n0=$(ticks "$4")
  p0=$(ticks $(pg_pids))
  line=$(wrk -t1 -c"$CONN" -d"$DUR" --timeout 5s -s "$3" "http://127.0.0.1:$2" | grep '^RESULT')
  n1=$(ticks "$4")
  p1=$(ticks $(pg_pids))
  reqs=$(sed -n 's/.*requests=\([0-9]*\).*/\1/p' <<<"$line")
  rps=$(sed -n 's/.*rps=\([0-9.]*\).*/\1/p' <<<"$line")
  p99=$(sed -n 's/.*p99_us=\([0-9]*\).*/\1/p' <<<"$line")
  non2xx=$(sed -n 's/.*non2xx=\([0-9]*\).*/\1/p' <<<"$line")
  ncpu=$(awk -v d=$((n1 - n0)) -v r="$reqs" -v hz="$HZ" 'BEGIN { printf "%.0f", d / hz * 1e6 / r }')
  pcpu=0
  [ "$5" = yes ] && pcpu=$(awk -v d=$((p1 - p0)) -v r="$reqs" -v hz="$HZ" 'BEGIN { printf "%.0f", d / hz * 1e6 / r }')
  echo "$1 $rps ${p99}us ${non2xx:-0} $ncpu $pcpu"
}

if [ -n "${PROFILE:-}" ]; then # a CPU profile of replica a under load, saved to $PROFILE
  (sleep 5 && curl -fsS -o "$PROFILE" -H "Authorization: Bearer $(cat "$TMP/pg-a/admin.key")" \
    "http://127.0.0.1:8092/debug/pprof/profile?seconds=5") &
fi
b=$(measure bbolt 8094 "$TMP/bolt.lua" "$BOLT_PID" no)
ra=$(measure replica-a 8092 "$TMP/pg.lua" "$PG_A" yes)
rb=$(measure replica-b 8093 "$TMP/pg.lua" "$PG_B" yes)
printf '%-10s %11s %10s %8s %14s %16s\n' setup "requests/s" p99 non-2xx "nectar µs/req" "postgres µs/req"
for r in "$b" "$ra" "$rb"; do printf '%-10s %11s %10s %8s %14s %16s\n' $r; done
for r in "$ra" "$rb"; do
  awk -v n="$(cut -d' ' -f1 <<<"$r")" -v a="$(cut -d' ' -f5 <<<"$r")" -v b="$(cut -d' ' -f5 <<<"$b")" \
    'BEGIN { printf "%s ÷ bbolt, nectar CPU per request: %.2f\n", n, a / b }'
done
