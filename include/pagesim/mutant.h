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
    /* seed 002 patch 07/12: page-in (prep / resume) installs the new frame
     * in the P2M without set_gpfn_from_mfn(), so the M2P of the paged-in
     * frame stays INVALID. */
    MUT_PAGEIN_NO_M2P = 1u << 7,
    /* seed 002 patch 08/12 (2011 mem_event): a 64-slot ring, one-way drop
     * events lost when it is full, and vCPUs paused on a full ring woken
     * only by a response -- never by the pager consuming drop events --
     * so a vCPU that hit a ring full of drop events never resumes. */
    MUT_MEM_EVENT_2011 = 1u << 8,
    /* seed 004 (mem paging docs: "the page must not be in use"): nominate
     * ignores extra references (a foreign mapping), so a mapped page is
     * nominated. */
    MUT_NOMINATE_IGNORE_REFS = 1u << 9,
    /* seed 002 patch 10/12: before it, a hypervisor copy to or from a
     * paged-out gfn failed with -EFAULT and never started the page-in. */
    MUT_COPY_PAGED_EFAULT = 1u << 10,
    /* seed 000 (c/s 16393, the radix tree): once a tree page could not be
     * allocated "our dirty log is bogus" and PEEK/CLEAN return -ENOMEM;
     * the mutant ignores failed_allocs, so the tool stack gets a log that
     * silently lacks the dropped marks. */
    MUT_LD_IGNORE_FAILED_ALLOCS = 1u << 11,
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
