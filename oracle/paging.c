/* SPDX-License-Identifier: MIT */
/*
 * oracle/paging.c - mem paging and the paging vm_event ring on the flat
 * model, from ../shared/reference/xen-paging.md 2.2-2.3 and 4.2-4.3, and
 * the comparison of the sim's paging state.
 *
 * The ring is a plain FIFO of requests; a guest vCPU is "runnable",
 * "paused" (vm_event pause, until a response with VCPU_PAUSED) or
 * "waiting_slot" (slept on a full ring; any freed slot wakes it, and it
 * re-executes its access).  A drop notice that finds the ring full waits
 * for a slot too (its caller sleeps); none is ever lost.
 *
 * Where upstream is believed to misbehave (reference 2.4), this file states
 * the intended behaviour and the sim models upstream; the scenarios mark
 * the resulting divergences with expect_divergence():
 *   - removing a paged (or frame-less paging_in) gfn succeeds, the pager
 *     gets a drop notice and paged_pages goes down (upstream: -EILSEQ);
 *   - removing a paging_in gfn that still has its frame frees the frame
 *     and leaves paged_pages alone (upstream: the frame leaks and
 *     paged_pages is decremented for a page never counted).
 */
#include <inttypes.h>
#include <string.h>

#include "oracle_priv.h"

static void m2p_set(struct oracle *o, uint64_t mfn, uint64_t gfn)
{
    if (mfn < o->nr_frames) {
        oracle_mark_mfn(o, mfn);
        o->m2p[mfn] = gfn;
    }
}

static bool full(const struct oracle_dom *od)
{
    return od->nreq >= od->ring_size;
}

static void put(struct oracle_dom *od, struct vm_event_req r)
{
    if (r.vcpu_id == VM_EVENT_NO_VCPU)
        r.flags |= VM_EVENT_FLAG_FOREIGN;
    od->req[od->nreq++] = r;
}

/* A slot became free: sleeping drop callers, then sleeping vCPUs. */
static void wake(struct oracle_dom *od)
{
    while (od->ndrops && !full(od)) {
        put(od, od->drops[0]);
        memmove(&od->drops[0], &od->drops[1], --od->ndrops * sizeof(od->drops[0]));
    }
    if (full(od))
        return;
    for (unsigned v = 0; v < SIM_MAX_VCPUS; v++)
        if (od->vstate[v] == VCPU_WAIT_SLOT)
            od->vstate[v] = VCPU_RUNNABLE;
}

void oracle_set_vcpu(struct oracle *o, uint32_t vcpu)
{
    o->cur_vcpu = vcpu;
}

int oracle_op_paging_enable(struct oracle *o, domid_t d, unsigned slots)
{
    struct oracle_dom *od = oracle_dom_find(o, d);
    if (!od)
        return -ESRCH;
    if (od->shadow) /* mem paging is for HAP domains only */
        return -ENODEV;
    if (od->ring)
        return -EBUSY;
    od->ring = true;
    od->ring_size = slots > VM_EVENT_RING_MAX ? VM_EVENT_RING_MAX : slots;
    od->nreq = od->ndrops = 0;
    return 0;
}

int oracle_op_paging_disable(struct oracle *o, domid_t d)
{
    struct oracle_dom *od = oracle_dom_find(o, d);
    if (!od || !od->ring)
        return -EINVAL;
    for (unsigned v = 0; v < SIM_MAX_VCPUS; v++)
        if (od->vstate[v] == VCPU_WAIT_SLOT)
            return -EBUSY;
    /* A vCPU paused for the monitor ring (oracle/monitor.c) stays. */
    for (unsigned v = 0; v < SIM_MAX_VCPUS; v++)
        if (od->vstate[v] != VCPU_PAUSED_MONITOR) {
            od->vstate[v] = VCPU_RUNNABLE;
            od->vpause[v] = 0;
        }
    od->ring = false;
    od->nreq = od->ndrops = 0;
    return 0;
}

/* A frame of the domain with no reference but the allocation one. */
static bool unshared(const struct oracle *o, uint64_t mfn)
{
    return mfn < o->nr_frames && o->xrefs[mfn] == 0;
}

