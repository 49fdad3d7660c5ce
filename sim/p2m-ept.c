/* SPDX-License-Identifier: MIT */
/*
 * sim/p2m-ept.c - the P2M as a real EPT in host memory.
 *
 * Models xen/arch/x86/mm/p2m-ept.c: ept_p2m_type_to_flags(), ept_set_entry()
 * ept_get_entry() and ept_split_super_page(), plus the teardown and the
 * global type change, for 4 KiB, 2 MiB and 1 GiB entries.  The tables are the ones model/ept.c walks: what is
 * written here is exactly what the simulated hardware sees.
 *
 * Entry encoding (ept_entry_t, xen/arch/x86/include/asm/hvm/vmx/vmx.h):
 *
 *   intermediate (PML4E, PDPTE, PDE):  R=W=X=1 | table mfn << 12, nothing
 *       else, so that the reserved bits 7:3 the hardware checks are zero.
 *   leaf (PTE):
 *        2:0  r/w/x     ept_p2m_type_to_flags(type, access)
 *        5:3  emt       EPT_MT_WB (6)
 *       51:12 mfn       40 bits; INVALID_MFN is stored as 0xffffffffff
 *       57:52 sa_p2mt   p2m_type_t
 *       62:59 access    p2m_access_t
 *   empty: 0.  ept_set_entry() stores 0 when a type that needs a frame
 *       (anything outside P2M_INVALID_MFN_TYPES: e.g. p2m_invalid,
 *       p2m_mmio_dm, p2m_ram_rw) is given an mfn that is not valid.
 *
 * Superpages (ept_set_entry() with order 9 / 18): a PDE or PDPTE leaf with
 * the sp bit (7), mfn aligned to its size; changing a 4 KiB part splits it
 * with ept_split_super_page(), whose table allocations can fail.
 *
 * Large leaves also exist where a scenario wrote one with
 * p2m_ept_raw_set().  They are read as leaves (ept_get_entry()'s
 * is_epte_superpage() case) and split by the same ept_split_super_page()
 * when the hypervisor sets an entry below one -- the parts keep the raw
 * leaf's bits, as nothing recomputes a raw entry -- and in a domain with
 * raw entries (d->ept_raw) the teardown and the global type change leave
 * large leaves alone (they need not map frames the domain owns through
 * its P2M).
 * No EMT=7 "recalc" misconfigurations: type changes are applied to the
 * leaves at once (see ept_change_type_global()).
 */
#include <string.h>

#include "pagesim/mutant.h"
#include "sim-internal.h"

/* The 40-bit mfn field of an entry, and its all-ones value. */
#define EPTE_MFN_BITS 40
#define EPTE_MFN_FIELD_MAX ((1ULL << EPTE_MFN_BITS) - 1)
#define EPTE_MFN_BITS_MASK (EPTE_MFN_FIELD_MAX << PAGE_SHIFT)
#define EPT_RWX (EPT_R | EPT_W | EPT_X)

/* P2M_INVALID_MFN_TYPES (asm/p2m.h): valid types that need no frame. */
#define P2M_INVALID_MFN_TYPES                                                  \
    (p2m_to_mask(p2m_populate_on_demand) | p2m_to_mask(p2m_mmio_direct) |      \
     p2m_to_mask(p2m_ram_paging_out) | p2m_to_mask(p2m_ram_paged) |            \
     p2m_to_mask(p2m_ram_paging_in))
#define p2m_allows_invalid_mfn(t) (p2m_to_mask(t) & P2M_INVALID_MFN_TYPES)

/*
 * ept_p2m_type_to_flags(): type permissions first, then the access
 * restriction, as in Xen (reference section 1.4).  This host has no EPT A/D
 * bits, no PML, no mmio_ro_ranges, no ioreq server claiming writes, and
 * exec_sp is true, so:
 *
 *   type                                       r w x
 *   ram_rw                                     1 1 1
 *   ram_logdirty (no PML: w=0 so writes fault) 1 0 1
 *   ram_ro, ram_shared                         1 0 1
 *   mmio_direct (no mmio_ro_ranges)            1 1 1
 *   ioreq_server (no write-claiming server)    1 1 0
 *   grant_map_rw, map_foreign                  1 1 0
 *   grant_map_ro                               1 0 0
 *   invalid, mmio_dm, populate_on_demand,
 *   ram_paging_out/paged/paging_in, broken     0 0 0
 */
