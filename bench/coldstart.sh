#!/usr/bin/env bash
# Cold start of the release binary, in one run:
#   1. its size on disk (stripped, as `cargo build --release` makes it);
#   2. process start -> first successful POST /login (an existing user, one
#      argon2id verification at the default cost), on SQLite and PostgreSQL;
#   3. process start -> first JWKS answer on a database that does not exist
#      yet (schema creation and the first RSA key count);
#   4. resident memory (VmRSS) right after that first answer;
#   5. `gatehouse invoke login` (OpenFaaS classic: one process per request),
#      exec to exit, on SQLite and PostgreSQL.
# Medians of RUNS starts each; results in bench/results/coldstart-<UTC>.json.
#
# Usage: RUNS=7 BUILD=1 bench/coldstart.sh
# BENCH_POSTGRES_URL (default: the local test server) names the PostgreSQL
# server; a fresh schema is made and dropped.
set -euo pipefail

RUNS="${RUNS:-7}"
BUILD="${BUILD:-1}"
BENCH_POSTGRES_URL="${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
export BENCH_PASSWORD="bench-password-123"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release"
TIMESTAMP="$(date -u +%Y%m%dT%H%M%SZ)"
if [[ "$BUILD" != 0 ]]; then
    echo "==> building release binaries" >&2
    cargo build --release --quiet -p gatehouse -p gatehouse-bench
fi

TMP="$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-coldstart.XXXXXX")"
SCHEMA="gh_cold_$$"
cleanup() {
    psql "$BENCH_POSTGRES_URL" -qc "DROP SCHEMA IF EXISTS $SCHEMA CASCADE" >/dev/null 2>&1 || true
    rm -rf "$TMP"
}
trap cleanup EXIT

# Only what this script sets reaches the server: the real argon2 cost.
while IFS= read -r var; do unset "$var"; done < <(compgen -e | grep '^GATEHOUSE_' || true)
unset RUST_LOG
# PostgreSQL has no key file beside it: one master key for every database here.
GATEHOUSE_MASTER_KEY="$(python3 -c 'import base64, secrets; print(base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode())')"
export GATEHOUSE_MASTER_KEY

# A database with tenant `default`, its key and one user, made by the CLI.
prepare() { # url
    (cd "$TMP" && printf '%s\n' "$BENCH_PASSWORD" \
        | "$BIN/gatehouse" --database-url "$1" user add bench-user >/dev/null)
}

SQLITE_URL="sqlite://$TMP/cold.db"
psql "$BENCH_POSTGRES_URL" -qc "CREATE SCHEMA $SCHEMA" >&2
sep='?'; [[ "$BENCH_POSTGRES_URL" == *\?* ]] && sep='&'
PG_URL="${BENCH_POSTGRES_URL}${sep}options=-c%20search_path%3D$SCHEMA"
prepare "$SQLITE_URL"
prepare "$PG_URL"

measure() { # name, args...
    local name=$1; shift
    echo "==> $name" >&2
    (cd "$TMP" && "$BIN/gatehouse-bench" coldstart --bin "$BIN/gatehouse" --runs "$RUNS" \
        --json-out "$TMP/$name.json" "$@")
}
measure sqlite_login --database-url "$SQLITE_URL" --probe login
measure postgres_login --database-url "$PG_URL" --probe login
measure sqlite_empty_jwks --database-url "sqlite://$TMP/empty-{run}.db" --probe jwks

# The classic watchdog forks one process per request: `gatehouse invoke
# login` from exec to exit, stdin to stdout, is its whole request latency.
measure_invoke() { # name, url
    echo "==> $1" >&2
    (cd "$TMP" && python3 - "$BIN/gatehouse" "$2" "$RUNS" "$TMP/$1.json" <<'PY'
import json, statistics, subprocess, sys, time
binary, url, runs, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
body = json.dumps({"username": "bench-user", "password": "bench-password-123"}).encode()
times = []
for _ in range(runs):
    start = time.perf_counter()
    done = subprocess.run([binary, "--database-url", url, "invoke", "login"],
                          input=body, capture_output=True, check=True)
    times.append((time.perf_counter() - start) * 1000)
    if b'"token"' not in done.stdout:
        sys.exit(f"invoke login did not answer a token: {done.stdout[:200]!r}")
json.dump({"first_ok_ms": times, "first_ok_ms_median": statistics.median(times),
           "first_ok_ms_min": min(times), "first_ok_ms_max": max(times),
           "rss_kib_median": float("nan")}, open(out, "w"))
PY
    )
}
measure_invoke sqlite_invoke_login "$SQLITE_URL"
measure_invoke postgres_invoke_login "$PG_URL"

SIZE=$(stat -c %s "$BIN/gatehouse")
mkdir -p bench/results
OUT="bench/results/coldstart-$TIMESTAMP.json"
python3 - "$TMP" "$SIZE" "$OUT" "$TIMESTAMP" "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" <<'PY'
import json, sys
tmp, size, out, ts, commit = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
names = ("sqlite_login", "postgres_login", "sqlite_empty_jwks", "sqlite_invoke_login", "postgres_invoke_login")
rows = {n: json.load(open(f"{tmp}/{n}.json")) for n in names}
doc = {"timestamp": ts, "commit": commit, "binary_bytes": size, "results": rows}
json.dump(doc, open(out, "w"), indent=2)
print(f"binary: {size / 1e6:.1f} MB (stripped release)")
print(f"{'start -> first 200':<34} {'median ms':>10} {'min':>8} {'max':>8} {'RSS MiB':>8}")
for name, r in rows.items():
    print(f"{name:<34} {r['first_ok_ms_median']:>10.1f} {r['first_ok_ms_min']:>8.1f} "
          f"{r['first_ok_ms_max']:>8.1f} {r['rss_kib_median'] / 1024:>8.1f}")
print(f"results written to {out}")
PY
