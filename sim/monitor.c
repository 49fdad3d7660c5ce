/* SPDX-License-Identifier: MIT */
/*
 * sim/monitor.c - the vm_event monitor ring as the mem_access listener's
 * channel, and the "black eye" pause of vm_event_put_request().
 *
 * Models p2m_mem_access_check() (xen/arch/x86/mm/mem_access.c), the
 * sync/async split of hvm_hap_nested_page_fault() and monitor_traps()
 * (xen/common/monitor.c), and the parts of xen/common/vm_event.c the
 * monitor ring uses: vm_event_enable/disable for
 * XEN_DOMCTL_VM_EVENT_OP_MONITOR, __vm_event_claim_slot() (a guest vCPU
 * sleeps on ved->wq), vm_event_put_request() with its black eye,
 * vm_event_resume(), vm_event_wake() (wait queue first, else
 * vm_event_wake_blocked() round robin from last_vcpu_wake_up + 1).
 *
 * A violation of the gfn's p2m_access_t (frame-backed gfns only):
 *
 *   rx2rw, write   -> access rw, no event               MA_FALL
 *   n2rwx          -> access rwx, then as below, but the event is async
 *                     (no pause, no VCPU_PAUSED flag)   MA_FALL
 *   no listener    -> access_required: domain_crash()   MA_CRASH
 *                     else access rwx (n2rwx: already)  MA_RETRY
 *   listener       -> request on the ring, vCPU paused  MA_PAUSED
 *                     ring full: vCPU asleep            MA_WAIT_SLOT
 *
 * Slot accounting: a slot is used from the put until Xen consumes the
 * response (RING_FREE_REQUESTS = size - (req_prod_pvt - rsp_cons)), so a
 * request the listener has read but not answered still holds its slot.
 * (The paging ring in mem_paging.c frees the slot when the pager reads the
 * request; its pager always answers at once, so the two agree there.)
 *
 * Black eye (vm_event_put_request()): after the put, a producer that is a
 * vCPU of the target domain and holds no vm_event pause is paused
 * (vcpu_pause_nosync()) when fewer slots are free than the domain has
 * vCPUs, so that each vCPU can still claim one.  For the monitor ring this
 * reaches the async n2rwx events; sync events are vm_event-paused first,
 * and paging requests of guest vCPUs are always vm_event-paused, foreign
 * (tool-stack) producers are never black-eyed (current->domain != d).
 *
 * MUT_MEM_ACCESS_NO_EVENT: a listener is ignored (the violation is cleared
 * as without one).  MUT_VM_EVENT_NO_BLACK_EYE: the black eye is never
 * given.
 */
#include <string.h>

#include "pagesim/mutant.h"
#include "sim-internal.h"

static unsigned ring_used(const struct vm_event_monitor *m)
{
    return m->nreq + m->taken;
}

unsigned vm_event_monitor_used(const struct domain *d)
{
    return ring_used(&d->monitor);
}

/* vm_event_ring_available(): claims complete at once here, so no
 * reservation is outstanding. */
static unsigned ring_avail(const struct vm_event_monitor *m)
{
    return m->ring_size - ring_used(m);
}

enum monitor_vcpu_state monitor_vcpu_state(const struct domain *d, unsigned v)
{
    return v < SIM_MAX_VCPUS ? (enum monitor_vcpu_state)d->monitor.vstate[v]
                             : MON_NONE;
}

/* vm_event_put_request() for a guest vCPU of d (the only producer of
 * mem_access events).  A sync request carries VM_EVENT_FLAG_VCPU_PAUSED and
 * its vCPU is vm_event-paused first (monitor_traps()). */
