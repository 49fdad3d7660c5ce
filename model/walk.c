/* SPDX-License-Identifier: MIT */
/*
 * model/walk.c - one guest access: the guest walk nested in EPT.
 *
 * Models SDM Vol. 3A 4.1-4.5 (32-bit, PAE, 4-level and 5-level paging with
 * 4 KiB, 2 MiB, 4 MiB and 1 GiB pages; canonical addresses; reserved bits),
 * 4.6 (access rights: U/S, R/W with CR0.WP, NX with EFER.NXE, SMEP, SMAP
 * with EFLAGS.AC and implicit supervisor accesses, PKRU and PKRS), 4.7 (#PF
 * error code), 4.8 (accessed and dirty flags) and Vol. 3C 29.3.3.2 (guest
 * A/D updates are EPT data writes), as specified in
 * docs/translation-rules.md.
 *
 * One parameterised walker (after KVM's paging_tmpl.h): a small table gives
 * each mode's geometry (levels, entry size, index bits), a function gives the
 * reserved bits of an entry at a level.  Before each guest paging-structure
 * entry is read, its guest-physical address goes through ept_translate() as
 * a paging-structure read; the final gpa then goes through the EPT with the
 * access's own kind.  The order of the phases is the precedence of faults:
 *
 *   0. address   #GP for a non-canonical address (4-/5-level)
 *   1. walk      EPT exit on an entry's gpa, #PF not-present, #PF RSVD
 *                (#GP for a reserved PAE PDPTE)
 *   2. rights    #PF protection (U/S, R/W, NX, SMEP, SMAP, PK)
 *   3. final     EPT exit on the final gpa
 *   4. A/D       EPT write violation on the first entry to update
 *   5. commit    A/D bits written -- the only memory write, so a fault or
 *                exit in 0-4 leaves memory untouched
 */
#include "pagesim/mmu.h"
#include "pagesim/mutant.h"

#define MMU_MAX_LEVELS 5

/* Geometry of one paging mode; arrays are indexed by level (1 = PTE). */
struct mmu_geom {
    int levels;
    unsigned esize;                     /* bytes per entry */
    unsigned shift[MMU_MAX_LEVELS + 1]; /* va bit where the index starts */
    unsigned ibits[MMU_MAX_LEVELS + 1]; /* index width */
    unsigned large;                     /* levels where PS=1 maps a page */
};

static const struct mmu_geom mmu_geoms[] = {
    [MMU_MODE_32] = { 2, 4, { 0, 12, 22 }, { 0, 10, 10 }, 1u << 2 },
    [MMU_MODE_PAE] = { 3, 8, { 0, 12, 21, 30 }, { 0, 9, 9, 2 }, 1u << 2 },
    [MMU_MODE_4L] = { 4, 8, { 0, 12, 21, 30, 39 }, { 0, 9, 9, 9, 9 },
                      1u << 2 | 1u << 3 },
    [MMU_MODE_5L] = { 5, 8, { 0, 12, 21, 30, 39, 48 }, { 0, 9, 9, 9, 9, 9 },
                      1u << 2 | 1u << 3 },
};

enum mmu_mode mmu_mode_of(const struct mmu_cpu *cpu)
{
    if (!(cpu->cr0 & X86_CR0_PG))
        return MMU_MODE_NONE;
    if (!(cpu->cr4 & X86_CR4_PAE))
        return MMU_MODE_32;
    if (!(cpu->efer & X86_EFER_LMA))
        return MMU_MODE_PAE;
    return (cpu->cr4 & X86_CR4_LA57) ? MMU_MODE_5L : MMU_MODE_4L;
}

/* Bits 51:MAXPHYADDR. */
static uint64_t mmu_above_maxphy(unsigned maxphy)
{
    if (!maxphy || maxphy >= 52)
        return 0;
    return ((1ULL << 52) - 1) & ~((1ULL << maxphy) - 1);
}

/* Reserved bits of a present entry at 'level' (SDM 4.3-4.5; rules "Reserved
 * bits").  'leaf' says PS=1 made it a large-page leaf (level > 1). */
static uint64_t mmu_rsvd(enum mmu_mode m, int level, bool leaf, bool nxe,
                         unsigned maxphy)
{
    uint64_t r;
    if (m == MMU_MODE_32)
        return leaf ? 0x3FE000ULL : 0; /* 4 MiB PDE, PSE-36 off: 21:13 */
    r = mmu_above_maxphy(maxphy);
    if (!nxe)
        r |= PTE_NX;
    if (m == MMU_MODE_PAE) {
        if (level == 3) /* PDPTE register: 2:1, 8:5, 63:MAXPHYADDR */
            return mmu_above_maxphy(maxphy) | 0x1E6ULL | 0xFFF0000000000000ULL;
        r |= 0x7FF0000000000000ULL; /* 62:52 */
    }
    if (level >= 4)
        r |= PTE_PS;
    if (leaf)
        r |= level == 3 ? 0x3FFFE000ULL : 0x1FE000ULL; /* 29:13 / 20:13 */
    if (MUTANT(MUT_NO_RSVD_MAXPHY))
        r &= ~mmu_above_maxphy(maxphy);
    return r;
}

