/* SPDX-License-Identifier: MIT */
/*
 * sim/mem_sharing.c - memory sharing: the p2m_ram_shared type.
 *
 * Models xen/arch/x86/mm/mem_sharing.c: mem_sharing_nominate_page() with
 * page_make_sharable(), mem_sharing_share_pages(),
 * mem_sharing_add_to_physmap(), __mem_sharing_unshare_page() with
 * page_make_private(), relinquish_shared_pages(), and the control domctl.
 * Facts from upstream, code our own.
 *
 * A shared frame (invariants kept by every function here):
 *   (1) is owned by dom_cow (DOMID_COW), use PGU_GUEST, and counts in no
 *       domain's tot_pages (page_make_sharable() took it out of d's);
 *   (2) has M2P SHARED_M2P_ENTRY (it backs many gfns);
 *   (3) has a handle != 0 (h->shr_handle[mfn]); handles come from one
 *       host-wide counter, the first is 2 (next_handle starts at 1 and
 *       get_next_handle() returns the incremented value);
 *   (4) has page_info.count == 1 + sharers: the allocation reference plus
 *       one get_page_and_type() per gfn in its reverse map;
 *   (5) every rmap entry <d, gfn> names a gfn of d whose P2M entry is
 *       ram_shared at that frame, and d->shr_pages counts d's entries.
 *
 * Per-gfn transitions (the functions performing each):
 *
 *   ram_rw|ram_logdirty --nominate--> ram_shared (own frame, 1 sharer)
 *   ram_shared (client) --share--> ram_shared (source frame); client frame
 *                                  freed when its sharers have moved
 *   hole --add_to_physmap--> ram_shared (source frame, +1 sharer)
 *   ram_shared --unshare (write fault, hypervisor write, remove)-->
 *       ram_rw: a copy on a new page, or, for the last sharer, the frame
 *       itself made private again; M2P = gfn; marked dirty
 *   ram_shared --relinquish (teardown, DESTROY_GFN)--> (no entry)
 *
 * Allocation failure on unshare: upstream returns -ENOMEM and then calls
 * mem_sharing_notify_enomem(), which puts a request on the sharing
 * vm_event ring if a helper attached one (the vCPU is paused until the
 * helper freed memory) and otherwise fails with -ENOSYS, upon which
 * hvm_hap_nested_page_fault() crashes the domain.  No sharing ring is
 * modelled (no helper), so a guest write that cannot be unshared crashes
 * the domain; the hypervisor paths (write_phys, remove) return -ENOMEM.
 */
#include <stdlib.h>
#include <string.h>

#include "pagesim/mutant.h"
#include "sim-internal.h"

/* ---- the reverse map ----------------------------------------------------------- */

static int rmap_add(struct host *h, mfn_t m, domid_t dom, gfn_t gfn)
{
    if (h->shr_nrmap == h->shr_caprmap) {
        size_t cap = h->shr_caprmap ? 2 * h->shr_caprmap : 64;
        struct shr_rmap *p = realloc(h->shr_rmap, cap * sizeof(*p));
        if (!p)
            return -ENOMEM;
        h->shr_rmap = p;
        h->shr_caprmap = cap;
    }
    h->shr_rmap[h->shr_nrmap++] = (struct shr_rmap){ mfn_x(m), gfn_x(gfn), dom };
    return 0;
}

/* Index of <dom, gfn> in the reverse map of m, or -1. */
static long rmap_find(const struct host *h, mfn_t m, domid_t dom, gfn_t gfn)
{
    for (size_t i = 0; i < h->shr_nrmap; i++)
        if (h->shr_rmap[i].mfn == mfn_x(m) && h->shr_rmap[i].dom == dom &&
            h->shr_rmap[i].gfn == gfn_x(gfn))
            return (long)i;
    return -1;
}

/* Removal keeps the order of the others (determinism of share's walk). */
static void rmap_del(struct host *h, size_t i)
{
    memmove(&h->shr_rmap[i], &h->shr_rmap[i + 1],
            (h->shr_nrmap - i - 1) * sizeof(h->shr_rmap[0]));
    h->shr_nrmap--;
}

uint64_t mem_sharing_handle(const struct host *h, mfn_t m)
{
    return hostmem_mfn_valid(h->nr_frames, m) ? h->shr_handle[mfn_x(m)] : 0;
}

unsigned mem_sharing_sharers(const struct host *h, mfn_t m)
{
    if (!mem_sharing_handle(h, m))
        return 0;
    return h->frames[mfn_x(m)].count - 1;
}

