/* SPDX-License-Identifier: MIT */
/*
 * oracle/walk.c - the oracle's prediction of one guest access
 * (docs/translation-rules.md; SDM Vol. 3A 4.5-4.8, Vol. 3C 29.3).
 *
 * The guest's 4-level tables are read from host memory, but every
 * guest-physical address -- each paging-structure entry's and the final
 * one -- is translated through the flat P2M and oracle_type_perms(), i.e.
 * through the EPT the sim *should* have written (tables r=w=x, leaf per
 * ept_p2m_type_to_flags()).  Consequences of that choice:
 *   - a present translation always costs 4 EPT references;
 *   - exit qualification bits 5:3 are the leaf's r/w/x (tables are rwx, a
 *     not-present walk gives 0 wherever it stopped);
 *   - how many EPT entries a failing walk read depends on which tables the
 *     sim happened to allocate, so refs are predicted only for attempts that
 *     complete or end in #PF (oracle_expect.refs_valid).
 *
 * Around the attempts, the hypervisor's hvm_hap_nested_page_fault() as the
 * skeleton implements it: a write violation on ram_logdirty marks the gfn
 * dirty, makes it ram_rw and retries; a violation on mmio_dm (or nothing
 * mapped) goes to the device model; anything else crashes the domain.
 *
 * Memory is never modified: A/D results are predicted into out->ad[].
 */
#include <string.h>

#include "oracle_priv.h"

/* What the ideal EPT says for one gpa. */
struct xlate {
    unsigned perm; /* leaf r/w/x; 0 = not present */
    uint64_t hpa;
};

static void ideal_xlate(const struct oracle_dom *od, uint64_t gpa,
                      struct xlate *x)
{
    /* The 4-level EPT indexes gpa bits 47:12 only. */
    uint64_t g = (gpa >> PAGE_SHIFT) & ORACLE_EPT_GFN_MASK;
    x->perm = 0;
    x->hpa = 0;
    if (g >= od->max_gfn)
        return;
    x->perm = oracle_type_perms(od->type[g]);
    /* A type with permissions but no frame cannot be written by Xen
     * (ept_set_entry leaves the entry 0); treat it as not present. */
    if (od->mfn[g] == mfn_x(INVALID_MFN))
        x->perm = 0;
    x->hpa = (od->mfn[g] << PAGE_SHIFT) | (gpa & ~PAGE_MASK);
}

/* Exit qualification (SDM Table 28-7), translation-rules.md "EPT walk". */
static uint64_t exit_qual(uint64_t kind_bit, unsigned perm, bool final)
{
    return kind_bit | ((uint64_t)perm << 3) | EPTQ_GLA_VALID |
           (final ? EPTQ_GLA_XLATE : 0);
}

enum attempt_end { AT_OK, AT_PF, AT_EXIT };

struct gentry {
    uint64_t gpa, hpa, val;
    unsigned eperm; /* EPT r/w/x of the entry's page */
};

struct attempt {
    enum attempt_end end;
    unsigned refs;
    struct gentry ent[4]; /* PML4E .. PTE */
    uint64_t gpa, hpa;    /* AT_OK */
    uint32_t pf_ec;       /* AT_PF */
    uint64_t qual, xgpa;  /* AT_EXIT */
    bool need_ad[4];
};

static void attempt(const struct oracle_dom *od, const struct oracle_cpu *cpu,
                    const struct hostmem *mem, uint64_t nr_frames, uint64_t va,
                    enum access_kind k, struct attempt *a)
{
    bool user = cpu->cpl == 3, write = k == ACC_WRITE, fetch = k == ACC_FETCH;
    bool nxe = cpu->efer & X86_EFER_NXE;
    uint64_t table = cpu->cr3 & PTE_ADDR_MASK;
    bool all_u = true, all_w = true, any_nx = false;
    struct xlate x;

    memset(a, 0, sizeof(*a));
    /* #PF error code bits that do not depend on the fault (SDM 4.7). */
    uint32_t ec = (write ? PFEC_W : 0) | (user ? PFEC_U : 0) |
                  (fetch && nxe ? PFEC_ID : 0);