/* SDM 4.4.1 (Table 4-8): does a PDPTE a PAE-mode load reads have P set
 * and a reserved bit (2:1, 8:5, 63:MAXPHYADDR)?  Then the instruction that
 * loads the PDPTE registers (MOV CR3 here) faults with #GP(0) instead. */
bool mmu_pae_pdpte_reserved(const struct mmu_cpu *cpu, uint64_t pdpte)
{
    return (pdpte & PTE_P) &&
           (pdpte & mmu_rsvd(MMU_MODE_PAE, 3, false, false, cpu->maxphyaddr));
}

/* One guest paging-structure entry used by the walk. */
struct mmu_entry {
    gpa_t gpa;
    hpa_t hpa;
    uint64_t val;
};

static void mmu_pf(struct mmu_result *res, uint32_t ec, gva_t va)
{
    res->outcome = MMU_PF;
    res->pf_ec = ec;
    res->cr2 = va;
}

static void mmu_gp(struct mmu_result *res)
{
    res->outcome = MMU_GP;
}

/* The A/D bits the access must set in the entry at 'level' (0: none). */
static uint64_t mmu_ad_bits(enum mmu_mode m, uint64_t e, int level, int leaf,
                            enum access_kind k)
{
    if (m == MMU_MODE_PAE && level == 3)
        return 0; /* PDPTEs have no accessed flag */
    uint64_t set = PTE_A;
    if (level == leaf && k == ACC_WRITE && !MUTANT(MUT_NO_DIRTY_BIT) &&
        !(m == MMU_MODE_32 && level == 2 && MUTANT(MUT_PSE_NO_DIRTY)))
        set |= PTE_D;
    return set & ~e;
}

/* Protection-key rights check (SDM 4.6.2): the PK bit if the key denies. */
static uint32_t mmu_pk(uint32_t reg, unsigned key, bool write, bool uacc,
                       bool wp)
{
    unsigned ad = (reg >> (2 * key)) & 1, wd = (reg >> (2 * key + 1)) & 1;
    if (ad || (wd && write && (uacc || wp) && !MUTANT(MUT_PK_IGNORE_WD)))
        return PFEC_PK;
    return 0;
}

/* Access rights (SDM 4.6): the #PF error-code bits P (and PK) of a
 * protection fault, or 0. */
static uint32_t mmu_rights(const struct mmu_cpu *cpu, enum mmu_mode m,
                           enum access_kind k, bool uacc, uint64_t rights,
                           bool nx, uint64_t leaf)
{
    bool upage = (rights & PTE_U) != 0;
    bool write = k == ACC_WRITE, fetch = k == ACC_FETCH;
    bool wp = (cpu->cr0 & X86_CR0_WP) && !MUTANT(MUT_IGNORE_WP);
    bool fault = false;
    uint32_t pk = 0;

    if (uacc && !upage)
        fault = true;
    if (write && !(rights & PTE_W) && (uacc || wp))
        fault = true;
    if (fetch) {
        if (nx && m >= MMU_MODE_PAE && (cpu->efer & X86_EFER_NXE))
            fault = true;
        if (!uacc && upage && (cpu->cr4 & X86_CR4_SMEP))
            fault = true;
    } else {
        bool ac = (cpu->rflags & X86_RFLAGS_AC) != 0;
        if (MUTANT(MUT_SMAP_IGNORE_AC))
            ac = false;
        if (!uacc && upage && (cpu->cr4 & X86_CR4_SMAP)
            && (cpu->implicit || !ac))
            fault = true;
        if (m >= MMU_MODE_4L) {
            unsigned key = (unsigned)(leaf >> 59) & 15;
            if (upage && (cpu->cr4 & X86_CR4_PKE))
                pk = mmu_pk(cpu->pkru, key, write, uacc, wp);
            else if (!upage && (cpu->cr4 & X86_CR4_PKS))
                pk = mmu_pk(cpu->pkrs, key, write, uacc, wp);
        }
    }
    if (pk)
        fault = true;
    return fault ? PFEC_P | pk : 0;
}

static uint64_t mmu_read_entry(struct hostmem *hm, hpa_t a, unsigned esize)
{
    /* Outside host memory reads as not present. */
    if (esize == 8) {
        uint64_t v = 0;
        (void)hostmem_read64(hm, a, &v);
        return v;
    }
    uint32_t v = 0;
    (void)hostmem_read(hm, a, &v, 4);
    return v;
}

/* ---- the fast path ------------------------------------------------------------ */

#define FAST_INLINE static inline __attribute__((always_inline))

/* An 8-byte-aligned entry: as hostmem_read64(), without the alignment
 * check (table + 8 * index is aligned). */
FAST_INLINE uint64_t fast_rd(const struct hostmem *hm, uint64_t a)
{
    uint64_t f = a >> PAGE_SHIFT, v = 0;
    if (f >= hm->nr_frames)
        return 0;
    uint8_t **chunk = hm->dir[f >> HM_CHUNK_SHIFT];
    const uint8_t *fr = chunk ? chunk[f & ((1u << HM_CHUNK_SHIFT) - 1)] : NULL;
    if (fr)
        __builtin_memcpy(&v, fr + (a & ~PAGE_MASK), sizeof(v));
    return v;
}

