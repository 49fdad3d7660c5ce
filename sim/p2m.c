/* SPDX-License-Identifier: MIT */
/*
 * sim/p2m.c - P2M operations above the EPT, memory ops and domains.
 *
 * Models xen/arch/x86/mm/p2m.c (p2m_add_page(), p2m_remove_entry(),
 * p2m_change_type_one(), p2m_change_entry_type_global(),
 * set_typed_p2m_entry()), xen/common/memory.c (populate_physmap(),
 * guest_remove_page()), the hvm_copy_{to,from}_guest_phys() of
 * xen/arch/x86/hvm/hvm.c, and domain creation / teardown.
 *
 * The P2M and the M2P are two halves of one relation and every function
 * here keeps them consistent:
 *
 *   (1) if gfn -> mfn is a RAM entry of d, then m2p[mfn] == gfn;
 *   (2) if m2p[mfn] == gfn != INVALID, mfn is owned by a domain that maps
 *       gfn -> mfn (or mfn was just orphaned by p2m_add_page() replacing
 *       the gfn's frame, in which case m2p[mfn] is INVALID);
 *   (3) a gfn gaining a frame is marked dirty, a gfn losing one is marked
 *       clean (seed 001, upstream 98fccdf0ac), so that the tool stack never
 *       copies a page from a gfn that no longer has one.
 *
 * P2M entry life cycle for RAM (the functions performing each step):
 *
 *   (no entry) --guest_populate_page/p2m_add_page--> ram_rw | ram_logdirty
 *   ram_rw --paging_log_dirty_enable / CLEAN re-arm--> ram_logdirty
 *   ram_logdirty --write fault (hvm_hap_nested_page_fault)--> ram_rw
 *   ram_logdirty --paging_log_dirty_disable--> ram_rw
 *   ram_* --p2m_remove_page/guest_remove_page/p2m_set_type--> (no entry)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pagesim/mutant.h"
#include "sim-internal.h"

static const char *const p2m_type_names[P2M_NR_TYPES] = {
    [p2m_ram_rw] = "ram_rw",
    [p2m_invalid] = "invalid",
    [p2m_ram_logdirty] = "ram_logdirty",
    [p2m_ram_ro] = "ram_ro",
    [p2m_mmio_dm] = "mmio_dm",
    [p2m_mmio_direct] = "mmio_direct",
    [p2m_populate_on_demand] = "populate_on_demand",
    [p2m_grant_map_rw] = "grant_map_rw",
    [p2m_grant_map_ro] = "grant_map_ro",
    [p2m_ram_paging_out] = "ram_paging_out",
    [p2m_ram_paged] = "ram_paged",
    [p2m_ram_paging_in] = "ram_paging_in",
    [p2m_ram_shared] = "ram_shared",
    [p2m_ram_broken] = "ram_broken",
    [p2m_map_foreign] = "map_foreign",
    [p2m_ioreq_server] = "ioreq_server",
};

/* Xen's name without "p2m_", or "?" for a value out of range. */
const char *p2m_type_name(p2m_type_t t)
{
    return (unsigned)t < P2M_NR_TYPES ? p2m_type_names[t] : "?";
}

/* Inverse of p2m_type_name(); a "p2m_" prefix is accepted.  -1 if unknown. */
int p2m_type_from_name(const char *name)
{
    if (!name)
        return -1;
    if (!strncmp(name, "p2m_", 4))
        name += 4;
    for (int t = 0; t < P2M_NR_TYPES; t++)
        if (!strcmp(p2m_type_names[t], name))
            return t;
    return -1;
}

/* ---- type classes and access names ---------------------------------------- */

bool p2m_type_is_ram(p2m_type_t t) { return p2m_is_ram(t); }
bool p2m_type_is_paging(p2m_type_t t) { return p2m_is_paging(t); }
bool p2m_type_is_pageable(p2m_type_t t) { return p2m_is_pageable(t); }
bool p2m_type_is_grant(p2m_type_t t) { return p2m_is_grant(t); }
bool p2m_type_is_foreign(p2m_type_t t) { return t == p2m_map_foreign; }
bool p2m_type_is_shared(p2m_type_t t) { return t == p2m_ram_shared; }
bool p2m_type_is_mmio(p2m_type_t t) { return p2m_is_mmio(t); }
bool p2m_type_is_pod(p2m_type_t t) { return t == p2m_populate_on_demand; }
/* P2M_RO_TYPES: the types whose EPT entry has w = 0 although RAM-like. */
bool p2m_type_is_readonly(p2m_type_t t)
{
    return t == p2m_ram_logdirty || t == p2m_ram_ro || t == p2m_grant_map_ro ||
           t == p2m_ram_shared;
}
bool p2m_type_is_changeable(p2m_type_t t)
{
    return t == p2m_ram_rw || t == p2m_ram_logdirty || t == p2m_ioreq_server;
}
bool p2m_type_is_special(p2m_type_t t)
{
    return p2m_is_grant(t) || t == p2m_map_foreign || t == p2m_mmio_direct;
}

static const char *const p2m_access_names[] = {
    [p2m_access_n] = "n",         [p2m_access_r] = "r",
    [p2m_access_w] = "w",         [p2m_access_rw] = "rw",
    [p2m_access_x] = "x",         [p2m_access_rx] = "rx",
    [p2m_access_wx] = "wx",       [p2m_access_rwx] = "rwx",
    [p2m_access_rx2rw] = "rx2rw", [p2m_access_n2rwx] = "n2rwx",
    [p2m_access_r_pw] = "r_pw",
};
#define P2M_NR_ACCESS (sizeof p2m_access_names / sizeof p2m_access_names[0])