uint64_t ept_p2m_type_to_flags(p2m_type_t t, p2m_access_t a)
{
    uint64_t f;

    switch (t) {
    case p2m_ram_rw:
    case p2m_mmio_direct:
        f = EPT_R | EPT_W | EPT_X;
        break;
    case p2m_ram_logdirty:
        /* Read-only so that the first write faults into
         * hvm_hap_nested_page_fault() and gets logged. */
        f = EPT_R | EPT_X;
        if (MUTANT(MUT_LOGDIRTY_WRITABLE))
            f |= EPT_W;
        break;
    case p2m_ram_ro:
    case p2m_ram_shared:
        f = EPT_R | EPT_X;
        break;
    case p2m_ioreq_server:
    case p2m_grant_map_rw:
    case p2m_map_foreign:
        f = EPT_R | EPT_W;
        break;
    case p2m_grant_map_ro:
        f = EPT_R;
        break;
    default: /* invalid, mmio_dm, pod, paging types, broken */
        f = 0;
        break;
    }

    /* MUT_ACCESS_IGNORED: the mem_access restriction is never applied. */
    if (MUTANT(MUT_ACCESS_IGNORED))
        return f;
    switch (a) {
    case p2m_access_n:
    case p2m_access_n2rwx:
        f = 0;
        break;
    case p2m_access_r:
    case p2m_access_r_pw: /* pw needs TERTIARY_EXEC_EPT_PAGING_WRITE: none */
        f &= EPT_R;
        break;
    case p2m_access_w:
        f &= EPT_W;
        break;
    case p2m_access_x:
        f &= EPT_X;
        break;
    case p2m_access_rx:
    case p2m_access_rx2rw:
        f &= ~EPT_W;
        break;
    case p2m_access_wx:
        f &= ~EPT_R;
        break;
    case p2m_access_rw:
        f &= ~EPT_X;
        break;
    case p2m_access_rwx:
    default:
        break;
    }
    return f;
}

/* is_epte_valid(): non-zero (ignoring suppress-#VE) and not p2m_invalid. */
static bool ept_entry_valid(uint64_t e)
{
    return (e & ~(1ULL << 63)) != 0 &&
           ((e & EPTE_P2MT_MASK) >> EPTE_P2MT_SHIFT) != p2m_invalid;
}

/* is_epte_superpage(): a present entry at level 2 or 3 with the sp bit
 * maps a 2 MiB / 1 GiB page instead of pointing at a table (bit 7 of a
 * PML4E is reserved). */
static bool ept_is_super(uint64_t e, int level)
{
    return (level == 2 || level == 3) && (e & EPT_RWX) && (e & EPTE_SP);
}

static p2m_type_t ept_leaf_type(uint64_t e)
{
    return (p2m_type_t)((e & EPTE_P2MT_MASK) >> EPTE_P2MT_SHIFT);
}

static p2m_access_t ept_leaf_access(uint64_t e)
{
    return (p2m_access_t)((e & EPTE_ACCESS_MASK) >> EPTE_ACCESS_SHIFT);
}

/* A leaf for (mfn, t, a) at 'level' (1 = 4 KiB, 2 = 2 MiB, 3 = 1 GiB, with
 * the sp bit), or 0 as ept_set_entry() stores for a type that needs a frame
 * but was given none. */
static uint64_t ept_make_leaf_at(const struct domain *d, mfn_t mfn,
                                 p2m_type_t t, p2m_access_t a, int level)
{
    if (!hostmem_mfn_valid(d->host->nr_frames, mfn) && !p2m_allows_invalid_mfn(t))
        return 0;
    uint64_t f = ept_p2m_type_to_flags(t, a);
    /* ioreq_server: w = !(p2m->ioreq.flags & XEN_DMOP_IOREQ_MEM_ACCESS_WRITE). */
    if (t == p2m_ioreq_server && d->ioreq.write && !MUTANT(MUT_IOREQ_WRITABLE))
        f &= ~EPT_W;
    /* With PML a 4 KiB ram_logdirty leaf stays writable: the processor logs
     * the first write (its D flag, clear in a fresh leaf) instead of
     * faulting; a superpage stays write-protected so that the write splits
     * it (ept_p2m_type_to_flags() with vmx_domain_pml_enabled()).  The
     * access restriction is applied after that case in Xen, so an access
     * type without w (e.g. x) keeps the leaf read-only all the same. */
    if (t == p2m_ram_logdirty && d->pml_on && level == 1)
        f |= ept_p2m_type_to_flags(p2m_ram_rw, a) & EPT_W;
    /* epte_get_entry_emt(): a frame that is not RAM (!mfn_valid(): the
     * device frame of an mmio_direct entry) is UC with ipat; the rest WB
     * (no MTRRs, no iommu, no cache-flush permission modelled; an entry
     * without frame, which Xen gives the EMT=7 misconfiguration, keeps WB
     * here as before).
     * MUT_MMIO_DIRECT_WB gives the device frame RAM's WB. */
    uint64_t mt = (uint64_t)EPT_MT_WB << EPTE_EMT_SHIFT;
    if (t == p2m_mmio_direct && !mfn_eq(mfn, INVALID_MFN) &&
        !hostmem_mfn_valid(d->host->nr_frames, mfn) && !MUTANT(MUT_MMIO_DIRECT_WB))
        mt = ((uint64_t)EPT_MT_UC << EPTE_EMT_SHIFT) | EPTE_IPAT;
    return f | mt |
           (level > 1 ? EPTE_SP : 0) |
           ((mfn_x(mfn) & EPTE_MFN_FIELD_MAX) << PAGE_SHIFT) |
           (((uint64_t)t << EPTE_P2MT_SHIFT) & EPTE_P2MT_MASK) |
           (((uint64_t)a << EPTE_ACCESS_SHIFT) & EPTE_ACCESS_MASK);
}

