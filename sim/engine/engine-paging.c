/* SPDX-License-Identifier: MIT */
/*
 * sim/engine/engine-paging.c - the engine's mem paging and vm_event steps.
 *
 * Same four beats as engine.c: the sim core acts (sim/mem_paging.c), the
 * oracle mirrors (oracle/paging.c), rc and then the whole state are
 * compared, the step is recorded and digested.
 */
#include <inttypes.h>
#include <string.h>

#include "engine.h"
#include "fmt.h"

/* snprintf(buf, n, "gfn=%#" PRIx64, gfn) without the printf machinery:
 * every paging step formats one. */
static void gfn_arg(char *buf, size_t n, gfn_t gfn)
{
    char t[32];
    put_finish(buf, n, t, put_hex(put_str(t, "gfn="), gfn_x(gfn)));
}

/* The P2M type of gfn as the domain coverage names it ("out_of_range"
 * beyond max_gfn, as engine.c's type_at()). */
static const char *ptype(const struct domain *d, gfn_t gfn)
{
    p2m_type_t t;
    if (gfn_x(gfn) >= d->max_gfn)
        return "out_of_range";
    p2m_get_entry(d, gfn, &t, NULL);
    return p2m_type_name(t);
}

/* Domain coverage of a mem-paging operation: (paging state before ->
 * after) or (state before, error), kind "paging"; e.g.
 * "nominate:ram_rw->ram_paging_out", "evict:ram_rw:rc=-16". */
static void cover_paging(struct engine *e, const char *op, const char *before,
                         const struct domain *d, gfn_t gfn, int rc)
{
    if (!eng_covering(e))
        return; /* before is NULL then; ptype() is a P2M walk */
    if (rc)
        eng_cover(e, "paging", "%s:%s:rc=%d", op, before, rc);
    else
        eng_cover(e, "paging", "%s:%s->%s", op, before, ptype(d, gfn));
}

int eng_paging_enable(struct engine *e, struct domain *d)
{
    int rc = vm_event_paging_enable(d);
    /* The slot count is the interface's (request size), not behaviour. */
    int erc = oracle_op_paging_enable(e->oracle, d->id, d->paging.ring_size);
    char x[32];
    snprintf(x, sizeof x, "slots=%u", d->paging.ring_size);
    eng_step_rc(e, "paging_enable", d, x, erc, rc);
    return rc;
}

int eng_paging_disable(struct engine *e, struct domain *d)
{
    int rc = vm_event_paging_disable(d);
    int erc = oracle_op_paging_disable(e->oracle, d->id);
    eng_step_rc(e, "paging_disable", d, "", erc, rc);
    return rc;
}

int eng_nominate(struct engine *e, struct domain *d, gfn_t gfn)
{
    const char *before = eng_covering(e) ? ptype(d, gfn) : NULL;
    struct eng_p2m_note nm = eng_p2m_nomem_begin(e, d);
    int rc = mem_paging_nominate(d, gfn);
    eng_p2m_nomem_end(e, nm, rc);
    cover_paging(e, "nominate", before, d, gfn, rc);
    int erc = oracle_op_nominate(e->oracle, d->id, gfn);
    eng_p2m_nomem_reset(e);
    char x[48];
    gfn_arg(x, sizeof x, gfn);
    eng_step_rc(e, "nominate", d, x, erc, rc);
    return rc;
}

int eng_evict(struct engine *e, struct domain *d, gfn_t gfn)
{
    const char *before = eng_covering(e) ? ptype(d, gfn) : NULL;
    struct eng_p2m_note nm = eng_p2m_nomem_begin(e, d);
    int rc = mem_paging_evict(d, gfn);
    eng_p2m_nomem_end(e, nm, rc);
    cover_paging(e, "evict", before, d, gfn, rc);
    int erc = oracle_op_evict(e->oracle, d->id, gfn);
    eng_p2m_nomem_reset(e);
    char x[48];
    gfn_arg(x, sizeof x, gfn);
    eng_step_rc(e, "evict", d, x, erc, rc);
    return rc;
}

int eng_prep(struct engine *e, struct domain *d, gfn_t gfn, const void *buf)
{
    const char *before = eng_covering(e) ? ptype(d, gfn) : NULL;
    int rc = mem_paging_prep(d, gfn, buf);
    cover_paging(e, "prep", before, d, gfn, rc);
    mfn_t m = INVALID_MFN;
    if (!rc)
        m = p2m_get_entry(d, gfn, NULL, NULL);
    int erc = oracle_op_prep(e->oracle, d->id, gfn, buf != NULL, m,
                             rc == -ENOMEM);
    char x[64]; /* "gfn=%#" PRIx64 " buffer=%s" (fmt.h) */
    *put_str(put_hex(put_str(x, "gfn="), gfn_x(gfn)), buf ? " buffer=yes" : " buffer=no") = 0;
    eng_step_rc(e, "prep", d, x, erc, rc);
    return rc;
}

