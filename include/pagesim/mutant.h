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

/* One bit per mutant, in a 128-bit set (mutset_t: GCC's unsigned
 * __int128; bits 0-63 are written UINT64_C(1) << n and widen on use,
 * bits 64-127 MUTSET_BIT(n)).  Bits 0-63 are all taken; new mutants take
 * the next free bit from 64 on. */
typedef unsigned __int128 mutset_t;
#define MUTSET_BIT(n) ((mutset_t)1 << (n))
/* seed 002 patch 06/12: free_domheap_pages() leaves the M2P naming the
 * old gfn, so a later owner of the frame inherits a stale gfn. */
#define MUT_M2P_KEEP_ON_FREE (UINT64_C(1) << 0)
/* seed 001: p2m_remove_page() without paging_mark_pfn_clean(). */
#define MUT_NO_CLEAN_ON_REMOVE (UINT64_C(1) << 1)
/* seed 001: guest_physmap_add_entry() without paging_mark_pfn_dirty(). */
#define MUT_NO_DIRTY_ON_ADD (UINT64_C(1) << 2)
/* the log-dirty write fault makes the page writable but forgets to mark
 * it dirty (hvm_hap_nested_page_fault). */
#define MUT_LD_FAULT_NO_MARK (UINT64_C(1) << 3)
/* model: a write never sets the guest PTE's dirty bit. */
#define MUT_NO_DIRTY_BIT (UINT64_C(1) << 4)
/* model: supervisor writes ignore CR0.WP. */
#define MUT_IGNORE_WP (UINT64_C(1) << 5)
/* sim: ept_p2m_type_to_flags() leaves p2m_ram_logdirty writable. */
#define MUT_LOGDIRTY_WRITABLE (UINT64_C(1) << 6)
/* seed 002 patch 07/12: page-in (prep / resume) installs the new frame
 * in the P2M without set_gpfn_from_mfn(), so the M2P of the paged-in
 * frame stays INVALID. */
#define MUT_PAGEIN_NO_M2P (UINT64_C(1) << 7)
/* seed 002 patch 08/12 (2011 mem_event): a 64-slot ring, one-way drop
 * events lost when it is full, and vCPUs paused on a full ring woken
 * only by a response -- never by the pager consuming drop events --
 * so a vCPU that hit a ring full of drop events never resumes. */
#define MUT_MEM_EVENT_2011 (UINT64_C(1) << 8)
/* seed 004 (mem paging docs: "the page must not be in use"): nominate
 * ignores extra references (a foreign mapping), so a mapped page is
 * nominated. */
#define MUT_NOMINATE_IGNORE_REFS (UINT64_C(1) << 9)
/* seed 002 patch 10/12: before it, a hypervisor copy to or from a
 * paged-out gfn failed with -EFAULT and never started the page-in. */
#define MUT_COPY_PAGED_EFAULT (UINT64_C(1) << 10)
/* seed 000 (c/s 16393, the radix tree): once a tree page could not be
 * allocated "our dirty log is bogus" and PEEK/CLEAN return -ENOMEM;
 * the mutant ignores failed_allocs, so the tool stack gets a log that
 * silently lacks the dropped marks. */
#define MUT_LD_IGNORE_FAILED_ALLOCS (UINT64_C(1) << 11)
/* sim: the instruction emulator's walk after an exit on the final gpa
 * (handle_mmio, ram_ro writes) leaves the guest A/D bits alone -- the gap
 * KVM replay found in the model (guest_walk_tables() sets them). */
#define MUT_EMUL_NO_AD (UINT64_C(1) << 12)
/* sim (issue 3, P2M): ept_split_super_page() gives the 511 parts that
 * are not being changed type ram_rw instead of the superpage's type. */
#define MUT_SPLIT_LOSES_TYPE (UINT64_C(1) << 32)
/* sim (issue 3, P2M): ept_p2m_type_to_flags() ignores the access type
 * (every entry gets its type's permissions, as under rwx). */
#define MUT_ACCESS_IGNORED (UINT64_C(1) << 33)
/* sim (issue 3, P2M): atomic_write_ept_entry() forgets to drop the
 * reference of a p2m_map_foreign entry that is overwritten or removed, so
 * the foreign page can never be freed or paged out. */
