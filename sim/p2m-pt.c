/* SPDX-License-Identifier: MIT */
/*
 * sim/p2m-pt.c - the P2M as AMD nested page tables (hap = "npt").
 *
 * Models xen/arch/x86/mm/p2m-pt.c (p2m_pt_init()): p2m_type_to_flags(),
 * p2m_pt_set_entry(), p2m_next_level() (allocation and superpage split),
 * p2m_pt_get_entry() and the global type change.  The tables are ordinary
 * 4-level long-mode page tables in host memory; model/npt.c walks exactly
 * what is written here, as the processor walks nCR3.
 *
 * Entry encoding (l1_pgentry_t with Xen's put_pte_flags(): flag bits 23:12
 * land in PTE bits 63:52):
 *
 *   intermediate (PML4E, PDPTE, PDE):  P|RW|U|A|D | table mfn << 12
 *       (p2m_next_level(): P2M_BASE_FLAGS | _PAGE_RW, no NX, so the leaf
 *       alone decides).
 *   leaf:
 *        0 P, 1 RW, 2 U, 4 PCD, 5 A, 6 D   p2m_type_to_flags()
 *        7 PS       2 MiB (PDE) / 1 GiB (PDPTE) leaves
 *       51:12 mfn   INVALID_MFN clipped to the 40-bit field (all ones)
 *       58:52 type  p2m_type_t ((t & 0x7f) << 12 as a flag)
 *       63 NX       non-executable types (the host runs with EFER.NXE)
 *   empty: 0, as p2m_pt_set_entry() stores l1e_empty() for a type that
 *       needs a frame but was given none.
 *
 *   type                         P RW U A D PCD NX    (x86 effect)
 *   ram_rw                       1 1  1 1 1  0  0     r w x
 *   ram_logdirty, ram_ro, shared 1 0  1 1 1  0  0     r - x
 *   mmio_direct                  1 1  1 1 1  1  0     r w x, uncached
 *   grant_map_rw, map_foreign    1 1  1 1 1  0  1     r w -
 *   ioreq_server                 1 1* 1 1 1  0  1     r w - (* no RW while
 *                                                      a server claims writes)
 *   grant_map_ro                 1 0  1 1 1  0  1     r - -
 *   invalid, mmio_dm, pod,
 *   paging_out/paged/paging_in,
 *   broken                       0 0  0 0 0  0  1     not present
 *
 * Xen sets A and D in every present entry (P2M_BASE_FLAGS), so the nested
 * walk never writes an accessed/dirty flag back: no NPT A/D image to
 * predict.  Where Xen's p2m-pt differs from its p2m-ept, and so does this
 * file:
 *   - no access types: set_entry ignores p2m_access_t and get_entry answers
 *     p2m_access_rwx for every gfn ("Not implemented except with EPT");
 *     set_mem_access is refused in p2m.c (mem_access_memop(): -EINVAL);
 *   - no foreign entries: p2m_pt_set_entry() refuses p2m_map_foreign with
 *     -EINVAL ("only supported on ept");
 *   - no PML and no EPT A/D: dirty tracking is write protection only;
 *   - a superpage is split one level at a time, on the path only: a 1 GiB
 *     leaf changed at 4 KiB becomes a table of 512 2 MiB leaves, one of
 *     which becomes a table of 4 KiB leaves (2 table pages, where p2m-ept
 *     splits everything down to the target: 1 + 512).  The parts inherit
 *     the superpage's flags (PS cleared at the PTE level), as
 *     p2m_next_level() copies them.
 * Like the EPT backend, and unlike Xen: the split is built off to the side
 * and only hooked in once every table page was allocated (an allocation
 * failure leaves the superpage intact, where Xen would keep the levels it
 * had split).
 *
 * The global type change is deferred as Xen defers it
 * (p2m_pt_change_entry_type_global()): it only clears U (the recalc
 * marker, set_recalc()) in every present PML4E.  Nested accesses are user
 * accesses, so the next walk through a marked entry takes a #NPF with P
 * set in EXITINFO1; svm_vmexit_handler() then calls
 * p2m_pt_handle_deferred_changes() -> do_recalc() (pt_do_recalc() here),
 * which pushes the marker one level down at each step of the gfn's path
 * (every present entry of the table below is marked, the entry itself
 * unmarked) and rewrites the leaf with the type the domain's state now
 * gives it (p2m_recalc_type_range(): ram_rw / ram_logdirty by log-dirty,
 * ioreq_server kept while a server holds the type), then the guest
 * retries.  p2m_pt_get_entry() reports that recalculated type for a gfn
 * whose path is still marked, and p2m_pt_set_entry() recalculates the
 * gfn's path first.  Domains with raw entries (d:npt_set_raw) keep the
 * eager retype (their tables are the scenario's).
 */