/* A host-side lookup memo (not a modelled cache: every entry is still
 * read from host memory): the frame each EPT level used last, so that the
 * five EPT walks of one 2D walk, which mostly share their upper tables,
 * skip hostmem's directory for them. */
struct fast_memo {
    uint64_t f[6];
    const uint8_t *p[6];
    /* And the entry each EPT level read last, with its address: the
     * fast path writes nothing (no A/D), so within one walk the same
     * address holds the same value, and the four EPT walks of the guest
     * tables, which mostly share their upper levels, take those entries
     * from here -- the walk's chain of dependent loads gets shorter; every
     * entry is still counted, logged and checked. */
    uint64_t ea[6], e[6];
};

FAST_INLINE uint64_t fast_rd_memo(const struct hostmem *hm, uint64_t a,
                                  struct fast_memo *mm, int level)
{
    if (mm->ea[level] == a)
        return mm->e[level];
    uint64_t f = a >> PAGE_SHIFT, v = 0;
    const uint8_t *fr;
    mm->ea[level] = a;
    if (mm->f[level] == f) {
        fr = mm->p[level];
    } else {
        if (f >= hm->nr_frames)
            return 0;
        uint8_t **chunk = hm->dir[f >> HM_CHUNK_SHIFT];
        fr = chunk ? chunk[f & ((1u << HM_CHUNK_SHIFT) - 1)] : NULL;
        mm->f[level] = f;
        mm->p[level] = fr;
    }
    if (fr)
        __builtin_memcpy(&v, fr + (a & ~PAGE_MASK), sizeof(v));
    mm->e[level] = v;
    return v;
}

/* One EPT walk of the common kind: no A/D, PML, MBEC, NPT or caches (the
 * caller checked), LEVELS a constant so the loop unrolls.  True with *hpa
 * etc. when the walk ends in a present, well-configured leaf whose R/W/X
 * AND has 'need'; false when ept.c would report an exit or a
 * misconfiguration (it then runs and reports it).  Reads only; *nref counts
 * the entries read, each logged. */
FAST_INLINE bool fast_ept(const struct hostmem *hm, const struct mmu_ept *ept,
                          const int levels, uint64_t above, uint64_t gpa,
                          uint64_t need, uint64_t *hpa, uint64_t *leafe,
                          unsigned *shift, unsigned *perm, unsigned *nref,
                          struct fast_memo *mm, const bool log)
{
    uint64_t table = mfn_x(ept->root) << PAGE_SHIFT, p = 7;
    unsigned n = 0;
#pragma GCC unroll 5
    for (int level = levels; level >= 1; level--) {
        const unsigned sh = PAGE_SHIFT + 9 * (unsigned)(level - 1);
        uint64_t ea = table + 8 * ((gpa >> sh) & 511);
        uint64_t e = fast_rd_memo(hm, ea, mm, level);
        if (log && !ept->shadow) /* shadow paging: the P2M lookup is not a reference */
            mmu_log_ref(ept->reflog, ea);
        n++;
        /* ept.c's exits, in one test: R/W/X = 000 (not present), 010 or
         * 110 (W without R) -- bits 0, 2, 6 of 0x45 -- or bits above
         * MAXPHYADDR. */
        if (((0x45u >> (e & 7)) & 1) || (e & above))
            goto out;
        p &= e;
        if (level >= 4 || (level > 1 && !(e & EPT_PS))) {
            /* Reserved bits 7:3 (PML4E/PML5E) or 6:3 (PDPTE/PDE). */
            if (e & (level >= 4 ? 0xF8ULL : 0x78ULL))
                goto out;
            table = e & EPT_ADDR_MASK;
            continue;
        }
        /* A leaf: memory types 2, 3 and 7 (bits of 0x8C) are reserved, so
         * are a large leaf's address bits below its size. */
        uint64_t low = (1ULL << sh) - 1;
        if (((0x8Cu >> ((e >> 3) & 7)) & 1) || (e & low & ~0xFFFULL)
            || (p & need) != need)
            goto out;
        *nref += n;
        *shift = sh;
        *hpa = (e & EPT_ADDR_MASK & ~low) | (gpa & low);
        *leafe = e;
        *perm = (unsigned)p;
        return true;
    }
out:
    *nref += n;
    return false;
}

/* The common access, without the general walker's bookkeeping: IA-32e
 * paging (GLEV = 4 or 5 levels) over an ELEV-level EPT without A/D, PML,
 * MBEC, NPT, paging-structure caches or mutants, no PSC start, every entry
 * present with nothing reserved and A (and the leaf's D for a write)
 * already set, rights that allow the access.  It makes exactly the
 * references mmu_translate_psc() would, in the same order, and fills *res
 * as it would; for anything else it returns false having changed nothing
 * but *res (which the general walker rewrites) and the reference log
 * (restored). */
