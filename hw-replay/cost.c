/* SPDX-License-Identifier: MIT */
/*
 * hw-replay/cost.c - what the model predicts a calibration loop costs.
 *
 * The calibration sweep (replay.c) runs CPL3 loops on KVM: one access per
 * page over a working set of npages (from GVA 0x40000000, 4 KiB pages, A/D
 * set by a warm-up pass), sequential or in the order idx = 5 * idx + 1 mod
 * npages.  Here the same loop runs through the model's TLBs and cycle cost
 * model (model/tlb.c, a CPU profile of model/profiles.c) over a world built
 * directly in host memory: a 4-level guest over a 4-level EPT (the 2D walk
 * of a guest under hardware-assisted paging), gfn g at mfn g + MFN_OFF.
 * The warm-up pass is run too and left out of the figures, as the stub
 * leaves it out of its TSC window.
 */
#include <stdio.h>
#include <string.h>

#include "hwreplay.h"
#include "pagesim/hostmem.h"
#include "pagesim/tlb.h"

#define LOOP_VA   0x40000000ULL   /* the stub's loop_domain() mapping */
#define EPT_ROOT  1ULL            /* EPT tables from mfn 1 */
#define MFN_OFF   0x1000ULL       /* room for the EPT tables below */

struct world {
    struct hostmem *hm;
    uint64_t ept_next, pt_next, pt_root;
};

static uint64_t rd(struct world *w, uint64_t hpa)
{
    uint64_t v = 0;
    hostmem_read64(w->hm, _hpa(hpa), &v);
    return v;
}

/* EPT: gfn -> gfn + MFN_OFF, 4 KiB, RWX, write-back (SDM 28.3.2). */
static int ept_map(struct world *w, uint64_t gfn)
{
    uint64_t table = EPT_ROOT << 12;
    for (int l = 4; l > 1; l--) {
        uint64_t ea = table + 8 * ((gfn >> (9 * (l - 1))) & 511);
        uint64_t e = rd(w, ea);
        if (!e) {
            if (++w->ept_next >= MFN_OFF)
                return -1;
            e = (w->ept_next << 12) | EPT_R | EPT_W | EPT_X;
            hostmem_write64(w->hm, _hpa(ea), e);
        }
        table = e & EPT_ADDR_MASK;
    }
    hostmem_write64(w->hm, _hpa(table + 8 * (gfn & 511)),
                    ((gfn + MFN_OFF) << 12) | EPT_R | EPT_W | EPT_X | (6ULL << 3));
    return 0;
}

/* Guest: va -> gfn, U/W, A and D already set (the warm-up's doing). */
static int guest_map(struct world *w, uint64_t va, uint64_t gfn)
{
    const uint64_t f = PTE_P | PTE_W | PTE_U | PTE_A;
    uint64_t table = w->pt_root << 12;
    for (int l = 4; l > 1; l--) {
        uint64_t ea = (((table >> 12) + MFN_OFF) << 12) | (8 * ((va >> (12 + 9 * (l - 1))) & 511));
        uint64_t e = rd(w, ea);
        if (!e) {
            uint64_t g = ++w->pt_next;
            if (ept_map(w, g) < 0)
                return -1;
            e = (g << 12) | f;
            hostmem_write64(w->hm, _hpa(ea), e);
        }
        table = e & PTE_ADDR_MASK;
    }
    hostmem_write64(w->hm, _hpa((((table >> 12) + MFN_OFF) << 12) | (8 * ((va >> 12) & 511))),
                    (gfn << 12) | f | PTE_D);
    return 0;
}

int hw_model_cost(const struct cpu_profile *p, uint64_t npages, uint64_t n, bool write,
                  bool lcg, struct hw_cost *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (!npages || (npages & (npages - 1)) || npages > (1ULL << 18) || !n) {
        snprintf(err, errlen, "working set of %llu pages: need a power of two up to "
                 "262144, and n > 0", (unsigned long long)npages);
        return -1;
    }
    /* data gfns 0..npages-1, then the guest tables */
    struct world w = { .ept_next = EPT_ROOT, .pt_root = npages, .pt_next = npages };
    w.hm = hostmem_new(MFN_OFF + npages + 1024);
    if (!w.hm) {
        snprintf(err, errlen, "out of memory for a %llu-page world",
                 (unsigned long long)npages);
        return -1;
    }
    int rc = ept_map(&w, w.pt_root);
    for (uint64_t g = 0; rc == 0 && g < npages; g++)
        rc = ept_map(&w, g) | guest_map(&w, LOOP_VA + (g << 12), g);
    if (rc) {
        snprintf(err, errlen, "EPT table frames exhausted");
        hostmem_destroy(w.hm);
        return -1;
    }
    struct mmu_cpu cpu = {
        .cr0 = X86_CR0_PG | X86_CR0_WP | 1, .cr3 = w.pt_root << 12,
        .cr4 = X86_CR4_PAE, .efer = X86_EFER_LME | X86_EFER_LMA | X86_EFER_NXE,
        .cpl = 3, .maxphyaddr = p->maxphyaddr,
    };
    struct mmu_ept ept = { .root = _mfn(EPT_ROOT) };
    struct mmu_tlb *t = tlb_new(p);
    if (!t) {
        snprintf(err, errlen, "out of memory for the TLBs");
        hostmem_destroy(w.hm);
        return -1;
    }
    enum access_kind k = write ? ACC_WRITE : ACC_READ;
    struct mmu_result r;
    struct tlb_result tr;
    uint64_t bad = 0;
    for (uint64_t i = 0; i < npages; i++) { /* warm-up, as the stub does */
        tlb_access(t, w.hm, &cpu, &ept, 1, _gva(LOOP_VA + (i << 12)), k, &r, &tr);
        bad += r.outcome != MMU_OK;
    }
    struct tlb_stats s0, s1;
    tlb_stats(t, &s0);
    uint64_t idx = 0;
    for (uint64_t i = 0; i < n; i++) {
        tlb_access(t, w.hm, &cpu, &ept, 1, _gva(LOOP_VA + (idx << 12)), k, &r, &tr);
        bad += r.outcome != MMU_OK;
        idx = (lcg ? 5 * idx + 1 : idx + 1) & (npages - 1);
    }
    tlb_stats(t, &s1);
    tlb_destroy(t);
    hostmem_destroy(w.hm);
    if (bad) {
        snprintf(err, errlen, "%llu model accesses did not translate",
                 (unsigned long long)bad);
        return -1;
    }
    out->cycles = (double)(s1.cycles - s0.cycles) / (double)n;
    out->refs = (double)(s1.walk_refs - s0.walk_refs) / (double)n;
    out->walks = (double)(s1.walks - s0.walks) / (double)n;
    return 0;
}
