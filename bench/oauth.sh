#!/usr/bin/env bash
# OAuth machine traffic, in one run: client-credentials grants per second
# per algorithm, token introspections per second, and /healthz as the floor
# of a bare HTTP answer. One throwaway `gatehouse serve` (fresh SQLite, real
# settings) pinned to CPU 0; wrk pinned to CPU 1, so each figure is one core
# against one core. Prints a Markdown table and writes
# bench/results/oauth-<UTC timestamp>.json.
#
# Usage: bench/oauth.sh            (RS256 and ES256)
#   ALGS="RS256 ES256 EdDSA" DURATION=10 REPEATS=3 CONNECTIONS=32 bench/oauth.sh
#   BUILD=0 reuses target/release/gatehouse.
# Needs wrk (Debian package `wrk`), curl, python3, taskset. Loopback only.
set -euo pipefail

ALGS="${ALGS:-RS256 ES256}"
DURATION="${DURATION:-10}"        # seconds per measured window
REPEATS="${REPEATS:-3}"           # windows per figure; the median is reported
CONNECTIONS="${CONNECTIONS:-32}"
WARMUP="${WARMUP:-2}"             # seconds of load thrown away before each figure

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init gatehouse-oauth
command -v wrk >/dev/null || { echo "oauth.sh: needs wrk (apt-get install wrk)" >&2; exit 1; }
build_binaries
clean_server_env

PORT="$(free_port)"
BASE="http://127.0.0.1:$PORT"
ADMIN="$(random_secret)"
start_background server env GATEHOUSE_ADMIN_TOKEN="$ADMIN" GATEHOUSE_LOG=warn GATEHOUSE_RATE_LIMITS__ENABLED=false \
    GATEHOUSE_MASTER_KEY="$(random_secret)" \
    taskset -c 0 "$BIN/gatehouse" --database-url "sqlite://$TMP/bench.db" serve --listen "127.0.0.1:$PORT"
SERVER_PID=$LAST_PID
wait_http "$SERVER_PID" "$BASE/healthz" "the server"

admin() { # method path [json]
    curl --silent --show-error --fail --noproxy '*' -X "$1" "$BASE$2" \
        -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' ${3:+-d "$3"}
}
json_field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }

# One wrk window: requests/s, and the count of non-2xx answers (must be 0).
measure() { # lua-script url -> "rps non2xx"
    local out
    out="$(taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$1" "$2")"
    local rps non2xx p50 p99
    rps="$(awk '/Requests\/sec/ {print $2}' <<<"$out")"
    non2xx="$(awk '/Non-2xx/ {print $NF}' <<<"$out")"
    p50="$(awk '$1 == "50%" {print $2}' <<<"$out")"
    p99="$(awk '$1 == "99%" {print $2}' <<<"$out")"
    echo "$rps ${non2xx:-0} $p50 $p99"
}

# Median of REPEATS windows after a warm-up; "rps p50 p99 non2xx_total".
figure() { # name lua url
    local name=$1 lua=$2 url=$3 samples=() bad=0 line p50="" p99=""
    taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"${WARMUP}s" -s "$lua" "$url" >/dev/null
    for _ in $(seq 1 "$REPEATS"); do
        line="$(measure "$lua" "$url")"
        read -r rps non2xx p50 p99 <<<"$line"
        samples+=("$rps")
        bad=$((bad + non2xx))
    done
    local median
    median="$(printf '%s\n' "${samples[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')"
    echo "$name $median $p50 $p99 $bad ${samples[*]}" >>"$TMP/figures.txt"
    printf '| %s | %s | %s | %s | %s |\n' "$name" "$median" "$p50" "$p99" "$bad"
}

cat >"$TMP/get.lua" <<'LUA'
wrk.method = "GET"
LUA

echo "==> measuring (server on CPU 0, wrk -c$CONNECTIONS on CPU 1, ${REPEATS}x${DURATION}s per figure)" >&2
printf '| figure | requests/s (median) | p50 | p99 | non-2xx |\n|---|---|---|---|---|\n'
: >"$TMP/figures.txt"
figure healthz "$TMP/get.lua" "$BASE/healthz"

for alg in $ALGS; do
    tenant="cc-$(tr '[:upper:]' '[:lower:]' <<<"$alg")"
    admin POST /admin/tenants "{\"name\":\"$tenant\",\"algorithm\":\"$alg\"}" >/dev/null
    client="$(admin POST "/admin/t/$tenant/clients" \
        '{"name":"bench","type":"confidential","grants":["client_credentials"],"scopes":["read","write"]}')"
    id="$(json_field client_id <<<"$client")"
    secret="$(json_field client_secret <<<"$client")"
    basic="$(printf '%s:%s' "$id" "$secret" | base64 -w0)"
    cat >"$TMP/cc-$alg.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic $basic"
wrk.body = "grant_type=client_credentials&scope=read"
LUA
    figure "client_credentials_$alg" "$TMP/cc-$alg.lua" "$BASE/t/$tenant/token"

    token="$(curl --silent --fail --noproxy '*' -X POST "$BASE/t/$tenant/token" \
        -H "Authorization: Basic $basic" -d grant_type=client_credentials | json_field access_token)"
    cat >"$TMP/introspect-$alg.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic $basic"
wrk.body = "token=$token"
LUA
    figure "introspect_$alg" "$TMP/introspect-$alg.lua" "$BASE/t/$tenant/introspect"
done

RSS_KIB="$(awk '/VmRSS/ {print $2}' "/proc/$SERVER_PID/status")"
mkdir -p "$ROOT/bench/results"
OUT="$ROOT/bench/results/oauth-$TIMESTAMP.json"
python3 - "$TMP/figures.txt" "$OUT" <<PY
import json, sys
rows = []
for line in open(sys.argv[1]):
    name, median, p50, p99, bad, *samples = line.split()
    rows.append({"figure": name, "requests_per_sec_median": float(median), "p50": p50, "p99": p99,
                 "non_2xx": int(bad), "samples": [float(s) for s in samples]})
json.dump({"timestamp": "$TIMESTAMP", "commit": "$(bench_commit)", "cpu": "$(bench_cpu)",
           "binaries": "$BINARIES", "connections": $CONNECTIONS, "duration_secs": $DURATION,
           "repeats": $REPEATS, "server_cpu": 0, "load_cpu": 1, "server_rss_kib_after": $RSS_KIB,
           "figures": rows}, open(sys.argv[2], "w"), indent=2)
PY
echo "server RSS after the run: $((RSS_KIB / 1024)) MiB; results in ${OUT#"$ROOT"/}" >&2
