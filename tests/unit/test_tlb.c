/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_tlb.c - model/tlb.c: hits, tags, invalidation scope,
 * cost model, profiles.
 */
#include <criterion/criterion.h>

#include "pagesim/mutant.h"
#include "pagesim/oracle.h"
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
    /* The EPT walks after the first start from the EPT PDE cache the first
     * one filled (all tables sit in one 2 MiB gpa region): only the first
     * EPT walk reads all 4 levels, the other four read 1 each. */
    cr_assert_eq(r.epsc_saved, 4 * 3);
    /* The first EPT walk's 4 tables (distinct lines) miss the PT-line
     * cache, plus the L1, STLB and walk start latencies. */
    cr_assert_gt(tr.cycles, 4 * cpu_profile_intel.lat_pt_miss);
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

/* ---- paging-structure caches (SDM 4.10.3, 28.4.1) ------------------------------ */

static struct tlb_result go_va(uint64_t va, struct mmu_result *r)
{
    struct tlb_result tr;
    tlb_access(t, hm, &cpu, &ept, 1, _gva(va), ACC_READ, r, &tr);
    return tr;
}

/* A second PT (gfn 0x14) whose entry 8 maps gfn 0x22; PT 0x13 maps page 8
 * to gfn 0x21. */
static void two_tables(void)
{
    const uint64_t a = PTE_P | PTE_W | PTE_U | PTE_A | PTE_D;
    w(0x13 + GOFF, 8, (0x21ULL << 12) | a);
    w(0x14 + GOFF, 8, (0x22ULL << 12) | a);
}

Test(tlb, psc_skips_levels)
{
    struct mmu_result r;
    struct mmu_psc_start ps;
    cr_assert_not(tlb_psc_probe(t, &cpu, &ept, 1, _gva(0x8000), &ps));
    go(ACC_READ, &r);
    cr_assert(tlb_psc_probe(t, &cpu, &ept, 1, _gva(0x8000), &ps));
    cr_assert_eq(ps.level, 2, "the deepest: the PDE cache");
    cr_assert_eq(ps.table_gpa, 0x13ULL << 12);
    cr_assert_eq(ps.table_hpa, (0x13ULL + GOFF) << 12);
    cr_assert_eq(ps.rights, PTE_U | PTE_W);
    two_tables();
    struct tlb_result tr = go_va(0x8000, &r);
    cr_assert_eq(tr.level, TLB_WALK);
    cr_assert_eq(r.refs, 1 + 4, "PTE at its cached host address + final EPT walk");
    cr_assert_eq(r.epsc_saved, 3, "the final EPT walk from the EPT PDE cache");
    struct tlb_stats st;
    tlb_stats(t, &st);
    cr_assert_eq(st.psc_hits, 1);
    cr_assert_eq(st.walk_refs, (24 - 12) + (5 - 3), "references made");
    /* Another PCID has no PSC entries. */
    cpu.cr4 |= X86_CR4_PCIDE;
    cpu.cr3 |= 3;
    cr_assert_not(tlb_psc_probe(t, &cpu, &ept, 1, _gva(0x8000), &ps));
}

Test(tlb, psc_stale_until_invlpg_of_any_address)
{
    struct mmu_result r;
    two_tables();
    go(ACC_READ, &r); /* caches PDE -> PT 0x13 */
    w(0x12 + GOFF, 0, (0x14ULL << 12) | PTE_P | PTE_W | PTE_U | PTE_A);
    go_va(0x8000, &r);
    cr_assert_eq(hpa_x(r.hpa), (0x21ULL + GOFF) << 12, "stale PDE cache: allowed");
    tlb_invlpg(t, 1, 0, 0x12345000); /* an unrelated address */
    cr_assert_eq(go(ACC_READ, &r).level, TLB_L1, "VA's own TLB entry stays");
    struct mmu_psc_start ps;
    cr_assert_not(tlb_psc_probe(t, &cpu, &ept, 1, _gva(0x8000), &ps));
    cr_assert_eq(go_va(0x8000, &r).level, TLB_L1, "0x8000's stale TLB entry stays");
    tlb_invlpg(t, 1, 0, 0x8000);
    go_va(0x8000, &r);
    cr_assert_eq(hpa_x(r.hpa), (0x22ULL + GOFF) << 12, "a full walk: PT 0x14");
    cr_assert(tlb_psc_probe(t, &cpu, &ept, 1, _gva(0x8000), &ps));
    cr_assert_eq(ps.table_gpa, 0x14ULL << 12);
}

Test(tlb, psc_invlpg_mutant_keeps)
{
    struct mmu_result r;
    struct mmu_psc_start ps;
    go(ACC_READ, &r);
    pagesim_mutants = MUT_PSC_INVLPG_KEEP;
    tlb_invlpg(t, 1, 0, 0x12345000);
    cr_assert(tlb_psc_probe(t, &cpu, &ept, 1, _gva(0x8000), &ps));
    pagesim_mutants = 0;
    tlb_invlpg(t, 1, 0, 0x12345000);
    cr_assert_not(tlb_psc_probe(t, &cpu, &ept, 1, _gva(0x8000), &ps));
}

Test(tlb, psc_scope_of_each_invalidation)
{
    struct mmu_result r;
    struct mmu_psc_start ps;
    cpu.cr4 |= X86_CR4_PCIDE;
    cpu.cr3 |= 5;
#define CACHED() tlb_psc_probe(t, &cpu, &ept, 1, _gva(0x8000), &ps)
    /* Refill: drop the VPID's TLB entries, then walk VA. */
#define REFILL() (tlb_invvpid(t, 1, 1, 0), go(ACC_READ, &r))
    REFILL();
    tlb_mov_cr3(t, 1, 5, true);
    cr_assert(CACHED(), "MOV CR3 with bit 63 keeps them");
    cr_assert_eq(go(ACC_READ, &r).level, TLB_L1);
    tlb_mov_cr3(t, 1, 6, false);
    cr_assert(CACHED(), "MOV CR3 to another PCID keeps PCID 5's");
    tlb_mov_cr3(t, 1, 5, false);
    cr_assert_not(CACHED(), "MOV CR3 to PCID 5 drops them");
    REFILL();
    tlb_invpcid(t, 1, 0, 6, 0x8000);
    cr_assert(CACHED(), "INVPCID 0 of another PCID");
    tlb_invpcid(t, 1, 0, 5, 0x12345000);
    cr_assert_not(CACHED(), "INVPCID 0: every PSC entry of the PCID");
    REFILL();
    tlb_invpcid(t, 1, 3, 0, 0);
    cr_assert_not(CACHED(), "INVPCID 3");
    REFILL();
    tlb_invvpid(t, 1, 2, 0);
    cr_assert(CACHED(), "INVVPID of another VPID");
    tlb_invvpid(t, 0, 1, 0x12345000);
    cr_assert_not(CACHED(), "INVVPID 0 (drops all of the VPID: allowed)");
    REFILL();
    tlb_invept(t, 1, 9);
    cr_assert(CACHED(), "INVEPT of another EPTP");
    tlb_invept(t, 1, 1);
    cr_assert_not(CACHED(), "INVEPT single context");
    REFILL();
    tlb_invept(t, 2, 0);
    cr_assert_not(CACHED(), "INVEPT all");
    /* ... and the EPT PSCs with it: the next walk reads every EPT level of
     * its first EPT walk again. */
    go(ACC_READ, &r);
    cr_assert_eq(r.epsc_saved, 4 * 3);
#undef CACHED
#undef REFILL
}

Test(tlb, psc_pf_drops_the_address)
{
    struct mmu_result r;
    struct mmu_psc_start ps;
    go(ACC_READ, &r);
    /* The PTE for 0x8000 is not present: #PF, which drops the PSC entries
     * for 0x8000 (the same PDE as VA). */
    go_va(0x8000, &r);
    cr_assert_eq(r.outcome, MMU_PF);
    cr_assert_not(tlb_psc_probe(t, &cpu, &ept, 1, _gva(0x8000), &ps));
}

Test(tlb, oracle_psc_set)
{
    /* The oracle's side: a noted walk's PSC entries are allowed, until the
     * SDM's invalidations; INVVPID 0 of another address keeps them. */
    struct oracle_tlbset *s = oracle_tlbset_new();
    struct oracle_cpu oc = { .cr0 = cpu.cr0, .cr3 = cpu.cr3, .cr4 = cpu.cr4,
                             .efer = cpu.efer };
    struct oracle_expect x = { .final = OR_OK, .r_shift = 12, .npsc = 1 };
    x.psc[0] = (struct oracle_psc){ 2, 0x13000, 0x113000, true, true, false };
    oracle_tlbset_note(s, &oc, 1, 1, _gva(VA), &x);
    struct oracle_psc q = x.psc[0];
    cr_assert(oracle_tlbset_psc_allows(s, &oc, 1, 1, _gva(0x8000), &q));
    cr_assert_not(oracle_tlbset_psc_allows(s, &oc, 1, 1, _gva(0x200000), &q),
                  "another 2 MiB region");
    q.w = false;
    cr_assert_not(oracle_tlbset_psc_allows(s, &oc, 1, 1, _gva(0x8000), &q),
                  "other rights");
    q.w = true;
    oracle_tlbset_invvpid(s, 0, 1, 0x12345000);
    cr_assert(oracle_tlbset_psc_allows(s, &oc, 1, 1, _gva(0x8000), &q));
    oracle_tlbset_mov_cr3(s, 1, 0, true);
    cr_assert(oracle_tlbset_psc_allows(s, &oc, 1, 1, _gva(0x8000), &q));
    oracle_tlbset_invlpg(s, 1, 0, 0x12345000);
    cr_assert_not(oracle_tlbset_psc_allows(s, &oc, 1, 1, _gva(0x8000), &q));
    cr_assert_eq(oracle_tlbset_psc_size(s), 0);
    oracle_tlbset_destroy(s);
}

/* ---- the fast paths are the general walker ------------------------------------- */

static uint64_t trng = 0x2545F4914F6CDD1DULL;
static uint64_t trand(void)
{
    trng ^= trng << 13;
    trng ^= trng >> 7;
    trng ^= trng << 17;
    return trng;
}

#define SAME(f) cr_assert_eq(a->f, b->f, "trial %u: " #f " %#llx vs %#llx", n, \
                             (unsigned long long)a->f, (unsigned long long)b->f)
static void same_result(unsigned n, const struct mmu_result *a, const struct mmu_result *b)
{
    SAME(outcome); SAME(gpa.gpa); SAME(hpa.hpa); SAME(pf_ec); SAME(cr2.gva);
    SAME(exit_qual); SAME(exit_gpa.gpa); SAME(exit_gla.gva); SAME(refs);
    SAME(guest_refs); SAME(ept_refs); SAME(ad_writes); SAME(epsc_saved);
    SAME(page_shift); SAME(ept_memtype); SAME(ept_ipat); SAME(ept_shift);
    SAME(rights); SAME(pkey); SAME(ept_perm);
}

/* Random entries at every level, random CPU state and access: the model
 * with its fast paths (no mutant set) and with them off (a mutant bit of
 * the sim, which the walk never tests, disables them) must give the same
 * result, the same memory afterwards and the same TLB statistics. */
