#!/usr/bin/env bash
# Live anchors for the stream benchmark (issue 4; not a test: it prints,
# never fails on speed).  The kvm-here stream -- one byte written per 4 KiB
# page over 256 MiB, 200 passes (BENCH_PASSES if set), CPL3, 4-level
# paging with 4 KiB pages -- runs here and now on QEMU TCG and on KVM
# (build/bench/stream_anchors: one guest, bench/stream_guest.S, for both;
# rates per second of the guest's CPU time between markers the guest sends
# right before and after its timed passes, best of STREAM_REPS runs,
# default 3), and the model's stride_256m (build/bench/bench PASSES
# stride_256m, per second of its CPU time) is divided by them:
#   stream_tcg_rate            QEMU TCG (-accel tcg -cpu max)
#   stream_kvm_rate            KVM (/dev/kvm; CPL3 runs on the CPU)
#   stride_256m_vs_tcg_live    model / live TCG rate (issue 4 asks >= 2x)
#   stride_256m_vs_kvm_live    model / live KVM rate
# The fixed anchors (kvm-here.md s8/s9: TCG 10.9, KVM 117-120 M writes/s)
# were measured on another machine.  Missing QEMU or /dev/kvm: one SKIP
# line each (and no ratio for it), exit 0.
set -u
PAGESIM=${1:-./pagesim}
B=${BUILD:-$(dirname "$PAGESIM")/build}
SA=$B/bench/stream_anchors
MODEL=$B/bench/bench
PASSES=${BENCH_PASSES:-200}
for x in "$SA" "$MODEL"; do
    [ -x "$x" ] || { echo "stream_anchors: $x is not built (make bench builds it)"; exit 1; }
done
out=$("$SA" --passes "$PASSES" --pages 65536 --reps "${STREAM_REPS:-3}"); rc=$?
echo "$out"
[ "$rc" = 0 ] || { echo "stream_anchors: a live run failed (see above)"; exit 1; }
rate() { echo "$1" | awk -v n="$2" '$1 == "BENCH" && $2 == n { print $3 }'; }
tcg=$(rate "$out" stream_tcg_rate)
kvm=$(rate "$out" stream_kvm_rate)
[ -n "$tcg$kvm" ] || exit 0
mout=$("$MODEL" "$PASSES" stride_256m) || { echo "$mout"; echo "stream_anchors: $MODEL failed"; exit 1; }
model=$(rate "$mout" stride_256m_rate)
[ -n "$model" ] || { echo "$mout"; echo "stream_anchors: no stride_256m_rate from $MODEL"; exit 1; }
echo "$model $tcg $kvm" | awk -v t="$tcg" -v k="$kvm" '{
    printf "stream: the model (stride_256m, %d passes, this run) %.2f M writes/s per CPU second", '"$PASSES"', $1
    if (t != "") printf "; %.2fx the live QEMU TCG rate (%.2f; issue 4: >= 2x)", $1 / t, t
    if (k != "") printf "; %.3fx the live KVM rate (%.2f)", $1 / k, k
    printf "\n"
    if (t != "") printf "BENCH stride_256m_vs_tcg_live %.2f x\n", $1 / t
    if (k != "") printf "BENCH stride_256m_vs_kvm_live %.3f x\n", $1 / k
}'
