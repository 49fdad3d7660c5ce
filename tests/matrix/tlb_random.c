/* SPDX-License-Identifier: MIT */
/*
 * tests/matrix/tlb_random.c - TLB conformance by random operation streams.
 *
 * A 4-level guest (two PML4s for two PCIDs sharing their lower tables, 16
 * 4 KiB pages and one 2 MiB page) over a hand-built EPT.  Each seed runs a
 * stream of: accesses (random page, kind, CPL), PTE rewrites *without*
 * invalidation (remap, rights, G, present), PDE rewrites without
 * invalidation (the PD entry of the 16 pages switched between two page
 * tables, its rights changed: stale paging-structure-cache entries), INVLPG, MOV CR3 with PCIDs and
 * the no-flush bit, INVPCID 0-3, INVVPID 0-3, INVEPT, VPID switches, CR0.WP
 * / SMEP / SMAP toggles.  Every access goes through the model's TLBs
 * (tlb_access, Intel profile) and the oracle: a walk must equal the
 * oracle's prediction -- fresh, or from the paging-structure-cache entry
 * the model will start from (tlb_psc_probe), which must be in the oracle's
 * allowed set; a TLB hit must be in the oracle's allowed set
 * (oracle/tlbset.c).  Prints failures as
 *   seed S step N: FAIL: <what>
 * Usage: tlb_random [--seeds N] [--steps N] [--mutant NAME]...
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pagesim/mutant.h"
#include "pagesim/oracle.h"
#include "pagesim/tlb.h"

#define NR_FRAMES 0x1000
#define HOST_OFF 0x10
#define NR_GFNS 0x800
#define EPT_ROOT 1
#define VA0 0x400000ULL /* 16 pages; PT index 0..15 */
#define VA_LARGE 0x600000ULL /* PD index 3: a 2 MiB page at gfn 0x200 */

static struct hostmem *hm;
static struct oracle *orc;
static uint64_t rng;
static unsigned long fails;

static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void w64(uint64_t gfn, unsigned idx, uint64_t v)
{
    hostmem_write64(hm, _hpa(((gfn + HOST_OFF) << 12) + 8 * idx), v);
}

static void build(void)
{
    const uint64_t rwx = EPT_R | EPT_W | EPT_X;
    hostmem_write64(hm, _hpa(1 << 12), (2ULL << 12) | rwx);
    hostmem_write64(hm, _hpa(2 << 12), (3ULL << 12) | rwx);
    for (uint64_t pt = 0; pt < NR_GFNS / 512; pt++)
        hostmem_write64(hm, _hpa((3 << 12) + 8 * pt), ((4 + pt) << 12) | rwx);
    oracle_op_domain_create(orc, 0, NR_GFNS);
    for (uint64_t g = 0; g < NR_GFNS; g++) {
        uint64_t m = g + HOST_OFF;
        hostmem_write64(hm, _hpa(((4 + g / 512) << 12) + 8 * (g % 512)),
                        (m << 12) | (6 << 3) | rwx);
        oracle_op_populate(orc, 0, _gfn(g), _mfn(m), false);
    }
    const uint64_t tbl = PTE_P | PTE_W | PTE_U;
    w64(0x10, 0, (0x12ULL << 12) | tbl); /* PML4 A */
    w64(0x11, 0, (0x12ULL << 12) | tbl); /* PML4 B */
    w64(0x12, 0, (0x13ULL << 12) | tbl); /* PDPT */
    w64(0x13, 2, (0x14ULL << 12) | tbl); /* PD[2] -> PT */
    w64(0x13, 3, (0x200ULL << 12) | tbl | PTE_PS | PTE_G); /* 2 MiB */
    for (unsigned i = 0; i < 16; i++) {
        w64(0x14, i, ((0x100ULL + i) << 12) | tbl);
        w64(0x15, i, ((0x180ULL + i) << 12) | tbl); /* the other PT */
    }
}

/* The PDE of the 16 pages: PT 0x14 or 0x15, rights varied. */
static void rewrite_pde(void)
{
    uint64_t pt = rnd() % 2 ? 0x14 : 0x15;
    uint64_t flags = PTE_P | (rnd() % 4 ? PTE_W : 0) | (rnd() % 4 ? PTE_U : 0)
                     | (rnd() % 8 == 0 ? PTE_NX : 0);
    w64(0x13, 2, (pt << 12) | flags);
}

