#!/usr/bin/env bash
# Scale runs: does Gatehouse stay flat as the data grows?
#   - GET /t/{tenant}/auth p50/p99 with 1 tenant against TENANTS tenants
#     (default 10,000), each with its own signing key, every request to
#     another tenant;
#   - POST /t/default/login p50/p99 with SMALL_USERS users (1,000) against
#     LARGE_USERS users (1,000,000), each request a random seeded user;
# on SQLite and on PostgreSQL. The data is seeded straight into the store by
# `gatehouse-bench seed` (one precomputed argon2id hash for every user), so a
# million users take a minute or so instead of hours of /register.
# One throwaway `gatehouse serve` per backend pinned to CPU 0, wrk pinned to
# CPU 1, rate limits off. Prints a Markdown table and writes
# bench/results/scale-<UTC timestamp>.md and .json. See bench/README.md.
#
# Usage: bench/scale.sh [--quick] [--backend sqlite|postgres|both]
#   --quick: 100 tenants, 200 against 2,000 users, one 2 s window per figure
#            (a smoke run for CI: well under two minutes for both backends).
# Knobs (environment): TENANTS SMALL_USERS LARGE_USERS AUTH_DURATION
#   LOGIN_DURATION REPEATS WARMUP CONNECTIONS LOGIN_CONNECTIONS BUILD=0
#   BENCH_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/test; a
#   fresh schema is made for the run and dropped afterwards).
# Needs wrk (Debian package `wrk`), curl, python3, taskset, psql for
# PostgreSQL. Loopback only.
set -euo pipefail

usage() { sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; }

QUICK=0
BACKEND_ARG=both
while [[ $# -gt 0 ]]; do
    case "$1" in
        --quick) QUICK=1 ;;
        --backend) BACKEND_ARG="${2:-}"; shift ;;
        --backend=*) BACKEND_ARG="${1#--backend=}" ;;
        -h | --help) usage; exit 0 ;;
        *) echo "scale.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done
case "$BACKEND_ARG" in
    sqlite | postgres) BACKENDS="$BACKEND_ARG" ;;
    both) BACKENDS="sqlite postgres" ;;
    *) echo "scale.sh: --backend must be sqlite, postgres or both" >&2; exit 2 ;;
esac

if [[ "$QUICK" == 1 ]]; then
    TENANTS="${TENANTS:-100}"
    SMALL_USERS="${SMALL_USERS:-200}"
    LARGE_USERS="${LARGE_USERS:-2000}"
    AUTH_DURATION="${AUTH_DURATION:-2}"
    LOGIN_DURATION="${LOGIN_DURATION:-2}"
    REPEATS="${REPEATS:-1}"
    WARMUP="${WARMUP:-1}"
else
    TENANTS="${TENANTS:-10000}"
    SMALL_USERS="${SMALL_USERS:-1000}"
    LARGE_USERS="${LARGE_USERS:-1000000}"
    # Three /auth windows of 30 s span more than a minute: the tenant
    # contexts' cache lifetime (keyring_cache_ttl, 60 s) and the key
    # maintenance pass over every tenant (key_check_interval, 60 s) each
    # come round at least once inside the measured time, as they do in
    # steady state. Shorter windows right after the tokens were minted
    # (which loads every context) would never see a reload.
    AUTH_DURATION="${AUTH_DURATION:-30}"
    LOGIN_DURATION="${LOGIN_DURATION:-10}"
    REPEATS="${REPEATS:-3}"
    WARMUP="${WARMUP:-3}"
fi
CONNECTIONS="${CONNECTIONS:-32}"
# /login is argon2-bound: the server pinned to one core runs one hashing
# worker, so each connection beyond the first only queues (latency is about
# connections x the cost of one login). Two keep that worker always busy
# while queueing as little as possible; the 1M/1k ratio is the same at any
# count, since both sides queue alike.
LOGIN_CONNECTIONS="${LOGIN_CONNECTIONS:-2}"
BENCH_POSTGRES_URL="${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
if ((SMALL_USERS < 1 || LARGE_USERS <= SMALL_USERS || TENANTS < 1)); then
    echo "scale.sh: need TENANTS >= 1 and 1 <= SMALL_USERS < LARGE_USERS" >&2
    exit 2
fi

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init gatehouse-scale
command -v wrk >/dev/null || { echo "scale.sh: needs wrk (apt-get install wrk)" >&2; exit 1; }
if [[ " $BACKENDS " == *" postgres "* ]]; then
    command -v psql >/dev/null || { echo "scale.sh: needs psql for PostgreSQL" >&2; exit 1; }
