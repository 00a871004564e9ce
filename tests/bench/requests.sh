#!/usr/bin/env bash
# Upstream requests a day for today's call records, printed (no pass/fail):
# the worker's incremental fetch every minute against the whole day fetched
# every 10 minutes, on the busiest real day of the simulator's data.
#
# The incremental way is measured: the real `callstats-worker run` and the
# simulator run a whole business day under faketime (a shared clock, 300
# times faster), and the simulator counts the requests it served. The
# whole-day way is counted: each of its 90 fetches takes one request per
# 1000 records then on the platform (the simulator's truth at that time);
# one of them is run for real to check the count.
#   tests/bench/requests.sh [BIN_DIR]      (make bench-requests runs it)
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=deploy/lib.sh
. "$top/deploy/lib.sh"
bin=$(cd "${1:-$top/bin}" && pwd)
work=$(scratch_dir "$top" bench-requests)
day=2025-10-16
speed=300
cleanup() {
    "$top/deploy/pg-private.sh" stop "$work/pg"
    [ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
command -v faketime >/dev/null || {
    echo "requests.sh: faketime is missing; run deploy/install-deps.sh" >&2
    exit 1
}

db=$("$top/deploy/pg-private.sh" start "$work/pg")
export DATABASE_URL=$db GUANKE_USERNAME=demo GUANKE_PASSWORD=demo-password
export CALLSTATS_INTERNAL_ACCOUNTS=admin CALLSTATS_LOG_LEVEL=warn
export CALLSTATS_TZ=Asia/Shanghai TZ=Asia/Shanghai
"$bin/callstats-worker" migrate >/dev/null

# One business day, 08:59 to 00:01, of the default today-calls job.
port=$(free_port)
export BIN=$bin WORK=$work PORT=$port
faketime -f "@$day 08:59:00 x$speed" bash -c '
    set -euo pipefail
    "$BIN/callstats-sim" serve --port "$PORT" --seed 7 2>"$WORK/sim.log" &
    sim=$!
    for _ in $(seq 300); do grep -q "callstats-sim ready" "$WORK/sim.log" && break; sleep 1; done
    GUANKE_BASE_URL=http://127.0.0.1:$PORT CALLSTATS_SLOT_OFFSET=0 \
        CALLSTATS_JOB_HISTORY=off CALLSTATS_JOB_RECENT=off \
        CALLSTATS_JOB_CLOSE_YESTERDAY=off CALLSTATS_JOB_OPEN_TODAY=off \
        CALLSTATS_JOB_TODAY_STATS=off \
        "$BIN/callstats-worker" run 2>"$WORK/worker.log" &
    worker=$!
    sleep $((15 * 3600 + 120))
    curl -s "http://127.0.0.1:$PORT/sim/counters" >"$WORK/counters.json"
    kill "$worker" "$sim"
    wait
' || true
runs=$(psql "$db" -qAt -c "SELECT count(*) FROM sync_runs WHERE job = 'today-calls' AND status = 'success'")
skipped=$(psql "$db" -qAt -c "SELECT count(*) FROM sync_runs WHERE job = 'today-calls' AND status = 'skipped'")
stored=$(psql "$db" -qAt -c "SELECT count(*) FROM call_records WHERE stat_date = '$day'")
incremental=$(sed 's/.*"cdr": *\([0-9]*\).*/\1/' "$work/counters.json")

# The whole day every 10 minutes, 09:00 to 23:50: one request per 1000
# records visible then (at least one).
whole=0
for h in $(seq 9 23); do
    for m in 00 10 20 30 40 50; do
        at=$(TZ=Asia/Shanghai date -d "$day $h:$m:00" +%s)
        n=$("$bin/callstats-sim" truth --date "$day" --seed 7 --now "$at" |
            sed 's/.*"records": \([0-9]*\).*/\1/')
        whole=$((whole + (n > 0 ? (n + 999) / 1000 : 1)))
    done
done
# Check: the last of those fetches, run for real, against the counter.
at=$(TZ=Asia/Shanghai date -d "$day 23:50:00" +%s)
port=$(free_port)
"$bin/callstats-sim" serve --port "$port" --seed 7 --now "$at" 2>"$work/sim-check.log" &
sim=$!
wait_for "$work/sim-check.log" "callstats-sim ready"
GUANKE_BASE_URL=http://127.0.0.1:$port "$bin/callstats-worker" sync \
    --from "$day" --to "$day" --source calls >/dev/null 2>"$work/check.log"
served=$(curl -s "http://127.0.0.1:$port/sim/counters" | sed 's/.*"cdr": *\([0-9]*\).*/\1/')
kill "$sim"
wait "$sim" 2>/dev/null || true
n=$("$bin/callstats-sim" truth --date "$day" --seed 7 --now "$at" | sed 's/.*"records": \([0-9]*\).*/\1/')

printf 'bench: day %s, %d records stored by the incremental runs (%d runs, %d skipped)\n' \
    "$day" "$stored" "$runs" "$skipped"
printf 'bench: today-calls incremental, every minute 09:00-23:59: %6d CDR requests a day\n' "$incremental"
printf 'bench: whole day every 10 minutes 09:00-23:50:           %6d CDR requests a day\n' "$whole"
printf 'bench: incremental makes %.0f%% of the whole-day requests\n' \
    "$(awk -v a="$incremental" -v b="$whole" 'BEGIN { print 100 * a / b }')"
printf 'bench: check: the 23:50 whole-day fetch took %d requests for %d records (counted: %d)\n' \
    "$served" "$n" $(((n + 999) / 1000))
