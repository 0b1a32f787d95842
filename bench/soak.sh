#!/usr/bin/env bash
# Soak: a steady mix of /auth, /login, refresh and client-credentials
# grants against one `gatehouse serve` for N minutes per backend, to show
# that nothing leaks: every answer must be its expected 200, the server's
# RSS must stay flat after warm-up and its open file descriptors must not
# grow. Reports p99 per minute, RSS and fds every 10 s, and exits non-zero
# if a verdict fails. Writes bench/results/soak-<UTC>.md and .json.
#
# Usage: bench/soak.sh [--quick] [--backend sqlite|postgres|both] [--minutes N]
#   default: 10 minutes on each of SQLite and PostgreSQL.
#   --quick: 3 windows of 5 s, sampled every 1 s (CI smoke, well under a
#            minute per backend).
# Knobs (env): BUILD=0 reuses target/release; BENCH_POSTGRES_URL; the mix,
# see bench/README.md: AUTH_CONNECTIONS AUTH_DELAY_MS LOGIN_CONNECTIONS
# LOGIN_DELAY_MS REFRESH_CONNECTIONS REFRESH_DELAY_MS CC_CONNECTIONS CC_DELAY_MS;
# WRK_TIMEOUT (seconds; a slower answer is an error).
# Needs wrk (Debian package `wrk`), curl, python3, taskset. Loopback only.
set -euo pipefail

BACKENDS=both
MINUTES=10
QUICK=0
BENCH_POSTGRES_URL="${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"

# The mix. Each kind is its own wrk process (see bench/soak.lua for why);
# each connection sends a request, reads the answer, then waits DELAY ms,
# so a kind's rate is about connections / (delay + latency): at most about
# 5 000 /auth, 4.5 logins, 48 refreshes and 95 client-credentials grants
# per second. Logins are ~20 ms of argon2id each, so 4/s already take ~8 %
# of the core; more would make /login the soak. The aim is a server core
# about half busy (each window reports it), so latency means something.
AUTH_CONNECTIONS="${AUTH_CONNECTIONS:-12}"
AUTH_DELAY_MS="${AUTH_DELAY_MS:-2}"
LOGIN_CONNECTIONS="${LOGIN_CONNECTIONS:-1}"
LOGIN_DELAY_MS="${LOGIN_DELAY_MS:-200}"
REFRESH_CONNECTIONS="${REFRESH_CONNECTIONS:-2}"
REFRESH_DELAY_MS="${REFRESH_DELAY_MS:-40}"
CC_CONNECTIONS="${CC_CONNECTIONS:-2}"
CC_DELAY_MS="${CC_DELAY_MS:-20}"
# wrk counts an answer slower than this as a timeout error (and leaves it
# out of the latency figures); anything faster is latency, seen in p99 and
# max. wrk's default of 2 s would turn one stall of a busy machine into
# errors although every answer came, and correct.
WRK_TIMEOUT="${WRK_TIMEOUT:-10}"

usage() { sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; }

while [[ $# -gt 0 ]]; do
    case "$1" in
        --quick) QUICK=1; shift ;;
        --backend) BACKENDS="${2:?--backend needs a value}"; shift 2 ;;
        --minutes) MINUTES="${2:?--minutes needs a value}"; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "soak.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
    esac
done
case "$BACKENDS" in
    sqlite|postgres) ;;
    both) BACKENDS="sqlite postgres" ;;
    *) echo "soak.sh: --backend must be sqlite, postgres or both, not $BACKENDS" >&2; exit 2 ;;
esac
# The RSS verdict compares the second window with the last: at least 2.
[[ "$MINUTES" =~ ^[0-9]+$ && "$MINUTES" -ge 2 ]] \
    || { echo "soak.sh: --minutes must be a whole number >= 2" >&2; exit 2; }
if [[ "$QUICK" == 1 ]]; then
    WINDOWS=3; WINDOW_SECS=5; SAMPLE_SECS=1
else
    WINDOWS=$MINUTES; WINDOW_SECS=60; SAMPLE_SECS=10