#include "pagesim/mutant.h"
#include "sim-internal.h"

#define PT_ENTRIES 512
#define PT_LEVELS 4
#define PT_MFN_FIELD_MAX ((1ULL << 40) - 1)
#define PT_PCD (1ULL << 4)
#define PT_TYPE_SHIFT 52
#define PT_TYPE_MASK (0x7FULL << PT_TYPE_SHIFT)
/* P2M_BASE_FLAGS: present, user (nested accesses are user accesses),
 * accessed and dirty preset. */
#define PT_BASE (PTE_P | PTE_U | PTE_A | PTE_D)
/* What p2m_next_level() gives an entry that points at a table. */
#define PT_TABLE_FLAGS (PT_BASE | PTE_W)

/* P2M_INVALID_MFN_TYPES (asm/p2m.h): valid types that need no frame. */
#define PT_INVALID_MFN_TYPES                                                   \
    (p2m_to_mask(p2m_populate_on_demand) | p2m_to_mask(p2m_mmio_direct) |      \
     p2m_to_mask(p2m_ram_paging_out) | p2m_to_mask(p2m_ram_paged) |            \
     p2m_to_mask(p2m_ram_paging_in))

uint64_t pt_p2m_type_to_flags(const struct domain *d, p2m_type_t t)
{
    uint64_t f = ((uint64_t)t << PT_TYPE_SHIFT) & PT_TYPE_MASK;

    switch (t) {
    case p2m_ram_rw:
        return f | PT_BASE | PTE_W;
    case p2m_ram_logdirty:
        /* Without RW, so that the first write takes a #NPF into
         * hvm_hap_nested_page_fault() and is logged (no PML on SVM). */
        if (MUTANT(MUT_NPT_LOGDIRTY_RW))
            return f | PT_BASE | PTE_W;
        return f | PT_BASE;
    case p2m_ram_ro:
    case p2m_ram_shared:
        return f | PT_BASE;
    case p2m_mmio_direct:
        /* RW unless the frame is in mmio_ro_ranges (none here); PCD. */
        return f | PT_BASE | PTE_W | PT_PCD;
    case p2m_grant_map_rw:
    case p2m_map_foreign:
        return f | PT_BASE | PTE_W | PTE_NX;
    case p2m_ioreq_server:
        /* RW unless the server claims writes (XEN_DMOP_IOREQ_MEM_ACCESS_WRITE). */
        if (d && d->ioreq.write && !MUTANT(MUT_IOREQ_WRITABLE))
            return f | PT_BASE | PTE_NX;
        return f | PT_BASE | PTE_W | PTE_NX;
    case p2m_grant_map_ro:
        return f | PT_BASE | PTE_NX;
    default: /* invalid, mmio_dm, pod, paging types, broken: not present */
        return f | PTE_NX;
    }
}

/* p2m_flags_to_type(): an entry with no flags at all is p2m_invalid. */
static p2m_type_t pt_type(uint64_t e)
{
    uint64_t flags = e & (0xFFFULL | (0xFFFULL << 52));
    return flags ? (p2m_type_t)((e & PT_TYPE_MASK) >> PT_TYPE_SHIFT)
                 : p2m_invalid;
}

/* A PS entry at level 2 or 3 is a leaf (present or not: a PoD or paged
 * superpage keeps PS, p2m_l2e_from_pfn() adds it). */
static bool pt_is_super(uint64_t e, int level)
{
    return (level == 2 || level == 3) && (e & PTE_PS);
}

static mfn_t pt_mfn(uint64_t e)
{
    uint64_t f = (e & PTE_ADDR_MASK) >> PAGE_SHIFT;
    return f == PT_MFN_FIELD_MAX ? INVALID_MFN : _mfn(f);
}

static unsigned pt_index(gfn_t gfn, int level)
{
    return (gfn_x(gfn) >> (9 * (level - 1))) & (PT_ENTRIES - 1);
}