FAST_INLINE bool mmu_fast_n(struct hostmem *hm, const struct mmu_cpu *cpu,
                            const struct mmu_ept *ept, const int glev,
                            const int elev, uint64_t va, enum access_kind k,
                            struct mmu_result *res, const bool log)
{
    enum mmu_mode m = glev == 5 ? MMU_MODE_5L : MMU_MODE_4L;
    unsigned n0 = ept->reflog ? ept->reflog->n : 0;
    bool uacc = cpu->cpl == 3 && !cpu->implicit;
    bool nxe = (cpu->efer & X86_EFER_NXE) != 0;
    uint64_t eabove = mmu_above_maxphy(ept->maxphyaddr);
    /* Reserved in every present IA-32e entry (SDM 4.5); PS at levels 4-5
     * and the large leaves' low address bits are added below. */
    uint64_t rs = mmu_above_maxphy(cpu->maxphyaddr) | (nxe ? 0 : PTE_NX);
    uint64_t table = cpu->cr3 & PTE_ADDR_MASK, v = 0, rights = PTE_U | PTE_W;
    uint64_t hpa, ee;
    unsigned sh, ep, eref = 0, gref = 0;
    bool nx = false;
    int level;
    /* No frame number is ~0 (hostmem has fewer frames), no entry address
     * (8-byte aligned) is. */
    struct fast_memo mm = { { ~0ULL, ~0ULL, ~0ULL, ~0ULL, ~0ULL, ~0ULL }, { 0 },
                            { ~0ULL, ~0ULL, ~0ULL, ~0ULL, ~0ULL, ~0ULL }, { 0 } };
#pragma GCC unroll 5
    for (level = glev; level >= 1; level--) {
        const unsigned vs = PAGE_SHIFT + 9 * (unsigned)(level - 1);
        uint64_t gpa = table + 8 * ((va >> vs) & 511);
        if (!fast_ept(hm, ept, elev, eabove, gpa, EPT_R, &hpa, &ee, &sh, &ep, &eref, &mm, log))
            goto slow;
        v = fast_rd(hm, hpa);
        if (log)
            mmu_log_ref(ept->reflog, hpa);
        gref++;
        if (!(v & PTE_P) || !(v & PTE_A))
            goto slow;
        bool big = (level == 2 || level == 3) && (v & PTE_PS);
        uint64_t r = rs | (level >= 4 ? PTE_PS : 0)
                     | (big ? (level == 3 ? 0x3FFFE000ULL : 0x1FE000ULL) : 0);
        if (v & r)
            goto slow;
        rights &= v;
        nx |= (v & PTE_NX) != 0;
        if (level == 1 || big)
            break;
        table = v & PTE_ADDR_MASK;
    }
    if (k == ACC_WRITE && !(v & PTE_D))
        goto slow;
    /* Rights (SDM 4.6): without SMEP, SMAP or keys only U/S, R/W with
     * CR0.WP and XD can fault; otherwise the full check. */
    if (cpu->cr4 & (X86_CR4_SMEP | X86_CR4_SMAP | X86_CR4_PKE | X86_CR4_PKS)) {
        if (mmu_rights(cpu, m, k, uacc, rights, nx, v))
            goto slow;
    } else if ((uacc && !(rights & PTE_U))
               || (k == ACC_WRITE && !(rights & PTE_W)
                   && (uacc || (cpu->cr0 & X86_CR0_WP)))
               || (k == ACC_FETCH && nx && nxe)) {
        goto slow;
    }
    unsigned pshift = PAGE_SHIFT + 9 * (unsigned)(level - 1);
    uint64_t off = (1ULL << pshift) - 1;
    uint64_t gpa = (v & PTE_ADDR_MASK & ~off) | (va & off);
    static const uint64_t need[] = { EPT_R, EPT_W, EPT_X };
    if (!fast_ept(hm, ept, elev, eabove, gpa, need[k], &hpa, &ee, &sh, &ep, &eref, &mm, log))
        goto slow;
    res->outcome = MMU_OK;
    res->gpa = _gpa(gpa);
    res->hpa = _hpa(hpa);
    res->guest_refs = gref;
    res->ept_refs = ept->shadow ? 0 : eref; /* 1D: the P2M costs nothing */
    res->refs = gref + res->ept_refs;
    res->page_shift = pshift;
    res->ept_memtype = (unsigned)(ee >> 3) & 7;
    res->ept_ipat = (ee & EPT_IPAT) != 0;
    res->ept_shift = sh;
    res->ept_perm = ep;
    res->rights = ((rights & PTE_U) ? MMU_R_U : 0) | ((rights & PTE_W) ? MMU_R_W : 0)
                  | (nx && nxe ? MMU_R_NX : 0)
                  | ((v & PTE_D) ? MMU_R_D : 0)
                  | ((v & PTE_G) && (cpu->cr4 & X86_CR4_PGE) ? MMU_R_G : 0);
    res->pkey = (unsigned)(v >> 59) & 15;
    return true;
slow:
    if (ept->reflog)
        ept->reflog->n = n0;
    return false;
}

