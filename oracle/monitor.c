/* SPDX-License-Identifier: MIT */
/*
 * oracle/monitor.c - the mem_access listener's vm_event ring on the flat
 * model, and the comparison of the sim's monitor state.
 *
 * What the oracle states (p2m_mem_access_check(), monitor_traps() and
 * vm_event_put_request() as read from Xen, see sim/monitor.c for the
 * table):
 *   - the ring is a row of slots, oldest first; a slot holds one request,
 *     first unread, then read by the listener, and is given back only by
 *     a response (the oldest read slot goes);
 *   - a violation with a listener puts a request naming the gfn, the
 *     offset, the gla when the exit reported one, r/w/x of the access and
 *     the access type; a sync one (anything but n2rwx) pauses its vCPU
 *     (VM_EVENT_FLAG_VCPU_PAUSED), which only a response carrying that
 *     flag undoes;
 *   - on a full ring the vCPU sleeps with its request, and slots that come
 *     free go to sleepers in the order they slept;
 *   - after a put by a vCPU without a vm_event pause, fewer free slots
 *     than vCPUs pause it (black eye); with no sleepers, each freed slot
 *     wakes one black-eyed vCPU, round robin after the last one woken;
 *   - without a listener: access_required crashes the domain, otherwise
 *     the gfn's access becomes rwx (n2rwx: it already is).
 */
#include <inttypes.h>
#include <string.h>

#include "oracle_priv.h"

static unsigned free_slots(const struct oracle_dom *od)
{
    return od->mon_size - od->mon_nslots;
}

void oracle_op_vcpu_created(struct oracle *o, domid_t d, unsigned id)
{
    struct oracle_dom *od = oracle_dom_find(o, d);
    if (od && id + 1 > od->nr_vcpus)
        od_monitor_w(od)->nr_vcpus = id + 1;
}

/* A request enters the ring; its vCPU is paused first when it is sync,
 * and black-eyed after when it holds no pause and slots run short. */
static void enter(struct oracle_dom *od, const struct mem_access_req *q)
{
    unsigned v = q->vcpu_id;
    if (q->flags & VM_EVENT_FLAG_VCPU_PAUSED) {
        od_paging_w(od)->vpause[v]++;
        od->vstate[v] = VCPU_PAUSED_MONITOR;
    }
    od_monitor_w(od)->mon_slot[od->mon_nslots].req = *q;
    od->mon_slot[od->mon_nslots].read = false;
    od->mon_nslots++;
    if (!od->vpause[v] && od->mon_state[v] == MON_NONE &&
        free_slots(od) < od->nr_vcpus)
        od->mon_state[v] = MON_BLACK_EYE;
}

static void slot_freed(struct oracle_dom *od)
{
    od_monitor_w(od);
    if (od->mon_nwait) {
        while (od->mon_nwait && free_slots(od)) {
            unsigned v = od->mon_waitq[0];
            od->mon_nwait--;
            for (unsigned i = 0; i < od->mon_nwait; i++)
                od->mon_waitq[i] = od->mon_waitq[i + 1];
            od->mon_state[v] = MON_NONE;
            enter(od, &od->mon_wait_req[v]);
        }
        return;
    }
    /* No sleepers: one black-eyed vCPU per free slot, round robin. */
    unsigned n = od->nr_vcpus < SIM_MAX_VCPUS ? od->nr_vcpus : SIM_MAX_VCPUS;
    unsigned budget = free_slots(od);
    for (unsigned j = 1; j <= n && budget; j++) {
        unsigned v = (od->mon_last_wake + j) % n;
        if (od->mon_state[v] == MON_BLACK_EYE) {
            od->mon_state[v] = MON_NONE;
            od->mon_last_wake = v;
            budget--;
        }
    }
}

int oracle_op_monitor_enable(struct oracle *o, domid_t d, unsigned slots)
{
    struct oracle_dom *od = oracle_dom_find(o, d);
    if (!od)
        return -ESRCH;
    if (od->mon_ring)
        return -EBUSY;
    od_monitor_w(od)->mon_ring = true;
    od->mon_size = slots > VM_EVENT_RING_MAX ? VM_EVENT_RING_MAX : slots;
    od->mon_nslots = od->mon_nwait = od->mon_last_wake = 0;
    memset(od->mon_state, 0, sizeof(od->mon_state));
    return 0;
}

int oracle_op_monitor_disable(struct oracle *o, domid_t d)
{
    struct oracle_dom *od = oracle_dom_find(o, d);
    if (!od || !od->mon_ring)
        return -EINVAL;
    if (od->mon_nwait)
        return -EBUSY;
    od_monitor_w(od)->mon_ring = false;
    od->mon_size = od->mon_nslots = 0;
    od->mon_last_wake = 0;
    memset(od->mon_state, 0, sizeof(od->mon_state));
    return 0;
}