int oracle_op_nominate(struct oracle *o, domid_t d, gfn_t gfn)
{
    struct oracle_dom *od = oracle_dom_find(o, d);
    uint64_t g = gfn_x(gfn);
    if (!od)
        return -ESRCH;
    if (!od->ring)
        return -ENODEV;
    /* Pageable RAM (rw, logdirty) with a frame nobody else references. */
    if (g >= od->max_gfn ||
        (od_type(od, g) != p2m_ram_rw && od_type(od, g) != p2m_ram_logdirty) ||
        !unshared(o, od_mfn(od, g)))
        return -EBUSY;
    /* nominate() sets a PAGE_ORDER_4K entry: a superpage is split, and a
     * failed split fails the nominate with nothing changed. */
    if (oracle_split(o, od, g))
        return -ENOMEM;
    OD_TYPE_W(od, g) = p2m_ram_paging_out;
    return 0;
}

int oracle_op_evict(struct oracle *o, domid_t d, gfn_t gfn)
{
    struct oracle_dom *od = oracle_dom_find(o, d);
    uint64_t g = gfn_x(gfn);
    if (!od)
        return -ESRCH;
    if (!od->ring)
        return -ENODEV;
    if (g >= od->max_gfn || od_type(od, g) != p2m_ram_paging_out ||
        !unshared(o, od_mfn(od, g)))
        return -EBUSY;
    /* The intended behaviour when the P2M update fails: the error, and
     * nothing else -- the page keeps its frame and its allocation
     * reference, paged_pages is not counted.  Upstream has no unwinding
     * (reference 2.4.3, scenarios/findings/evict_no_rollback.lua). */
    if (oracle_split(o, od, g))
        return -ENOMEM;
    /* The frame goes back to the heap: no gfn any more. */
    m2p_set(o, od_mfn(od, g), INVALID_M2P_ENTRY);
    OD_MFN_W(od, g) = mfn_x(INVALID_MFN);
    OD_TYPE_W(od, g) = p2m_ram_paged;
    od->paged_pages++;
    return 0;
}

int oracle_op_prep(struct oracle *o, domid_t d, gfn_t gfn, bool buffer,
                   mfn_t mfn, bool nomem)
{
    struct oracle_dom *od = oracle_dom_find(o, d);
    uint64_t g = gfn_x(gfn);
    if (!od)
        return -ESRCH;
    if (!od->ring)
        return -ENODEV;
    if (g >= od->max_gfn ||
        (od_type(od, g) != p2m_ram_paging_in && od_type(od, g) != p2m_ram_paged))
        return -ENOENT;
    if (od_mfn(od, g) == mfn_x(INVALID_MFN)) {
        if (!buffer)
            return -EINVAL;
        if (nomem)
            return -ENOMEM;
        OD_MFN_W(od, g) = mfn_x(mfn);
        od->paged_pages--;
    }
    /* The final type at once, and the M2P (seed 002 patch 07/12); no dirty
     * mark (mem_paging.c has none). */
    OD_TYPE_W(od, g) = od->ld_enabled ? p2m_ram_logdirty : p2m_ram_rw;
    m2p_set(o, od_mfn(od, g), g);
    return 0;
}

int oracle_populate(struct oracle_dom *od, uint64_t g, uint32_t vcpu)
{
    bool guest = vcpu < SIM_MAX_VCPUS;
    if (!od->ring)
        return OR_CRASH;
    if (full(od)) {
        if (!guest)
            return OR_OK;
        od->vstate[vcpu] = VCPU_WAIT_SLOT;
        return OR_BLOCKED;
    }
    unsigned t = od_type(od, g);
    struct vm_event_req r = { .gfn = g, .p2mt = t, .vcpu_id = vcpu };
    bool out = t == p2m_ram_paging_out || t == p2m_ram_paged;
    if (out) {
        if (t == p2m_ram_paging_out)
            r.pflags = MEM_PAGING_EVICT_FAIL;
        OD_TYPE_W(od, g) = p2m_ram_paging_in;
    }
    if (guest && (out || t == p2m_ram_paging_in)) {
        od->vpause[vcpu]++;
        od->vstate[vcpu] = VCPU_PAUSED_PAGER;
        r.flags = VM_EVENT_FLAG_VCPU_PAUSED;
    } else if (!out) {
        return OR_OK;
    }
    put(od, r);
    return guest ? OR_PAUSED : OR_OK;
}

int oracle_op_get_request(struct oracle *o, domid_t d, struct vm_event_req *out)
{
    struct oracle_dom *od = oracle_dom_find(o, d);
    if (!od)
        return -ESRCH;
    if (!od->ring)
        return -ENODEV;
    if (!od->nreq)
        return -ENOENT;
    *out = od->req[0];
    memmove(&od->req[0], &od->req[1], --od->nreq * sizeof(od->req[0]));
    wake(od);
    return 0;
}