Test(tlb, fast_paths_equal_general_walker)
{
    const uint64_t a = PTE_P | PTE_W | PTE_U | PTE_A;
    static const uint64_t bits[] = { PTE_P, PTE_W, PTE_U, PTE_A, PTE_D, PTE_G,
                                     PTE_NX, 1ULL << 51 };
    for (unsigned n = 0; n < 3000; n++) {
        uint64_t e[5], ept_leaf;
        e[4] = (0x11ULL << 12) | a;
        e[3] = (0x12ULL << 12) | a;
        e[2] = (0x13ULL << 12) | a;
        e[1] = (0x20ULL << 12) | a | PTE_D;
        for (int l = 1; l <= 4; l++)
            if (trand() % 4 == 0)
                e[l] ^= bits[trand() % 8];
        if (trand() % 8 == 0)
            e[2] = (0x200ULL << 12) | a | PTE_PS | (trand() % 2 ? PTE_D : 0);
        ept_leaf = ((0x20ULL + GOFF) << 12) | (6 << 3) | (trand() % 8);
        struct mmu_cpu c = cpu;
        c.cpl = trand() % 2 ? 3 : 0;
        c.cr0 ^= trand() % 2 ? X86_CR0_WP : 0;
        c.efer ^= trand() % 4 == 0 ? X86_EFER_NXE : 0;
        c.cr4 |= trand() % 8 == 0 ? X86_CR4_SMAP : 0;
        enum access_kind k = (enum access_kind)(trand() % 3);
        bool with_tlb = trand() % 2, with_log = trand() % 2;
        struct mmu_reflog log[2];
        uint64_t va = VA + 8 * (trand() % 512);
        uint64_t va2 = va + 0x1000 * (trand() % 2);
        struct mmu_result r[2];
        uint64_t mem[2][5];
        struct tlb_stats st[2];
        for (int pass = 0; pass < 2; pass++) {
            pagesim_mutants = pass ? MUT_M2P_KEEP_ON_FREE : 0;
            w(0x10 + GOFF, 0, e[4]);
            w(0x11 + GOFF, 0, e[3]);
            w(0x12 + GOFF, 0, e[2]);
            w(0x13 + GOFF, 7, e[1]);
            w(4, 0x20, ept_leaf);
            tlb_destroy(t);
            t = tlb_new(&cpu_profile_intel);
            struct tlb_result tr;
            if (with_tlb) {
                /* A first access fills the PSCs (through VA's page), the
                 * second (another page, same PT) walks below them. */
                tlb_access(t, hm, &c, &ept, 1, _gva(VA), ACC_READ, &r[pass], &tr);
                tlb_access(t, hm, &c, &ept, 1, _gva(va2), k, &r[pass], &tr);
            } else if (with_log) {
                /* The walk with a reference log (the fast walk's logging
                 * variant): the same references, in the same order. */
                struct mmu_ept el = ept;
                el.reflog = &log[pass];
                log[pass].n = 0;
                mmu_translate(hm, &c, &el, _gva(va), k, &r[pass]);
            } else {
                mmu_translate(hm, &c, &ept, _gva(va), k, &r[pass]);
            }
            tlb_stats(t, &st[pass]);
            hostmem_read64(hm, _hpa(((0x10 + GOFF) << 12)), &mem[pass][4]);
            hostmem_read64(hm, _hpa(((0x11 + GOFF) << 12)), &mem[pass][3]);
            hostmem_read64(hm, _hpa(((0x12 + GOFF) << 12)), &mem[pass][2]);
            hostmem_read64(hm, _hpa(((0x13 + GOFF) << 12) + 56), &mem[pass][1]);
            hostmem_read64(hm, _hpa((4 << 12) + 8 * 0x20), &mem[pass][0]);
        }
        same_result(n, &r[0], &r[1]);
        if (!with_tlb && with_log) {
            cr_assert_eq(log[0].n, log[1].n, "trial %u: references logged", n);
            for (unsigned i = 0; i < log[0].n; i++)
                cr_assert_eq(log[0].hpa[i], log[1].hpa[i], "trial %u: reference %u", n, i);
        }
        for (int l = 0; l < 5; l++)
            cr_assert_eq(mem[0][l], mem[1][l], "trial %u: memory at level %d", n, l);
        cr_assert_eq(st[0].cycles, st[1].cycles, "trial %u: cycles", n);
        cr_assert_eq(st[0].walk_refs, st[1].walk_refs, "trial %u: walk_refs", n);
        cr_assert_eq(st[0].psc_hits, st[1].psc_hits, "trial %u", n);
        cr_assert_eq(st[0].epsc_hits, st[1].epsc_hits, "trial %u", n);
    }
    pagesim_mutants = 0;
}

/* Guest tables that alias: eight table pages, in two 2 MiB regions (two
 * EPT page tables), every entry of each pointing at a random one of them,
 * so that any entry read from the wrong place (a wrong host frame, a wrong
 * index, a stale host-side memo of the fast walk) still walks to a
 * translation, a different one.  The fast walk (no mutant) and the
 * general walker (a sim mutant bit) must agree on every result and every
 * reference, with and without a reference log. */
Test(tlb, fast_walk_equals_general_walker_aliased_tables)
{
    static const uint64_t pool[8] = { 0x40, 0x41, 0x42, 0x43,
                                      0x240, 0x241, 0x242, 0x243 };
    const uint64_t f = PTE_P | PTE_W | PTE_U | PTE_A | PTE_D;
    const uint64_t rwx = EPT_R | EPT_W | EPT_X;
    struct hostmem *h = hostmem_new(0x800);
    /* EPT: PML4 0x10 -> PDPT 0x11 -> PD 0x12 -> PT 0x13 (gfns 0..511)
     * and PT 0x14 (gfns 512..1023); gfn g at mfn g + 0x400. */
    hostmem_write64(h, _hpa(0x10ULL << 12), (0x11ULL << 12) | rwx);
    hostmem_write64(h, _hpa(0x11ULL << 12), (0x12ULL << 12) | rwx);
    hostmem_write64(h, _hpa(0x12ULL << 12), (0x13ULL << 12) | rwx);
    hostmem_write64(h, _hpa((0x12ULL << 12) + 8), (0x14ULL << 12) | rwx);
    for (int i = 0; i < 8; i++) {
        uint64_t g = pool[i], pt = g < 512 ? 0x13 : 0x14;
        hostmem_write64(h, _hpa((pt << 12) + 8 * (g & 511)),
                        ((g + 0x400) << 12) | rwx | (6 << 3));
        for (unsigned j = 0; j < 512; j++)
            hostmem_write64(h, _hpa(((g + 0x400) << 12) + 8 * j),
                            (pool[trand() % 8] << 12) | f);
    }
    struct mmu_ept ep = { .root = { 0x10 }, .maxphyaddr = 46 };
    struct mmu_cpu c = { .cr0 = X86_CR0_PG | X86_CR0_WP | 1, .cr3 = 0x40ULL << 12,
                         .cr4 = X86_CR4_PAE,
                         .efer = X86_EFER_LME | X86_EFER_LMA | X86_EFER_NXE,
                         .cpl = 3, .maxphyaddr = 46 };
    unsigned fast_ok = 0;
    for (unsigned n = 0; n < 4000; n++) {
        uint64_t va = (trand() & ((1ULL << 47) - 1)) & ~7ULL;
        c.cr3 = pool[trand() % 8] << 12;
        enum access_kind k = (enum access_kind)(trand() % 3);
        bool with_log = trand() % 2;
        struct mmu_result r[2];
        struct mmu_reflog lg[2];
        for (int pass = 0; pass < 2; pass++) {
            struct mmu_ept el = ep;
            lg[pass].n = 0;
            el.reflog = with_log ? &lg[pass] : NULL;
            pagesim_mutants = pass ? MUT_M2P_KEEP_ON_FREE : 0;
            mmu_translate(h, &c, &el, _gva(va), k, &r[pass]);
        }
        pagesim_mutants = 0;
        same_result(n, &r[0], &r[1]);
        cr_assert_eq(lg[0].n, lg[1].n, "walk %u: references logged", n);
        for (unsigned i = 0; i < lg[0].n; i++)
            cr_assert_eq(lg[0].hpa[i], lg[1].hpa[i], "walk %u: reference %u", n, i);
        fast_ok += r[0].outcome == MMU_OK;
    }
    /* Nearly every walk completes (the pool maps everything). */
    cr_assert_gt(fast_ok, 3900);
    hostmem_destroy(h);
}

/* ---- the same streams, fast and general ------------------------------------------ */

/* A world of its own for the stream test: 4-level guest tables (gfns from
 * SG_PT) over a 4-level EPT (mfn = gfn + SG_OFF; EPT tables from mfn
 * 0x10), 3 MiB of 4 KiB guest pages (over 4 KiB EPT pages, then 2 MiB
 * EPT pages), a 2 MiB guest page, entries perturbed at random (not
 * present, read-only, supervisor, clean, not accessed, XD, a reserved
 * bit; EPT permissions and memory types). */
#define SG_OFF 0x2000ULL
#define SG_PT 0x1000ULL
#define SG_PAGES 0x300ULL /* 4 KiB pages at va 0.. */
#define SG_BIG 0x400000ULL /* a 2 MiB guest page's va (gfn 0x400) */

struct sworld {
    struct hostmem *hm;
    uint64_t ept_next, pt_next;
};

static uint64_t srd(struct sworld *s, uint64_t hpa)
{
    uint64_t v = 0;
    hostmem_read64(s->hm, _hpa(hpa), &v);
    return v;
}

static void sept_map(struct sworld *s, uint64_t gfn, bool big, uint64_t leafbits)
{
    uint64_t table = 0x10ULL << 12;
    for (int l = 4; l >= 1; l--) {
        uint64_t ea = table + 8 * ((gfn >> (9 * (l - 1))) & 511);
        if (l == 1 || (big && l == 2)) {
            uint64_t g = big ? gfn & ~511ULL : gfn;
            hostmem_write64(s->hm, _hpa(ea), ((g + SG_OFF) << 12) | leafbits
                                                 | (big ? EPT_PS : 0));
            return;
        }
        uint64_t e = srd(s, ea);
        if (!e) {
            e = (++s->ept_next << 12) | EPT_R | EPT_W | EPT_X;
            hostmem_write64(s->hm, _hpa(ea), e);
        }
        table = e & EPT_ADDR_MASK;
    }
}

/* The guest entry's host address for va at level 'leaf' (tables made on
 * the way down). */
static uint64_t sguest_slot(struct sworld *s, uint64_t va, int leaf)
{
    const uint64_t f = PTE_P | PTE_W | PTE_U | PTE_A;
    uint64_t table = SG_PT << 12;
    for (int l = 4; l > leaf; l--) {
        uint64_t ea = (((table >> 12) + SG_OFF) << 12) | (8 * ((va >> (12 + 9 * (l - 1))) & 511));
        uint64_t e = srd(s, ea);
        if (!e) {
            uint64_t g = ++s->pt_next;
            sept_map(s, g, false, EPT_R | EPT_W | EPT_X | (6 << 3));
            e = (g << 12) | f;
            hostmem_write64(s->hm, _hpa(ea), e);
        }
        table = e & PTE_ADDR_MASK;
    }
    return (((table >> 12) + SG_OFF) << 12) | (8 * ((va >> (12 + 9 * (leaf - 1))) & 511));
}

static uint64_t sperturb_pte(uint64_t e)
{
    static const uint64_t bits[] = { PTE_P, PTE_W, PTE_U, PTE_A, PTE_D, PTE_NX,
                                     PTE_G, 1ULL << 51 };
    if (trand() % 12 == 0)
        e ^= bits[trand() % 8];
    return e;
}

static uint64_t sperturb_ept(void)
{
    uint64_t p = EPT_R | EPT_W | EPT_X, mt = 6;
    if (trand() % 16 == 0)
        p = trand() % 8;
    if (trand() % 64 == 0)
        mt = 2 + trand() % 2; /* reserved memory type: a misconfiguration */
    return p | mt << 3;
}

static void sworld_build(struct sworld *s, uint64_t seed)
{
    s->hm = hostmem_new(0x4000);
    s->ept_next = 0x10;
    s->pt_next = SG_PT;
    trng = seed;
    sept_map(s, SG_PT, false, EPT_R | EPT_W | EPT_X | (6 << 3));
    const uint64_t a = PTE_P | PTE_W | PTE_U | PTE_A;
    for (uint64_t g = 0; g < SG_PAGES; g++) {
        if (g < 0x200)
            sept_map(s, g, false, sperturb_ept());
        else if ((g & 511) == 0)
            sept_map(s, g, true, sperturb_ept());
        hostmem_write64(s->hm, _hpa(sguest_slot(s, g << 12, 1)),
                        sperturb_pte((g << 12) | a | (trand() % 2 ? PTE_D : 0)));
    }
    sept_map(s, SG_BIG >> 12, true, EPT_R | EPT_W | EPT_X | (6 << 3));
    hostmem_write64(s->hm, _hpa(sguest_slot(s, SG_BIG, 2)),
                    SG_BIG | a | PTE_PS | PTE_D);
}

