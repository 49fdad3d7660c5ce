/* SPDX-License-Identifier: MIT */
/*
 * sim/mem_paging.c - mem paging and the paging vm_event ring.
 *
 * Models xen/arch/x86/mm/mem_paging.c (nominate(), evict(), prepare(),
 * p2m_mem_paging_populate(), p2m_mem_paging_resume(),
 * p2m_mem_paging_drop_page()) and the parts of xen/common/vm_event.c the
 * paging ring uses (vm_event_enable/disable, __vm_event_claim_slot,
 * vm_event_put_request, vm_event_cancel_slot, vm_event_get_response,
 * vm_event_resume, vm_event_wake, vm_event_vcpu_pause/unpause), as in
 * ../shared/reference/xen-paging.md sections 2 and 4.
 *
 * Per-gfn state machine (reference 2.3):
 *
 *   ram_rw|ram_logdirty --nominate--> ram_paging_out (mfn kept, r=w=x=0)
 *   ram_paging_out --evict--> ram_paged (INVALID_MFN), frame freed,
 *                             paged_pages++
 *   ram_paging_out|ram_paged --populate--> ram_paging_in, request on ring
 *   ram_paged|ram_paging_in --prep--> ram_rw|ram_logdirty, M2P set
 *   ram_paging_in (mfn valid) --resume--> ram_rw|ram_logdirty, M2P set
 *
 * Simplifications, each without an observable difference in what a
 * scenario can do:
 *   - claim and put happen in one step (no operation yields in between),
 *     so no reservation survives a step: a slot is free or holds a request;
 *   - a guest vCPU that would sleep on ved->wq for a slot is marked
 *     VCPU_WAIT_SLOT and its access is abandoned; once woken it re-executes
 *     the access and so re-runs populate from the unchanged P2M state;
 *   - a drop notice that finds the ring full is the decrease_reservation
 *     caller sleeping on ved->wq: it is queued (pending_drops) and put on
 *     the ring as soon as a slot frees;
 *   - the "black eye" pause of vm_event_put_request() (fewer free slots
 *     than vCPUs) never applies here: a guest vCPU's request always
 *     carries a vm_event pause, and foreign producers are exempt; it is
 *     modelled for the monitor ring (sim/monitor.c).
 *
 * MUT_MEM_EVENT_2011 switches to the 2011 mem_event ring of seed 002
 * patch 08/12: 64 slots, drop notices lost when the ring is full
 * (mem_event_check_ring()), and vCPUs paused on a full ring woken only by
 * the resume path (mem_event_unpause_vcpus()), never by the pager
 * consuming requests.
 */
#include <string.h>

#include "pagesim/mutant.h"
#include "sim-internal.h"

/* ---- the ring ---------------------------------------------------------------- */

unsigned vm_event_ring_used(const struct domain *d)
{
    return d->paging.nreq;
}

static bool ring_full(const struct domain *d)
{
    return d->paging.nreq >= d->paging.ring_size;
}

/* vm_event_put_request(): the request goes on the ring (a slot was
 * claimed by the caller); foreign producers get VM_EVENT_FLAG_FOREIGN. */
static void ring_put(struct domain *d, struct vm_event_req req)
{
    struct mem_paging *p = dom_paging_w(d);
    if (req.vcpu_id == VM_EVENT_NO_VCPU)
        req.flags |= VM_EVENT_FLAG_FOREIGN;
    p->req[(p->req_cons + p->nreq) % p->ring_size] = req;
    p->nreq++;
}

/* vm_event_wake(): waiters on the wait queue get the free slots, in
 * order: the sleeping drop_page callers first (their claim then
 * completes), then vCPUs, which become runnable and retry. */
static void ring_wake(struct domain *d)
{
    struct mem_paging *p = dom_paging_w(d);
    if (MUTANT(MUT_MEM_EVENT_2011))
        return; /* 2011: only mem_event_unpause_vcpus() on a response */
    while (p->pending_drops && !ring_full(d)) {
        ring_put(d, p->drops[0]);
        memmove(&p->drops[0], &p->drops[1],
                (--p->pending_drops) * sizeof(p->drops[0]));
    }
    if (ring_full(d))
        return;
    for (unsigned v = 0; v < SIM_MAX_VCPUS; v++)
        if (p->vcpu_state[v] == VCPU_WAIT_SLOT)
            p->vcpu_state[v] = VCPU_RUNNABLE;
}