int oracle_op_resume(struct oracle *o, domid_t d, const struct vm_event_req *rsp)
{
    struct oracle_dom *od = oracle_dom_find(o, d);
    if (!od)
        return -ESRCH;
    if (!od->ring)
        return -ENODEV;
    /* vm_event_resume(): a response naming no vCPU of d is skipped. */
    if (rsp->vcpu_id >= SIM_MAX_VCPUS)
        return 0;
    unsigned v = rsp->vcpu_id;
    if (!od->vpause[v])
        return 0;
    uint64_t g = rsp->gfn;
    if (!(rsp->pflags & MEM_PAGING_DROP_PAGE) && g < od->max_gfn &&
        od_type(od, g) == p2m_ram_paging_in && od_mfn(od, g) != mfn_x(INVALID_MFN)) {
        OD_TYPE_W(od, g) = od->ld_enabled ? p2m_ram_logdirty : p2m_ram_rw;
        m2p_set(o, od_mfn(od, g), g);
    }
    if ((rsp->flags & VM_EVENT_FLAG_VCPU_PAUSED) && !--od->vpause[v])
        od->vstate[v] = VCPU_RUNNABLE;
    return 0;
}

int oracle_op_foreign_map(struct oracle *o, domid_t d, gfn_t gfn)
{
    struct oracle_dom *od = oracle_dom_find(o, d);
    uint64_t g = gfn_x(gfn);
    if (!od)
        return -ESRCH;
    if (g >= od->max_gfn)
        return -EINVAL;
    unsigned t = od_type(od, g);
    if (t == p2m_ram_paging_out || t == p2m_ram_paged || t == p2m_ram_paging_in) {
        oracle_populate(od, g, VM_EVENT_NO_VCPU);
        return -ENOENT;
    }
    /* A shared page is dom_cow's, not d's: the harness's foreign map
     * (get_page(page, d)) refuses it. */
    if (!p2m_is_ram(t) || t == p2m_ram_shared || od_mfn(od, g) >= o->nr_frames)
        return -EINVAL;
    oracle_mark_mfn(o, od_mfn(od, g));
    o->xrefs[od_mfn(od, g)]++;
    return 0;
}

int oracle_op_foreign_unmap(struct oracle *o, domid_t d, mfn_t mfn)
{
    struct oracle_dom *od = oracle_dom_find(o, d);
    if (!od)
        return -ESRCH;
    /* A shared frame's references are its sharers', not mappings. */
    if (mfn_x(mfn) >= o->nr_frames || !o->xrefs[mfn_x(mfn)] ||
        (o->shr_handle && o->shr_handle[mfn_x(mfn)]))
        return -EINVAL;
    oracle_put_xref(o, mfn_x(mfn));
    return 0;
}

int oracle_op_copy_from_guest(struct oracle *o, domid_t d, gpa_t gpa, size_t len)
{
    struct oracle_dom *od = oracle_dom_find(o, d);
    uint64_t g = gpa_x(gpa) >> PAGE_SHIFT;
    if (!od)
        return -ESRCH;
    if ((gpa_x(gpa) & ~PAGE_MASK) + len > PAGE_SIZE)
        return -EINVAL;
    if (g >= od->max_gfn)
        return -EFAULT;
    unsigned t = od_type(od, g);
    if (t == p2m_ram_paging_out || t == p2m_ram_paged || t == p2m_ram_paging_in) {
        /* p2m_mem_paging_populate(): when its p2m_set_entry() to
         * paging_in fails (fail_p2m_update), the claimed slot is cancelled
         * (vm_event_cancel_slot()): no request, no type change; the DMOP
         * answers -EAGAIN all the same (found by the fuzzer,
         * scenarios/fuzz-found/set_mem_type_paging_p2m_fail.lua) */
        if (!(o->p2m_fail && (t == p2m_ram_paging_out || t == p2m_ram_paged)))
            oracle_populate(od, g, VM_EVENT_NO_VCPU);
        return -EAGAIN;
    }
    /* P2M_ALLOC populates a PoD entry first. */
    if (t == p2m_populate_on_demand) {
        if (!oracle_pod_populate(o, od, g))
            return -EFAULT;
        t = od_type(od, g);
    }
    if (!p2m_is_ram(t) || od_mfn(od, g) == mfn_x(INVALID_MFN))
        return -EFAULT;
    return 0;
}

/* guest_remove_page() of a gfn of a paging type, as intended (see top);
 * returns the expected rc, or 1 when the gfn is not of a paging type. */