/* Streams of accesses (strided and random, every kind), CPU changes and
 * invalidations, through a model with its fast paths (no mutant) and one
 * without (a sim mutant bit, which the model never tests, turns them off),
 * each on its own copy of the world: every result, every TLB result, the
 * statistics and -- every 64 steps and at the end -- the whole cache state
 * and the guest tables must be equal. */
static void streams_diff(unsigned seed, const struct cpu_profile *prof, bool tags)
{
    {
        struct sworld w2[2];
        struct mmu_tlb *tt[2];
        for (int i = 0; i < 2; i++) {
            sworld_build(&w2[i], 0x9E3779B97F4A7C15ULL * seed);
            tt[i] = tlb_new(prof);
        }
        struct mmu_ept ep = { .root = { 0x10 }, .maxphyaddr = 46 };
        struct mmu_cpu c = { .cr0 = X86_CR0_PG | X86_CR0_WP | 1, .cr3 = SG_PT << 12,
                             .cr4 = X86_CR4_PAE | X86_CR4_PGE,
                             .efer = X86_EFER_LME | X86_EFER_LMA | X86_EFER_NXE,
                             .cpl = 3, .maxphyaddr = 46 };
        uint64_t page = 0;
        uint16_t vpid = 1;
        for (unsigned n = 0; n < 6000; n++) {
            unsigned r = (unsigned)(trand() % 1000);
            if (r < 6) {
                c.cpl = c.cpl ? 0 : 3;
            } else if (r < 9) {
                c.cr0 ^= X86_CR0_WP;
            } else if (r < 11) {
                c.efer ^= X86_EFER_NXE;
            } else if (r < 13) {
                c.cr4 ^= X86_CR4_SMAP;
            } else if (r < 17) {
                uint64_t va = (trand() % SG_PAGES) << 12;
                for (int i = 0; i < 2; i++)
                    tlb_invlpg(tt[i], vpid, tlb_pcid_of(&c), va);
            } else if (r < 19) {
                for (int i = 0; i < 2; i++)
                    tlb_mov_cr3(tt[i], vpid, tlb_pcid_of(&c), false);
            } else if (r < 25) {
                /* A guest PTE rewritten without an invalidation. */
                uint64_t g = trand() % SG_PAGES;
                uint64_t v = sperturb_pte((g << 12) | PTE_P | PTE_W | PTE_U | PTE_A
                                          | (trand() % 2 ? PTE_D : 0));
                for (int i = 0; i < 2; i++)
                    hostmem_write64(w2[i].hm, _hpa(sguest_slot(&w2[i], g << 12, 1)), v);
            } else if (tags && r < 60) {
                /* Another VPID or PCID: entries of the same pages under
                 * other tags (the fast miss path gives those up). */
                vpid = (uint16_t)(1 + trand() % 2);
                c.cr4 |= X86_CR4_PCIDE;
                c.cr3 = (SG_PT << 12) | (trand() % 2);
            } else if (tags && r < 64) {
                /* PSC and EPT PSC entries dropped under the hints. */
                for (int i = 0; i < 2; i++)
                    tlb_invvpid(tt[i], 1, vpid, 0);
            } else if (tags && r < 67) {
                for (int i = 0; i < 2; i++)
                    tlb_invept(tt[i], 1, 0x10);
            } else if (tags && r < 69) {
                /* All contexts: the fast model then visits only the sets
                 * filled since (tlb_arr.occ), the reference every set. */
                for (int i = 0; i < 2; i++)
                    tlb_invept(tt[i], 2, 0);
            }
            page = trand() % 4 ? (page + 1) % SG_PAGES : trand() % SG_PAGES;
            uint64_t va = trand() % 16 == 0 ? SG_BIG + (trand() % 512 << 12)
                                            : page << 12;
            va += 8 * (trand() % 512);
            enum access_kind k = (enum access_kind)(trand() % 7 < 4 ? ACC_WRITE
                                                    : trand() % 3 ? ACC_READ : ACC_FETCH);
            struct mmu_result res[2];
            struct tlb_result tr[2];
            struct tlb_stats st[2];
            for (int i = 0; i < 2; i++) {
                pagesim_mutants = i ? MUT_M2P_KEEP_ON_FREE : 0;
                tlb_access(tt[i], w2[i].hm, &c, &ep, vpid, _gva(va), k, &res[i], &tr[i]);
                tlb_stats(tt[i], &st[i]);
            }
            pagesim_mutants = 0;
            same_result(n, &res[0], &res[1]);
            cr_assert_eq(res[0].nad_gpa, res[1].nad_gpa, "step %u", n);
            cr_assert_eq(tr[0].level, tr[1].level, "step %u: level", n);
            cr_assert_eq(tr[0].cycles, tr[1].cycles, "step %u: cycles", n);
            cr_assert_eq(memcmp(&st[0], &st[1], sizeof(st[0])), 0, "step %u: stats", n);
            if (n % 64 == 63)
                cr_assert_eq(tlb_state_digest(tt[0]), tlb_state_digest(tt[1]),
                             "seed %u step %u: TLB/PSC/PT-line state", seed, n);
            /* The LRU orders the fast miss path takes its victims from
             * and the key filters it rules keys out with (host-side)
             * agree with the stamps and keys, in both models. */
            cr_assert(tlb_fast_state_ok(tt[0]) && tlb_fast_state_ok(tt[1]),
                      "seed %u step %u: LRU order / key filter", seed, n);
        }
        cr_assert_eq(tlb_state_digest(tt[0]), tlb_state_digest(tt[1]), "seed %u", seed);
        for (uint64_t f = 0; f < 0x4000; f++) {
            const uint8_t *p0 = hostmem_frame_peek(w2[0].hm, _mfn(f));
            const uint8_t *p1 = hostmem_frame_peek(w2[1].hm, _mfn(f));
            cr_assert_eq(!p0, !p1, "frame %#llx", (unsigned long long)f);
            if (p0)
                cr_assert_eq(memcmp(p0, p1, 4096), 0, "seed %u: frame %#llx differs",
                             seed, (unsigned long long)f);
        }
        struct tlb_stats st;
        tlb_stats(tt[0], &st);
        /* The streams reach every level and the fused miss path. */
        cr_assert_gt(st.l1_hits, 0);
        cr_assert_gt(st.stlb_hits, 0);
        cr_assert_gt(st.psc_hits, 0);
        cr_assert_gt(st.epsc_hits, 0);
        for (int i = 0; i < 2; i++) {
            tlb_destroy(tt[i]);
            hostmem_destroy(w2[i].hm);
        }
    }
}

Test(tlb, fast_paths_equal_general_walker_streams)
{
    for (unsigned seed = 1; seed <= 6; seed++)
        streams_diff(seed, seed % 3 == 0 ? &cpu_profile_amd : &cpu_profile_intel, false);
}

/* The same with small caches, so that the STLB, the PSCs and the PT-line
 * cache evict all the time (the profiles' STLBs hold the whole stream),
 * odd set counts and way counts that are no multiple of 4 (the unrolled
 * set scans of the fast miss path), and other VPIDs/PCIDs and INVVPID /
 * INVEPT mixed in (entries of other tags, hints left on dropped
 * entries). */
Test(tlb, fast_paths_equal_general_walker_small_caches)
{
    static struct cpu_profile small[3];
    for (int i = 0; i < 3; i++) {
        small[i] = cpu_profile_intel;
        small[i].name = "small";
    }
    small[0].stlb = (struct tlb_geom){ 48, 12 };   /* 4 sets of 12 */
    small[0].ptc_lines = 32, small[0].ptc_ways = 8;
    small[1].stlb = (struct tlb_geom){ 42, 7 };    /* 6 sets of 7 */
    small[1].dtlb4k = (struct tlb_geom){ 15, 5 };  /* 3 sets of 5 */
    small[1].ptc_lines = 30, small[1].ptc_ways = 5;
    small[1].psc[2] = small[1].epsc[2] = (struct tlb_geom){ 3, 3 };
    small[2].stlb = (struct tlb_geom){ 16, 16 };   /* fully associative */
    small[2].dtlb4k = (struct tlb_geom){ 6, 6 };
    small[2].psc[2] = small[2].epsc[2] = (struct tlb_geom){ 2, 1 };
    for (unsigned seed = 1; seed <= 6; seed++)
        streams_diff(seed, &small[seed % 3], seed > 2);
}

/* ---- PAE PDPTE registers ---------------------------------------------------------- */

/* PAE tables in the suite's world: PDPT at gfn 0x30, PD 0x31, PT 0x32, a
 * second PD 0x33 whose PT 0x34 maps va 0x1000 to gfn 0x21. */
static void pae_world(void)
{
    const uint64_t a = PTE_P | PTE_W | PTE_U | PTE_A;
    w(0x30 + GOFF, 0, (0x31ULL << 12) | PTE_P);
    w(0x31 + GOFF, 0, (0x32ULL << 12) | a);
    w(0x32 + GOFF, 1, (0x20ULL << 12) | a | PTE_D);
    w(0x33 + GOFF, 0, (0x34ULL << 12) | a);
    w(0x34 + GOFF, 1, (0x21ULL << 12) | a | PTE_D);
    cpu.cr3 = 0x30ULL << 12;
    cpu.efer = 0;
}

Test(tlb, pae_pdpte_registers)
{
    struct mmu_result r;
    struct tlb_result tr;
    uint64_t regs[4];
    pae_world();
    cr_assert(tlb_pae_load(t, hm, &cpu, &ept));
    cr_assert(tlb_pae_regs(t, &cpu, regs));
    cr_assert_eq(regs[0], (0x31ULL << 12) | PTE_P);
    tlb_access(t, hm, &cpu, &ept, 1, _gva(0x1008), ACC_READ, &r, &tr);
    cr_assert_eq(r.outcome, MMU_OK);
    cr_assert_eq(hpa_x(r.hpa), ((0x20 + GOFF) << 12) + 8);
    /* PDE and PTE (an EPT walk each) and the final EPT walk: 14; without
     * the registers, 5 more (the PDPTE and its EPT walk). */
    cr_assert_eq(r.refs, 14);
    struct mmu_result f;
    mmu_translate(hm, &cpu, &ept, _gva(0x1008), ACC_READ, &f);
    cr_assert_eq(f.refs, 19);
    /* A PDPT edit is not seen, whatever is invalidated, until a load. */
    w(0x30 + GOFF, 0, (0x33ULL << 12) | PTE_P);
    tlb_invvpid(t, 2, 1, 0);
    tlb_invept(t, 2, 0);
    tlb_access(t, hm, &cpu, &ept, 1, _gva(0x1008), ACC_READ, &r, &tr);
    cr_assert_eq(hpa_x(r.hpa), ((0x20 + GOFF) << 12) + 8, "the register");
    /* ... unless the mutant re-reads it. */
    pagesim_mutants = MUT_PAE_PDPTE_REREAD;
    tlb_invvpid(t, 2, 1, 0);
    tlb_access(t, hm, &cpu, &ept, 1, _gva(0x1008), ACC_READ, &r, &tr);
    pagesim_mutants = 0;
    cr_assert_eq(hpa_x(r.hpa), ((0x21 + GOFF) << 12) + 8, "mutant: memory");
    cr_assert(tlb_pae_load(t, hm, &cpu, &ept));
    tlb_invvpid(t, 2, 1, 0);
    tlb_access(t, hm, &cpu, &ept, 1, _gva(0x1008), ACC_READ, &r, &tr);
    cr_assert_eq(hpa_x(r.hpa), ((0x21 + GOFF) << 12) + 8, "reloaded");
    /* Another CR3: the registers are not for it. */
    struct mmu_cpu c2 = cpu;
    c2.cr3 += 0x20;
    cr_assert_not(tlb_pae_regs(t, &c2, regs));
    /* Not loaded: AMD nested paging (no registers: walks read the
     * PDPEs), a PDPT gpa the EPT does not map, not PAE. */
    struct mmu_ept np = ept;
    np.npt = true;
    cr_assert_not(tlb_pae_load(t, hm, &cpu, &np));
    cr_assert_not(tlb_pae_regs(t, &cpu, regs));
    c2.cr3 = 0x3F000ULL + (1ULL << 22); /* gfn 0x43F: no EPT entry */
    cr_assert_not(tlb_pae_load(t, hm, &c2, &ept));
    /* That load is an EPT violation exit (SDM 29.3.3.2): a read without a
     * guest-linear address (qualification bits 7 and 8 clear), at the
     * first PDPTE's gpa; the registers keep what they held. */
    enum mmu_outcome xk;
    uint64_t xq, xg;
    cr_assert(tlb_pae_exit(t, &xk, &xq, &xg));
    cr_assert_eq(xk, MMU_EPT_VIOLATION);
    cr_assert_eq(xq, EPTQ_READ);
    cr_assert_eq(xg, c2.cr3);
    pagesim_mutants = MUT_PAE_EXIT_GLA;
    cr_assert_not(tlb_pae_load(t, hm, &c2, &ept));
    pagesim_mutants = 0;
    cr_assert(tlb_pae_exit(t, &xk, &xq, &xg));
    cr_assert_eq(xq, EPTQ_READ | EPTQ_GLA_VALID, "the mutant reports bit 7");
    cr_assert(tlb_pae_load(t, hm, &cpu, &ept));
    cr_assert_not(tlb_pae_exit(t, &xk, &xq, &xg), "a load that read all four");
    c2 = cpu;
    c2.cr4 = 0;
    cr_assert_not(tlb_pae_load(t, hm, &c2, &ept));
}

