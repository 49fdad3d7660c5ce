/* SPDX-License-Identifier: MIT */
/*
 * sim/engine/engine-p2m.c - the engine's steps for P2M superpages and
 * access types (issue 3, P2M half).
 *
 * Same four beats as engine.c: the sim core acts (sim/p2m.c,
 * sim/p2m-ept.c), the oracle mirrors (oracle/flat.c), rc and then the
 * whole state are compared, the step is recorded and digested.
 *
 * Allocation failures are the sim's (fault injection or an empty heap);
 * eng_p2m_nomem_begin/end tell the oracle whether one happened during the
 * operation, so that it can predict what a failed superpage split leaves.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "fmt.h"

struct eng_p2m_note eng_p2m_nomem_begin(struct engine *e, const struct domain *d)
{
    return (struct eng_p2m_note){ e->host->injected_failures, d->p2m_fail_in, d };
}

void eng_p2m_nomem_end(struct engine *e, struct eng_p2m_note before, int rc)
{
    oracle_note_nomem(e->oracle,
                      rc == -ENOMEM || e->host->injected_failures != before.injected);
    /* The injected P2M failure fired in this operation. */
    oracle_note_p2m_fail(e->oracle, before.fail_in == 1 && before.d->p2m_fail_in == 0);
}

void eng_p2m_nomem_reset(struct engine *e)
{
    oracle_note_nomem(e->oracle, false);
}

int eng_populate_extent(struct engine *e, struct domain *d, gfn_t gfn,
                        unsigned order, mfn_t *out)
{
    if (order == 0)
        return eng_populate(e, d, gfn, out);
    mfn_t m = INVALID_MFN;
    int rc = guest_populate_extent(d, gfn, order, &m);
    eng_cover(e, "p2m", rc ? "populate_order%u:rc=%d" : "populate_order%u:ok",
              order, rc);
    int erc = oracle_op_populate_extent(e->oracle, d->id, gfn, order,
                                        rc ? INVALID_MFN : m, rc == -ENOMEM);
    char x[80];
    snprintf(x, sizeof x, "gfn=%#" PRIx64 " order=%u mfn=%#" PRIx64,
             gfn_x(gfn), order, rc ? UINT64_MAX : mfn_x(m));
    eng_step_rc(e, "populate_extent", d, x, erc, rc);
    if (out)
        *out = rc ? INVALID_MFN : m;
    return rc;
}

int eng_set_access(struct engine *e, struct domain *d, gfn_t gfn,
                   p2m_access_t a)
{
    unsigned order = 0;
    if (gfn_x(gfn) < d->max_gfn && eng_covering(e)) /* for the coverage key */
        p2m_get_entry_order(d, gfn, NULL, NULL, &order);
    struct eng_p2m_note nm = eng_p2m_nomem_begin(e, d);
    int rc = p2m_set_mem_access(d, gfn, a);
    eng_p2m_nomem_end(e, nm, rc);
    eng_cover(e, "p2m", "set_access:%s:order%u:rc=%d", p2m_access_name(a),
              order, rc);
    int erc = oracle_op_set_access(e->oracle, d->id, gfn, a);
    eng_p2m_nomem_reset(e);
    char x[64]; /* "gfn=%#" PRIx64 " access=%s" */
    *put_str(put_str(put_hex(put_str(x, "gfn="), gfn_x(gfn)), " access="),
             p2m_access_name(a)) = 0;
    eng_step_rc(e, "set_access", d, x, erc, rc);
    return rc;
}

int eng_set_mmio(struct engine *e, struct domain *d, gfn_t gfn, mfn_t mfn,
                 p2m_access_t a)
{
    const char *before = gfn_x(gfn) < d->max_gfn ? NULL : "out_of_range";
    p2m_type_t bt = p2m_mmio_dm;
    if (!before)
        p2m_get_entry(d, gfn, &bt, NULL);
    struct eng_p2m_note nm = eng_p2m_nomem_begin(e, d);
    eng_alloc_hint(e, d); /* a shared gfn is unshared first, as for set_type */
    int rc = p2m_set_mmio(d, gfn, mfn, a);
    eng_p2m_nomem_end(e, nm, rc);
    eng_cover(e, "p2m", "set_mmio:%s->%s", before ? before : p2m_type_name(bt),
              rc ? "error" : "mmio_direct");
    int erc = oracle_op_set_mmio(e->oracle, d->id, gfn, mfn, a);
    eng_p2m_nomem_reset(e);
    char x[96]; /* "gfn=%#" PRIx64 " mfn=%#" PRIx64 " access=%s" */
    *put_str(put_str(put_hex(put_str(put_hex(put_str(x, "gfn="), gfn_x(gfn)), " mfn="),
                             mfn_x(mfn)), " access="), p2m_access_name(a)) = 0;
    eng_step_rc(e, "set_mmio", d, x, erc, rc);
    return rc;
}

int eng_clear_mmio(struct engine *e, struct domain *d, gfn_t gfn, mfn_t mfn)
{
    struct eng_p2m_note nm = eng_p2m_nomem_begin(e, d);
    bool mismatch = false;
    int rc = p2m_clear_mmio(d, gfn, mfn, &mismatch);
    eng_p2m_nomem_end(e, nm, rc);
    eng_cover(e, "p2m", "clear_mmio:rc=%d", rc);
    int erc = oracle_op_clear_mmio(e->oracle, d->id, gfn);
    eng_p2m_nomem_reset(e);
    char x[96];
    /* Xen only warns when the caller names another frame than the entry's. */
    /* "gfn=%#" PRIx64 " mfn=%#" PRIx64 "%s" */
    *put_str(put_hex(put_str(put_hex(put_str(x, "gfn="), gfn_x(gfn)), " mfn="), mfn_x(mfn)),
             mismatch ? " (warning: not the entry's frame)" : "") = 0;
    eng_step_rc(e, "clear_mmio", d, x, erc, rc);
    return rc;
}

