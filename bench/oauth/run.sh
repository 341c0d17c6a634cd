#!/usr/bin/env bash
# Load script: POST /oauth/token (client_credentials, client authenticated
# with HTTP Basic) served by the shipped oauth-token pipeline under nectar
# serve, against the hand-written net/http token server of bench/oauth
# (cmd/baseline), which does the same checks and signing on the same kind
# of store. Prints requests/s and p99 of each and the ratio; nectar is
# measured with execution history on (the default) and off.
#
#   bench/oauth/run.sh [duration] [connections] [threads]
#
# Needs wrk (apt-get install -y wrk). Not part of the test suite.
set -euo pipefail
cd "$(dirname "$0")/../.."
source bench/lib.sh
setup "$@"

go build -o "$TMP/nectar" ./cmd/nectar
go build -o "$TMP/baseline" ./bench/oauth/cmd/baseline
export NECTAR_CREDENTIALS_APIKEY=bench-admin-key
empty=$(mktemp -d -p "$TMP")

# nectar: a fresh data directory, a client created through the credential provider.
start_nectar() { # port data-dir extra-flags...
  local port=$1 dir=$2; shift 2
  "$TMP/nectar" serve --dir "$empty" --data-dir "$dir" --addr "127.0.0.1:$port" --log-level warn --reload-interval 0 "$@" &
  wait_up "http://127.0.0.1:$port/healthz"
}
start_nectar 8094 "$TMP/data-history"
start_nectar 8095 "$TMP/data-nohistory" --no-history
create() { # port
  curl -fsS -X POST -H 'Content-Type: application/json' \
    --data '{"partnerId":"bench","executionType":"create","apikey":"bench-admin-key"}' "http://127.0.0.1:$1/credential-provider"
}
c1=$(create 8094)
c2=$(create 8095)
field() { sed -E "s/.*\"$1\":\"([^\"]*)\".*/\1/"; }

"$TMP/baseline" -addr 127.0.0.1:8093 -client-id bench-client -client-secret bench-secret-0123456789abcdefghijklmnopqrstuv &
wait_up "http://127.0.0.1:8093/oauth/token"

script() { # file id secret
  cat > "$1" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic $(printf '%s:%s' "$2" "$3" | base64 -w0)"
wrk.body = "grant_type=client_credentials"
LUA
}
script "$TMP/baseline.lua" bench-client bench-secret-0123456789abcdefghijklmnopqrstuv
script "$TMP/history.lua" "$(echo "$c1" | field clientId)" "$(echo "$c1" | field clientSecret)"
script "$TMP/nohistory.lua" "$(echo "$c2" | field clientId)" "$(echo "$c2" | field clientSecret)"
for s in baseline:8093 history:8094 nohistory:8095; do
  code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/x-www-form-urlencoded' \
    -H "$(grep Authorization "$TMP/${s%%:*}.lua" | sed -E 's/.*\["(.*)"\] = "(.*)"/\1: \2/')" --data grant_type=client_credentials "http://127.0.0.1:${s##*:}/oauth/token")
  [ "$code" = 200 ] || { echo "${s%%:*}: a token request answered $code" >&2; exit 1; }
done

# Rounds alternate the servers, so that load from anything else on the
# machine falls on all alike; the medians are reported.
ROUNDS=${ROUNDS:-3}
: > "$TMP/results"
for r in $(seq "$ROUNDS"); do
  measure baseline "$TMP/baseline.lua" http://127.0.0.1:8093/oauth/token >> "$TMP/results"
  measure history "$TMP/history.lua" http://127.0.0.1:8094/oauth/token >> "$TMP/results"
  measure nohistory "$TMP/nohistory.lua" http://127.0.0.1:8095/oauth/token >> "$TMP/results"
done
printf '%-22s %12s %10s\n' "token endpoint" "requests/s" "p99 (ms)"
printf '%-22s %12s %10s\n' "hand-written" "$(median baseline 2)" "$(median baseline 3)"
printf '%-22s %12s %10s\n' "nectar" "$(median history 2)" "$(median history 3)"
printf '%-22s %12s %10s\n' "nectar --no-history" "$(median nohistory 2)" "$(median nohistory 3)"
ratio() { awk -v a="$(median $1 2)" -v b="$(median baseline 2)" 'BEGIN {printf "%.0f%%", 100*a/b}'; }
echo "nectar/baseline throughput: $(ratio history) (history on), $(ratio nohistory) (history off); median of $ROUNDS alternating rounds; aim: at least 75%"
# Each round's own ratios, to show how much the machine moved.
awk '$1=="baseline" {b[++nb]=$2} $1=="history" {h[++nh]=$2} $1=="nohistory" {o[++no]=$2}
  END {printf "per round (history on / off):"; for (i=1; i<=nb; i++) printf " %.0f%%/%.0f%%", 100*h[i]/b[i], 100*o[i]/b[i]; print ""}' "$TMP/results"