static uint64_t pt_read(const struct domain *d, mfn_t table, unsigned idx)
{
    uint64_t e = 0;
    hostmem_read64(d->host->mem, hpa_add(mfn_to_hpa(table), 8ULL * idx), &e);
    return e;
}

static void pt_write(struct domain *d, mfn_t table, unsigned idx, uint64_t e)
{
    hostmem_write64(d->host->mem, hpa_add(mfn_to_hpa(table), 8ULL * idx), e);
}

/* A leaf of type t for mfn at 'level' (PS above the PTE level), or 0 as
 * p2m_pt_set_entry() stores when a type that needs a frame has none. */
static uint64_t pt_make_leaf(const struct domain *d, mfn_t mfn, p2m_type_t t,
                             int level)
{
    if (!hostmem_mfn_valid(d->host->nr_frames, mfn) &&
        !(p2m_to_mask(t) & PT_INVALID_MFN_TYPES))
        return 0;
    return pt_p2m_type_to_flags(d, t) | (level > 1 ? PTE_PS : 0) |
           ((mfn_x(mfn) & PT_MFN_FIELD_MAX) << PAGE_SHIFT);
}

/* The deferred global type change (below). */
static bool pt_marked(uint64_t e);
static p2m_type_t pt_recalc_type(const struct domain *d, p2m_type_t t);
static int pt_do_recalc(struct domain *d, gfn_t gfn);

/* p2m_alloc_ptp(): a zeroed table page from the domain's P2M pool. */
static mfn_t pt_alloc_table(struct domain *d)
{
    mfn_t m = heap_alloc_page(d->host, d->id, PGU_P2M);
    if (!mfn_eq(m, INVALID_MFN))
        d->p2m_pages++;
    return m;
}

/* p2m_free_entry(): the table below an entry and every table under it
 * (not the guest frames the leaves name). */
static void pt_free_subtree(struct domain *d, mfn_t table, int level)
{
    if (level > 1)
        for (unsigned i = 0; i < PT_ENTRIES; i++) {
            uint64_t e = pt_read(d, table, i);
            if ((e & PTE_P) && !pt_is_super(e, level))
                pt_free_subtree(d, pt_mfn(e), level - 1);
        }
    heap_free_page(d->host, table);
    if (d->p2m_pages)
        d->p2m_pages--;
}

/*
 * p2m_next_level()'s split of the superpage e at 'level' into a table of
 * 512 entries one level down, each the superpage's flags with its slice
 * of the frames (PS dropped at the PTE level); then, as the walk goes on
 * towards 'target', the part that covers gfn is split again.  Built off
 * to the side: INVALID_MFN (and nothing changed) if a table page cannot
 * be had.
 */
static mfn_t pt_split(struct domain *d, uint64_t e, int level, int target,
                      gfn_t gfn)
{
    mfn_t table = pt_alloc_table(d);
    if (mfn_eq(table, INVALID_MFN))
        return INVALID_MFN;
    mfn_t base = pt_mfn(e);
    uint64_t trunk = 1ULL << (9 * (level - 2));
    uint64_t keep = e & ~PTE_ADDR_MASK & ~(level - 1 == 1 ? PTE_PS : 0);
    for (unsigned i = 0; i < PT_ENTRIES; i++) {
        uint64_t m = mfn_eq(base, INVALID_MFN) ? PT_MFN_FIELD_MAX
                                               : mfn_x(base) + i * trunk;
        uint64_t ne = keep | ((m & PT_MFN_FIELD_MAX) << PAGE_SHIFT);
        /* MUT_SPLIT_LOSES_TYPE, as in p2m-ept.c: the parts come out as
         * ram_rw. */
        if (MUTANT(MUT_SPLIT_LOSES_TYPE) && (e & PTE_P))
            ne = (ne & ~(PT_TYPE_MASK | PTE_NX | PT_PCD)) | PTE_W |
                 ((uint64_t)p2m_ram_rw << PT_TYPE_SHIFT);
        pt_write(d, table, i, ne);
    }
    if (level - 1 > target) {
        unsigned idx = pt_index(gfn, level - 1);
        mfn_t sub = pt_split(d, pt_read(d, table, idx), level - 1, target, gfn);
        if (mfn_eq(sub, INVALID_MFN)) {
            pt_free_subtree(d, table, 1); /* its leaves name no tables */
            return INVALID_MFN;
        }
        pt_write(d, table, idx, PT_TABLE_FLAGS | (mfn_x(sub) << PAGE_SHIFT));
    }
    return table;
}

