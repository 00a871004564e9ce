#!/usr/bin/env bash
# Integration tests: a private PostgreSQL, two upstream simulators (one
# well-behaved, one with faults switched on) and the real binaries; the
# cmocka programs built from tests/integration/test_*.c drive them, each on
# a database of its own in the same server.
#   tests/integration/run.sh BIN_DIR TEST_PROGRAM...
set -uo pipefail

usage="usage: run.sh BIN_DIR TEST_PROGRAM..."
bin=$(cd "${1:?$usage}" && pwd)
shift
[ $# -gt 0 ] || { echo "$usage" >&2; exit 2; }
programs=()
for p in "$@"; do programs+=("$(readlink -f "$p")"); done
top=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=deploy/lib.sh
. "$top/deploy/lib.sh"

work=$(scratch_dir "$top" it)
pids=()

cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    "$top/deploy/pg-private.sh" stop "$work/pg"
}
trap cleanup EXIT

now=$(date +%s)
seed=7
db=$("$top/deploy/pg-private.sh" start "$work/pg") || exit 1

start_sim() {
    local port=$1 name=$2
    shift 2
    "$bin/callstats-sim" serve --port "$port" --seed "$seed" --now "$now" \
        "$@" 2>"$work/$name.log" &
    pids+=($!)
    wait_for "$work/$name.log" "callstats-sim ready" || exit 1
}
sim_port=$(free_port)
start_sim "$sim_port" sim
fault_port=$(free_port)
start_sim "$fault_port" sim-faults --faults http500,429,expire

export CS_BIN=$bin
export CS_WORK=$work
export CS_DB=$db
export CS_SIM_URL=http://127.0.0.1:$sim_port
export CS_FAULT_SIM_URL=http://127.0.0.1:$fault_port
export CS_SEED=$seed
export CS_NOW=$now
export CS_PG_PRIVATE=$top/deploy/pg-private.sh
export CS_FREE_PORTS="$(free_port) $(free_port) $(free_port)"

# Runs one program on its own database; prints its counts as "P F".
run_program() {
    local program=$1 name db_of
    name=$(basename "$program")
    db_of=$db
    if [ "$name" != it_integration ]; then
        psql "$db" -qAt -c "CREATE DATABASE callstats_$name" >/dev/null ||
            return 1
        db_of=${db/dbname=callstats/dbname=callstats_$name}
    fi
    CS_DB=$db_of "$program" >"$work/$name.cmocka" 2>&1
    local status=$?
    cat "$work/$name.cmocka" >&2
    local p f
    p=$(grep -o '\[  PASSED  \] [0-9]*' "$work/$name.cmocka" | grep -o '[0-9]*$')
    f=$(grep -o '\[  FAILED  \] [0-9]*' "$work/$name.cmocka" | grep -o '[0-9]*$')
    [ $status -ne 0 ] && [ "${f:-0}" -eq 0 ] && f=1
    echo "${p:-0} ${f:-0}"
    return $status
}

status=0
passed=0
failed=0
for program in "${programs[@]}"; do
    counts=$(run_program "$program") || status=1
    read -r p f <<<"${counts:-0 1}"
    passed=$((passed + p))
    failed=$((failed + f))
done
# A sanitizer report in any log fails the run, whichever test reaped the
# program that wrote it (the harness fails that test too, when it can).
reports=$(grep -l -e 'ERROR: AddressSanitizer' -e 'ERROR: LeakSanitizer' \
    -e 'runtime error:' "$work"/*.log 2>/dev/null)
if [ -n "$reports" ]; then
    echo "integration: sanitizer reports in" $reports >&2
    status=1
fi
summary="integration: $passed passed, $failed failed"
[ $status -ne 0 ] && [ "$failed" -eq 0 ] && summary="integration: $passed passed, 1 failed"
if [ $status -ne 0 ]; then
    echo "integration: failed; logs in $work" >&2
    for f in "$work"/*.log; do
        echo "---- $f (last 30 lines)" >&2
        tail -n 30 "$f" >&2
    done
    trap - EXIT
    cleanup
    echo "$summary"
    exit $status
fi
cleanup
trap - EXIT
rm -rf "$work"
echo "$summary"