#define MUT_FOREIGN_NO_PUT (UINT64_C(1) << 34)
/* sim (issue 3, P2M): p2m_pod_cache_get() takes the most recently added
 * page (the tail) instead of the head of pod.single. */
#define MUT_POD_CACHE_LIFO (UINT64_C(1) << 35)
/* sim (issue 3, P2M): ioreq_server entries stay writable although the
 * mapped server claims writes, so the server never sees them. */
#define MUT_IOREQ_WRITABLE (UINT64_C(1) << 36)
/* sim (issue 3, found by pagesim fuzz): guest_remove_page() / p2m_set_type()
 * free the page at once although the tool stack or another domain still
 * holds a reference (Xen drops only PGC_allocated; the last put_page()
 * frees), so the holder's unmap fails and the frame is handed out again
 * while still mapped. */
#define MUT_FREE_REFERENCED (UINT64_C(1) << 37)
/* sim (issue 3, mem sharing): unsharing a gfn that is not the last
 * sharer makes the shared frame itself writable at that gfn (no new page,
 * no copy), so the guest's write shows through every other sharer. */
#define MUT_UNSHARE_IN_PLACE (UINT64_C(1) << 38)
/* sim (issue 3, mem sharing): share keeps the client's old frame instead
 * of freeing it (PGC_allocated never cleared): it leaks, owned by dom_cow
 * with no sharer and a SHARED M2P entry. */
#define MUT_SHARE_CLIENT_LEAK (UINT64_C(1) << 39)
/* logdirty_mode "bitmap" (pre-2007): the bitmap sized from the maximum
 * gpfn rounded up without the +1, so when max_gfn - 1 is a multiple of 64
 * the last gfn falls outside it: its marks are dropped and PEEK/CLEAN
 * truncate before it. */
#define MUT_LD_BITMAP_OFF_BY_ONE (UINT64_C(1) << 40)
/* sim (issue 3, P2M): epte_get_entry_emt() gives a direct-MMIO device
 * frame RAM's memory type (WB, no ipat) instead of UC with ipat, so the
 * guest would cache device registers. */
#define MUT_MMIO_DIRECT_WB (UINT64_C(1) << 44)
/* the continuation of a preempted PEEK/CLEAN starts the walk again from
 * the first entry instead of preempt.log_dirty.{i4,i3,done}: with a
 * preemption at every check it never completes. */
#define MUT_LD_RESUME_RESTART (UINT64_C(1) << 41)
/* a new PEEK/CLEAN while another waits for its continuation is not
 * refused with -EBUSY: it runs and forgets the pending one (and unpauses
 * the domain). */
#define MUT_LD_PREEMPT_NO_EBUSY (UINT64_C(1) << 42)
/* the continuation resumes one L3 entry too far (i3 + 2) while the page
 * count stays: a whole 2^24-pfn chunk is skipped and the next one is
 * reported at its place. */
#define MUT_LD_RESUME_SKIP (UINT64_C(1) << 43)
/* model (issue 4): guest-entry bits 51:MAXPHYADDR not reserved. */
#define MUT_NO_RSVD_MAXPHY (UINT64_C(1) << 16)
/* model (issue 4): SMAP ignores EFLAGS.AC (always blocks). */
#define MUT_SMAP_IGNORE_AC (UINT64_C(1) << 17)
/* model (issue 4): protection-key WD bits ignored. */
#define MUT_PK_IGNORE_WD (UINT64_C(1) << 18)
/* model (issue 4): a large page keeps only 13 offset bits (the PAT bit
 * and higher address bits of the leaf leak into the gpa). */
