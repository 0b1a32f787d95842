# Shared by bench/run.sh and bench/guard.sh (sourced, never run): release
# binaries, a clean environment for the server, free loopback ports,
# background processes that are stopped on every exit, and waiting for them
# to answer. The caller has `set -euo pipefail`.
#
# After `bench_init PREFIX`: ROOT (the repository, also the working
# directory), BIN (target/release), TMP (a fresh directory, deleted on exit)
# and TIMESTAMP (UTC) are set, and the EXIT/INT/TERM traps are in place.
# Register with `bench_on_exit 'shell command'` anything else to undo.

bench_init() { # prefix of the temporary directory
    ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
    cd "$ROOT"
    BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release"
    TIMESTAMP="$(date -u +%Y%m%dT%H%M%SZ)"
    TMP="$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")"
    BENCH_PIDS=()
    BENCH_LOGS=()
    BENCH_EXIT_HOOKS=()
    CHILD_PID=""
    trap bench_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

bench_on_exit() { # shell command, run (errors ignored) by bench_cleanup
    BENCH_EXIT_HOOKS+=("$1")
}

# Stops the running step and every background process (last started
# first), shows the end of their logs if the script failed, runs the exit
# hooks and deletes $TMP.
bench_cleanup() {
    local status=$?
    if [[ -n "$CHILD_PID" ]]; then
        kill -TERM "$CHILD_PID" 2>/dev/null || true
        wait "$CHILD_PID" 2>/dev/null || true
    fi
    local i
    for ((i = ${#BENCH_PIDS[@]} - 1; i >= 0; i--)); do
        stop_process "${BENCH_PIDS[$i]}"
    done
    if [[ $status -ne 0 ]]; then
        for log in "${BENCH_LOGS[@]}"; do
            [[ -f "$log" ]] || continue
            echo "---- last lines of $(basename "$log") ----" >&2
            tail -n 20 "$log" >&2 || true
        done
    fi
    local hook
    for hook in "${BENCH_EXIT_HOOKS[@]}"; do
        eval "$hook" >/dev/null 2>&1 || true
    done
    rm -rf "$TMP"
    exit "$status"
}

# SIGTERM; graceful shutdown is quick when idle: give it 5 s, then insist.
stop_process() { # pid
    local pid=$1
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# Builds gatehouse and gatehouse-bench unless BUILD=0, and sets BIN and
# BINARIES (what was used, recorded with the results). PROFILE=release (the
# default: every figure) or debug: the smoke runs in CI (`--quick`), whose
# debug binaries share their dependencies' artifacts with `cargo test`, so
# no release build is added to CI; they prove the scripts work and measure
# nothing.
build_binaries() {
    local profile="${PROFILE:-release}" flag
    case "$profile" in
        release) flag=--release ;;
        debug) flag= ;;
        *) echo "$(basename "$0"): PROFILE must be release or debug, not $profile" >&2; exit 2 ;;
    esac
    BIN="${CARGO_TARGET_DIR:-$ROOT/target}/$profile"
    if [[ "${BUILD:-1}" != 0 ]]; then
        echo "==> building $profile binaries" >&2
        cargo build $flag --quiet -p gatehouse -p gatehouse-bench
        BINARIES="$profile, built from the working tree by this run"
    else
        local b
        for b in gatehouse gatehouse-bench; do
            [[ -x "$BIN/$b" ]] || { echo "$(basename "$0"): BUILD=0 but $BIN/$b does not exist" >&2; exit 1; }
        done
        # Not rebuilt: they may not match the working tree, so say when they were built.
        BINARIES="$profile, prebuilt (BUILD=0), gatehouse built $(date -u -r "$BIN/gatehouse" +%Y-%m-%dT%H:%M:%SZ)"
    fi
}

# A fresh PostgreSQL schema NAME on BENCH_POSTGRES_URL, dropped on exit (a
# caller may drop it sooner); sets SCHEMA_DB_URL to a database URL whose
# connections use it.
fresh_postgres_schema() { # name
    psql "$BENCH_POSTGRES_URL" -qc "CREATE SCHEMA $1" >&2
    bench_on_exit "PGOPTIONS='-c client_min_messages=warning' psql '$BENCH_POSTGRES_URL' -qc 'DROP SCHEMA IF EXISTS $1 CASCADE'"
    local sep='?'
    [[ "$BENCH_POSTGRES_URL" == *\?* ]] && sep='&'
    SCHEMA_DB_URL="${BENCH_POSTGRES_URL}${sep}options=-c%20search_path%3D$1"
}

# The server must see only what the script sets: no GATEHOUSE_* variables
# (a lowered argon2 cost would make the /login ratio meaningless), no
# RUST_LOG (per-request logging), and no gatehouse.toml (it runs in $TMP).
clean_server_env() {
    local var
    while IFS= read -r var; do unset "$var"; done < <(compgen -e | grep '^GATEHOUSE_' || true)
    unset RUST_LOG
}

# A free loopback port. Port 0 would work for the server but its choice is
# not visible from here; the tiny race with another process is detected
# by wait_http (the server exits if it cannot bind).
free_port() {
    python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# 32 random bytes, base64url without padding (a master key, an admin token).
random_secret() {
    python3 -c 'import base64,os;print(base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("="))'
}

# Starts `command...` in $TMP with its output in $TMP/NAME.log; it is stopped
# on exit. Its pid is left in LAST_PID (`exec`, so `taskset -c N cmd` keeps
# the pid of cmd).
start_background() { # name, command...
    local name=$1; shift
    local log="$TMP/$name.log"
    (cd "$TMP" && exec "$@") >"$log" 2>&1 &
    LAST_PID=$!
    BENCH_PIDS+=("$LAST_PID")
    BENCH_LOGS+=("$log")
}

# Waits (at most WAIT_HTTP_SECS, default 30 s) for URL to answer 2xx (with
# `any`: any HTTP status, for a listener whose routes are not set up yet),
# failing at once if PID exits. (A server over 10,000 tenants opens every
# key before it listens: scale.sh waits longer.)
wait_http() { # pid, url, what, [any]
    local pid=$1 url=$2 what=$3 secs=${WAIT_HTTP_SECS:-30}
    local curl_args=(--silent --noproxy '*' --max-time 1 --output /dev/null)
    [[ "${4:-}" == any ]] || curl_args+=(--fail)
    for _ in $(seq 1 $((secs * 10))); do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "$(basename "$0"): $what exited during start-up" >&2
            exit 1
        fi
        if curl "${curl_args[@]}" "$url"; then
            return 0
        fi
        sleep 0.1
    done
    echo "$(basename "$0"): $what did not answer $url within $secs s" >&2
    exit 1
}

# Runs one step in the background and waits for it: bash runs a trap only
# after a foreground command ends, but interrupts `wait` at once, so a
# SIGTERM to the script stops the step and the servers without delay.
step() {
    local rc=0
    "$@" &
    CHILD_PID=$!
    wait "$CHILD_PID" || rc=$?
    CHILD_PID=""
    return "$rc"
}

# The commit measured, marked when the working tree differs from it.
bench_commit() {
    local commit
    commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
    if [[ -n "$(git status --porcelain 2>/dev/null)" ]]; then
        commit="$commit (uncommitted changes)"
    fi
    echo "$commit"
}

bench_cpu() {
    local cpu
    cpu="$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//' || true)"
    echo "${cpu:-unknown} x $(nproc)"
}
