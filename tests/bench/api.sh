#!/usr/bin/env bash
# The API benchmark, printed (no pass/fail). First the worker's sync of the
# largest real day and of October 2025, with time and peak memory; then wrk
# drives, one after the other and with the same parameters, the API (month
# view with its response cache on and off, grade-stats, a year of daily CSV)
# and two references serving the month view's bytes: a constant civetweb
# handler (tests/bench/const_server.c) and nginx with a static file.
# Everything on 127.0.0.1, each load bounded in time.
#   tests/bench/api.sh [BIN_DIR [CONST_SERVER]]
#                      (make bench-api installs wrk and nginx, builds, runs)
# BENCH_PIN=1 pins wrk to one core and what it measures to the other
# (see docs/performance.md); by default every process uses both cores.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=deploy/lib.sh
. "$top/deploy/lib.sh"
bin=$(cd "${1:-$top/bin}" && pwd)
const_server=${2:-$top/build/release/tests/bench/const_server}
nginx=$(command -v nginx || echo /usr/sbin/nginx)
for tool in wrk "$nginx" "$const_server"; do
    command -v "$tool" >/dev/null || {
        echo "bench: $tool is missing; run make bench-api" >&2
        exit 1
    }
done

threads=16                  # the API's default CALLSTATS_API_THREADS
wrk_args=(-t2 -c16 -d10s --latency)
warm_args=(-t2 -c16 -d2s)
# Two cores: the load generator on one, whatever serves (and PostgreSQL)
# on the other, so that wrk never takes CPU from the server it measures.
if [ "${BENCH_PIN:-0}" = 1 ] && [ "$(nproc)" -ge 2 ]; then
    load_cpu=(taskset -c 0) serve_cpu=(taskset -c 1)
else
    load_cpu=() serve_cpu=()
fi

# A free port from a random one above 40000 on.
port_above_40000() {
    free_port $((40001 + RANDOM % 20000))
}

work=$(scratch_dir "$top" bench)
pids=()
cleanup() {
    remove_scratch "$top" "$work" "${pids[@]}"
}
trap cleanup EXIT

db=$("$top/deploy/pg-private.sh" start "$work/pg")
sim_port=$(port_above_40000)
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

# PostgreSQL's processes, and the backends they start, join the serving
# core (a child may end meanwhile: an autovacuum worker, say).
if [ ${#serve_cpu[@]} -gt 0 ]; then
    postmaster=$(head -n 1 "$work/pg/data/postmaster.pid")
    taskset -cp 1 "$postmaster" >/dev/null
    for p in $(pgrep -P "$postmaster"); do
        taskset -cp 1 "$p" >/dev/null 2>&1 || true
    done
fi

# Starts an API on a free port; sets port. $1 names its log.
start_api() {
    local name=$1
    shift
    port=$(port_above_40000)
    env "$@" CALLSTATS_API_DATABASE_URL="$db" \
        CALLSTATS_LISTEN="127.0.0.1:$port" CALLSTATS_API_THREADS=$threads \
        CALLSTATS_LOG_LEVEL=info "${serve_cpu[@]}" "$bin/callstats-api" \
        2>"$work/$name.log" &
    pids+=($!)
    wait_for "$work/$name.log" "callstats-api ready"
}
start_api api
api_port=$port
start_api api-nocache CALLSTATS_API_CACHE_MB=0
nocache_port=$port

month='/api/stats/month?month=2025-10'
curl -sf -o "$work/month.json" "http://127.0.0.1:$api_port$month"

const_port=$(port_above_40000)
"${serve_cpu[@]}" "$const_server" "$const_port" $threads "$work/month.json" \
    2>"$work/const.log" &
pids+=($!)
wait_for "$work/const.log" "const_server ready"

# A private nginx: its own prefix, configuration, logs and temp folders.
mkdir -p "$work/nginx"
nginx_port=$(port_above_40000)
{
    if [ "$(id -u)" -eq 0 ]; then echo "user root;"; fi
    cat <<EOF
daemon off;
master_process on;
worker_processes 2;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    keepalive_requests 1000000;
    client_body_temp_path $work/nginx/body;
    proxy_temp_path $work/nginx/proxy;
    fastcgi_temp_path $work/nginx/fastcgi;
    uwsgi_temp_path $work/nginx/uwsgi;
    scgi_temp_path $work/nginx/scgi;
    server {
        listen 127.0.0.1:$nginx_port;
        location = /api/stats/month {
            default_type application/json;
            alias $work/month.json;
        }
    }
}
EOF
} >"$work/nginx/nginx.conf"
"${serve_cpu[@]}" "$nginx" -p "$work/nginx" -e "$work/nginx/error.log" \
    -c "$work/nginx/nginx.conf" &
pids+=($!)
for _ in $(seq 100); do
    curl -sf -o /dev/null "http://127.0.0.1:$nginx_port$month" && break
    sleep 0.1
done

# Loads one URL with wrk after a short warm-up, prints a line of figures
# and sets rps.
load() {
    local label=$1 url=$2
    curl -sf -o /dev/null "$url" || {
        echo "bench: $label: $url does not answer 200" >&2
        exit 1
    }
    "${load_cpu[@]}" wrk "${warm_args[@]}" "$url" >/dev/null
    "${load_cpu[@]}" wrk "${wrk_args[@]}" "$url" >"$work/wrk.out"
    read -r rps p50 p99 bad errors < <(awk '
        function ms(v) {
            if (v ~ /us$/) return v * 0.001
            if (v ~ /ms$/) return v + 0
            if (v ~ /m$/) return v * 60000
            return v * 1000
        }
        $1 == "50%" { p50 = ms($2) }
        $1 == "99%" { p99 = ms($2) }
        /^Requests\/sec:/ { rps = $2 }
        /Non-2xx or 3xx responses:/ { bad = $NF }
        /Socket errors:/ { gsub(",", ""); errors = $4 + $6 + $8 + $10 }
        END { printf "%.0f %.2f %.2f %d %d\n", rps, p50, p99, bad, errors }
    ' "$work/wrk.out")
    printf 'bench: %-30s %8d req/s  p50 %6.2f ms  p99 %6.2f ms' \
        "$label" "$rps" "$p50" "$p99"
    printf '  non-2xx %d  socket errors %d\n' "$bad" "$errors"
}

echo "bench: wrk ${wrk_args[*]}, pinned: ${BENCH_PIN:-0}," \
    "$threads civetweb threads, $(wc -c <"$work/month.json") bytes month view"
load "month, cache on" "http://127.0.0.1:$api_port$month"
cached=$rps
load "month, cache off" "http://127.0.0.1:$nocache_port$month"
uncached=$rps
load "grade-stats 2025-10-16" \
    "http://127.0.0.1:$api_port/api/stats/grade-stats?date=2025-10-16"
load "daily.csv, 365 days" \
    "http://127.0.0.1:$api_port/api/stats/daily.csv?from=2025-01-01&to=2025-12-31"
load "constant civetweb handler" "http://127.0.0.1:$const_port$month"
constant=$rps
load "nginx static file" "http://127.0.0.1:$nginx_port$month"

awk -v c="$cached" -v k="$constant" -v u="$uncached" 'BEGIN {
    printf "bench: month cached / constant handler: %.0f%% (target 70%% or more)\n",
        100 * c / k
    printf "bench: month uncached: %d req/s (target over 5000)\n", u
}'