/* SDM 29.3.5: with EPT A/D on, a walk's guest paging-structure accesses
 * are writes for EPT A/D, but the PDPTE load by MOV CR is a read: it sets
 * the accessed flag of each EPT entry it uses (PML4E, PDPTE, PDE and the
 * leaf mapping the PDPT's gfn 0x30), no dirty flag, and needs only EPT
 * read permission.  The walks that follow set D on the leaves of the PD
 * and PT they read (not on the PDPT's: they use the registers).  Both
 * mutants break it. */
Test(tlb, pae_pdpte_load_ept_ad)
{
    uint64_t regs[4], e = 0;
    struct mmu_ept ad = ept;
    ad.ad = true;
    pae_world();
    hostmem_read64(hm, _hpa((4ULL << 12) + 8 * 0x30), &e);
    cr_assert_eq(e & (EPT_A | EPT_D), 0);
    cr_assert(tlb_pae_load(t, hm, &cpu, &ad));
    cr_assert(tlb_pae_regs(t, &cpu, regs));
    cr_assert_eq(regs[0], (0x31ULL << 12) | PTE_P);
    hostmem_read64(hm, _hpa((4ULL << 12) + 8 * 0x30), &e);
    cr_assert_eq(e & (EPT_A | EPT_D), EPT_A, "A, no D: the load is a read");
    for (uint64_t f = 1; f <= 3; f++) {
        hostmem_read64(hm, _hpa(f << 12), &e);
        cr_assert(e & EPT_A, "upper EPT entry in frame %llu", (unsigned long long)f);
    }
    struct mmu_result r;
    struct tlb_result tr;
    tlb_access(t, hm, &cpu, &ad, 1, _gva(0x1008), ACC_READ, &r, &tr);
    cr_assert_eq(r.outcome, MMU_OK);
    hostmem_read64(hm, _hpa((4ULL << 12) + 8 * 0x31), &e);
    cr_assert_eq(e & (EPT_A | EPT_D), EPT_A | EPT_D, "the PD read by the walk: a write");
    hostmem_read64(hm, _hpa((4ULL << 12) + 8 * 0x30), &e);
    cr_assert_eq(e & EPT_D, 0, "the PDPT is not read by the walk");
    /* A PDPT whose EPT leaf allows reads only: the load succeeds (a
     * walk's access to it would need W under A/D). */
    w(4, 0x30, ((0x30ULL + GOFF) << 12) | (6 << 3) | EPT_R);
    cr_assert(tlb_pae_load(t, hm, &cpu, &ad));
    /* MUT_PAE_AD_LOAD_DIRTY: the load is a paging-structure write, so
     * the read-only leaf makes it an EPT violation (read and write). */
    pagesim_mutants = MUT_PAE_AD_LOAD_DIRTY;
    bool loaded = tlb_pae_load(t, hm, &cpu, &ad);
    pagesim_mutants = 0;
    cr_assert_not(loaded);
    enum mmu_outcome xk;
    uint64_t xq, xg;
    cr_assert(tlb_pae_exit(t, &xk, &xq, &xg));
    cr_assert_eq(xq & (EPTQ_READ | EPTQ_WRITE), EPTQ_READ | EPTQ_WRITE);
    /* MUT_PAE_AD_NO_EPT_ACCESSED: no A on a fresh leaf. */
    w(4, 0x30, ((0x30ULL + GOFF) << 12) | (6 << 3) | EPT_R | EPT_W | EPT_X);
    pagesim_mutants = MUT_PAE_AD_NO_EPT_ACCESSED;
    loaded = tlb_pae_load(t, hm, &cpu, &ad);
    pagesim_mutants = 0;
    cr_assert(loaded);
    hostmem_read64(hm, _hpa((4ULL << 12) + 8 * 0x30), &e);
    cr_assert_eq(e & EPT_A, 0, "mutant: no accessed flag");
}

/* AMD nested paging: no PDPTE registers (the VMCB has none; each guest
 * walk reads the PDPEs through the nested tables), so a PDPT edit is seen
 * by the next walk without a MOV CR3; the mutant keeps registers as VMX
 * does.  Shadow paging: the registers hold the hypervisor's copy of the
 * guest l3es (Xen's gl3e), which the mutant ignores. */
Test(tlb, pae_pdpte_npt_and_shadow)
{
    uint64_t regs[4];
    pae_world();
    struct mmu_ept sh = ept;
    sh.shadow = true;
    struct mmu_result r;
    struct tlb_result tr;
    cr_assert(tlb_pae_load(t, hm, &cpu, &sh));
    cr_assert(tlb_pae_regs(t, &cpu, regs));
    w(0x30 + GOFF, 0, (0x33ULL << 12) | PTE_P);
    tlb_access(t, hm, &cpu, &sh, 1, _gva(0x1008), ACC_READ, &r, &tr);
    cr_assert_eq(hpa_x(r.hpa), ((0x20 + GOFF) << 12) + 8, "the l3e copy");
    cr_assert_eq(r.refs, 2, "PDE and PTE only (shadow: 1D; A already set)");
    pagesim_mutants = MUT_SHADOW_PAE_REREAD_L3E;
    tlb_invvpid(t, 2, 1, 0);
    tlb_access(t, hm, &cpu, &sh, 1, _gva(0x1008), ACC_READ, &r, &tr);
    pagesim_mutants = 0;
    cr_assert_eq(hpa_x(r.hpa), ((0x21 + GOFF) << 12) + 8, "mutant: memory");
    /* EPT (not shadow) walks are not affected by the shadow mutant. */
    cr_assert(tlb_pae_load(t, hm, &cpu, &ept));
    w(0x30 + GOFF, 0, (0x31ULL << 12) | PTE_P);
    pagesim_mutants = MUT_SHADOW_PAE_REREAD_L3E;
    tlb_invvpid(t, 2, 1, 0);
    tlb_access(t, hm, &cpu, &ept, 1, _gva(0x1008), ACC_READ, &r, &tr);
    pagesim_mutants = 0;
    cr_assert_eq(hpa_x(r.hpa), ((0x21 + GOFF) << 12) + 8, "EPT: the registers");

    /* NPT last: the nested walk (mutant) sets nested A flags, which the
     * EPT-format test tables do not survive. */
    tlb_pae_clear(t);
    struct mmu_ept np = ept;
    np.npt = true;
    cr_assert_not(tlb_pae_load(t, hm, &cpu, &np));
    cr_assert_not(tlb_pae_regs(t, &cpu, regs));
    pagesim_mutants = MUT_NPT_PAE_PDPTE_CACHED;
    bool loaded = tlb_pae_load(t, hm, &cpu, &np);
    pagesim_mutants = 0;
    cr_assert(loaded, "mutant: registers under NPT");
}

/* SDM 4.4.1: a present PDPTE with a reserved bit (2:1, 8:5, 63:MAXPHYADDR)
 * makes the load a #GP(0): nothing loaded, the previous registers kept;
 * a not-present one is not checked. */
Test(tlb, pae_pdpte_load_gp)
{
    uint64_t regs[4];
    pae_world();
    cpu.maxphyaddr = 46; /* bit 51 above it */
    cr_assert(tlb_pae_load(t, hm, &cpu, &ept));
    cr_assert_not(tlb_pae_gp(t));
    static const uint64_t bad[] = { PTE_W, PTE_U, 1ULL << 5, 1ULL << 8,
                                    1ULL << 63, 1ULL << 51 };
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        w(0x30 + GOFF, 1, (0x33ULL << 12) | PTE_P | bad[i]);
        cr_assert(mmu_pae_pdpte_reserved(&cpu, (0x33ULL << 12) | PTE_P | bad[i]));
        cr_assert_not(tlb_pae_load(t, hm, &cpu, &ept), "bit %#llx",
                      (unsigned long long)bad[i]);
        cr_assert(tlb_pae_gp(t));
        cr_assert(tlb_pae_regs(t, &cpu, regs), "the old registers stay");
        cr_assert_eq(regs[1], 0, "as loaded before");
    }
    /* Bits 11:9 and 4:3 (PWT/PCD) are not reserved; MAXPHYADDR decides. */
    cr_assert_not(mmu_pae_pdpte_reserved(&cpu, (0x33ULL << 12) | PTE_P | 0xE18));
    w(0x30 + GOFF, 1, 0x1E6); /* reserved bits, but not present */
    cr_assert(tlb_pae_load(t, hm, &cpu, &ept));
    cr_assert_not(tlb_pae_gp(t));
    /* The mutant loads them anyway. */
    w(0x30 + GOFF, 1, (0x33ULL << 12) | PTE_P | PTE_W);
    pagesim_mutants = MUT_PAE_LOAD_NO_GP;
    bool loaded = tlb_pae_load(t, hm, &cpu, &ept);
    pagesim_mutants = 0;
    cr_assert(loaded);
    cr_assert_not(tlb_pae_gp(t));
}

/* SDM 4.4.1: which MOV to CR0/CR4 loads the PDPTE registers.  Every
 * single-bit toggle of CR0 and CR4 from PAE paging (and PAE entered from
 * each other mode), the model's rule against the oracle's and against
 * the SDM's list; the mutant reloads on SMAP and PKE. */