#define MUT_LARGE_PAT_ADDR (UINT64_C(1) << 19)
/* model (issue 4): a large EPT leaf's low address bits not reserved. */
#define MUT_EPT_LARGE_NO_RSVD (UINT64_C(1) << 20)
/* model (issue 4): EPT A/D on, but the leaf's D is never set. */
#define MUT_EPT_NO_DIRTY (UINT64_C(1) << 21)
/* model (issue 4): INVLPG does nothing (stale TLB entries survive). */
#define MUT_TLB_INVLPG_NOP (UINT64_C(1) << 22)
/* model (issue 4): TLB lookups ignore the PCID tag. */
#define MUT_TLB_NO_PCID_TAG (UINT64_C(1) << 23)
/* model (issue 4): with MBEC, user-mode fetches check bit 2, not 10. */
#define MUT_EPT_MBEC_BIT2 (UINT64_C(1) << 24)
/* model (issue 4): PML never writes the log (the index still moves). */
#define MUT_PML_NO_LOG (UINT64_C(1) << 25)
/* model (issue 4): NPT ignores the nested R/W bit for writes. */
#define MUT_NPT_IGNORE_RW (UINT64_C(1) << 26)
/* model (issue 4, PSCs): INVLPG leaves the paging-structure caches of the
 * PCID (SDM 4.10.4.1 requires all of them gone). */
#define MUT_PSC_INVLPG_KEEP (UINT64_C(1) << 48)
/* model (issue 4, PSCs): MOV CR3 without the no-flush bit keeps the PSC
 * entries of the new PCID. */
#define MUT_PSC_CR3_KEEP (UINT64_C(1) << 49)

/* model (issue 4): the EPT leaf's memory type and ignore-PAT are not
 * carried through (every access reports WB, PAT honoured). */
#define MUT_EPT_MEMTYPE_WB (UINT64_C(1) << 52)

/* sim (issue 4): the PML-full exit's flush drops the newest log entry
 * (entry 0, written last), so that gfn is never marked dirty. */
#define MUT_PML_FULL_DROPS_LAST (UINT64_C(1) << 53)
/* sim (issue 4): log-dirty PEEK/CLEAN forget to flush the vCPUs' PML
 * buffers first (Xen's p2m_flush_hardware_cached_dirty()), so gfns
 * logged since the last PML-full exit are missing from the bitmap. */
#define MUT_PML_NO_FLUSH_AT_OP (UINT64_C(1) << 54)
/* sim (NPT, issue 4): p2m-pt's p2m_type_to_flags() leaves p2m_ram_logdirty
 * leaves writable (RW), so guest writes under log-dirty never take a #NPF
 * and are never logged. */
#define MUT_NPT_LOGDIRTY_RW (UINT64_C(1) << 55)
/* sim (NPT, issue 4): the #NPF handler's npfec ignores EXITINFO1 bit 1
 * (W), so a write fault looks like a read to hvm_hap_nested_page_fault():
 * log-dirty and ram_ro writes are not recognised (the domain crashes). */
#define MUT_NPF_IGNORE_W (UINT64_C(1) << 56)
/* sim (hw-replay, issue 5): p2m_mem_paging_populate() puts the 2 MiB-
 * aligned gfn (the order-aligned base the p2m code uses for superpages)
 * into the request instead of the faulting gfn; replay sees the pager's
 * userfaultfd faults disagree with the requests. */
#define MUT_POPULATE_GFN_ALIGNED (UINT64_C(1) << 60)
/* sim (issue 3, mem_access): p2m_mem_access_check() ignores the monitor
 * ring, as before a listener was modelled: a violation with a listener is
 * cleared to rwx, no request is sent and the vCPU is not paused (and
 * access_required never crashes the domain). */
#define MUT_MEM_ACCESS_NO_EVENT (UINT64_C(1) << 13)
/* sim (issue 3, vm_event): vm_event_put_request() never gives the "black
 * eye" (the producing vCPU is not paused when fewer slots are free than
 * the domain has vCPUs). */
#define MUT_VM_EVENT_NO_BLACK_EYE (UINT64_C(1) << 14)

/* model (issue 4): PAE paging re-reads the PDPTEs from memory on every
 * walk instead of using the PDPTE registers MOV CR3 loaded (SDM 4.4.1),
 * so a PDPT edit without a CR3 reload is seen at once. */
#define MUT_PAE_PDPTE_REREAD (UINT64_C(1) << 57)

/* model (issue 4, shadow paging): the 1D walk charges the P2M lookups
 * as nested references (a full 4-level walk counts 24, not 4). */
#define MUT_SHADOW_2D_REFS (UINT64_C(1) << 50)
/* sim (issue 4, shadow paging): guest A/D bits the hypervisor sets while
 * building shadows do not log their page-table frames dirty. */