const char *p2m_access_name(p2m_access_t a)
{
    return (unsigned)a < P2M_NR_ACCESS ? p2m_access_names[a] : "?";
}

int p2m_access_from_name(const char *name)
{
    for (unsigned a = 0; name && a < P2M_NR_ACCESS; a++)
        if (!strcmp(p2m_access_names[a], name))
            return (int)a;
    return -1;
}

/* Predicates of asm/p2m.h that sim.h does not export. */
#define p2m_is_paged(t) ((t) == p2m_ram_paged)
#define p2m_is_foreign(t) ((t) == p2m_map_foreign)
#define p2m_is_shared(t) ((t) == p2m_ram_shared)
#define p2m_is_valid(t) (p2m_is_ram(t) || (t) == p2m_mmio_direct)
#define p2m_is_changeable(t)                                                   \
    ((t) == p2m_ram_rw || (t) == p2m_ram_logdirty || (t) == p2m_ioreq_server)
/* P2M_SPECIAL_TYPES: grant, foreign, mmio_direct. */
#define p2m_is_special(t)                                                      \
    (p2m_is_grant(t) || p2m_is_foreign(t) || (t) == p2m_mmio_direct)

/* ---- P2M ------------------------------------------------------------------ */

/*
 * p2m_remove_entry() (was p2m_remove_page()): unmap gfn, which must map mfn
 * if mfn is valid.  The M2P entry of mfn becomes INVALID and gfn is marked
 * clean (seed 001), unless the entry is special or shared.  The entry
 * becomes p2m_invalid / INVALID_MFN, which ept_set_entry() stores as 0.
 * Returns 0, -EILSEQ (gfn maps another frame; Xen also crashes the domain),
 * or an error of p2m_set_entry().
 */
int p2m_remove_page(struct domain *d, gfn_t gfn, mfn_t mfn)
{
    struct host *h = d->host;
    p2m_type_t t = p2m_mmio_dm;

    if (gfn_x(gfn) >= d->max_gfn)
        return -EINVAL;
    if (hostmem_mfn_valid(h->nr_frames, mfn)) {
        mfn_t cur = p2m_get_entry(d, gfn, &t, NULL);
        if (p2m_is_valid(t) && !mfn_eq(cur, mfn))
            return -EILSEQ;
        if (!p2m_is_special(t) && !p2m_is_shared(t)) {
            set_gpfn_from_mfn(h, mfn, INVALID_M2P_ENTRY);
            if (!MUTANT(MUT_NO_CLEAN_ON_REMOVE))
                paging_mark_pfn_clean(d, gfn);
        }
    }
    int rc = p2m_set_entry(d, gfn, INVALID_MFN, p2m_invalid, P2M_DEFAULT_ACCESS);
    if (rc && hostmem_mfn_valid(h->nr_frames, mfn) && !p2m_is_special(t) &&
        !p2m_is_shared(t)) {
        /* As Xen: undo the M2P half and re-mark, the entry is still there
         * (only for the types whose M2P and mark were taken away). */
        set_gpfn_from_mfn(h, mfn, gfn_x(gfn));
        paging_mark_pfn_dirty(d, gfn);
    }
    return rc;
}

/*
 * p2m_add_page() (was guest_physmap_add_entry()): map mfn, owned by d, at
 * gfn with type t, in three steps as Xen:
 *   1. a RAM (not paged-out) mapping already at gfn is removed: its frame
 *      loses its M2P entry and stays owned by d, unmapped;
 *   2. if the M2P says mfn is already mapped at another gfn of d, and that
 *      gfn really is RAM mapping mfn, that mapping is removed;
 *   3. gfn -> mfn is set, m2p[mfn] = gfn, gfn marked dirty (seed 001).
 * Returns 0, -EINVAL (bad gfn or mfn, mfn not d's, foreign type, a grant,
 * foreign or direct-MMIO mapping at gfn, which Xen answers with
 * domain_crash()), -ENOMEM.
 */