/* The walk below a paging-structure-cache entry whose next entry is the
 * leaf (a cached PDE and a 4 KiB PTE, or a cached PDPTE and a 2 MiB PDE):
 * one guest entry read at the cached host address, then the final EPT
 * walk, from the deepest EPT PSC entry.  The same conditions as
 * mmu_fast_n() (no EPT A/D, PML, MBEC, NPT, mutants; nothing to set, no
 * fault, no exit).  The EPT PSC use and fills are made only once the
 * access is known to complete, in the order ept.c makes them (lookup, then
 * fills top down), so a fall back to the general walker leaves no trace. */
static bool mmu_fast_psc(struct hostmem *hm, const struct mmu_cpu *cpu,
                         const struct mmu_ept *ept, enum mmu_mode m,
                         uint64_t va, enum access_kind k,
                         const struct mmu_psc_start *start,
                         struct mmu_walklog *wlog, struct mmu_result *res)
{
    unsigned vtop = m == MMU_MODE_5L ? 56 : 47;
    if ((uint64_t)((int64_t)(va << (63 - vtop)) >> (63 - vtop)) != va)
        return false; /* #GP: the general walker */
    int level = start->level - 1;
    unsigned idx = (unsigned)(va >> (PAGE_SHIFT + 9 * (level - 1))) & 511;
    uint64_t ehpa = start->table_hpa + 8 * idx;
    uint64_t v = fast_rd(hm, ehpa);
    bool nxe = (cpu->efer & X86_EFER_NXE) != 0;
    bool big = (level == 2 || level == 3) && (v & PTE_PS);
    if (!(v & PTE_P) || !(v & PTE_A) || (level != 1 && !big)
        || (k == ACC_WRITE && !(v & PTE_D)))
        return false;
    uint64_t r = mmu_above_maxphy(cpu->maxphyaddr) | (nxe ? 0 : PTE_NX)
                 | (big ? (level == 3 ? 0x3FFFE000ULL : 0x1FE000ULL) : 0);
    if (v & r)
        return false;
    uint64_t rights = start->rights & v & (PTE_U | PTE_W);
    bool nx = (start->rights & PTE_NX) || (v & PTE_NX);
    bool uacc = cpu->cpl == 3 && !cpu->implicit;
    if (mmu_rights(cpu, m, k, uacc, rights, nx, v))
        return false;
    unsigned pshift = PAGE_SHIFT + 9 * (unsigned)(level - 1);
    uint64_t off = (1ULL << pshift) - 1;
    uint64_t gpa = (v & PTE_ADDR_MASK & ~off) | (va & off);

    /* The final EPT walk, from the deepest EPT PSC entry (peeked: used and
     * counted below only if the walk completes). */
    int elev = ept->levels == 5 ? 5 : 4, top = elev, cl = 0;
    uint64_t table = mfn_x(ept->root) << PAGE_SHIFT, p = 7, ct, cp;
    if (ept->epsc && mmu_epsc_peek(ept->epsc, mfn_x(ept->root), gpa, elev,
                                   &cl, &ct, &cp)) {
        top = cl - 1;
        table = ct;
        p = cp & 7;
    }
    uint64_t p0 = p, above = mmu_above_maxphy(ept->maxphyaddr);
    uint64_t ents[6], e = 0, eas[6];
    int el;
    static const uint64_t need[] = { EPT_R, EPT_W, EPT_X };
    for (el = top; el >= 1; el--) {
        unsigned sh = PAGE_SHIFT + 9 * (unsigned)(el - 1);
        uint64_t ea = table + 8 * ((gpa >> sh) & 511);
        e = fast_rd(hm, ea);
        eas[el] = ea;
        if (((0x45u >> (e & 7)) & 1) || (e & above))
            return false;
        p &= e;
        ents[el] = e;
        if (el >= 4 || (el > 1 && !(e & EPT_PS))) {
            if (e & (el >= 4 ? 0xF8ULL : 0x78ULL))
                return false;
            table = e & EPT_ADDR_MASK;
            continue;
        }
        break;
    }
    if (el < 1)
        return false;
    unsigned esh = PAGE_SHIFT + 9 * (unsigned)(el - 1);
    uint64_t low = (1ULL << esh) - 1;
    if (((0x8Cu >> ((e >> 3) & 7)) & 1) || (e & low & ~0xFFFULL)
        || (p & need[k]) != need[k])
        return false;

