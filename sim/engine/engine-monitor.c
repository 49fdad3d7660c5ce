/* SPDX-License-Identifier: MIT */
/*
 * sim/engine/engine-monitor.c - the engine's steps for the mem_access
 * listener: the monitor vm_event ring and access_required.
 *
 * Same four beats as engine-paging.c: the sim core acts (sim/monitor.c),
 * the oracle mirrors (oracle/monitor.c), rc and then the whole state are
 * compared (ring slots, requests, which vCPUs are paused, asleep or
 * black-eyed), the step is recorded and digested.
 */
#include <inttypes.h>
#include <string.h>

#include "engine.h"

void eng_monitor_req_text(const struct mem_access_req *q, char *buf, size_t n)
{
    snprintf(buf, n,
             "gfn=%#" PRIx64 " off=%#x gla=%#" PRIx64 " maflags=%#x flags=%#x "
             "access=%s vcpu=%u",
             q->gfn, q->offset, q->gla, q->maflags, q->flags,
             p2m_access_name((p2m_access_t)q->access), q->vcpu_id);
}

int eng_monitor_enable(struct engine *e, struct domain *d)
{
    int rc = vm_event_monitor_enable(d);
    /* The slot count is the interface's (request size), not behaviour. */
    int erc = oracle_op_monitor_enable(e->oracle, d->id, d->monitor.ring_size);
    char x[32];
    snprintf(x, sizeof x, "slots=%u", d->monitor.ring_size);
    eng_cover(e, "monitor", "enable:rc=%d", rc);
    eng_step_rc(e, "monitor_enable", d, x, erc, rc);
    return rc;
}

int eng_monitor_disable(struct engine *e, struct domain *d)
{
    int rc = vm_event_monitor_disable(d);
    int erc = oracle_op_monitor_disable(e->oracle, d->id);
    eng_cover(e, "monitor", "disable:rc=%d", rc);
    eng_step_rc(e, "monitor_disable", d, "", erc, rc);
    return rc;
}

void eng_access_required(struct engine *e, struct domain *d, bool on)
{
    p2m_set_access_required(d, on);
    oracle_op_access_required(e->oracle, d->id, on);
    eng_step_rc(e, "set_access_required", d, on ? "on" : "off", 0, 0);
}

int eng_monitor_get(struct engine *e, struct domain *d, struct mem_access_req *out)
{
    struct mem_access_req x;
    memset(out, 0, sizeof(*out));
    memset(&x, 0, sizeof(x));
    int rc = vm_event_monitor_get(d, out);
    int erc = oracle_op_monitor_get(e->oracle, d->id, &x);
    char args[32], res[200];
    snprintf(args, sizeof args, "d=%u", d->id);
    if (rc) {
        snprintf(res, sizeof res, "rc=%d", rc);
    } else {
        int n = snprintf(res, sizeof res, "rc=0 ");
        eng_monitor_req_text(out, res + n, sizeof res - (size_t)n);
    }
    eng_record(e, "monitor_get", args, res);
    eng_check_rc(e, "monitor_get", erc, rc);
    if (!rc && !erc && memcmp(out, &x, sizeof(x))) {
        char a[160], b[160];
        eng_monitor_req_text(&x, a, sizeof a);
        eng_monitor_req_text(out, b, sizeof b);
        eng_divergence(e, "monitor_get.req", a, b);
    }
    eng_check_state(e);
    return rc;
}

int eng_monitor_resume(struct engine *e, struct domain *d,
                       const struct mem_access_req *rsp)
{
    int rc = vm_event_monitor_resume(d, rsp);
    int erc = oracle_op_monitor_resume(e->oracle, d->id, rsp);
    eng_cover(e, "monitor", "respond:%s:rc=%d",
              rsp->flags & VM_EVENT_FLAG_VCPU_PAUSED ? "paused" : "async", rc);
    char x[160];
    eng_monitor_req_text(rsp, x, sizeof x);
    eng_step_rc(e, "monitor_respond", d, x, erc, rc);
    return rc;
}
