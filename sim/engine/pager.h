/* SPDX-License-Identifier: MIT */
/*
 * sim/engine/pager.h - a simulated xenpaging (tools/xenpaging, seed 002).
 *
 * The pager is tool stack, not hypervisor: it drives the hypervisor only
 * through engine operations (eng_nominate, eng_evict, eng_get_request,
 * eng_prep, eng_resume), so every step it takes is mirrored and checked by
 * the oracle like a scenario's own.
 *
 * Policy (xenpaging policy_default.c): a bitmap of gfns the pager has
 * paged out; an MRU list of recently paged-in gfns that are not chosen
 * again, its size set at run time (seed 002 patch 02/12); gfn 0 is never
 * paged out; gfn 0x80 optionally not either (seed 002 patch 09/12, never
 * applied upstream); the victim scan starts at max_pages / 2 (upstream
 * 46a3d35ca3) and wraps.
 */
#ifndef PAGESIM_PAGER_H
#define PAGESIM_PAGER_H

#include "engine.h"

#define PAGER_MAX_MRU 4096

/* struct pager's flags[] per gfn; a gfn with none is a victim candidate. */
#define PAGER_PAGED 1u  /* paged out by us (the policy's bitmap) */
#define PAGER_MRU 2u    /* in the MRU ring mru[] */
#define PAGER_NEVER 4u  /* gfn 0, or 0x80 with skip_0x80 */

struct pager {
    struct domain *d;
    uint64_t max_gfn;
    uint8_t *flags;        /* [max_gfn]: PAGER_* below */
    uint8_t **store;       /* [max_gfn]: saved contents of paged-out gfns */
    uint64_t cursor;       /* next gfn the victim scan looks at */
    bool skip_0x80;
    unsigned mru_size, mru_len, mru_head;
    uint64_t evicted, served, dropped; /* lifetime counters */
    /* Ring of recently paged-in gfns: only [mru_head, +mru_len) is ever
     * read, so it is last and not zeroed by pager_new(). */
    uint64_t mru[PAGER_MAX_MRU];
};

struct pager *pager_new(struct domain *d, unsigned mru_size, bool skip_0x80);
void pager_free(struct pager *p);
/* policy_choose_victim(): the next candidate gfn after the cursor, or
 * UINT64_MAX when none is left; candidates are not gfn 0 (nor 0x80 with
 * skip_0x80), not paged out, not in the MRU list.  Pure policy. */
uint64_t pager_choose_victim(struct pager *p);
/* policy_notify_paged_in(): forget the saved page, remember in the MRU. */
void pager_notify_paged_in(struct pager *p, uint64_t gfn);
/* Resizes the MRU list (at most PAGER_MAX_MRU); older entries fall off. */
void pager_set_mru_size(struct pager *p, unsigned n);
bool pager_is_paged(const struct pager *p, uint64_t gfn);

/* Evict up to n pages: read, nominate, evict each victim.  Returns the
 * number evicted. */
unsigned pager_evict(struct engine *e, struct pager *p, unsigned n);
/* Serve every request on the ring: drop notices forget the gfn; page-in
 * requests get prep (with the saved page if we evicted it) and a resume.
 * Returns the number of requests handled. */
unsigned pager_serve(struct engine *e, struct pager *p);

#endif /* PAGESIM_PAGER_H */
