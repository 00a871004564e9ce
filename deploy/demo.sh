#!/usr/bin/env bash
# The demo: a private PostgreSQL in .demo/, the upstream simulator, the
# schema, a backfill of the last 31 days, then the worker daemon and the
# API; prints the dashboard's URL and stops everything on Ctrl-C.
# Run through `make demo`, which installs what is missing and builds first.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
bin=$top/bin
demo=$top/.demo
mkdir -p "$demo"
chmod 755 "$demo"
pids=()

say() { printf 'demo: %s\n' "$*"; }

stop_all() {
    trap - INT TERM EXIT
    say "stopping"
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    "$top/deploy/pg-private.sh" stop "$demo/pg"
    say "stopped; the database stays in $demo/pg for the next run"
}

port_free() {
    ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

free_port() {
    local port=$1
    while ! port_free "$port"; do port=$((port + 1)); done
    echo "$port"
}

wait_for() {
    local file=$1 text=$2
    for _ in $(seq 300); do
        grep -q "$text" "$file" 2>/dev/null && return 0
        sleep 0.1
    done
    say "\"$text\" did not appear in $file:"
    tail -n 20 "$file" >&2
    return 1
}

for b in callstats-worker callstats-api callstats-sim; do
    [ -x "$bin/$b" ] || { say "$bin/$b is missing: run make demo"; exit 1; }
done

trap stop_all INT TERM EXIT
first_run=yes
[ -f "$demo/pg/data/PG_VERSION" ] && first_run=no
db=$("$top/deploy/pg-private.sh" start "$demo/pg")
say "PostgreSQL running, socket in $demo/pg"

sim_port=$(free_port 18480)
"$bin/callstats-sim" serve --port "$sim_port" 2>"$demo/sim.log" &
pids+=($!)
wait_for "$demo/sim.log" "callstats-sim ready"
say "upstream simulator on http://127.0.0.1:$sim_port"

export DATABASE_URL=$db
export GUANKE_BASE_URL=http://127.0.0.1:$sim_port
export GUANKE_USERNAME=demo
export GUANKE_PASSWORD=demo-password
export CALLSTATS_INTERNAL_ACCOUNTS=admin
export CALLSTATS_TZ=${CALLSTATS_TZ:-Asia/Shanghai}

"$bin/callstats-worker" migrate
reader=$("$top/deploy/pg-private.sh" api-role "$demo/pg")

today=$(TZ=$CALLSTATS_TZ date +%F)
if [ $first_run = yes ]; then
    from=$(TZ=$CALLSTATS_TZ date -d "$today -30 days" +%F)
else
    from=$(TZ=$CALLSTATS_TZ date -d "$today -3 days" +%F)
fi
say "backfilling $from .. $today (one line per day and source)"
"$bin/callstats-worker" sync --from "$from" --to "$today" ||
    say "some days failed; the worker daemon will retry them on schedule"

"$bin/callstats-worker" run 2>"$demo/worker.log" &
pids+=($!)
wait_for "$demo/worker.log" "callstats-worker ready"

api_port=$(free_port "${DEMO_PORT:-8080}")
CALLSTATS_API_DATABASE_URL=$reader \
    CALLSTATS_LISTEN=127.0.0.1:$api_port \
    "$bin/callstats-api" 2>"$demo/api.log" &
pids+=($!)
wait_for "$demo/api.log" "callstats-api ready"

cat <<TXT

  callstats demo is running.

  Dashboard:  http://127.0.0.1:$api_port/
  API:        http://127.0.0.1:$api_port/api/stats/month?month=${today:0:7}
  Logs:       $demo/worker.log, $demo/api.log, $demo/sim.log

  Press Ctrl-C to stop.

TXT
wait -n "${pids[@]}" || true
say "a process ended early; see the logs above"
