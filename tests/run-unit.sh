#!/usr/bin/env bash
# Runs each Criterion unit-test binary given; fails if any test fails.
# Criterion prints its own "[====] Synthesis: ..." line per binary.
set -u
fail=0
for t in "$@"; do
    echo "unit: $t"
    "$t" --color=never -j2 || fail=1
done
[ $fail = 0 ] && echo "unit: all binaries passed" || { echo "unit: FAILED"; exit 1; }