#define MUT_SHADOW_LD_NO_MARK (UINT64_C(1) << 51)
/* model (hw-replay, issue 5): PAE paging reports a user-mode access's #PF
 * without the U/S bit (error code bit 2, SDM 4.7); replay on QEMU TCG
 * (stub32.S) sees the error code disagree. */
#define MUT_PAE_EC_NO_U (UINT64_C(1) << 61)
/* model (hw-replay, issue 5): 32-bit paging: a write through a 4 MiB PDE
 * leaves its dirty flag clear (SDM 4.8); replay on QEMU TCG sees D. */
#define MUT_PSE_NO_DIRTY (UINT64_C(1) << 62)
/* model (issue 6): host memory's change log (model/hostmem.c) loses
 * writes, so oracle_check() reuses a check over tables that changed;
 * the end-of-run full check (oracle_check_verify) must see it. */
#define MUT_CHECK_SKIP_MARK (UINT64_C(1) << 15)
/* model (issue 6): host memory's line log (hostmem_written_lines()) keeps
 * only the lines of a frame's first write since the last clear, so a
 * restricted oracle_check() diffs too few lines of a written EPT table;
 * the full checks (every 1024th, and oracle_check_verify() at the end of
 * a run) must see the entries it missed. */
#define MUT_CHECK_SKIP_LINE MUTSET_BIT(86)

/* model (issue 6): an NPT leaf's memory type ignores its PAT/PCD/PWT bits
 * (always WB), so a direct-MMIO access is not UC- (model/npt.c). */
#define MUT_NPT_MEMTYPE_WB (UINT64_C(1) << 28)

/* sim (NPT, issue 4): do_recalc() drops a table entry's recalc marker
 * without marking the entries of the table below, so the rest of the
 * range never gets its pending global type change (e.g. stays writable
 * under log-dirty). */
#define MUT_NPT_RECALC_SKIP_RANGE (UINT64_C(1) << 30)
/* sim (NPT, issue 4): do_recalc() rewrites the leaf but leaves its recalc
 * marker (U clear), so every access to it takes the recalc #NPF again. */
#define MUT_NPT_RECALC_KEEP_MARK (UINT64_C(1) << 31)

/* model (issue 4): a PAE PDPTE load (MOV CR3) ignores reserved bits in a
 * present PDPTE and loads the registers, where SDM 4.4.1 gives #GP(0)
 * and leaves CR3 and the registers unchanged. */
#define MUT_PAE_LOAD_NO_GP (UINT64_C(1) << 45)
/* model (issue 4): a MOV to CR4 that toggles only SMAP or PKE reloads the
 * PAE PDPTE registers (KVM did until 2020), where SDM 4.4.1 lists CR0.CD,
 * NW, PG and CR4.PAE, PGE, PSE, SMEP only (tlb_pae_cr_loads()). */
#define MUT_PAE_CR_SMAP_LOAD (UINT64_C(1) << 46)
/* model (issue 4): the EPT violation of a PAE PDPTE load (MOV CR3/CR0/CR4)
 * reports qualification bit 7 (guest-linear address valid) as a walk's
 * paging-structure read would, where Table 28-7 clears it for PDPTE
 * loads by MOV CR. */
#define MUT_PAE_EXIT_GLA (UINT64_C(1) << 47)
/* model (issue 4): a VMRUN with TLB_CONTROL 3 (flush this guest's TLB
 * entries, APM 15.16) spares global entries, as TLB_CONTROL 7 does. */
#define MUT_TLB_CONTROL3_KEEP_GLOBAL (UINT64_C(1) << 58)
/* model (issue 4): INVLPGA drops only 4 KiB translations of the page,
 * not a large page's entry covering it. */
#define MUT_INVLPGA_4K_ONLY (UINT64_C(1) << 59)
/* model (issue 4): INVLPGA leaves the ASID's NPT paging-structure-cache
 * entries (cached nested upper-level entries) in place. */
#define MUT_NPT_PSC_KEEP_ON_INVLPGA (UINT64_C(1) << 29)
/* model (issue 4): a VMRUN with TLB_CONTROL 3 or 7 leaves the ASID's NPT
 * paging-structure-cache entries in place. */
#define MUT_NPT_PSC_KEEP_ON_TLBCTL (UINT64_C(1) << 63)
/* model (issue 4): a single-context INVEPT leaves the EPTP's EPT
 * paging-structure-cache entries (guest-physical mappings) in place. */