/* The mfn a leaf names; an all-ones field (a paged-out entry) reads back as
 * INVALID_MFN rather than Xen's 0xffffffffff. */
static mfn_t ept_leaf_mfn(uint64_t e)
{
    uint64_t f = (e & EPT_ADDR_MASK) >> PAGE_SHIFT;
    return f == EPTE_MFN_FIELD_MAX ? INVALID_MFN : _mfn(f);
}

/* Index of gfn in the table at 'level' (4 = PML4 ... 1 = PT). */
static unsigned ept_index(gfn_t gfn, int level)
{
    return (gfn_x(gfn) >> (9 * (level - 1))) & (EPT_ENTRIES - 1);
}

static hpa_t ept_slot(mfn_t table, unsigned idx)
{
    return hpa_add(mfn_to_hpa(table), (uint64_t)idx * 8);
}

static inline uint64_t ept_read(const struct domain *d, mfn_t table, unsigned idx)
{
    uint64_t e = 0;
    hostmem_read64(d->host->mem, ept_slot(table, idx), &e);
    return e;
}

static void ept_write(struct domain *d, mfn_t table, unsigned idx, uint64_t e)
{
    hostmem_write64(d->host->mem, ept_slot(table, idx), e);
}

/* put_page() of a foreign or granted page a leaf of d stopped naming: never
 * the owner's allocation reference; the last reference of a page its owner
 * already removed frees it. */
static void ept_put_foreign(struct domain *d, mfn_t m)
{
    struct host *h = d->host;
    if (hostmem_mfn_valid(h->nr_frames, m) &&
        h->frames[mfn_x(m)].count > h->frames[mfn_x(m)].allocated)
        heap_put_page(h, m);
}

/* ept_set_middle_entry(): a zeroed table page from the heap (the domain's
 * P2M pool), or INVALID_MFN when the allocation fails. */
static mfn_t ept_alloc_table(struct domain *d)
{
    mfn_t m = heap_alloc_page(d->host, d->id, PGU_P2M);
    if (!mfn_eq(m, INVALID_MFN))
        d->p2m_pages++;
    return m;
}

/* ept_free_entry() for a table entry: the table below it and every table
 * under that go back to the heap; the guest frames their leaves name are
 * not touched (they belong to the domain, not to the P2M). */
static void ept_free_subtree(struct domain *d, mfn_t table, int level)
{
    if (level > 1)
        for (unsigned i = 0; i < EPT_ENTRIES; i++) {
            uint64_t e = ept_read(d, table, i);
            if ((e & EPT_RWX) && !ept_is_super(e, level))
                ept_free_subtree(d, _mfn((e & EPT_ADDR_MASK) >> PAGE_SHIFT),
                                 level - 1);
        }
    heap_free_page(d->host, table);
    if (d->p2m_pages)
        d->p2m_pages--;
}

/*
 * ept_split_super_page(): the superpage e at 'level' becomes a table of 512
 * entries one level down, each a copy of e with its part of the frame range
 * (permissions recomputed by ept_p2m_type_to_flags()), and -- as upstream
 * does -- every one of them is split again until 'target' is reached, so a
 * 1 GiB leaf split to 4 KiB costs 1 + 512 table pages.  The new subtree is
 * built off to the side: on an allocation failure what was built is freed
 * and INVALID_MFN returned, and the caller leaves e in place (the
 * superpage survives intact).
 */