int oracle_remove_paging(struct oracle *o, struct oracle_dom *od, uint64_t g)
{
    unsigned t = od_type(od, g);
    if (t != p2m_ram_paged && t != p2m_ram_paging_in)
        return 1;
    bool had_frame = od_mfn(od, g) != mfn_x(INVALID_MFN);
    if (had_frame)
        m2p_set(o, od_mfn(od, g), INVALID_M2P_ENTRY);
    OD_MFN_W(od, g) = mfn_x(INVALID_MFN);
    OD_TYPE_W(od, g) = p2m_mmio_dm;
    oracle_mark(od, g, false);
    if (!had_frame)
        od->paged_pages--;
    if (!od->ring)
        return 0;
    struct vm_event_req r = { .gfn = g, .p2mt = t,
                              .pflags = MEM_PAGING_DROP_PAGE,
                              .vcpu_id = VM_EVENT_NO_VCPU };
    if (!full(od))
        put(od, r);
    else if (od->ndrops < VM_EVENT_RING_MAX)
        od->drops[od->ndrops++] = r;
    return 0;
}

int oracle_op_set_mem_type(struct oracle *o, domid_t d, gfn_t gfn, p2m_type_t nt)
{
    struct oracle_dom *od = oracle_dom_find(o, d);
    uint64_t g = gfn_x(gfn);
    if (!od)
        return -ESRCH;
    if ((nt != p2m_ram_rw && nt != p2m_ram_ro && nt != p2m_ioreq_server) ||
        g >= od->max_gfn)
        return -EINVAL;
    unsigned t = od_type(od, g);
    if (t == p2m_ram_paging_out || t == p2m_ram_paged || t == p2m_ram_paging_in) {
        /* p2m_mem_paging_populate(): when its p2m_set_entry() to
         * paging_in fails (fail_p2m_update), the claimed slot is cancelled
         * (vm_event_cancel_slot()): no request, no type change; the DMOP
         * answers -EAGAIN all the same (found by the fuzzer,
         * scenarios/fuzz-found/set_mem_type_paging_p2m_fail.lua) */
        if (!(o->p2m_fail && (t == p2m_ram_paging_out || t == p2m_ram_paged)))
            oracle_populate(od, g, VM_EVENT_NO_VCPU);
        return -EAGAIN;
    }
    /* ioreq_server: only from ram_rw with a server mapped, back only to
     * ram_rw. */
    if (nt == p2m_ioreq_server && (t != p2m_ram_rw || !od->ioreq_mapped))
        return -EINVAL;
    if (t == p2m_ioreq_server && nt != p2m_ram_rw)
        return -EINVAL;
    if (t != p2m_ram_rw && t != p2m_ram_ro && t != p2m_ram_logdirty &&
        t != p2m_ioreq_server)
        return -EINVAL;
    /* Read-only RAM under log-dirty becomes logdirty again when made rw. */
    unsigned want = nt == p2m_ram_ro ? p2m_ram_ro
                    : nt == p2m_ioreq_server ? p2m_ioreq_server
                    : od->ld_enabled ? p2m_ram_logdirty : p2m_ram_rw;
    if (want == t)
        return 0;
    /* p2m_change_type_one(): a 4 KiB entry with p2m->default_access. */
    if (oracle_split(o, od, g))
        return -ENOMEM;
    OD_TYPE_W(od, g) = (uint8_t)want;
    OD_ACCESS_W(od, g) = p2m_access_rwx;
    return 0;
}

/* ---- comparison ------------------------------------------------------------------ */

static const char *vstate_name(unsigned s)
{
    switch (s) {
    case VCPU_RUNNABLE: return "runnable";
    case VCPU_PAUSED_PAGER: return "paused";
    case VCPU_WAIT_SLOT: return "waiting_slot";
    case VCPU_PAUSED_MONITOR: return "paused_monitor";
    default: return "?";
    }
}

static void req_text(const struct vm_event_req *r, char *buf, size_t n)
{
    snprintf(buf, n, "gfn=%#" PRIx64 " p2mt=%u pflags=%#x flags=%#x vcpu=%d",
             r->gfn, r->p2mt, r->pflags, r->flags,
             r->vcpu_id == VM_EVENT_NO_VCPU ? -1 : (int)r->vcpu_id);
}

