# Functions shared by the load scripts (bench/run.sh, bench/oauth/run.sh;
# token_lua by bench/cpu.sh, bench/ir-load.sh and bench/pgo.sh, which need
# none of the others). For setup, measure and median, source it from the
# repository root and call setup "$@" first; the measurements go to
# $TMP/results, a line per measure:
#   name requests/s p99 non-2xx

# setup [duration] [connections] [threads]: the script's arguments, as DUR
# (default 15s), CONN (32) and THREADS (2); TMP, a temporary folder removed
# at exit, when the servers the script started in the background are
# stopped.
setup() {
  DUR=${1:-15s}
  CONN=${2:-32}
  THREADS=${3:-2}
  TMP=$(mktemp -d)
  trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$TMP"' EXIT
}

# measure NAME LUA URL: a 2 s warm-up, then DUR of load with wrk running the
# Lua script; prints the line.
measure() {
  wrk -t"$THREADS" -c"$CONN" -d2s -s "$2" "$3" >/dev/null # warm up
  wrk -t"$THREADS" -c"$CONN" -d"$DUR" --latency -s "$2" "$3" > "$TMP/$1.txt"
  rps=$(awk '/Requests\/sec/ {print $2}' "$TMP/$1.txt")
  p99=$(awk '$1=="99%" {print $2}' "$TMP/$1.txt")
  non2xx=$(awk '/Non-2xx/ {print $4}' "$TMP/$1.txt")
  echo "$1 $rps $p99 ${non2xx:-0}"
}

# median NAME COLUMN: the median of COLUMN (2: requests/s, 3: p99) over
# NAME's lines of $TMP/results.
median() {
  awk -v n="$1" -v c="$2" '$1==n {print $c}' "$TMP/results" | sed 's/ms$//' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}

# wait_up URL: waits up to 10 s for anything to answer at URL.
wait_up() {
  for _ in $(seq 100); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done
  echo "nothing answers at $1" >&2; exit 1
}

# token_lua PORT APIKEY LIMITS OUT: makes a client of the credential provider
# of the nectar serve on PORT (started with NECTAR_CREDENTIALS_APIKEY=APIKEY)
# and writes OUT, ratio.sh's token request (LIMITS/token-form.lua) with that
# client's id and secret and without the scope, as ratio.sh sends it.
token_lua() {
  local creds cid sec
  creds=$(curl -s -H 'Content-Type: application/json' \
    -d "{\"partnerId\":\"bench\",\"executionType\":\"create\",\"apikey\":\"$2\"}" "http://127.0.0.1:$1/credential-provider")
  read -r cid sec < <(echo "$creds" | python3 -c 'import json,sys,urllib.parse as u; d=json.load(sys.stdin); print(u.quote(d["clientId"]), u.quote(d["clientSecret"]))') ||
    { echo "no client: $creds"; return 1; }
  sed -e "s|client_id=bench-client|client_id=$cid|" -e "s|client_secret=bench-secret-0123456789|client_secret=$sec|" \
    -e 's|&scope=read+write||' "$3/token-form.lua" >"$4"
}
