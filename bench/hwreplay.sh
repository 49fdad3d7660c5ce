#!/usr/bin/env bash
# hw-replay benchmark (issue 5; not a test: it prints, never fails on speed).
# The default suite plus tests/hwreplay/*.lua (but hang.lua) is recorded and
# replayed on KVM with --bench, which also times a bare KVM loop of CPL3
# reads over 16 pages in one VM (the guest loops, timed by its TSC):
#   hwreplay_backend_rate  replayed accesses per second of backend time (VM
#                          set-up, run, dirty log, userfaultfd; one VM each)
#   hwreplay_e2e_rate      the same per second of wall time of the whole
#                          replay (model re-run, RAM snapshots, comparison)
#   hwreplay_bare_rate     the bare KVM loop
#   hwreplay_ratio         bare / backend rate
#   hwreplay_fresh_vm_rate the backend rate with --fresh-vm (a new VM for
#                          every access instead of keeping one while no
#                          guest memory has to change)
# Anchors (kvm-here.md s8): creating a VM + slot + vCPU and running it to HLT
# costs about 1.4 ms here, so one VM per access caps replay near 700/s.
# Where /dev/kvm cannot create a VM: one SKIP line, exit 0.
set -u
PAGESIM=${1:-./pagesim}
T=$(mktemp -d /tmp/pagesim-hwbench.XXXXXX)
trap 'rm -rf "$T"' EXIT
mapfile -t extra < <(ls tests/hwreplay/*.lua | grep -v '/hang.lua$')
"$PAGESIM" run --db "$T/b.db" scenarios/ "${extra[@]}" >/dev/null 2>&1
cp "$T/b.db" "$T/f.db"
s=$(date +%s.%N)
"$PAGESIM" replay --db "$T/b.db" --all --bench >"$T/out" 2>&1; rc=$?
e=$(date +%s.%N)
if [ "$rc" = 3 ]; then
    grep -m1 '^hw-replay: SKIP' "$T/out" || echo "hw-replay: SKIP kvm: backend unavailable"
    exit 0
fi
line=$(grep '^bench:' "$T/out")
[ -n "$line" ] || { cat "$T/out"; echo "hwreplay bench: no bench line"; exit 1; }
echo "$line"
cmp=$(sqlite3 "$T/b.db" "select sum(compared) from hw_runs")
echo "$line" | awk -v cmp="$cmp" -v s="$s" -v e="$e" '{
    for (i = 1; i <= NF; i++) {
        if ($i == "replay") be = $(i + 1)
        if ($i == "loop") bare = $(i + 1)
    }
    printf "hw-replay: %d accesses compared in %.1f s wall: %.1f accesses/s end to end\n", cmp, e - s, cmp / (e - s)
    printf "BENCH hwreplay_backend_rate %.1f accesses/s\n", be
    printf "BENCH hwreplay_e2e_rate %.1f accesses/s\n", cmp / (e - s)
    printf "BENCH hwreplay_bare_rate %.0f accesses/s\n", bare
    printf "BENCH hwreplay_ratio %.0f x\n", (be > 0 ? bare / be : 0)
}'
# the same with a fresh VM for every access (no VM kept between accesses)
"$PAGESIM" replay --db "$T/f.db" --all --bench --fresh-vm >"$T/fout" 2>&1
grep '^bench:' "$T/fout" | awk '{
    for (i = 1; i <= NF; i++) if ($i == "replay") be = $(i + 1)
    printf "BENCH hwreplay_fresh_vm_rate %.1f accesses/s\n", be
}'
