#!/usr/bin/env bash
# A short fuzz: tests/fuzz/random_ops.lua draws a random sequence of
# hypervisor operations and guest accesses from the run's seed; every step
# is checked against the oracle, so any divergence fails.  FUZZ_SEEDS sets
# how many seeds (default 40).
set -u
PAGESIM=${1:-./pagesim}
N=${FUZZ_SEEDS:-40}
T=$(mktemp -d /tmp/pagesim-fuzz.XXXXXX)
trap 'rm -rf "$T"' EXIT
bad=0
for s in $(seq 1 "$N"); do
    out=$("$PAGESIM" run --db "$T/fuzz.db" --seed "$s" tests/fuzz/random_ops.lua) || {
        echo "$out"; echo "fuzz: seed $s FAILED (reproduce: $PAGESIM run -v --seed $s tests/fuzz/random_ops.lua)"; bad=1; }
done
steps=$(sqlite3 "$T/fuzz.db" 'select sum(steps) from runs')
echo "fuzz: $N seeds, $steps steps checked against the oracle"
exit $bad