Test(tlb, pae_cr_loads)
{
    const uint64_t listed0 = X86_CR0_CD | X86_CR0_NW | X86_CR0_PG;
    const uint64_t listed4 = X86_CR4_PAE | X86_CR4_PGE | X86_CR4_PSE | X86_CR4_SMEP;
    struct mmu_cpu p = { .cr0 = X86_CR0_PG | X86_CR0_WP | 1, .cr4 = X86_CR4_PAE,
                         .efer = X86_EFER_NXE };
    for (unsigned reg = 0; reg < 2; reg++)
        for (unsigned b = 0; b < 32; b++) {
            struct mmu_cpu n = p;
            uint64_t bit = 1ULL << b;
            if (reg == 0)
                n.cr0 ^= bit;
            else
                n.cr4 ^= bit;
            bool pae_after = mmu_mode_of(&n) == MMU_MODE_PAE;
            bool want = pae_after && ((reg == 0 ? listed0 : listed4) & bit);
            struct oracle_cpu ob = { .cr0 = p.cr0, .cr4 = p.cr4, .efer = p.efer };
            struct oracle_cpu oa = { .cr0 = n.cr0, .cr4 = n.cr4, .efer = n.efer };
            cr_assert_eq(tlb_pae_cr_loads(&p, &n), want, "cr%u bit %u", reg ? 4 : 0, b);
            cr_assert_eq(oracle_pae_cr_loads(&ob, &oa), want, "oracle: cr%u bit %u",
                         reg ? 4 : 0, b);
        }
    /* Entering PAE paging loads, from no paging, 32-bit and 4-level. */
    struct mmu_cpu none = p, b32 = p, l4 = p;
    none.cr0 &= ~X86_CR0_PG;
    b32.cr4 &= ~X86_CR4_PAE;
    l4.efer |= X86_EFER_LME | X86_EFER_LMA;
    cr_assert(tlb_pae_cr_loads(&none, &p));
    cr_assert(tlb_pae_cr_loads(&b32, &p));
    cr_assert(tlb_pae_cr_loads(&l4, &p));
    cr_assert_not(tlb_pae_cr_loads(&p, &l4), "leaving PAE paging loads nothing");
    /* EFER.NXE (WRMSR) is no MOV to CR0/CR4. */
    struct mmu_cpu nx = p;
    nx.efer &= ~X86_EFER_NXE;
    cr_assert_not(tlb_pae_cr_loads(&p, &nx));
    struct mmu_cpu sm = p;
    sm.cr4 |= X86_CR4_SMAP;
    pagesim_mutants = MUT_PAE_CR_SMAP_LOAD;
    bool m = tlb_pae_cr_loads(&p, &sm);
    pagesim_mutants = 0;
    cr_assert(m, "the mutant reloads on SMAP");
    cr_assert_not(tlb_pae_cr_loads(&p, &sm));
}

/* AMD SVM invalidations (APM 15.16): INVLPGA in its ASID only; TLB_CONTROL
 * 7 keeps globals, 3 not, 1 everything, 0 nothing; both mutants. */
Test(tlb, svm_invlpga_and_tlb_control)
{
    struct mmu_result r;
    go(ACC_READ, &r);
    tlb_invlpga(t, 2, VA);
    cr_assert_eq(go(ACC_READ, &r).level, TLB_L1, "another ASID");
    tlb_invlpga(t, 1, VA + 0x1000);
    cr_assert_eq(go(ACC_READ, &r).level, TLB_L1, "another page");
    tlb_invlpga(t, 1, VA);
    cr_assert_eq(go(ACC_READ, &r).level, TLB_WALK);
    tlb_svm_flush(t, 0, 1);
    cr_assert_eq(go(ACC_READ, &r).level, TLB_L1, "TLB_CONTROL 0");
    tlb_svm_flush(t, 3, 2);
    cr_assert_eq(go(ACC_READ, &r).level, TLB_L1, "TLB_CONTROL 3 of ASID 2");
    tlb_svm_flush(t, 1, 2);
    cr_assert_eq(go(ACC_READ, &r).level, TLB_WALK, "TLB_CONTROL 1: every ASID");
    /* A global entry: 7 keeps it, 3 drops it (unless the mutant). */
    w(0x13 + GOFF, 7, (0x20ULL << 12) | PTE_P | PTE_W | PTE_A | PTE_D | PTE_G);
    tlb_svm_flush(t, 1, 1);
    go(ACC_READ, &r);
    tlb_svm_flush(t, 7, 1);
    cr_assert_eq(go(ACC_READ, &r).level, TLB_L1, "7 keeps the global entry");
    pagesim_mutants = MUT_TLB_CONTROL3_KEEP_GLOBAL;
    tlb_svm_flush(t, 3, 1);
    pagesim_mutants = 0;
    cr_assert_eq(go(ACC_READ, &r).level, TLB_L1, "the mutant keeps it");
    tlb_svm_flush(t, 3, 1);
    cr_assert_eq(go(ACC_READ, &r).level, TLB_WALK, "3 drops it");
}

/* INVEPT all-context (after every hypervisor operation, Xen's
 * ept_sync_domain()) empties every array, and the invalidations after it
 * visit only the sets filled since (model/tlb.c tlb_arr.occ, psc_arr.any):
 * entries filled by the general walker and by the fused miss path, in
 * the L1 arrays, the STLB and the PSCs, are all found by the next
 * invalidation, with the same state as the reference model (a mutant on:
 * every set visited). */
Test(tlb, invept_all_then_only_filled_sets)
{
    const uint64_t a = PTE_P | PTE_W | PTE_U | PTE_A | PTE_D;
    for (unsigned i = 8; i < 24; i++) /* va 0x8000.. -> gfns 0x21.. */
        w(0x13 + GOFF, i, ((0x21ULL + i - 8) << 12) | a);
    struct mmu_tlb *tt[2] = { t, tlb_new(&cpu_profile_intel) };
    cr_assert_not_null(tt[1]);
    const uint64_t ref = MUT_M2P_KEEP_ON_FREE; /* a sim bit: the reference */
    /* Runs one access on both models; the TLB level it was served from. */
#define BOTH(call) do {                                                        \
        for (int i_ = 0; i_ < 2; i_++) {                                       \
            pagesim_mutants = i_ ? ref : 0;                                    \
            struct mmu_tlb *m_ = tt[i_];                                       \
            (void)m_;                                                          \
            call;                                                              \
        }                                                                      \
        pagesim_mutants = 0;                                                   \
        cr_assert_eq(tlb_state_digest(tt[0]), tlb_state_digest(tt[1]));        \
        cr_assert(tlb_fast_state_ok(tt[0]) && tlb_fast_state_ok(tt[1]));       \
    } while (0)
    enum tlb_level lv[2];
    for (int round = 0; round < 3; round++) {
        for (uint64_t va = VA; va < 0x18000; va += 0x1000) {
            struct mmu_result r;
            struct tlb_result tr;
            enum access_kind k = va & 0x1000 ? ACC_READ : ACC_FETCH;
            BOTH((tlb_access(m_, hm, &cpu, &ept, 1, _gva(va), k, &r, &tr),
                  lv[i_] = tr.level));
            cr_assert_eq(lv[0], lv[1]);
            cr_assert_eq(lv[0], TLB_WALK, "round %d va %#llx: nothing survived",
                         round, (unsigned long long)va);
        }
        struct mmu_psc_start ps;
        cr_assert(tlb_psc_probe(t, &cpu, &ept, 1, _gva(VA), &ps));
        if (round == 1) {
            /* A narrower invalidation after the full one finds the
             * entries filled since. */
            BOTH(tlb_invlpg(m_, 1, 0, 0x9000));
            struct mmu_result r;
            struct tlb_result tr;
            BOTH((tlb_access(m_, hm, &cpu, &ept, 1, _gva(0x9000), ACC_READ, &r, &tr),
                  lv[i_] = tr.level));
            cr_assert_eq(lv[0], TLB_WALK, "invlpg after invept 2");
            BOTH(tlb_invvpid(m_, 1, 1, 0));
            cr_assert_not(tlb_psc_probe(t, &cpu, &ept, 1, _gva(VA), &ps));
            BOTH((tlb_access(m_, hm, &cpu, &ept, 1, _gva(0xA000), ACC_READ, &r, &tr),
                  lv[i_] = tr.level));
            cr_assert_eq(lv[0], TLB_WALK, "invvpid after invept 2");
        }
        BOTH(tlb_invept(m_, 2, 0));
        cr_assert_not(tlb_psc_probe(t, &cpu, &ept, 1, _gva(VA), &ps));
        cr_assert_not(tlb_probe(t, &cpu, &ept, 1, _gva(VA + 0x1000), ACC_READ));
        BOTH(tlb_invept(m_, 2, 0)); /* on an empty TLB */
    }
    /* TLB_CONTROL 1 empties it the same way. */
    struct mmu_result r;
    struct tlb_result tr;
    BOTH(tlb_access(m_, hm, &cpu, &ept, 1, _gva(VA), ACC_READ, &r, &tr));
    BOTH(tlb_svm_flush(m_, 1, 1));
    BOTH((tlb_access(m_, hm, &cpu, &ept, 1, _gva(VA), ACC_READ, &r, &tr),
          lv[i_] = tr.level));
    cr_assert_eq(lv[0], TLB_WALK);
    BOTH(tlb_invlpg(m_, 1, 0, VA));
    BOTH((tlb_access(m_, hm, &cpu, &ept, 1, _gva(VA), ACC_READ, &r, &tr),
          lv[i_] = tr.level));
    cr_assert_eq(lv[0], TLB_WALK, "invlpg after TLB_CONTROL 1");
#undef BOTH
    tlb_destroy(tt[1]);
}

/* ---- NPT paging-structure cache (AMD nested paging) ---- */

/* Nested tables at frames 0x200..0x203 mapping gfn g -> frame g + GOFF
 * (g < 0x40), in the long-mode format; the guest tables of setup(). */
#define NROOT 0x200ULL
static const struct mmu_ept nept = { .root = { NROOT }, .npt = true, .npt_nxe = true };

static void npt_tables(void)
{
    const uint64_t n = PTE_P | PTE_W | PTE_U | PTE_A; /* no A write-backs */
    w(NROOT, 0, ((NROOT + 1) << 12) | n);
    w(NROOT + 1, 0, ((NROOT + 2) << 12) | n);
    w(NROOT + 2, 0, ((NROOT + 3) << 12) | n);
    for (uint64_t g = 0; g < 0x40; g++)
        w(NROOT + 3, (unsigned)g, ((g + GOFF) << 12) | n);
    two_tables();
    const uint64_t a = PTE_P | PTE_W | PTE_U | PTE_A | PTE_D;
    w(0x13 + GOFF, 9, (0x23ULL << 12) | a);
    w(0x13 + GOFF, 10, (0x24ULL << 12) | a);
    tlb_destroy(t);
    t = tlb_new(&cpu_profile_amd);
    cr_assert_not_null(t);
}

static struct tlb_result go_npt(uint16_t asid, uint64_t va, enum access_kind k,
                                struct mmu_result *r)
{
    struct tlb_result tr;
    tlb_access(t, hm, &cpu, &nept, asid, _gva(va), k, r, &tr);
    return tr;
}

/* Filled from a successful nested walk, tagged by nCR3 and ASID; later
 * nested walks skip the cached levels: refs as if made, the cost not. */
Test(tlb, npt_psc_fill_and_skip)
{
    struct mmu_result r;
    struct tlb_npsc_ent l[8];
    npt_tables();
    cr_assert_eq(tlb_npsc_list(t, NROOT, 1, l, 8), 0);
    go_npt(1, VA, ACC_READ, &r);
    cr_assert_eq(r.outcome, MMU_OK);
    cr_assert_eq(tlb_npsc_list(t, NROOT, 1, l, 8), 3, "nPDE, nPDPTE, nPML4E");
    cr_assert_eq(l[0].level, 2);
    cr_assert_eq(l[0].table_hpa, (NROOT + 3) << 12);
    cr_assert_eq(l[0].rights, PTE_U | PTE_W);
    cr_assert_eq(tlb_npsc_list(t, NROOT, 2, l, 8), 0, "another ASID");
    cr_assert_eq(tlb_npsc_list(t, NROOT + 9, 1, l, 8), 0, "another nCR3");
    struct tlb_stats s0, s1;
    tlb_stats(t, &s0);
    go_npt(1, 0x8000, ACC_READ, &r);
    tlb_stats(t, &s1);
    cr_assert_eq(r.outcome, MMU_OK);
    cr_assert_eq(hpa_x(r.hpa), (0x21ULL + GOFF) << 12);
    cr_assert_eq(r.refs, 24, "the full 2-D walk, as counted (%u)", r.refs);
    cr_assert_eq(r.epsc_saved, 5 * 3, "each of the 5 nested walks from the nPDE");
    cr_assert_eq(s1.epsc_hits - s0.epsc_hits, 5);
    cr_assert_eq(s1.walk_refs - s0.walk_refs, 24 - 15);
    /* Another ASID walks from the root. */
    go_npt(2, 0x8000, ACC_READ, &r);
    cr_assert_eq(r.epsc_saved, 5 * 3 - 3, "ASID 2: the first nested walk is full");
    /* The Intel profile has no NPT PSC. */
    tlb_destroy(t);
    t = tlb_new(&cpu_profile_intel);
    go_npt(1, VA, ACC_READ, &r);
    go_npt(1, 0x8000, ACC_READ, &r);
    cr_assert_eq(r.epsc_saved, 0);
    cr_assert_eq(tlb_npsc_list(t, NROOT, 1, l, 8), 0);
}