void oracle_op_access_required(struct oracle *o, domid_t d, bool on)
{
    struct oracle_dom *od = oracle_dom_find(o, d);
    if (od)
        od_monitor_w(od)->mon_required = on;
}

int oracle_op_monitor_get(struct oracle *o, domid_t d, struct mem_access_req *out)
{
    struct oracle_dom *od = oracle_dom_find(o, d);
    if (!od || !od->mon_ring)
        return -ENODEV;
    for (unsigned i = 0; i < od->mon_nslots; i++)
        if (!od->mon_slot[i].read) {
            od_monitor_w(od)->mon_slot[i].read = true;
            *out = od->mon_slot[i].req;
            return 0;
        }
    return -ENOENT;
}

int oracle_op_monitor_resume(struct oracle *o, domid_t d,
                             const struct mem_access_req *rsp)
{
    struct oracle_dom *od = oracle_dom_find(o, d);
    if (!od || !od->mon_ring)
        return -ENODEV;
    if (!od->mon_nslots || !od->mon_slot[0].read)
        return -EINVAL;
    od_monitor_w(od);
    memmove(&od->mon_slot[0], &od->mon_slot[1],
            (od->mon_nslots - 1) * sizeof(od->mon_slot[0]));
    od->mon_nslots--;
    unsigned v = rsp->vcpu_id;
    if (v < od->nr_vcpus && v < SIM_MAX_VCPUS && od->vpause[v] &&
        (rsp->flags & VM_EVENT_FLAG_VCPU_PAUSED)) {
        if (--od_paging_w(od)->vpause[v] == 0)
            od->vstate[v] = VCPU_RUNNABLE;
    }
    slot_freed(od);
    return 0;
}

int oracle_monitor_hold(const struct oracle_dom *od, unsigned vcpu)
{
    if (vcpu >= SIM_MAX_VCPUS)
        return OR_OK;
    switch (od->mon_state[vcpu]) {
    case MON_WAIT_SLOT:
        return OR_BLOCKED;
    case MON_BLACK_EYE:
        return OR_PAUSED;
    default:
        return OR_OK;
    }
}

enum oracle_ma oracle_mem_access(struct oracle *o, struct oracle_dom *od,
                                 uint64_t gpa, uint64_t gla, uint64_t qual)
{
    uint64_t g = gpa >> PAGE_SHIFT;
    unsigned a = od_access(od, g), v = o->cur_vcpu;
    bool w = qual & EPTQ_WRITE;

    if (w && a == p2m_access_rx2rw) {
        oracle_split(o, od, g);
        OD_ACCESS_W(od, g) = p2m_access_rw;
        return OMA_FALL;
    }
    if (a == p2m_access_n2rwx) {
        oracle_split(o, od, g);
        OD_ACCESS_W(od, g) = p2m_access_rwx;
    }
    if (!od->mon_ring) {
        if (od->mon_required)
            return OMA_CRASH;
        if (a != p2m_access_n2rwx) {
            oracle_split(o, od, g);
            OD_ACCESS_W(od, g) = p2m_access_rwx;
        }
        return OMA_RETRY;
    }
    struct mem_access_req q;
    memset(&q, 0, sizeof(q));
    q.gfn = g;
    q.offset = (uint32_t)(gpa & 0xfff);
    q.access = a;
    q.vcpu_id = v;
    q.maflags = ((qual & EPTQ_READ) ? MEM_ACCESS_R : 0) |
                (w ? MEM_ACCESS_W : 0) |
                ((qual & EPTQ_FETCH) ? MEM_ACCESS_X : 0);
    if (qual & EPTQ_GLA_VALID) {
        q.gla = gla;
        q.maflags |= MEM_ACCESS_GLA_VALID;
        q.maflags |= (qual & EPTQ_GLA_XLATE) ? MEM_ACCESS_FAULT_WITH_GLA
                                             : MEM_ACCESS_FAULT_IN_GPT;
    }
    bool sync = a != p2m_access_n2rwx;
    if (sync)
        q.flags = VM_EVENT_FLAG_VCPU_PAUSED;
    if (!free_slots(od)) {
        od_monitor_w(od)->mon_state[v] = MON_WAIT_SLOT;
        od->mon_wait_req[v] = q;
        od->mon_waitq[od->mon_nwait++] = v;
        return sync ? OMA_BLOCKED : OMA_FALL;
    }
    enter(od, &q);
    return sync ? OMA_PAUSED : OMA_FALL;
}

/* ---- comparison ------------------------------------------------------------------ */

static void req_text(const struct mem_access_req *q, char *buf, size_t n)
{
    snprintf(buf, n,
             "gfn=%#" PRIx64 " off=%#x gla=%#" PRIx64 " maflags=%#x flags=%#x access=%u vcpu=%u",
             q->gfn, q->offset, q->gla, q->maflags, q->flags, q->access, q->vcpu_id);
}

