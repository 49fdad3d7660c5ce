/* SPDX-License-Identifier: MIT */
/*
 * sim/mutant.c - the mutant switchboard (see pagesim/mutant.h).
 */
#include <string.h>

#include "pagesim/mutant.h"

mutset_t pagesim_mutants;

static const struct { mutset_t bit; const char *name; } mutants[] = {
    { MUT_M2P_KEEP_ON_FREE, "m2p_keep_on_free" },
    { MUT_NO_CLEAN_ON_REMOVE, "no_clean_on_remove" },
    { MUT_NO_DIRTY_ON_ADD, "no_dirty_on_add" },
    { MUT_LD_FAULT_NO_MARK, "ld_fault_no_mark" },
    { MUT_NO_DIRTY_BIT, "no_dirty_bit" },
    { MUT_IGNORE_WP, "ignore_wp" },
    { MUT_LOGDIRTY_WRITABLE, "logdirty_writable" },
    { MUT_PAGEIN_NO_M2P, "pagein_no_m2p" },
    { MUT_MEM_EVENT_2011, "mem_event_2011" },
    { MUT_NOMINATE_IGNORE_REFS, "nominate_ignore_refs" },
    { MUT_COPY_PAGED_EFAULT, "copy_paged_efault" },
    { MUT_LD_IGNORE_FAILED_ALLOCS, "ld_ignore_failed_allocs" },
    { MUT_EMUL_NO_AD, "emul_no_ad" },
    { MUT_SPLIT_LOSES_TYPE, "split_loses_type" },
    { MUT_ACCESS_IGNORED, "access_ignored" },
    { MUT_FOREIGN_NO_PUT, "foreign_no_put" },
    { MUT_POD_CACHE_LIFO, "pod_cache_lifo" },
    { MUT_IOREQ_WRITABLE, "ioreq_writable" },
    { MUT_LD_BITMAP_OFF_BY_ONE, "ld_bitmap_off_by_one" },
    { MUT_LD_RESUME_RESTART, "ld_resume_restart" },
    { MUT_LD_PREEMPT_NO_EBUSY, "ld_preempt_no_ebusy" },
    { MUT_LD_RESUME_SKIP, "ld_resume_skip" },
    { MUT_NO_RSVD_MAXPHY, "no_rsvd_maxphy" },
    { MUT_SMAP_IGNORE_AC, "smap_ignore_ac" },
    { MUT_PK_IGNORE_WD, "pk_ignore_wd" },
    { MUT_LARGE_PAT_ADDR, "large_pat_addr" },
    { MUT_EPT_LARGE_NO_RSVD, "ept_large_no_rsvd" },
    { MUT_EPT_NO_DIRTY, "ept_no_dirty" },
    { MUT_TLB_INVLPG_NOP, "tlb_invlpg_nop" },
    { MUT_TLB_NO_PCID_TAG, "tlb_no_pcid_tag" },
    { MUT_EPT_MBEC_BIT2, "ept_mbec_bit2" },
    { MUT_PML_NO_LOG, "pml_no_log" },
    { MUT_NPT_IGNORE_RW, "npt_ignore_rw" },
    { MUT_EPT_MEMTYPE_WB, "ept_memtype_wb" },
    { MUT_PML_FULL_DROPS_LAST, "pml_full_drops_last" },
    { MUT_PML_NO_FLUSH_AT_OP, "pml_no_flush_at_op" },
    { MUT_PSC_INVLPG_KEEP, "psc_invlpg_keep" },
    { MUT_PSC_CR3_KEEP, "psc_cr3_keep" },
    { MUT_POPULATE_GFN_ALIGNED, "populate_gfn_aligned" },
    { MUT_FREE_REFERENCED, "free_referenced" },
    { MUT_MMIO_DIRECT_WB, "mmio_direct_wb" },
    { MUT_UNSHARE_IN_PLACE, "unshare_in_place" },
    { MUT_SHARE_CLIENT_LEAK, "share_client_leak" },
    { MUT_MEM_ACCESS_NO_EVENT, "mem_access_no_event" },
    { MUT_VM_EVENT_NO_BLACK_EYE, "vm_event_no_black_eye" },
    { MUT_NPT_LOGDIRTY_RW, "npt_logdirty_rw" },
    { MUT_NPF_IGNORE_W, "npf_ignore_w" },
    { MUT_PAE_PDPTE_REREAD, "pae_pdpte_reread" },
    { MUT_SHADOW_2D_REFS, "shadow_2d_refs" },
    { MUT_SHADOW_LD_NO_MARK, "shadow_ld_no_mark" },
    { MUT_PAE_EC_NO_U, "pae_ec_no_u" },
    { MUT_PSE_NO_DIRTY, "pse_no_dirty" },
    { MUT_CHECK_SKIP_MARK, "check_skip_mark" },
    { MUT_CHECK_SKIP_LINE, "check_skip_line" },
    { MUT_NPT_MEMTYPE_WB, "npt_memtype_wb" },
    { MUT_NPT_RECALC_SKIP_RANGE, "npt_recalc_skip_range" },
    { MUT_NPT_RECALC_KEEP_MARK, "npt_recalc_keep_mark" },
    { MUT_PAE_LOAD_NO_GP, "pae_load_no_gp" },
    { MUT_CHECK_SKIP_GFN_MARK, "check_skip_gfn_mark" },
    { MUT_PAE_CR_SMAP_LOAD, "pae_cr_smap_load" },
    { MUT_PAE_EXIT_GLA, "pae_exit_gla" },
    { MUT_TLB_CONTROL3_KEEP_GLOBAL, "tlb_control3_keep_global" },
    { MUT_INVLPGA_4K_ONLY, "invlpga_4k_only" },
    { MUT_NPT_PSC_KEEP_ON_INVLPGA, "npt_psc_keep_on_invlpga" },
    { MUT_NPT_PSC_KEEP_ON_TLBCTL, "npt_psc_keep_on_tlbctl" },
    { MUT_PWC_KEEP_ON_INVLPG, "pwc_keep_on_invlpg" },
    { MUT_PWC_KEYED_BY_PREFIX, "pwc_keyed_by_prefix" },
    { MUT_PWC_KEEP_ON_INVLPGA, "pwc_keep_on_invlpga" },
    { MUT_PWC_KEEP_ON_TLBCTL, "pwc_keep_on_tlbctl" },
    { MUT_EPSC_KEEP_ON_INVEPT_SINGLE, "epsc_keep_on_invept_single" },
    { MUT_EPSC_KEEP_ON_INVEPT_ALL, "epsc_keep_on_invept_all" },
    { MUT_EPSC_OWN_RIGHTS, "epsc_own_rights" },
    { MUT_PAE_AD_LOAD_DIRTY, "pae_ad_load_dirty" },
    { MUT_NPT_PAE_PDPTE_CACHED, "npt_pae_pdpte_cached" },
    { MUT_SHADOW_PAE_REREAD_L3E, "shadow_pae_reread_l3e" },
    { MUT_PAE_AD_NO_EPT_ACCESSED, "pae_ad_no_ept_accessed" },
    { MUT_TYPED_PAGED_KEEPS_DIRTY, "typed_paged_keeps_dirty" },
};

const char *mutant_name(mutset_t bit)
{
    for (size_t i = 0; i < sizeof(mutants) / sizeof(mutants[0]); i++)
        if (mutants[i].bit == bit)
            return mutants[i].name;
    return NULL;
}

mutset_t mutant_from_name(const char *name)
{
    for (size_t i = 0; i < sizeof(mutants) / sizeof(mutants[0]); i++)
        if (!strcmp(mutants[i].name, name))
            return mutants[i].bit;
    return 0;
}
