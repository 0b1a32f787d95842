#!/usr/bin/env bash
# Runs every fuzz target for a bounded time and prints a summary.
#
#   bash fuzz/run.sh [SECONDS_PER_TARGET]      (default 600)
#
# Environment:
#   TARGETS="verify_token request_bodies"   which targets, in order
#   PARALLEL=1       run the targets at the same time (one process each)
#                    instead of one after the other
#   MAX_LEN=16384    longest input libFuzzer generates
#   RSS_LIMIT_MB=2048
#   TIMEOUT=30       seconds one input may take before it counts as a hang
#   FORK=1           libFuzzer fork mode: keep fuzzing after a crash,
#                    timeout or OOM (each is saved under artifacts/<target>/)
#   GATEHOUSE_FUZZ_SKIP_KNOWN=1   log the known findings (see README.md)
#                    instead of stopping on them; 0 makes them crash again
#
# Corpora grow in fuzz/corpus/<target>/ (seeded from fuzz/seeds/<target>/),
# crashes land in fuzz/artifacts/<target>/, logs in fuzz/logs/.
set -euo pipefail

SECS="${1:-600}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$HERE"

TARGETS="${TARGETS:-verify_token request_bodies}"
PARALLEL="${PARALLEL:-0}"
MAX_LEN="${MAX_LEN:-16384}"
RSS_LIMIT_MB="${RSS_LIMIT_MB:-2048}"
TIMEOUT="${TIMEOUT:-30}"
FORK="${FORK:-1}"
export GATEHOUSE_FUZZ_SKIP_KNOWN="${GATEHOUSE_FUZZ_SKIP_KNOWN:-1}"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "cargo-fuzz is missing: cargo install cargo-fuzz" >&2
    exit 1
fi

echo "== building fuzz targets (nightly, release, ASan)"
cargo +nightly fuzz build -O

mkdir -p logs
STAMP="$(date +%Y%m%d-%H%M%S)"

run_target() {
    local t="$1"
    local log="logs/$t-$STAMP.log"
    mkdir -p "corpus/$t" "artifacts/$t"
    # A marker to tell this run's artifacts from older ones.
    touch "artifacts/$t/.run-$STAMP"
    local mode=()
    if [ "$FORK" = "1" ]; then
        mode=(-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
    fi
    echo "== $t: ${SECS}s, log $log"
    export GATEHOUSE_FUZZ_KNOWN_LOG="$HERE/logs/$t-$STAMP.known"
    # libFuzzer exits non-zero when it found something; the summary says so.
    local dict=()
    if [ -f "dicts/$t.dict" ]; then dict=(-dict="dicts/$t.dict"); fi
    cargo +nightly fuzz run -O "$t" "corpus/$t" "seeds/$t" -- \
        -max_total_time="$SECS" -rss_limit_mb="$RSS_LIMIT_MB" -max_len="$MAX_LEN" \
        -timeout="$TIMEOUT" -print_final_stats=1 "${dict[@]}" "${mode[@]}" >"$log" 2>&1 || true
}

summarise() {
    local t="$1"
    local log="logs/$t-$STAMP.log"
    local marker="artifacts/$t/.run-$STAMP"
    local execs="?" rate="?" cov="?" ft="?"
    # Fork mode: "#N: cov: C ft: F corp: K exec/s: E oom/timeout/crash: ..."
    local last
    last="$(grep -E '^#[0-9]+: cov:' "$log" | tail -1 || true)"
    if [ -n "$last" ]; then
        execs="$(sed -E 's/^#([0-9]+):.*/\1/' <<<"$last")"
        cov="$(sed -E 's/.* cov: ([0-9]+).*/\1/' <<<"$last")"
        ft="$(sed -E 's/.* ft: ([0-9]+).*/\1/' <<<"$last")"
        # The line's exec/s is the last job's; average over the run instead.
        local secs
        secs="$(sed -E 's/.* time: ([0-9]+)s.*/\1/' <<<"$last")"
        rate="$(( execs / (secs > 0 ? secs : 1) ))"
    else
        # Plain mode: final stats and the last status line.
        last="$(grep -E '^#[0-9]+\s+(pulse|NEW|REDUCE|DONE|INITED)' "$log" | tail -1 || true)"
        execs="$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}' || true)"
        rate="$(grep -E '^stat::average_exec_per_sec' "$log" | awk '{print $2}' || true)"
        cov="$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$last")"
        ft="$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$last")"
    fi
    local corpus
    corpus="$(find "corpus/$t" -type f | wc -l)"
    local crashes timeouts ooms
    crashes="$(find "artifacts/$t" -name 'crash-*' -newer "$marker" | wc -l)"
    timeouts="$(find "artifacts/$t" -name 'timeout-*' -newer "$marker" | wc -l)"
    ooms="$(find "artifacts/$t" -name 'oom-*' -newer "$marker" | wc -l)"
    local known
    local known_log="logs/$t-$STAMP.known"
    touch "$known_log"
    known="$(grep -c 'KNOWN FINDING' "$known_log" || true)"
    printf '%-15s execs %-10s exec/s %-6s cov %-6s ft %-7s corpus %-6s crashes %s timeouts %s ooms %s known findings (suppressed, per process): %s\n' \
        "$t" "$execs" "$rate" "$cov" "$ft" "$corpus" "$crashes" "$timeouts" "$ooms" "$known"
    find "artifacts/$t" \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' \) -newer "$marker" \
        -printf '    new artifact: %p\n'
    sed -E 's/^KNOWN FINDING \(suppressed\): //' "$known_log" | sort | uniq -c | sed 's/^/    /' | head -5 || true
    rm -f "$marker"
}

if [ "$PARALLEL" = "1" ]; then
    pids=()
    for t in $TARGETS; do
        run_target "$t" &
        pids+=("$!")
    done
    for p in "${pids[@]}"; do wait "$p"; done
else
    for t in $TARGETS; do run_target "$t"; done
fi

# Databases of finished request_bodies processes (named by pid).
for d in /dev/shm/gatehouse-fuzz/* "${TMPDIR:-/tmp}"/gatehouse-fuzz/*; do
    [ -d "$d" ] || continue
    pid="$(basename "$d")"
    [ -d "/proc/$pid" ] || rm -rf "$d"
done

echo
echo "== summary (${SECS}s per target)"
for t in $TARGETS; do summarise "$t"; done
