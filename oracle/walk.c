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
 *   - a present translation costs 4 EPT references, 3 through a 2 MiB
 *     leaf, 2 through a 1 GiB leaf (the flat model's per-gfn order);
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
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "oracle_priv.h"

/* One nested translation, as the oracle predicts it. */
struct xlate {
    bool ok;
    int xkind;      /* !ok: enum oracle_exit_kind */
    uint64_t qual;  /* !ok, violation: exit qualification */
    unsigned perm;  /* r/w/x of the path (bits 2:0) */
    uint64_t hpa;
    unsigned refs;  /* EPT entries read and written */
    unsigned memtype, shift;
    bool ipat;
};

static void ideal_perm(const struct oracle_dom *od, uint64_t gpa,
                       unsigned *perm, uint64_t *hpa)
{
    /* The 4-level EPT indexes gpa bits 47:12 only. */
    uint64_t g = (gpa >> PAGE_SHIFT) & ORACLE_EPT_GFN_MASK;
    *perm = 0;
    *hpa = 0;
    if (g >= od->max_gfn)
        return;
    /* The type's permissions restricted by the gfn's access type (and no
     * w for ioreq_server entries of a write-claiming server). */
    *perm = oracle_gfn_perms(od, g);
    /* A type with permissions but no frame cannot be written by Xen
     * (ept_set_entry leaves the entry 0); treat it as not present. */
    if (od_mfn(od, g) == mfn_x(INVALID_MFN))
        *perm = 0;
    *hpa = (od_mfn(od, g) << PAGE_SHIFT) | (gpa & ~PAGE_MASK);
}

/* SDM 29.3.3.1: a present leaf that allows writes but not reads is an EPT
 * misconfiguration -- what the access types w and wx give a writable type
 * (Xen's ept_p2m_type_to_flags() does not prevent it). */
static bool ideal_misconfig(unsigned perm)
{
    return (perm & EPT_W) && !(perm & EPT_R);
}

/* The order (0, 9, 18) of the entry the ideal EPT maps gpa with. */
static unsigned ideal_order(const struct oracle_dom *od, uint64_t gpa)
{
    return od_order(od, (gpa >> PAGE_SHIFT) & ORACLE_EPT_GFN_MASK);
}

/* Exit qualification (SDM Table 28-7), translation-rules.md "EPT walk". */
static uint64_t exit_qual(uint64_t kind_bit, unsigned perm, bool final)
{
    return kind_bit | ((uint64_t)perm << 3) | EPTQ_GLA_VALID |
           (final ? EPTQ_GLA_XLATE : 0);
}

/* Does this domain's prediction walk the sim's EPT with the raw walker? */
static bool use_raw(const struct oracle_dom *od, const struct oracle_cpu *cpu)
{
    return od->raw_walk || cpu->mbec;
}

/* NPT: is gfn's path still marked for recalculation at this point of the
 * access (marked in the sim's tables before it, and not recalculated or
 * rewritten by an exit of it since)? */
static bool npt_recalc_due(const struct oracle_dom *od, const struct hostmem *mem,
                           uint64_t nr_frames, uint64_t g)
{
    for (unsigned i = 0; i < od->npt_nrc; i++)
        if (g >= od->npt_rc_lo[i] && g <= od->npt_rc_hi[i])
            return false;
    return oracle_npt_recalc_pending(mem, nr_frames, od->root_mfn,
                                     g & ORACLE_EPT_GFN_MASK);
}

/*
 * The nested translation of gpa for an access of kind k ('paging': a guest
 * paging-structure access; user_la: the linear address is user-mode, for
 * MBEC).  Two ways:
 *   - ideal: through the flat P2M and oracle_gfn_perms() (type, access),
 *     i.e. the EPT the sim *should* have written (tables r=w=x, leaves of
 *     the gfn's order, WB, 4 refs for 4 KiB, 3 for 2 MiB, 2 for 1 GiB);
 *   - raw (use_raw()): the oracle's own EPT walker over the sim's tables,
 *     reading through the overlay ov of A/D updates this access made, and
 *     adding its own updates to it.
 */
static void nested(struct oracle_dom *od, const struct oracle_cpu *cpu,
                   const struct hostmem *mem, uint64_t nr_frames,
                   struct oracle_ovl *ov, uint64_t gpa, enum access_kind k,
                   bool paging, bool user_la, struct xlate *x)
{
    static const uint64_t kind_bit[] = { EPTQ_READ, EPTQ_WRITE, EPTQ_FETCH };
    static const unsigned need[] = { EPT_R, EPT_W, EPT_X };
    memset(x, 0, sizeof(*x));
    if (!use_raw(od, cpu)) {
        ideal_perm(od, gpa, &x->perm, &x->hpa);
        unsigned order = ideal_order(od, gpa);
        x->ok = (x->perm & need[k]) != 0 && !ideal_misconfig(x->perm);
        x->xkind = ideal_misconfig(x->perm) ? OR_EXIT_EPT_MISCONFIG
                                            : OR_EXIT_EPT_VIOLATION;
        x->qual = exit_qual(kind_bit[k], x->perm, !paging);
        if (od->npt) {
            /* AMD NPT (APM 15.25.6): a #NPF whose EXITINFO1 is the #PF
             * error code of the nested access -- U always (nested accesses
             * are user accesses), W for a write, I/D for a fetch (the host
             * runs with EFER.NXE), P when the leaf was present (a type
             * with any permission: the others are written not present,
             * whatever level the walk stopped at) -- and bit 32 (final
             * gpa) or 33 (guest page-table access).  No misconfiguration:
             * a present leaf always has R. */
            x->ok = (x->perm & need[k]) != 0;
            x->xkind = OR_EXIT_NPF;
            x->qual = PFEC_U | (k == ACC_WRITE ? PFEC_W : 0) |
                      (k == ACC_FETCH ? PFEC_ID : 0) | (x->perm ? PFEC_P : 0) |
                      (paging ? NPF_GPT : NPF_FINAL);
            /* A deferred global type change still marked on the path (U
             * clear above or at the present leaf): the user-mode nested
             * access faults on it, P set, whatever the leaf allows; the
             * hypervisor recalculates and the access is retried. */
            if (x->perm && npt_recalc_due(od, mem, nr_frames, gpa >> PAGE_SHIFT)) {
                x->ok = false;
                x->qual |= PFEC_P;
            }
        }
        /* EPT entries read: 4, 3 for a 2 MiB leaf, 2 for a 1 GiB one. */
        x->refs = 4 - order / 9;
        x->memtype = EPT_MT_WB;
        /* A direct-MMIO device frame: UC, ignore PAT (epte_get_entry_emt()
         * for a frame that is not RAM). */
        uint64_t g = (gpa >> PAGE_SHIFT) & ORACLE_EPT_GFN_MASK;
        if (g < od->max_gfn && od_type(od, g) == p2m_mmio_direct) {
            x->memtype = EPT_MT_UC;
            x->ipat = true;
            /* NPT (p2m-pt): no ignore-PAT; the leaf has PCD
             * (p2m_type_to_flags()), PAT entry 2 of Xen's host PAT, UC-
             * (encoding 7); found by the fuzzer,
             * scenarios/fuzz-found/npt_mmio_memtype.lua */
            if (od->npt) {
                x->memtype = 7;
                x->ipat = false;
            }
        }
        x->shift = PAGE_SHIFT + order;
        if (od->shadow) {
            /* Shadow paging: the shadow entry already holds the P2M's
             * answer, so no nested reference; a refusal (or a P2M entry
             * no shadow can be built from) is a #PF for the hypervisor,
             * which knows the kind and the gpa but has no EPT bits. */
            x->refs = 0;
            x->xkind = OR_EXIT_SHADOW_PF;
            x->qual = exit_qual(kind_bit[k], 0, !paging);
        }
        return;
    }
    if (od->npt) {
        /* Raw nested tables (d:npt_set_raw): the oracle's own NPT walker
         * over the sim's tables, through the overlay; the host runs with
         * EFER.NXE and MAXPHYADDR 52 for them. */
        struct oracle_nptp np = { .root_mfn = od->root_mfn, .nxe = true,
                                  .maxphyaddr = 52, .starts = od->npsc_start,
                                  .nstarts = od->nnpsc_start };
        struct oracle_ept_result r;
        oracle_npt_xlate_ov(mem, nr_frames, &np, gpa, k, paging, ov, &r);
        x->refs = r.refs;
        if (r.outcome != OE_OK) {
            x->xkind = OR_EXIT_NPF;
            x->qual = r.qual;
            return;
        }
        for (unsigned i = 0; i < r.nnpsc && od->nnpsc_note < ORACLE_MAX_NPSC; i++)
            od->npsc_note[od->nnpsc_note++] = r.npsc[i];
        x->ok = true;
        x->perm = r.rights & 7;
        x->hpa = r.hpa;
        x->memtype = r.memtype;
        x->shift = r.shift;
        oracle_ovl_apply(ov, &r);
        return;
    }
    unsigned v = od->cur_vcpu;
    bool pml = od->pml_on && v < SIM_MAX_VCPUS && od->pml_log[v];
    struct oracle_eptp p = { .root_mfn = od->root_mfn, .levels = 4,
                             .ad = od->ept_ad, .mbec = cpu->mbec,
                             .user_la = user_la, .pml = pml,
                             .pml_log = pml ? od->pml_log[v] : 0,
                             .pml_index = pml ? od->pml_idx[v] : 0,
                             .starts = od->epsc_start,
                             .nstarts = od->nepsc_start };
    struct oracle_ept_result r;
    oracle_ept_xlate_ov(mem, nr_frames, &p, gpa, k, paging, ov, &r);
    x->refs = r.refs;
    switch (r.outcome) {
    case OE_OK:
        x->ok = true;
        for (unsigned i = 0; i < r.nepsc && od->nepsc_note < ORACLE_MAX_EPSC; i++)
            od->epsc_note[od->nepsc_note++] = r.epsc[i];
        if (r.pml_logged) {
            /* The processor wrote the log entry: remember the gpa (our
             * own copy of the log) and check the entry as an update. */
            od->pml_gpa[v][p.pml_index & 511] = r.pml_value;
            od->pml_idx[v] = r.pml_index;
            oracle_ovl_put(ov, r.pml_hpa, r.pml_value);
        }
        x->perm = r.rights & 7;
        x->hpa = r.hpa;
        x->memtype = r.memtype;
        x->shift = r.shift;
        x->ipat = r.ipat;
        oracle_ovl_apply(ov, &r);
        return;
    case OE_VIOLATION:
        x->xkind = OR_EXIT_EPT_VIOLATION;
        x->qual = r.qual;
        return;
    case OE_MISCONFIG:
        x->xkind = OR_EXIT_EPT_MISCONFIG;
        return;
    case OE_PML_FULL:
        x->xkind = OR_EXIT_PML_FULL;
        return;
    }
}

/*
 * The hypervisor rewrote gfn's leaf as type t while this access was in
 * flight (p2m_change_type_one() from a fault fix-up or a PML flush): put
 * the leaf it wrote into the overlay, so that the retry's raw walk reads
 * it.  A leaf as Xen's ept_set_entry() builds it (xen-paging.md 1.4):
 * frame and access kept, r/w/x of the type, WB, the type in 57:52, A/D
 * clear.  Only 4 KiB leaves (a superpage is not rewritten here: superpages
 * with the raw walker, i.e. with EPT A/D, MBEC or PML, are not predicted yet).
 */
/* The oracle whose access is being predicted (set by oracle_access_psc()
 * for the guest-memory reads below). */
static const struct oracle *walk_o;

/* A guest-memory word as the access will find it: a page an unshare
 * predicted in this access reads as the shared frame it is a copy of
 * (the model makes the copy only when it performs the access). */
static uint64_t gpeek(const struct hostmem *mem, uint64_t nr_frames, uint64_t hpa)
{
    for (unsigned i = 0; walk_o && i < walk_o->shr_nalias; i++)
        if (hpa >> PAGE_SHIFT == walk_o->shr_alias_new[i])
            hpa = walk_o->shr_alias_old[i] << PAGE_SHIFT | (hpa & ~PAGE_MASK);
    return oracle_peek64(mem, nr_frames, hpa);
}

/* The leaf of g as the hypervisor rewrote it during this access (a type or
 * access change), for the raw walker's next attempt.  A 4 KiB change under
 * an EPT superpage splits it first (ept_set_entry() -> ept_split_super_page():
 * a table per level down to the PT, each entry a copy of the superpage with
 * its slice of the frames, the new tables behind RWX pointers with no A/D):
 * the walker needs only g's path through the new tables, which stand in
 * frames beyond host memory until the check finds the sim's (struct
 * oracle_ovl.vt). */
static void ovl_set_leaf(const struct oracle_dom *od, const struct hostmem *mem,
                         uint64_t nr_frames, struct oracle_ovl *ov, uint64_t g,
                         unsigned t)
{
    uint64_t table = od->root_mfn, ea = 0, e = 0;
    for (int level = 4; level >= 1; level--) {
        ea = (table << PAGE_SHIFT) + 8 * ((g >> (9 * (level - 1))) & 511);
        e = oracle_peek64(mem, nr_frames, ea);
        for (unsigned i = 0; i < ov->n; i++)
            if (ov->hpa[i] == ea)
                e = ov->val[i];
        if (level == 1)
            break;
        if (!(e & (od->npt ? 1ULL : ORACLE_RWX)))
            return;
        if (e & (1ULL << 7)) {
            /* p2m-pt splits differently (oracle_split()); and a domain
             * with raw entries keeps the raw bits in the parts. */
            if (od->npt || od->raw || level > 3)
                return;
            /* One stand-in per new table (one for a 2 MiB split, two for
             * 1 GiB).  Giving up would let the raw walker read the old
             * superpage and predict from it: stop loudly instead. */
            if (ov->nvt + (unsigned)(level - 1) > sizeof ov->vt / sizeof ov->vt[0]) {
                fprintf(stderr, "oracle: d%u gfn %#" PRIx64 ": one access splits more "
                                "superpages than struct oracle_ovl has stand-in tables "
                                "(%zu)\n",
                        od->id, g, sizeof ov->vt / sizeof ov->vt[0]);
                abort();
            }
            unsigned bits = 9 * (unsigned)(level - 1);
            uint64_t frame = ((e & EPT_ADDR_MASK) >> PAGE_SHIFT & ~((1ULL << bits) - 1)) +
                             (g & ((1ULL << bits) - 1));
            for (int l = level; l >= 2; l--) {
                uint64_t vf = nr_frames + 1 + ov->nvt;
                ov->vt[ov->nvt].frame = vf;
                ov->vt[ov->nvt].gfn = g;
                ov->vt[ov->nvt++].level = (unsigned)(l - 1);
                oracle_ovl_put(ov, ea, ORACLE_RWX | (vf << PAGE_SHIFT));
                ea = (vf << PAGE_SHIFT) + 8 * ((g >> (9 * (l - 2))) & 511);
            }
            e = (e & ~EPT_ADDR_MASK & ~(1ULL << 7)) | (frame << PAGE_SHIFT);
            break;
        }
        table = (e & EPT_ADDR_MASK) >> PAGE_SHIFT;
    }
    unsigned perm = oracle_type_perms(t);
    if (od->npt) {
        /* A p2m-pt leaf: frame kept, the type's flags (A and D preset). */
        uint64_t v = (e & (0xFFFFFFFFFFULL << 12)) |
                     oracle_npt_type_flags(t, od->ioreq_write) | ((uint64_t)t << 52);
        oracle_ovl_put(ov, ea, v);
        return;
    }
    /* ept_p2m_type_to_flags(): the type's rights (a PML ram_logdirty leaf
     * writable), then the access restriction. */
    uint64_t keep = e & ((0xFULL << 59) | (0xFFFFFFFFFFULL << 12));
    if (!oracle_is_raw(od, g) && g < od->max_gfn) {
        unsigned acc = od_access(od, g);
        perm = oracle_perms(t == p2m_ram_logdirty && od->pml_on ? p2m_ram_rw : t, acc);
        keep = (e & (0xFFFFFFFFFFULL << 12)) | ((uint64_t)acc << 59);
    } else if (t == p2m_ram_logdirty && od->pml_on) {
        perm = ORACLE_RWX;
    }
    uint64_t v = keep | perm | ((uint64_t)EPT_MT_WB << 3) | ((uint64_t)t << 52);
    oracle_ovl_put(ov, ea, v);
}

/* The P2M type the hypervisor's get_entry() reads for gfn.  Raw gfns: from
 * the scenario's leaf in the sim's tables (a large leaf covers its range),
 * mmio_dm above the highest gfn ever mapped, as ept_get_entry(). */
static unsigned hyp_type(const struct oracle_dom *od, const struct hostmem *mem,
                         uint64_t nr_frames, uint64_t g)
{
    if (!oracle_is_raw(od, g))
        return g < od->max_gfn ? od_type(od, g) : p2m_mmio_dm;
    if (g > od->max_mapped || g >> 36)
        return p2m_mmio_dm;
    if (od->npt) {
        /* p2m_pt_get_entry(): a missing table reads as mmio_dm; the leaf
         * (PS at level 2/3, present or not) decoded by the oracle. */
        uint64_t t = od->root_mfn, n = 0;
        for (int level = 4; level >= 1; level--) {
            n = oracle_peek64(mem, nr_frames,
                              (t << PAGE_SHIFT) + 8 * ((g >> (9 * (level - 1))) & 511));
            if (level == 1 || ((level == 2 || level == 3) && (n & (1ULL << 7))))
                break;
            if (!(n & 1))
                return p2m_mmio_dm;
            t = (n & EPT_ADDR_MASK) >> PAGE_SHIFT;
        }
        struct oracle_epte nx;
        oracle_npte_decode(n, &nx);
        return nx.type;
    }
    uint64_t table = od->root_mfn, e = 0;
    for (int level = 4; level >= 1; level--) {
        e = oracle_peek64(mem, nr_frames,
                          (table << PAGE_SHIFT) + 8 * ((g >> (9 * (level - 1))) & 511));
        if (level == 1 || ((level == 2 || level == 3) && (e & ORACLE_RWX) &&
                           (e & (1ULL << 7))))
            break;
        if (!(e & ORACLE_RWX))
            return p2m_mmio_dm;
        table = (e & EPT_ADDR_MASK) >> PAGE_SHIFT;
    }
    struct oracle_epte x;
    oracle_epte_decode(e, &x);
    return x.type;
}

enum attempt_end { AT_OK, AT_PF, AT_EXIT, AT_GP };

/* Paging modes, numbered as the oracle likes them. */
enum o_mode { OM_FLAT, OM_LEGACY32, OM_PAE3, OM_LONG4, OM_LONG5 };

#define O_MAX_ENT 5

struct gentry {
    uint64_t gpa, hpa, val;
    unsigned eperm; /* EPT r/w/x of the entry's page */
    unsigned size;  /* 4 or 8 bytes */
    bool has_a;     /* the entry has an accessed flag (not a PAE PDPTE) */
};

struct attempt {
    enum attempt_end end;
    unsigned refs;
    unsigned nent;               /* entries walked, top first */
    struct gentry ent[O_MAX_ENT];
    uint64_t gpa, hpa;    /* AT_OK */
    uint32_t pf_ec;       /* AT_PF */
    uint64_t cr2;         /* AT_PF */
    uint64_t qual, xgpa;  /* AT_EXIT */
    int xkind;            /* AT_EXIT: enum oracle_exit_kind */
    unsigned memtype, eshift; /* AT_OK: the final EPT leaf */
    bool ipat;
    bool all_u, all_w, nx, dirty, global; /* AT_OK: the rights */
    unsigned pkey, pshift;
    bool need_ad[O_MAX_ENT];
    uint64_t add[O_MAX_ENT]; /* bits the access adds to each entry */
    unsigned npsc;           /* AT_OK, IA-32e: PSC entries it may leave */
    struct oracle_psc psc[4];
    unsigned npwc;           /* AT_OK: page-walk-cache entries it may leave */
    struct oracle_pwc pwc[4];
};

static enum o_mode o_mode(const struct oracle_cpu *cpu)
{
    if (!(cpu->cr0 & X86_CR0_PG))
        return OM_FLAT;
    if (!(cpu->cr4 & X86_CR4_PAE))
        return OM_LEGACY32;
    if (!(cpu->efer & X86_EFER_LMA))
        return OM_PAE3;
    if (cpu->cr4 & X86_CR4_LA57)
        return OM_LONG5;
    return OM_LONG4;
}

/* Bit range [hi:lo] as a mask. */
static uint64_t bits(unsigned hi, unsigned lo)
{
    uint64_t top = hi >= 63 ? ~0ULL : (1ULL << (hi + 1)) - 1;
    return top & ~((1ULL << lo) - 1);
}

/* The physical-address width the entries may use. */
static unsigned o_maxphy(const struct oracle_cpu *cpu)
{
    return cpu->maxphyaddr && cpu->maxphyaddr < 52 ? cpu->maxphyaddr : 52;
}

/* Reserved-bit test of one present entry (translation-rules "Reserved
 * bits").  depth counts from the root (0); 'big' says PS made it a leaf. */
static bool o_reserved(const struct oracle_cpu *cpu, enum o_mode m,
                       unsigned depth, bool big, uint64_t e)
{
    unsigned mp = o_maxphy(cpu);
    bool nxe = cpu->efer & X86_EFER_NXE;
    uint64_t hi = mp < 52 ? bits(51, mp) : 0;
    switch (m) {
    case OM_LEGACY32:
        /* Only a 4 MiB PDE (PSE-36 absent) has reserved bits: 21:13. */
        return big && (e & bits(21, 13));
    case OM_PAE3:
        if (depth == 0) /* PDPTE */
            return (e & (hi | bits(63, 52) | bits(2, 1) | bits(8, 5))) != 0;
        if ((e & (hi | bits(62, 52))) || (!nxe && (e >> 63)))
            return true;
        return big && (e & bits(20, 13));
    case OM_LONG4:
    case OM_LONG5: {
        unsigned lvl = (m == OM_LONG5 ? 5 : 4) - depth; /* 1 = PTE */
        if ((e & hi) || (!nxe && (e >> 63)))
            return true;
        if (lvl >= 4 && (e & PTE_PS))
            return true;
        if (big && lvl == 3)
            return (e & bits(29, 13)) != 0;
        if (big && lvl == 2)
            return (e & bits(20, 13)) != 0;
        return false;
    }
    default:
        return false;
    }
}

/* PKRU/PKRS (SDM 4.6.2): does key 'key' of register 'reg' deny? */
static bool o_key_denies(uint32_t reg, unsigned key, bool write, bool user,
                         bool wp)
{
    bool ad = (reg >> (2 * key)) & 1;
    bool wd = (reg >> (2 * key + 1)) & 1;
    return ad || (wd && write && (user || wp));
}

static void attempt(struct oracle_dom *od, const struct oracle_cpu *cpu,
                    const struct hostmem *mem, uint64_t nr_frames,
                    struct oracle_ovl *ov, uint64_t va, enum access_kind k,
                    const struct oracle_psc *st,
                    struct attempt *a)
{
    enum o_mode m = o_mode(cpu);
    bool user = cpu->cpl == 3 && !cpu->implicit;
    bool write = k == ACC_WRITE, fetch = k == ACC_FETCH;
    bool nxe = cpu->efer & X86_EFER_NXE;
    bool wp = cpu->cr0 & X86_CR0_WP;
    struct xlate x;

    memset(a, 0, sizeof(*a));

    /* Linear-address width and canonical form. */
    if (m == OM_LONG4 || m == OM_LONG5) {
        unsigned b = m == OM_LONG5 ? 56 : 47;
        uint64_t upper = va >> b; /* bits 63:b must be all 0 or all 1 */
        if (upper != 0 && upper != (~0ULL >> b)) {
            a->end = AT_GP;
            return;
        }
    } else {
        va = (uint32_t)va;
    }
    a->cr2 = va;

    /* Geometry, spelled out per mode. */
    unsigned nlev, esz;
    unsigned vshift[O_MAX_ENT]; /* by depth */
    unsigned ibits[O_MAX_ENT];
    uint64_t table;
    switch (m) {
    case OM_LEGACY32:
        nlev = 2, esz = 4;
        vshift[0] = 22, vshift[1] = 12;
        ibits[0] = ibits[1] = 10;
        table = cpu->cr3 & 0xFFFFF000u;
        break;
    case OM_PAE3:
        nlev = 3, esz = 8;
        vshift[0] = 30, vshift[1] = 21, vshift[2] = 12;
        ibits[0] = 2, ibits[1] = ibits[2] = 9;
        table = cpu->cr3 & 0xFFFFFFE0u;
        break;
    case OM_LONG4:
    case OM_LONG5:
        nlev = m == OM_LONG5 ? 5 : 4, esz = 8;
        for (unsigned i = 0; i < nlev; i++) {
            vshift[i] = 12 + 9 * (nlev - 1 - i);
            ibits[i] = 9;
        }
        table = cpu->cr3 & bits(51, 12);
        break;
    default:
        nlev = 0, esz = 8, table = 0;
        break;
    }

    /* #PF error code bits that do not depend on the fault (SDM 4.7). */
    bool id = fetch && ((cpu->cr4 & X86_CR4_SMEP) || (m >= OM_PAE3 && nxe));
    uint32_t ec = (write ? PFEC_W : 0) | (user ? PFEC_U : 0) |
                  (id ? PFEC_ID : 0);

    bool all_u = true, all_w = true, any_nx = false;
    uint64_t leafval = 0, gpa;
    unsigned pshift = 12;
    /* A cached upper entry (IA-32e: PDE .. PML5E; 32-bit and PAE: only a
     * PDE, SDM 4.10.3.1): start at the level below it. */
    unsigned d0 = 0;
    if (st && m != OM_FLAT && st->level >= 2 &&
        st->level <= ((m == OM_LONG4 || m == OM_LONG5) ? nlev : 2)) {
        d0 = nlev - (st->level - 1);
        table = st->table_gpa;
        all_u = st->u, all_w = st->w, any_nx = st->nx;
    } else {
        st = NULL;
    }

    if (m == OM_FLAT) {
        gpa = va;
    } else {
        uint64_t amask = esz == 4 ? 0xFFFFF000u : bits(51, 12);
        bool done = false;
        for (unsigned d = d0; d < nlev && !done; d++) {
            uint64_t idx = (va >> vshift[d]) & ((1u << ibits[d]) - 1);
            uint64_t egpa = table + esz * idx;
            bool pdpte = m == OM_PAE3 && d == 0;
            uint64_t e;
            const struct oracle_pwc *pw = NULL;
            for (unsigned i = 0; !pdpte && nlev - d >= 2 && i < od->npwc_start; i++)
                if (od->pwc_start[i].level == nlev - d && od->pwc_start[i].gpa == egpa)
                    pw = &od->pwc_start[i];
            if (pdpte && cpu->pae_regs) {
                /* The PDPTE registers the last load filled (SDM 4.4.1):
                 * no reference, no EPT walk, no A/D. */
                e = cpu->pdpte[idx];
            } else if (pw) {
                /* An AMD page-walk-cache entry for this very entry
                 * address (translation-rules "Paging-structure caches"):
                 * its value, no reference, no EPT walk; A is set in it,
                 * so no A/D update either (not in a->ent). */
                e = pw->val;
            } else {
            if (st && d == d0) {
                /* Read at the cached host address, no EPT walk; x.perm
                 * still decides an A/D write below (the raw walker gives
                 * it for domains whose EPT the oracle walks raw). */
                if (use_raw(od, cpu)) {
                    nested(od, cpu, mem, nr_frames, ov, egpa, ACC_READ, true, false, &x);
                } else {
                    memset(&x, 0, sizeof(x));
                    ideal_perm(od, egpa, &x.perm, &x.hpa);
                }
                x.hpa = st->table_hpa + esz * idx;
                a->refs += 1;
            } else {
                nested(od, cpu, mem, nr_frames, ov, egpa, ACC_READ, true, false, &x);
                if (!x.ok) {
                    a->end = AT_EXIT;
                    a->xkind = x.xkind;
                    a->qual = x.qual;
                    a->xgpa = egpa;
                    return;
                }
                a->refs += x.refs + 1; /* its EPT walk, then the entry itself */
            }
            /* The table this entry is in is the one the entry above
             * points to: complete that entry's PSC record. */
            if (a->npsc && a->psc[a->npsc - 1].table_hpa == ~0ULL)
                a->psc[a->npsc - 1].table_hpa = x.hpa - esz * idx;
            e = gpeek(mem, nr_frames, x.hpa & ~7ULL);
            if (esz == 4)
                e = (e >> (8 * (x.hpa & 7))) & 0xFFFFFFFFu;
            a->ent[a->nent++] = (struct gentry){ egpa, x.hpa, e, x.perm, esz, !pdpte };
            }
            if (!(e & PTE_P)) {
                a->end = AT_PF;
                a->pf_ec = ec;
                return;
            }
            unsigned lvl = nlev - d; /* 1 = PTE */
            bool big = false;
            if (e & PTE_PS) {
                if (m == OM_LEGACY32)
                    big = lvl == 2 && (cpu->cr4 & X86_CR4_PSE);
                else if (m == OM_PAE3)
                    big = lvl == 2;
                else
                    big = lvl == 2 || lvl == 3;
            }
            if (o_reserved(cpu, m, d, big, e)) {
                /* A PDPTE read at the walk: #GP as its load would have
                 * given -- except under AMD nested paging, which has no
                 * load: the walk's PDPE read checks it like any entry
                 * (#PF, P and RSVD; KVM's and Bochs' nested walks). */
                if (pdpte && !od->npt) {
                    a->end = AT_GP;
                } else {
                    a->end = AT_PF;
                    a->pf_ec = ec | PFEC_P | PFEC_RSVD;
                }
                return;
            }
            if (!pdpte) {
                all_u = all_u && (e & PTE_U);
                all_w = all_w && (e & PTE_W);
                any_nx = any_nx || (esz == 8 && (e >> 63));
            }
            if (lvl == 1 || big) {
                leafval = e;
                pshift = vshift[d];
                done = true;
            } else {
                table = e & amask;
                if (m == OM_LONG4 || m == OM_LONG5 || lvl == 2)
                    a->psc[a->npsc++] = (struct oracle_psc){
                        lvl, table, ~0ULL, all_u, all_w, any_nx };
                /* The entry a page walk cache may keep under its address
                 * (not a PAE PDPTE; not a 32-bit PDE with PS=1 read as
                 * a table pointer, which the model does not cache). */
                if (!pdpte && !(e & PTE_PS))
                    a->pwc[a->npwc++] = (struct oracle_pwc){ lvl, egpa, e | PTE_A };
            }
        }
        uint64_t pmask = (1ULL << pshift) - 1;
        gpa = (leafval & amask & ~pmask) | (va & pmask);

        /* Protection checks (translation-rules "Access rights"). */
        bool fault = false, pk = false;
        if (user && !all_u)
            fault = true;
        if (write && !all_w && (user || wp))
            fault = true;
        if (fetch && nxe && any_nx && m != OM_LEGACY32)
            fault = true;
        if (fetch && !user && all_u && (cpu->cr4 & X86_CR4_SMEP))
            fault = true;
        if (!fetch && !user && all_u && (cpu->cr4 & X86_CR4_SMAP) &&
            (cpu->implicit || !(cpu->rflags & X86_RFLAGS_AC)))
            fault = true;
        if (!fetch && (m == OM_LONG4 || m == OM_LONG5)) {
            unsigned key = (leafval >> 59) & 0xF;
            if (all_u && (cpu->cr4 & X86_CR4_PKE))
                pk = o_key_denies(cpu->pkru, key, write, user, wp);
            if (!all_u && (cpu->cr4 & X86_CR4_PKS))
                pk = o_key_denies(cpu->pkrs, key, write, user, wp);
        }
        if (fault || pk) {
            a->end = AT_PF;
            a->pf_ec = ec | PFEC_P | (pk ? PFEC_PK : 0);
            return;
        }
    }

    /* The final gpa, with the access's own kind; with MBEC a fetch from a
     * user-mode address (U/S=1 at every level) needs EPT bit 10. */
    nested(od, cpu, mem, nr_frames, ov, gpa, k, false,
           m != OM_FLAT && all_u, &x);
    if (!x.ok) {
        a->end = AT_EXIT;
        a->xkind = x.xkind;
        a->qual = x.qual;
        a->xgpa = gpa;
        return;
    }
    a->refs += x.refs;
    a->gpa = gpa;
    a->hpa = x.hpa;
    a->memtype = x.memtype;
    a->eshift = x.shift;
    a->ipat = x.ipat;

    /* A/D (SDM 4.8) are EPT writes to the paging-structure pages
     * (SDM 29.3.3.2): every update must be allowed before any is made. */
    for (unsigned d = 0; d < a->nent; d++) {
        const struct gentry *g = &a->ent[d];
        bool leaf = d + 1 == a->nent;
        uint64_t add = 0;
        if (g->has_a && !(g->val & PTE_A))
            add |= PTE_A;
        if (leaf && write && !(g->val & PTE_D))
            add |= PTE_D;
        a->add[d] = add;
        a->need_ad[d] = add != 0;
        /* Under shadow paging the hypervisor writes them through its own
         * mapping (guest_walk_tables() in sh_page_fault()): no check. */
        if (!a->need_ad[d] || od->shadow)
            continue;
        /* The write permission of the entry's page: the hardware holds
         * those EPT entries from the walk, so this costs no references. */
        struct xlate wx;
        nested(od, cpu, mem, nr_frames, ov, g->gpa, ACC_WRITE, true, false, &wx);
        if (!wx.ok) {
            a->end = AT_EXIT;
            a->xkind = wx.xkind;
            a->qual = wx.qual;
            a->xgpa = g->gpa;
            return;
        }
    }
    for (unsigned d = 0; d < a->nent; d++)
        a->refs += a->need_ad[d];
    a->end = AT_OK;
    a->all_u = all_u;
    a->all_w = all_w;
    a->nx = any_nx && nxe && m != OM_LEGACY32;
    a->dirty = write || (leafval & PTE_D);
    a->global = (leafval & PTE_G) && (cpu->cr4 & X86_CR4_PGE);
    a->pkey = (m == OM_LONG4 || m == OM_LONG5) ? (leafval >> 59) & 0xF : 0;
    a->pshift = pshift;
    if (m == OM_FLAT) {
        a->all_u = a->all_w = true;
        a->dirty = true;
    }
}

/* out->ad[]: each word holding one of a's entries, after a->add[]. */
static void predict_ad(const struct attempt *a, const struct hostmem *mem,
                       uint64_t nr_frames, struct oracle_expect *out)
{
    /* Each 8-byte word holding an entry, after the update; a word reached
     * by several entries (a recursive mapping, or two 4-byte entries)
     * collects the bits of all of them. */
    out->nad = a->nent;
    for (unsigned i = 0; i < a->nent; i++) {
        uint64_t w = a->ent[i].hpa & ~7ULL;
        uint64_t v = gpeek(mem, nr_frames, w);
        for (unsigned j = 0; j < a->nent; j++)
            if ((a->ent[j].hpa & ~7ULL) == w)
                v |= a->add[j] << (8 * (a->ent[j].hpa & 7));
        out->ad[i].hpa = _hpa(w);
        out->ad[i].value = v;
    }
}

static void predict_ok(const struct attempt *a, const struct hostmem *mem,
                       uint64_t nr_frames, enum access_kind k, unsigned width,
                       struct oracle_expect *out)
{
    out->final = OR_OK;
    out->gpa = _gpa(a->gpa);
    out->hpa = _hpa(a->hpa);
    predict_ad(a, mem, nr_frames, out);
    if (k == ACC_WRITE)
        return;
    /* A device frame (direct MMIO beyond host RAM): no device is
     * attached, reads float high. */
    if ((a->hpa >> PAGE_SHIFT) >= nr_frames) {
        out->value = width >= 8 ? ~0ULL : (1ULL << (8 * width)) - 1;
        return;
    }
    /* The value read, as memory stands after the A/D updates (the model
     * sets them before reading). */
    uint64_t val = 0;
    for (unsigned b = 0; b < width && b < 8; b++) {
        uint64_t hpa = a->hpa + b;
        uint64_t word = gpeek(mem, nr_frames, hpa & ~7ULL);
        for (unsigned i = 0; i < out->nad; i++)
            if (hpa_x(out->ad[i].hpa) == (hpa & ~7ULL))
                word = out->ad[i].value;
        val |= ((word >> (8 * (hpa & 7))) & 0xFF) << (8 * b);
    }
    out->value = val;
}

/* hvm_hap_nested_page_fault()'s switch over p2m_access_t: is the access
 * (exit qualification bits 0-2) against the access type? */
static bool access_violation(unsigned ac, uint64_t qual)
{
    static const unsigned allow[] = {
        [p2m_access_n] = 0, [p2m_access_r] = 1, [p2m_access_w] = 2,
        [p2m_access_rw] = 3, [p2m_access_x] = 4, [p2m_access_rx] = 5,
        [p2m_access_wx] = 6, [p2m_access_rwx] = 7, [p2m_access_rx2rw] = 5,
        [p2m_access_n2rwx] = 0,
    };
    unsigned want = (unsigned)(qual & 7); /* read, write, fetch */
    unsigned ok = ac < sizeof allow / sizeof allow[0] ? allow[ac] : 0;
    return (want & ~ok) != 0;
}

/* An access emulated after an exit on its final gpa (mmio_dm, a write to
 * ram_ro): the emulator's own walk of the guest tables sets the A bits of
 * every entry and the leaf's D for a write, as a completed access would,
 * without any EPT check, and each paging-structure page it changes is
 * logged dirty.  (Only an exit on the final translation: the walk itself
 * succeeded, so every entry is known.) */
static void emulated_ad(struct oracle_dom *od, struct attempt *a,
                        const struct hostmem *mem, uint64_t nr_frames, bool write,
                        struct oracle_expect *out)
{
    /* On the final gpa: qualification bit 8, or EXITINFO1 bit 32. */
    if (!(a->qual & (od->npt ? NPF_FINAL : EPTQ_GLA_XLATE)))
        return;
    for (unsigned d = 0; d < a->nent; d++) {
        const struct gentry *g = &a->ent[d];
        uint64_t add = 0;
        if (g->has_a && !(g->val & PTE_A))
            add |= PTE_A;
        if (d + 1 == a->nent && write && !(g->val & PTE_D))
            add |= PTE_D;
        a->add[d] = add;
        if (add)
            oracle_mark(od, g->gpa >> PAGE_SHIFT, true);
    }
    predict_ad(a, mem, nr_frames, out);
}
static void oracle_access_attempts(struct oracle *o, struct oracle_dom *od,
                                   const struct oracle_cpu *cpu,
                                   const struct hostmem *mem, gva_t va,
                                   enum access_kind k, unsigned width,
                                   const struct oracle_psc *start,
                                   struct oracle_ovl *ov,
                                   struct oracle_expect *out);

/* The EPT A/D updates a PDPTE load made (ov), for the engine to compare
 * with the entries in memory (oracle_expect.ept[]). */
static void pae_ept_out(const struct oracle_ovl *ov, struct oracle_expect *x)
{
    x->nept = ov->n;
    for (unsigned i = 0; i < ov->n; i++) {
        x->ept[i].hpa = _hpa(ov->hpa[i]);
        x->ept[i].value = ov->val[i];
    }
}

/* Which domains have PDPTE registers at all.  AMD nested paging has none
 * (the guest walk reads the PDPEs through the nested tables every time:
 * the VMCB holds no PDPTEs, and KVM's nested-NPT walker reads them from
 * memory per walk); VMX with EPT (with or without A/D) and Xen's shadow
 * code (its copy of the guest l3es, sh_update_cr3()) do. */
static bool pae_has_regs(const struct oracle_dom *od)
{
    return !od->npt;
}

bool oracle_pae_load_x(struct oracle *o, domid_t d, const struct oracle_cpu *cpu,
                       const struct hostmem *mem, uint64_t out[4], bool *gp,
                       struct oracle_expect *x)
{
    struct oracle_dom *od = oracle_dom_find(o, d);
    *gp = false;
    if (x)
        memset(x, 0, sizeof(*x));
    if (!od || o_mode(cpu) != OM_PAE3 || !pae_has_regs(od))
        return false;
    /* The 32-byte PDPT at CR3[31:5]; each PDPTE's gpa through the EPT as
     * a read (SDM 4.4.1, 29.3.3.2) -- not as a paging-structure access:
     * with EPT A/D (raw walks) that sets A on the EPT entries used and no
     * D (SDM 29.3.5: PDPTE loads by MOV CR are reads).  One overlay for
     * the four reads, which share the PDPT's page. */
    uint64_t pdpt = cpu->cr3 & 0xFFFFFFE0u;
    struct oracle_ovl ov = { 0 };
    bool ok = true;
    for (unsigned i = 0; i < 4 && ok; i++) {
        struct xlate xl;
        nested(od, cpu, mem, o->nr_frames, &ov, pdpt + 8 * i, ACC_READ, false,
               false, &xl);
        if (xl.ok)
            out[i] = oracle_peek64(mem, o->nr_frames, xl.hpa & ~7ULL);
        ok = xl.ok;
    }
    /* SDM 4.4.1: a present PDPTE with a reserved bit makes the loading
     * instruction a #GP(0); nothing is loaded. */
    for (unsigned i = 0; i < 4 && ok; i++)
        if ((out[i] & PTE_P) && o_reserved(cpu, OM_PAE3, 0, false, out[i])) {
            *gp = true;
            ok = false;
        }
    if (x)
        pae_ept_out(&ov, x);
    return ok;
}

bool oracle_pae_load(struct oracle *o, domid_t d, const struct oracle_cpu *cpu,
                     const struct hostmem *mem, uint64_t out[4], bool *gp)
{
    return oracle_pae_load_x(o, d, cpu, mem, out, gp, NULL);
}

bool oracle_pae_cr_loads(const struct oracle_cpu *before, const struct oracle_cpu *after)
{
    /* SDM 4.4.1, the list of control bits whose modification by MOV to
     * CR0 / MOV to CR4 reloads the PDPTEs when PAE paging follows:
     * CR0 bits 29 (NW), 30 (CD), 31 (PG); CR4 bits 4 (PSE), 5 (PAE),
     * 7 (PGE), 20 (SMEP). */
    static const struct { bool cr4; unsigned bit; } listed[] = {
        { false, 29 }, { false, 30 }, { false, 31 },
        { true, 4 },   { true, 5 },   { true, 7 },   { true, 20 },
    };
    if (o_mode(after) != OM_PAE3)
        return false;
    /* Entering PAE paging (from no paging, 32-bit or 4/5-level paging
     * through CR0.PG = 0): the last MOV CR0 sets PG and loads. */
    if (o_mode(before) != OM_PAE3)
        return true;
    for (unsigned i = 0; i < sizeof listed / sizeof listed[0]; i++) {
        uint64_t x = listed[i].cr4 ? before->cr4 ^ after->cr4 : before->cr0 ^ after->cr0;
        if ((x >> listed[i].bit) & 1)
            return true;
    }
    return false;
}

void oracle_access(struct oracle *o, domid_t d, const struct oracle_cpu *cpu,
                   const struct hostmem *mem, gva_t va, enum access_kind k,
                   unsigned width, struct oracle_expect *out)
{
    oracle_access_psc(o, d, cpu, mem, va, k, width, NULL, out);
}

void oracle_access_psc(struct oracle *o, domid_t d, const struct oracle_cpu *cpu,
                       const struct hostmem *mem, gva_t va, enum access_kind k,
                       unsigned width, const struct oracle_psc *start,
                       struct oracle_expect *out)
{
    struct oracle_dom *od = oracle_dom_find(o, d);
    unsigned nstart = o->nnpsc_start; /* for this access only */
    o->nnpsc_start = 0;
    unsigned npwc = o->npwc_start;
    o->npwc_start = 0;
    unsigned nestart = o->nepsc_start; /* likewise */
    o->nepsc_start = 0;
    memset(out, 0, sizeof(*out));
    out->final = OR_CRASH;
    if (!od)
        return;
    /* The domain stays paused while a preempted PEEK/CLEAN waits for its
     * continuation (paging_log_dirty_op()'s domain_pause()). */
    if (od->ld_busy) {
        out->final = OR_PAUSED;
        return;
    }
    /* A vCPU that is paused or asleep does not run (oracle/paging.c). */
    if (o->cur_vcpu < SIM_MAX_VCPUS && od->vstate[o->cur_vcpu] != VCPU_RUNNABLE) {
        out->final = od->vstate[o->cur_vcpu] == VCPU_WAIT_SLOT ? OR_BLOCKED
                                                               : OR_PAUSED;
        return;
    }
    /* Or held by the monitor ring (oracle/monitor.c). */
    if (oracle_monitor_hold(od, o->cur_vcpu) != OR_OK) {
        out->final = (enum oracle_final)oracle_monitor_hold(od, o->cur_vcpu);
        return;
    }

    struct oracle_ovl ov = { 0 };
    od->cur_vcpu = o->cur_vcpu;
    od->npt_nrc = 0;
    o->shr_nalias = 0;
    od->npsc_start = o->npsc_start;
    od->nnpsc_start = nstart;
    od->nnpsc_note = 0;
    od->pwc_start = o->pwc_start;
    od->npwc_start = npwc;
    od->epsc_start = o->epsc_start;
    od->nepsc_start = nestart;
    od->nepsc_note = 0;
    walk_o = o;
    oracle_access_attempts(o, od, cpu, mem, va, k, width, start, &ov, out);
    walk_o = NULL;
    od->nnpsc_start = 0;
    od->npwc_start = 0;
    out->nnpsc = od->nnpsc_note;
    out->npsc_root = od->root_mfn;
    memcpy(out->npsc_used, od->npsc_note, sizeof(out->npsc_used));
    od->nepsc_start = 0;
    out->nepsc = od->nepsc_note;
    out->epsc_root = od->root_mfn;
    memcpy(out->epsc_used, od->epsc_note, sizeof(out->epsc_used));
    /* The EPT entries whose A/D flags the access set (raw walks only). */
    out->nept = ov.n;
    for (unsigned i = 0; i < ov.n; i++) {
        out->ept[i].hpa = _hpa(ov.hpa[i]);
        out->ept[i].value = ov.val[i];
        for (unsigned j = 0; j < ov.nvt; j++) {
            if (ov.hpa[i] >> PAGE_SHIFT == ov.vt[j].frame) {
                out->ept[i].vgfn = ov.vt[j].gfn;
                out->ept[i].vlevel = ov.vt[j].level;
            }
            if ((ov.val[i] & EPT_ADDR_MASK) >> PAGE_SHIFT == ov.vt[j].frame)
                out->ept[i].addr_unknown = true;
        }
    }
}

void oracle_set_npsc_starts(struct oracle *o, const struct oracle_npsc *s,
                            unsigned n)
{
    o->nnpsc_start = n < ORACLE_MAX_NPSC_START ? n : ORACLE_MAX_NPSC_START;
    memcpy(o->npsc_start, s, o->nnpsc_start * sizeof(*s));
}

void oracle_set_pwc_entries(struct oracle *o, const struct oracle_pwc *s,
                            unsigned n)
{
    o->npwc_start = n < ORACLE_MAX_PWC_START ? n : ORACLE_MAX_PWC_START;
    memcpy(o->pwc_start, s, o->npwc_start * sizeof(*s));
}

void oracle_set_epsc_starts(struct oracle *o, const struct oracle_epsc *s,
                            unsigned n)
{
    o->nepsc_start = n < ORACLE_MAX_EPSC_START ? n : ORACLE_MAX_EPSC_START;
    memcpy(o->epsc_start, s, o->nepsc_start * sizeof(*s));
}

/* What oracle_handle_exit() leaves the access to do: re-execute it, or
 * stop (out->final says how; OR_CRASH if the handler did not set it). */
enum o_hx { OHX_RETRY, OHX_DONE };

/*
 * The hypervisor's handling of the exit attempt a ended with (its kind,
 * qualification, gpa and gla filled in), predicted on the oracle's own
 * state: ept_handle_violation() / svm_do_nested_pgfault() ->
 * hvm_hap_nested_page_fault() and the PML-full flush.  k and width are
 * the access's (what an emulated access reads or writes).  Shared by
 * guest accesses and the PDPTE load of a MOV CR (oracle_pae_load_mov()).
 */
static enum o_hx oracle_handle_exit(struct oracle *o, struct oracle_dom *od,
                                    const struct oracle_cpu *cpu,
                                    const struct hostmem *mem, struct attempt *a,
                                    enum access_kind k, unsigned width,
                                    struct oracle_ovl *ov,
                                    struct oracle_expect *out)
{
    /* PML full: vmx_vcpu_flush_pml_buffer(), then the access is
     * re-executed. */
    if (a->xkind == OR_EXIT_PML_FULL) {
        uint64_t retyped[512];
        unsigned nr = 0;
        oracle_pml_flush(od, od->cur_vcpu, retyped, &nr);
        for (unsigned i = 0; i < nr; i++)
            ovl_set_leaf(od, mem, o->nr_frames, ov, retyped[i], p2m_ram_rw);
        return OHX_RETRY;
    }
    /* A misconfiguration: no p2m recalculation pending here, so Xen's
     * ept_handle_misconfig() fails and the domain is crashed. */
    if (a->xkind != OR_EXIT_EPT_VIOLATION && a->xkind != OR_EXIT_NPF &&
        a->xkind != OR_EXIT_SHADOW_PF)
        return OHX_DONE;
    /* From here on a->qual's bit 1 is "write" in both formats (EPT
     * qualification bit 1, EXITINFO1 bit 1 = #PF W), which is all the
     * handler below reads of it besides the access-type check, which
     * NPT domains skip (no access types). */

    uint64_t g = a->xgpa >> PAGE_SHIFT;
    /* NPT, svm_vmexit_handler(): with P set the deferred changes on
     * the gpa's path are resolved first; if that recalculated
     * anything (a marked path to a present leaf), the guest just
     * retries.  Whatever follows for g (recalculation, or a
     * p2m_set_entry() fix-up, which recalculates g's path first)
     * leaves its whole leaf unmarked for the rest of the access. */
    if (od->npt && !od->raw && od->npt_nrc < ORACLE_MAX_EXITS) {
        bool due = (a->qual & PFEC_P) && npt_recalc_due(od, mem, o->nr_frames, g);
        uint64_t span = g < od->max_gfn ? 1ULL << od_order(od, g) : 1;
        od->npt_rc_lo[od->npt_nrc] = g & ~(span - 1);
        od->npt_rc_hi[od->npt_nrc++] = (g & ~(span - 1)) + span - 1;
        if (due)
            return OHX_RETRY;
    }
    /* hvm_hap_nested_page_fault(): the hypervisor looks the full gpa up
     * in its P2M (beyond max_gfn: nothing, reads as mmio_dm). */
    unsigned t = hyp_type(od, mem, o->nr_frames, g);
    /* A PoD entry is populated from the cache first (P2M_ALLOC), then
     * RAM's spurious-fault path logs a write under log-dirty; out of
     * PoD memory the domain is crashed. */
    if (t == p2m_populate_on_demand) {
        if (!oracle_pod_populate(o, od, g))
            return OHX_DONE;
        if ((a->qual & EPTQ_WRITE) && od_type(od, g) == p2m_ram_logdirty) {
            oracle_mark(od, g, true);
            OD_TYPE_W(od, g) = p2m_ram_rw;
        }
        return OHX_RETRY;
    }
    /* mem_access before anything else, for gfns with a frame
     * (oracle/monitor.c): promoted and handled on, re-executed after
     * the restriction is cleared, or the vCPU paused / asleep for the
     * listener, or the domain crashed (access required, no listener).
     * Each access change is a 4 KiB set_entry, splitting a superpage. */
    bool fall_through = false;
    if (g < od->max_gfn && !od->raw && !od->nraw_hi && !od->npt &&
        od_mfn(od, g) != mfn_x(INVALID_MFN) &&
        access_violation(od_access(od, g), a->qual)) {
        switch (oracle_mem_access(o, od, a->xgpa, a->cr2, a->qual)) {
        case OMA_FALL:
            /* rx2rw / n2rwx: the access was rewritten (rw / rwx) and
             * the handler goes on; the raw walker (EPT A/D, PML,
             * MBEC) must see the new leaf too, or the re-executed
             * access faults on the old one (found by the fuzzer:
             * an n2rwx event with a listener in a PML domain,
             * scenarios/fuzz-found/n2rwx_listener_pml.lua) */
            if (use_raw(od, cpu))
                ovl_set_leaf(od, mem, o->nr_frames, ov, g, od_type(od, g));
            fall_through = true;
            break;
        case OMA_RETRY:
            /* p2m_set_mem_access() rewrote the leaf (rwx now); the
             * raw walker re-reads it from the overlay. */
            if (use_raw(od, cpu))
                ovl_set_leaf(od, mem, o->nr_frames, ov, g, od_type(od, g));
            return OHX_RETRY;
        case OMA_PAUSED:
            out->final = OR_PAUSED;
            return OHX_DONE;
        case OMA_BLOCKED:
            out->final = OR_BLOCKED;
            return OHX_DONE;
        case OMA_CRASH:
            return OHX_DONE;
        }
    }
    /* Paged out: populate for this vCPU (oracle/paging.c); a gfn
     * being paged in just faults again until prep. */
    if (t == p2m_ram_paged || t == p2m_ram_paging_out) {
        int f = oracle_populate(od, g, o->cur_vcpu);
        /* p2m_mem_paging_populate() rewrote the leaf as ram_paging_in
         * (same frame and access).  The raw walker's overlay may hold g's
         * leaf already, from an rx2rw / n2rwx rewrite earlier in this
         * access, which the engine would then compare as it was before
         * the populate (found by the fuzzer, seeds 3 and 5: an n2rwx
         * event on a nominated gfn in an EPT A/D domain,
         * scenarios/fuzz-found/n2rwx_paging_out_ad.lua). */
        if (use_raw(od, cpu) && od_type(od, g) == p2m_ram_paging_in)
            ovl_set_leaf(od, mem, o->nr_frames, ov, g, p2m_ram_paging_in);
        if (f == OR_OK)
            return OHX_RETRY;
        out->final = (enum oracle_final)f;
        return OHX_DONE;
    }
    if (t == p2m_ram_paging_in) {
        out->final = OR_BLOCKED;
        return OHX_DONE;
    }
    /* A write to a shared page (EPT r-x): unshared (oracle/sharing.c),
     * logged, re-executed; no page for the copy and no sharing ring
     * to wait on: the domain is crashed.  The copy must equal the
     * shared frame but for the 8-byte words this write touches. */
    if ((a->qual & EPTQ_WRITE) && t == p2m_ram_shared) {
        uint64_t off = a->xgpa & ~PAGE_MASK & ~7ULL;
        uint64_t hi = off + 16 > PAGE_SIZE ? PAGE_SIZE : off + 16;
        if (oracle_unshare(o, od, g, false, true, off, hi))
            return OHX_DONE; /* OR_CRASH */
        oracle_mark(od, g, true);
        return OHX_RETRY;
    }
    /* A write to an ioreq_server page goes to the ioreq server (no
     * device model attached: like mmio_dm). */
    if ((a->qual & EPTQ_WRITE) && t == p2m_ioreq_server) {
        /* handle_mmio(): the emulator walks the guest tables too. */
        emulated_ad(od, a, mem, o->nr_frames, k == ACC_WRITE, out);
        out->final = OR_MMIO;
        out->gpa = _gpa(a->xgpa);
        return OHX_DONE;
    }
    /* A write to read-only RAM is emulated and dropped. */
    if ((a->qual & EPTQ_WRITE) && t == p2m_ram_ro) {
        emulated_ad(od, a, mem, o->nr_frames, k == ACC_WRITE, out);
        out->final = OR_DISCARD;
        out->gpa = _gpa(a->xgpa);
        return OHX_DONE;
    }
    if ((a->qual & EPTQ_WRITE) && t == p2m_ram_logdirty) {
        /* paging_mark_pfn_dirty() + p2m_change_type_one(logdirty->rw),
         * then the vCPU re-executes the access. */
        oracle_mark(od, g, true);
        /* p2m_change_type_one(): order 0, default access. */
        oracle_split(o, od, g);
        OD_TYPE_W(od, g) = p2m_ram_rw;
        OD_ACCESS_W(od, g) = p2m_access_rwx;
        if (use_raw(od, cpu))
            ovl_set_leaf(od, mem, o->nr_frames, ov, g, p2m_ram_rw);
        return OHX_RETRY;
    }
    if (t == p2m_mmio_dm || t == p2m_invalid) {
        emulated_ad(od, a, mem, o->nr_frames, k == ACC_WRITE, out);
        out->final = OR_MMIO;
        out->gpa = _gpa(a->xgpa);
        /* No device model: reads float high. */
        out->value = k == ACC_READ
                         ? (width >= 8 ? ~0ULL : (1ULL << (8 * width)) - 1)
                         : 0;
        return OHX_DONE;
    }
    /* After an rx2rw promotion: RAM's "spurious fault" path marks a
     * write dirty and re-executes. */
    if (fall_through) {
        if ((a->qual & EPTQ_WRITE) && p2m_is_ram(t))
            oracle_mark(od, g, true);
        return OHX_RETRY;
    }
    return OHX_DONE; /* OR_CRASH: domain_crash() */
}

static void oracle_access_attempts(struct oracle *o, struct oracle_dom *od,
                                   const struct oracle_cpu *cpu,
                                   const struct hostmem *mem, gva_t va,
                                   enum access_kind k, unsigned width,
                                   const struct oracle_psc *start,
                                   struct oracle_ovl *ov,
                                   struct oracle_expect *out)
{
    for (unsigned n = 0; n < ORACLE_MAX_EXITS; n++) {
        struct attempt a;
        /* The last exit's async mem_access event left the vCPU asleep on
         * a full monitor ring or black-eyed: it does not re-execute. */
        if (n && oracle_monitor_hold(od, o->cur_vcpu) != OR_OK) {
            out->final = (enum oracle_final)oracle_monitor_hold(od, o->cur_vcpu);
            return;
        }
        attempt(od, cpu, mem, o->nr_frames, ov, gva_x(va), k, start, &a);
        if (a.end == AT_OK) {
            /* Shadow paging: each page-table frame whose A/D bits the
             * hypervisor set is logged dirty (paging_mark_dirty() in
             * guest_walk_tables()). */
            if (od->shadow)
                for (unsigned i = 0; i < a.nent; i++)
                    if (a.add[i])
                        oracle_mark(od, a.ent[i].gpa >> PAGE_SHIFT, true);
            predict_ok(&a, mem, o->nr_frames, k, width, out);
            out->npsc = a.npsc;
            memcpy(out->psc, a.psc, sizeof(a.psc));
            out->npwc = a.npwc;
            memcpy(out->pwc, a.pwc, sizeof(a.pwc));
            out->r_user = a.all_u;
            out->r_write = a.all_w;
            out->r_nx = a.nx;
            out->r_dirty = a.dirty;
            out->r_global = a.global;
            out->r_pkey = a.pkey;
            out->r_shift = a.pshift;
            out->refs = a.refs;
            out->refs_valid = true;
            out->memtype = a.memtype;
            out->ept_shift = a.eshift;
            out->ipat = a.ipat;
            return;
        }
        if (a.end == AT_GP) {
            out->final = OR_GP;
            return;
        }
        if (a.end == AT_PF) {
            out->final = OR_PF;
            out->pf_ec = a.pf_ec;
            out->cr2 = _gva(a.cr2);
            out->refs = a.refs;
            out->refs_valid = true;
            return;
        }
        struct oracle_exit *x = &out->exits[out->nexits++];
        x->kind = a.xkind;
        x->qual = a.xkind == OR_EXIT_EPT_VIOLATION || a.xkind == OR_EXIT_NPF ||
            a.xkind == OR_EXIT_SHADOW_PF
                      ? a.qual : 0;
        x->gpa = _gpa(a.xgpa);
        x->gla = _gva(a.cr2);
        if (oracle_handle_exit(o, od, cpu, mem, &a, k, width, ov, out) == OHX_RETRY)
            continue;
        return;
    }
    /* Every attempt exited: the vCPU livelocks; the engine calls it a crash. */
}

static bool pae_load_mov(struct oracle *o, struct oracle_dom *od,
                         const struct oracle_cpu *cpu, const struct hostmem *mem,
                         uint64_t out[4], bool *gp, struct oracle_ovl *ov,
                         struct oracle_expect *x)
{
    uint64_t pdpt = cpu->cr3 & 0xFFFFFFE0u;
    /* One overlay across the attempts, as for a guest access: the EPT
     * A flags of the attempt that succeeds, and a leaf the handler
     * rewrote for the retry (raw walks). */
    for (unsigned n = 0; n < ORACLE_MAX_EXITS; n++) {
        struct attempt a;
        memset(&a, 0, sizeof(a));
        bool exited = false;
        /* The four PDPTE reads, in order, each through the EPT (SDM
         * 29.3.3.2: PDPTE loads use guest-physical addresses) as a read
         * (SDM 29.3.5: not a paging-structure write under EPT A/D). */
        for (unsigned i = 0; i < 4 && !exited; i++) {
            struct xlate xl;
            nested(od, cpu, mem, o->nr_frames, ov, pdpt + 8 * i, ACC_READ, false,
                   false, &xl);
            if (xl.ok) {
                out[i] = oracle_peek64(mem, o->nr_frames, xl.hpa & ~7ULL);
                continue;
            }
            exited = true;
            a.end = AT_EXIT;
            a.xkind = xl.xkind;
            /* SDM Table 28-7, bit 7: the guest-linear-address field is
             * not valid for a PDPTE load by MOV CR (so bit 8 is 0 too);
             * bits 0-5 as for any read. */
            a.qual = xl.qual & ~(EPTQ_GLA_VALID | EPTQ_GLA_XLATE);
            a.xgpa = pdpt + 8 * i;
        }
        if (!exited) {
            /* SDM 4.4.1: the reserved-bit #GP(0), as in oracle_pae_load(). */
            for (unsigned i = 0; i < 4; i++)
                if ((out[i] & PTE_P) && o_reserved(cpu, OM_PAE3, 0, false, out[i])) {
                    *gp = true;
                    x->final = OR_GP;
                    return false;
                }
            return true;
        }
        struct oracle_exit *e = &x->exits[x->nexits++];
        e->kind = a.xkind;
        e->qual = a.xkind == OR_EXIT_EPT_VIOLATION ? a.qual : 0;
        e->gpa = _gpa(a.xgpa);
        e->gla = _gva(0);
        x->final = OR_CRASH;
        /* The MOV is re-executed after a fix-up (PoD populated, page-in
         * done, access restriction lifted); anything else leaves it
         * undone: the domain crashed (a misconfiguration; no P2M entry;
         * mmio_dm, whose emulation of the MOV ends in vmx_load_pdptrs()
         * finding no RAM page and crashing the domain) or the vCPU paused
         * / asleep for a listener or the pager. */
        if (oracle_handle_exit(o, od, cpu, mem, &a, ACC_READ, 8, ov, x) == OHX_RETRY) {
            x->final = OR_OK;
            continue;
        }
        if (x->final == OR_MMIO || x->final == OR_DISCARD)
            x->final = OR_CRASH;
        return false;
    }
    x->final = OR_CRASH; /* every attempt exited: a livelock */
    return false;
}

bool oracle_pae_load_mov(struct oracle *o, domid_t d, const struct oracle_cpu *cpu,
                         const struct hostmem *mem, uint64_t out[4], bool *gp,
                         struct oracle_expect *x)
{
    memset(x, 0, sizeof(*x));
    x->final = OR_OK;
    *gp = false;
    struct oracle_dom *od = oracle_dom_find(o, d);
    if (!od || o_mode(cpu) != OM_PAE3 || !pae_has_regs(od))
        return false;
    /* Shadow paging: the hypervisor intercepts the MOV and reads the
     * PDPTEs itself; an untranslatable one is not modelled as an exit
     * (the registers stay unloaded, as oracle_pae_load() says). */
    if (od->shadow) {
        bool ok = oracle_pae_load_x(o, d, cpu, mem, out, gp, x);
        x->final = *gp ? OR_GP : OR_OK;
        return ok;
    }
    struct oracle_ovl ov = { 0 };
    bool ok = pae_load_mov(o, od, cpu, mem, out, gp, &ov, x);
    /* The EPT entries as the load leaves them (A flags set, a leaf the
     * handler rewrote), as for a guest access. */
    pae_ept_out(&ov, x);
    return ok;
}