/* A nested PDE made read-only: the cached one is used (allowed) until
 * INVLPGA / TLB_CONTROL 3 or 7 of the ASID; the mutants keep it. */
Test(tlb, npt_psc_stale_until_invlpga_or_tlb_control)
{
    struct mmu_result r;
    struct tlb_npsc_ent l[8];
    npt_tables();
    go_npt(1, VA, ACC_WRITE, &r);
    cr_assert_eq(r.outcome, MMU_OK);
    w(NROOT + 2, 0, ((NROOT + 3) << 12) | PTE_P | PTE_U | PTE_A);
    go_npt(1, 0x8000, ACC_WRITE, &r);
    cr_assert_eq(r.outcome, MMU_OK, "stale nPDE (R/W) from the cache: allowed");
    tlb_invlpga(t, 2, 0x8000);
    cr_assert_eq(tlb_npsc_list(t, NROOT, 1, l, 8), 3, "INVLPGA of ASID 2");
    pagesim_mutants = MUT_NPT_PSC_KEEP_ON_INVLPGA;
    tlb_invlpga(t, 1, 0x8000);
    pagesim_mutants = 0;
    cr_assert_eq(tlb_npsc_list(t, NROOT, 1, l, 8), 3, "the mutant keeps them");
    tlb_invlpga(t, 1, 0x12345000); /* any address */
    cr_assert_eq(tlb_npsc_list(t, NROOT, 1, l, 8), 0);
    go_npt(1, 0x9000, ACC_WRITE, &r);
    cr_assert_eq(r.outcome, MMU_NPF, "the fresh nested walk: read-only nPDE");
    cr_assert_eq(r.exit_qual, PFEC_P | PFEC_W | PFEC_U | NPF_FINAL);
    /* TLB_CONTROL: 0 and another ASID's 3 keep, 3 / 7 / 1 drop. */
    go_npt(1, 0xa000, ACC_READ, &r);
    cr_assert_eq(tlb_npsc_list(t, NROOT, 1, l, 8), 3);
    tlb_svm_flush(t, 0, 1);
    tlb_svm_flush(t, 3, 2);
    cr_assert_eq(tlb_npsc_list(t, NROOT, 1, l, 8), 3);
    pagesim_mutants = MUT_NPT_PSC_KEEP_ON_TLBCTL;
    tlb_svm_flush(t, 7, 1);
    pagesim_mutants = 0;
    cr_assert_eq(tlb_npsc_list(t, NROOT, 1, l, 8), 3, "the mutant keeps them");
    tlb_svm_flush(t, 7, 1);
    cr_assert_eq(tlb_npsc_list(t, NROOT, 1, l, 8), 0, "TLB_CONTROL 7");
    go_npt(1, 0x8000, ACC_READ, &r);
    tlb_svm_flush(t, 1, 2);
    cr_assert_eq(tlb_npsc_list(t, NROOT, 1, l, 8), 0, "TLB_CONTROL 1: every ASID");
    go_npt(1, 0x8000, ACC_READ, &r);
    tlb_invept(t, 2, 0);
    cr_assert_eq(tlb_npsc_list(t, NROOT, 1, l, 8), 0, "the hypervisor's flush");
}

/* The oracle's side: its raw nested walk from a start (the entries above
 * not read, counted as if made), the entries it reports, and the set's
 * scope for each invalidation. */
Test(tlb, oracle_npsc_starts_and_set)
{
    npt_tables();
    struct oracle_nptp p = { .root_mfn = NROOT, .nxe = true };
    struct oracle_ept_result r;
    oracle_npt_xlate(hm, 1024, &p, 0x21000, ACC_WRITE, false, &r);
    cr_assert_eq(r.outcome, OE_OK);
    cr_assert_eq(r.nnpsc, 3);
    cr_assert_eq(r.npsc[2].level, 2);
    cr_assert_eq(r.npsc[2].table_hpa, (NROOT + 3) << 12);
    cr_assert(r.npsc[2].u && r.npsc[2].w && !r.npsc[2].nx);
    /* The nPDE made read-only; a start from the old (R/W) cached one
     * reads only the nPTE, and the write is allowed. */
    w(NROOT + 2, 0, ((NROOT + 3) << 12) | PTE_P | PTE_U | PTE_A);
    oracle_npt_xlate(hm, 1024, &p, 0x22000, ACC_WRITE, false, &r);
    cr_assert_eq(r.outcome, OE_VIOLATION, "fresh: read-only");
    struct oracle_npsc st = { 2, 0x22000 >> 21, (NROOT + 3) << 12, true, true, false };
    p.starts = &st;
    p.nstarts = 1;
    oracle_npt_xlate(hm, 1024, &p, 0x22000, ACC_WRITE, false, &r);
    cr_assert_eq(r.outcome, OE_OK, "from the stale start");
    cr_assert_eq(r.hpa, (0x22ULL + GOFF) << 12);
    cr_assert_eq(r.refs, 3 + 1 + 1, "3 skipped + the nPTE + its D update");
    /* The set: noted entries allowed per ASID and root, dropped by
     * INVLPGA / TLB_CONTROL of the ASID. */
    struct oracle_tlbset *s = oracle_tlbset_new();
    struct oracle_expect x;
    memset(&x, 0, sizeof(x));
    x.final = OR_PF;
    x.nnpsc = 1;
    x.npsc_root = NROOT;
    x.npsc_used[0] = st;
    struct oracle_cpu oc = { .cr0 = cpu.cr0, .cr3 = cpu.cr3, .cr4 = cpu.cr4,
                             .efer = cpu.efer };
    oracle_tlbset_note(s, &oc, 1, NROOT, _gva(VA), &x);
    cr_assert(oracle_tlbset_npsc_allows(s, 1, NROOT, &st), "noted even when the access faulted");
    cr_assert_not(oracle_tlbset_npsc_allows(s, 2, NROOT, &st));
    cr_assert_not(oracle_tlbset_npsc_allows(s, 1, NROOT + 1, &st));
    oracle_tlbset_invlpga(s, 2, VA);
    oracle_tlbset_tlb_control(s, 3, 2);
    oracle_tlbset_tlb_control(s, 0, 1);
    cr_assert_eq(oracle_tlbset_npsc_size(s), 1);
    oracle_tlbset_invlpga(s, 1, 0x12345000);
    cr_assert_eq(oracle_tlbset_npsc_size(s), 0);
    oracle_tlbset_note(s, &oc, 1, NROOT, _gva(VA), &x);
    oracle_tlbset_tlb_control(s, 7, 1);
    cr_assert_eq(oracle_tlbset_npsc_size(s), 0);
    oracle_tlbset_note(s, &oc, 1, NROOT, _gva(VA), &x);
    oracle_tlbset_invept(s, 1, NROOT + 1);
    cr_assert_eq(oracle_tlbset_npsc_size(s), 1, "INVEPT 1 of another root");
    oracle_tlbset_invept(s, 2, 0);
    cr_assert_eq(oracle_tlbset_npsc_size(s), 0);
    oracle_tlbset_destroy(s);
}

/* ---- the AMD page walk cache (keyed by the entry's gpa) -------------------------- */

#define HI (1ULL << 39) /* PML4 slot 1 */

/* The AMD profile, PML4 slot 1 pointing at slot 0's PDPT (0x11), and PT
 * 0x13 mapping page 8 to gfn 0x21. */
static void amd_shared(void)
{
    tlb_destroy(t);
    t = tlb_new(&cpu_profile_amd);
    cr_assert_not_null(t);
    w(0x10 + GOFF, 1, (0x11ULL << 12) | PTE_P | PTE_W | PTE_U | PTE_A);
    two_tables();
}

Test(tlb, pwc_shared_table_hit_for_an_unwalked_prefix)
{
    amd_shared();
    struct mmu_result r;
    struct mmu_psc_start ps;
    struct tlb_pwc_ent l[8];
    cr_assert_eq(tlb_pwc_list(t, &cpu, &ept, 1, l, 8), 0);
    go(ACC_READ, &r);
    cr_assert_eq(r.refs, 24, "a full 2D walk");
    cr_assert_eq(tlb_pwc_list(t, &cpu, &ept, 1, l, 8), 3, "PDE, PDPTE, PML4E");
    cr_assert_eq(l[0].level, 2);
    cr_assert_eq(l[0].gpa, 0x12ULL << 12, "keyed by the PDE's own gpa");
    cr_assert_eq(l[0].val, (0x13ULL << 12) | PTE_P | PTE_W | PTE_U | PTE_A);
    cr_assert_eq(l[2].gpa, 0x10ULL << 12, "the PML4E of slot 0");
    cr_assert_not(tlb_psc_probe(t, &cpu, &ept, 1, _gva(0x8000), &ps),
                  "no linear-address-indexed PSC in this profile");
    /* Slot 1, never walked: its PML4E is read (EPT walk + read), the
     * shared PDPTE and PDE are hits, then the PTE (EPT walk + read) and
     * the final EPT walk. */
    struct tlb_result tr = go_va(HI + 0x8000, &r);
    cr_assert_eq(tr.level, TLB_WALK);
    cr_assert_eq(r.outcome, MMU_OK);
    cr_assert_eq(hpa_x(r.hpa), (0x21ULL + GOFF) << 12);
    cr_assert_eq(r.refs, 5 + 5 + 4);
    cr_assert_eq(r.guest_refs, 2, "the PML4E and the PTE");
    struct tlb_stats st;
    tlb_stats(t, &st);
    cr_assert_eq(st.psc_hits, 1);
    cr_assert_eq(tlb_pwc_list(t, &cpu, &ept, 1, l, 8), 4, "slot 1's PML4E added");
    /* Other tags see none: VPID, PCID, EPTP, paging mode. */
    cr_assert_eq(tlb_pwc_list(t, &cpu, &ept, 2, l, 8), 0);
    struct mmu_ept e2 = { .root = { 9 } };
    cr_assert_eq(tlb_pwc_list(t, &cpu, &e2, 1, l, 8), 0);
    struct mmu_cpu c2 = cpu;
    c2.cr4 |= X86_CR4_PCIDE;
    c2.cr3 |= 3;
    cr_assert_eq(tlb_pwc_list(t, &c2, &ept, 1, l, 8), 0);
    c2 = cpu;
    c2.efer &= ~X86_EFER_LMA;
    cr_assert_eq(tlb_pwc_list(t, &c2, &ept, 1, l, 8), 0, "PAE paging");
    cr_assert(tlb_fast_state_ok(t));
}