    /* It completes: the references, the EPT PSC use and fills. */
    mmu_log_ref(ept->reflog, ehpa);
    for (int l = top; l >= el && !ept->shadow; l--)
        mmu_log_ref(ept->reflog, eas[l]);
    unsigned skipped = cl ? (unsigned)(elev - cl + 1) : 0;
    if (cl) {
        int l2;
        mmu_epsc_lookup(ept->epsc, mfn_x(ept->root), gpa, elev, &l2, &ct, &cp);
    }
    if (ept->epsc) {
        uint64_t q = p0;
        for (int l = top; l > el; l--) {
            q &= ents[l] & 7;
            mmu_epsc_fill(ept->epsc, mfn_x(ept->root), gpa, l,
                          ents[l] & EPT_ADDR_MASK, q);
        }
    }
    unsigned eref = ept->shadow ? 0 : (unsigned)(top - el + 1) + skipped;
    res->outcome = MMU_OK;
    res->gpa = _gpa(gpa);
    res->hpa = _hpa((e & EPT_ADDR_MASK & ~low) | (gpa & low));
    res->guest_refs = 1;
    res->ept_refs = eref;
    res->refs = 1 + eref;
    res->epsc_saved = skipped;
    res->page_shift = pshift;
    res->ept_memtype = (unsigned)(e >> 3) & 7;
    res->ept_ipat = (e & EPT_IPAT) != 0;
    res->ept_shift = esh;
    res->ept_perm = (unsigned)(p & 7);
    res->rights = ((rights & PTE_U) ? MMU_R_U : 0) | ((rights & PTE_W) ? MMU_R_W : 0)
                  | (nx && nxe ? MMU_R_NX : 0)
                  | ((v & PTE_D) ? MMU_R_D : 0)
                  | ((v & PTE_G) && (cpu->cr4 & X86_CR4_PGE) ? MMU_R_G : 0);
    res->pkey = (unsigned)(v >> 59) & 15;
    if (wlog) {
        wlog->top = wlog->leaf = level;
        wlog->tbl_gpa[level] = start->table_gpa;
        wlog->tbl_hpa[level] = start->table_hpa;
        wlog->rights[level] = rights | (nx ? PTE_NX : 0);
    }
    return true;
}

static bool mmu_fast(struct hostmem *hm, const struct mmu_cpu *cpu,
                     const struct mmu_ept *ept, enum mmu_mode m, uint64_t va,
                     enum access_kind k, struct mmu_result *res)
{
    bool e5 = ept->levels == 5;
    /* Without a reference log (no TLB model: the costs are not wanted)
     * the walk is compiled without the logging. */
    if (!ept->reflog) {
        if (m == MMU_MODE_4L)
            return e5 ? mmu_fast_n(hm, cpu, ept, 4, 5, va, k, res, false)
                      : mmu_fast_n(hm, cpu, ept, 4, 4, va, k, res, false);
        return e5 ? mmu_fast_n(hm, cpu, ept, 5, 5, va, k, res, false)
                  : mmu_fast_n(hm, cpu, ept, 5, 4, va, k, res, false);
    }
    if (m == MMU_MODE_4L)
        return e5 ? mmu_fast_n(hm, cpu, ept, 4, 5, va, k, res, true)
                  : mmu_fast_n(hm, cpu, ept, 4, 4, va, k, res, true);
    return e5 ? mmu_fast_n(hm, cpu, ept, 5, 5, va, k, res, true)
              : mmu_fast_n(hm, cpu, ept, 5, 4, va, k, res, true);
}

void mmu_translate(struct hostmem *hm, const struct mmu_cpu *cpu,
                   const struct mmu_ept *ept, gva_t gva, enum access_kind k,
                   struct mmu_result *res)
{
    mmu_translate_psc(hm, cpu, ept, gva, k, NULL, NULL, res);
}

void mmu_translate_psc(struct hostmem *hm, const struct mmu_cpu *cpu,
                       const struct mmu_ept *ept, gva_t gva, enum access_kind k,
                       const struct mmu_psc_start *start,
                       struct mmu_walklog *wlog, struct mmu_result *res)
{
    struct mmu_entry ent[MMU_MAX_LEVELS + 1]; /* by level; [0] unused */
    ent[1].val = 0;
    enum mmu_mode m = mmu_mode_of(cpu);
    bool uacc = cpu->cpl == 3 && !cpu->implicit;
    bool nxe = (cpu->efer & X86_EFER_NXE) != 0;
    uint64_t va = gva_x(gva);

    mmu_result_clear(res); /* outcome MMU_OK (0) */

    /* 0. The linear address: 32 bits below IA-32e mode, canonical in it. */
    if (m <= MMU_MODE_PAE) {
        va &= 0xFFFFFFFFULL;
    } else {
        unsigned top = m == MMU_MODE_5L ? 56 : 47;
        int64_t sx = (int64_t)(va << (63 - top)) >> (63 - top);
        if ((uint64_t)sx != va) {
            mmu_gp(res);
            return;
        }
    }
    if (m >= MMU_MODE_4L && !ept->npt && !ept->ad && !ept->mbec && !ept->emulator
        && !pagesim_mutants) {
        if (start && start->level >= 2
            && start->level <= (m == MMU_MODE_5L ? 5 : 4)) {
            if (mmu_fast_psc(hm, cpu, ept, m, va, k, start, wlog, res))
                return;
        } else if (!start && !wlog && !ept->epsc) {
            if (mmu_fast(hm, cpu, ept, m, va, k, res))
                return;
        }
        mmu_result_clear(res); /* outcome MMU_OK (0) */
    }
    if (m == MMU_MODE_NONE) {
        /* No paging: the linear address is the guest-physical address. */
        res->page_shift = PAGE_SHIFT;
        ept_translate(hm, ept, _gpa(va), k, false, _gva(va), res);
        if (res->outcome == MMU_OK)
            res->gpa = _gpa(va);
        return;
    }

