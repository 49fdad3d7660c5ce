/* SPDX-License-Identifier: MIT */
/*
 * sim/sim-internal.h - helpers shared between the files of sim/ only.
 *
 * Nothing outside sim/ includes this; the public interface is
 * include/pagesim/sim.h.  Each helper names the file that defines it.
 */
#ifndef PAGESIM_SIM_INTERNAL_H
#define PAGESIM_SIM_INTERNAL_H

#include "pagesim/sim.h"

/* Xen's default p2m->default_access: no mem_access restrictions. */
#define P2M_DEFAULT_ACCESS p2m_access_rwx

/* EPT geometry: 4 levels of 512 entries, 4 KiB leaves only; gpa < 2^48. */
#define EPT_LEVELS 4
#define EPT_ENTRIES 512
#define EPT_GFN_BITS 36

/* heap.c: the domain with id 'id', or NULL (DOMID_INVALID, empty slot). */
struct domain *heap_domain(const struct host *h, domid_t id);

/* p2m-ept.c: frees every EPT table of d (root included) and, before that,
 * every guest frame its leaves map that d owns.  p2m_domain_teardown(). */
void ept_teardown(struct domain *d);
/* p2m-ept.c: rewrite every valid leaf of type ot as nt, mfn and access
 * kept, as ept_change_entry_type_global() + resolve_misconfig() do in two
 * steps. */
void ept_change_type_global(struct domain *d, p2m_type_t ot, p2m_type_t nt);

/*
 * The P2M backend: Xen's p2m->set_entry / get_entry /
 * change_entry_type_global and p2m_teardown's table walk, filled in by
 * ept_p2m_init() (p2m-ept.c) or p2m_pt_init() (p2m-pt.c).  Everything
 * above (p2m.c, p2m-pod.c, mem_paging.c, paging.c, hvm.c) goes through
 * p2m_set_entry_order() / p2m_get_entry_order() / the two calls below,
 * which dispatch on d->npt.
 */
struct p2m_backend {
    const char *name;
    int (*set_entry)(struct domain *d, gfn_t gfn, mfn_t mfn, unsigned order,
                     p2m_type_t t, p2m_access_t a);
    mfn_t (*get_entry)(const struct domain *d, gfn_t gfn, p2m_type_t *t,
                       p2m_access_t *a, unsigned *order);
    void (*change_type_global)(struct domain *d, p2m_type_t ot, p2m_type_t nt);
    void (*teardown)(struct domain *d);
};
extern const struct p2m_backend p2m_ept_backend; /* p2m-ept.c */
extern const struct p2m_backend p2m_pt_backend;  /* p2m-pt.c */
/* p2m-ept.c: p2m_get_entry_run() for an EPT domain. */
mfn_t ept_get_entry_run(const struct domain *d, struct p2m_run *r, gfn_t gfn,
                        p2m_type_t *t);
#define P2M_BACKEND(d) ((d)->npt ? &p2m_pt_backend : &p2m_ept_backend)

/* paging.c: frees the log-dirty tree (paging_free_log_dirty_bitmap()). */
void paging_free_log_dirty_bitmap(struct domain *d);

/* mem_paging.c: p2m_mem_paging_drop_page() for guest_remove_page(); t is
 * the type the gfn had. */
void mem_paging_drop_page(struct domain *d, gfn_t gfn, p2m_type_t t);

#endif /* PAGESIM_SIM_INTERNAL_H */