Test(tlb, pwc_stale_until_invlpg_of_any_address)
{
    amd_shared();
    struct mmu_result r;
    go(ACC_READ, &r);
    /* The shared PDE now points at PT 0x14 (page 8 -> gfn 0x22), not
     * invalidated: slot 1's walk still reaches the cached PDE. */
    w(0x12 + GOFF, 0, (0x14ULL << 12) | PTE_P | PTE_W | PTE_U | PTE_A);
    go_va(HI + 0x8000, &r);
    cr_assert_eq(hpa_x(r.hpa), (0x21ULL + GOFF) << 12, "stale: PT 0x13");
    tlb_invlpg(t, 1, 0, 0x12345000);
    go_va(0x8000, &r);
    cr_assert_eq(hpa_x(r.hpa), (0x22ULL + GOFF) << 12, "after INVLPG: PT 0x14");
    /* The mutant keeps them: PT 0x14 stays cached after the PDE went
     * back to PT 0x13. */
    pagesim_mutants = MUT_PWC_KEEP_ON_INVLPG;
    w(0x12 + GOFF, 0, (0x13ULL << 12) | PTE_P | PTE_W | PTE_U | PTE_A);
    tlb_invlpg(t, 1, 0, HI + 0x8000); /* its TLB entry (from above) goes */
    go_va(HI + 0x8000, &r);
    cr_assert_eq(hpa_x(r.hpa), (0x22ULL + GOFF) << 12, "the mutant: still PT 0x14");
    pagesim_mutants = 0;
}

/* Which invalidations drop the PWC entries (APM vol. 2 5.5.2, 15.16). */
Test(tlb, pwc_invalidation_scope)
{
    amd_shared();
    struct mmu_result r;
    struct tlb_pwc_ent l[8];
#define FILL() (go_va(0x8000, &r), tlb_invlpga(t, 1, 0x8000), \
                go_va(0x8000, &r), tlb_pwc_list(t, &cpu, &ept, 1, l, 8))
    cr_assert_eq(FILL(), 3);
    tlb_invlpga(t, 2, 0x8000);
    cr_assert_eq(tlb_pwc_list(t, &cpu, &ept, 1, l, 8), 3, "another ASID's INVLPGA");
    tlb_mov_cr3(t, 1, 0, true);
    cr_assert_eq(tlb_pwc_list(t, &cpu, &ept, 1, l, 8), 3, "no-flush MOV CR3");
    tlb_mov_cr3(t, 1, 0, false);
    cr_assert_eq(tlb_pwc_list(t, &cpu, &ept, 1, l, 8), 0, "MOV CR3");
    cr_assert_eq(FILL(), 3);
    tlb_svm_flush(t, 0, 1);
    cr_assert_eq(tlb_pwc_list(t, &cpu, &ept, 1, l, 8), 3, "TLB_CONTROL 0");
    tlb_svm_flush(t, 7, 1);
    cr_assert_eq(tlb_pwc_list(t, &cpu, &ept, 1, l, 8), 0, "TLB_CONTROL 7");
    cr_assert_eq(FILL(), 3);
    tlb_svm_flush(t, 3, 2);
    cr_assert_eq(tlb_pwc_list(t, &cpu, &ept, 1, l, 8), 3, "TLB_CONTROL 3 of ASID 2");
    tlb_svm_flush(t, 1, 2);
    cr_assert_eq(tlb_pwc_list(t, &cpu, &ept, 1, l, 8), 0, "TLB_CONTROL 1: every ASID");
    cr_assert_eq(FILL(), 3);
    tlb_invept(t, 1, 9);
    cr_assert_eq(tlb_pwc_list(t, &cpu, &ept, 1, l, 8), 3, "INVEPT of another EPTP");
    tlb_invept(t, 2, 0);
    cr_assert_eq(tlb_pwc_list(t, &cpu, &ept, 1, l, 8), 0, "the hypervisor's flush");
    cr_assert_eq(FILL(), 3);
    tlb_invlpga(t, 1, 0x12345000);
    cr_assert_eq(tlb_pwc_list(t, &cpu, &ept, 1, l, 8), 0, "INVLPGA of any address");
    cr_assert(tlb_fast_state_ok(t));
    /* The mutants keep them. */
    cr_assert_eq(FILL(), 3);
    pagesim_mutants = MUT_PWC_KEEP_ON_INVLPGA;
    tlb_invlpga(t, 1, 0x12345000);
    cr_assert_eq(tlb_pwc_list(t, &cpu, &ept, 1, l, 8), 3);
    pagesim_mutants = MUT_PWC_KEEP_ON_TLBCTL;
    tlb_svm_flush(t, 3, 1);
    cr_assert_eq(tlb_pwc_list(t, &cpu, &ept, 1, l, 8), 3);
    pagesim_mutants = 0;
#undef FILL
}

/* Keyed by address, not by prefix: a walk through another PML4 (a CR3
 * change that flushed nothing, as a no-flush MOV CR3 in the same PCID)
 * reaches no cached entry; the prefix-keyed mutant takes the old
 * tables' entries. */
Test(tlb, pwc_keyed_by_address_not_prefix)
{
    const uint64_t a = PTE_P | PTE_W | PTE_U | PTE_A;
    for (int m = 0; m < 2; m++) {
        amd_shared();
        struct mmu_result r;
        go_va(0x8000, &r); /* caches root 0x10's PML4E, PDPTE, PDE */
        /* Page 9: PT 0x13 -> gfn 0x24, PT 0x14 -> gfn 0x23; root 0x15:
         * PML4E -> PDPT 0x16 -> PD 0x17 -> PT 0x14. */
        w(0x13 + GOFF, 9, (0x24ULL << 12) | a | PTE_D);
        w(0x14 + GOFF, 9, (0x23ULL << 12) | a | PTE_D);
        w(0x15 + GOFF, 0, (0x16ULL << 12) | a);
        w(0x16 + GOFF, 0, (0x17ULL << 12) | a);
        w(0x17 + GOFF, 0, (0x14ULL << 12) | a);
        cpu.cr3 = 0x15 << 12;
        pagesim_mutants = m ? MUT_PWC_KEYED_BY_PREFIX : 0;
        go_va(0x9000, &r);
        pagesim_mutants = 0;
        if (!m) {
            cr_assert_eq(hpa_x(r.hpa), (0x23ULL + GOFF) << 12, "root 0x15's tables");
            cr_assert_eq(r.refs, 24, "a full walk: no entry at these addresses");
        } else {
            cr_assert_eq(hpa_x(r.hpa), (0x24ULL + GOFF) << 12, "the mutant: root 0x10's");
        }
        cpu.cr3 = 0x10 << 12;
    }
}

/* The oracle's side: entries keyed by (tags, level, gpa, value). */
Test(tlb, oracle_pwc_set)
{
    struct oracle_tlbset *s = oracle_tlbset_new();
    struct oracle_cpu oc = { .cr0 = cpu.cr0, .cr3 = cpu.cr3, .cr4 = cpu.cr4,
                             .efer = cpu.efer };
    struct oracle_expect x;
    memset(&x, 0, sizeof(x));
    x.final = OR_OK;
    x.r_shift = 12;
    x.npwc = 1;
    x.pwc[0] = (struct oracle_pwc){ 2, 0x12000, 0x13000 | PTE_P | PTE_A };
    struct oracle_pwc q = x.pwc[0];
    oracle_tlbset_note(s, &oc, 1, 1, _gva(VA), &x);
    cr_assert(oracle_tlbset_pwc_allows(s, &oc, 1, 1, &q));
    cr_assert_not(oracle_tlbset_pwc_allows(s, &oc, 2, 1, &q), "another VPID");
    cr_assert_not(oracle_tlbset_pwc_allows(s, &oc, 1, 2, &q), "another EPTP");
    q.val ^= 0x1000;
    cr_assert_not(oracle_tlbset_pwc_allows(s, &oc, 1, 1, &q), "another value");
    q = x.pwc[0];
    q.level = 3;
    cr_assert_not(oracle_tlbset_pwc_allows(s, &oc, 1, 1, &q), "another level");
    q = x.pwc[0];
    /* Keep: INVVPID 0 (no entry address named), a #PF, no-flush MOV CR3,
     * another ASID's INVLPGA / TLB_CONTROL, INVEPT 1 of another EPTP. */
    oracle_tlbset_invvpid(s, 0, 1, VA);
    oracle_tlbset_pf(s, &oc, 1, _gva(VA));
    oracle_tlbset_mov_cr3(s, 1, 0, true);
    oracle_tlbset_invlpga(s, 2, VA);
    oracle_tlbset_tlb_control(s, 3, 2);
    oracle_tlbset_tlb_control(s, 0, 1);
    oracle_tlbset_invept(s, 1, 7);
    cr_assert_eq(oracle_tlbset_pwc_size(s), 1);
    /* Drop: each of these. */
    oracle_tlbset_invlpg(s, 1, 0, 0x12345000);
    cr_assert_eq(oracle_tlbset_pwc_size(s), 0, "INVLPG of any address");
    oracle_tlbset_note(s, &oc, 1, 1, _gva(VA), &x);
    oracle_tlbset_mov_cr3(s, 1, 0, false);
    cr_assert_eq(oracle_tlbset_pwc_size(s), 0, "MOV CR3");
    oracle_tlbset_note(s, &oc, 1, 1, _gva(VA), &x);
    oracle_tlbset_invlpga(s, 1, 0x12345000);
    cr_assert_eq(oracle_tlbset_pwc_size(s), 0, "INVLPGA");
    oracle_tlbset_note(s, &oc, 1, 1, _gva(VA), &x);
    oracle_tlbset_tlb_control(s, 7, 1);
    cr_assert_eq(oracle_tlbset_pwc_size(s), 0, "TLB_CONTROL 7");
    oracle_tlbset_note(s, &oc, 1, 1, _gva(VA), &x);
    oracle_tlbset_invpcid(s, 1, 1, 0, 0);
    cr_assert_eq(oracle_tlbset_pwc_size(s), 0, "INVPCID 1");
    oracle_tlbset_note(s, &oc, 1, 1, _gva(VA), &x);
    oracle_tlbset_invept(s, 1, 1);
    cr_assert_eq(oracle_tlbset_pwc_size(s), 0, "INVEPT 1 of its EPTP");
    /* Not noted from a failed walk. */
    x.final = OR_PF;
    oracle_tlbset_note(s, &oc, 1, 1, _gva(VA), &x);
    cr_assert_eq(oracle_tlbset_pwc_size(s), 0);
    oracle_tlbset_destroy(s);
}

/* ---- EPT paging-structure caches (Intel EPT, guest-physical mappings) ---- */

static struct tlb_result go_w(uint64_t va, struct mmu_result *r)
{
    struct tlb_result tr;
    tlb_access(t, hm, &cpu, &ept, 1, _gva(va), ACC_WRITE, r, &tr);
    return tr;
}

/* Filled from successful EPT walks under the EPTP's root; a stale EPT PDE
 * is used until INVEPT of that EPTP or of all contexts (SDM 29.4.3.1);
 * INVVPID and INVEPT of another EPTP leave it; the mutants keep it. */