static const char *mstate_name(unsigned s)
{
    return s == MON_WAIT_SLOT ? "waiting_monitor_slot"
           : s == MON_BLACK_EYE ? "black_eye"
           : s == MON_NONE ? "none" : "?";
}

void oracle_compare_monitor(const struct domain *d, const struct oracle_dom *od,
                            struct oracle_reporter *r)
{
    const struct vm_event_monitor *m = &d->monitor;
    char e[160], a[160];
    if (m->ring_enabled != od->mon_ring)
        oracle_report(r, od->mon_ring ? "on" : "off", m->ring_enabled ? "on" : "off",
                      "d%u.monitor.enabled", od->id);
    if (m->access_required != od->mon_required)
        oracle_report(r, od->mon_required ? "on" : "off",
                      m->access_required ? "on" : "off",
                      "d%u.monitor.access_required", od->id);
    unsigned unread = 0, read = 0;
    for (unsigned i = 0; i < od->mon_nslots; i++) {
        if (od->mon_slot[i].read)
            read++;
        else
            unread++;
    }
    if (m->nreq != unread || m->taken != read) {
        snprintf(e, sizeof e, "%u unread + %u read", unread, read);
        snprintf(a, sizeof a, "%u unread + %u read", m->nreq, m->taken);
        oracle_report(r, e, a, "d%u.monitor.slots", od->id);
    }
    /* The unread requests, in ring order. */
    for (unsigned i = 0; i < m->nreq && i < unread && m->ring_size; i++) {
        const struct mem_access_req *x = &od->mon_slot[read + i].req,
                                    *y = &m->req[(m->req_cons + i) % m->ring_size];
        if (memcmp(x, y, sizeof(*x))) {
            req_text(x, e, sizeof e);
            req_text(y, a, sizeof a);
            oracle_report(r, e, a, "d%u.monitor.req[%u]", od->id, i);
        }
    }
    /* (counted only when some vCPU is black-eyed: this runs at every
     * state check, and nearly always none is; nearly always every vCPU's
     * state is MON_NONE, zero, which one OR of eight words tells and
     * which the vCPU loop below uses too) */
    _Static_assert(MON_NONE == 0, "MON_NONE is the zero byte");
    bool od_none = !oracle_vcpu_any_set(od->mon_state);
    unsigned black = 0;
    for (unsigned v = !od_none && memchr(od->mon_state, MON_BLACK_EYE, SIM_MAX_VCPUS)
                          ? 0 : SIM_MAX_VCPUS;
         v < SIM_MAX_VCPUS; v++)
        black += od->mon_state[v] == MON_BLACK_EYE;
    if (m->blocked != black) {
        snprintf(e, sizeof e, "%u", black);
        snprintf(a, sizeof a, "%u", m->blocked);
        oracle_report(r, e, a, "d%u.monitor.blocked", od->id);
    }
    if (m->nwait != od->mon_nwait) {
        snprintf(e, sizeof e, "%u", od->mon_nwait);
        snprintf(a, sizeof a, "%u", m->nwait);
        oracle_report(r, e, a, "d%u.monitor.waiting_vcpus", od->id);
    }
    for (unsigned i = 0; i < m->nwait && i < od->mon_nwait; i++)
        if (m->waitq[i] != od->mon_waitq[i]) {
            snprintf(e, sizeof e, "v%u", od->mon_waitq[i]);
            snprintf(a, sizeof a, "v%u", m->waitq[i]);
            oracle_report(r, e, a, "d%u.monitor.waitq[%u]", od->id, i);
        }
    /* (the per-vCPU loop only when some state differs or a vCPU waits for
     * a slot: it runs at every state check) */
    _Static_assert(sizeof(m->vstate) == sizeof(od->mon_state), "monitor state arrays");
    _Static_assert((MON_WAIT_SLOT & 1) && !(MON_NONE & 1) && !(MON_BLACK_EYE & 1),
                   "a vCPU waiting for a slot is the odd monitor state");
    /* (equal arrays: m's odd states are od's, none when od_none) */
    bool look = memcmp(m->vstate, od->mon_state, sizeof m->vstate) ||
                (!od_none && oracle_vcpu_any_odd(m->vstate));
    for (unsigned v = look ? 0 : SIM_MAX_VCPUS; v < SIM_MAX_VCPUS; v++) {
        if (m->vstate[v] != od->mon_state[v])
            oracle_report(r, mstate_name(od->mon_state[v]), mstate_name(m->vstate[v]),
                          "d%u.v%u.monitor_state", od->id, v);
        else if (m->vstate[v] == MON_WAIT_SLOT &&
                 memcmp(&m->wait_req[v], &od->mon_wait_req[v], sizeof(m->wait_req[v]))) {
            req_text(&od->mon_wait_req[v], e, sizeof e);
            req_text(&m->wait_req[v], a, sizeof a);
            oracle_report(r, e, a, "d%u.v%u.monitor_wait_req", od->id, v);
        }
    }
}
