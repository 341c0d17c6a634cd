#!/usr/bin/env bash
# Two nectar binaries (or one under two settings) served side by side and loaded in alternating
# rounds, the way to compare builds on a shared machine where a single round moves by ±10 %:
# requests per second of B ÷ A per round, and the mean with its standard error over the rounds;
# process CPU per request of each (/proc/PID/stat over the requests, as bench/cpu.sh measures).
# One binary on both sides (an A/A run) shows the harness's own spread.
# Run it from anywhere:   bench/ab.sh A_BIN B_BIN [ROUNDS]      (default 30)
#   WHAT=token|transform  the request (default token: ratio.sh's token request with a real client)
#   A_ENV, B_ENV          environment assignments for each side, e.g. B_ENV=GOGC=800
#   WRK_D                 seconds of each round (default 4s)
# Needs wrk (apt-get install -y wrk) and ../shared/limits.
set -u
source "$(dirname "$0")/lib.sh"
a_bin=${1:?usage: bench/ab.sh A_BIN B_BIN [ROUNDS]}; b_bin=${2:?usage: bench/ab.sh A_BIN B_BIN [ROUNDS]}; rounds=${3:-30}
a_bin=$(realpath "$a_bin"); b_bin=$(realpath "$b_bin")
limits=$(cd "$(dirname "$0")/../../shared/limits" && pwd) || { echo "../shared/limits missing"; exit 1; }
cd "$(dirname "$0")/.." || exit 1 # the repository root, wherever it is run from
command -v wrk >/dev/null || { echo "wrk missing (apt-get install -y wrk)"; exit 1; }
what=${WHAT:-token}
case "$what" in token|transform) ;; *) echo "unknown measure $what"; exit 2 ;; esac
t=$(mktemp -d); pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$t"' EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
ports=()
for side in a b; do
  bin=$a_bin; envs=${A_ENV:-}; [ $side = b ] && { bin=$b_bin; envs=${B_ENV:-}; }
  p=$(port); ports+=("$p"); mkdir -p "$t/$side"
  cp bench/soak/pipelines/soak-transform.yaml "$t/$side/"
  env $envs NECTAR_CREDENTIALS_APIKEY=ab-admin-key "$bin" serve --addr 127.0.0.1:$p --dir "$t/$side" \
    --data-dir "$t/data-$side" >"$t/$side.log" 2>&1 & pids+=($!)
done
for i in 0 1; do
  for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:${ports[$i]}/" && break; sleep 0.1; done
  if [ "$what" = token ]; then token_lua "${ports[$i]}" ab-admin-key "$limits" "$t/$i.lua" || exit 1
  else cp "$limits/transform.lua" "$t/$i.lua"; fi
done
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; } # clock ticks (1/100 s)
round() { # round I: prints requests/s and µs of CPU per request of side I
  local pid=${pids[$1]} c0 c1 line req
  c0=$(cpu "$pid"); line=$(wrk -t1 -c32 -d"${WRK_D:-4s}" --timeout 5s -s "$t/$1.lua" "http://127.0.0.1:${ports[$1]}" 2>&1 | grep '^RESULT'); c1=$(cpu "$pid")
  case "$line" in *non2xx=0*) ;; *) echo "error answers: $line" >&2; return 1 ;; esac
  req=$(echo "$line" | sed -n 's/.*requests=\([0-9]*\).*/\1/p')
  echo "$(echo "$line" | sed -n 's/.*rps=\([0-9.]*\).*/\1/p') $(python3 -c "print(round(($c1 - $c0) * 10000 / $req, 1))")"
}
round 0 >/dev/null && round 1 >/dev/null || exit 1 # warm up
: >"$t/rounds"
for i in $(seq 1 "$rounds"); do
  read -r ra ca < <(round 0) || exit 1; read -r rb cb < <(round 1) || exit 1
  echo "$ra $ca $rb $cb" >>"$t/rounds"
  echo "round $i: A $ra req/s, $ca µs CPU/request; B $rb req/s, $cb µs CPU/request; B ÷ A $(python3 -c "print(round($rb / $ra, 3))")"
done
python3 - "$t/rounds" <<'PY'
import statistics as st, sys
rows = [[float(x) for x in line.split()] for line in open(sys.argv[1])]
ratio = [rb / ra for ra, _, rb, _ in rows]
dcpu = [cb - ca for _, ca, _, cb in rows]
se = lambda xs: st.stdev(xs) / len(xs) ** 0.5 if len(xs) > 1 else float('nan')
print(f"{len(rows)} rounds: requests/s B ÷ A {st.mean(ratio):.3f} ± {se(ratio):.3f} (mean ± s.e.; median {st.median(ratio):.3f});"
      f" CPU per request A {st.mean(r[1] for r in rows):.1f} µs, B {st.mean(r[3] for r in rows):.1f} µs, B − A {st.mean(dcpu):+.1f} ± {se(dcpu):.1f} µs")
PY