static void ring_put(struct domain *d, struct mem_access_req req)
{
    struct vm_event_monitor *m = dom_monitor_w(d);
    unsigned v = req.vcpu_id;
    if (req.flags & VM_EVENT_FLAG_VCPU_PAUSED) {
        /* vm_event_vcpu_pause(): the pause count is the vCPU's, shared
         * with the paging ring (v->vm_event_pause_count). */
        dom_paging_w(d)->pause_count[v]++;
        d->paging.vcpu_state[v] = VCPU_PAUSED_MONITOR;
    }
    m->req[(m->req_cons + m->nreq) % m->ring_size] = req;
    m->nreq++;
    m->events++;
    /* The black eye, on the way out. */
    if (ring_avail(m) < d->nr_vcpus && !d->paging.pause_count[v] &&
        m->vstate[v] == MON_NONE && !MUTANT(MUT_VM_EVENT_NO_BLACK_EYE)) {
        m->vstate[v] = MON_BLACK_EYE;
        m->blocked++;
        m->black_eyes++;
    }
}

/* vm_event_wake(): sleepers on the wait queue take the free slots in the
 * order they slept (wake_up_nr(), each completing its claim and put);
 * with nobody queued, black-eyed vCPUs are unpaused round robin, one per
 * free slot (vm_event_wake_blocked()). */
static void ring_wake(struct domain *d)
{
    struct vm_event_monitor *m = dom_monitor_w(d);
    if (m->nwait) {
        while (m->nwait && ring_avail(m)) {
            unsigned v = m->waitq[0];
            memmove(&m->waitq[0], &m->waitq[1], (--m->nwait) * sizeof(m->waitq[0]));
            m->vstate[v] = MON_NONE;
            ring_put(d, m->wait_req[v]);
        }
        return;
    }
    unsigned avail = ring_avail(m), n = d->nr_vcpus;
    if (!avail || !m->blocked || !n)
        return;
    for (unsigned i = m->last_vcpu_wake_up + 1, j = 0; j < n; i++, j++) {
        unsigned k = i % n;
        if (!m->blocked || !avail)
            break;
        if (k < SIM_MAX_VCPUS && m->vstate[k] == MON_BLACK_EYE) {
            m->vstate[k] = MON_NONE;
            avail--;
            m->blocked--;
            m->last_vcpu_wake_up = k;
        }
    }
}

int vm_event_monitor_enable(struct domain *d)
{
    struct vm_event_monitor *m = &d->monitor;
    if (m->ring_enabled)
        return -EBUSY;
    dom_monitor_w(d);
    bool required = m->access_required;
    memset(m, 0, sizeof(*m));
    m->access_required = required;
    m->ring_enabled = true;
    m->ring_size = MUTANT(MUT_MEM_EVENT_2011) ? MEM_EVENT_RING_SLOTS_2011
                                              : VM_EVENT_RING_SLOTS;
    return 0;
}

int vm_event_monitor_disable(struct domain *d)
{
    struct vm_event_monitor *m = &d->monitor;
    if (!m->ring_enabled)
        return -EINVAL;
    /* vm_event_disable(): -EBUSY while ved->wq has sleepers. */
    if (m->nwait)
        return -EBUSY;
    /* Unblock every black-eyed vCPU (the ring's pause flag).  A vCPU
     * vm_event-paused for a request that will never be answered stays
     * paused, as in Xen (vm_event_pause_count is not the ring's). */
    dom_monitor_w(d);
    bool required = m->access_required;
    uint64_t ev = m->events, be = m->black_eyes, cr = m->crashes;
    memset(m, 0, sizeof(*m));
    m->access_required = required;
    m->events = ev;
    m->black_eyes = be;
    m->crashes = cr;
    return 0;
}

void p2m_set_access_required(struct domain *d, bool on)
{
    dom_monitor_w(d)->access_required = on;
}

int vm_event_monitor_get(struct domain *d, struct mem_access_req *out)
{
    struct vm_event_monitor *m = &d->monitor;
    if (!m->ring_enabled)
        return -ENODEV;
    if (!m->nreq)
        return -ENOENT;
    *out = m->req[m->req_cons];
    dom_monitor_w(d);
    m->req_cons = (m->req_cons + 1) % m->ring_size;
    m->nreq--;
    m->taken++;
    return 0;
}