static mfn_t ept_split_super_page(struct domain *d, uint64_t e, int level,
                                  int target)
{
    mfn_t table = ept_alloc_table(d);
    if (mfn_eq(table, INVALID_MFN))
        return INVALID_MFN;
    p2m_type_t t = ept_leaf_type(e);
    p2m_access_t a = ept_leaf_access(e);
    mfn_t base = ept_leaf_mfn(e);
    uint64_t trunk = 1ULL << (9 * (level - 2));
    for (unsigned i = 0; i < EPT_ENTRIES; i++) {
        mfn_t m = mfn_eq(base, INVALID_MFN) ? base
                                            : _mfn(mfn_x(base) + i * trunk);
        /* As upstream: a copy of e (memory type, ipat, A/D, sa_p2mt,
         * access, ...) with its slice of the frames and sp only above the
         * PT; the permissions are then recomputed by
         * ept_p2m_type_to_flags() -- except in a domain with raw entries,
         * whose large leaves the hypervisor did not write (their parts keep
         * the raw bits). */
        uint64_t ne = (e & ~EPT_ADDR_MASK & ~EPTE_SP) |
                      (level - 1 > 1 ? EPTE_SP : 0) |
                      ((mfn_eq(m, INVALID_MFN) ? EPTE_MFN_FIELD_MAX
                                               : mfn_x(m) & EPTE_MFN_FIELD_MAX)
                       << PAGE_SHIFT);
        /* MUT_SPLIT_LOSES_TYPE: the other parts come out as plain ram_rw
         * (the copy forgets sa_p2mt), a split that only looks right for
         * the entry being changed. */
        if (MUTANT(MUT_SPLIT_LOSES_TYPE) && !d->ept_raw)
            ne = ept_make_leaf_at(d, m, p2m_ram_rw, a, level - 1);
        else if (!d->ept_raw)
            ne = (ne & ~EPT_RWX) |
                 (ept_make_leaf_at(d, m, t, a, level - 1) & EPT_RWX);
        if (level - 1 > target) {
            mfn_t sub = ept_split_super_page(d, ne, level - 1, target);
            if (mfn_eq(sub, INVALID_MFN)) {
                ept_free_subtree(d, table, level - 1);
                return INVALID_MFN;
            }
            ne = EPT_RWX | (mfn_x(sub) << PAGE_SHIFT);
        }
        ept_write(d, table, i, ne);
    }
    return table;
}

/*
 * ept_next_level(): the table below entry idx of 'table' at 'level'.  A
 * missing table is allocated (when 'alloc'); a superpage on the way is
 * split down to 'target' first (ept_set_entry()'s "i > target" case).
 * Returns the table's mfn or INVALID_MFN (missing and !alloc, a superpage
 * and !alloc, heap empty or allocation failure injected).
 */
static mfn_t ept_next_level(struct domain *d, mfn_t table, unsigned idx,
                            int level, bool alloc, int target)
{
    uint64_t e = ept_read(d, table, idx);
    if (ept_is_super(e, level)) {
        if (!alloc)
            return INVALID_MFN;
        mfn_t sub = ept_split_super_page(d, e, level, target);
        if (mfn_eq(sub, INVALID_MFN))
            return INVALID_MFN;
        ept_write(d, table, idx, EPT_RWX | (mfn_x(sub) << PAGE_SHIFT));
        return sub;
    }
    if (e & EPT_RWX)
        return _mfn((e & EPT_ADDR_MASK) >> PAGE_SHIFT);
    if (!alloc)
        return INVALID_MFN;
    mfn_t m = ept_alloc_table(d);
    if (mfn_eq(m, INVALID_MFN))
        return INVALID_MFN;
    ept_write(d, table, idx, EPT_RWX | (mfn_x(m) << PAGE_SHIFT));
    return m;
}

/*
 * ept_set_entry() for an entry of 2^order gfns (order 0, 9 or 18) at gfn,
 * which must be aligned to it.  The leaf is written at level order/9 + 1;
 * a superpage above it is split first (which can fail: -ENOMEM, nothing
 * changed, as upstream); a table that was there is freed after the new
 * leaf replaces it (ept_free_entry()).  Returns 0, -EINVAL (gfn range
 * outside [0, max_gfn), misaligned, bad order or type), -ENOMEM.
 */
