#!/usr/bin/env bash
# A short fuzz: each tests/fuzz/*.lua (random_ops, paging_ops) draws a random sequence of
# hypervisor operations and guest accesses from the run's seed; every step
# is checked against the oracle, so any divergence fails.  FUZZ_SEEDS sets
# how many seeds (default 40).
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
exit $bad
