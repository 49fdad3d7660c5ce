#!/usr/bin/env bash
# make matrix: the exhaustive permission matrices (model vs oracle: guest
# walk, then EPT), each followed by a proof that it can fail: each model
# mutant of the walk / the EPT (a deliberate bug, see
# include/pagesim/mutant.h) must give at least one FAIL line.
set -u
BIN=${1:?usage: run.sh PERM_MATRIX EPT_MATRIX TLB_RANDOM}
bad=0
"$BIN" || bad=1
for m in ignore_wp no_dirty_bit no_rsvd_maxphy smap_ignore_ac pk_ignore_wd \
         large_pat_addr; do
    out=$("$BIN" --quick --mutant "$m" 4-level 32-bit)
    if [ $? = 0 ] || ! grep -q ': FAIL: ' <<<"$out"; then
        echo "matrix: mutant $m NOT caught"
        bad=1
    else
        echo "matrix: mutant $m caught: $(grep -c ': FAIL: ' <<<"$out") failures shown, $(tail -1 <<<"$out" | sed 's/^matrix: total //')"
    fi
done
EBIN=${2:?usage: run.sh PERM_MATRIX EPT_MATRIX TLB_RANDOM}
TBIN=${3:?usage: run.sh PERM_MATRIX EPT_MATRIX TLB_RANDOM NPT_MATRIX}
NBIN=${4:?usage: run.sh PERM_MATRIX EPT_MATRIX TLB_RANDOM NPT_MATRIX}
"$EBIN" || bad=1
"$TBIN" || bad=1
"$NBIN" || bad=1
for m in $(grep -v '^#' "$(dirname "$0")/matrix-only-mutants") \
         ept_large_no_rsvd ept_no_dirty ept_mbec_bit2 pml_no_log tlb_invlpg_nop tlb_no_pcid_tag \
         psc_invlpg_keep psc_cr3_keep; do
    case $m in
    tlb_*|psc_*) out=$("$TBIN" --seeds 50 --mutant "$m") ;;
    npt_*) out=$("$NBIN" --mutant "$m") ;;
    *) out=$("$EBIN" --quick --mutant "$m") ;;
    esac
    if [ $? = 0 ] || ! grep -q ': FAIL: ' <<<"$out"; then
        echo "matrix: mutant $m NOT caught"
        bad=1
    else
        echo "matrix: mutant $m caught: $(tail -1 <<<"$out" | sed 's/^matrix: //')"
    fi
done
[ $bad = 0 ] && echo "matrix: all passed" || { echo "matrix: FAILED"; exit 1; }