static int ept_set_entry_order(struct domain *d, gfn_t gfn, mfn_t mfn,
                               unsigned order, p2m_type_t t, p2m_access_t a)
{
    if (order != PAGE_ORDER_4K && order != PAGE_ORDER_2M &&
        order != PAGE_ORDER_1G)
        return -EINVAL;
    uint64_t n = 1ULL << order;
    if (gfn_x(gfn) & (n - 1) || gfn_x(gfn) >= d->max_gfn ||
        d->max_gfn - gfn_x(gfn) < n || (gfn_x(gfn) + n - 1) >> EPT_GFN_BITS)
        return -EINVAL;
    if ((unsigned)t >= P2M_NR_TYPES)
        return -EINVAL;
    if (!mfn_eq(mfn, INVALID_MFN) && (mfn_x(mfn) & (n - 1)))
        return -EINVAL;
    if (d->p2m_fail_in && --d->p2m_fail_in == 0)
        return -ENOMEM;

    /* atomic_write_ept_entry(): a foreign entry is never a superpage, and
     * must name an allocated page (it takes a reference below). */
    if (t == p2m_map_foreign &&
        (order || !hostmem_mfn_valid(d->host->nr_frames, mfn) ||
         d->host->frames[mfn_x(mfn)].use != PGU_GUEST))
        return -EINVAL;

    int target = (int)order / 9 + 1;
    mfn_t table = d->ept_root;
    for (int level = EPT_LEVELS; level > target; level--) {
        table = ept_next_level(d, table, ept_index(gfn, level), level, true,
                               target);
        if (mfn_eq(table, INVALID_MFN))
            return -ENOMEM;
    }
    unsigned idx = ept_index(gfn, target);
    uint64_t old = ept_read(d, table, idx);
    uint64_t nl = ept_make_leaf_at(d, mfn, t, a, target);
    ept_write(d, table, idx, nl);
    /* atomic_write_ept_entry(): a 4 KiB p2m_map_foreign entry holds a
     * reference on the foreign page -- taken when an entry starts naming
     * it, dropped when an entry stops (mfn or type changed). */
    /* ept_set_entry(): p2m->ioreq.entry_count follows the 4 KiB entries
     * that become or stop being ioreq_server. */
    if (target == 1) {
        bool was = ept_entry_valid(old) && ept_leaf_type(old) == p2m_ioreq_server;
        bool is = ept_entry_valid(nl) && t == p2m_ioreq_server;
        if (was && !is && d->ioreq.entry_count)
            d->ioreq.entry_count--;
        else if (is && !was)
            d->ioreq.entry_count++;
    }
    if (target == 1 && ((old ^ nl) & (EPT_ADDR_MASK | EPTE_P2MT_MASK))) {
        if (t == p2m_map_foreign) {
            hostmem_meta_mark(d->host->mem, mfn_x(mfn)); /* for oracle_check() */
            d->host->frames[mfn_x(mfn)].count++;
        }
        if (ept_entry_valid(old) && ept_leaf_type(old) == p2m_map_foreign &&
            !MUTANT(MUT_FOREIGN_NO_PUT))
            ept_put_foreign(d, ept_leaf_mfn(old));
    }
    if (target > 1 && (old & EPT_RWX) && !ept_is_super(old, target))
        ept_free_subtree(d, _mfn((old & EPT_ADDR_MASK) >> PAGE_SHIFT),
                         target - 1);

    /* As ept_set_entry(): track the highest gfn ever given a mapping. */
    if (t != p2m_invalid && t != p2m_mmio_dm &&
        gfn_x(gfn) + n - 1 > d->max_mapped_pfn)
        d->max_mapped_pfn = gfn_x(gfn) + n - 1;
    return 0;
}

/* ept_set_entry() for one 4 KiB entry. */
int p2m_set_entry(struct domain *d, gfn_t gfn, mfn_t mfn, p2m_type_t t,
                  p2m_access_t a)
{
    if (gfn_x(gfn) >= d->max_gfn || gfn_x(gfn) >> EPT_GFN_BITS)
        return -EINVAL;
    return p2m_set_entry_order(d, gfn, mfn, PAGE_ORDER_4K, t, a);
}

/*
 * ept_get_entry(): the mfn at gfn with *t, *a and the *order of the entry
 * that maps it (any may be NULL).  Inside a superpage the mfn is the
 * superpage's base plus gfn's offset, as Xen adds it.  Defaults
 * INVALID_MFN / p2m_mmio_dm / p2m_access_n / order 0 for gfns above
 * max_mapped_pfn, missing tables and entries that are not is_epte_valid().
 */
static mfn_t ept_get_entry_order(const struct domain *d, gfn_t gfn,
                                 p2m_type_t *t, p2m_access_t *a,
                                 unsigned *order)
{
    p2m_type_t ty = p2m_mmio_dm;
    p2m_access_t ac = p2m_access_n;
    mfn_t mfn = INVALID_MFN;
    unsigned ord = 0;

    if (gfn_x(gfn) > d->max_mapped_pfn || gfn_x(gfn) >> EPT_GFN_BITS)
        goto out;

    mfn_t table = d->ept_root;
    int level;
    uint64_t e = 0;
    /* Unrolled: each level's index shift and superpage test constant
     * (every P2M lookup of the sim comes through here). */
#pragma GCC unroll 4
    for (level = EPT_LEVELS; level >= 1; level--) {
        e = ept_read(d, table, ept_index(gfn, level));
        if (level == 1 || ept_is_super(e, level))
            break;
        if (!(e & EPT_RWX))
            goto out;
        table = _mfn((e & EPT_ADDR_MASK) >> PAGE_SHIFT);
    }

    if (!ept_entry_valid(e))
        goto out;
    ty = ept_leaf_type(e);
    ac = ept_leaf_access(e);
    mfn = ept_leaf_mfn(e);
    ord = 9 * (unsigned)(level - 1);
    if (!mfn_eq(mfn, INVALID_MFN))
        mfn = _mfn(mfn_x(mfn) + (gfn_x(gfn) & ((1ULL << ord) - 1)));

out:
    if (t)
        *t = ty;
    if (a)
        *a = ac;
    if (order)
        *order = ord;
    return mfn;
}

