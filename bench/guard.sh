#!/usr/bin/env bash
# Gatehouse guarding benchmark, in one run:
#   1. GET|POST /t/default/auth decisions/s for each credential kind of a
#      route policy: public, jwt (RS256 bearer), api_key, basic (cached), hmac
#   2. a minimal upstream (gatehouse-bench upstream) directly, and through
#      proxy mode (serve --proxy-listen) with a JWT and on a public rule
#   3. the ratios proxy / direct
# It builds the release binaries, starts the upstream and a throwaway server
# (SQLite in a temporary directory, an admin token made for the run) on free
# ports of 127.0.0.1, pinned to SERVER_CPU, runs `gatehouse-bench guard`
# pinned to CLIENT_CPU, prints a Markdown table, writes
# bench/results/guard-<UTC timestamp>.json and stops everything on exit.
#
# Usage: DURATION=10 REPEATS=3 WARMUP=2 CONCURRENCY=32 bench/guard.sh
#   PROXY=auto|1|0  proxy phases if this gatehouse has --proxy-listen (auto),
#                   always (1: fail without it) or never (0)
#   SERVER_CPU=0 CLIENT_CPU=1 BUILD=1 CLIENT_THREADS=1 KINDS=public,jwt,...
set -euo pipefail

DURATION="${DURATION:-10}"                # seconds per measured window
REPEATS="${REPEATS:-3}"                   # windows per phase (median reported)
WARMUP="${WARMUP:-2}"                     # discarded seconds before each phase
CONCURRENCY="${CONCURRENCY:-32}"          # connections of every phase
CLIENT_THREADS="${CLIENT_THREADS:-1}"     # load-generator threads
KINDS="${KINDS:-public,jwt,api_key,basic,hmac}"
PROXY="${PROXY:-auto}"
SERVER_CPU="${SERVER_CPU:-0}"             # gatehouse serve and the upstream
CLIENT_CPU="${CLIENT_CPU:-1}"             # gatehouse-bench guard
BUILD="${BUILD:-1}"

case "${1:-}" in
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    "") ;;
    *) echo "guard.sh: no arguments, only the environment (try --help)" >&2; exit 2 ;;
esac

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init gatehouse-guard
build_binaries
clean_server_env

# Server and load generator on different cores, so that neither steals the
# other's; on a single core there is nothing to pin to.
if [[ "$(nproc)" -ge 2 ]] && command -v taskset >/dev/null; then
    ON_SERVER=(taskset -c "$SERVER_CPU")
    ON_CLIENT=(taskset -c "$CLIENT_CPU")
    PINNING="server+upstream on CPU $SERVER_CPU, load generator on CPU $CLIENT_CPU"
else
    ON_SERVER=()
    ON_CLIENT=()
    PINNING="not pinned ($(nproc) CPU, taskset $(command -v taskset >/dev/null && echo found || echo missing))"
fi

case "$PROXY" in
    auto)
        if "$BIN/gatehouse" serve --help 2>/dev/null | grep -q -- '--proxy-listen'; then PROXY=1; else PROXY=0; fi ;;
    0|1) ;;
    *) echo "guard.sh: PROXY must be auto, 1 or 0, not $PROXY" >&2; exit 2 ;;
esac

GATEHOUSE_MASTER_KEY="$(random_secret)"
GATEHOUSE_ADMIN_TOKEN="$(random_secret)"
# The server and `guard` both read the admin token from the environment:
# never on a command line (visible in ps).
export GATEHOUSE_MASTER_KEY GATEHOUSE_ADMIN_TOKEN

PORT="$(free_port)"
UP_PORT="$(free_port)"
BASE="http://127.0.0.1:$PORT"
UPSTREAM="http://127.0.0.1:$UP_PORT"
TENANT=default

echo "==> starting the upstream on $UPSTREAM" >&2
# Bounded like everything else: it stops by itself after an hour.
start_background upstream "${ON_SERVER[@]}" "$BIN/gatehouse-bench" upstream \
    --listen "127.0.0.1:$UP_PORT" --lifetime 3600
wait_http "$LAST_PID" "$UPSTREAM/" "the upstream"

SERVE_ARGS=(serve --listen "127.0.0.1:$PORT")
PROXY_ARGS=()
if [[ "$PROXY" == 1 ]]; then
    PROXY_PORT="$(free_port)"
    PROXY_URL="http://127.0.0.1:$PROXY_PORT"
    SERVE_ARGS+=(--proxy-listen "127.0.0.1:$PROXY_PORT" --upstream "$UPSTREAM" --proxy-tenant "$TENANT")
    PROXY_ARGS=(--proxy-url "$PROXY_URL")
fi
echo "==> starting gatehouse on $BASE${PROXY_URL:+, proxy mode on $PROXY_URL}" >&2
start_background server "${ON_SERVER[@]}" env GATEHOUSE_RATE_LIMITS__ENABLED=false "$BIN/gatehouse" --database-url "sqlite://$TMP/guard.db" \
    "${SERVE_ARGS[@]}"
SERVER_PID=$LAST_PID
wait_http "$SERVER_PID" "$BASE/healthz" "the server"
if [[ "$PROXY" == 1 ]]; then
    # No policy yet, so the proxy refuses: any answer means it listens.
    wait_http "$SERVER_PID" "$PROXY_URL/" "the proxy listener" any
fi

mkdir -p "$ROOT/bench/results"
OUT="$ROOT/bench/results/guard-$TIMESTAMP.json"
echo "==> guard measurements against $BASE/t/$TENANT ($PINNING)" >&2
step "${ON_CLIENT[@]}" "$BIN/gatehouse-bench" guard \
    --base-url "$BASE" \
    --tenant "$TENANT" \
    --kinds "$KINDS" \
    --upstream-url "$UPSTREAM" \
    "${PROXY_ARGS[@]}" \
    --duration "$DURATION" \
    --repeats "$REPEATS" \
    --warmup "$WARMUP" \
    --concurrency "$CONCURRENCY" \
    --client-threads "$CLIENT_THREADS" \
    --json-out "$OUT" \
    --meta "timestamp=$TIMESTAMP" \
    --meta "commit=$(bench_commit)" \
    --meta "binaries=$BINARIES" \
    --meta "cpu=$(bench_cpu)" \
    --meta "rustc=$(rustc --version 2>/dev/null || echo unknown)" \
    --meta "pinning=$PINNING" \
    --meta "proxy=$([[ "$PROXY" == 1 ]] && echo "measured ($PROXY_URL)" || echo "not measured (no --proxy-listen)")" \
    --meta "knobs=DURATION=$DURATION REPEATS=$REPEATS WARMUP=$WARMUP CONCURRENCY=$CONCURRENCY CLIENT_THREADS=$CLIENT_THREADS KINDS=$KINDS PROXY=$PROXY"

# The servers must have survived the whole run for the numbers to count.
for pid in "${BENCH_PIDS[@]}"; do
    if ! kill -0 "$pid" 2>/dev/null; then
        echo "guard.sh: the server or the upstream died during the run" >&2
        exit 1
    fi
done
echo "results written to $OUT" >&2
