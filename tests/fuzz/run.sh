#!/usr/bin/env bash
# Runs each libFuzzer target for a bounded time from its seed corpus
# (tests/fuzz/corpus/NAME, NAME being the target's name less "fuzz_") with
# its dictionary (tests/fuzz/NAME.dict, if any), then prints one line
# "fuzz: ...". A crash, a leak or a broken assertion fails the run and keeps
# the input that caused it. New inputs go to a scratch folder, never into
# the seeds.
#   tests/fuzz/run.sh TARGET...
# FUZZ_RUNS (default 400000) and FUZZ_SECONDS (default 30) bound each
# target: it stops at whichever comes first.
set -uo pipefail

[ $# -gt 0 ] || { echo "usage: run.sh TARGET..." >&2; exit 2; }
top=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=deploy/lib.sh
. "$top/deploy/lib.sh"
runs=${FUZZ_RUNS:-400000}
seconds=${FUZZ_SECONDS:-30}
work=$(scratch_dir "$top" fuzz)
status=0
summary=()

for target in "$@"; do
    name=$(basename "$target")
    short=${name#fuzz_}
    seeds=$top/tests/fuzz/corpus/$short
    if [ ! -d "$seeds" ]; then
        echo "fuzz: no seed corpus $seeds for $name" >&2
        status=1
        continue
    fi
    corpus=$work/$short
    mkdir -p "$corpus"
    cp "$seeds"/* "$corpus"/
    opts=(-runs="$runs" -max_total_time="$seconds" -max_len=4096
        -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
        -artifact_prefix="$work/$short-")
    [ -f "$top/tests/fuzz/$short.dict" ] &&
        opts+=(-dict="$top/tests/fuzz/$short.dict")
    start=$(date +%s)
    "$target" "${opts[@]}" "$corpus" >"$work/$name.log" 2>&1
    rc=$?
    took=$(($(date +%s) - start))
    done_runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' \
        "$work/$name.log" | grep -o '[0-9]*$')
    if [ $rc -ne 0 ]; then
        status=1
        echo "fuzz: $name failed (status $rc); the end of its log:" >&2
        grep -v '^#[0-9]' "$work/$name.log" | tail -n 40 >&2
        for a in "$work/$short"-*; do
            [ -e "$a" ] && echo "fuzz: input kept in $a; replay:" \
                "$target $a" >&2
        done
        summary+=("$name failed")
    else
        summary+=("$name ${done_runs:-?} inputs in ${took} s, no failure")
    fi
done

if [ $status -eq 0 ]; then
    rm -rf "$work"
else
    echo "fuzz: logs and inputs in $work" >&2
fi
(
    IFS=';'
    echo "fuzz: ${summary[*]}"
)
exit $status