int eng_add_foreign(struct engine *e, struct domain *td, gfn_t gfn,
                    struct domain *fd, gfn_t fgfn)
{
    struct eng_p2m_note nm = eng_p2m_nomem_begin(e, td);
    int rc = p2m_add_foreign(td, gfn, fd, fgfn);
    eng_p2m_nomem_end(e, nm, rc);
    eng_cover(e, "p2m", "add_foreign:rc=%d", rc);
    int erc = oracle_op_add_foreign(e->oracle, td->id, gfn, fd->id, fgfn);
    eng_p2m_nomem_reset(e);
    char x[80];
    snprintf(x, sizeof x, "gfn=%#" PRIx64 " fd=%u fgfn=%#" PRIx64, gfn_x(gfn),
             fd->id, gfn_x(fgfn));
    eng_step_rc(e, "add_foreign", td, x, erc, rc);
    return rc;
}

int eng_grant_map(struct engine *e, struct domain *d, gfn_t gfn,
                  struct domain *gd, gfn_t ggfn, bool readonly)
{
    struct eng_p2m_note nm = eng_p2m_nomem_begin(e, d);
    int rc = p2m_grant_map(d, gfn, gd, ggfn, readonly);
    eng_p2m_nomem_end(e, nm, rc);
    eng_cover(e, "p2m", "grant_map_%s:rc=%d", readonly ? "ro" : "rw", rc);
    int erc = oracle_op_grant_map(e->oracle, d->id, gfn, gd->id, ggfn, readonly);
    eng_p2m_nomem_reset(e);
    char x[96];
    snprintf(x, sizeof x, "gfn=%#" PRIx64 " gd=%u ggfn=%#" PRIx64 " %s",
             gfn_x(gfn), gd->id, gfn_x(ggfn), readonly ? "ro" : "rw");
    eng_step_rc(e, "grant_map", d, x, erc, rc);
    return rc;
}

int eng_grant_unmap(struct engine *e, struct domain *d, gfn_t gfn)
{
    struct eng_p2m_note nm = eng_p2m_nomem_begin(e, d);
    int rc = p2m_grant_unmap(d, gfn);
    eng_p2m_nomem_end(e, nm, rc);
    eng_cover(e, "p2m", "grant_unmap:rc=%d", rc);
    int erc = oracle_op_grant_unmap(e->oracle, d->id, gfn);
    eng_p2m_nomem_reset(e);
    char x[48];
    snprintf(x, sizeof x, "gfn=%#" PRIx64, gfn_x(gfn));
    eng_step_rc(e, "grant_unmap", d, x, erc, rc);
    return rc;
}

int eng_pod_target(struct engine *e, struct domain *d, uint64_t pages)
{
    uint64_t before = d->pod.count;
    int rc = p2m_pod_set_target(d, pages);
    /* The frames the sim appended, in order (the allocator's choice). */
    uint64_t nadded = d->pod.count > before ? d->pod.count - before : 0;
    uint64_t added[64], *ap = nadded <= 64 ? added : malloc(nadded * sizeof(*ap));
    if (!ap)
        nadded = 0, ap = added;
    for (uint64_t i = 0; i < nadded; i++)
        ap[i] = mfn_x(p2m_pod_cache_at(d, before + i));
    eng_cover(e, "p2m", "pod_target:rc=%d", rc);
    int erc = oracle_op_pod_target(e->oracle, d->id, pages, ap, nadded,
                                   rc == -ENOMEM);
    if (ap != added)
        free(ap);
    char x[64];
    /* "pages=%#" PRIx64 " cache=%#" PRIx64 */
    *put_hex(put_str(put_hex(put_str(x, "pages="), pages), " cache="), d->pod.count) = 0;
    eng_step_rc(e, "pod_target", d, x, erc, rc);
    return rc;
}

int eng_pod_mark(struct engine *e, struct domain *d, gfn_t gfn)
{
    struct eng_p2m_note nm = eng_p2m_nomem_begin(e, d);
    int rc = p2m_pod_mark(d, gfn);
    eng_p2m_nomem_end(e, nm, rc);
    eng_cover(e, "p2m", "populate_pod:rc=%d", rc);
    int erc = oracle_op_pod_mark(e->oracle, d->id, gfn);
    eng_p2m_nomem_reset(e);
    char x[48];
    *put_hex(put_str(x, "gfn="), gfn_x(gfn)) = 0; /* "gfn=%#" PRIx64 */
    eng_step_rc(e, "populate_pod", d, x, erc, rc);
    return rc;
}

int eng_ioreq_server(struct engine *e, struct domain *d, unsigned server,
                     uint32_t flags)
{
    int rc = hvm_map_ioreq_server(d, server, flags);
    eng_cover(e, "p2m", "ioreq_server_%s:rc=%d", flags ? "map" : "unmap", rc);
    int erc = oracle_op_ioreq_server(e->oracle, d->id, server, flags);
    char x[48];
    /* server 0 with the write flag / 0 keeps the older records' text */
    if (server == 0 && (flags == 0 || flags == XEN_DMOP_IOREQ_MEM_ACCESS_WRITE))
        snprintf(x, sizeof x, "%s", flags ? "flags=write" : "flags=0");
    else
        snprintf(x, sizeof x, "server=%u flags=%#x", server, flags);
    eng_step_rc(e, "map_ioreq_server", d, x, erc, rc);
    return rc;
}