int vm_event_paging_enable(struct domain *d)
{
    struct mem_paging *p = &d->paging;
    /* vm_event_domctl(): "Only HAP is supported" -- mem paging needs
     * nested paging; a shadow-paged domain gets -ENODEV. */
    if (d->shadow)
        return -ENODEV;
    if (p->ring_enabled)
        return -EBUSY;
    dom_paging_w(d);
    p->ring_enabled = true;
    p->ring_size = MUTANT(MUT_MEM_EVENT_2011) ? MEM_EVENT_RING_SLOTS_2011
                                              : VM_EVENT_RING_SLOTS;
    p->req_cons = p->nreq = 0;
    p->pending_drops = 0;
    return 0;
}

int vm_event_paging_disable(struct domain *d)
{
    struct mem_paging *p = &d->paging;
    if (!p->ring_enabled)
        return -EINVAL;
    for (unsigned v = 0; v < SIM_MAX_VCPUS; v++)
        if (p->vcpu_state[v] == VCPU_WAIT_SLOT)
            return -EBUSY;
    /* vm_event_cleanup_domain(): unpause every vCPU paused for the ring
     * (a vCPU paused for the monitor ring, sim/monitor.c, stays). */
    dom_paging_w(d);
    for (unsigned v = 0; v < SIM_MAX_VCPUS; v++) {
        if (p->vcpu_state[v] != VCPU_PAUSED_MONITOR) {
            p->vcpu_state[v] = VCPU_RUNNABLE;
            p->pause_count[v] = 0;
        }
    }
    p->ring_enabled = false;
    p->nreq = p->req_cons = 0;
    p->pending_drops = 0;
    return 0;
}

int vm_event_get_request(struct domain *d, struct vm_event_req *out)
{
    struct mem_paging *p = &d->paging;
    if (!p->ring_enabled)
        return -ENODEV;
    if (!p->nreq)
        return -ENOENT;
    *out = p->req[p->req_cons];
    dom_paging_w(d);
    p->req_cons = (p->req_cons + 1) % p->ring_size;
    p->nreq--;
    ring_wake(d);
    return 0;
}

enum vcpu_run_state vcpu_run_state(const struct domain *d, unsigned v)
{
    return v < SIM_MAX_VCPUS ? (enum vcpu_run_state)d->paging.vcpu_state[v]
                             : VCPU_RUNNABLE;
}

/* ---- paging operations ------------------------------------------------------------ */

/* The type a paged-in gfn gets: p2m_ram_logdirty under log-dirty mode. */
static p2m_type_t pagein_type(const struct domain *d)
{
    return d->ld.enabled ? p2m_ram_logdirty : p2m_ram_rw;
}

static bool guest_frame_of(const struct domain *d, mfn_t m)
{
    const struct host *h = d->host;
    return hostmem_mfn_valid(h->nr_frames, m) &&
           h->frames[mfn_x(m)].owner == d->id &&
           h->frames[mfn_x(m)].use == PGU_GUEST;
}

/* nominate(): every failed precondition is -EBUSY (since e47ceecc30). */
int mem_paging_nominate(struct domain *d, gfn_t gfn)
{
    p2m_type_t t;
    p2m_access_t a;

    if (!d->paging.ring_enabled)
        return -ENODEV;
    if (gfn_x(gfn) >= d->max_gfn)
        return -EBUSY;
    mfn_t mfn = p2m_get_entry(d, gfn, &t, &a);
    if (!guest_frame_of(d, mfn) || !p2m_is_pageable(t))
        return -EBUSY;
    /* count_info == (1 | PGC_allocated): nobody but the owner holds it. */
    if (d->host->frames[mfn_x(mfn)].count != 1 &&
        !MUTANT(MUT_NOMINATE_IGNORE_REFS))
        return -EBUSY;
    return p2m_set_entry(d, gfn, mfn, p2m_ram_paging_out, a);
}

/* evict(): paging_out with no extra reference becomes paged; the frame is
 * freed (mark_page_free() clears its M2P entry). */