fi
build_binaries
clean_server_env
# One master key for the server and the seeder: the seeded tenants' keys
# are sealed with it exactly as the server seals its own.
GATEHOUSE_MASTER_KEY="$(random_secret)"
export GATEHOUSE_MASTER_KEY
PASSWORD="$(random_secret)" # base64url: safe inside the wrk script's JSON
USER_PREFIX=user            # seeded users are user00000000, user00000001, ...
: >"$TMP/windows.txt"

# wrk's own summary lacks p99.9 and the raw counts; this prints one line of
# them after the run: requests, duration (µs), non-2xx/3xx answers, socket
# errors, latency p50 p90 p99 p99.9 max (µs).
cat >"$TMP/report.lua" <<'LUA'
done = function(summary, latency, requests)
    local e = summary.errors
    io.write(string.format("SCALE_RESULT %d %d %d %d %d %d %d %d %d\n",
        summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
        latency:percentile(50), latency:percentile(90), latency:percentile(99),
        latency:percentile(99.9), latency.max))
end
LUA

# /auth: requests cycle through the tokens file (`tenant token` a line),
# each to its own tenant's path. The 1-tenant figure runs the same script
# on a one-line file, so the load generator's work per request is the same.
auth_lua() { # tokens-file -> lua path
    local lua="$TMP/auth-$(basename "$1").lua"
    { cat <<LUA
local paths, headers = {}, {}
for line in io.lines("$1") do
    local tenant, token = line:match("^(%S+) (%S+)$")
    paths[#paths + 1] = "/t/" .. tenant .. "/auth"
    headers[#headers + 1] = { ["Authorization"] = "Bearer " .. token }
end
local i = 0
request = function()
    i = i % #paths + 1
    return wrk.format("GET", paths[i], headers[i])
end
LUA
      cat "$TMP/report.lua"; } >"$lua"
    echo "$lua"
}

# /login: a random seeded user among the first COUNT on every request, the
# right password.
login_lua() { # count -> lua path
    local lua="$TMP/login-$1.lua"
    { cat <<LUA
math.randomseed(os.time())
request = function()
    local body = string.format('{"username":"%s%08d","password":"%s"}',
        "$USER_PREFIX", math.random(0, $1 - 1), "$PASSWORD")
    return wrk.format("POST", "/t/default/login", { ["Content-Type"] = "application/json" }, body)
end
LUA
      cat "$TMP/report.lua"; } >"$lua"
    echo "$lua"
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$SERVER_PID/stat"; }
rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$SERVER_PID/status"; }

# One figure: a warm-up run, then REPEATS windows; one line per window in
# windows.txt: backend figure connections requests duration_us non2xx
# socket_errors p50 p90 p99 p999 max server_cpu_ticks.
figure() { # name lua connections duration
    local name=$1 lua=$2 conns=$3 dur=$4 out before after
    echo "==> $BACKEND: $name (wrk -c$conns, ${REPEATS}x${dur}s)" >&2
    taskset -c 1 wrk -t1 -c"$conns" -d"${WARMUP}s" -s "$lua" "$BASE" >/dev/null
    for _ in $(seq 1 "$REPEATS"); do
        before="$(cpu_ticks)"
        out="$(taskset -c 1 wrk -t1 -c"$conns" -d"${dur}s" -s "$lua" "$BASE")"
        after="$(cpu_ticks)"
        grep -q '^SCALE_RESULT' <<<"$out" || { echo "scale.sh: wrk gave no result:" >&2; echo "$out" >&2; exit 1; }
        echo "$BACKEND $name $conns $(awk '/^SCALE_RESULT/ {$1=""; print}' <<<"$out") $((after - before))" >>"$TMP/windows.txt"
    done
}

# What the server's process looked like at a point of the run.
note() { # key value
    echo "$BACKEND $1 $2" >>"$TMP/notes.txt"
}

run_backend() {
    BACKEND=$1
    local db schema=""
    case "$BACKEND" in
        sqlite) db="sqlite://$TMP/scale.db" ;;
        postgres)
            schema="gh_scale_$$_$RANDOM"
            fresh_postgres_schema "$schema"
            db="$SCHEMA_DB_URL"
            ;;
    esac

    echo "==> $BACKEND: seeding $TENANTS tenants and $SMALL_USERS users" >&2
    step "$BIN/gatehouse-bench" seed --database-url "$db" --tenants "$TENANTS" \
        --clients-out "$TMP/clients-$BACKEND.txt" --users "$SMALL_USERS" \
        --user-prefix "$USER_PREFIX" --password "$PASSWORD" --json-out "$TMP/seed-$BACKEND-1.json"

    PORT="$(free_port)"
    BASE="http://127.0.0.1:$PORT"
    local t0 t1
    t0="$(date +%s%N)"
    # Rate limits off: every request comes from 127.0.0.1, and the default
    # limits (20 logins, 600 grants a minute per address) would answer 429.
    start_background "server-$BACKEND" env GATEHOUSE_LOG=warn GATEHOUSE_RATE_LIMITS__ENABLED=false \
        taskset -c 0 "$BIN/gatehouse" --database-url "$db" serve --listen "127.0.0.1:$PORT"
    SERVER_PID=$LAST_PID
    # Start-up opens every tenant's key (the master-key check) before the
    # server listens: at 10,000 tenants on PostgreSQL that took 18 s on a
    # busy 2-core machine, so allow more than lib.sh's default 30 s.
    WAIT_HTTP_SECS=180 wait_http "$SERVER_PID" "$BASE/healthz" "the server"
    t1="$(date +%s%N)"
    # Polled every 0.1 s, so this is to 100 ms.
    note startup_ms $(((t1 - t0) / 1000000))
    note rss_kib_start "$(rss_kib)"

    # One tenant: only its context is loaded when its figure runs.
    step taskset -c 1 "$BIN/gatehouse-bench" mint-tokens --base-url "$BASE" \
        --clients "$TMP/clients-$BACKEND.txt" --limit 1 --out "$TMP/tokens-$BACKEND-1.txt"
    figure auth_1_tenant "$(auth_lua "$TMP/tokens-$BACKEND-1.txt")" "$CONNECTIONS" "$AUTH_DURATION"
    note rss_kib_after_auth_1 "$(rss_kib)"

    local t2 t3
    t2="$(date +%s%N)"
    step taskset -c 1 "$BIN/gatehouse-bench" mint-tokens --base-url "$BASE" \
        --clients "$TMP/clients-$BACKEND.txt" --out "$TMP/tokens-$BACKEND-all.txt"
    t3="$(date +%s%N)"
    note mint_all_ms $(((t3 - t2) / 1000000))
    figure auth_all_tenants "$(auth_lua "$TMP/tokens-$BACKEND-all.txt")" "$CONNECTIONS" "$AUTH_DURATION"
    note rss_kib_after_auth_all "$(rss_kib)"

    figure login_small "$(login_lua "$SMALL_USERS")" "$LOGIN_CONNECTIONS" "$LOGIN_DURATION"

    echo "==> $BACKEND: seeding users up to $LARGE_USERS" >&2
    step "$BIN/gatehouse-bench" seed --database-url "$db" \
        --users "$((LARGE_USERS - SMALL_USERS))" --first-user "$SMALL_USERS" \
        --user-prefix "$USER_PREFIX" --password "$PASSWORD" --json-out "$TMP/seed-$BACKEND-2.json"
    figure login_large "$(login_lua "$LARGE_USERS")" "$LOGIN_CONNECTIONS" "$LOGIN_DURATION"
    note rss_kib_end "$(rss_kib)"

    stop_process "$SERVER_PID"
    if [[ -n "$schema" ]]; then
        psql "$BENCH_POSTGRES_URL" -qc "SET client_min_messages = warning; DROP SCHEMA IF EXISTS $schema CASCADE" >&2
    fi
}

: >"$TMP/notes.txt"
for backend in $BACKENDS; do
    run_backend "$backend"
done

mkdir -p "$ROOT/bench/results"
OUT="$ROOT/bench/results/scale-$TIMESTAMP"
python3 - "$TMP" "$OUT" <<PY
import json, os, statistics, sys
tmp, out = sys.argv[1], sys.argv[2]
backends = "$BACKENDS".split()
sizes = {"auth_1_tenant": "1 tenant", "auth_all_tenants": "$TENANTS tenants",
         "login_small": "$SMALL_USERS users", "login_large": "$LARGE_USERS users"}
tick = os.sysconf("SC_CLK_TCK")
windows = {}
for line in open(os.path.join(tmp, "windows.txt")):
    b, name, conns, req, dur, non2xx, sock, p50, p90, p99, p999, mx, ticks = line.split()
    secs = int(dur) / 1e6
    windows.setdefault((b, name), []).append({
        "connections": int(conns), "requests": int(req), "seconds": secs,
        "requests_per_sec": int(req) / secs, "non_2xx": int(non2xx), "socket_errors": int(sock),
        "p50_ms": int(p50) / 1e3, "p90_ms": int(p90) / 1e3, "p99_ms": int(p99) / 1e3,
        "p99_9_ms": int(p999) / 1e3, "max_ms": int(mx) / 1e3,
        "server_cpu_us_per_request": int(ticks) / tick * 1e6 / max(int(req), 1)})
notes = {}
for line in open(os.path.join(tmp, "notes.txt")):
    b, key, value = line.split()
    notes.setdefault(b, {})[key] = int(value)

def summary(ws):
    med = lambda k: statistics.median(w[k] for w in ws)
    return {"requests_per_sec": med("requests_per_sec"), "p50_ms": med("p50_ms"),
            "p99_ms": med("p99_ms"), "p99_ms_worst_window": max(w["p99_ms"] for w in ws),
            "server_cpu_us_per_request": med("server_cpu_us_per_request"),
            "non_2xx": sum(w["non_2xx"] for w in ws),
            "socket_errors": sum(w["socket_errors"] for w in ws), "windows": ws}

result = {"timestamp": "$TIMESTAMP", "commit": "$(bench_commit)", "cpu": "$(bench_cpu)",
          "binaries": "$BINARIES", "quick": $QUICK == 1, "server_cpu": 0, "load_cpu": 1,
          "settings": {"tenants": $TENANTS, "small_users": $SMALL_USERS, "large_users": $LARGE_USERS,
                       "auth_duration_secs": $AUTH_DURATION, "login_duration_secs": $LOGIN_DURATION,
                       "repeats": $REPEATS, "warmup_secs": $WARMUP, "connections": $CONNECTIONS,
                       "login_connections": $LOGIN_CONNECTIONS, "tenant_algorithm": "ES256",
                       "rate_limits": "off", "wrk_threads": 1},
          "backends": {}}
for b in backends:
    seeds = [json.load(open(os.path.join(tmp, f"seed-{b}-{i}.json"))) for i in (1, 2)]
    figs = {name: dict(summary(windows[(b, name)]), size=sizes[name]) for name in sizes}
    ratio = lambda a, c: figs[a]["p50_ms"] / figs[c]["p50_ms"] if figs[c]["p50_ms"] else None
    result["backends"][b] = {
        "figures": figs, "server": notes.get(b, {}), "seeding": seeds,
        "ratios": {"auth_p50_all_over_1": ratio("auth_all_tenants", "auth_1_tenant"),
                   "login_p50_large_over_small": ratio("login_large", "login_small")}}
json.dump(result, open(out + ".json", "w"), indent=2)

md = [f"Scale run {result['timestamp']}, commit {result['commit']}, {result['cpu']}"
      + (" (--quick: smoke sizes, not a measurement)" if result["quick"] else ""), "",
      "| backend | figure | size | req/s (median) | p50 ms | p99 ms | p99 ms (worst window) | server CPU µs/req | non-2xx | socket errors |",
      "|---|---|---|---|---|---|---|---|---|---|"]
for b in backends:
    for name, f in result["backends"][b]["figures"].items():
        md.append(f"| {b} | {name.split('_')[0]} | {f['size']} | {f['requests_per_sec']:.0f} | {f['p50_ms']:.2f} "
                  f"| {f['p99_ms']:.2f} | {f['p99_ms_worst_window']:.2f} | {f['server_cpu_us_per_request']:.0f} "
                  f"| {f['non_2xx']} | {f['socket_errors']} |")
md += ["", "| backend | /auth p50 $TENANTS tenants / 1 tenant (goal <= 1.2) | /login p50 $LARGE_USERS users / $SMALL_USERS users (goal <= 1.2) |",
       "|---|---|---|"]
fmt = lambda r: "n/a" if r is None else f"{r:.2f}"
for b in backends:
    r = result["backends"][b]["ratios"]
    md.append(f"| {b} | {fmt(r['auth_p50_all_over_1'])} | {fmt(r['login_p50_large_over_small'])} |")
md += ["", "| backend | seeded | seconds | per second | server start-up | RSS after /auth 1 → all tenants |", "|---|---|---|---|---|---|"]
for b in backends:
    s1, s2 = result["backends"][b]["seeding"]
    n = result["backends"][b]["server"]
    md.append(f"| {b} | {s1['tenants_created']} tenants (key + client each) | {s1['tenants_secs']:.1f} "
              f"| {s1['tenants_created'] / max(s1['tenants_secs'], 1e-9):.0f} | {n.get('startup_ms', 0)} ms "
              f"| {n.get('rss_kib_after_auth_1', 0) // 1024} → {n.get('rss_kib_after_auth_all', 0) // 1024} MiB |")
    for s in (s1, s2):
        md.append(f"| {b} | users {s['first_user']}..{s['first_user'] + s['users_created']} "
                  f"| {s['users_secs']:.1f} (+ tidy {s['tidy_secs']:.1f}) | {s['users_per_sec']:.0f} | | |")
bad = sum(f["non_2xx"] + f["socket_errors"] for b in backends for f in result["backends"][b]["figures"].values())
if bad:
    md += ["", f"**{bad} failed requests**: every answer must be 2xx; see the JSON's windows."]
open(out + ".md", "w").write("\n".join(md) + "\n")
print("\n".join(md))
sys.exit(1 if bad else 0)
PY
echo "results in ${OUT#"$ROOT"/}.md and .json" >&2
