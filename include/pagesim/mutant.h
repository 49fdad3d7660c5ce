/* SPDX-License-Identifier: MIT */
/*
 * pagesim/mutant.h - deliberately broken behaviours, switched on at run time.
 *
 * A check that compares the model with the oracle must be able to fail.
 * Each mutant re-introduces one known bug (most of them from the seeds) into
 * model/ or sim/ -- never into oracle/ -- and tests/mutants/ proves that the
 * default suite catches every one of them.  Production runs have none set.
 */
#ifndef PAGESIM_MUTANT_H
#define PAGESIM_MUTANT_H

#include <stdint.h>

enum pagesim_mutant {
    /* seed 002 patch 06/12: free_domheap_pages() leaves the M2P naming the
     * old gfn, so a later owner of the frame inherits a stale gfn. */
    MUT_M2P_KEEP_ON_FREE = 1u << 0,
    /* seed 001: p2m_remove_page() without paging_mark_pfn_clean(). */
    MUT_NO_CLEAN_ON_REMOVE = 1u << 1,
    /* seed 001: guest_physmap_add_entry() without paging_mark_pfn_dirty(). */
    MUT_NO_DIRTY_ON_ADD = 1u << 2,
    /* the log-dirty write fault makes the page writable but forgets to mark
     * it dirty (hvm_hap_nested_page_fault). */
    MUT_LD_FAULT_NO_MARK = 1u << 3,
    /* model: a write never sets the guest PTE's dirty bit. */
    MUT_NO_DIRTY_BIT = 1u << 4,
    /* model: supervisor writes ignore CR0.WP. */
    MUT_IGNORE_WP = 1u << 5,
    /* sim: ept_p2m_type_to_flags() leaves p2m_ram_logdirty writable. */
    MUT_LOGDIRTY_WRITABLE = 1u << 6,
    /* model (issue 4): guest-entry bits 51:MAXPHYADDR not reserved. */
    MUT_NO_RSVD_MAXPHY = 1u << 16,
    /* model (issue 4): SMAP ignores EFLAGS.AC (always blocks). */
    MUT_SMAP_IGNORE_AC = 1u << 17,
    /* model (issue 4): protection-key WD bits ignored. */
    MUT_PK_IGNORE_WD = 1u << 18,
    /* model (issue 4): a large page keeps only 13 offset bits (the PAT bit
     * and higher address bits of the leaf leak into the gpa). */
    MUT_LARGE_PAT_ADDR = 1u << 19,
};

/* Set once by the CLI (--mutant) or a test, read by model/ and sim/. */
extern uint32_t pagesim_mutants;

#define MUTANT(m) (__builtin_expect((pagesim_mutants & (m)) != 0, 0))

/* Name <-> bit, for the CLI and the recorder; NULL / 0 when unknown. */
const char *mutant_name(uint32_t bit);
uint32_t mutant_from_name(const char *name);

#endif /* PAGESIM_MUTANT_H */