    const struct mmu_geom *g = &mmu_geoms[m];
    unsigned large = g->large;
    if (m == MMU_MODE_32 && !(cpu->cr4 & X86_CR4_PSE))
        large = 0;
    uint64_t amask = g->esize == 8 ? PTE_ADDR_MASK : 0xFFFFF000ULL;
    uint64_t table = m == MMU_MODE_PAE ? cpu->cr3 & 0xFFFFFFE0ULL
                                       : cpu->cr3 & amask;
    uint64_t rights = PTE_U | PTE_W; /* ANDed over the levels */
    bool nx = false;                 /* ORed over the levels */
    int leaf = 1, top = g->levels;
    /* A paging-structure-cache entry (SDM 4.10.3.2): the walk skips the
     * levels down to it, taking their rights from the cache. */
    if (start && start->level >= 2
        && start->level <= (m <= MMU_MODE_PAE ? 2 : top)) { /* 32/PAE: PDE */
        top = start->level - 1;
        table = start->table_gpa;
        rights = start->rights & (PTE_U | PTE_W);
        nx = (start->rights & PTE_NX) != 0;
    } else {
        start = NULL;
    }

    /* The #PF error code bits that depend only on the access. */
    uint32_t ec = (k == ACC_WRITE ? PFEC_W : 0)
                  | (uacc && !(m == MMU_MODE_PAE && MUTANT(MUT_PAE_EC_NO_U)) ? PFEC_U : 0)
                  | (k == ACC_FETCH && ((cpu->cr4 & X86_CR4_SMEP)
                                        || (m >= MMU_MODE_PAE && nxe))
                         ? PFEC_ID : 0);

    /* 1. The walk. */
    struct mmu_pwc *const pwc = ept->pwc; /* AMD page walk cache, or NULL */
    for (int level = top; level >= 1; level--) {
        struct mmu_entry *p = &ent[level];
        unsigned idx = (unsigned)(va >> g->shift[level])
                       & ((1u << g->ibits[level]) - 1);

        p->gpa = _gpa(table + g->esize * idx);
        if (__builtin_expect(pwc != NULL, 0) && level >= 2
            && !(m == MMU_MODE_PAE && level == 3)) {
            /* AMD page walk cache: the entry cached under its address
             * (whichever linear address's walk filled it) -- no memory
             * reference, no EPT walk.  Its accessed flag is set, so step
             * 5 never writes it back (hpa unused).  The walk log keeps
             * each entry's address and value for the fill (model/tlb.c);
             * out of the Intel walks' way. */
            if (wlog)
                wlog->ent_gpa[level] = gpa_x(p->gpa);
            if (mmu_pwc_lookup(pwc, level, gpa_x(p->gpa), &p->val)) {
                p->hpa = _hpa(0);
                if (wlog)
                    wlog->val[level] = p->val;
                goto have_entry;
            }
        }
        if (m == MMU_MODE_PAE && level == 3 && cpu->pdpte) {
            /* PAE: the PDPTE registers (SDM 4.4.1), loaded by MOV CR3 and
             * kept: no memory reference, no EPT walk, a PDPT edit since
             * the load is not seen.  Never written (no A flag). */
            p->hpa = _hpa(0);
            p->val = cpu->pdpte[idx];
        } else if (start && level == top) {
            /* The cached entry gave the table's host-physical address
             * (a combined mapping): no EPT walk for it. */
            p->hpa = _hpa(start->table_hpa + g->esize * idx);
        } else {
            ept_translate(hm, ept, p->gpa, ACC_READ, true, _gva(va), res);
            if (res->outcome != MMU_OK)
                return;
            p->hpa = res->hpa;
        }
        if (!(m == MMU_MODE_PAE && level == 3 && cpu->pdpte)) {
            if (wlog) {
                wlog->tbl_gpa[level] = table;
                wlog->tbl_hpa[level] = hpa_x(p->hpa) - g->esize * idx;
            }
            p->val = mmu_read_entry(hm, p->hpa, g->esize);
            if (__builtin_expect(pwc != NULL, 0) && wlog)
                wlog->val[level] = p->val;
            mmu_log_ref(ept->reflog, hpa_x(p->hpa));
            res->guest_refs++;
            res->refs++;
        }

    have_entry:
        if (!(p->val & PTE_P)) {
            mmu_pf(res, ec, _gva(va));
            return;
        }
        bool big = (large >> level & 1) && (p->val & PTE_PS);
        bool is_leaf = level == 1 || big;
        if (p->val & mmu_rsvd(m, level, big, nxe, cpu->maxphyaddr)) {
            /* A reserved PAE PDPTE: #GP, as the MOV that loads it gives
             * (SDM 4.4.1).  Under AMD nested paging nothing loads the
             * PDPEs: the walk reads them and checks them as any entry
             * (a #PF with P and RSVD, as KVM's nested-NPT walker and
             * Bochs' do). */
            if (m == MMU_MODE_PAE && level == 3 && !ept->npt)
                mmu_gp(res);
            else
                mmu_pf(res, ec | PFEC_P | PFEC_RSVD, _gva(va));
            return;
        }
        if (!(m == MMU_MODE_PAE && level == 3)) { /* PDPTE: no rights */
            rights &= p->val;
            nx |= (p->val & PTE_NX) != 0;
        }
        if (wlog)
            wlog->rights[level] = (rights & (PTE_U | PTE_W)) | (nx ? PTE_NX : 0);
        if (is_leaf) {
            leaf = level;
            break;
        }
        table = p->val & amask;
    }