static void rewrite_pte(void)
{
    unsigned i = rnd() % 17;
    uint64_t flags = PTE_P | (rnd() & 1 ? PTE_W : 0) | (rnd() & 1 ? PTE_U : 0)
                     | (rnd() % 4 == 0 ? PTE_G : 0) | (rnd() % 4 == 0 ? PTE_NX : 0);
    if (rnd() % 8 == 0)
        flags &= ~PTE_P;
    if (i == 16) {
        uint64_t g = 0x200 + 512 * (rnd() % 2);
        w64(0x13, 3, (g << 12) | flags | PTE_PS);
    } else {
        w64(0x14, i, ((0x100 + rnd() % 0x80) << 12) | flags);
    }
}

static uint64_t pick_va(void)
{
    unsigned i = rnd() % 17;
    if (i == 16)
        return VA_LARGE + (rnd() % 512) * 4096 + 8 * (rnd() % 512);
    return VA0 + i * 4096 + 8 * (rnd() % 512);
}

static void run_seed(unsigned seed, unsigned steps, uint64_t *hits,
                     uint64_t *walks)
{
    rng = 0x9E3779B97F4A7C15ULL ^ (seed * 0x100000001B3ULL) ^ 1;
    build();
    struct mmu_tlb *t = tlb_new(&cpu_profile_intel);
    struct oracle_tlbset *set = oracle_tlbset_new();
    struct mmu_ept ept = { .root = { EPT_ROOT } };
    struct mmu_cpu cpu = {
        .cr0 = X86_CR0_PG | X86_CR0_WP | 1, .cr3 = (0x10ULL << 12) | 1,
        .cr4 = X86_CR4_PAE | X86_CR4_PGE | X86_CR4_PCIDE,
        .efer = X86_EFER_LME | X86_EFER_LMA | X86_EFER_NXE, .maxphyaddr = 46,
    };
    uint16_t vpid = 1;
    for (unsigned n = 0; n < steps; n++) {
        unsigned op = rnd() % 100;
        struct oracle_cpu oc = { .cr0 = cpu.cr0, .cr3 = cpu.cr3, .cr4 = cpu.cr4,
                                 .efer = cpu.efer, .cpl = cpu.cpl,
                                 .rflags = cpu.rflags, .pkru = cpu.pkru,
                                 .pkrs = cpu.pkrs, .maxphyaddr = cpu.maxphyaddr,
                                 .implicit = cpu.implicit };
        uint16_t pcid = tlb_pcid_of(&cpu);
        if (op < 60) {
            uint64_t va = pick_va();
            enum access_kind k = (enum access_kind)(rnd() % 3);
            cpu.cpl = oc.cpl = rnd() % 2 ? 3 : 0;
            struct oracle_expect x;
            struct mmu_psc_start ps;
            struct oracle_psc op, *opp = NULL;
            if (!tlb_probe(t, &cpu, &ept, vpid, _gva(va), k)
                && tlb_psc_probe(t, &cpu, &ept, vpid, _gva(va), &ps)) {
                op = (struct oracle_psc){ (unsigned)ps.level, ps.table_gpa,
                                          ps.table_hpa, (ps.rights & PTE_U) != 0,
                                          (ps.rights & PTE_W) != 0,
                                          (ps.rights & PTE_NX) != 0 };
                if (oracle_tlbset_psc_allows(set, &oc, vpid, EPT_ROOT, _gva(va), &op))
                    opp = &op;
                else if (++fails <= 20)
                    printf("seed %u step %u: FAIL: walk of %#" PRIx64
                           " would start from a level-%d PSC entry (table %#"
                           PRIx64 ") that must be invalidated\n", seed, n, va,
                           ps.level, ps.table_gpa);
            }
            oracle_access_psc(orc, 0, &oc, hm, _gva(va), k, 8, opp, &x);
            struct mmu_result r;
            struct tlb_result tr;
            tlb_access(t, hm, &cpu, &ept, vpid, _gva(va), k, &r, &tr);
            bool ok = r.outcome == MMU_OK;
            bool fresh = (ok && x.final == OR_OK && hpa_x(r.hpa) == hpa_x(x.hpa))
                         || (r.outcome == MMU_PF && x.final == OR_PF
                             && r.pf_ec == x.pf_ec);
            if (tr.level == TLB_WALK && fresh && x.refs_valid && r.refs != x.refs
                && ++fails <= 20)
                printf("seed %u step %u: FAIL: walk of %#" PRIx64 " made %u "
                       "references, expected %u\n", seed, n, va, r.refs, x.refs);
            if (tr.level == TLB_WALK) {
                (*walks)++;
                if (!fresh && ++fails <= 20)
                    printf("seed %u step %u: FAIL: walk of %#" PRIx64
                           " gave outcome %d ec %x hpa %#" PRIx64
                           ", expected final %d ec %x hpa %#" PRIx64 "\n",
                           seed, n, va, r.outcome, r.pf_ec, hpa_x(r.hpa),
                           x.final, x.pf_ec, hpa_x(x.hpa));
            } else {
                (*hits)++;
                if (!fresh && !oracle_tlbset_allows(set, &oc, vpid, EPT_ROOT,
                                                    _gva(va), k, ok, r.hpa,
                                                    r.pf_ec)
                    && ++fails <= 20)
                    printf("seed %u step %u: FAIL: TLB hit for %#" PRIx64
                           " (vpid %u pcid %u) gave outcome %d ec %x hpa %#"
                           PRIx64 ", not an allowed translation\n", seed, n, va,
                           vpid, pcid, r.outcome, r.pf_ec, hpa_x(r.hpa));
            }
            oracle_tlbset_note(set, &oc, vpid, EPT_ROOT, _gva(va), &x);
            if (r.outcome == MMU_PF)
                oracle_tlbset_pf(set, &oc, vpid, _gva(va));
        } else if (op < 72) {
            rewrite_pte();
        } else if (op < 75) {
            rewrite_pde();
        } else if (op < 82) {
            uint64_t va = pick_va();
            tlb_invlpg(t, vpid, pcid, va);
            oracle_tlbset_invlpg(set, vpid, pcid, va);
        } else if (op < 88) {
            uint16_t np = 1 + rnd() % 2;
            bool nf = rnd() % 2;
            cpu.cr3 = ((0x10ULL + np - 1) << 12) | np | (nf ? 1ULL << 63 : 0);
            tlb_mov_cr3(t, vpid, np, nf);
            oracle_tlbset_mov_cr3(set, vpid, np, nf);
            cpu.cr3 &= ~(1ULL << 63); /* bit 63 is not stored */
        } else if (op < 91) {
            unsigned ty = rnd() % 4;
            uint16_t p = 1 + rnd() % 2;
            uint64_t va = pick_va();
            tlb_invpcid(t, vpid, ty, p, va);
            oracle_tlbset_invpcid(set, vpid, ty, p, va);
        } else if (op < 94) {
            unsigned ty = rnd() % 4;
            uint16_t v = 1 + rnd() % 2;
            uint64_t va = pick_va();
            tlb_invvpid(t, ty, v, va);
            oracle_tlbset_invvpid(set, ty, v, va);
        } else if (op < 95) {
            unsigned ty = 1 + rnd() % 2;
            tlb_invept(t, ty, EPT_ROOT);
            oracle_tlbset_invept(set, ty, EPT_ROOT);
        } else if (op < 97) {
            vpid = 1 + rnd() % 2;
        } else {
            static const uint64_t bits[] = { X86_CR4_SMEP, X86_CR4_SMAP };
            if (rnd() % 3 == 0)
                cpu.cr0 ^= X86_CR0_WP;
            else
                cpu.cr4 ^= bits[rnd() % 2];
        }
    }
    tlb_destroy(t);
    oracle_tlbset_destroy(set);
}

int main(int argc, char **argv)
{
    unsigned seeds = 200, steps = 2000;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--seeds") && i + 1 < argc) {
            seeds = (unsigned)atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--steps") && i + 1 < argc) {
            steps = (unsigned)atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--mutant") && i + 1 < argc) {
            mutset_t m = mutant_from_name(argv[++i]);
            if (!m) {
                fprintf(stderr, "tlb_random: unknown mutant '%s'\n", argv[i]);
                return 2;
            }
            pagesim_mutants |= m;
        } else {
            fprintf(stderr, "usage: tlb_random [--seeds N] [--steps N] [--mutant NAME]...\n");
            return 2;
        }
    }
    uint64_t hits = 0, walks = 0;
    for (unsigned s = 0; s < seeds; s++) {
        hm = hostmem_new(NR_FRAMES);
        orc = oracle_new(NR_FRAMES);
        if (!hm || !orc)
            return 2;
        run_seed(s, steps, &hits, &walks);
        oracle_destroy(orc);
        hostmem_destroy(hm);
    }
    printf("matrix: tlb %u seeds x %u steps: %" PRIu64 " TLB hits, %" PRIu64
           " walks checked, %lu failures\n", seeds, steps, hits, walks, fails);
    return fails ? 1 : 0;
}
