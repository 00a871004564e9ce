#!/usr/bin/env bash
# The worker's sync speed and memory, printed (no pass/fail): days of
# 100,000 and 1,000,000 call records from the simulator, end to end, beside
# the same rows loaded by psql's \copy (the ceiling: no HTTP, no JSON);
# then a day of 100 pages served at 300 ms a page, with 1, 2 and 8
# requests in flight. Everything on 127.0.0.1, one run of each.
#   tests/bench/worker.sh [BIN_DIR]      (make bench-worker builds and runs it)
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=deploy/lib.sh
. "$top/deploy/lib.sh"
bin=$(cd "${1:-$top/bin}" && pwd)
work=$(scratch_dir "$top" bench-worker)
pids=()
cleanup() {
    remove_scratch "$top" "$work" "${pids[@]}"
}
trap cleanup EXIT

small=2025-10-20
large=2025-10-21
db=$("$top/deploy/pg-private.sh" start "$work/pg")

start_sim() {
    local name=$1 port=$2
    shift 2
    "$bin/callstats-sim" serve --port "$port" --seed 7 \
        --day-records "$small=100000,$large=1000000" "$@" \
        2>"$work/$name.log" &
    pids+=($!)
    wait_for "$work/$name.log" "callstats-sim ready"
}
sim_port=$(free_port)
start_sim sim "$sim_port"
slow_port=$(free_port)
start_sim sim-slow "$slow_port" --page-delay-ms 300

export DATABASE_URL=$db GUANKE_USERNAME=demo GUANKE_PASSWORD=demo-password
export CALLSTATS_INTERNAL_ACCOUNTS=admin CALLSTATS_LOG_LEVEL=warn
export PGOPTIONS="-c client_min_messages=warning"
"$bin/callstats-worker" migrate >/dev/null

# Syncs one day's call records; sets secs and kib.
sync_calls() {
    local day=$1 port=$2
    GUANKE_BASE_URL=http://127.0.0.1:$port /usr/bin/time -f '%e %M' \
        -o "$work/time" "$bin/callstats-worker" sync --from "$day" \
        --to "$day" --source calls >"$work/sync.out" 2>"$work/sync.log" || {
        cat "$work/sync.out" "$work/sync.log" >&2
        exit 1
    }
    read -r secs kib <"$work/time"
}

# The day's stored rows loaded again by \copy into an empty copy of
# call_records (its key included); sets copy_secs.
copy_ceiling() {
    local day=$1
    psql "$db" -qAt -c "\\copy (SELECT * FROM call_records WHERE stat_date = '$day') TO '$work/rows.tsv'"
    psql "$db" -qAt -c "DROP TABLE IF EXISTS ceiling" \
        -c "CREATE TABLE ceiling (LIKE call_records INCLUDING ALL)"
    local start end
    start=$(date +%s.%N)
    psql "$db" -qAt -c "\\copy ceiling FROM '$work/rows.tsv'"
    end=$(date +%s.%N)
    copy_secs=$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }')
    psql "$db" -qAt -c "DROP TABLE ceiling"
    rm -f "$work/rows.tsv"
}

for day in $small $large; do
    sync_calls "$day" "$sim_port"
    first=$secs first_kib=$kib
    sync_calls "$day" "$sim_port"
    again=$secs again_kib=$kib
    rows=$(psql "$db" -qAt -c "SELECT count(*) FROM call_records WHERE stat_date = '$day'")
    copy_ceiling "$day"
    awk -v day="$day" -v rows="$rows" -v first="$first" -v again="$again" \
        -v fk="$first_kib" -v ak="$again_kib" -v copy="$copy_secs" 'BEGIN {
        printf "bench: day %s %8d records  first sync %6.2f s %8.0f rec/s %3d MiB peak\n",
            day, rows, first, rows / first, fk / 1024
        printf "bench: day %s %8d records  re-sync    %6.2f s %8.0f rec/s %3d MiB peak\n",
            day, rows, again, rows / again, ak / 1024
        printf "bench: day %s %8d records  \\copy      %6.2f s %8.0f rec/s  (ceiling)\n",
            day, rows, copy, rows / copy
        printf "bench: day %s first sync at %.0f%% of the \\copy rate, re-sync at %.0f%%\n",
            day, 100 * copy / first, 100 * copy / again
    }'
done

for n in 1 2 8; do
    CALLSTATS_PAGES_IN_FLIGHT=$n sync_calls "$small" "$slow_port"
    printf 'bench: day %s, 100 pages at 300 ms a page, %d in flight: %6.2f s %3d MiB peak\n' \
        "$small" "$n" "$secs" $((kib / 1024))
done
