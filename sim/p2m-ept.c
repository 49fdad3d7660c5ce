/* SPDX-License-Identifier: MIT */
/*
 * sim/p2m-ept.c - the P2M as a real EPT in host memory.
 *
 * Models xen/arch/x86/mm/p2m-ept.c: ept_p2m_type_to_flags(), ept_set_entry()
 * and ept_get_entry(), plus the teardown and the global type change, for
 * 4 KiB pages only.  The tables are the ones model/ept.c walks: what is
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
 * The hypervisor writes 4 KiB leaves only; large leaves (bit 7 at level 2
 * or 3) exist only where a scenario wrote one with p2m_ept_raw_set().
 * They are read as leaves (ept_get_entry()'s is_epte_superpage() case),
 * split into 512 smaller leaves when the hypervisor sets an entry below
 * one (ept_split_super_page()), and left alone by the teardown and the
 * global type change (they map no frame the domain owns through its P2M).
 * No EMT=7 "recalc" misconfigurations: type changes are applied to the
 * leaves at once (see ept_change_type_global()).
 */
#include "pagesim/mutant.h"
#include "sim-internal.h"

/* The 40-bit mfn field of an entry, and its all-ones value. */
#define EPTE_MFN_BITS 40
#define EPTE_MFN_FIELD_MAX ((1ULL << EPTE_MFN_BITS) - 1)
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

/* A leaf for (mfn, t, a), or 0 as ept_set_entry() stores for a type that
 * needs a frame but was given none. */