int mem_paging_evict(struct domain *d, gfn_t gfn)
{
    struct host *h = d->host;
    p2m_type_t t;
    p2m_access_t a;

    if (!d->paging.ring_enabled)
        return -ENODEV;
    if (gfn_x(gfn) >= d->max_gfn)
        return -EBUSY;
    mfn_t mfn = p2m_get_entry(d, gfn, &t, &a);
    if (!guest_frame_of(d, mfn) || t != p2m_ram_paging_out)
        return -EBUSY;
    /* get_page() + count == (2 | PGC_allocated). */
    if (h->frames[mfn_x(mfn)].count != 1)
        return -EBUSY;
    int rc = p2m_set_entry(d, gfn, INVALID_MFN, p2m_ram_paged, a);
    /* As upstream (reference 2.4.3): counted and freed even if the P2M
     * update failed -- there is no unwinding. */
    dom_paging_w(d)->paged_pages++;
    heap_free_page(h, mfn);
    return rc;
}

/* The P2M half of a page-in: final type and the M2P (seed 002 07/12). */
static int pagein(struct domain *d, gfn_t gfn, mfn_t mfn, p2m_access_t a)
{
    int rc = p2m_set_entry(d, gfn, mfn, pagein_type(d), a);
    if (!rc && !MUTANT(MUT_PAGEIN_NO_M2P))
        set_gpfn_from_mfn(d->host, mfn, gfn_x(gfn));
    return rc;
}

/* prepare(): see the table in sim.h. */
int mem_paging_prep(struct domain *d, gfn_t gfn, const void *buf)
{
    struct host *h = d->host;
    p2m_type_t t;
    p2m_access_t a;
    bool allocated = false;

    if (!d->paging.ring_enabled)
        return -ENODEV;
    if (gfn_x(gfn) >= d->max_gfn)
        return -ENOENT;
    mfn_t mfn = p2m_get_entry(d, gfn, &t, &a);
    if (t != p2m_ram_paging_in && t != p2m_ram_paged)
        return -ENOENT;
    if (!hostmem_mfn_valid(h->nr_frames, mfn)) {
        if (!buf)
            return -EINVAL;
        mfn = heap_alloc_page(h, d->id, PGU_GUEST);
        if (mfn_eq(mfn, INVALID_MFN))
            return -ENOMEM;
        hostmem_write(h->mem, mfn_to_hpa(mfn), buf, PAGE_SIZE);
        allocated = true;
    }
    int rc = pagein(d, gfn, mfn, a);
    if (rc) {
        if (allocated)
            heap_free_page(h, mfn);
        return rc;
    }
    if (allocated)
        dom_paging_w(d)->paged_pages--;
    return 0;
}

enum populate_result p2m_mem_paging_populate(struct domain *d, gfn_t gfn,
                                             uint32_t vcpu)
{
    struct mem_paging *p = &d->paging;
    bool guest = vcpu < SIM_MAX_VCPUS;
    p2m_type_t t;
    p2m_access_t a;

    /* vm_event_claim_slot() */
    if (!p->ring_enabled)
        return POP_CRASH; /* -EOPNOTSUPP: domain_crash() */
    if (ring_full(d)) {
        if (!guest)
            return POP_BUSY;
        dom_paging_w(d)->vcpu_state[vcpu] = VCPU_WAIT_SLOT;
        return POP_WAIT_SLOT;
    }
    struct vm_event_req req = { .gfn = gfn_x(gfn), .vcpu_id = vcpu };
    if (MUTANT(MUT_POPULATE_GFN_ALIGNED))
        req.gfn &= ~UINT64_C(0x1ff);
    mfn_t mfn = p2m_get_entry(d, gfn, &t, &a);
    req.p2mt = t;
    if (t == p2m_ram_paging_out || t == p2m_ram_paged) {
        if (t == p2m_ram_paging_out)
            req.pflags |= MEM_PAGING_EVICT_FAIL;
        if (p2m_set_entry(d, gfn, mfn, p2m_ram_paging_in, a))
            return POP_NOTHING; /* vm_event_cancel_slot() */
    }
    if (guest && p2m_is_paging(t)) {
        /* vm_event_vcpu_pause() */
        dom_paging_w(d);
        p->pause_count[vcpu]++;
        p->vcpu_state[vcpu] = VCPU_PAUSED_PAGER;
        req.flags |= VM_EVENT_FLAG_VCPU_PAUSED;
    } else if (t != p2m_ram_paging_out && t != p2m_ram_paged) {
        return POP_NOTHING; /* vm_event_cancel_slot() */
    }
    ring_put(d, req);
    return POP_SENT;
}