/* p2m_next_level(): the table below entry idx of 'table' at 'level',
 * allocated when the entry is empty (no flags at all: a not-present PoD or
 * paging entry is not empty), split down to target when a superpage. */
static mfn_t pt_next_level(struct domain *d, mfn_t table, unsigned idx,
                           int level, int target, gfn_t gfn)
{
    uint64_t e = pt_read(d, table, idx);
    if (pt_is_super(e, level)) {
        mfn_t sub = pt_split(d, e, level, target, gfn);
        if (mfn_eq(sub, INVALID_MFN))
            return INVALID_MFN;
        pt_write(d, table, idx, PT_TABLE_FLAGS | (mfn_x(sub) << PAGE_SHIFT));
        return sub;
    }
    if (e & PTE_P)
        return pt_mfn(e);
    mfn_t m = pt_alloc_table(d);
    if (mfn_eq(m, INVALID_MFN))
        return INVALID_MFN;
    pt_write(d, table, idx, PT_TABLE_FLAGS | (mfn_x(m) << PAGE_SHIFT));
    return m;
}

/*
 * p2m_pt_set_entry() for 2^order gfns (order 0, 9, 18) at an aligned gfn:
 * the leaf goes at level order/9 + 1, a superpage on the way is split, a
 * table where a superpage goes is freed afterwards.  0, -EINVAL (range,
 * alignment, order, type, a foreign type), -ENOMEM (nothing changed).
 */
static int pt_set_entry_order(struct domain *d, gfn_t gfn, mfn_t mfn,
                              unsigned order, p2m_type_t t, p2m_access_t a)
{
    (void)a; /* p2m-pt keeps no access type */
    if (order != PAGE_ORDER_4K && order != PAGE_ORDER_2M &&
        order != PAGE_ORDER_1G)
        return -EINVAL;
    uint64_t n = 1ULL << order;
    if (gfn_x(gfn) & (n - 1) || gfn_x(gfn) >= d->max_gfn ||
        d->max_gfn - gfn_x(gfn) < n || (gfn_x(gfn) + n - 1) >> EPT_GFN_BITS)
        return -EINVAL;
    if ((unsigned)t >= P2M_NR_TYPES || t == p2m_map_foreign)
        return -EINVAL;
    if (!mfn_eq(mfn, INVALID_MFN) && (mfn_x(mfn) & (n - 1)))
        return -EINVAL;
    /* p2m_pt_set_entry(): pending changes on the gfn's path are carried
     * out first (do_recalc()), so the new leaf is never written under a
     * marker. */
    pt_do_recalc(d, gfn);
    if (d->p2m_fail_in && --d->p2m_fail_in == 0)
        return -ENOMEM;

    int target = (int)order / 9 + 1;
    mfn_t table = d->ept_root;
    for (int level = PT_LEVELS; level > target; level--) {
        table = pt_next_level(d, table, pt_index(gfn, level), level, target, gfn);
        if (mfn_eq(table, INVALID_MFN))
            return -ENOMEM;
    }
    unsigned idx = pt_index(gfn, target);
    uint64_t old = pt_read(d, table, idx);
    uint64_t nl = pt_make_leaf(d, mfn, t, target);
    pt_write(d, table, idx, nl);
    /* p2m->ioreq.entry_count counts the 4 KiB ioreq_server entries. */
    if (target == 1) {
        bool was = old && pt_type(old) == p2m_ioreq_server;
        bool is = nl && t == p2m_ioreq_server;
        if (was && !is && d->ioreq.entry_count)
            d->ioreq.entry_count--;
        else if (is && !was)
            d->ioreq.entry_count++;
    }
    if (target > 1 && (old & PTE_P) && !pt_is_super(old, target))
        pt_free_subtree(d, pt_mfn(old), target - 1);
    /* The highest gfn ever given a mapping (p2m-pt counts every type but
     * p2m_invalid; mmio_dm entries are stored empty, so the lookups that
     * follow answer the same either way). */
    if (t != p2m_invalid && t != p2m_mmio_dm &&
        gfn_x(gfn) + n - 1 > d->max_mapped_pfn)
        d->max_mapped_pfn = gfn_x(gfn) + n - 1;
    return 0;
}

