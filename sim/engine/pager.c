/* SPDX-License-Identifier: MIT */
/*
 * sim/engine/pager.c - the simulated xenpaging; see pager.h.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "pager.h"

/* The saved contents of a page that was all zeros (an unbacked frame, the
 * common case: populated and never written).  Shared by every such gfn
 * instead of a zeroed copy each; prep gets the same 4096 zero bytes. */
static const uint8_t zero_page[PAGE_SIZE];

/* Forget gfn's saved page (the shared zero page is not ours to free). */
static void drop_store(struct pager *p, uint64_t g)
{
    if (p->store[g] != zero_page)
        free(p->store[g]);
    p->store[g] = NULL;
}

struct pager *pager_new(struct domain *d, unsigned mru_size, bool skip_0x80)
{
    /* Everything but the 32 KiB MRU ring (written before it is read)
     * starts zeroed. */
    struct pager *p = malloc(sizeof(*p));
    if (!p)
        return NULL;
    memset(p, 0, offsetof(struct pager, mru));
    p->d = d;
    p->max_gfn = d->max_gfn;
    p->flags = calloc(d->max_gfn, 1);
    p->store = calloc(d->max_gfn, sizeof(*p->store));
    if (!p->flags || !p->store) {
        pager_free(p);
        return NULL;
    }
    p->cursor = d->max_gfn / 2;
    p->skip_0x80 = skip_0x80;
    /* gfn 0 is never paged out, nor 0x80 with skip_0x80 */
    if (d->max_gfn)
        p->flags[0] |= PAGER_NEVER;
    if (skip_0x80 && d->max_gfn > 0x80)
        p->flags[0x80] |= PAGER_NEVER;
    pager_set_mru_size(p, mru_size);
    return p;
}

void pager_free(struct pager *p)
{
    if (!p)
        return;
    if (p->store)
        for (uint64_t g = 0; g < p->max_gfn; g++)
            drop_store(p, g);
    free(p->store);
    free(p->flags);
    free(p);
}

bool pager_is_paged(const struct pager *p, uint64_t g)
{
    return g < p->max_gfn && (p->flags[g] & PAGER_PAGED);
}

static void set_paged(struct pager *p, uint64_t g, bool on)
{
    if (on)
        p->flags[g] |= PAGER_PAGED;
    else
        p->flags[g] &= (uint8_t)~PAGER_PAGED;
}

/* The ring holds gfns below max_gfn only (pager_notify_paged_in()), each
 * at most once, and PAGER_MRU follows it: membership without a ring scan
 * for each of the victim scan's candidates. */
static bool in_mru(const struct pager *p, uint64_t g)
{
    return g < p->max_gfn && (p->flags[g] & PAGER_MRU);
}

/* The oldest entry falls off the ring. */
static void mru_drop_oldest(struct pager *p)
{
    p->flags[p->mru[p->mru_head]] &= (uint8_t)~PAGER_MRU;
    p->mru_head = (p->mru_head + 1) % PAGER_MAX_MRU;
    p->mru_len--;
}

void pager_set_mru_size(struct pager *p, unsigned n)
{
    if (n > PAGER_MAX_MRU)
        n = PAGER_MAX_MRU;
    /* Keep the newest entries. */
    while (p->mru_len > n)
        mru_drop_oldest(p);
    p->mru_size = n;
}

void pager_notify_paged_in(struct pager *p, uint64_t g)
{
    if (g >= p->max_gfn)
        return;
    set_paged(p, g, false);
    drop_store(p, g);
    if (!p->mru_size || in_mru(p, g))
        return;
    if (p->mru_len == p->mru_size)
        mru_drop_oldest(p);
    p->mru[(p->mru_head + p->mru_len) % PAGER_MAX_MRU] = g;
    p->mru_len++;
    p->flags[g] |= PAGER_MRU;
}

uint64_t pager_choose_victim(struct pager *p)
{
    /* Not a candidate: gfn 0 (0x80), paged out, in the MRU list -- any
     * flag set. */
    for (uint64_t n = 0; n < p->max_gfn; n++) {
        uint64_t g = p->cursor;
        p->cursor = g + 1 == p->max_gfn ? 0 : g + 1;
        if (!p->flags[g])
            return g;
    }
    return UINT64_MAX;
}

unsigned pager_evict(struct engine *e, struct pager *p, unsigned n)
{
    struct domain *d = p->d;
    unsigned done = 0;
    /* The candidates skipped below change nothing, so their lookups are
     * one run over an unchanged P2M; it ends at each nominate. */
    struct p2m_run run;
    p2m_run_reset(&run);
    /* Each gfn is tried at most once per call. */
    for (uint64_t tries = 0; done < n && tries < p->max_gfn; tries++) {
        uint64_t g = pager_choose_victim(p);
        if (g == UINT64_MAX)
            break;
        p2m_type_t t;
        mfn_t m = p2m_get_entry_run(d, &run, _gfn(g), &t);
        if (!p2m_is_pageable(t) || !hostmem_mfn_valid(d->host->nr_frames, m))
            continue; /* xenpaging would try and get -EBUSY; skip quietly */
        p2m_run_reset(&run);
        if (eng_nominate(e, d, _gfn(g)))
            continue;
        /* xc_map_foreign_pages + copy out, before evict (a frame without
         * backing reads as zeros: the shared zero page). */
        const uint8_t *src = hostmem_frame_peek(d->host->mem, m);
        uint8_t *buf = (uint8_t *)zero_page;
        if (src) {
            if (!(buf = malloc(PAGE_SIZE)))
                break;
            memcpy(buf, src, PAGE_SIZE);
        }
        if (eng_evict(e, d, _gfn(g))) {
            /* touched since nominate: the request will come */
            if (buf != zero_page)
                free(buf);
            continue;
        }
        drop_store(p, g);
        p->store[g] = buf;
        set_paged(p, g, true);
        p->evicted++;
        done++;
    }
    return done;
}

unsigned pager_serve(struct engine *e, struct pager *p)
{
    struct domain *d = p->d;
    struct vm_event_req r;
    unsigned n = 0;
    while (!eng_get_request(e, d, &r)) {
        n++;
        if (r.gfn >= p->max_gfn)
            continue;
        if (r.pflags & MEM_PAGING_DROP_PAGE) {
            /* The gfn is gone: forget it (seed 002 patch 08/12). */
            set_paged(p, r.gfn, false);
            drop_store(p, r.gfn);
            p->dropped++;
            continue;
        }
        /* Page in: with the saved page if we evicted it, else (evict
         * failed, the frame is still there) without a buffer.  A duplicate
         * request finds the gfn paged in already: prep says -ENOENT. */
        eng_prep(e, d, _gfn(r.gfn), p->store[r.gfn]);
        eng_resume(e, d, &r);
        pager_notify_paged_in(p, r.gfn);
        p->served++;
    }
    return n;
}
