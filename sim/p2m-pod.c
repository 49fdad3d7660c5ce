/* SPDX-License-Identifier: MIT */
/*
 * sim/p2m-pod.c - populate-on-demand, order-0 only.
 *
 * Models xen/arch/x86/mm/p2m-pod.c: p2m_pod_set_mem_target() /
 * p2m_pod_set_cache_target() (the cache of pages a domain's PoD entries
 * are backed by), guest_physmap_mark_populate_on_demand() (PoD entries:
 * type p2m_populate_on_demand, no frame, not present in the EPT) and
 * p2m_pod_demand_populate() (the first access -- a guest NPF, or a
 * hypervisor copy asking with P2M_ALLOC -- maps the page at the head of
 * the cache).  Cache pages are allocated to the domain (they count in
 * tot_pages) with an INVALID M2P entry.  Not modelled: superpage PoD
 * entries and 2 MiB cache pages, the zero-page sweeps
 * (p2m_pod_emergency_sweep(), p2m_pod_zero_check()), the balloon target
 * arithmetic of set_mem_target (the target here is the cache size).
 */
#include <stdlib.h>

#include "pagesim/mutant.h"
#include "sim-internal.h"

mfn_t p2m_pod_cache_at(const struct domain *d, uint64_t i)
{
    const struct pod *p = &d->pod;
    if (i >= p->count)
        return INVALID_MFN;
    return _mfn(p->cache[(p->head + i) % p->cap]);
}

/* p2m_pod_cache_add(): at the tail. */
static bool pod_cache_add(struct domain *d, mfn_t m)
{
    struct pod *p = &d->pod;
    if (p->count == p->cap) {
        uint64_t ncap = p->cap ? 2 * p->cap : 64;
        uint64_t *nc = malloc(ncap * sizeof(*nc));
        if (!nc)
            return false;
        for (uint64_t i = 0; i < p->count; i++)
            nc[i] = p->cache[(p->head + i) % p->cap];
        free(p->cache);
        p->cache = nc;
        p->cap = ncap;
        p->head = 0;
    }
    p->cache[(p->head + p->count) % p->cap] = mfn_x(m);
    p->count++;
    return true;
}

/* p2m_pod_cache_get(): from the head. */
static mfn_t pod_cache_get(struct domain *d)
{
    struct pod *p = &d->pod;
    if (!p->count)
        return INVALID_MFN;
    if (MUTANT(MUT_POD_CACHE_LIFO)) {
        p->count--;
        return _mfn(p->cache[(p->head + p->count) % p->cap]);
    }
    mfn_t m = _mfn(p->cache[p->head]);
    p->head = (p->head + 1) % p->cap;
    p->count--;
    return m;
}

int p2m_pod_set_target(struct domain *d, uint64_t pages)
{
    while (d->pod.count > pages) {
        mfn_t m = pod_cache_get(d);
        heap_free_page(d->host, m);
    }
    while (d->pod.count < pages) {
        mfn_t m = heap_alloc_page(d->host, d->id, PGU_GUEST);
        if (mfn_eq(m, INVALID_MFN))
            return -ENOMEM;
        if (!pod_cache_add(d, m)) {
            heap_free_page(d->host, m);
            return -ENOMEM;
        }
    }
    return 0;
}

int p2m_pod_mark(struct domain *d, gfn_t gfn)
{
    p2m_type_t t;
    if (gfn_x(gfn) >= d->max_gfn)
        return -EINVAL;
    mfn_t m = p2m_get_entry(d, gfn, &t, NULL);
    if (t != p2m_mmio_dm || !mfn_eq(m, INVALID_MFN))
        return -EEXIST;
    int rc = p2m_set_entry(d, gfn, INVALID_MFN, p2m_populate_on_demand,
                           P2M_DEFAULT_ACCESS);
    if (!rc)
        d->pod.entry_count++;
    return rc;
}

bool p2m_pod_demand_populate(struct domain *d, gfn_t gfn)
{
    mfn_t m = pod_cache_get(d);
    if (mfn_eq(m, INVALID_MFN))
        return false; /* "out of PoD memory": domain_crash() */
    /* What p2m_recalc_type() makes of the ram_rw entry under global
     * log-dirty, as for populate_physmap. */
    if (p2m_set_entry(d, gfn, m, d->ld.enabled ? p2m_ram_logdirty : p2m_ram_rw,
                      P2M_DEFAULT_ACCESS)) {
        /* Xen puts the page back in the cache ("out_fail"). */
        pod_cache_add(d, m);
        return false;
    }
    d->pod.entry_count--;
    set_gpfn_from_mfn(d->host, m, gfn_x(gfn));
    paging_mark_pfn_dirty(d, gfn);
    return true;
}
