#!/usr/bin/env bash
# The demo: a private PostgreSQL in .demo/, the upstream simulator, the
# schema, a backfill of the last 31 days, then the worker daemon and the
# API; prints the dashboard's URL and stops everything on Ctrl-C.
# Run through `make demo`, which installs what is missing and builds first.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=deploy/lib.sh
. "$top/deploy/lib.sh"
bin=$top/bin
demo=$top/.demo
mkdir -p "$demo"
chmod 755 "$demo"
pids=()
stopping=no

say() { printf 'demo: %s\n' "$*"; }

# One demo per folder: a second one would share, then stop, the database.
lock=$demo/demo.pid
if [ -f "$lock" ] && kill -0 "$(cat "$lock")" 2>/dev/null; then
    say "a demo is already running from this folder (pid $(cat "$lock"));" \
        "stop it with Ctrl-C first"
    exit 1
fi
echo $$ >"$lock"

on_signal() {
    stopping=yes
    stop_all
    exit 0
}

stop_all() {
    trap - INT TERM EXIT
    say "stopping"
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    "$top/deploy/pg-private.sh" stop "$pgdir"
    rm -f "$lock"
    say "stopped; the database stays in $pgdir for the next run" \
        "(rm -rf $pgdir to start afresh)"
}

for b in callstats-worker callstats-api callstats-sim; do
    [ -x "$bin/$b" ] || { say "$bin/$b is missing: run make demo"; exit 1; }
done

# As root the cluster runs as "postgres", which must reach its folder;
# under a folder closed to others (/root, say) it lives in /var/tmp.
pgdir=$demo/pg
if [ "$(id -u)" -eq 0 ] && ! runuser -u postgres -- test -x "$demo"; then
    pgdir=/var/tmp/callstats-demo-$(printf '%s' "$top" | cksum | cut -d' ' -f1)
    say "user postgres cannot reach $demo; the database lives in $pgdir"
fi

trap on_signal INT TERM
trap stop_all EXIT
first_run=yes
[ -f "$pgdir/data/PG_VERSION" ] && first_run=no
db=$("$top/deploy/pg-private.sh" start "$pgdir")
say "PostgreSQL running, socket in $pgdir"

sim_port=$(free_port 18480)
mark=$(log_end "$demo/sim.log")
"$bin/callstats-sim" serve --port "$sim_port" 2>>"$demo/sim.log" &
pids+=($!)
wait_for "$demo/sim.log" "callstats-sim ready" "$mark"
say "upstream simulator on http://127.0.0.1:$sim_port"

export DATABASE_URL=$db
export GUANKE_BASE_URL=http://127.0.0.1:$sim_port
export GUANKE_USERNAME=demo
export GUANKE_PASSWORD=demo-password
export CALLSTATS_INTERNAL_ACCOUNTS=admin
export CALLSTATS_TZ=${CALLSTATS_TZ:-Asia/Shanghai}

# migrate also makes the API's read-only role, callstats_api.
"$bin/callstats-worker" migrate
reader=$("$top/deploy/pg-private.sh" api-role "$pgdir")

# The last 31 days: all of them the first time; later, from the first day
# of those that is not synced (at most 3 days back), so no gap is left.
today=$(TZ=$CALLSTATS_TZ date +%F)
from=$(TZ=$CALLSTATS_TZ date -d "$today -30 days" +%F)
if [ $first_run = no ]; then
    recent=$(TZ=$CALLSTATS_TZ date -d "$today -3 days" +%F)
    missing=$(psql "$db" -X -tA -c "SELECT min(d)::date FROM
        generate_series('$from'::date, '$today'::date, '1 day') AS d
        WHERE (SELECT count(*) FROM sync_state s WHERE s.stat_date = d) < 2")
    from=$recent
    if [ -n "$missing" ] && [[ "$missing" < "$recent" ]]; then
        from=$missing
    fi
fi
say "backfilling $from .. $today (one line per day and source)"
CALLSTATS_LOG_LEVEL=warn "$bin/callstats-worker" sync --from "$from" \
    --to "$today" ||
    say "some days failed; the worker daemon will retry them on schedule"

mark=$(log_end "$demo/worker.log")
"$bin/callstats-worker" run 2>>"$demo/worker.log" &
pids+=($!)
wait_for "$demo/worker.log" "callstats-worker ready" "$mark"

api_port=$(free_port "${DEMO_PORT:-8080}")
mark=$(log_end "$demo/api.log")
CALLSTATS_API_DATABASE_URL=$reader \
    CALLSTATS_LISTEN=127.0.0.1:$api_port \
    "$bin/callstats-api" 2>>"$demo/api.log" &
pids+=($!)
wait_for "$demo/api.log" "callstats-api ready" "$mark"

cat <<TXT

  callstats demo is running.

  Dashboard:  http://127.0.0.1:$api_port/
  API:        http://127.0.0.1:$api_port/api/stats/month?month=${today:0:7}
  Logs:       $demo/worker.log, $demo/api.log, $demo/sim.log

  Press Ctrl-C to stop.

TXT
# Ctrl-C reaches the whole process group: the programs may stop (status
# 0) before this shell runs its trap. A program that stops cleanly was
# asked to; one that fails ended by itself.
status=0
wait -n "${pids[@]}" || status=$?
if [ $stopping = no ] && [ $status -ne 0 ]; then
    say "a process of the demo failed (status $status); see the logs in $demo"
    exit 1
fi