int p2m_add_page(struct domain *d, gfn_t gfn, mfn_t mfn, p2m_type_t t)
{
    struct host *h = d->host;
    p2m_type_t ot;
    int rc;

    if (gfn_x(gfn) >= d->max_gfn || (unsigned)t >= P2M_NR_TYPES ||
        p2m_is_foreign(t) || !hostmem_mfn_valid(h->nr_frames, mfn))
        return -EINVAL;
    /* Callers of Xen's p2m_add_page() hold a reference on a page of d; we
     * check ownership here instead.  Grant mappings name foreign frames. */
    if (!p2m_is_grant(t) && (h->frames[mfn_x(mfn)].owner != d->id ||
                             h->frames[mfn_x(mfn)].use != PGU_GUEST))
        return -EINVAL;

    /* 1. The p->m mapping already at gfn. */
    mfn_t omfn = p2m_get_entry(d, gfn, &ot, NULL);
    if (p2m_is_special(ot)) /* grant, foreign, direct MMIO */
        return -EINVAL;
    if (p2m_is_ram(ot) && !p2m_is_paged(ot) &&
        hostmem_mfn_valid(h->nr_frames, omfn) &&
        (rc = p2m_remove_page(d, gfn, omfn)))
        return rc;

    /* 2. An m->p mapping of mfn at another gfn. */
    if (!p2m_is_grant(t)) {
        uint64_t ogfn = get_gpfn_from_mfn(h, mfn);
        if (ogfn != INVALID_M2P_ENTRY && ogfn != gfn_x(gfn)) {
            omfn = p2m_get_entry(d, _gfn(ogfn), &ot, NULL);
            if (p2m_is_ram(ot) && !p2m_is_paged(ot) && mfn_eq(omfn, mfn) &&
                (rc = p2m_remove_page(d, _gfn(ogfn), omfn)))
                return rc;
        }
    }

    /* 3. The two-way mapping. */
    p2m_get_entry(d, gfn, &ot, NULL);
    rc = p2m_set_entry(d, gfn, mfn, t, P2M_DEFAULT_ACCESS);
    if (rc)
        return rc;
    /* A PoD entry replaced: pod.entry_count -= pod_count. */
    if (ot == p2m_populate_on_demand)
        d->pod.entry_count--;
    if (!p2m_is_grant(t)) {
        set_gpfn_from_mfn(h, mfn, gfn_x(gfn));
        if (!MUTANT(MUT_NO_DIRTY_ON_ADD))
            paging_mark_pfn_dirty(d, gfn);
    }
    return 0;
}

/*
 * p2m_change_type_one(): gfn's entry of type ot becomes nt, same mfn,
 * default access.  Returns 0, -EBUSY (type is not ot), -EINVAL (grant types,
 * which Xen BUG()s on, or a bad gfn), -ENOMEM.
 */
int p2m_change_type_one(struct domain *d, gfn_t gfn, p2m_type_t ot,
                        p2m_type_t nt)
{
    p2m_type_t t;

    if (p2m_is_grant(ot) || p2m_is_grant(nt) || gfn_x(gfn) >= d->max_gfn)
        return -EINVAL;
    mfn_t mfn = p2m_get_entry(d, gfn, &t, NULL);
    if (t != ot)
        return -EBUSY;
    return p2m_set_entry(d, gfn, mfn, nt, P2M_DEFAULT_ACCESS);
}

/*
 * p2m_change_entry_type_global(): only changeable types (ram_rw,
 * ram_logdirty, ioreq_server) may be named, as Xen ASSERT()s.  Applied
 * eagerly to every leaf (see ept_change_type_global()).
 */
void p2m_change_entry_type_global(struct domain *d, p2m_type_t ot,
                                  p2m_type_t nt)
{
    if (ot == nt || !p2m_is_changeable(ot) || !p2m_is_changeable(nt))
        return;
    P2M_BACKEND(d)->change_type_global(d, ot, nt);
}

/*
 * set_typed_p2m_entry() for t = p2m_mmio_dm or p2m_invalid, without a frame
 * (so the entry is stored as 0 and reads back as mmio_dm).  A RAM page at
 * gfn is removed from the P2M (M2P INVALID, gfn marked clean) and, as the
 * sim.h contract asks, released if d owns it: its allocation reference is
 * dropped, so it is freed now or by the last holder's put_page().  Returns 0, -EINVAL (other t,
 * bad gfn), -EPERM (a special entry -- grant, foreign, mmio_direct -- at
 * gfn), -ENOMEM.
 */
/* set_typed_p2m_entry() below its special-type check: gfn's current entry
 * (ot, omfn; not special) is replaced by (mfn, t, a). */
static int replace_typed_entry(struct domain *d, gfn_t gfn, mfn_t mfn,
                               p2m_type_t t, p2m_access_t a, p2m_type_t ot,
                               mfn_t omfn)
{
    struct host *h = d->host;
    int rc;

    /* A shared gfn is unshared first, as guest_remove_page() does, so that
     * its sharer reference goes with it (-ENOMEM: nothing changed). */
    if (p2m_is_shared(ot)) {
        if ((rc = mem_sharing_unshare_page(d, gfn, 0)))
            return rc;
        omfn = p2m_get_entry(d, gfn, &ot, NULL);
    }
    if (p2m_is_ram(ot) && hostmem_mfn_valid(h->nr_frames, omfn)) {
        if ((rc = p2m_remove_page(d, gfn, omfn)))
            return rc;
        /* The allocation reference goes; a page the tool stack or another
         * domain still maps is freed by their last put_page(). */
        if (h->frames[mfn_x(omfn)].owner == d->id)
            heap_put_alloc_ref(h, omfn);
    }
    /* A RAM type without a frame: ram_paged, or ram_paging_in of a gfn
     * paged out and not yet prepared.  Xen's set_typed_p2m_entry() treats
     * every RAM type alike: per page it asserts the old frame is valid (a
     * debug-build check only), invalidates that frame's M2P entry and
     * calls paging_mark_pfn_clean() for the gfn (seed 001).  A release
     * build so cleans a paged gfn's dirty bit too; the stray M2P store for
     * the invalid frame is not modelled.  Found by fuzz --native:
     * scenarios/fuzz-found/set_type_paged_dirty.lua */
    bool frameless_ram = p2m_is_ram(ot) && !hostmem_mfn_valid(h->nr_frames, omfn) &&
                         !MUTANT(MUT_TYPED_PAGED_KEEPS_DIRTY);
    if (frameless_ram)
        paging_mark_pfn_clean(d, gfn);
    rc = p2m_set_entry(d, gfn, mfn, t, a);
    /* A failed update is re-marked dirty, as p2m_remove_page() undoes its
     * mark for a frame above (the oracle's unmap_ram_split() does both). */
    if (rc && frameless_ram)
        paging_mark_pfn_dirty(d, gfn);
    /* set_typed_p2m_entry(): a PoD entry replaced is one fewer. */
    if (!rc && ot == p2m_populate_on_demand)
        d->pod.entry_count--;
    return rc;
}

