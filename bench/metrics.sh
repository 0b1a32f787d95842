#!/usr/bin/env bash
# What Prometheus metrics cost on the hottest path: GET /t/default/auth
# with a valid RS256 token, metrics off against on, in one run. Two
# throwaway `gatehouse serve` (fresh SQLite each, real settings), one
# without metrics and one with GATEHOUSE_METRICS_TOKEN (so the HTTP
# middleware, the gate counter and the store wrapper all run), both pinned
# to CPU 0; wrk pinned to CPU 1. The windows alternate off, on, off, on...
# so drift of the machine (thermal, neighbours) falls on both alike; the
# median of each side is reported. Prints a Markdown table and writes
# bench/results/metrics-<UTC timestamp>.json.
#
# Usage: bench/metrics.sh
#   DURATION=10 REPEATS=5 CONNECTIONS=32 bench/metrics.sh
#   BUILD=0 reuses target/release/gatehouse.
# Needs wrk (Debian package `wrk`), curl, python3, taskset. Loopback only.
set -euo pipefail

DURATION="${DURATION:-10}"        # seconds per measured window
REPEATS="${REPEATS:-5}"           # windows per side; the median is reported
CONNECTIONS="${CONNECTIONS:-32}"
WARMUP="${WARMUP:-3}"             # seconds of load thrown away per server first

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init gatehouse-metrics
command -v wrk >/dev/null || { echo "metrics.sh: needs wrk (apt-get install wrk)" >&2; exit 1; }
# Only the server is needed (lib.sh's build_binaries also builds gatehouse-bench).
if [[ "${BUILD:-1}" != 0 ]]; then
    echo "==> building the release binary" >&2
    cargo build --release --quiet -p gatehouse
    BINARIES="built from the working tree by this run"
else
    [[ -x "$BIN/gatehouse" ]] || { echo "metrics.sh: BUILD=0 but $BIN/gatehouse does not exist" >&2; exit 1; }
    BINARIES="prebuilt (BUILD=0), gatehouse built $(date -u -r "$BIN/gatehouse" +%Y-%m-%dT%H:%M:%SZ)"
fi
clean_server_env

MASTER="$(random_secret)"
METRICS_TOKEN="$(random_secret)"
PASSWORD="correct horse battery staple"

start_server() { # name port [VAR=value...]
    local name=$1 port=$2; shift 2
    mkdir -p "$TMP/$name"
    start_background "$name" env GATEHOUSE_LOG=warn GATEHOUSE_RATE_LIMITS__ENABLED=false GATEHOUSE_MASTER_KEY="$MASTER" "$@" \
        taskset -c 0 "$BIN/gatehouse" --database-url "sqlite://$TMP/$name/bench.db" \
        serve --listen "127.0.0.1:$port"
    wait_http "$LAST_PID" "http://127.0.0.1:$port/healthz" "the $name server"
}

token_of() { # base -> an access token of a fresh user of tenant default
    curl --silent --show-error --fail --noproxy '*' -X POST "$1/t/default/register" \
        -H 'Content-Type: application/json' \
        -d "{\"username\":\"bench\",\"password\":\"$PASSWORD\"}" >/dev/null
    curl --silent --show-error --fail --noproxy '*' -X POST "$1/t/default/login" \
        -H 'Content-Type: application/json' \
        -d "{\"username\":\"bench\",\"password\":\"$PASSWORD\"}" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'
}

OFF_PORT="$(free_port)"
start_server off "$OFF_PORT"
ON_PORT="$(free_port)"
start_server on "$ON_PORT" GATEHOUSE_METRICS_TOKEN="$METRICS_TOKEN"
OFF="http://127.0.0.1:$OFF_PORT"
ON="http://127.0.0.1:$ON_PORT"
curl --silent --noproxy '*' --output /dev/null --write-out '%{http_code}' "$OFF/metrics" |
    grep -qx 404 || { echo "metrics.sh: the off server serves /metrics" >&2; exit 1; }

for side in off on; do
    base=$OFF; [[ $side == on ]] && base=$ON
    token="$(token_of "$base")"
    cat >"$TMP/auth-$side.lua" <<LUA
wrk.method = "GET"
wrk.headers["Authorization"] = "Bearer $token"
LUA
    taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"${WARMUP}s" -s "$TMP/auth-$side.lua" \
        "$base/t/default/auth" >/dev/null
done

# One window: "requests/s non2xx p50 p99".
measure() { # side
    local side=$1 base=$OFF out
    [[ $side == on ]] && base=$ON
    out="$(taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency \
        -s "$TMP/auth-$side.lua" "$base/t/default/auth")"
    local rps non2xx p50 p99
    rps="$(awk '/Requests\/sec/ {print $2}' <<<"$out")"
    non2xx="$(awk '/Non-2xx/ {print $NF}' <<<"$out")"
    p50="$(awk '$1 == "50%" {print $2}' <<<"$out")"
    p99="$(awk '$1 == "99%" {print $2}' <<<"$out")"
    echo "$rps ${non2xx:-0} $p50 $p99"
}

echo "==> measuring /auth (servers on CPU 0, wrk -c$CONNECTIONS on CPU 1, ${REPEATS}x${DURATION}s per side, alternating)" >&2
: >"$TMP/windows.txt"
for i in $(seq 1 "$REPEATS"); do
    for side in off on; do
        line="$(measure "$side")"
        echo "$side $line" >>"$TMP/windows.txt"
        echo "    window $i $side: $line" >&2
    done
done

SCRAPE="$(curl --silent --show-error --fail --noproxy '*' -H "Authorization: Bearer $METRICS_TOKEN" "$ON/metrics")"
ALLOWED="$(awk -F' ' '/^gatehouse_gate_decisions_total\{.*decision="allow"/ {s += $NF} END {print s + 0}' <<<"$SCRAPE")"

mkdir -p "$ROOT/bench/results"
OUT="$ROOT/bench/results/metrics-$TIMESTAMP.json"
python3 - "$TMP/windows.txt" "$OUT" <<PY
import json, statistics, sys
sides = {"off": [], "on": []}
bad = {"off": 0, "on": 0}
p = {"off": [], "on": []}
for line in open(sys.argv[1]):
    side, rps, non2xx, p50, p99 = line.split()
    sides[side].append(float(rps)); bad[side] += int(non2xx); p[side].append((p50, p99))
med = {s: statistics.median(v) for s, v in sides.items()}
print("| /auth, RS256 | requests/s (median) | windows | p50 / p99 (last window) | non-2xx |")
print("|---|---|---|---|---|")
for s in ("off", "on"):
    print(f"| metrics {s} | {med[s]:.0f} | {' '.join(f'{x:.0f}' for x in sides[s])} | {p[s][-1][0]} / {p[s][-1][1]} | {bad[s]} |")
print(f"\nmetrics on / off: {med['on'] / med['off']:.3f}; /auth allows counted by the on server: $ALLOWED")
json.dump({"timestamp": "$TIMESTAMP", "commit": "$(bench_commit)", "cpu": "$(bench_cpu)",
           "binaries": "$BINARIES", "connections": $CONNECTIONS, "duration_secs": $DURATION,
           "repeats": $REPEATS, "server_cpu": 0, "load_cpu": 1,
           "requests_per_sec_median": med, "samples": sides, "non_2xx": bad,
           "on_over_off": med["on"] / med["off"], "allows_counted_on": $ALLOWED},
          open(sys.argv[2], "w"), indent=2)
PY
echo "results in ${OUT#"$ROOT"/}" >&2
