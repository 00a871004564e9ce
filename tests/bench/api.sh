#!/usr/bin/env bash
# Benchmarks that print figures (no pass/fail): the worker's sync of the
# largest real day and of a month, with time and peak memory, and the API's
# latency for a month view. Everything on 127.0.0.1, bounded in count.
#   tests/bench/api.sh [BIN_DIR]      (make bench-api builds and runs it)
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=deploy/lib.sh
. "$top/deploy/lib.sh"
bin=$(cd "${1:-$top/bin}" && pwd)
work=$(scratch_dir "$top" bench)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    "$top/deploy/pg-private.sh" stop "$work/pg"
    rm -rf "$work"
}
trap cleanup EXIT

db=$("$top/deploy/pg-private.sh" start "$work/pg")
sim_port=$(free_port)
"$bin/callstats-sim" serve --port "$sim_port" 2>"$work/sim.log" &
pids+=($!)
wait_for "$work/sim.log" "callstats-sim ready"

export DATABASE_URL=$db GUANKE_BASE_URL=http://127.0.0.1:$sim_port
export GUANKE_USERNAME=demo GUANKE_PASSWORD=demo-password
export CALLSTATS_INTERNAL_ACCOUNTS=admin CALLSTATS_LOG_LEVEL=warn
"$bin/callstats-worker" migrate >/dev/null

# Runs a sync and prints its wall time and peak resident memory.
timed_sync() {
    local label=$1 from=$2 to=$3
    /usr/bin/time -f '%e %M' -o "$work/time" \
        "$bin/callstats-worker" sync --from "$from" --to "$to" \
        >"$work/sync.out" 2>"$work/sync.log" || {
        cat "$work/sync.out" "$work/sync.log" >&2
        exit 1
    }
    read -r secs kib <"$work/time"
    records=$(awk '/ calls /{sub("records=", "", $3); n += $3} END{print n}' \
        "$work/sync.out")
    printf 'bench: %-34s %8s records %7.2f s %6d MiB peak\n' "$label" \
        "$records" "$secs" $((kib / 1024))
}

timed_sync "sync 2025-10-16 (largest day)" 2025-10-16 2025-10-16
timed_sync "sync 2025-10-16 again (replace)" 2025-10-16 2025-10-16
timed_sync "sync October 2025 (31 days)" 2025-10-01 2025-10-31

api_port=$(free_port)
CALLSTATS_API_DATABASE_URL=$db CALLSTATS_LISTEN=127.0.0.1:$api_port \
    CALLSTATS_LOG_LEVEL=info \
    "$bin/callstats-api" 2>"$work/api.log" &
pids+=($!)
wait_for "$work/api.log" "callstats-api ready"

# Latency of n requests with c at a time, from curl's own timings.
latency() {
    local label=$1 path=$2 n=$3 c=$4
    seq "$n" | xargs -P "$c" -I{} curl -s -o /dev/null \
        -w '%{http_code} %{time_total}\n' \
        "http://127.0.0.1:$api_port$path" >"$work/lat"
    sort -k2 -n "$work/lat" | awk -v label="$label" -v n="$n" '
        $1 != 200 { bad++ }
        { t[NR] = $2 }
        END {
            printf "bench: %-34s %5d requests  p50 %.1f ms  p99 %.1f ms" \
                "  max %.1f ms  non-200 %d\n", label, n,
                t[int(NR * 0.5)] * 1000, t[int(NR * 0.99)] * 1000,
                t[NR] * 1000, bad
        }'
}
latency "month 2025-10, one at a time" "/api/stats/month?month=2025-10" 200 1
latency "month 2025-10, 8 at a time" "/api/stats/month?month=2025-10" 400 8
latency "daily 366 days, one at a time" \
    "/api/stats/daily?from=2025-01-01&to=2026-01-01" 100 1
latency "grade-stats, 8 at a time" \
    "/api/stats/grade-stats?date=2025-10-16" 400 8