/* The walk of a run's new block: out of line, so that the lookups inside
 * a block, the common case, save no registers. */
static __attribute__((noinline)) void ept_run_walk(const struct domain *d,
                                                   struct p2m_run *r, gfn_t gfn)
{
    mfn_t table = d->ept_root;
    int level;
    uint64_t e = 0;
    for (level = EPT_LEVELS; level > 1; level--) {
        e = ept_read(d, table, ept_index(gfn, level));
        if (ept_is_super(e, level) || !(e & EPT_RWX))
            break;
        table = _mfn((e & EPT_ADDR_MASK) >> PAGE_SHIFT);
    }
    r->d = d;
    r->blk = gfn_x(gfn) >> PAGE_ORDER_2M;
    /* The leaf table's bytes (NULL: unbacked, reads as zeros, as
     * ept_read() gives), stable while nothing writes. */
    r->leaf = level == 1 ? hostmem_frame_peek(d->host->mem, table) : NULL;
    r->level = level;
    r->e = e;
    r->valid = true;
}

/*
 * ept_get_entry() for a run of lookups with no P2M write between them (the
 * pager's victim scan, p2m_get_entry_run()): the walk from the root down
 * to the leaf table is the one ept_get_entry_order() does, done once per
 * 512-gfn block and kept in *r (the leaf table, or the superpage or absent
 * entry it stopped at); each lookup then reads its own leaf.  The same
 * entries are read and decoded the same way, so the results are
 * ept_get_entry_order()'s as long as the caller resets *r after anything
 * that may write the P2M.
 */
mfn_t ept_get_entry_run(const struct domain *d, struct p2m_run *r, gfn_t gfn,
                        p2m_type_t *t)
{
    p2m_type_t ty = p2m_mmio_dm;
    mfn_t mfn = INVALID_MFN;

    if (gfn_x(gfn) > d->max_mapped_pfn || gfn_x(gfn) >> EPT_GFN_BITS)
        goto out;

    if (!r->valid || r->d != d || r->blk != gfn_x(gfn) >> PAGE_ORDER_2M)
        ept_run_walk(d, r, gfn);

    int level = r->level;
    uint64_t e = r->e;
    if (level == 1) {
        e = 0;
        if (r->leaf)
            __builtin_memcpy(&e, r->leaf + 8 * ept_index(gfn, 1), sizeof(e));
    } else if (!ept_is_super(e, level))
        goto out; /* a missing table */

    if (!ept_entry_valid(e))
        goto out;
    ty = ept_leaf_type(e);
    mfn = ept_leaf_mfn(e);
    if (!mfn_eq(mfn, INVALID_MFN))
        mfn = _mfn(mfn_x(mfn) +
                   (gfn_x(gfn) & ((1ULL << (9 * (unsigned)(level - 1))) - 1)));

out:
    if (t)
        *t = ty;
    return mfn;
}

mfn_t p2m_get_entry(const struct domain *d, gfn_t gfn, p2m_type_t *t,
                    p2m_access_t *a)
{
    /* p2m_get_entry_order()'s dispatch, one call fewer */
    return P2M_BACKEND(d)->get_entry(d, gfn, t, a, NULL);
}

/* Guest RAM this domain owns goes back to the heap (Xen frees it through
 * relinquish_memory() rather than the P2M): n frames from m. */
static void ept_free_guest_frames(struct domain *d, mfn_t m, uint64_t n)
{
    struct host *h = d->host;
    for (uint64_t i = 0; i < n && !mfn_eq(m, INVALID_MFN); i++) {
        mfn_t f = _mfn(mfn_x(m) + i);
        if (hostmem_mfn_valid(h->nr_frames, f) &&
            h->frames[mfn_x(f)].owner == d->id &&
            h->frames[mfn_x(f)].use == PGU_GUEST)
            heap_free_page(h, f);
    }
}

