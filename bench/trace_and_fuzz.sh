#!/usr/bin/env bash
# Benchmarks with their anchors (not tests: they print, never fail on speed).
#   - recording overhead: the default suite with the database written at the
#     default level vs --no-db (anchor: at most 1.5x, issue 7);
#   - SQLite rows/s while recording that suite (anchor: 2.1-2.4 M rows/s
#     measured here for bare 6-integer inserts, reference/tooling.md 2.4);
#   - fuzz: checked operations per second (anchor: 1 M ops/s, issue 6).
# Output: human lines plus 'BENCH <name> <value> <unit>' lines.
set -u
PAGESIM=${1:-./pagesim}
T=$(mktemp -d /tmp/pagesim-bench.XXXXXX)
trap 'rm -rf "$T"' EXIT
REPS=${BENCH_REPS:-5}

best() { # best wall time (s) of REPS runs of the command
    local b=""
    for _ in $(seq "$REPS"); do
        rm -f "$T"/b.db*
        local s e
        s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N)
        b=$(echo "$s $e $b" | awk '{d=$2-$1; if ($3=="" || d<$3) print d; else print $3}')
    done
    echo "$b"
}
off=$(best "$PAGESIM" run --no-db scenarios/)
on=$(best "$PAGESIM" run --db "$T/b.db" scenarios/)
"$PAGESIM" run --db "$T/rows.db" scenarios/ >/dev/null
rows=$(sqlite3 "$T/rows.db" "select (select count(*) from runs)+(select count(*) from steps)+(select count(*) from divergences)+(select count(*) from failures)")
ratio=$(echo "$on $off" | awk '{printf "%.2f", $1/$2}')
rps=$(echo "$rows $on $off" | awk '{d=$2-$3; if (d<=0) d=1e-9; printf "%.0f", $1/d}')
echo "recording: suite $off s without the database, $on s with it: ${ratio}x   (anchor: <= 1.5x)"
echo "recording: $rows rows, ~$rps rows/s of added time, database creation included (anchor: 2.1-2.4 M rows/s bare inserts)"
echo "BENCH trace_overhead_ratio $ratio x"
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
