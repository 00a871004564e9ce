#!/usr/bin/env bash
# Runs every unit test binary in the given folder (cmocka), with a scratch
# PostgreSQL for those that write to one, then prints one closing line
# "unit: N passed, N failed"; exits non-zero if any failed.
set -uo pipefail

dir=${1:?usage: run-unit.sh DIR}
passed=0
failed=0
binaries=0
log=$(mktemp)
top=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=deploy/lib.sh
. "$top/deploy/lib.sh"
pg=$(scratch_dir "$top" unit-pg)
cleanup() {
    "$top/deploy/pg-private.sh" stop "$pg"
    rm -rf "$log" "$pg"
}
trap cleanup EXIT

# The tests of the worker's day writer need a scratch database.
CALLSTATS_TEST_DATABASE_URL=$("$top/deploy/pg-private.sh" start "$pg") || exit 1
export CALLSTATS_TEST_DATABASE_URL

for t in "$dir"/test_*; do
    [ -x "$t" ] || continue
    binaries=$((binaries + 1))
    "$t" >"$log" 2>&1
    rc=$?
    cat "$log"
    p=$(grep -o '\[  PASSED  \] [0-9]*' "$log" | tail -n 1 | grep -o '[0-9]*$')
    f=$(grep -o '\[  FAILED  \] [0-9]*' "$log" | tail -n 1 | grep -o '[0-9]*$')
    passed=$((passed + ${p:-0}))
    failed=$((failed + ${f:-0}))
    if [ $rc -ne 0 ] && [ "${f:-0}" -eq 0 ]; then
        echo "unit: $t exited with status $rc"
        failed=$((failed + 1))
    fi
done

if [ $binaries -eq 0 ]; then
    echo "unit: no test binaries in $dir"
    exit 1
fi
echo "unit: $passed passed, $failed failed"
[ $failed -eq 0 ]