    for (unsigned lvl = 0; lvl < 4; lvl++) {
        uint64_t idx = (va >> (39 - 9 * lvl)) & 511;
        uint64_t egpa = table + 8 * idx;
        /* The entry's gpa goes through the EPT as a read, walk semantics. */
        ideal_xlate(od, egpa, &x);
        if (!(x.perm & EPT_R)) {
            a->end = AT_EXIT;
            a->qual = exit_qual(EPTQ_READ, x.perm, false);
            a->xgpa = egpa;
            return;
        }
        a->refs += 4 + 1; /* its EPT walk, then the entry itself */
        uint64_t e = oracle_peek64(mem, nr_frames, x.hpa);
        a->ent[lvl] = (struct gentry){ egpa, x.hpa, e, x.perm };
        if (!(e & PTE_P)) {
            a->end = AT_PF;
            a->pf_ec = ec;
            return;
        }
        all_u &= !!(e & PTE_U);
        all_w &= !!(e & PTE_W);
        any_nx |= !!(e & PTE_NX);
        /* PS in a PDPTE/PDE is ignored in the skeleton: always a table. */
        table = e & PTE_ADDR_MASK;
    }

    /* Protection checks, in the order of translation-rules.md. */
    bool prot = false;
    if (user && !all_u)
        prot = true;
    else if (write && !all_w && (user || (cpu->cr0 & X86_CR0_WP)))
        prot = true;
    else if (fetch && nxe && any_nx)
        prot = true;
    if (prot) {
        a->end = AT_PF;
        a->pf_ec = ec | PFEC_P;
        return;
    }

    /* The final gpa, with the access's own kind. */
    uint64_t gpa = table | (va & ~PAGE_MASK);
    static const uint64_t kind_bit[] = { EPTQ_READ, EPTQ_WRITE, EPTQ_FETCH };
    static const unsigned need[] = { EPT_R, EPT_W, EPT_X };
    ideal_xlate(od, gpa, &x);
    if (!(x.perm & need[k])) {
        a->end = AT_EXIT;
        a->qual = exit_qual(kind_bit[k], x.perm, true);
        a->xgpa = gpa;
        return;
    }
    a->refs += 4;
    a->gpa = gpa;
    a->hpa = x.hpa;

    /* A/D (SDM 4.8) are EPT writes to the paging-structure pages
     * (SDM 29.3.3.2): every update must be allowed before any is made. */
    for (unsigned lvl = 0; lvl < 4; lvl++) {
        const struct gentry *g = &a->ent[lvl];
        a->need_ad[lvl] = !(g->val & PTE_A) ||
                          (lvl == 3 && write && !(g->val & PTE_D));
        if (a->need_ad[lvl] && !(g->eperm & EPT_W)) {
            a->end = AT_EXIT;
            a->qual = exit_qual(EPTQ_WRITE, g->eperm, false);
            a->xgpa = g->gpa;
            return;
        }
    }
    for (unsigned lvl = 0; lvl < 4; lvl++)
        a->refs += a->need_ad[lvl];
    a->end = AT_OK;
}

/* Bits an A/D update adds to entry lvl. */
static uint64_t ad_bits(const struct attempt *a, unsigned lvl, bool write)
{
    if (!a->need_ad[lvl])
        return 0;
    return PTE_A | (lvl == 3 && write ? PTE_D : 0);
}

static void predict_ok(const struct attempt *a, const struct hostmem *mem,
                       uint64_t nr_frames, enum access_kind k, unsigned width,
                       struct oracle_expect *out)
{
    bool write = k == ACC_WRITE;
    out->final = OR_OK;
    out->gpa = _gpa(a->gpa);
    out->hpa = _hpa(a->hpa);
    /* Each entry after the update; an entry reached at several levels (a
     * recursive mapping) collects the bits of all of them. */
    out->nad = 4;
    for (unsigned i = 0; i < 4; i++) {
        uint64_t v = a->ent[i].val;
        for (unsigned j = 0; j < 4; j++)
            if (a->ent[j].hpa == a->ent[i].hpa)
                v |= ad_bits(a, j, write);
        out->ad[i].hpa = _hpa(a->ent[i].hpa);
        out->ad[i].value = v;
    }
    if (write)
        return;
    /* The value read, as memory stands after the A/D updates (the model
     * sets them before reading). */
    uint64_t val = 0;
    for (unsigned b = 0; b < width && b < 8; b++) {
        uint64_t hpa = a->hpa + b;
        uint64_t word = oracle_peek64(mem, nr_frames, hpa & ~7ULL);
        for (unsigned i = 0; i < 4; i++)
            if (hpa_x(out->ad[i].hpa) == (hpa & ~7ULL))
                word = out->ad[i].value;
        val |= ((word >> (8 * (hpa & 7))) & 0xFF) << (8 * b);
    }
    out->value = val;
}