fi

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init gatehouse-soak
command -v wrk >/dev/null || { echo "soak.sh: needs wrk (apt-get install wrk)" >&2; exit 1; }
build_binaries
clean_server_env
HELPER="$ROOT/bench/soak.py"
LUA="$ROOT/bench/soak.lua"
MIX="auth ${AUTH_CONNECTIONS}x${AUTH_DELAY_MS}ms, login ${LOGIN_CONNECTIONS}x${LOGIN_DELAY_MS}ms, refresh ${REFRESH_CONNECTIONS}x${REFRESH_DELAY_MS}ms, cc ${CC_CONNECTIONS}x${CC_DELAY_MS}ms"

# One wrk process of one kind for one window; its JSON lands in DIR.
wrk_kind() { # dir window kind connections delay_ms
    local dir=$1 k=$2 kind=$3 conns=$4 delay=$5
    echo "$conns" >"$dir/connections-$kind"
    SOAK_KIND="$kind" SOAK_DELAY_MS="$delay" SOAK_TENANT=default \
    SOAK_RESULT="$dir/wrk-$k-$kind.json" \
    SOAK_ACCESS_TOKENS="$dir/access.txt" SOAK_USERS="$dir/users.txt" \
    SOAK_PASSWORD="$(cat "$dir/password.txt")" SOAK_POOL="$dir/pool.txt" \
    SOAK_JOURNAL="$dir/$kind-$k.journal" SOAK_CLIENT_BASIC="$(cat "$dir/client_basic.txt")" \
        taskset -c 1 wrk -t1 -c"$conns" -d"${WINDOW_SECS}s" --timeout "${WRK_TIMEOUT}s" --latency -s "$LUA" "$BASE" \
        >"$dir/wrk-$k-$kind.txt" 2>&1
}

# The four kinds at once for one window, and beside them the refresh of
# the /auth sessions (for the next window's tokens; doing it here keeps
# the pause between windows short). Run through `step`, so on Ctrl-C the
# TERM it receives stops its wrk processes too.
run_window() { # dir window
    local pids=() rc=0
    trap 'kill ${pids[*]} 2>/dev/null; exit 143' TERM
    taskset -c 1 python3 "$HELPER" auth-refresh --base "$BASE" --dir "$1" --window "$2" & pids+=($!)
    wrk_kind "$1" "$2" auth "$AUTH_CONNECTIONS" "$AUTH_DELAY_MS" & pids+=($!)
    wrk_kind "$1" "$2" login "$LOGIN_CONNECTIONS" "$LOGIN_DELAY_MS" & pids+=($!)
    wrk_kind "$1" "$2" refresh "$REFRESH_CONNECTIONS" "$REFRESH_DELAY_MS" & pids+=($!)
    wrk_kind "$1" "$2" cc "$CC_CONNECTIONS" "$CC_DELAY_MS" & pids+=($!)
    for pid in "${pids[@]}"; do wait "$pid" || rc=1; done
    return "$rc"
}

# utime + stime of the server, in clock ticks (fields 14 and 15; the
# command name "gatehouse" has no spaces).
server_ticks() { awk '{print $14 + $15}' "/proc/$SERVER_PID/stat"; }