static uint64_t ept_make_leaf(const struct domain *d, mfn_t mfn, p2m_type_t t,
                              p2m_access_t a)
{
    if (!hostmem_mfn_valid(d->host->nr_frames, mfn) && !p2m_allows_invalid_mfn(t))
        return 0;
    /* With PML a 4 KiB ram_logdirty leaf stays writable: the processor logs
     * the first write (its D flag, clear in a fresh leaf) instead of
     * faulting (ept_p2m_type_to_flags() with vmx_domain_pml_enabled()). */
    uint64_t w = t == p2m_ram_logdirty && d->pml_on ? EPT_W : 0;
    return ept_p2m_type_to_flags(t, a) | w |
           ((uint64_t)EPT_MT_WB << EPTE_EMT_SHIFT) |
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

static uint64_t ept_read(const struct domain *d, mfn_t table, unsigned idx)
{
    uint64_t e = 0;
    hostmem_read64(d->host->mem, ept_slot(table, idx), &e);
    return e;
}

static void ept_write(struct domain *d, mfn_t table, unsigned idx, uint64_t e)
{
    hostmem_write64(d->host->mem, ept_slot(table, idx), e);
}

/* is_epte_superpage(): a present entry at level 2 or 3 with bit 7 maps a
 * 2 MiB / 1 GiB page instead of pointing at a table. */
static bool ept_is_super(uint64_t e, int level)
{
    return (level == 2 || level == 3) && (e & EPT_RWX) && (e & EPTE_SP);
}

/*
 * ept_split_super_page(): replace the large leaf e at 'level' (entry idx of
 * 'table') by a table of 512 leaves one level down that map the same range
 * with the same bits (bit 7 kept for 2 MiB leaves made from a 1 GiB one,
 * dropped for 4 KiB leaves).  Returns the new table or INVALID_MFN.
 */
static mfn_t ept_split(struct domain *d, mfn_t table, unsigned idx,
                       uint64_t e, int level)
{
    mfn_t m = heap_alloc_page(d->host, d->id, PGU_P2M);
    if (mfn_eq(m, INVALID_MFN))
        return INVALID_MFN;
    d->p2m_pages++;
    uint64_t step = 1ULL << (PAGE_SHIFT + 9 * (level - 2)); /* bytes per new leaf */
    uint64_t keep = e & ~EPT_ADDR_MASK & ~(level == 2 ? EPTE_SP : 0);
    uint64_t base = e & EPT_ADDR_MASK;
    for (unsigned i = 0; i < EPT_ENTRIES; i++)
        ept_write(d, m, i, keep | ((base + i * step) & EPT_ADDR_MASK));
    ept_write(d, table, idx, EPT_RWX | (mfn_x(m) << PAGE_SHIFT));
    return m;
}

/*
 * ept_next_level(): the table below entry idx of 'table' (at 'level'),
 * allocating it (a zeroed frame from the heap, use PGU_P2M) or splitting a
 * large leaf there when 'alloc' is set.  Returns the table's mfn or
 * INVALID_MFN (missing or a large leaf without alloc, or heap empty).
 */
static mfn_t ept_next_level(struct domain *d, mfn_t table, unsigned idx,
                            int level, bool alloc)
{
    uint64_t e = ept_read(d, table, idx);
    if (ept_is_super(e, level))
        return alloc ? ept_split(d, table, idx, e, level) : INVALID_MFN;
    if (e & EPT_RWX)
        return _mfn((e & EPT_ADDR_MASK) >> PAGE_SHIFT);
    if (!alloc)
        return INVALID_MFN;
    mfn_t m = heap_alloc_page(d->host, d->id, PGU_P2M);
    if (mfn_eq(m, INVALID_MFN))
        return INVALID_MFN;
    d->p2m_pages++;
    ept_write(d, table, idx, EPT_RWX | (mfn_x(m) << PAGE_SHIFT));
    return m;
}

/*
 * ept_set_entry() for one 4 KiB entry.  Returns 0, -EINVAL (gfn outside
 * [0, max_gfn)), -ENOMEM (no frame for an intermediate table).
 */
int p2m_set_entry(struct domain *d, gfn_t gfn, mfn_t mfn, p2m_type_t t,
                  p2m_access_t a)
{
    if (gfn_x(gfn) >= d->max_gfn || gfn_x(gfn) >> EPT_GFN_BITS)
        return -EINVAL;
    if ((unsigned)t >= P2M_NR_TYPES)
        return -EINVAL;

    mfn_t table = d->ept_root;
    for (int level = EPT_LEVELS; level > 1; level--) {
        table = ept_next_level(d, table, ept_index(gfn, level), level, true);
        if (mfn_eq(table, INVALID_MFN))
            return -ENOMEM;
    }
    ept_write(d, table, ept_index(gfn, 1), ept_make_leaf(d, mfn, t, a));

    /* As ept_set_entry(): track the highest gfn ever given a mapping. */
    if (t != p2m_invalid && t != p2m_mmio_dm && gfn_x(gfn) > d->max_mapped_pfn)
        d->max_mapped_pfn = gfn_x(gfn);
    return 0;
}

/*
 * ept_get_entry(): the mfn at gfn with *t and *a (either may be NULL).
 * Defaults INVALID_MFN / p2m_mmio_dm / p2m_access_n for gfns above
 * max_mapped_pfn, missing tables and entries that are not is_epte_valid().
 */
mfn_t p2m_get_entry(const struct domain *d, gfn_t gfn, p2m_type_t *t,
                    p2m_access_t *a)
{
    p2m_type_t ty = p2m_mmio_dm;
    p2m_access_t ac = p2m_access_n;
    mfn_t mfn = INVALID_MFN;

    if (gfn_x(gfn) > d->max_mapped_pfn || gfn_x(gfn) >> EPT_GFN_BITS)
        goto out;

    mfn_t table = d->ept_root;
    uint64_t e = 0, off = 0;
    int level;
    for (level = EPT_LEVELS; level > 1; level--) {
        e = ept_read(d, table, ept_index(gfn, level));
        if (ept_is_super(e, level)) {
            /* A large leaf: the gfn's frame is the leaf's plus the offset. */
            off = gfn_x(gfn) & ((1ULL << (9 * (level - 1))) - 1);
            break;
        }
        if (!(e & EPT_RWX))
            goto out;
        table = _mfn((e & EPT_ADDR_MASK) >> PAGE_SHIFT);
    }
    if (level == 1)
        e = ept_read(d, table, ept_index(gfn, 1));
    if (!ept_entry_valid(e))
        goto out;
    ty = (p2m_type_t)((e & EPTE_P2MT_MASK) >> EPTE_P2MT_SHIFT);
    ac = (p2m_access_t)((e & EPTE_ACCESS_MASK) >> EPTE_ACCESS_SHIFT);
    mfn = ept_leaf_mfn(e);
    if (level > 1 && !mfn_eq(mfn, INVALID_MFN))
        mfn = _mfn(mfn_x(mfn) + off);

out:
    if (t)
        *t = ty;
    if (a)
        *a = ac;
    return mfn;
}

/* Post-order walk of the table at 'level'; see ept_teardown(). */
static void ept_free_table(struct domain *d, mfn_t table, int level)
{
    struct host *h = d->host;

    for (unsigned i = 0; i < EPT_ENTRIES; i++) {
        uint64_t e = ept_read(d, table, i);
        if (level > 1) {
            if ((e & EPT_RWX) && !ept_is_super(e, level))
                ept_free_table(d, _mfn((e & EPT_ADDR_MASK) >> PAGE_SHIFT),
                               level - 1);
            continue;
        }
        if (!ept_entry_valid(e))
            continue;
        /* Guest RAM this domain owns goes back to the heap (Xen frees it
         * through relinquish_memory() rather than the P2M). */
        mfn_t m = ept_leaf_mfn(e);
        if (hostmem_mfn_valid(h->nr_frames, m) &&
            h->frames[mfn_x(m)].owner == d->id &&
            h->frames[mfn_x(m)].use == PGU_GUEST)
            heap_free_page(h, m);
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

static void ept_retype_table(struct domain *d, mfn_t table, int level,
                             p2m_type_t ot, p2m_type_t nt)
{
    for (unsigned i = 0; i < EPT_ENTRIES; i++) {
        uint64_t e = ept_read(d, table, i);
        if (level > 1) {
            if ((e & EPT_RWX) && !ept_is_super(e, level))
                ept_retype_table(d, _mfn((e & EPT_ADDR_MASK) >> PAGE_SHIFT),
                                 level - 1, ot, nt);
            continue;
        }
        if (!ept_entry_valid(e) ||
            (p2m_type_t)((e & EPTE_P2MT_MASK) >> EPTE_P2MT_SHIFT) != ot)
            continue;
        p2m_access_t a =
            (p2m_access_t)((e & EPTE_ACCESS_MASK) >> EPTE_ACCESS_SHIFT);
        ept_write(d, table, i, ept_make_leaf(d, ept_leaf_mfn(e), nt, a));
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
    if (!mfn_eq(d->ept_root, INVALID_MFN))
        ept_retype_table(d, d->ept_root, EPT_LEVELS, ot, nt);
}

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
    if (level < 1 || level > EPT_LEVELS || gfn_x(gfn) >> EPT_GFN_BITS)
        return -EINVAL;
    mfn_t table = d->ept_root;
    for (int lv = EPT_LEVELS; lv > (int)level; lv--) {
        uint64_t e = ept_read(d, table, ept_index(gfn, lv));
        if (ept_is_super(e, lv))
            return -EEXIST;
        table = ept_next_level(d, table, ept_index(gfn, lv), lv, true);
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
    if (level < 1 || level > EPT_LEVELS || gfn_x(gfn) >> EPT_GFN_BITS)
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
