#!/usr/bin/env bash
# make coverage: builds with gcov into build-cov/, runs the unit tests, the
# suite, the matrices, the fuzz, the report and the hw-replay stages, and writes an lcov HTML report to
# coverage/html/ plus a line/branch summary per folder, and the line coverage
# of model/ and sim/ together against the 90% target (issue 7).  Then the
# domain coverage (tests/coverage-domain.py) of the suite and the fuzz
# scenarios: (P2M type x operation), (paging state x operation), #PF error
# codes and EPT exit qualifications reached.
set -u
B=build-cov
rm -rf "$B" coverage
make --no-print-directory all >/dev/null || { echo "coverage: build failed"; exit 1; }
# Each stage on its own, so that one failing stage (reported, and the exit
# status is 1) still leaves the coverage of all the others measured.
: >coverage.log
failed=""
# ./pagesim's forked children end with _exit(): tests/coverage/gcov-exit.c
# makes them write their counters too (otherwise every line only a child
# ran, i.e. most of a scenario run, would count as never executed).
mkdir -p "$B"
gcc -O0 -c tests/coverage/gcov-exit.c -o "$B/gcov-exit.o" || { echo "coverage: gcov-exit.c"; exit 1; }
for stage in unit suite matrix fuzz report hwreplay; do
    make --no-print-directory BUILD=$B OPT=-O0 SANFLAGS=--coverage FUZZ_SEEDS=10 \
        LDFLAGS="--coverage -Wl,--wrap=_exit $PWD/$B/gcov-exit.o" \
        "$stage" >>coverage.log 2>&1 || failed="$failed $stage"
done
[ -f "$B/libpagesim.a" ] || { tail -20 coverage.log; echo "coverage: gcov build failed"; exit 1; }
mkdir -p coverage
lcov --quiet --rc lcov_branch_coverage=1 --capture --directory "$B" \
     --output-file coverage/all.info 2>/dev/null || { echo "coverage: lcov failed"; exit 1; }
lcov --quiet --rc lcov_branch_coverage=1 --extract coverage/all.info \
     "$PWD/model/*" "$PWD/sim/*" "$PWD/oracle/*" "$PWD/reports/*" "$PWD/hw-replay/*" \
     --output-file coverage/pagesim.info 2>/dev/null
genhtml --quiet --branch-coverage --output-directory coverage/html coverage/pagesim.info >/dev/null 2>&1
echo "coverage: per folder (lines, branches)"
summary() { # name, info file
    lcov --rc lcov_branch_coverage=1 --summary "$2" 2>&1 |
        awk -v d="$1" '/lines/ {l=$2" "$3" "$4" "$5")"} /branches/ {b=$2" "$3" "$4" "$5")"}
                       END {printf "  %-11s lines %-26s branches %s\n", d, l, b}'
}
for d in model sim/engine oracle reports hw-replay; do
    f="coverage/$(echo $d | tr / _).info"
    lcov --quiet --rc lcov_branch_coverage=1 --extract coverage/pagesim.info "$PWD/$d/*" \
         --output-file "$f" 2>/dev/null
    summary "$d" "$f"
done
# sim/ without the engine: the hypervisor core
lcov --quiet --rc lcov_branch_coverage=1 --extract coverage/pagesim.info "$PWD/sim/*" \
     --output-file coverage/sim_all.info 2>/dev/null
lcov --quiet --rc lcov_branch_coverage=1 --remove coverage/sim_all.info "$PWD/sim/engine/*" \
     --output-file coverage/sim_core.info 2>/dev/null
summary "sim (core)" coverage/sim_core.info
lcov --rc lcov_branch_coverage=1 --summary coverage/pagesim.info 2>&1 | grep -E 'lines|branches' | sed 's/^/  total /'
# The target of issue 7: model/ and sim/ (engine included) together.
lcov --quiet --rc lcov_branch_coverage=1 --extract coverage/pagesim.info "$PWD/model/*" "$PWD/sim/*" \
     --output-file coverage/model_sim.info 2>/dev/null
lcov --summary coverage/model_sim.info 2>&1 | awk '/lines/ {
    p = $2; sub("%", "", p)
    printf "coverage: model/ + sim/ lines %s %s %s %s) -- target 90%%: %s\n", $2, $3, $4, $5,
           (p + 0 >= 90 ? "met" : "NOT met") }'
echo "coverage: report at coverage/html/index.html"

# Domain coverage: which transitions and codes the suite and the fuzz
# scenarios (FUZZ_SEEDS seeds each, default 10) reached.
./pagesim run --db coverage/domain.db scenarios/ >/dev/null 2>&1
for f in tests/fuzz/*.lua; do
    for s in $(seq 1 "${FUZZ_SEEDS:-10}"); do
        ./pagesim run --db coverage/domain.db --seed "$s" "$f" >/dev/null 2>&1
    done
done
python3 tests/coverage-domain.py coverage/domain.db || { echo "coverage: domain report failed"; exit 1; }
echo "coverage: the full list: sqlite3 coverage/domain.db 'select * from transition_coverage'"
if [ -n "$failed" ]; then
    echo "coverage: FAIL: these stages failed under gcov (see coverage.log):$failed"
    exit 1
fi
