#!/usr/bin/env bash
# Every environment variable the programs read must be documented in
# docs/configuration.md and shown in the README's configuration section.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

vars=$(grep -ohE '"(DATABASE_URL|CALLSTATS_[A-Z0-9_]+|GUANKE_[A-Z_]+)"' \
    common/*.c api/*.c worker/*.c | tr -d '"' | sort -u)
missing=0
for v in $vars; do
    for doc in docs/configuration.md README.md; do
        if ! grep -q "$v" "$doc"; then
            echo "check-docs: $v is read by the code but not in $doc"
            missing=$((missing + 1))
        fi
    done
done
count=$(echo "$vars" | wc -w)
if [ "$count" -lt 10 ]; then
    echo "check-docs: found only $count variables; is the pattern stale?"
    exit 1
fi
echo "check-docs: $count variables, $missing undocumented"
[ $missing -eq 0 ]
