#!/usr/bin/env bash
# The mutant kill matrix: proves the checks can fail.
#
# Each mutant (a deliberate bug, most of them from the seeds, switched on
# with --mutant; see include/pagesim/mutant.h) runs the whole default suite.
# A mutant is KILLED when at least one scenario DIVERGES, i.e. the oracle
# itself caught it -- a scenario's failed expect() alone ('f' in the matrix)
# does not count.  Prints a matrix (mutant x scenario), then
# 'N killed, N survived'; exits non-zero if any mutant survived.
# MUTANT_JOBS=N runs N mutants at a time (default: the number of cores).
#   D  the scenario diverged (oracle caught the mutant)
#   f  only an expect() failed
#   E  the scenario errored
#   .  the scenario passed: the mutant survived it
set -u
PAGESIM=${1:-./pagesim}
T=$(mktemp -d /tmp/pagesim-mut.XXXXXX)
trap 'rm -rf "$T"' EXIT
mapfile -t scen < <(find scenarios -name '*.lua' | sort)
# Mutants of the EPT/PML/NPT walks that no scenario can reach yet are
# killed by `make matrix` instead (tests/matrix/matrix-only-mutants).
mapfile -t muts < <("$PAGESIM" mutants | grep -vxF -f "$(dirname "$0")/../matrix/matrix-only-mutants")

printf '%s\n' "${scen[@]}" >"$T/scen.list"
# One mutant: its matrix row, verdict and fuzz column, into $T/<m>.row.
# Mutants are independent, so they run $JOBS at a time (one per core by
# default: a 2-core CI machine halves the stage); rows print in order.
one_mutant() {
    local m=$1 s st c nd=0 row
    mapfile -t scen <"$T/scen.list"
    "$PAGESIM" run --no-db --mutant "$m" "${scen[@]}" >"$T/$m.out" 2>&1
    row=$(printf '%-22s' "$m")
    for s in "${scen[@]}"; do
        st=$(grep -E "^(PASS|FAIL|DIVERGE|ERROR) +$s " "$T/$m.out" | awk '{print $1}')
        case "$st" in
            DIVERGE) c=D; nd=$((nd + 1)) ;;
            FAIL) c=f ;;
            ERROR) c=E ;;
            PASS) c=. ;;
            *) c='?' ;;
        esac
        row+=$(printf '%3s' "$c")
    done
    if [ $nd -gt 0 ]; then
        row+=$(printf '   killed (%d)' $nd)
    else
        row+=$(printf '   SURVIVED  ')
    fi
    # The fuzzer, from a fixed seed: the first finding, shrunk; its
    # reproducer must fail with the mutant and pass without it.  Bounded
    # by operations (deterministic), timed: the target is 60 s (issue 6).
    local t0 secs repro ops slow
    if [ "$FUZZ_OPS" = 0 ]; then
        printf '%s\n' "$row  fuzz column off (MUTANT_FUZZ_OPS=0)" >"$T/$m.row"
        return
    fi
    t0=$(date +%s.%N)
    "$PAGESIM" fuzz --no-db --quiet --seed 1 --mutant "$m" --findings 1 --ops "$FUZZ_OPS" \
        --out "$T/fz-$m" >"$T/fz-$m.out" 2>&1
    secs=$(echo "$t0 $(date +%s.%N)" | awk '{printf "%.1f", $2 - $1}')
    repro=$(ls "$T/fz-$m"/finding-*.lua 2>/dev/null | head -1)
    if [ -z "$repro" ]; then
        row+='  not found'
    elif "$PAGESIM" run --no-db --mutant "$m" "$repro" >/dev/null 2>&1; then
        row+='  reproducer passes with the mutant!'
    elif ! "$PAGESIM" run --no-db "$repro" >/dev/null 2>&1; then
        row+='  reproducer fails without the mutant!'
    else
        ops=$(grep -c '' "$repro")
        slow=$(echo "$secs" | awk '{print ($1 > 60) ? " (over 60 s)" : ""}')
        row+="  found in $secs s$slow, $ops-line reproducer"
    fi
    printf '%s\n' "$row" >"$T/$m.row"
}
export -f one_mutant
# MUTANT_FUZZ_OPS bounds the fuzz column (default 60000 operations, about
# a minute of fuzzing here); found mutants take far fewer.  0: no column.
FUZZ_OPS=${MUTANT_FUZZ_OPS:-60000}
export PAGESIM T FUZZ_OPS
JOBS=${MUTANT_JOBS:-$(nproc 2>/dev/null || echo 1)}

printf '%-22s' "mutant \\ scenario"
for i in "${!scen[@]}"; do printf '%3d' $((i + 1)); done
printf '   verdict     fuzz (seed 1)\n'
printf '%s\n' "${muts[@]}" | xargs -P "$JOBS" -I{} bash -c 'one_mutant "$1"' _ {}
killed=0 survived=0 fuzz_killed=0 fuzz_slow=0
for m in "${muts[@]}"; do
    if [ ! -s "$T/$m.row" ]; then
        printf '%-22s   ERROR: no result\n' "$m"; survived=$((survived + 1)); continue
    fi
    row=$(cat "$T/$m.row")
    printf '%s\n' "$row"
    case "$row" in *"   killed ("*) killed=$((killed + 1)) ;; *) survived=$((survived + 1)) ;; esac
    case "$row" in *"  found in "*) fuzz_killed=$((fuzz_killed + 1)) ;; esac
    case "$row" in *"(over 60 s)"*) fuzz_slow=$((fuzz_slow + 1)) ;; esac
done
echo "scenarios:"
for i in "${!scen[@]}"; do printf '  %2d %s\n' $((i + 1)) "${scen[$i]}"; done
for m in "${muts[@]}"; do
    first=$(grep -m1 '^DIVERGE' "$T/$m.out" | sed -E 's/^DIVERGE +[^ ]+ +//')
    [ -n "$first" ] && echo "  $m: first divergence: $first"
done
echo "fuzz: $fuzz_killed of ${#muts[@]} mutants found by 'pagesim fuzz --seed 1' with a valid reproducer ($fuzz_slow of them after more than 60 s); suites: $killed of ${#muts[@]} killed"
echo "$killed killed, $survived survived"
[ "$survived" = 0 ]