Test(tlb, epsc_stale_until_invept_of_its_eptp)
{
    struct mmu_result r;
    struct tlb_epsc_ent l[8];
    const uint64_t rwx = EPT_R | EPT_W | EPT_X;
    two_tables();
    cr_assert_eq(tlb_epsc_list(t, 1, l, 8), 0);
    go(ACC_READ, &r);
    cr_assert_eq(r.outcome, MMU_OK);
    cr_assert_eq(tlb_epsc_list(t, 1, l, 8), 3, "EPT PDE, PDPTE, PML4E");
    cr_assert_eq(l[0].level, 2, "deepest first");
    cr_assert_eq(l[0].table_hpa, 4ULL << 12);
    cr_assert_eq(l[0].gpa_prefix, 0);
    cr_assert_eq(l[0].rights, rwx);
    cr_assert_eq(l[2].level, 4);
    cr_assert_eq(l[2].table_hpa, 2ULL << 12);
    cr_assert_eq(tlb_epsc_list(t, 9, l, 8), 0, "another EPTP");
    /* The EPT PDE made read/execute: the cached one still grants W. */
    w(3, 0, (4ULL << 12) | EPT_R | EPT_X);
    go_w(0x8000, &r);
    cr_assert_eq(r.outcome, MMU_OK, "stale EPT PDE from the cache: allowed");
    cr_assert_eq(r.epsc_saved, 3);
    tlb_invvpid(t, 1, 1, 0);
    cr_assert_eq(tlb_epsc_list(t, 1, l, 8), 3, "INVVPID: linear and combined only");
    tlb_invept(t, 1, 9);
    cr_assert_eq(tlb_epsc_list(t, 1, l, 8), 3, "INVEPT 1 of another EPTP");
    pagesim_mutants = MUT_EPSC_KEEP_ON_INVEPT_SINGLE;
    tlb_invept(t, 1, 1);
    pagesim_mutants = 0;
    cr_assert_eq(tlb_epsc_list(t, 1, l, 8), 3, "the mutant keeps them");
    struct mmu_psc_start ps;
    cr_assert_not(tlb_psc_probe(t, &cpu, &ept, 1, _gva(0x8000), &ps),
                  "the combined mappings went all the same");
    tlb_invept(t, 1, 1);
    cr_assert_eq(tlb_epsc_list(t, 1, l, 8), 0);
    go_w(0x8000, &r);
    cr_assert_eq(r.outcome, MMU_EPT_VIOLATION, "the fresh EPT walk: read-only PDE");
    /* All contexts. */
    w(3, 0, (4ULL << 12) | rwx);
    go(ACC_READ, &r);
    cr_assert_eq(tlb_epsc_list(t, 1, l, 8), 3);
    pagesim_mutants = MUT_EPSC_KEEP_ON_INVEPT_ALL;
    tlb_invept(t, 2, 0);
    pagesim_mutants = 0;
    cr_assert_eq(tlb_epsc_list(t, 1, l, 8), 3, "the mutant keeps them");
    pagesim_mutants = MUT_EPSC_KEEP_ON_INVEPT_ALL;
    tlb_invept(t, 1, 1);
    pagesim_mutants = 0;
    cr_assert_eq(tlb_epsc_list(t, 1, l, 8), 0, "that mutant is for all-context only");
    go(ACC_READ, &r);
    tlb_invept(t, 2, 0);
    cr_assert_eq(tlb_epsc_list(t, 1, l, 8), 0, "INVEPT 2 (the hypervisor's flush)");
}

/* A cached entry holds the R/W/X ANDed from the top (the mutant: its own). */
Test(tlb, epsc_rights_anded_from_the_top)
{
    struct mmu_result r;
    struct tlb_epsc_ent l[8];
    w(2, 0, (3ULL << 12) | EPT_R | EPT_X); /* EPT PDPTE read/execute */
    go(ACC_READ, &r);
    cr_assert_eq(r.outcome, MMU_OK);
    cr_assert_eq(tlb_epsc_list(t, 1, l, 8), 3);
    cr_assert_eq(l[0].rights, EPT_R | EPT_X, "the PDE entry: PDPTE's R/X ANDed in");
    cr_assert_eq(l[2].rights, EPT_R | EPT_W | EPT_X, "the PML4E entry");
    tlb_invept(t, 2, 0);
    pagesim_mutants = MUT_EPSC_OWN_RIGHTS;
    go(ACC_READ, &r);
    pagesim_mutants = 0;
    cr_assert_eq(tlb_epsc_list(t, 1, l, 8), 3);
    cr_assert_eq(l[0].rights, EPT_R | EPT_W | EPT_X, "the mutant: the PDE's own");
}

/* The oracle's side: its raw EPT walk from a start (the entries above not
 * read, nor their A flags set; counted as if made), the entries it
 * reports, and the set's scope for each invalidation. */
Test(tlb, oracle_epsc_starts_and_set)
{
    const unsigned rwx = 7;
    struct oracle_eptp p = { .root_mfn = 1, .levels = 4 };
    struct oracle_ept_result r;
    oracle_ept_xlate(hm, 1024, &p, 0x21000, ACC_WRITE, false, &r);
    cr_assert_eq(r.outcome, OE_OK);
    cr_assert_eq(r.nepsc, 3);
    cr_assert_eq(r.epsc[0].level, 4);
    cr_assert_eq(r.epsc[0].table_hpa, 2ULL << 12);
    cr_assert_eq(r.epsc[2].level, 2);
    cr_assert_eq(r.epsc[2].gpa_prefix, 0);
    cr_assert_eq(r.epsc[2].table_hpa, 4ULL << 12);
    cr_assert_eq(r.epsc[2].rights, rwx);
    /* The EPT PDE made read/execute; a start from the old cached one
     * reads only the EPT PTE, and the write is allowed. */
    w(3, 0, (4ULL << 12) | EPT_R | EPT_X);
    oracle_ept_xlate(hm, 1024, &p, 0x22000, ACC_WRITE, false, &r);
    cr_assert_eq(r.outcome, OE_VIOLATION, "fresh: read-only");
    cr_assert_eq((r.qual >> 3) & 7, 5);
    struct oracle_epsc st[2] = { { 3, 0, 3ULL << 12, rwx }, { 2, 0, 4ULL << 12, rwx } };
    p.starts = st;
    p.nstarts = 2;
    oracle_ept_xlate(hm, 1024, &p, 0x22000, ACC_WRITE, false, &r);
    cr_assert_eq(r.outcome, OE_OK, "from the deepest (stale) start");
    cr_assert_eq(r.hpa, (0x22ULL + GOFF) << 12);
    cr_assert_eq(r.refs, 3 + 1, "3 skipped + the EPT PTE");
    cr_assert_eq(r.nepsc, 0, "no entry above the leaf was read");
    p.nstarts = 1; /* the PDPTE entry alone: the PDE is read again */
    oracle_ept_xlate(hm, 1024, &p, 0x22000, ACC_WRITE, false, &r);
    cr_assert_eq(r.outcome, OE_VIOLATION);
    cr_assert_eq(r.refs, 2 + 2, "2 skipped + the PDE and PTE (rights judged at the leaf)");
    struct oracle_epsc far = { 2, 1, 4ULL << 12, rwx }; /* gpa 2..4 MiB */
    p.starts = &far;
    oracle_ept_xlate(hm, 1024, &p, 0x22000, ACC_WRITE, false, &r);
    cr_assert_eq(r.outcome, OE_VIOLATION, "a start not covering the gpa is not used");
    struct oracle_epsc ro = { 2, 0, 4ULL << 12, EPT_R | EPT_X };
    p.starts = &ro;
    oracle_ept_xlate(hm, 1024, &p, 0x22000, ACC_WRITE, false, &r);
    cr_assert_eq(r.outcome, OE_VIOLATION, "the start's rights count");
    cr_assert_eq((r.qual >> 3) & 7, 5);
    /* EPT A/D: only the entries read get A (the skipped ones not). */
    p.starts = &st[1];
    p.ad = true;
    oracle_ept_xlate(hm, 1024, &p, 0x22000, ACC_WRITE, false, &r);
    cr_assert_eq(r.outcome, OE_OK);
    cr_assert_eq(r.nupd, 1);
    cr_assert_eq(r.upd[0].hpa, (4ULL << 12) + 8 * 0x22);
    cr_assert_eq(r.refs, 3 + 1 + 1, "3 skipped + the PTE + its A/D update");

    /* The set: noted entries allowed per EPTP, dropped by INVEPT of that
     * EPTP or all contexts (and TLB_CONTROL 1), not by INVVPID & co. */
    struct oracle_tlbset *s = oracle_tlbset_new();
    struct oracle_expect x;
    memset(&x, 0, sizeof(x));
    x.final = OR_PF;
    x.nepsc = 1;
    x.epsc_root = 1;
    x.epsc_used[0] = st[1];
    struct oracle_cpu oc = { .cr0 = cpu.cr0, .cr3 = cpu.cr3, .cr4 = cpu.cr4,
                             .efer = cpu.efer };
    oracle_tlbset_note(s, &oc, 1, 1, _gva(VA), &x);
    cr_assert(oracle_tlbset_epsc_allows(s, 1, &st[1]), "noted even when the access faulted");
    cr_assert_not(oracle_tlbset_epsc_allows(s, 2, &st[1]), "another EPTP");
    cr_assert_not(oracle_tlbset_epsc_allows(s, 1, &ro), "other rights");
    oracle_tlbset_invvpid(s, 1, 1, 0);
    oracle_tlbset_invvpid(s, 2, 0, 0);
    oracle_tlbset_invlpg(s, 1, 0, VA);
    oracle_tlbset_mov_cr3(s, 1, 0, false);
    oracle_tlbset_invpcid(s, 1, 2, 0, 0);
    oracle_tlbset_pf(s, &oc, 1, _gva(VA));
    oracle_tlbset_tlb_control(s, 3, 1);
    oracle_tlbset_invept(s, 1, 2);
    cr_assert_eq(oracle_tlbset_epsc_size(s), 1, "none of those names it");
    oracle_tlbset_invept(s, 1, 1);
    cr_assert_eq(oracle_tlbset_epsc_size(s), 0, "INVEPT 1 of its EPTP");
    oracle_tlbset_note(s, &oc, 1, 1, _gva(VA), &x);
    oracle_tlbset_invept(s, 2, 0);
    cr_assert_eq(oracle_tlbset_epsc_size(s), 0, "INVEPT 2");
    oracle_tlbset_note(s, &oc, 1, 1, _gva(VA), &x);
    oracle_tlbset_tlb_control(s, 1, 1);
    cr_assert_eq(oracle_tlbset_epsc_size(s), 0, "TLB_CONTROL 1");
    oracle_tlbset_destroy(s);
}

/* eng_psc_seed()'s check: an entry some CPU holds equals what a walk of
 * the tables now would cache (next table, rights ANDed from the root). */
Test(tlb, oracle_psc_entries_current)
{
    struct oracle_epsc pde = { 2, 0, 4ULL << 12, 7 }, pdpte = { 3, 0, 3ULL << 12, 7 };
    cr_assert(oracle_ept_entry_current(hm, 1024, 1, 4, &pde));
    cr_assert(oracle_ept_entry_current(hm, 1024, 1, 4, &pdpte));
    struct oracle_epsc xu = pde;
    xu.rights |= 8;
    cr_assert_not(oracle_ept_entry_current(hm, 1024, 1, 4, &xu), "no bit 10 in the tables");
    struct oracle_epsc other = { 2, 0, 5ULL << 12, 7 };
    cr_assert_not(oracle_ept_entry_current(hm, 1024, 1, 4, &other), "another table");
    w(2, 0, (3ULL << 12) | EPT_R | EPT_X);
    cr_assert_not(oracle_ept_entry_current(hm, 1024, 1, 4, &pde), "the PDPTE's R/X not ANDed in");
    pde.rights = EPT_R | EPT_X;
    cr_assert(oracle_ept_entry_current(hm, 1024, 1, 4, &pde));
    w(3, 0, (4ULL << 12) | EPT_R | EPT_X | EPT_PS);
    cr_assert_not(oracle_ept_entry_current(hm, 1024, 1, 4, &pde), "a leaf is no PSC entry");
    npt_tables();
    struct oracle_npsc n = { 2, 0, (NROOT + 3) << 12, true, true, false };
    cr_assert(oracle_npt_entry_current(hm, 1024, NROOT, &n));
    n.nx = true;
    cr_assert_not(oracle_npt_entry_current(hm, 1024, NROOT, &n));
    n.nx = false;
    w(NROOT + 1, 0, ((NROOT + 2) << 12) | PTE_P | PTE_U | PTE_A); /* nPDPTE read-only */
    cr_assert_not(oracle_npt_entry_current(hm, 1024, NROOT, &n));
    n.w = false;
    cr_assert(oracle_npt_entry_current(hm, 1024, NROOT, &n));
    /* The set takes such an entry. */
    struct oracle_tlbset *s = oracle_tlbset_new();
    oracle_tlbset_epsc_add(s, 1, &pde);
    oracle_tlbset_npsc_add(s, 1, NROOT, &n);
    cr_assert(oracle_tlbset_epsc_allows(s, 1, &pde));
    cr_assert(oracle_tlbset_npsc_allows(s, 1, NROOT, &n));
    oracle_tlbset_destroy(s);
}
