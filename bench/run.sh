#!/usr/bin/env bash
# Gatehouse throughput benchmark, in one run:
#   1. raw JWT verifications/s (in-process, gatehouse_jwt::verify_access_token)
#   2. /auth requests/s over HTTP against a real server
#   3. raw argon2id verifications/s at the default (OWASP) cost, 1 and N threads
#   4. /login requests/s over HTTP against the same server
#   5. the ratios HTTP / raw
# It builds the release binaries, starts a throwaway server on 127.0.0.1 with
# a temporary SQLite database, measures, stops the server, prints a table and
# writes bench/results/<UTC timestamp>.json. See bench/README.md.
#
# Usage: bench/run.sh [--algorithm ALG] [--duration SECS] [--concurrency N]
#                     [--login-concurrency N] [--repeats N]
# or the same through the environment:
#   ALG=ES256 DURATION=10 CONCURRENCY=32 LOGIN_CONCURRENCY=8 REPEATS=3 bench/run.sh
# BACKEND=postgres or BACKEND=mysql runs the server on a fresh schema/database
# of BENCH_POSTGRES_URL / BENCH_MYSQL_URL (defaults: the local test servers).
#
# bench/run.sh --compare [--quick]: everything side by side with node
# oidc-provider instead (bench/compare.sh; see its --help).
set -euo pipefail

# --compare hands the run to bench/compare.sh, with the other arguments
# (--quick); --quick means nothing to the default run.
for arg in "$@"; do
    if [[ "$arg" == --compare ]]; then
        rest=()
        for a in "$@"; do [[ "$a" == --compare ]] || rest+=("$a"); done
        exec "$(dirname "${BASH_SOURCE[0]}")/compare.sh" "${rest[@]}"
    fi
done

BACKEND="${BACKEND:-sqlite}"              # sqlite postgres mysql
BENCH_POSTGRES_URL="${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
BENCH_MYSQL_URL="${BENCH_MYSQL_URL:-mysql://root@127.0.0.1:3306/test}"

ALG="${ALG:-RS256}"                       # RS256 PS256 ES256 EdDSA HS256
DURATION="${DURATION:-10}"                # seconds per measured HTTP window
REPEATS="${REPEATS:-3}"                   # HTTP windows / raw runs per quantity (median reported)
RAW_DURATION="${RAW_DURATION:-3}"         # seconds per raw run
WARMUP="${WARMUP:-2}"                     # discarded seconds before each HTTP phase
CONCURRENCY="${CONCURRENCY:-32}"          # /auth connections
LOGIN_CONCURRENCY="${LOGIN_CONCURRENCY:-8}" # /login connections
CLIENT_THREADS="${CLIENT_THREADS:-1}"     # load-generator threads
BUILD="${BUILD:-1}"                       # 0: reuse the binaries already in target/release

usage() {
    sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'
}

while [[ $# -gt 0 ]]; do
    case "$1" in
        --algorithm) ALG="${2:?--algorithm needs a value}"; shift 2 ;;
        --duration) DURATION="${2:?--duration needs a value}"; shift 2 ;;
        --concurrency) CONCURRENCY="${2:?--concurrency needs a value}"; shift 2 ;;
        --login-concurrency) LOGIN_CONCURRENCY="${2:?--login-concurrency needs a value}"; shift 2 ;;
        --repeats) REPEATS="${2:?--repeats needs a value}"; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        --quick) echo "run.sh: --quick goes with --compare" >&2; exit 2 ;;
        *) echo "run.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
    esac
done

case "$ALG" in
    RS256|PS256|ES256|EdDSA|HS256) ;;
    *) echo "run.sh: ALG must be one of RS256 PS256 ES256 EdDSA HS256, not $ALG" >&2; exit 2 ;;
esac

# Build, cleanup on exit, free ports, waiting for the server: bench/lib.sh.
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init gatehouse-bench
build_binaries
clean_server_env

PORT="$(free_port)"
BASE="http://127.0.0.1:$PORT"
DB="sqlite://$TMP/bench.db"
BENCH_NAME="gh_bench_$$_$RANDOM"
case "$BACKEND" in
    sqlite) ;;
    postgres)
        fresh_postgres_schema "$BENCH_NAME"
        DB="$SCHEMA_DB_URL"
        ;;
    mysql)
        mariadb -h 127.0.0.1 -u root -e "CREATE DATABASE $BENCH_NAME CHARACTER SET utf8mb4 COLLATE utf8mb4_bin" >&2
        bench_on_exit "mariadb -h 127.0.0.1 -u root -e 'DROP DATABASE $BENCH_NAME'"
        DB="${BENCH_MYSQL_URL%/*}/$BENCH_NAME"
        ;;
    *) echo "run.sh: BACKEND must be sqlite, postgres or mysql, not $BACKEND" >&2; exit 2 ;;
esac
# Server databases have no key file beside them: a throwaway master key.
GATEHOUSE_MASTER_KEY="$(random_secret)"
export GATEHOUSE_MASTER_KEY

# The built-in `default` tenant signs with RS256; other algorithms get a
# tenant of their own, created before the server starts.
TENANT=default
if [[ "$ALG" != RS256 ]]; then
    TENANT=bench
    (cd "$TMP" && "$BIN/gatehouse" --database-url "$DB" tenant create "$TENANT" --algorithm "$ALG") >&2
fi

echo "==> starting gatehouse on $BASE ($BACKEND)" >&2
start_background server env GATEHOUSE_RATE_LIMITS__ENABLED=false "$BIN/gatehouse" --database-url "$DB" serve --listen "127.0.0.1:$PORT"
SERVER_PID=$LAST_PID
wait_http "$SERVER_PID" "$BASE/healthz" "the server"

echo "==> raw (in-process) measurements, $ALG" >&2
step "$BIN/gatehouse-bench" raw \
    --algorithm "$ALG" \
    --duration "$RAW_DURATION" \
    --repeats "$REPEATS" \
    --json-out "$TMP/raw.json"

echo "==> HTTP measurements against $BASE/t/$TENANT" >&2
step "$BIN/gatehouse-bench" http \
    --base-url "$BASE" \
    --tenant "$TENANT" \
    --duration "$DURATION" \
    --repeats "$REPEATS" \
    --warmup "$WARMUP" \
    --auth-concurrency "$CONCURRENCY" \
    --login-concurrency "$LOGIN_CONCURRENCY" \
    --client-threads "$CLIENT_THREADS" \
    --json-out "$TMP/http.json"

# The server must have survived the whole run for the numbers to count.
if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "run.sh: the server died during the run" >&2
    exit 1
fi

COMMIT="$(bench_commit)"

mkdir -p "$ROOT/bench/results"
echo >&2
step "$BIN/gatehouse-bench" report \
    --raw "$TMP/raw.json" \
    --http "$TMP/http.json" \
    --timestamp "$TIMESTAMP" \
    --out "$ROOT/bench/results/$TIMESTAMP.json" \
    --meta "commit=$COMMIT" \
    --meta "binaries=$BINARIES" \
    --meta "cpu=$(bench_cpu)" \
    --meta "rustc=$(rustc --version 2>/dev/null || echo unknown)" \
    --meta "server=$BASE, $BACKEND (fresh database), tenant $TENANT" \
    --meta "knobs=BACKEND=$BACKEND ALG=$ALG DURATION=$DURATION REPEATS=$REPEATS RAW_DURATION=$RAW_DURATION WARMUP=$WARMUP CONCURRENCY=$CONCURRENCY LOGIN_CONCURRENCY=$LOGIN_CONCURRENCY CLIENT_THREADS=$CLIENT_THREADS"
