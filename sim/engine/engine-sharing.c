/* SPDX-License-Identifier: MIT */
/*
 * sim/engine/engine-sharing.c - the engine's memory sharing steps.
 *
 * Same four beats as engine.c: the sim core acts (sim/mem_sharing.c), the
 * oracle mirrors (oracle/sharing.c), rc (and the handle) and then the
 * whole state are compared, the step is recorded and digested.
 */
#include <inttypes.h>
#include <string.h>

#include "engine.h"

void eng_alloc_hint(struct engine *e, const struct domain *d)
{
    const struct host *h = e->host;
    uint64_t f[8];
    uint64_t top = h->nr_free;
    /* heap_alloc_page(): attempt number alloc_attempts + k fails when it
     * is fail_at or the domain is in fail_domains, else pops the top of
     * the free stack (LIFO). */
    const bool dom_fails = d->id < 32 && (h->fail_domains >> d->id & 1);
    const uint64_t first = h->alloc_attempts + 1, fail_at = h->fail_at;
    const uint64_t *stack = h->free_stack;
    for (unsigned k = 0; k < 8; k++) {
        bool fail = dom_fails || first + k == fail_at || !top;
        f[k] = fail ? UINT64_MAX : stack[--top];
    }
    oracle_note_alloc_hint(e->oracle, f, 8);
}

/* The P2M type of gfn for the domain coverage. */
static const char *stype(const struct domain *d, gfn_t gfn)
{
    p2m_type_t t;
    if (gfn_x(gfn) >= d->max_gfn)
        return "out_of_range";
    p2m_get_entry(d, gfn, &t, NULL);
    return p2m_type_name(t);
}

int eng_sharing_control(struct engine *e, struct domain *d, bool enable)
{
    int rc = mem_sharing_control(d, enable);
    int erc = oracle_op_sharing_control(e->oracle, d->id, enable);
    eng_step_rc(e, "sharing_control", d, enable ? "enable=1" : "enable=0", erc, rc);
    return rc;
}

int eng_share_nominate(struct engine *e, struct domain *d, gfn_t gfn,
                       uint64_t *handle)
{
    uint64_t xh = 0;
    const char *before = stype(d, gfn);
    struct eng_p2m_note nm = eng_p2m_nomem_begin(e, d);
    int rc = mem_sharing_nominate(d, gfn, handle);
    eng_p2m_nomem_end(e, nm, rc);
    eng_cover(e, "sharing", "nominate:%s:rc=%d", before, rc);
    int erc = oracle_op_share_nominate(e->oracle, d->id, gfn, e->host->mem, &xh);
    eng_p2m_nomem_reset(e);
    char args[64], res[64];
    snprintf(args, sizeof args, "d=%u gfn=%#" PRIx64, d->id, gfn_x(gfn));
    snprintf(res, sizeof res, "rc=%d handle=%#" PRIx64, rc, *handle);
    eng_record(e, "share_nominate", args, res);
    eng_check_rc(e, "share_nominate", erc, rc);
    if (!rc && !erc && xh != *handle) {
        char a[24], b[24];
        snprintf(a, sizeof a, "%#" PRIx64, xh);
        snprintf(b, sizeof b, "%#" PRIx64, *handle);
        eng_divergence(e, "share_nominate.handle", a, b);
    }
    eng_check_state(e);
    return rc;
}

int eng_share(struct engine *e, struct domain *sd, gfn_t sgfn, uint64_t sh,
              struct domain *cd, gfn_t cgfn, uint64_t ch)
{
    const char *before = stype(cd, cgfn);
    int rc = mem_sharing_share(sd, sgfn, sh, cd, cgfn, ch);
    eng_cover(e, "sharing", "share:%s:rc=%d", before, rc);
    int erc = oracle_op_share(e->oracle, sd->id, sgfn, sh, cd->id, cgfn, ch);
    char x[128];
    snprintf(x, sizeof x, "sgfn=%#" PRIx64 " sh=%#" PRIx64 " cd=%u cgfn=%#" PRIx64
             " ch=%#" PRIx64, gfn_x(sgfn), sh, cd->id, gfn_x(cgfn), ch);
    eng_step_rc(e, "share", sd, x, erc, rc);
    return rc;
}

int eng_share_add_physmap(struct engine *e, struct domain *sd, gfn_t sgfn,
                          uint64_t sh, struct domain *cd, gfn_t cgfn)
{
    const char *before = stype(cd, cgfn);
    struct eng_p2m_note nm = eng_p2m_nomem_begin(e, cd);
    int rc = mem_sharing_add_to_physmap(sd, sgfn, sh, cd, cgfn);
    eng_p2m_nomem_end(e, nm, rc);
    eng_cover(e, "sharing", "add_physmap:%s:rc=%d", before, rc);
    int erc = oracle_op_share_add_physmap(e->oracle, sd->id, sgfn, sh, cd->id, cgfn);
    eng_p2m_nomem_reset(e);
    char x[128];
    snprintf(x, sizeof x, "sgfn=%#" PRIx64 " sh=%#" PRIx64 " cd=%u cgfn=%#" PRIx64,
             gfn_x(sgfn), sh, cd->id, gfn_x(cgfn));
    eng_step_rc(e, "share_add_physmap", sd, x, erc, rc);
    return rc;
}