/*
 * p2m_pt_get_entry(): mfn, type and order of gfn's entry.  The access is
 * always p2m_access_rwx.  Above max_mapped_pfn, under a missing table and
 * for a not-present leaf that is neither PoD nor paging: INVALID_MFN,
 * mmio_dm (order 0, as the EPT backend reports it).
 */
static mfn_t pt_get_entry_order(const struct domain *d, gfn_t gfn,
                                p2m_type_t *t, p2m_access_t *a,
                                unsigned *order)
{
    p2m_type_t ty = p2m_mmio_dm;
    mfn_t mfn = INVALID_MFN;
    unsigned ord = 0;

    if (a)
        *a = p2m_access_rwx;
    if (gfn_x(gfn) > d->max_mapped_pfn || gfn_x(gfn) >> EPT_GFN_BITS)
        goto out;
    mfn_t table = d->ept_root;
    int level;
    uint64_t e = 0;
    bool recalc = false; /* a recalc marker on the path */
    for (level = PT_LEVELS; level >= 1; level--) {
        e = pt_read(d, table, pt_index(gfn, level));
        if (level == 1 || pt_is_super(e, level))
            break;
        if (!(e & PTE_P))
            goto out;
        recalc = recalc || !(e & PTE_U);
        table = pt_mfn(e);
    }
    p2m_type_t lt = pt_type(e);
    if (!(e & PTE_P) && !p2m_is_paging(lt) && lt != p2m_populate_on_demand)
        goto out;
    if (lt == p2m_invalid)
        goto out;
    /* p2m_pt_get_entry(): a leaf under (or with) a marker answers the
     * type its pending recalculation will give it (recalc_type()). */
    if (!d->ept_raw && (recalc || pt_marked(e)))
        lt = pt_recalc_type(d, lt);
    ty = lt;
    mfn = pt_mfn(e);
    ord = 9 * (unsigned)(level - 1);
    if (!mfn_eq(mfn, INVALID_MFN))
        mfn = _mfn(mfn_x(mfn) + (gfn_x(gfn) & ((1ULL << ord) - 1)));
out:
    if (t)
        *t = ty;
    if (order)
        *order = ord;
    return mfn;
}

/* Guest frames d owns back to the heap (relinquish_memory()). */
static void pt_free_guest_frames(struct domain *d, mfn_t m, uint64_t n)
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

static void pt_free_table(struct domain *d, mfn_t table, int level)
{
    struct host *h = d->host;
    for (unsigned i = 0; i < PT_ENTRIES; i++) {
        uint64_t e = pt_read(d, table, i);
        if (pt_is_super(e, level)) {
            /* A raw large leaf need not map frames the domain owns
             * through its P2M (d:npt_set_raw). */
            if ((e & PTE_P) && !d->ept_raw)
                pt_free_guest_frames(d, pt_mfn(e), 1ULL << (9 * (level - 1)));
            continue;
        }
        if (level > 1) {
            if (e & PTE_P)
                pt_free_table(d, pt_mfn(e), level - 1);
            continue;
        }
        if (!(e & PTE_P))
            continue;
        mfn_t m = pt_mfn(e);
        /* Granted pages belong to other domains: drop the reference
         * (gnttab_release_mappings()). */
        if (p2m_is_grant(pt_type(e))) {
            if (hostmem_mfn_valid(h->nr_frames, m) && h->frames[mfn_x(m)].count > 1) {
                hostmem_meta_mark(h->mem, mfn_x(m)); /* for oracle_check() */
                h->frames[mfn_x(m)].count--;
            }
        } else {
            pt_free_guest_frames(d, m, 1);
        }
    }
    heap_free_page(h, table);
    if (d->p2m_pages)
        d->p2m_pages--;
}

/* p2m_teardown(): every table, root included, and the RAM it maps. */
static void pt_teardown(struct domain *d)
{
    if (mfn_eq(d->ept_root, INVALID_MFN))
        return;
    pt_free_table(d, d->ept_root, PT_LEVELS);
    d->ept_root = INVALID_MFN;
}

static void pt_retype_table(struct domain *d, mfn_t table, int level,
                            p2m_type_t ot, p2m_type_t nt)
{
    for (unsigned i = 0; i < PT_ENTRIES; i++) {
        uint64_t e = pt_read(d, table, i);
        if (level > 1 && !pt_is_super(e, level)) {
            if (e & PTE_P)
                pt_retype_table(d, pt_mfn(e), level - 1, ot, nt);
            continue;
        }
        if (level > 1 && d->ept_raw)
            continue; /* a large leaf in a domain with raw entries */
        if (!e || pt_type(e) != ot)
            continue;
        pt_write(d, table, i, pt_make_leaf(d, pt_mfn(e), nt, level));
    }
}