#define MUT_EPSC_KEEP_ON_INVEPT_SINGLE MUTSET_BIT(72)
/* model (issue 4): an all-context INVEPT (also the engine's flush after
 * every hypervisor operation) leaves the EPT PSC entries in place. */
#define MUT_EPSC_KEEP_ON_INVEPT_ALL MUTSET_BIT(73)
/* model (issue 4): an EPT PSC entry caches its own entry's R/W/X, not the
 * AND of the entries above it (SDM 29.4.1), so a walk starting below it
 * misses an upper level's restriction. */
#define MUT_EPSC_OWN_RIGHTS MUTSET_BIT(74)

/* engine (issue 6): oracle_check()'s restricted per-domain half drops
 * the gfns that changed (oracle_check_skip_gfns()): the gfns under
 * changed EPT entries and those the oracle's ops wrote. */
#define MUT_CHECK_SKIP_GFN_MARK (UINT64_C(1) << 27)
/* model (issue 4, AMD page walk cache): INVLPG leaves the cached
 * upper-level entries (APM vol. 2 5.5.2: it invalidates all of them). */
#define MUT_PWC_KEEP_ON_INVLPG MUTSET_BIT(68)
/* model (issue 4): the page walk cache is searched by the walk's linear-
 * address prefix (the Intel PSC's key) instead of the entry's address, so
 * a walk through another table gets the entry of the old one. */
#define MUT_PWC_KEYED_BY_PREFIX MUTSET_BIT(69)
/* model (issue 4): INVLPGA leaves the ASID's page-walk-cache entries. */
#define MUT_PWC_KEEP_ON_INVLPGA MUTSET_BIT(70)
/* model (issue 4): a VMRUN with TLB_CONTROL 3 or 7 leaves the ASID's
 * page-walk-cache entries. */
#define MUT_PWC_KEEP_ON_TLBCTL MUTSET_BIT(71)

/* model (issue 4): under EPT A/D the PAE PDPTE load is a guest
 * paging-structure access like a walk's -- a write for EPT A/D, setting
 * the dirty flag of the EPT leaf mapping the PDPT -- although SDM 29.3.5
 * makes these loads reads (tlb_pae_load()). */
#define MUT_PAE_AD_LOAD_DIRTY MUTSET_BIT(76)
/* model (issue 4): AMD nested paging keeps PDPTE registers like VMX: the
 * MOV CR3 loads them and walks do not re-read the guest's PDPT (there are
 * none under NPT: each walk reads the PDPEs, tlb_pae_load()). */
#define MUT_NPT_PAE_PDPTE_CACHED MUTSET_BIT(77)
/* model (issue 4): under shadow paging the walk re-reads the guest's PAE
 * l3 entries from memory instead of the copy the hypervisor took at the
 * last CR3 update (Xen's v->arch.paging.shadow.gl3e, sh_update_cr3()). */
#define MUT_SHADOW_PAE_REREAD_L3E MUTSET_BIT(78)
/* model (issue 4): under EPT A/D the PAE PDPTE load sets no EPT accessed
 * flag on the entries it uses (SDM 29.3.5: every EPT entry used in a
 * translation gets A). */
#define MUT_PAE_AD_NO_EPT_ACCESSED MUTSET_BIT(79)
/* sim (issue 3): set_type / set_mmio over a RAM gfn without a frame
 * (ram_paged, or ram_paging_in before prep) leaves its log-dirty bit,
 * although Xen's set_typed_p2m_entry() marks every RAM gfn it replaces
 * clean (seed 001), with or without a valid old frame. */
#define MUT_TYPED_PAGED_KEEPS_DIRTY MUTSET_BIT(66)

/* Set once by the CLI (--mutant) or a test, read by model/ and sim/. */
extern mutset_t pagesim_mutants;

#define MUTANT(m) (__builtin_expect((pagesim_mutants & (m)) != 0, 0))

/* Name <-> bit, for the CLI and the recorder; NULL / 0 when unknown. */
const char *mutant_name(mutset_t bit);
mutset_t mutant_from_name(const char *name);

#endif /* PAGESIM_MUTANT_H */
