#!/usr/bin/env bash
# A login flood against one `gatehouse serve`, as the issue reported it:
# wrk -c8 and wrk -c64 against POST /login for DURATION seconds each, at the
# real argon2id cost, with the server pinned to core 0 and wrk to core 1.
# Prints requests/s, status counts and the server's RSS idle, peak (sampled
# every 50 ms) and 5 s after each phase.
#
# Usage: bench/login_flood.sh [BINARY]   (default: target/release/gatehouse)
#   DURATION=10 CONNECTIONS="8 64" bench/login_flood.sh
# Needs wrk (Debian package `wrk`), curl, python3. Loopback only.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="$(realpath "${1:-$ROOT/target/release/gatehouse}")"
DURATION="${DURATION:-10}"
CONNECTIONS="${CONNECTIONS:-8 64}"
[[ -x "$BIN" ]] || { echo "login_flood.sh: no binary at $BIN (cargo build --release)" >&2; exit 1; }
command -v wrk >/dev/null || { echo "login_flood.sh: needs wrk (apt-get install wrk)" >&2; exit 1; }

TMP="$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-flood.XXXXXX")"
PID=""
cleanup() {
    [[ -n "$PID" ]] && kill -TERM "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT

PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
BASE="http://127.0.0.1:$PORT"
(cd "$TMP" && env -i PATH="$PATH" HOME="$TMP" GATEHOUSE_LOG=warn \
    taskset -c 0 "$BIN" serve --listen "127.0.0.1:$PORT" >"$TMP/server.log" 2>&1) &
sleep 0.2
PID="$(pgrep -f -n "serve --listen 127.0.0.1:$PORT")"
for _ in $(seq 1 100); do curl -fs "$BASE/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fs -X POST "$BASE/t/default/register" -H 'Content-Type: application/json' \
    -d '{"username":"flood","password":"a long password"}' >/dev/null

cat >"$TMP/login.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"username":"flood","password":"a long password"}'
LUA

rss() { awk '/VmRSS/ {print int($2/1024)}' "/proc/$PID/status"; }

sleep 3
printf '| connections | login req/s | non-2xx | timeouts | RSS idle MiB | RSS peak MiB | RSS 5 s after MiB |\n'
printf '|---|---|---|---|---|---|---|\n'
for c in $CONNECTIONS; do
    idle="$(rss)"
    peak="$idle"
    taskset -c 1 wrk -t1 -c"$c" -d"${DURATION}s" --timeout 30s -s "$TMP/login.lua" \
        "$BASE/t/default/login" >"$TMP/wrk-$c.txt" 2>&1 &
    WRK=$!
    while kill -0 "$WRK" 2>/dev/null; do
        now="$(rss)"; (( now > peak )) && peak="$now"
        sleep 0.05
    done
    wait "$WRK" || true
    sleep 5
    after="$(rss)"
    rps="$(awk '/Requests\/sec/ {print $2}' "$TMP/wrk-$c.txt")"
    non2xx="$(awk '/Non-2xx/ {print $NF}' "$TMP/wrk-$c.txt")"
    timeouts="$(grep -o 'timeout [0-9]*' "$TMP/wrk-$c.txt" | awk '{print $2}' || true)"
    printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$c" "$rps" "${non2xx:-0}" "${timeouts:-0}" "$idle" "$peak" "$after"
done
