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

/* paging.c: frees the log-dirty tree (paging_free_log_dirty_bitmap()). */
void paging_free_log_dirty_bitmap(struct domain *d);

/* mem_paging.c: p2m_mem_paging_drop_page() for guest_remove_page(); t is
 * the type the gfn had. */
void mem_paging_drop_page(struct domain *d, gfn_t gfn, p2m_type_t t);

#endif /* PAGESIM_SIM_INTERNAL_H */