int p2m_set_type(struct domain *d, gfn_t gfn, p2m_type_t t)
{
    p2m_type_t ot;

    if ((t != p2m_mmio_dm && t != p2m_invalid) || gfn_x(gfn) >= d->max_gfn)
        return -EINVAL;
    mfn_t omfn = p2m_get_entry(d, gfn, &ot, NULL);
    if (p2m_is_special(ot))
        return -EPERM;
    return replace_typed_entry(d, gfn, INVALID_MFN, t, P2M_DEFAULT_ACCESS, ot,
                               omfn);
}

/*
 * XEN_DOMCTL_memory_mapping's checks (the frame below paddr_bits,
 * iomem_access_permitted(): here, not host RAM), then set_mmio_p2m_entry()
 * -> set_typed_p2m_entry(p2m_mmio_direct) for order 0.  Upstream since the
 * XSA-378 follow-up: a special entry at gfn is refused (-EPERM, and the
 * domain crashed) unless it is this very mapping (same mfn and type), which
 * then only takes the new access, or nothing when that is unchanged.
 */
int p2m_set_mmio(struct domain *d, gfn_t gfn, mfn_t mfn, p2m_access_t a)
{
    p2m_type_t ot;
    p2m_access_t oa;

    if (gfn_x(gfn) >= d->max_gfn || (unsigned)a > p2m_access_n2rwx ||
        mfn_eq(mfn, INVALID_MFN) ||
        mfn_x(mfn) >> (HOST_PADDR_BITS - PAGE_SHIFT))
        return -EINVAL;
    if (hostmem_mfn_valid(d->host->nr_frames, mfn))
        return -EPERM;
    mfn_t omfn = p2m_get_entry(d, gfn, &ot, &oa);
    if (p2m_is_special(ot)) {
        if (ot != p2m_mmio_direct || !mfn_eq(omfn, mfn))
            return -EPERM;
        return oa == a ? 0 : p2m_set_entry(d, gfn, mfn, p2m_mmio_direct, a);
    }
    return replace_typed_entry(d, gfn, mfn, p2m_mmio_direct, a, ot, omfn);
}

/*
 * clear_mmio_p2m_entry() for order 0: "gfn_to_mfn failed" (-EINVAL) unless
 * gfn is mmio_direct with a frame; a different frame than the caller names
 * only gets a warning ("no mapping between mfn and gfn") and the entry is
 * cleared all the same.
 */
int p2m_clear_mmio(struct domain *d, gfn_t gfn, mfn_t mfn, bool *mismatch)
{
    p2m_type_t t;

    if (mismatch)
        *mismatch = false;
    if (gfn_x(gfn) >= d->max_gfn)
        return -EINVAL;
    mfn_t actual = p2m_get_entry(d, gfn, &t, NULL);
    if (mfn_eq(actual, INVALID_MFN) || t != p2m_mmio_direct)
        return -EINVAL;
    if (mismatch)
        *mismatch = !mfn_eq(actual, mfn);
    return p2m_set_entry(d, gfn, INVALID_MFN, p2m_invalid, P2M_DEFAULT_ACCESS);
}

/* ---- memory ops ----------------------------------------------------------- */

/*
 * populate_physmap() for one order-0 extent at gfn.  The new page is added
 * as ram_logdirty while log-dirty is on (what p2m_recalc_type() would make
 * of a ram_rw entry under global log-dirty), else ram_rw.  Returns 0 with
 * *out_mfn set (out_mfn may be NULL), -EINVAL, -EEXIST (gfn holds RAM),
 * -ENOMEM (heap or P2M tables).
 */
int guest_populate_page(struct domain *d, gfn_t gfn, mfn_t *out_mfn)
{
    struct host *h = d->host;
    p2m_type_t ot;
    int rc;

    if (gfn_x(gfn) >= d->max_gfn)
        return -EINVAL;
    p2m_get_entry(d, gfn, &ot, NULL);
    if (p2m_is_ram(ot))
        return -EEXIST;
    mfn_t mfn = heap_alloc_page(h, d->id, PGU_GUEST);
    if (mfn_eq(mfn, INVALID_MFN))
        return -ENOMEM;
    rc = p2m_add_page(d, gfn, mfn,
                      d->ld.enabled ? p2m_ram_logdirty : p2m_ram_rw);
    if (rc) {
        heap_free_page(h, mfn);
        return rc;
    }
    if (out_mfn)
        *out_mfn = mfn;
    return 0;
}

/*
 * populate_physmap() for one extent of 2^order pages (order 9 or 18 gives
 * a superpage; 0 is guest_populate_page()).  Xen's populate_physmap()
 * allocates the extent with alloc_domheap_pages(d, order) and
 * guest_physmap_add_page() maps it with one p2m_set_entry() of that order,
 * so ept_set_entry() writes one 2 MiB / 1 GiB leaf.  Unlike Xen, which
 * would replace whatever the range held, the harness refuses a range that
 * holds anything (-EEXIST), as guest_populate_page() refuses RAM.  Every
 * frame gets its M2P entry and every gfn its dirty mark, as p2m_add_page()
 * does per page.  Returns 0 with *out_mfn the first frame (may be NULL),
 * -EINVAL, -EEXIST, -ENOMEM (no aligned free block, or the P2M tables).
 */