/* p2m_mem_paging_resume(): only a paging_in gfn that still has a frame. */
static void paging_resume_gfn(struct domain *d, gfn_t gfn)
{
    p2m_type_t t;
    p2m_access_t a;
    if (gfn_x(gfn) >= d->max_gfn)
        return;
    mfn_t mfn = p2m_get_entry(d, gfn, &t, &a);
    if (t == p2m_ram_paging_in && guest_frame_of(d, mfn))
        pagein(d, gfn, mfn, a);
}

int vm_event_resume(struct domain *d, const struct vm_event_req *rsp)
{
    struct mem_paging *p = &d->paging;
    if (!p->ring_enabled)
        return -ENODEV;
    /* vm_event_resume(): a response naming no vCPU of d is skipped. */
    if (rsp->vcpu_id >= SIM_MAX_VCPUS)
        return 0;
    unsigned v = rsp->vcpu_id;
    /* Only for a vCPU with an outstanding vm_event pause. */
    if (p->pause_count[v]) {
        dom_paging_w(d);
        if (!(rsp->pflags & MEM_PAGING_DROP_PAGE))
            paging_resume_gfn(d, _gfn(rsp->gfn));
        if (rsp->flags & VM_EVENT_FLAG_VCPU_PAUSED) {
            /* vm_event_vcpu_unpause() */
            if (!--p->pause_count[v])
                p->vcpu_state[v] = VCPU_RUNNABLE;
        }
    }
    if (MUTANT(MUT_MEM_EVENT_2011)) {
        /* mem_event_unpause_vcpus(): every vCPU paused on the ring. */
        dom_paging_w(d);
        for (unsigned i = 0; i < SIM_MAX_VCPUS; i++)
            if (p->vcpu_state[i] == VCPU_WAIT_SLOT)
                p->vcpu_state[i] = VCPU_RUNNABLE;
    }
    return 0;
}

/* p2m_mem_paging_drop_page(): one-way notice; no ring is fine. */
void mem_paging_drop_page(struct domain *d, gfn_t gfn, p2m_type_t t)
{
    struct mem_paging *p = dom_paging_w(d);
    struct vm_event_req req = { .gfn = gfn_x(gfn), .p2mt = t,
                                .pflags = MEM_PAGING_DROP_PAGE,
                                .vcpu_id = VM_EVENT_NO_VCPU };
    if (t == p2m_ram_paging_out)
        req.pflags |= MEM_PAGING_EVICT_FAIL;
    else
        p->paged_pages--;
    if (!p->ring_enabled)
        return;
    if (!ring_full(d)) {
        ring_put(d, req);
    } else if (MUTANT(MUT_MEM_EVENT_2011) ||
               p->pending_drops >= VM_EVENT_RING_MAX) {
        p->lost++;
    } else {
        p->drops[p->pending_drops++] = req;
    }
}

/* ---- foreign references --------------------------------------------------------- */

int foreign_map_gfn(struct domain *d, gfn_t gfn, mfn_t *out)
{
    p2m_type_t t;
    if (gfn_x(gfn) >= d->max_gfn)
        return -EINVAL;
    mfn_t mfn = p2m_get_entry(d, gfn, &t, NULL);
    if (p2m_is_paging(t)) {
        /* get_page_from_l1e() path: populate, the mapper retries. */
        p2m_mem_paging_populate(d, gfn, VM_EVENT_NO_VCPU);
        return -ENOENT;
    }
    if (!p2m_is_ram(t) || !guest_frame_of(d, mfn))
        return -EINVAL;
    hostmem_meta_mark(d->host->mem, mfn_x(mfn)); /* for oracle_check() */
    d->host->frames[mfn_x(mfn)].count++;
    *out = mfn;
    return 0;
}

/* put_page() of the mapper's reference: never the allocation reference;
 * the last reference of a page d already removed from its P2M
 * (guest_remove_page(), set_type) frees it. */
int foreign_unmap(struct domain *d, mfn_t mfn)
{
    if (!guest_frame_of(d, mfn))
        return -EINVAL;
    const struct page_info *pg = &d->host->frames[mfn_x(mfn)];
    if (pg->count <= pg->allocated)
        return -EINVAL;
    heap_put_page(d->host, mfn);
    return 0;
}