/* p2m_pt_change_entry_type_global(): set_recalc() (U cleared) in every
 * present PML4E not yet marked; the leaves are recalculated lazily, by
 * pt_do_recalc() on the #NPFs the marks cause.  The recalculation reads
 * the domain's state (pt_recalc_type()), not ot/nt: the callers change
 * that state first (d->ld.enabled, d->ioreq.mapped), as Xen's do.  A
 * domain with raw entries is retyped at once (ot leaves become nt, large
 * raw leaves left alone). */
static void pt_change_type_global(struct domain *d, p2m_type_t ot,
                                  p2m_type_t nt)
{
    if (ot == p2m_ioreq_server)
        d->ioreq.entry_count = 0;
    if (mfn_eq(d->ept_root, INVALID_MFN))
        return;
    if (d->ept_raw) {
        pt_retype_table(d, d->ept_root, PT_LEVELS, ot, nt);
        return;
    }
    for (unsigned i = 0; i < PT_ENTRIES; i++) {
        uint64_t e = pt_read(d, d->ept_root, i);
        if ((e & PTE_P) && (e & PTE_U))
            pt_write(d, d->ept_root, i, e & ~PTE_U);
    }
}

/* needs_recalc(): a present entry with U clear. */
static bool pt_marked(uint64_t e)
{
    return (e & PTE_P) && !(e & PTE_U);
}

/* p2m_recalc_type_range() for a whole leaf (the log-dirty state is global
 * here, never per range): changeable types follow log-dirty, except
 * ioreq_server while a server holds the type; the rest keep their type. */
static p2m_type_t pt_recalc_type(const struct domain *d, p2m_type_t t)
{
    if (t != p2m_ram_rw && t != p2m_ram_logdirty && t != p2m_ioreq_server)
        return t;
    if (t == p2m_ioreq_server && d->ioreq.mapped)
        return t;
    return d->ld.enabled ? p2m_ram_logdirty : p2m_ram_rw;
}

/*
 * do_recalc(): resolve the recalc markers on gfn's path.  At each table
 * level whose entry is marked, every present entry of the table below is
 * marked (the range the entry covers keeps its pending change) and the
 * entry itself unmarked; a marked leaf (4 KiB, or a superpage, recomputed
 * whole since the log-dirty state is the same over its range) is
 * rewritten with pt_recalc_type(), or just unmarked when that keeps its
 * type.  Returns 1 when anything changed (Xen's recalc_done: the #NPF was
 * a recalculation, the guest retries), else 0.
 */
static int pt_do_recalc(struct domain *d, gfn_t gfn)
{
    int done = 0;
    if (mfn_eq(d->ept_root, INVALID_MFN) || d->ept_raw ||
        gfn_x(gfn) >> EPT_GFN_BITS)
        return 0;
    mfn_t table = d->ept_root;
    int level = PT_LEVELS;
    for (; level > 1; level--) {
        unsigned idx = pt_index(gfn, level);
        uint64_t e = pt_read(d, table, idx);
        if (!(e & PTE_P) || pt_is_super(e, level))
            break;
        mfn_t next = pt_mfn(e);
        if (!(e & PTE_U)) {
            /* MUT_NPT_RECALC_SKIP_RANGE: the marker is dropped without
             * being handed to the other entries of the table below, so
             * the rest of the range keeps its old type for good. */
            if (!MUTANT(MUT_NPT_RECALC_SKIP_RANGE))
                for (unsigned i = 0; i < PT_ENTRIES; i++) {
                    uint64_t c = pt_read(d, next, i);
                    if ((c & PTE_P) && (c & PTE_U))
                        pt_write(d, next, i, c & ~PTE_U);
                }
            pt_write(d, table, idx, e | PTE_U);
            done = 1;
        }
        table = next;
    }
    unsigned idx = pt_index(gfn, level);
    uint64_t e = pt_read(d, table, idx);
    if (pt_marked(e) && (level == 1 || pt_is_super(e, level))) {
        p2m_type_t ot = pt_type(e);
        p2m_type_t nt = pt_recalc_type(d, ot);
        uint64_t ne = nt != ot ? pt_make_leaf(d, pt_mfn(e), nt, level)
                               : e | PTE_U;
        /* MUT_NPT_RECALC_KEEP_MARK: the leaf gets its new type but keeps
         * U clear, so the next walk faults on it again, for ever. */
        if (MUTANT(MUT_NPT_RECALC_KEEP_MARK))
            ne &= ~PTE_U;
        pt_write(d, table, idx, ne);
        done = 1;
    }
    return done;
}