int guest_populate_extent(struct domain *d, gfn_t gfn, unsigned order,
                          mfn_t *out_mfn)
{
    struct host *h = d->host;
    int rc;

    if (order == PAGE_ORDER_4K)
        return guest_populate_page(d, gfn, out_mfn);
    if (order != PAGE_ORDER_2M && order != PAGE_ORDER_1G)
        return -EINVAL;
    uint64_t n = 1ULL << order;
    if ((gfn_x(gfn) & (n - 1)) || gfn_x(gfn) >= d->max_gfn ||
        d->max_gfn - gfn_x(gfn) < n)
        return -EINVAL;
    for (uint64_t i = 0; i < n; i++) {
        p2m_type_t ot;
        p2m_get_entry(d, gfn_add(gfn, i), &ot, NULL);
        if (ot != p2m_mmio_dm)
            return -EEXIST;
    }
    mfn_t mfn = heap_alloc_pages(h, d->id, PGU_GUEST, order);
    if (mfn_eq(mfn, INVALID_MFN))
        return -ENOMEM;
    rc = p2m_set_entry_order(d, gfn, mfn, order,
                             d->ld.enabled ? p2m_ram_logdirty : p2m_ram_rw,
                             P2M_DEFAULT_ACCESS);
    if (rc) {
        for (uint64_t i = n; i-- > 0;)
            heap_free_page(h, _mfn(mfn_x(mfn) + i));
        return rc;
    }
    for (uint64_t i = 0; i < n; i++) {
        set_gpfn_from_mfn(h, _mfn(mfn_x(mfn) + i), gfn_x(gfn) + i);
        if (!MUTANT(MUT_NO_DIRTY_ON_ADD))
            paging_mark_pfn_dirty(d, gfn_add(gfn, i));
    }
    if (out_mfn)
        *out_mfn = mfn;
    return 0;
}

/*
 * set_mem_access() of xen/arch/x86/mm/mem_access.c for one gfn: the entry
 * is read and written back with the new access at PAGE_ORDER_4K, so a
 * superpage is split (and the call can fail with -ENOMEM, nothing changed).
 * An entry without frame (nothing mapped) is stored as 0 by ept_set_entry()
 * and keeps no access.  p2m_access_r_pw needs EPT paging-write, which this
 * host lacks: -EINVAL (Xen's xenmem_access_to_p2m_access() refuses it
 * there too).  Returns 0, -EINVAL, -ENOMEM.
 */
int p2m_set_mem_access(struct domain *d, gfn_t gfn, p2m_access_t a)
{
    p2m_type_t t;

    if (gfn_x(gfn) >= d->max_gfn || (unsigned)a > p2m_access_n2rwx)
        return -EINVAL;
    /* mem_access_memop(): p2m_mem_access_sanity_check() wants VMX with
     * HAP; p2m-pt keeps no access type (its get_entry answers rwx), so an
     * NPT domain is refused with -EINVAL and nothing changes. */
    if (d->npt)
        return -EINVAL;
    mfn_t mfn = p2m_get_entry(d, gfn, &t, NULL);
    return p2m_set_entry(d, gfn, mfn, t, a);
}

/* The frame of fd's RAM gfn that another domain may map (grant, foreign):
 * RAM with a frame, not paging, not shared.  INVALID_MFN otherwise. */
static mfn_t mappable_frame(struct domain *fd, gfn_t fgfn)
{
    p2m_type_t ft;
    if (gfn_x(fgfn) >= fd->max_gfn)
        return INVALID_MFN;
    mfn_t m = p2m_get_entry(fd, fgfn, &ft, NULL);
    if (!p2m_is_ram(ft) || p2m_is_paging(ft) || p2m_is_shared(ft) ||
        !hostmem_mfn_valid(fd->host->nr_frames, m))
        return INVALID_MFN;
    return m;
}

/* Nothing mapped at gfn. */
static bool gfn_is_empty(const struct domain *d, gfn_t gfn)
{
    p2m_type_t t;
    mfn_t m = p2m_get_entry(d, gfn, &t, NULL);
    return t == p2m_mmio_dm && mfn_eq(m, INVALID_MFN);
}

/* What a grant or foreign mapping may replace at gfn: nothing, a PoD
 * entry, or RAM with its frame, which Xen's p2m_add_page() /
 * p2m_add_foreign() take out of the way.  Not: special entries (Xen
 * refuses them, crashing the domain) and the paging types (a paged entry
 * has no frame to give back, and the pager would have to be told: not
 * modelled): the harness refuses them with -EEXIST. */
static bool gfn_is_replaceable(const struct domain *d, gfn_t gfn)
{
    p2m_type_t t;
    mfn_t m = p2m_get_entry(d, gfn, &t, NULL);
    if (gfn_is_empty(d, gfn) || t == p2m_populate_on_demand)
        return true;
    return p2m_is_ram(t) && !p2m_is_paging(t) && t != p2m_ram_shared &&
           hostmem_mfn_valid(d->host->nr_frames, m);
}

