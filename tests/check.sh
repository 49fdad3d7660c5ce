#!/usr/bin/env bash
# make check's driver: runs each stage, keeps going after a failure so the
# log shows everything, and closes with 'check: N passed, N failed'
# (counting stages).  Exit status non-zero if any stage failed.
set -u
MAKE=${MAKE:-make}
passed=0 failed=0 failed_names=""
stage() {
    echo "==== check: $1"
    if $MAKE --no-print-directory "$@"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1)); failed_names="$failed_names $1"
    fi
}
stage unit
stage suite
stage mutants
stage fuzz
stage report
stage hwreplay
stage asan
[ -n "$failed_names" ] && echo "check: failed stages:$failed_names"
echo "check: $passed passed, $failed failed"
[ "$failed" = 0 ]