/* snprintf(buf, n, "gfn=%#" PRIx64 " p2mt=%s pflags=%#x flags=%#x vcpu=%d",
 * ...) through fmt.h (every paging request is formatted twice). */
static void req_text(const struct vm_event_req *r, char *buf, size_t n)
{
    char t[128];
    char *o = put_hex(put_str(t, "gfn="), r->gfn);
    o = put_str(put_str(o, " p2mt="), p2m_type_name((p2m_type_t)r->p2mt));
    o = put_hex(put_str(o, " pflags="), r->pflags);
    o = put_hex(put_str(o, " flags="), r->flags);
    o = put_int(put_str(o, " vcpu="),
                r->vcpu_id == VM_EVENT_NO_VCPU ? -1 : (int)r->vcpu_id);
    put_finish(buf, n, t, o);
}

int eng_get_request(struct engine *e, struct domain *d, struct vm_event_req *out)
{
    struct vm_event_req x;
    memset(out, 0, sizeof(*out));
    memset(&x, 0, sizeof(x));
    int rc = vm_event_get_request(d, out);
    int erc = oracle_op_get_request(e->oracle, d->id, &x);
    char args[32], res[160]; /* "d=%u"; "rc=%d" or "rc=0 " and the request */
    *put_dec(put_str(args, "d="), d->id, false) = 0;
    if (rc)
        *put_int(put_str(res, "rc="), rc) = 0;
    else
        req_text(out, put_str(res, "rc=0 "), sizeof res - 5);
    eng_record(e, "get_request", args, res);
    eng_check_rc(e, "get_request", erc, rc);
    if (!rc && !erc && memcmp(out, &x, sizeof(x))) {
        char a[128], b[128];
        req_text(&x, a, sizeof a);
        req_text(out, b, sizeof b);
        eng_divergence(e, "get_request.req", a, b);
    }
    eng_check_state(e);
    return rc;
}

int eng_resume(struct engine *e, struct domain *d, const struct vm_event_req *rsp)
{
    const char *before = eng_covering(e) ? ptype(d, _gfn(rsp->gfn)) : NULL;
    int rc = vm_event_resume(d, rsp);
    cover_paging(e, "resume", before, d, _gfn(rsp->gfn), rc);
    int erc = oracle_op_resume(e->oracle, d->id, rsp);
    char x[128];
    req_text(rsp, x, sizeof x);
    eng_step_rc(e, "resume", d, x, erc, rc);
    return rc;
}

int eng_foreign_map(struct engine *e, struct domain *d, gfn_t gfn, mfn_t *mfn)
{
    *mfn = INVALID_MFN;
    const char *before = eng_covering(e) ? ptype(d, gfn) : NULL;
    int rc = foreign_map_gfn(d, gfn, mfn);
    cover_paging(e, "foreign_map", before, d, gfn, rc);
    int erc = oracle_op_foreign_map(e->oracle, d->id, gfn);
    char x[48];
    gfn_arg(x, sizeof x, gfn);
    eng_step_rc(e, "foreign_map", d, x, erc, rc);
    return rc;
}

int eng_foreign_unmap(struct engine *e, struct domain *d, mfn_t mfn)
{
    int rc = foreign_unmap(d, mfn);
    int erc = oracle_op_foreign_unmap(e->oracle, d->id, mfn);
    char x[48];
    *put_hex(put_str(x, "mfn="), mfn_x(mfn)) = 0; /* "mfn=%#" PRIx64 */
    eng_step_rc(e, "foreign_unmap", d, x, erc, rc);
    return rc;
}

int eng_set_mem_type(struct engine *e, struct domain *d, gfn_t gfn, p2m_type_t t)
{
    struct eng_p2m_note nm = eng_p2m_nomem_begin(e, d);
    int rc = hvm_set_mem_type(d, gfn, t);
    eng_p2m_nomem_end(e, nm, rc);
    int erc = oracle_op_set_mem_type(e->oracle, d->id, gfn, t);
    eng_p2m_nomem_reset(e);
    char x[64]; /* "gfn=%#" PRIx64 " type=%s" */
    *put_str(put_str(put_hex(put_str(x, "gfn="), gfn_x(gfn)), " type="), p2m_type_name(t)) = 0;
    eng_step_rc(e, "set_mem_type", d, x, erc, rc);
    return rc;
}
