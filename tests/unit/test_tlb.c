/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_tlb.c - model/tlb.c: hits, tags, invalidation scope,
 * cost model, profiles.
 */
#include <criterion/criterion.h>

#include "pagesim/mutant.h"
#include "pagesim/tlb.h"

#define GOFF 0x100
static struct hostmem *hm;
static struct mmu_tlb *t;
static const struct mmu_ept ept = { .root = { 1 } };
static struct mmu_cpu cpu;
#define VA 0x7000ULL

static void w(uint64_t mfn, unsigned idx, uint64_t v)
{
    hostmem_write64(hm, _hpa((mfn << 12) + 8 * idx), v);
}

static void setup(void)
{
    pagesim_mutants = 0;
    hm = hostmem_new(1024);
    const uint64_t rwx = EPT_R | EPT_W | EPT_X;
    w(1, 0, (2ULL << 12) | rwx);
    w(2, 0, (3ULL << 12) | rwx);
    w(3, 0, (4ULL << 12) | rwx);
    for (uint64_t g = 0; g < 0x40; g++)
        w(4, (unsigned)g, ((g + GOFF) << 12) | (6 << 3) | rwx);
    const uint64_t a = PTE_P | PTE_W | PTE_U | PTE_A;
    w(0x10 + GOFF, 0, (0x11ULL << 12) | a);
    w(0x11 + GOFF, 0, (0x12ULL << 12) | a);
    w(0x12 + GOFF, 0, (0x13ULL << 12) | a);
    w(0x13 + GOFF, 7, (0x20ULL << 12) | a | PTE_D);
    cpu = (struct mmu_cpu){ .cr0 = X86_CR0_PG | X86_CR0_WP, .cr3 = 0x10 << 12,
                            .cr4 = X86_CR4_PAE | X86_CR4_PGE,
                            .efer = X86_EFER_LMA | X86_EFER_NXE };
    t = tlb_new(&cpu_profile_intel);
    cr_assert_not_null(t);
}

static void teardown(void)
{
    tlb_destroy(t);
    hostmem_destroy(hm);
}

TestSuite(tlb, .init = setup, .fini = teardown);

static struct tlb_result go(enum access_kind k, struct mmu_result *r)
{
    struct tlb_result tr;
    tlb_access(t, hm, &cpu, &ept, 1, _gva(VA + 8), k, r, &tr);
    return tr;
}

Test(tlb, walk_then_hit_and_cost)
{
    struct mmu_result r;
    struct tlb_result tr = go(ACC_READ, &r);
    cr_assert_eq(tr.level, TLB_WALK);
    cr_assert_eq(r.refs, 24, "a full 4x4 2D walk");
    /* 24 references, all missing the PT-line cache the first time (some
     * share lines), plus the L1, STLB and walk start latencies. */
    cr_assert_gt(tr.cycles, 10 * cpu_profile_intel.lat_pt_miss);
    tr = go(ACC_READ, &r);
    cr_assert_eq(tr.level, TLB_L1);
    cr_assert_eq(r.outcome, MMU_OK);
    cr_assert_eq(hpa_x(r.hpa), ((0x20 + GOFF) << 12) + 8);
    cr_assert_eq(tr.cycles, cpu_profile_intel.lat_l1tlb);
}

Test(tlb, stale_until_invlpg)
{
    struct mmu_result r;
    go(ACC_READ, &r);
    w(0x13 + GOFF, 7, (0x21ULL << 12) | PTE_P | PTE_W | PTE_A | PTE_D);
    go(ACC_READ, &r);
    cr_assert_eq(hpa_x(r.hpa), ((0x20 + GOFF) << 12) + 8, "stale, allowed");
    tlb_invlpg(t, 1, 0, VA);
    cr_assert_eq(go(ACC_READ, &r).level, TLB_WALK);
    cr_assert_eq(hpa_x(r.hpa), ((0x21 + GOFF) << 12) + 8);
}

Test(tlb, rights_rechecked_and_pf_invalidates)
{
    struct mmu_result r;
    go(ACC_READ, &r);
    cpu.cr4 |= X86_CR4_SMAP; /* a user page, supervisor read */
    struct tlb_result tr = go(ACC_READ, &r);
    cr_assert_eq(tr.level, TLB_L1);
    cr_assert_eq(r.outcome, MMU_PF);
    cr_assert_eq(r.pf_ec, PFEC_P);
    cpu.cr4 &= ~X86_CR4_SMAP;
    cr_assert_eq(go(ACC_READ, &r).level, TLB_WALK, "the #PF dropped it");
}

Test(tlb, pcid_and_global)
{
    struct mmu_result r;
    cpu.cr4 |= X86_CR4_PCIDE;
    cpu.cr3 |= 5;
    go(ACC_READ, &r);
    cpu.cr3 = (cpu.cr3 & ~0xFFFULL) | 6; /* another PCID: no hit */
    cr_assert_eq(go(ACC_READ, &r).level, TLB_WALK);
    tlb_mov_cr3(t, 1, 6, true); /* bit 63: no flush */
    cr_assert_eq(go(ACC_READ, &r).level, TLB_L1);
    tlb_mov_cr3(t, 1, 6, false);
    cr_assert_eq(go(ACC_READ, &r).level, TLB_WALK);
    /* A global entry survives MOV CR3 and matches any PCID. */
    w(0x13 + GOFF, 7, (0x20ULL << 12) | PTE_P | PTE_W | PTE_A | PTE_D | PTE_G);
    tlb_invvpid(t, 1, 1, 0);
    go(ACC_READ, &r);
    tlb_mov_cr3(t, 1, 6, false);
    cpu.cr3 = (cpu.cr3 & ~0xFFFULL) | 7;
    cr_assert_eq(go(ACC_READ, &r).level, TLB_L1);
    tlb_invpcid(t, 1, 3, 0, 0); /* all but globals */
    cr_assert_eq(go(ACC_READ, &r).level, TLB_L1);
    tlb_invpcid(t, 1, 2, 0, 0); /* globals too */
    cr_assert_eq(go(ACC_READ, &r).level, TLB_WALK);
    tlb_invept(t, 1, 1);
    cr_assert_eq(go(ACC_READ, &r).level, TLB_WALK);
}

Test(tlb, clean_entry_write_walks_to_set_d)
{
    struct mmu_result r;
    w(0x13 + GOFF, 7, (0x20ULL << 12) | PTE_P | PTE_W | PTE_U | PTE_A);
    go(ACC_READ, &r);
    cr_assert_eq(go(ACC_WRITE, &r).level, TLB_WALK);
    cr_assert_eq(go(ACC_WRITE, &r).level, TLB_L1);
}

Test(tlb, profiles)
{
    cr_assert_eq(cpu_profile_by_name("intel"), &cpu_profile_intel);
    cr_assert_eq(cpu_profile_by_name("amd-zen2"), &cpu_profile_amd);
    cr_assert_null(cpu_profile_by_name("vax"));
    cr_assert_eq(cpu_profile_intel.stlb.entries, 1536);
}