/* __grab_shared_page() + mem_sharing_lookup(): m is a shared frame. */
static bool frame_shared(const struct host *h, mfn_t m)
{
    return mem_sharing_handle(h, m) != 0 &&
           h->frames[mfn_x(m)].owner == DOMID_COW;
}

/* ---- operations ------------------------------------------------------------------ */

int mem_sharing_control(struct domain *d, bool enable)
{
    d->sharing_enabled = enable;
    return 0;
}

int mem_sharing_nominate(struct domain *d, gfn_t gfn, uint64_t *handle)
{
    struct host *h = d->host;
    p2m_type_t t;
    p2m_access_t a;

    *handle = 0;
    if (!d->sharing_enabled)
        return -ENODEV; /* mem_sharing_memop(): not enabled */
    if (gfn_x(gfn) >= d->max_gfn)
        return -EINVAL;
    mfn_t mfn = p2m_get_entry(d, gfn, &t, &a);
    if (!hostmem_mfn_valid(h->nr_frames, mfn))
        return -EINVAL;
    /* Already shared: the current handle. */
    if (t == p2m_ram_shared) {
        *handle = h->shr_handle[mfn_x(mfn)];
        return 0;
    }
    if (!p2m_is_sharable(t))
        return -EINVAL;
    struct page_info *pg = &h->frames[mfn_x(mfn)];
    if (pg->owner != d->id || pg->use != PGU_GUEST)
        return -EINVAL; /* get_page_and_type() fails */
    /* page_make_sharable(expected_refcnt 0): count_info must be the
     * allocation reference plus the one just taken. */
    if (pg->count != 1)
        return -E2BIG;
    /* p2m_change_type_one(): a 4 KiB entry with the default access (a
     * superpage is split; upstream BUG()s if that fails, we leave the page
     * private and report it). */
    int rc = p2m_set_entry(d, gfn, mfn, p2m_ram_shared, P2M_DEFAULT_ACCESS);
    if (rc)
        return rc;
    if ((rc = rmap_add(h, mfn, d->id, gfn))) {
        p2m_set_entry(d, gfn, mfn, t, a);
        return rc;
    }
    hostmem_meta_mark(h->mem, mfn_x(mfn)); /* for oracle_check() */
    pg->owner = DOMID_COW;
    pg->count = 2;
    if (d->tot_pages)
        d->tot_pages--;
    d->shr_pages++;
    if (!h->shr_next_handle)
        h->shr_next_handle = 1; /* static shr_handle_t next_handle = 1 */
    h->shr_handle[mfn_x(mfn)] = ++h->shr_next_handle;
    h->shr_shared_mfns++;
    set_gpfn_from_mfn(h, mfn, SHARED_M2P_ENTRY);
    *handle = h->shr_handle[mfn_x(mfn)];
    return 0;
}

int mem_sharing_share(struct domain *sd, gfn_t sgfn, uint64_t sh,
                      struct domain *cd, gfn_t cgfn, uint64_t ch)
{
    struct host *h = sd->host;
    p2m_type_t st = p2m_mmio_dm, ct = p2m_mmio_dm;

    if (!sd->sharing_enabled)
        return -ENODEV;
    if (!cd->sharing_enabled)
        return -EINVAL;
    mfn_t smfn = gfn_x(sgfn) < sd->max_gfn ? p2m_get_entry(sd, sgfn, &st, NULL)
                                           : INVALID_MFN;
    mfn_t cmfn = gfn_x(cgfn) < cd->max_gfn ? p2m_get_entry(cd, cgfn, &ct, NULL)
                                           : INVALID_MFN;
    /* "The pages are already the same": success. */
    if (mfn_eq(smfn, cmfn))
        return 0;
    bool s_ok = st == p2m_ram_shared && frame_shared(h, smfn);
    bool c_ok = ct == p2m_ram_shared && frame_shared(h, cmfn);
    /* The two pages are grabbed in mfn order (to avoid deadlock), and the
     * first that is not a shared page names the error. */
    if (mfn_x(smfn) < mfn_x(cmfn)) {
        if (!s_ok)
            return XENMEM_SHARING_OP_S_HANDLE_INVALID;
        if (!c_ok)
            return XENMEM_SHARING_OP_C_HANDLE_INVALID;
    } else {
        if (!c_ok)
            return XENMEM_SHARING_OP_C_HANDLE_INVALID;
        if (!s_ok)
            return XENMEM_SHARING_OP_S_HANDLE_INVALID;
    }
    if (h->shr_handle[mfn_x(smfn)] != sh)
        return XENMEM_SHARING_OP_S_HANDLE_INVALID;
    if (h->shr_handle[mfn_x(cmfn)] != ch)
        return XENMEM_SHARING_OP_C_HANDLE_INVALID;