/* Post-order walk of the table at 'level'; see ept_teardown(). */
static void ept_free_table(struct domain *d, mfn_t table, int level)
{
    struct host *h = d->host;
    static const uint8_t zero[64 * 8];

    for (unsigned i = 0; i < EPT_ENTRIES; i++) {
        /* A zero entry is neither a table, a superpage nor a valid leaf:
         * nothing is freed for it, so a run of 64 zero entries is passed
         * at once.  The run is read when the walk reaches it (the frees
         * before may change frames): exactly what the entries would read
         * one by one.  Only the simulator's time changes. */
        if (!(i % 64)) {
            const uint8_t *f = hostmem_frame_peek(h->mem, table);
            if (!f)
                break; /* an unbacked table reads as zeros throughout */
            if (!memcmp(f + i * 8, zero, sizeof zero)) {
                i += 63;
                continue;
            }
        }
        uint64_t e = ept_read(d, table, i);
        if (ept_is_super(e, level)) {
            if (ept_entry_valid(e) && !d->ept_raw)
                ept_free_guest_frames(d, ept_leaf_mfn(e),
                                      1ULL << (9 * (level - 1)));
            continue;
        }
        if (level > 1) {
            if ((e & EPT_RWX) && !ept_is_super(e, level))
                ept_free_table(d, _mfn((e & EPT_ADDR_MASK) >> PAGE_SHIFT),
                               level - 1);
            continue;
        }
        if (!ept_entry_valid(e))
            continue;
        /* Foreign entries drop their reference (relinquish_p2m_mapping()),
         * grant mappings theirs (gnttab_release_mappings()); the pages
         * belong to other domains. */
        if (ept_leaf_type(e) == p2m_map_foreign || p2m_is_grant(ept_leaf_type(e)))
            ept_put_foreign(d, ept_leaf_mfn(e));
        else
            ept_free_guest_frames(d, ept_leaf_mfn(e), 1);
    }
    heap_free_page(h, table);
    if (d->p2m_pages)
        d->p2m_pages--;
}

/* p2m_teardown(): every table, root included, and the RAM it maps. */
void ept_teardown(struct domain *d)
{
    if (mfn_eq(d->ept_root, INVALID_MFN))
        return;
    ept_free_table(d, d->ept_root, EPT_LEVELS);
    d->ept_root = INVALID_MFN;
}

/* Superpage leaves are retyped whole: under a global change the whole
 * range is in the new state, which is the case where resolve_misconfig()
 * keeps a superpage (it splits only ranges that are partly log-dirty). */
static void ept_retype_table(struct domain *d, mfn_t table, int level,
                             p2m_type_t ot, p2m_type_t nt)
{
    /* A zero entry is neither a table pointer nor a valid leaf: nothing
     * to do for it, so runs of eight are skipped (a table frame never
     * written has none but zeros).  The entries are read straight from the
     * frame's backing (what ept_read() returns for a backed frame; an
     * unbacked one reads as zeros and has nothing to retype), and the
     * backing pointer stays valid: ept_write() of a backed frame writes in
     * place, and the recursion touches only other frames.  Only the
     * simulator's time changes. */
    const uint8_t *f = hostmem_frame_peek(d->host->mem, table);
    if (!f)
        return;
    uint8_t *w = NULL; /* f, once a store to the table is logged */
    /* the last access value's leaf bits without the mfn (ca: none yet) */
    p2m_access_t ca = (p2m_access_t)-1;
    uint64_t cf = 0;
    static const uint8_t zero[512];
    /* Zero runs of 64 entries first (one library memcmp() of 512 bytes:
     * most of a sparse table), then of 8 (inlined), then the entries. */
    for (unsigned b = 0; b < EPT_ENTRIES; b += 64) {
        if (!memcmp(f + 8 * b, zero, 512))
            continue;
        for (unsigned r = b; r < b + 64; r += 8) {
            if (!memcmp(f + 8 * r, zero, 64))
                continue;
            for (unsigned i = r; i < r + 8; i++) {
                uint64_t e;
                memcpy(&e, f + 8 * i, sizeof e);
                if (level > 1 && !ept_is_super(e, level)) {
                    if (e & EPT_RWX)
                        ept_retype_table(d, _mfn((e & EPT_ADDR_MASK) >> PAGE_SHIFT),
                                         level - 1, ot, nt);
                    continue;
                }
                if (level > 1 && d->ept_raw)
                    continue; /* a large leaf in a domain with raw entries */
                if (!ept_entry_valid(e) || ept_leaf_type(e) != ot)
                    continue;
                /* ept_make_leaf_at() of a RAM frame is its bits for
                 * (nt, access, level) with the frame's mfn in 51:12 (only
                 * mmio_direct's EMT and the entry-or-0 choice read the
                 * mfn beyond that): those bits once per access value met
                 * in this table. */
                mfn_t m = ept_leaf_mfn(e);
                p2m_access_t a = ept_leaf_access(e);
                uint64_t ne;
                if (nt != p2m_mmio_direct && hostmem_mfn_valid(d->host->nr_frames, m)) {
                    if (a != ca) {
                        ca = a;
                        cf = ept_make_leaf_at(d, m, nt, a, level) & ~EPTE_MFN_BITS_MASK;
                    }
                    ne = cf | (mfn_x(m) & EPTE_MFN_FIELD_MAX) << PAGE_SHIFT;
                } else
                    ne = ept_make_leaf_at(d, m, nt, a, level);
                if (ne == e)
                    continue; /* what ept_write() would store: no change */
                /* ept_write() in place: hostmem_frame() of the backed
                 * table is f itself and logs the table written once, as
                 * hostmem_write64() does at its first changing store
                 * (same change log, same order; a store per entry through
                 * hostmem_write64() cost three times the retype itself). */
                if (!w)
                    w = hostmem_frame(d->host->mem, table);
                memcpy(w + 8 * i, &ne, sizeof ne);
            }
        }
    }
}