int vm_event_monitor_resume(struct domain *d, const struct mem_access_req *rsp)
{
    struct vm_event_monitor *m = &d->monitor;
    if (!m->ring_enabled)
        return -ENODEV;
    if (!m->taken)
        return -EINVAL;
    /* vm_event_get_response() consumed it: the slot is free. */
    dom_monitor_w(d);
    m->taken--;
    /* vm_event_resume(): a vcpu_id beyond the domain's is skipped. */
    if (rsp->vcpu_id < d->nr_vcpus && rsp->vcpu_id < SIM_MAX_VCPUS) {
        unsigned v = rsp->vcpu_id;
        /* Flags act only on a vCPU with a vm_event pause; the unpause
         * needs VM_EVENT_FLAG_VCPU_PAUSED (vm_event_vcpu_unpause()). */
        if (d->paging.pause_count[v] && (rsp->flags & VM_EVENT_FLAG_VCPU_PAUSED) &&
            !--dom_paging_w(d)->pause_count[v])
            d->paging.vcpu_state[v] = VCPU_RUNNABLE;
    }
    ring_wake(d);
    return 0;
}

/* The npfec of the exit qualification (vmx.c ept_handle_violation()). */
static uint32_t npfec_flags(uint64_t qual)
{
    uint32_t f = 0;
    if (qual & EPTQ_READ)
        f |= MEM_ACCESS_R;
    if (qual & EPTQ_WRITE)
        f |= MEM_ACCESS_W;
    if (qual & EPTQ_FETCH)
        f |= MEM_ACCESS_X;
    if (qual & EPTQ_GLA_VALID)
        f |= MEM_ACCESS_GLA_VALID |
             ((qual & EPTQ_GLA_XLATE) ? MEM_ACCESS_FAULT_WITH_GLA
                                      : MEM_ACCESS_FAULT_IN_GPT);
    return f;
}

enum mem_access_result p2m_mem_access_check(struct domain *d, uint32_t vcpu,
                                            gpa_t gpa, gva_t gla, uint64_t qual,
                                            p2m_access_t a)
{
    struct vm_event_monitor *m = &d->monitor;
    gfn_t gfn = gpa_to_gfn(gpa);

    /* rx2rw written: promoted, no event (the handler goes on; Xen
     * re-executes and takes any further fault then: same end state). */
    if ((qual & EPTQ_WRITE) && a == p2m_access_rx2rw) {
        if (p2m_set_mem_access(d, gfn, p2m_access_rw))
            return MA_CRASH; /* Xen ASSERT()s success */
        return MA_FALL;
    }
    if (a == p2m_access_n2rwx && p2m_set_mem_access(d, gfn, p2m_access_rwx))
        return MA_CRASH;

    if (!m->ring_enabled || MUTANT(MUT_MEM_ACCESS_NO_EVENT)) {
        /* No listener. */
        if (m->access_required && !MUTANT(MUT_MEM_ACCESS_NO_EVENT)) {
            dom_monitor_w(d)->crashes++;
            return MA_CRASH;
        }
        if (a != p2m_access_n2rwx && p2m_set_mem_access(d, gfn, p2m_access_rwx))
            return MA_CRASH;
        return MA_RETRY;
    }

    bool sync = a != p2m_access_n2rwx;
    struct mem_access_req req = {
        .gfn = gfn_x(gfn),
        .offset = (uint32_t)(gpa_x(gpa) & (PAGE_SIZE - 1)),
        .maflags = npfec_flags(qual),
        .flags = sync ? VM_EVENT_FLAG_VCPU_PAUSED : 0,
        .access = a,
        .vcpu_id = vcpu,
    };
    if (qual & EPTQ_GLA_VALID)
        req.gla = gva_x(gla);

    /* monitor_traps(): vm_event_claim_slot() sleeps on a full ring. */
    if (!ring_avail(m)) {
        dom_monitor_w(d);
        m->vstate[vcpu] = MON_WAIT_SLOT;
        m->wait_req[vcpu] = req;
        m->waitq[m->nwait++] = vcpu;
        return sync ? MA_WAIT_SLOT : MA_FALL;
    }
    ring_put(d, req);
    return sync ? MA_PAUSED : MA_FALL;
}
