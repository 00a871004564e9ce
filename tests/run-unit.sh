#!/usr/bin/env bash
# Runs every unit test binary in the given folder (cmocka), then prints one
# closing line "unit: N passed, N failed"; exits non-zero if any failed.
set -uo pipefail

dir=${1:?usage: run-unit.sh DIR}
passed=0
failed=0
binaries=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

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