/*
 * ept_change_entry_type_global() marks the top level with EMT=7 + recalc and
 * resolve_misconfig() later rewrites each leaf with p2m_recalc_type(); the
 * end state is every ot leaf retyped nt with mfn and access kept.  We go
 * there directly.
 */
void ept_change_type_global(struct domain *d, p2m_type_t ot, p2m_type_t nt)
{
    if (ot == p2m_ioreq_server)
        d->ioreq.entry_count = 0;
    if (!mfn_eq(d->ept_root, INVALID_MFN))
        ept_retype_table(d, d->ept_root, EPT_LEVELS, ot, nt);
}

/* ept_p2m_init(): the EPT backend's operations. */
const struct p2m_backend p2m_ept_backend = {
    .name = "ept",
    .set_entry = ept_set_entry_order,
    .get_entry = ept_get_entry_order,
    .change_type_global = ept_change_type_global,
    .teardown = ept_teardown,
};

/* ---- raw entries (scenario API: d:ept_set_raw / d:ept_get_raw) ------------- */

/*
 * Writes value as the entry for gpa at 'level' (1 = PTE .. 4 = PML4E),
 * creating missing tables above it as ept_set_entry() would.  Nothing is
 * checked or flushed: this is a scenario poking the EPT the way a buggy
 * hypervisor could.  A leaf (level 1, or bit 7 at level 2/3) that Xen's
 * is_epte_valid() accepts raises max_mapped_pfn to the last gfn it covers,
 * as ept_set_entry() does for a mapping of that order.
 * 0, -EINVAL (level not 1..4, gpa >= 2^48), -EEXIST (a large leaf above
 * 'level' maps gpa), -EBUSY (the entry points at a table and value would
 * not), -ENOMEM.
 */
int p2m_ept_raw_set(struct domain *d, gpa_t gpa, unsigned level, uint64_t value)
{
    gfn_t gfn = gpa_to_gfn(gpa);
    /* An NPT domain has no EPT to poke (d:npt_set_raw is its own). */
    if (level < 1 || level > EPT_LEVELS || gfn_x(gfn) >> EPT_GFN_BITS || d->npt)
        return -EINVAL;
    mfn_t table = d->ept_root;
    for (int lv = EPT_LEVELS; lv > (int)level; lv--) {
        uint64_t e = ept_read(d, table, ept_index(gfn, lv));
        if (ept_is_super(e, lv))
            return -EEXIST;
        table = ept_next_level(d, table, ept_index(gfn, lv), lv, true,
                               (int)level);
        if (mfn_eq(table, INVALID_MFN))
            return -ENOMEM;
    }
    /* An entry that points at one of the P2M's tables must keep pointing
     * at it (present, same address, not a large leaf): otherwise the table
     * and all below it would leave the P2M unreachable, never to be freed
     * (Xen's ept_free_entry() would run first). */
    uint64_t old = ept_read(d, table, ept_index(gfn, (int)level));
    if (level > 1 && (old & EPT_RWX) && !ept_is_super(old, (int)level) &&
        (!(value & EPT_RWX) || ept_is_super(value, (int)level) ||
         (value & EPT_ADDR_MASK) != (old & EPT_ADDR_MASK)))
        return -EBUSY;
    ept_write(d, table, ept_index(gfn, (int)level), value);
    d->ept_raw = true;
    bool leaf = level == 1 || ept_is_super(value, (int)level);
    if (leaf && ept_entry_valid(value)) {
        uint64_t span = 1ULL << (9 * (level - 1));
        uint64_t last = (gfn_x(gfn) & ~(span - 1)) + span - 1;
        if (last > d->max_mapped_pfn)
            d->max_mapped_pfn = last;
    }
    return 0;
}

/* Reads the entry for gpa at 'level' into *value.  0, -EINVAL, -ENOENT (a
 * table above is missing, or a large leaf above maps gpa). */
int p2m_ept_raw_get(const struct domain *d, gpa_t gpa, unsigned level,
                    uint64_t *value)
{
    gfn_t gfn = gpa_to_gfn(gpa);
    if (level < 1 || level > EPT_LEVELS || gfn_x(gfn) >> EPT_GFN_BITS || d->npt)
        return -EINVAL;
    mfn_t table = d->ept_root;
    for (int lv = EPT_LEVELS; lv > (int)level; lv--) {
        uint64_t e = ept_read(d, table, ept_index(gfn, lv));
        if (!(e & EPT_RWX) || ept_is_super(e, lv))
            return -ENOENT;
        table = _mfn((e & EPT_ADDR_MASK) >> PAGE_SHIFT);
    }
    *value = ept_read(d, table, ept_index(gfn, (int)level));
    return 0;
}