soak_backend() { # backend
    local backend=$1 dir="$TMP/$1" db schema=""
    mkdir -p "$dir"
    case "$backend" in
        sqlite) db="sqlite://$dir/soak.db" ;;
        postgres)
            # A schema of its own, dropped afterwards (as run.sh does).
            schema="gh_soak_$$_$RANDOM"
            fresh_postgres_schema "$schema"
            db="$SCHEMA_DB_URL"
            ;;
    esac
    PORT="$(free_port)"
    BASE="http://127.0.0.1:$PORT"
    local admin
    admin="$(random_secret)"
    echo "==> $backend: gatehouse serve on $BASE (CPU 0), $WINDOWS x ${WINDOW_SECS}s, mix: $MIX" >&2
    # Real argon2 cost (nothing lowers it: clean_server_env), rate limits
    # off (the per-IP defaults would answer 429 to one address's logins),
    # log level warn (per-request logging would be part of the measure).
    start_background "server-$backend" env GATEHOUSE_ADMIN_TOKEN="$admin" GATEHOUSE_LOG=warn \
        GATEHOUSE_MASTER_KEY="$(random_secret)" GATEHOUSE_RATE_LIMITS__ENABLED=false \
        taskset -c 0 "$BIN/gatehouse" --database-url "$db" serve --listen "127.0.0.1:$PORT"
    SERVER_PID=$LAST_PID
    wait_http "$SERVER_PID" "$BASE/healthz" "the server"

    # `=`: a random token may start with "-", which argparse would take for an option.
    python3 "$HELPER" setup --base "$BASE" --admin-token="$admin" --dir "$dir" >&2

    start_background "sampler-$backend" taskset -c 1 python3 "$HELPER" sample \
        --pid "$SERVER_PID" --every "$SAMPLE_SECS" --out "$dir/samples.txt"
    local sampler=$LAST_PID
    # Warnings logged from here on count (start-up ones, like the missing
    # mail server, do not).
    local log_lines
    log_lines="$(wc -l <"$TMP/server-$backend.log")"
    : >"$dir/windows.txt"
    local k start t0 end t1
    for k in $(seq 1 "$WINDOWS"); do
        start="$(date +%s.%N)"; t0="$(server_ticks)"
        step run_window "$dir" "$k" || echo "soak.sh: a wrk process failed in window $k (see the report)" >&2
        end="$(date +%s.%N)"; t1="$(server_ticks)"
        echo "$k $start $end $t0 $t1" >>"$dir/windows.txt"
        python3 "$HELPER" between --base "$BASE" --dir "$dir" --window "$k"
        echo "    window $k/$WINDOWS done" >&2
        kill -0 "$SERVER_PID" 2>/dev/null || { echo "soak.sh: the server died in window $k" >&2; exit 1; }
    done
    stop_process "$sampler"
    # Warnings the server logged during the windows (a reused refresh
    # token, a database pool timeout...).
    tail -n +"$((log_lines + 1))" "$TMP/server-$backend.log" | grep -iE 'warn|error' >"$dir/warnings.log" || true
    local warnings
    warnings="$(wc -l <"$dir/warnings.log")"
    stop_process "$SERVER_PID"
    # Quietly: CASCADE lists every table it drops as a NOTICE.
    [[ -z "$schema" ]] || PGOPTIONS='-c client_min_messages=warning' \
        psql "$BENCH_POSTGRES_URL" -qc "DROP SCHEMA $schema CASCADE" >&2
    local what="fresh SQLite database"
    [[ "$backend" == sqlite ]] || what="fresh schema of ${BENCH_POSTGRES_URL%%\?*}"
    python3 - "$dir/meta.json" "$backend" "$what" <<PY
import json, sys
json.dump({"backend": sys.argv[2], "database": sys.argv[3],
           "windows": $WINDOWS, "window_secs": $WINDOW_SECS, "sample_secs": $SAMPLE_SECS,
           "server_log_warning_lines": $warnings}, open(sys.argv[1], "w"))
PY
    if [[ "$warnings" != 0 ]]; then
        echo "    the server logged $warnings warning/error lines; first ones:" >&2
        head -n 5 "$dir/warnings.log" >&2
    fi
}

DIRS=()
for backend in $BACKENDS; do
    soak_backend "$backend"
    DIRS+=("$TMP/$backend")
done

mkdir -p "$ROOT/bench/results"
OUT="$ROOT/bench/results/soak-$TIMESTAMP"
META="$(python3 -c 'import json,sys; print(json.dumps(dict(zip(sys.argv[1::2], sys.argv[2::2]))))' \
    timestamp "$TIMESTAMP" commit "$(bench_commit)" cpu "$(bench_cpu)" binaries "$BINARIES" \
    mix "$MIX" mode "$([[ $QUICK == 1 ]] && echo quick || echo full)")"
rc=0
python3 "$HELPER" report --meta "$META" --out-md "$OUT.md" --out-json "$OUT.json" "${DIRS[@]}" || rc=$?
echo "results in ${OUT#"$ROOT"/}.md and .json" >&2
exit "$rc"