/*
 * p2m_add_foreign() (XENMAPSPACE_gmfn_foreign): td maps fd's page at fgfn
 * at its own gfn as p2m_map_foreign (EPT r w -).  A page of td's own
 * already at gfn is given back first ("normal domain memory is freed, to
 * avoid leaking memory": guest_remove_page(), which drops its allocation
 * reference); a PoD entry is replaced (set_typed_p2m_entry() counts it
 * off).  The reference on the foreign page is taken by the EPT write
 * itself (atomic_write_ept_entry()) and dropped when the entry goes.
 * Returns 0, -EINVAL (td == fd, gfn out of range, fgfn holds no mappable
 * RAM -- paging types included: Xen would start a page-in first, not
 * modelled), -EEXIST (gfn holds a special or frame-less paging entry),
 * -ENOMEM.
 */
int p2m_add_foreign(struct domain *td, gfn_t gfn, struct domain *fd,
                    gfn_t fgfn)
{
    if (td == fd || gfn_x(gfn) >= td->max_gfn)
        return -EINVAL;
    mfn_t m = mappable_frame(fd, fgfn);
    if (mfn_eq(m, INVALID_MFN))
        return -EINVAL;
    if (!gfn_is_replaceable(td, gfn))
        return -EEXIST;
    p2m_type_t ot;
    p2m_get_entry(td, gfn, &ot, NULL);
    if (p2m_is_ram(ot)) {
        int rc = guest_remove_page(td, gfn);
        if (rc)
            return rc;
    }
    int rc = p2m_set_entry(td, gfn, m, p2m_map_foreign, P2M_DEFAULT_ACCESS);
    if (!rc && ot == p2m_populate_on_demand)
        td->pod.entry_count--;
    return rc;
}

/*
 * create_grant_p2m_mapping(): d maps the page gd granted (gd's RAM gfn
 * ggfn) at gfn with p2m_grant_map_rw, or p2m_grant_map_ro for a
 * GNTMAP_readonly mapping, through p2m_add_page() (no M2P change for grant
 * types).  A RAM page of d's at gfn is only taken out of the P2M (M2P
 * INVALID, marked clean): p2m_add_page() does not free it, so it stays
 * d's, unmapped, until teardown (upstream as it is).  A PoD entry is
 * counted off.  map_grant_ref() holds a reference on the granted page
 * until the unmap.  Returns 0, -EINVAL (d == gd, bad gfn, no mappable RAM
 * at ggfn), -EEXIST (gfn holds a special or frame-less paging entry),
 * -ENOMEM.
 */
int p2m_grant_map(struct domain *d, gfn_t gfn, struct domain *gd, gfn_t ggfn,
                  bool readonly)
{
    struct host *h = d->host;
    if (d == gd || gfn_x(gfn) >= d->max_gfn)
        return -EINVAL;
    mfn_t m = mappable_frame(gd, ggfn);
    if (mfn_eq(m, INVALID_MFN))
        return -EINVAL;
    if (!gfn_is_replaceable(d, gfn))
        return -EEXIST;
    hostmem_meta_mark(h->mem, mfn_x(m)); /* for oracle_check() */
    h->frames[mfn_x(m)].count++;
    int rc = p2m_add_page(d, gfn, m,
                          readonly ? p2m_grant_map_ro : p2m_grant_map_rw);
    if (rc)
        h->frames[mfn_x(m)].count--;
    return rc;
}

/*
 * replace_grant_p2m_mapping() with no new mapping (unmap_grant_ref()):
 * gfn must hold a grant mapping; its entry goes (p2m_remove_page(): no M2P
 * change, no dirty mark for special types) and the reference is dropped.
 * Returns 0, -EINVAL (not a grant type, bad gfn), -ENOMEM.
 */
int p2m_grant_unmap(struct domain *d, gfn_t gfn)
{
    struct host *h = d->host;
    p2m_type_t t;
    if (gfn_x(gfn) >= d->max_gfn)
        return -EINVAL;
    mfn_t m = p2m_get_entry(d, gfn, &t, NULL);
    if (!p2m_is_grant(t))
        return -EINVAL;
    int rc = p2m_remove_page(d, gfn, m);
    /* put_page() of map_grant_ref()'s reference (never the owner's
     * allocation reference); the last one frees a page its owner already
     * removed. */
    if (!rc && hostmem_mfn_valid(h->nr_frames, m) &&
        h->frames[mfn_x(m)].count > h->frames[mfn_x(m)].allocated)
        heap_put_page(h, m);
    return rc;
}

/*
 * guest_remove_page(): remove gfn's frame from the P2M and drop the
 * allocation reference (freed now unless others hold references).
 * Returns 0, -ENOENT (gfn holds no RAM frame: invalid, mmio_dm, paged-out,
 * grant, ...), or an error of p2m_remove_page().
 */