void oracle_access(struct oracle *o, domid_t d, const struct oracle_cpu *cpu,
                   const struct hostmem *mem, gva_t va, enum access_kind k,
                   unsigned width, struct oracle_expect *out)
{
    struct oracle_dom *od = oracle_dom_find(o, d);
    memset(out, 0, sizeof(*out));
    out->final = OR_CRASH;
    if (!od)
        return;
    /* A vCPU that is paused or asleep does not run (oracle/paging.c). */
    if (o->cur_vcpu < SIM_MAX_VCPUS && od->vstate[o->cur_vcpu] != VCPU_RUNNABLE) {
        out->final = od->vstate[o->cur_vcpu] == VCPU_PAUSED_PAGER ? OR_PAUSED
                                                                  : OR_BLOCKED;
        return;
    }

    for (unsigned n = 0; n < ORACLE_MAX_EXITS; n++) {
        struct attempt a;
        attempt(od, cpu, mem, o->nr_frames, gva_x(va), k, &a);
        if (a.end == AT_OK) {
            predict_ok(&a, mem, o->nr_frames, k, width, out);
            out->refs = a.refs;
            out->refs_valid = true;
            return;
        }
        if (a.end == AT_PF) {
            out->final = OR_PF;
            out->pf_ec = a.pf_ec;
            out->cr2 = va;
            out->refs = a.refs;
            out->refs_valid = true;
            return;
        }
        struct oracle_exit *x = &out->exits[out->nexits++];
        x->kind = OR_EXIT_EPT_VIOLATION;
        x->qual = a.qual;
        x->gpa = _gpa(a.xgpa);
        x->gla = va;

        /* hvm_hap_nested_page_fault(): the hypervisor looks the full gpa up
         * in its P2M (beyond max_gfn: nothing, reads as mmio_dm). */
        uint64_t g = a.xgpa >> PAGE_SHIFT;
        unsigned t = g < od->max_gfn ? od->type[g] : p2m_mmio_dm;
        /* Paged out: populate for this vCPU (oracle/paging.c); a gfn
         * being paged in just faults again until prep. */
        if (t == p2m_ram_paged || t == p2m_ram_paging_out) {
            int f = oracle_populate(od, g, o->cur_vcpu);
            if (f == OR_OK)
                continue;
            out->final = (enum oracle_final)f;
            return;
        }
        if (t == p2m_ram_paging_in) {
            out->final = OR_BLOCKED;
            return;
        }
        /* A write to read-only RAM is emulated and dropped. */
        if ((a.qual & EPTQ_WRITE) && t == p2m_ram_ro) {
            out->final = OR_DISCARD;
            out->gpa = _gpa(a.xgpa);
            return;
        }
        if ((a.qual & EPTQ_WRITE) && t == p2m_ram_logdirty) {
            /* paging_mark_pfn_dirty() + p2m_change_type_one(logdirty->rw),
             * then the vCPU re-executes the access. */
            oracle_mark(od, g, true);
            od->type[g] = p2m_ram_rw;
            continue;
        }
        if (t == p2m_mmio_dm || t == p2m_invalid) {
            out->final = OR_MMIO;
            out->gpa = _gpa(a.xgpa);
            /* No device model: reads float high. */
            out->value = k == ACC_READ
                             ? (width >= 8 ? ~0ULL : (1ULL << (8 * width)) - 1)
                             : 0;
            return;
        }
        return; /* OR_CRASH: domain_crash() */
    }
    /* Every attempt exited: the vCPU livelocks; the engine calls it a crash. */
}