void oracle_compare_paging(const struct domain *d, const struct oracle_dom *od,
                           struct oracle_reporter *r)
{
    const struct mem_paging *p = &d->paging;
    char e[96], a[96];
    if (p->paged_pages != od->paged_pages) {
        snprintf(e, sizeof e, "%" PRId64, od->paged_pages);
        snprintf(a, sizeof a, "%" PRId64, p->paged_pages);
        oracle_report(r, e, a, "d%u.paged_pages", od->id);
    }
    if (p->ring_enabled != od->ring)
        oracle_report(r, od->ring ? "on" : "off", p->ring_enabled ? "on" : "off",
                      "d%u.ring.enabled", od->id);
    if (p->nreq != od->nreq) {
        snprintf(e, sizeof e, "%u", od->nreq);
        snprintf(a, sizeof a, "%u", p->nreq);
        oracle_report(r, e, a, "d%u.ring.requests", od->id);
    }
    for (unsigned i = 0; i < p->nreq && i < od->nreq && p->ring_size; i++) {
        const struct vm_event_req *x = &od->req[i],
                                  *y = &p->req[(p->req_cons + i) % p->ring_size];
        if (memcmp(x, y, sizeof(*x))) {
            req_text(x, e, sizeof e);
            req_text(y, a, sizeof a);
            oracle_report(r, e, a, "d%u.ring.req[%u]", od->id, i);
        }
    }
    if (p->pending_drops != od->ndrops) {
        snprintf(e, sizeof e, "%u", od->ndrops);
        snprintf(a, sizeof a, "%u", p->pending_drops);
        oracle_report(r, e, a, "d%u.ring.waiting_drops", od->id);
    }
    if (p->lost) {
        snprintf(a, sizeof a, "%" PRIu64 " lost", p->lost);
        oracle_report(r, "none lost", a, "d%u.ring.lost_events", od->id);
    }
    /* (all vCPU states equal: one compare, not 64; this runs at every
     * state check) */
    _Static_assert(sizeof(p->vcpu_state) == sizeof(od->vstate), "vstate arrays");
    for (unsigned v = memcmp(p->vcpu_state, od->vstate, sizeof od->vstate) ? 0 : SIM_MAX_VCPUS;
         v < SIM_MAX_VCPUS; v++) {
        if (p->vcpu_state[v] == od->vstate[v])
            continue;
        if (od->vstate[v] == VCPU_RUNNABLE)
            snprintf(a, sizeof a, "%s (vCPU stuck)", vstate_name(p->vcpu_state[v]));
        else
            snprintf(a, sizeof a, "%s", vstate_name(p->vcpu_state[v]));
        oracle_report(r, vstate_name(od->vstate[v]), a, "d%u.v%u.state", od->id, v);
    }
}

/* I7 on the sim alone. */
void oracle_invariants_paging(const struct host *h, const struct domain *d,
                              struct oracle_reporter *r)
{
    const struct mem_paging *p = &d->paging;
    char a[32];
    if (p->ring_enabled && p->nreq > p->ring_size) {
        snprintf(a, sizeof a, "%u", p->nreq);
        oracle_report(r, "<= ring size", a, "I7 d%u.ring.requests", d->id);
    }
    if (!p->ring_enabled && (p->nreq || p->pending_drops))
        oracle_report(r, "no requests without a ring", "requests",
                      "I7 d%u.ring", d->id);
    /* Nobody paused and no pause count: nothing to look at (it runs at
     * every state check); otherwise vCPU by vCPU.  Both paused states are
     * odd: a state byte with bit 0 clear is neither, so one test of the
     * states (oracle_vcpu_any_odd()) stands for two memchr()s. */
    _Static_assert((VCPU_PAUSED_PAGER & 1) && (VCPU_PAUSED_MONITOR & 1) &&
                   !(VCPU_RUNNABLE & 1) && !(VCPU_WAIT_SLOT & 1),
                   "I7's gate tests bit 0 of the vCPU states");
    static const uint32_t no_pauses[SIM_MAX_VCPUS];
    bool look = oracle_vcpu_any_odd(p->vcpu_state) ||
                memcmp(p->pause_count, no_pauses, sizeof no_pauses);
    for (unsigned v = 0; look && v < SIM_MAX_VCPUS; v++)
        if ((p->vcpu_state[v] == VCPU_PAUSED_PAGER ||
             p->vcpu_state[v] == VCPU_PAUSED_MONITOR) != (p->pause_count[v] != 0)) {
            snprintf(a, sizeof a, "state %u count %u", p->vcpu_state[v],
                     p->pause_count[v]);
            oracle_report(r, "paused iff pause count", a, "I7 d%u.v%u", d->id, v);
        }
}