int guest_remove_page(struct domain *d, gfn_t gfn)
{
    struct host *h = d->host;
    p2m_type_t t;

    if (gfn_x(gfn) >= d->max_gfn)
        return -ENOENT;
    mfn_t mfn = p2m_get_entry(d, gfn, &t, NULL);
    if (t == p2m_ram_shared) {
        /* Upstream unshares first (flags 0: a copy unless this is the
         * last sharer) and then removes the now private page like any
         * other; on -ENOMEM it notifies without sleeping (no sharing ring
         * here: dropped) and fails. */
        int rc = mem_sharing_unshare_page(d, gfn, 0);
        if (rc)
            return rc;
        mfn = p2m_get_entry(d, gfn, &t, NULL);
    }
    if (t == p2m_ram_paged || t == p2m_ram_paging_in) {
        /* Xen: guest_physmap_remove_page(), then
         * p2m_mem_paging_drop_page().  p2m_remove_entry() refuses a RAM
         * entry without a frame with -EILSEQ, so a paged gfn (and a
         * paging_in gfn whose frame is gone) is never removed and the pager
         * never told (reference 2.4.1, upstream as it is). */
        if (!hostmem_mfn_valid(h->nr_frames, mfn))
            return -EILSEQ;
        /* paging_in that was never evicted: the entry goes, but the page's
         * allocation reference is never dropped, so it stays d's, unmapped,
         * until teardown; and drop_page() decrements paged_pages for a page
         * never counted (reference 2.4.2). */
        int rc = p2m_remove_page(d, gfn, mfn);
        if (rc)
            return rc;
        mem_paging_drop_page(d, gfn, t);
        return 0;
    }
    if (t == p2m_populate_on_demand) {
        /* p2m_pod_decrease_reservation(): the PoD entry just goes. */
        int rc = p2m_set_entry(d, gfn, INVALID_MFN, p2m_invalid,
                               P2M_DEFAULT_ACCESS);
        if (!rc)
            d->pod.entry_count--;
        return rc;
    }
    if (t == p2m_map_foreign) {
        /* XENMEM_remove_from_physmap of a foreign mapping: the entry goes,
         * and with it the EPT's reference on the foreign page. */
        return p2m_set_entry(d, gfn, INVALID_MFN, p2m_invalid,
                             P2M_DEFAULT_ACCESS);
    }
    /* guest_remove_page(): direct MMIO is not the guest's to give back. */
    if (t == p2m_mmio_direct)
        return -EPERM;
    if (!p2m_is_ram(t) || !hostmem_mfn_valid(h->nr_frames, mfn))
        return -ENOENT;
    int rc = p2m_remove_page(d, gfn, mfn);
    if (rc)
        return rc;
    /* Only PGC_allocated's reference is dropped here: put_page() of the
     * last reference frees the page, which may be the tool stack's unmap
     * of a foreign mapping or another domain's grant/foreign unmap. */
    if (h->frames[mfn_x(mfn)].owner == d->id)
        heap_put_alloc_ref(h, mfn);
    return 0;
}

/*
 * The frame behind gpa for a hypervisor copy of len bytes: 0 with *mfn and
 * *t set, -EINVAL (crosses a page: the skeleton does not split), -EFAULT
 * (not RAM with a frame: HVMTRANS_bad_gfn_to_mfn), -EAGAIN (a paging
 * type: populate sent as a foreign request, HVMTRANS_gfn_paged_out).
 */
static int hvm_copy_frame(struct domain *d, gpa_t gpa, size_t len, mfn_t *mfn,
                          p2m_type_t *t)
{
    if ((gpa_x(gpa) & ~PAGE_MASK) + len > PAGE_SIZE)
        return -EINVAL;
    gfn_t gfn = gpa_to_gfn(gpa);
    if (gfn_x(gfn) >= d->max_gfn)
        return -EFAULT;
    *mfn = p2m_get_entry(d, gfn, t, NULL);
    if (p2m_is_paging(*t) && MUTANT(MUT_COPY_PAGED_EFAULT))
        return -EFAULT;
    if (p2m_is_paging(*t)) {
        /* __hvm_copy(): populate, then HVMTRANS_gfn_paged_out, which the
         * callers turn into a retry (-EAGAIN), never a crash. */
        p2m_mem_paging_populate(d, gfn, VM_EVENT_NO_VCPU);
        return -EAGAIN;
    }
    /* get_page_from_gfn(P2M_ALLOC) populates a PoD entry first; out of
     * PoD memory the copy fails (and Xen crashes the domain). */
    if (*t == p2m_populate_on_demand) {
        if (!p2m_pod_demand_populate(d, gfn))
            return -EFAULT;
        *mfn = p2m_get_entry(d, gfn, t, NULL);
    }
    if (!p2m_is_ram(*t) || !hostmem_mfn_valid(d->host->nr_frames, *mfn))
        return -EFAULT;
    return 0;
}

/*
 * hvm_copy_to_guest_phys(): write len bytes at gpa, with no EPT permission
 * check, and paging_mark_pfn_dirty() the gfn (the type is not changed: a
 * ram_logdirty page stays read-only to the guest).  Writes to ram_ro are
 * discarded, as __hvm_copy() does for p2m_is_discard_write().
 * Returns 0, -EINVAL, -EFAULT.
 */
int hvm_copy_to_guest_phys(struct domain *d, gpa_t gpa, const void *buf,
                           size_t len)
{
    mfn_t mfn;
    p2m_type_t t;
    int rc = hvm_copy_frame(d, gpa, len, &mfn, &t);
    if (rc)
        return rc;
    /* __hvm_copy() asks for the page with P2M_UNSHARE when writing: a
     * shared page is unshared first; if it stays shared (no page for the
     * copy) the copy fails (HVMTRANS_gfn_shared, here -ENOMEM). */
    if (t == p2m_ram_shared) {
        if ((rc = mem_sharing_unshare_page(d, gpa_to_gfn(gpa), 0)))
            return rc;
        mfn = p2m_get_entry(d, gpa_to_gfn(gpa), &t, NULL);
    }
    if (t == p2m_ram_ro)
        return 0;
    hpa_t hpa = hpa_add(mfn_to_hpa(mfn), gpa_x(gpa) & ~PAGE_MASK);
    if (len && hostmem_write(d->host->mem, hpa, buf, len))
        return -EFAULT;
    paging_mark_pfn_dirty(d, gpa_to_gfn(gpa));
    return 0;
}

