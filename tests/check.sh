#!/usr/bin/env bash
# make check's driver: runs each stage, keeps going after a failure so the
# log shows everything, and closes with 'check: N passed, N failed'
# (counting stages).  Exit status non-zero if any stage failed.
set -u
MAKE=${MAKE:-make}
passed=0 failed=0 failed_names=""
stage() {
    echo "==== check: $1"
    local t0=$SECONDS
    if $MAKE --no-print-directory "$@"; then
        passed=$((passed + 1))
        echo "==== check: $1 passed in $((SECONDS - t0)) s"
    else
        failed=$((failed + 1)); failed_names="$failed_names $1"
        echo "==== check: $1 FAILED in $((SECONDS - t0)) s"
    fi
}
stage unit
stage suite
stage mutants
stage matrix
stage fuzz
stage report
stage hwreplay
stage asan
[ -n "$failed_names" ] && echo "check: failed stages:$failed_names"
echo "check: all stages took $SECONDS s"
echo "check: $passed passed, $failed failed"
[ "$failed" = 0 ]