int p2m_pt_handle_deferred_changes(struct domain *d, gpa_t gpa)
{
    if (!d->npt)
        return 0;
    return pt_do_recalc(d, gpa_to_gfn(gpa));
}

/* p2m_pt_init(): the NPT backend's operations. */
const struct p2m_backend p2m_pt_backend = {
    .name = "npt",
    .set_entry = pt_set_entry_order,
    .get_entry = pt_get_entry_order,
    .change_type_global = pt_change_type_global,
    .teardown = pt_teardown,
};

/* The NPT entry for gpa at 'level' (1 = PTE .. 4 = PML4E), read as the
 * hardware would: 0, -EINVAL (not an NPT domain, level, gpa >= 2^48),
 * -ENOENT (a table above is missing, or a large leaf above maps gpa). */
int p2m_npt_raw_get(const struct domain *d, gpa_t gpa, unsigned level,
                    uint64_t *value)
{
    gfn_t gfn = gpa_to_gfn(gpa);
    if (!d->npt || level < 1 || level > PT_LEVELS || gfn_x(gfn) >> EPT_GFN_BITS)
        return -EINVAL;
    mfn_t table = d->ept_root;
    for (int lv = PT_LEVELS; lv > (int)level; lv--) {
        uint64_t e = pt_read(d, table, pt_index(gfn, lv));
        if (!(e & PTE_P) || pt_is_super(e, lv))
            return -ENOENT;
        table = pt_mfn(e);
    }
    *value = pt_read(d, table, pt_index(gfn, (int)level));
    return 0;
}

/*
 * d:npt_set_raw: value written as the entry for gpa at 'level', creating
 * missing tables above as p2m_pt_set_entry() would; nothing checked or
 * flushed (a scenario poking the nested tables the way a buggy hypervisor
 * could, e.g. with reserved bits).  A leaf (level 1, or PS at level 2/3)
 * with any flag and a type other than p2m_invalid raises max_mapped_pfn
 * to the last gfn it covers.  0, -EINVAL (not NPT, level, gpa >= 2^48),
 * -EEXIST (a large leaf above maps gpa), -EBUSY (the entry points at a
 * table and value would not: the table would leak), -ENOMEM.
 */
int p2m_npt_raw_set(struct domain *d, gpa_t gpa, unsigned level, uint64_t value)
{
    gfn_t gfn = gpa_to_gfn(gpa);
    if (!d->npt || level < 1 || level > PT_LEVELS || gfn_x(gfn) >> EPT_GFN_BITS)
        return -EINVAL;
    mfn_t table = d->ept_root;
    for (int lv = PT_LEVELS; lv > (int)level; lv--) {
        uint64_t e = pt_read(d, table, pt_index(gfn, lv));
        if (pt_is_super(e, lv))
            return -EEXIST;
        table = pt_next_level(d, table, pt_index(gfn, lv), lv, (int)level, gfn);
        if (mfn_eq(table, INVALID_MFN))
            return -ENOMEM;
    }
    uint64_t old = pt_read(d, table, pt_index(gfn, (int)level));
    if (level > 1 && (old & PTE_P) && !pt_is_super(old, (int)level) &&
        (!(value & PTE_P) || pt_is_super(value, (int)level) ||
         (value & PTE_ADDR_MASK) != (old & PTE_ADDR_MASK)))
        return -EBUSY;
    pt_write(d, table, pt_index(gfn, (int)level), value);
    d->ept_raw = true;
    bool leaf = level == 1 || pt_is_super(value, (int)level);
    if (leaf && value && pt_type(value) != p2m_invalid) {
        uint64_t span = 1ULL << (9 * (level - 1));
        uint64_t last = (gfn_x(gfn) & ~(span - 1)) + span - 1;
        if (last > d->max_mapped_pfn)
            d->max_mapped_pfn = last;
    }
    return 0;
}