/* hvm_copy_from_guest_phys(): read len bytes at gpa.  0, -EINVAL, -EFAULT. */
int hvm_copy_from_guest_phys(struct domain *d, void *buf, gpa_t gpa,
                             size_t len)
{
    mfn_t mfn;
    p2m_type_t t;
    int rc = hvm_copy_frame(d, gpa, len, &mfn, &t);
    if (rc)
        return rc;
    hpa_t hpa = hpa_add(mfn_to_hpa(mfn), gpa_x(gpa) & ~PAGE_MASK);
    if (len && hostmem_read(d->host->mem, hpa, buf, len))
        return -EFAULT;
    return 0;
}

/* ---- domains -------------------------------------------------------------- */

/*
 * domain_create() + p2m_alloc_table(): the domain takes the first free slot
 * as its id and gets an empty EPT root.  max_gfn is capped by the 4-level
 * EPT (2^36 gfns).  NULL if no slot, no frame, or max_gfn is 0 or too big.
 */
struct domain *domain_create(struct host *h, const char *name, uint64_t max_gfn)
{
    unsigned slot;

    if (!max_gfn || max_gfn > (1ULL << EPT_GFN_BITS))
        return NULL;
    for (slot = 0; slot < SIM_MAX_DOMAINS && h->domains[slot]; slot++)
        ;
    if (slot == SIM_MAX_DOMAINS)
        return NULL;
    struct domain *d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    d->host = h;
    d->id = (domid_t)slot;
    snprintf(d->name, sizeof(d->name), "%s", name ? name : "");
    d->max_gfn = max_gfn;
    d->max_mapped_pfn = 0; /* as a zeroed struct p2m_domain */
    d->ld.top = INVALID_MFN;
    for (unsigned v = 0; v < SIM_MAX_VCPUS; v++)
        d->pml_pg[v] = INVALID_MFN;
    d->ept_root = heap_alloc_page(h, d->id, PGU_P2M);
    if (mfn_eq(d->ept_root, INVALID_MFN)) {
        free(d);
        return NULL;
    }
    d->p2m_pages = 1;
    h->domains[slot] = d;
    h->gen_paging++; /* a new domain's parts (struct host) */
    h->gen_monitor++;
    if (slot >= h->dom_end)
        h->dom_end = slot + 1;
    return d;
}

/*
 * domain_destroy(): the log-dirty tree, then the P2M with the RAM it maps,
 * then any frame d still owns (RAM orphaned by p2m_add_page() replacing a
 * mapping), in ascending mfn order so the free stack stays deterministic.
 */
void domain_destroy(struct domain *d)
{
    if (!d)
        return;
    struct host *h = d->host;

    pml_domain_disable(d);
    /* relinquish_shared_pages(): the sharer references go first. */
    mem_sharing_relinquish(d);
    paging_free_log_dirty_bitmap(d);
    d->ld.enabled = false;
    P2M_BACKEND(d)->teardown(d);
    /* The PoD cache's pages are d's: freed by the loop below. */
    free(d->pod.cache);
    for (uint64_t m = 0; d->tot_pages && m < h->nr_frames; m++)
        if (h->frames[m].use != PGU_FREE && h->frames[m].owner == d->id)
            heap_free_page(h, _mfn(m));
    if (heap_domain(h, d->id) == d)
        h->domains[d->id] = NULL;
    h->gen_paging++; /* its parts go (struct host) */
    h->gen_monitor++;
    while (h->dom_end && !h->domains[h->dom_end - 1])
        h->dom_end--;
    free(d);
}

/* ---- the P2M backend (p2m->set_entry / p2m->get_entry) -------------------- */

/* p2m_set_entry() of one entry of 2^order gfns, through the domain's
 * backend (sim.h). */
int p2m_set_entry_order(struct domain *d, gfn_t gfn, mfn_t mfn, unsigned order,
                        p2m_type_t t, p2m_access_t a)
{
    return P2M_BACKEND(d)->set_entry(d, gfn, mfn, order, t, a);
}

mfn_t p2m_get_entry_order(const struct domain *d, gfn_t gfn, p2m_type_t *t,
                          p2m_access_t *a, unsigned *order)
{
    return P2M_BACKEND(d)->get_entry(d, gfn, t, a, order);
}

/* The EPT keeps the walk of a run (ept_get_entry_run()); the NPT backend
 * has no run form and looks each gfn up in full. */
mfn_t p2m_get_entry_run(const struct domain *d, struct p2m_run *r, gfn_t gfn,
                        p2m_type_t *t)
{
    if (d->npt)
        return p2m_get_entry_order(d, gfn, t, NULL, NULL);
    return ept_get_entry_run(d, r, gfn, t);
}

/* p2m_initialise() picks the backend once, before anything is mapped: a
 * P2M of one format cannot be read by the other. */
int p2m_set_hap(struct domain *d, bool npt)
{
    if (d->npt == npt)
        return 0;
    if (d->p2m_pages != 1 || d->max_mapped_pfn || d->tot_pages ||
        d->nr_vcpus || d->ld.enabled || d->ept_raw)
        return -EBUSY;
    d->npt = npt;
    return 0;
}