    /* 2. Access rights. */
    uint32_t prot = mmu_rights(cpu, m, k, uacc, rights, nx, ent[leaf].val);
    if (prot) {
        mmu_pf(res, ec | prot, _gva(va));
        return;
    }

    /* 3. The final gpa, through the EPT with the access's own kind.  A large
     * page takes its frame from the leaf's address bits above the page size
     * (the PAT bit 12 of a large leaf is not an address bit). */
    unsigned shift = g->shift[leaf];
    uint64_t off = (1ULL << shift) - 1;
    if (MUTANT(MUT_LARGE_PAT_ADDR) && leaf > 1)
        off = (1ULL << 13) - 1;
    gpa_t gpa = _gpa((ent[leaf].val & amask & ~off) | (va & off));
    hpa_t hpa = _hpa(0);
    if (!ept->emulator) {
        ept_translate_la(hm, ept, gpa, k, false, (rights & PTE_U) != 0, _gva(va), res);
        if (res->outcome != MMU_OK)
            return;
        hpa = res->hpa;
    }

    /* 4. A/D updates are EPT writes to the paging-structure pages: all must
     * be allowed before any is made.  The hardware has these EPT entries
     * from the walk, so the re-check is done on a scratch result and costs
     * no references.  Under shadow paging the hypervisor sets guest A/D
     * through its own mapping when it builds the shadow entry
     * (guest_walk_tables() from sh_page_fault()): no P2M check. */
    for (int level = top; level >= leaf && !ept->emulator && !ept->shadow; level--) {
        if (!mmu_ad_bits(m, ent[level].val, level, leaf, k))
            continue;
        struct mmu_result chk = { .outcome = MMU_OK };
        ept_translate(hm, ept, ent[level].gpa, ACC_WRITE, true, _gva(va), &chk);
        if (chk.outcome != MMU_OK) {
            res->outcome = chk.outcome;
            res->exit_qual = chk.exit_qual;
            res->exit_gpa = chk.exit_gpa;
            res->exit_gla = chk.exit_gla;
            return;
        }
    }

    /* 5. Commit.  The hardware sets A/D with a locked OR, so OR into what
     * memory holds now: one entry can serve at two levels (a self-map). */
    for (int level = top; level >= leaf; level--) {
        uint64_t set = mmu_ad_bits(m, ent[level].val, level, leaf, k);
        if (!set)
            continue;
        uint64_t cur = mmu_read_entry(hm, ent[level].hpa, g->esize) | set;
        (void)hostmem_write(hm, ent[level].hpa, &cur, g->esize);
        mmu_log_ref(ept->reflog, hpa_x(ent[level].hpa));
        res->ad_writes++;
        res->refs++;
        if ((ept->emulator || ept->shadow) && res->nad_gpa < 5)
            res->ad_gpa[res->nad_gpa++] = gpa_x(ent[level].gpa);
    }

    res->outcome = MMU_OK;
    res->gpa = gpa;
    res->hpa = hpa;
    res->page_shift = shift;
    /* What a TLB entry for this translation caches. */
    res->rights = ((rights & PTE_U) ? MMU_R_U : 0) | ((rights & PTE_W) ? MMU_R_W : 0)
                  | (nx && m >= MMU_MODE_PAE && nxe ? MMU_R_NX : 0)
                  | ((ent[leaf].val & PTE_D) || k == ACC_WRITE ? MMU_R_D : 0)
                  | ((ent[leaf].val & PTE_G) && (cpu->cr4 & X86_CR4_PGE) ? MMU_R_G : 0);
    res->pkey = m >= MMU_MODE_4L ? (unsigned)(ent[leaf].val >> 59) & 15 : 0;
    if (wlog) {
        wlog->top = top;
        wlog->leaf = leaf;
    }
}

uint32_t mmu_rights_check(const struct mmu_cpu *cpu, enum access_kind k,
                          unsigned r, unsigned pkey)
{
    enum mmu_mode m = mmu_mode_of(cpu);
    bool uacc = cpu->cpl == 3 && !cpu->implicit;
    bool nxe = (cpu->efer & X86_EFER_NXE) != 0;
    uint64_t rights = ((r & MMU_R_U) ? PTE_U : 0) | ((r & MMU_R_W) ? PTE_W : 0);
    uint32_t prot = mmu_rights(cpu, m, k, uacc, rights, (r & MMU_R_NX) != 0,
                               (uint64_t)pkey << 59);
    if (!prot)
        return 0;
    return prot | (k == ACC_WRITE ? PFEC_W : 0) | (uacc ? PFEC_U : 0)
           | (k == ACC_FETCH && ((cpu->cr4 & X86_CR4_SMEP)
                                 || (m >= MMU_MODE_PAE && nxe)) ? PFEC_ID : 0);
}
