#!/usr/bin/env bash
# A short fuzz: each tests/fuzz/*.lua (random_ops, paging_ops) draws a random sequence of
# hypervisor operations and guest accesses from the run's seed; every step
# is checked against the oracle, so any divergence fails.  FUZZ_SEEDS sets
# how many seeds (default 40).  (2) `pagesim fuzz` with a fixed seed and
# FUZZ_OPS operations (default 12000): any finding fails, and its shrunk
# reproducer is printed.
set -u
PAGESIM=${1:-./pagesim}
N=${FUZZ_SEEDS:-40}
T=$(mktemp -d /tmp/pagesim-fuzz.XXXXXX)
trap 'rm -rf "$T"' EXIT
bad=0
for f in tests/fuzz/*.lua; do
for s in $(seq 1 "$N"); do
    out=$("$PAGESIM" run --db "$T/fuzz.db" --seed "$s" "$f") || {
        echo "$out"; echo "fuzz: seed $s FAILED (reproduce: $PAGESIM run -v --seed $s $f)"; bad=1; }
done
done
steps=$(sqlite3 "$T/fuzz.db" 'select sum(steps) from runs')
echo "fuzz: $N seeds x $(ls tests/fuzz/*.lua | wc -l) scenarios, $steps steps checked against the oracle"
# The generator-driven fuzzer, fixed seed, bounded: deterministic.
"$PAGESIM" fuzz --no-db --seed 1 --ops "${FUZZ_OPS:-12000}" --out "$T/out" || {
    echo "fuzz: pagesim fuzz found something; reproducers:"; cat "$T"/out/*.lua; bad=1; }
# The native executor (--native): the hypervisor-operation mix, fixed
# seed, bounded: any finding fails; a mutant it must find (its reproducer
# failing with the mutant and passing without: tests/unit/test_fuzz_native.c
# checks that); a bad option combination must be refused.
"$PAGESIM" fuzz --native --no-db --seed 1 --ops "${FUZZ_NATIVE_OPS:-300000}" --out "$T/nout" || {
    echo "fuzz: pagesim fuzz --native found something; reproducers:"; cat "$T"/nout/*.lua; bad=1; }
"$PAGESIM" fuzz --native --no-db --quiet --seed 1 --mutant m2p_keep_on_free --findings 1 \
    --ops 20000 --out "$T/nmut" >/dev/null 2>&1
if [ $? != 1 ] || [ -z "$(ls "$T/nmut" 2>/dev/null)" ]; then
    echo "fuzz: FAIL: pagesim fuzz --native did not find m2p_keep_on_free"; bad=1
fi
if "$PAGESIM" fuzz --native --coverage --no-db --ops 10 >/dev/null 2>&1; [ $? != 2 ]; then
    echo "fuzz: FAIL: --native --coverage was not refused"; bad=1
fi
# Determinism of findings: the same seed (with a mutant, so there is
# something to find) gives the same reproducers (but for the path each
# names in its "reproduce with" line).
for k in 1 2; do
    "$PAGESIM" fuzz --no-db --quiet --seed 3 --mutant ignore_wp --findings 2 --ops 40000 \
        --out "$T/det$k" >/dev/null 2>&1
done
if [ -z "$(ls "$T/det1" 2>/dev/null)" ] || ! diff -r -I "^--   pagesim run" "$T/det1" "$T/det2" >/dev/null; then
    echo "fuzz: FAIL: the same seed gave different findings"; bad=1
else
    echo "fuzz: same seed, same findings ($(ls "$T/det1" | wc -l) reproducers identical)"
fi
exit $bad