    /* Merge: every sharer of the client frame moves to the source frame,
     * in rmap order; set_shared_p2m_entry() remaps its gfn (the entries
     * are 4 KiB already, so it cannot fail: upstream BUG_ON()s). */
    for (size_t i = 0; i < h->shr_nrmap;) {
        struct shr_rmap *r = &h->shr_rmap[i];
        if (r->mfn != mfn_x(cmfn)) {
            i++;
            continue;
        }
        struct domain *d = heap_domain(h, r->dom);
        gfn_t g = _gfn(r->gfn);
        hostmem_meta_mark(h->mem, mfn_x(smfn)); /* for oracle_check() */
        hostmem_meta_mark(h->mem, mfn_x(cmfn)); /* for oracle_check() */
        h->frames[mfn_x(smfn)].count++;
        h->frames[mfn_x(cmfn)].count--;
        struct shr_rmap moved = *r;
        rmap_del(h, i);
        moved.mfn = mfn_x(smfn);
        h->shr_rmap[h->shr_nrmap++] = moved; /* rmap_add() on the source */
        if (d) {
            p2m_access_t a;
            p2m_get_entry(d, g, NULL, &a);
            p2m_set_entry(d, g, smfn, p2m_ram_shared, a);
        }
        /* the entry moved to the end: i now names the next one */
    }
    hostmem_meta_mark(h->mem, mfn_x(cmfn)); /* for oracle_check() */
    h->shr_handle[mfn_x(cmfn)] = 0;
    /* The client page loses PGC_allocated and with it its last
     * reference: freed (its M2P becomes INVALID). */
    if (!MUTANT(MUT_SHARE_CLIENT_LEAK))
        heap_free_page(h, cmfn);
    h->shr_shared_mfns--;
    h->shr_saved_mfns++;
    return 0;
}

int mem_sharing_add_to_physmap(struct domain *sd, gfn_t sgfn, uint64_t sh,
                               struct domain *cd, gfn_t cgfn)
{
    struct host *h = sd->host;
    p2m_type_t st = p2m_mmio_dm, ct;
    p2m_access_t ca;

    if (!sd->sharing_enabled)
        return -ENODEV;
    if (!cd->sharing_enabled || gfn_x(cgfn) >= cd->max_gfn)
        return -EINVAL;
    mfn_t smfn = gfn_x(sgfn) < sd->max_gfn ? p2m_get_entry(sd, sgfn, &st, NULL)
                                           : INVALID_MFN;
    if (st != p2m_ram_shared || !frame_shared(h, smfn) ||
        h->shr_handle[mfn_x(smfn)] != sh)
        return XENMEM_SHARING_OP_S_HANDLE_INVALID;
    mfn_t cmfn = p2m_get_entry(cd, cgfn, &ct, &ca);
    if (!p2m_is_hole(ct))
        return XENMEM_SHARING_OP_C_HANDLE_INVALID;
    int rc = rmap_add(h, smfn, cd->id, cgfn);
    if (rc)
        return rc;
    hostmem_meta_mark(h->mem, mfn_x(smfn)); /* for oracle_check() */
    h->frames[mfn_x(smfn)].count++;
    /* p2m_set_entry() with the access get_two_gfns() read for the hole.
     * For an empty gfn ept_get_entry() answers p2m_access_n, which
     * upstream would store, costing the guest one mem_access exit (no
     * listener: reset to rwx) on its first access; the harness stores the
     * default access there instead, and keeps a paged-out entry's. */
    rc = p2m_set_entry(cd, cgfn, smfn, p2m_ram_shared,
                       ct == p2m_mmio_dm || ct == p2m_invalid ? P2M_DEFAULT_ACCESS
                                                              : ca);
    if (rc) {
        rmap_del(h, h->shr_nrmap - 1);
        h->frames[mfn_x(smfn)].count--;
        return rc;
    }
    cd->shr_pages++;
    if (gfn_x(cgfn) > cd->max_mapped_pfn)
        cd->max_mapped_pfn = gfn_x(cgfn);
    /* Plugging a hole where a paged-out page was: it no longer counts,
     * and a frame still there (paging_in, never evicted) is freed. */
    if (ct == p2m_ram_paged || ct == p2m_ram_paging_in) {
        dom_paging_w(cd)->paged_pages--;
        if (hostmem_mfn_valid(h->nr_frames, cmfn) &&
            h->frames[mfn_x(cmfn)].owner == cd->id)
            heap_free_page(h, cmfn);
    }
    h->shr_saved_mfns++;
    return 0;
}

