#!/usr/bin/env bash
# Benchmarks with their anchors (not tests: they print, never fail on speed).
#   - recording overhead: the default suite with the database written at the
#     default level vs --no-db, wall and CPU time (anchor: at most 1.5x,
#     issue 7);
#   - SQLite rows/s while recording that suite (anchor: 2.1-2.4 M rows/s
#     measured here for bare 6-integer inserts, reference/tooling.md 2.4);
#   - fuzz: checked operations per second (anchor: 1 M ops/s, issue 6), for
#     the Lua fuzzer's mix and for the native executor's hypervisor mix.
# Output: human lines plus 'BENCH <name> <value> <unit>' lines.
set -u
PAGESIM=${1:-./pagesim}
T=$(mktemp -d /tmp/pagesim-bench.XXXXXX)
trap 'rm -rf "$T"' EXIT
REPS=${BENCH_REPS:-5}

# best wall time and best CPU time (user + sys, the forked scenario runners
# included) in seconds of REPS runs of the command: "WALL CPU".  On a
# loaded machine the wall time mostly measures the wait for a core; the CPU
# time does not, so both are given.
best() {
    local bw="" bc="" TIMEFORMAT='%R %U %S' t
    for _ in $(seq "$REPS"); do
        rm -f "$T"/b.db*
        t=$({ time "$@" >/dev/null 2>&1; } 2>&1 | tail -1)
        bw=$(echo "$t $bw" | awk '{ if ($4 == "" || $1 < $4) print $1; else print $4 }')
        bc=$(echo "$t $bc" | awk '{ c = $2 + $3; if ($4 == "" || c < $4) print c; else print $4 }')
    done
    echo "$bw $bc"
}
read -r offw offc < <(best "$PAGESIM" run --no-db scenarios/)
read -r onw onc < <(best "$PAGESIM" run --db "$T/b.db" scenarios/)
"$PAGESIM" run --db "$T/rows.db" scenarios/ >/dev/null
rows=$(sqlite3 "$T/rows.db" "select (select count(*) from runs)+(select count(*) from steps)+(select count(*) from divergences)+(select count(*) from failures)+(select count(*) from coverage)+(select count(*) from samples)")
ratio=$(echo "$onw $offw" | awk '{printf "%.2f", $1/$2}')
cratio=$(echo "$onc $offc" | awk '{printf "%.2f", $1/$2}')
rps=$(echo "$rows $onc $offc" | awk '{d=$2-$3; if (d<=0) d=1e-9; printf "%.0f", $1/d}')
echo "recording: suite $offw s without the database, $onw s with it (best of $REPS, wall): ${ratio}x   (anchor: <= 1.5x)"
echo "recording: CPU time $offc s without, $onc s with it (user+sys, runners included): ${cratio}x   (anchor: <= 1.5x)"
echo "recording: $rows rows (steps, samples, coverage, ...), ~$rps rows/s of added CPU time, database creation included (anchor: 2.1-2.4 M rows/s bare inserts)"
echo "BENCH trace_overhead_ratio $ratio x"
echo "BENCH trace_overhead_cpu_ratio $cratio x"
echo "BENCH trace_rows_per_s $rps rows/s"

# The fuzzer's mix (hypervisor operations, guest accesses, TLB and paging
# operations), all checked: wall-clock rates, and rates per CPU second (this
# process and its children), which a loaded machine disturbs less; then the
# same programs with the full state decode at every step (the checks before
# they became incremental) for comparison.
N=${BENCH_FUZZ_OPS:-60000}
out=$("$PAGESIM" fuzz --no-db --seed 1 --ops "$N" --out "$T/fz")
full=$("$PAGESIM" fuzz --no-db --seed 1 --ops "$N" --full-check-every 1 --out "$T/fz1")
ops=$(echo "$out" | sed -n 's/.*(\([0-9]*\) ops\/s, \([0-9]*\) steps\/s).*/\1/p')
steps=$(echo "$out" | sed -n 's/.*(\([0-9]*\) ops\/s, \([0-9]*\) steps\/s).*/\2/p')
cpu_re='s/.* \([0-9]*\) checked ops per CPU second, \([0-9]*\) steps per CPU second/'
cops=$(echo "$out" | sed -n "${cpu_re}\\1/p")
csteps=$(echo "$out" | sed -n "${cpu_re}\\2/p")
fops=$(echo "$full" | sed -n "${cpu_re}\\1/p")
fsteps=$(echo "$full" | sed -n "${cpu_re}\\2/p")
echo "fuzz: $ops checked ops/s, $steps checked steps/s (wall clock)      (anchor: 1000000 ops/s)"
echo "fuzz: $cops checked ops, $csteps steps per CPU second (incremental checks)"
echo "fuzz: $fops checked ops, $fsteps steps per CPU second (full decode every step)"
echo "BENCH fuzz_ops_per_s $ops ops/s"
echo "BENCH fuzz_steps_per_s $steps steps/s"
echo "BENCH fuzz_ops_per_cpu_s $cops ops/s"
echo "BENCH fuzz_ops_per_cpu_s_full_checks $fops ops/s"

# The native executor (pagesim fuzz --native, sim/engine/fuzz-native.c):
# the hypervisor-operation mix -- P2M populate / remove / set_type /
# set_mem_type / set_access, log-dirty enable / disable / peek / clean /
# is_dirty, hypervisor copies, mem paging nominate / evict / page-in /
# pager steps / round trips, foreign map / unmap, balloon in / out,
# allocation and P2M-update failure injection, direct MMIO, PoD; no guest
# accesses -- run as op structs on one engine, every step checked by the
# oracle.  Best of REPS runs, per CPU second (this process).
NN=${BENCH_NATIVE_OPS:-400000}
best_native=0
for _ in $(seq "$REPS"); do
    nout=$("$PAGESIM" fuzz --native --no-db --seed 1 --ops "$NN" --out "$T/nfz")
    v=$(echo "$nout" | sed -n "${cpu_re}\\1/p")
    [ -n "$v" ] && [ "$v" -gt "$best_native" ] && best_native=$v
done
nmix=$(echo "$nout" | sed -n 's/^fuzz --native: operation mix: //p')
echo "fuzz --native: the hypervisor-operation mix ($NN ops, seed 1): $nmix"
echo "fuzz --native: $best_native checked ops per CPU second (best of $REPS)      (anchor: 1000000 ops/s)"
echo "BENCH fuzz_native_ops_per_cpu_s $best_native ops/s 1000000 ops/s (issue 6)"
