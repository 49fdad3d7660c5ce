#!/usr/bin/env bash
# The mutant kill matrix: proves the checks can fail.
#
# Each mutant (a deliberate bug, most of them from the seeds, switched on
# with --mutant; see include/pagesim/mutant.h) runs the whole default suite.
# A mutant is KILLED when at least one scenario DIVERGES, i.e. the oracle
# itself caught it -- a scenario's failed expect() alone ('f' in the matrix)
# does not count.  Prints a matrix (mutant x scenario), then
# 'N killed, N survived'; exits non-zero if any mutant survived.
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

printf '%-22s' "mutant \\ scenario"
for i in "${!scen[@]}"; do printf '%3d' $((i + 1)); done
printf '   verdict     fuzz (seed 1)\n'
killed=0 survived=0 fuzz_killed=0 fuzz_slow=0
for m in "${muts[@]}"; do
    "$PAGESIM" run --no-db --mutant "$m" "${scen[@]}" >"$T/$m.out" 2>&1
    printf '%-22s' "$m"
    nd=0
    for s in "${scen[@]}"; do
        st=$(grep -E "^(PASS|FAIL|DIVERGE|ERROR) +$s " "$T/$m.out" | awk '{print $1}')
        case "$st" in
            DIVERGE) c=D; nd=$((nd + 1)) ;;
            FAIL) c=f ;;
            ERROR) c=E ;;
            PASS) c=. ;;
            *) c='?' ;;
        esac
        printf '%3s' "$c"
    done
    if [ $nd -gt 0 ]; then
        killed=$((killed + 1)); printf '   killed (%d)' $nd
    else
        survived=$((survived + 1)); printf '   SURVIVED  '
    fi
    # The fuzzer, from a fixed seed: the first finding, shrunk; its
    # reproducer must fail with the mutant and pass without it.  Bounded
    # by operations (deterministic), timed: the target is 60 s (issue 6).
    t0=$(date +%s.%N)
    "$PAGESIM" fuzz --no-db --quiet --seed 1 --mutant "$m" --findings 1 --ops 60000 \
        --out "$T/fz-$m" >"$T/fz-$m.out" 2>&1
    secs=$(echo "$t0 $(date +%s.%N)" | awk '{printf "%.1f", $2 - $1}')
    repro=$(ls "$T/fz-$m"/finding-*.lua 2>/dev/null | head -1)
    if [ -z "$repro" ]; then
        printf '  not found\n'
    elif "$PAGESIM" run --no-db --mutant "$m" "$repro" >/dev/null 2>&1; then
        printf '  reproducer passes with the mutant!\n'
    elif ! "$PAGESIM" run --no-db "$repro" >/dev/null 2>&1; then
        printf '  reproducer fails without the mutant!\n'
    else
        fuzz_killed=$((fuzz_killed + 1))
        ops=$(grep -c '' "$repro")
        slow=$(echo "$secs" | awk '{print ($1 > 60) ? " (over 60 s)" : ""}')
        [ -n "$slow" ] && fuzz_slow=$((fuzz_slow + 1))
        printf '  found in %s s%s, %s-line reproducer\n' "$secs" "$slow" "$ops"
    fi
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