int mem_sharing_unshare_page(struct domain *d, gfn_t gfn, unsigned flags)
{
    struct host *h = d->host;
    p2m_type_t t;
    p2m_access_t a;

    if (gfn_x(gfn) >= d->max_gfn)
        return 0;
    mfn_t mfn = p2m_get_entry(d, gfn, &t, &a);
    /* "Has someone already unshared it?" */
    if (t != p2m_ram_shared || !frame_shared(h, mfn))
        return 0;
    long ri = rmap_find(h, mfn, d->id, gfn);
    if (ri < 0)
        return 0; /* upstream BUG()s: the rmap lost the gfn */
    struct page_info *pg = &h->frames[mfn_x(mfn)];
    bool last = pg->count == 2;
    hostmem_meta_mark(h->mem, mfn_x(mfn)); /* for oracle_check() */

    if (flags & MEM_SHARING_DESTROY_GFN) {
        /* Only the reference: the caller clears the entry. */
        rmap_del(h, (size_t)ri);
        d->shr_pages--;
        pg->count--;
        if (last) {
            h->shr_handle[mfn_x(mfn)] = 0;
            h->shr_shared_mfns--;
            heap_free_page(h, mfn);
        } else {
            h->shr_saved_mfns--;
        }
        return 0;
    }

    mfn_t nmfn = mfn;
    if (MUTANT(MUT_UNSHARE_IN_PLACE)) {
        /* The bug: the gfn keeps the shared frame and just becomes
         * writable, so its writes show through every other sharer. */
        if (!last) {
            rmap_del(h, (size_t)ri);
            d->shr_pages--;
            pg->count--;
            h->shr_saved_mfns--;
            p2m_change_type_one(d, gfn, p2m_ram_shared, p2m_ram_rw);
            paging_mark_pfn_dirty(d, gfn);
            return 0;
        }
    }
    if (last) {
        /* page_make_private(): the frame goes back to d, no copy. */
        rmap_del(h, (size_t)ri);
        d->shr_pages--;
        h->shr_handle[mfn_x(mfn)] = 0;
        h->shr_shared_mfns--;
        pg->owner = d->id;
        pg->count = 1;
        d->tot_pages++;
    } else {
        nmfn = heap_alloc_page(h, d->id, PGU_GUEST);
        if (mfn_eq(nmfn, INVALID_MFN))
            return -ENOMEM; /* nothing changed; the caller notifies */
        uint8_t buf[PAGE_SIZE];
        hostmem_read(h->mem, mfn_to_hpa(mfn), buf, PAGE_SIZE);
        hostmem_write(h->mem, mfn_to_hpa(nmfn), buf, PAGE_SIZE);
        /* set_shared_p2m_entry() to the copy (a 4 KiB entry already:
         * cannot fail), then the sharer reference goes. */
        p2m_set_entry(d, gfn, nmfn, p2m_ram_shared, a);
        rmap_del(h, (size_t)ri);
        d->shr_pages--;
        pg->count--;
        h->shr_saved_mfns--;
    }
    /* p2m_change_type_one(shared -> rw): default access. */
    p2m_change_type_one(d, gfn, p2m_ram_shared, p2m_ram_rw);
    set_gpfn_from_mfn(h, nmfn, gfn_x(gfn));
    /* paging_mark_dirty() by mfn, now that the M2P names the gfn. */
    paging_mark_pfn_dirty(d, gfn);
    return 0;
}

void mem_sharing_relinquish(struct domain *d)
{
    struct host *h = d->host;
    /* Walk the rmap rather than every gfn up to max_mapped_pfn: the same
     * entries, without visiting a huge sparse domain.  Lowest gfn first,
     * as upstream's loop. */
    for (;;) {
        size_t best = SIZE_MAX;
        for (size_t i = 0; i < h->shr_nrmap; i++)
            if (h->shr_rmap[i].dom == d->id &&
                (best == SIZE_MAX || h->shr_rmap[i].gfn < h->shr_rmap[best].gfn))
                best = i;
        if (best == SIZE_MAX)
            break;
        gfn_t g = _gfn(h->shr_rmap[best].gfn);
        size_t before = h->shr_nrmap;
        mem_sharing_unshare_page(d, g, MEM_SHARING_DESTROY_GFN);
        if (h->shr_nrmap == before)
            rmap_del(h, best); /* an entry the P2M no longer backs */
        p2m_set_entry(d, g, INVALID_MFN, p2m_invalid, P2M_DEFAULT_ACCESS);
    }
}
