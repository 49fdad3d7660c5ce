#!/usr/bin/env bash
# Proves the checks can fail: each mutant (a deliberate bug switched on with
# --mutant, see include/pagesim/mutant.h) must make the default suite fail,
# and at least one scenario must DIVERGE, i.e. the oracle itself -- not only
# a scenario's expect() -- must catch it.
set -u
PAGESIM=${1:-./pagesim}
T=$(mktemp -d /tmp/pagesim-mut.XXXXXX)
trap 'rm -rf "$T"' EXIT
bad=0
n=0
for m in $("$PAGESIM" mutants); do
    if grep -qx "$m" "$(dirname "$0")/../matrix/matrix-only-mutants"; then
        echo "mutants: $m: not reachable from scenarios, checked by make matrix"
        continue
    fi
    n=$((n + 1))
    "$PAGESIM" run --no-db --mutant "$m" scenarios/ >"$T/$m.out" 2>&1
    rc=$?
    div=$(grep -c '^DIVERGE' "$T/$m.out")
    fl=$(grep -c '^FAIL' "$T/$m.out")
    if [ $rc = 0 ] || [ "$div" = 0 ]; then
        echo "mutants: $m NOT caught (exit $rc, $div diverging, $fl failing scenarios)"
        cat "$T/$m.out"
        bad=1
    else
        first=$(grep -m1 '^DIVERGE' "$T/$m.out" | sed 's/  */ /g')
        echo "mutants: $m caught: $div diverging, $fl failing; first: $first"
    fi
done
[ $bad = 0 ] && echo "mutants: all $n caught" || { echo "mutants: FAILED"; exit 1; }
