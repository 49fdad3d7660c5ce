/* SPDX-License-Identifier: MIT */
/*
 * sim/heap.c - host frames: the domain heap, page_info and the M2P.
 *
 * Models xen/common/page_alloc.c (alloc_domheap_pages(), free_domheap_pages(),
 * mark_page_free()), and the M2P accessors of
 * xen/arch/x86/include/asm/mm.h (set_gpfn_from_mfn(), get_gpfn_from_mfn()).
 *
 * The free list is a stack of mfns.  Allocation pops the top, freeing pushes,
 * so the most recently freed frame is the next one handed out (LIFO).  That
 * makes runs deterministic and makes frame reuse happen as early as
 * possible, which is what exposes stale-M2P bugs such as the one fixed by
 * seed 002 patch 06/12.  A fresh host hands out mfn 0, 1, 2, ... in order.
 *
 * Higher orders (alloc_domheap_pages(order > 0)): Xen's buddy allocator
 * hands out naturally aligned blocks of 2^order frames and fails when no
 * such block is free, however many single frames are.  Here the block is
 * found by first fit over aligned blocks, lowest mfn first (page_info says
 * which frames are free; deterministic), and its frames are taken out of
 * the free stack in one pass that keeps the order of the others, so the
 * LIFO reuse of order-0 frames is unchanged.  Freeing a block pushes its
 * frames highest first, so its lowest frame is reused first.  There are no
 * per-order free lists: higher-order requests are rare here (the flat
 * log-dirty bitmap of the pre-2007 design) and a scan is simple to trust.
 * heap_fragment() breaks the heap on purpose, so that scenarios can show an
 * order > 0 request failing while order-0 requests still succeed.
 *
 * Invariants:
 *   (1) a frame is on the free stack iff frames[m].use == PGU_FREE;
 *   (2) a free frame has owner DOMID_INVALID, count 0, and reads as zeros;
 *   (3) a free frame's M2P entry is INVALID_M2P_ENTRY (unless the mutant
 *       MUT_M2P_KEEP_ON_FREE re-introduces the 2011 bug);
 *   (4) d->tot_pages counts the PGU_GUEST frames owned by d, as
 *       domain_adjust_tot_pages() does from assign_pages() and
 *       free_domheap_pages().
 */
#include <stdlib.h>

#include "pagesim/mutant.h"
#include "sim-internal.h"

struct domain *heap_domain(const struct host *h, domid_t id)
{
    return id < SIM_MAX_DOMAINS ? h->domains[id] : NULL;
}

/* Returns a host of nr_frames free frames, or NULL on allocation failure. */
struct host *host_new(uint64_t nr_frames)
{
    struct host *h = calloc(1, sizeof(*h));
    if (!h || !nr_frames)
        goto fail;
    h->nr_frames = nr_frames;
    h->mem = hostmem_new(nr_frames);
    h->frames = calloc(nr_frames, sizeof(*h->frames));
    h->m2p = malloc(nr_frames * sizeof(*h->m2p));
    h->free_stack = malloc(nr_frames * sizeof(*h->free_stack));
    h->shr_handle = calloc(nr_frames, sizeof(*h->shr_handle));
    if (!h->mem || !h->frames || !h->m2p || !h->free_stack || !h->shr_handle)
        goto fail;
    for (uint64_t m = 0; m < nr_frames; m++) {
        h->frames[m].owner = DOMID_INVALID;
        h->frames[m].use = PGU_FREE;
        h->m2p[m] = INVALID_M2P_ENTRY;
        /* Highest mfn at the bottom, so mfn 0 is popped first. */
        h->free_stack[m] = nr_frames - 1 - m;
    }
    h->nr_free = nr_frames;
    /* The memo of a check (oracle/check.c) keeps these counters: a later
     * host, even at the same address, must not start where one stopped. */
    static uint64_t epoch;
    h->gen_paging = h->gen_monitor = ++epoch << 40;
    return h;

fail:
    if (h) {
        hostmem_destroy(h->mem);
        free(h->frames);
        free(h->m2p);
        free(h->free_stack);
        free(h->shr_handle);
        free(h);
    }
    return NULL;
}

/* Destroys the remaining domains, then the host. */
void host_destroy(struct host *h)
{
    if (!h)
        return;
    for (unsigned i = 0; i < SIM_MAX_DOMAINS; i++)
        if (h->domains[i])
            domain_destroy(h->domains[i]);
    hostmem_destroy(h->mem);
    free(h->frames);
    free(h->m2p);
    free(h->free_stack);
    free(h->shr_handle);
    free(h->shr_rmap);
    free(h);
}

/*
 * alloc_domheap_page(): returns a zeroed frame now owned by 'owner' with
 * 'use' and count 1, or INVALID_MFN when the heap is empty or a failure
 * is injected (h->fail_at, h->fail_domains).  The M2P entry
 * is left alone, as in Xen: it is the free path's job to have cleared it.
 */
mfn_t heap_alloc_page(struct host *h, domid_t owner, enum page_use use)
{
    h->alloc_attempts++;
    if (h->alloc_attempts == h->fail_at ||
        (owner < 32 && (h->fail_domains >> owner & 1))) {
        h->injected_failures++;
        return INVALID_MFN;
    }
    if (!h->nr_free)
        return INVALID_MFN;
    mfn_t m = _mfn(h->free_stack[--h->nr_free]);
    struct page_info *pg = &h->frames[mfn_x(m)];
    hostmem_meta_mark(h->mem, mfn_x(m)); /* for oracle_check() */
    pg->owner = owner;
    pg->use = (uint8_t)use;
    pg->count = 1;
    pg->allocated = 1;
    h->allocs++;
    if (use == PGU_GUEST) {
        struct domain *d = heap_domain(h, owner);
        if (d)
            d->tot_pages++;
    }
    return m;
}

/*
 * free_domheap_pages() + mark_page_free(): the frame goes back on top of the
 * free stack, scrubbed, owner cleared.  Freeing a frame that is already
 * free or out of range is ignored (Xen would BUG()).
 */
void heap_free_page(struct host *h, mfn_t m)
{
    if (!hostmem_mfn_valid(h->nr_frames, m))
        return;
    struct page_info *pg = &h->frames[mfn_x(m)];
    if (pg->use == PGU_FREE)
        return;
    hostmem_meta_mark(h->mem, mfn_x(m)); /* for oracle_check() */
    if (pg->use == PGU_GUEST) {
        struct domain *d = heap_domain(h, pg->owner);
        if (d && d->tot_pages)
            d->tot_pages--;
    }
    /* Seed 002 patch 06/12 (c/s 22706): "this page is not a gfn anymore".
     * Without it the next owner of the frame inherits a stale gfn, and
     * p2m_add_page() would go and remove that gfn from the new owner. */
    if (!MUTANT(MUT_M2P_KEEP_ON_FREE))
        h->m2p[mfn_x(m)] = INVALID_M2P_ENTRY;
    pg->owner = DOMID_INVALID;
    pg->use = PGU_FREE;
    pg->count = 0;
    pg->allocated = 0;
    h->shr_handle[mfn_x(m)] = 0; /* page_sharing_dispose() */
    hostmem_zero_frame(h->mem, m);
    h->free_stack[h->nr_free++] = mfn_x(m);
    h->frees++;
}

/*
 * put_page(): the reference count drops by one and the page is freed when
 * it reaches zero (free_domheap_page() from put_page()'s slow path).  Xen
 * would BUG() on a put without a get; here a frame that is free or has no
 * reference is ignored, as heap_free_page() ignores a double free.
 */
void heap_put_page(struct host *h, mfn_t m)
{
    if (!hostmem_mfn_valid(h->nr_frames, m))
        return;
    struct page_info *pg = &h->frames[mfn_x(m)];
    if (pg->use == PGU_FREE || !pg->count)
        return;
    hostmem_meta_mark(h->mem, mfn_x(m)); /* for oracle_check() */
    if (--pg->count == 0)
        heap_free_page(h, m);
}

/*
 * The owner lets go of its page (guest_remove_page(): "if
 * (test_and_clear_bit(_PGC_allocated)) put_page()", also what
 * set_typed_p2m_entry() callers leave to the last put): only the
 * allocation reference goes.  While the tool stack or another domain still
 * holds one (a foreign map, a foreign or grant P2M entry), the page stays
 * allocated to its owner (counted in tot_pages, not on the free stack,
 * M2P already INVALID from p2m_remove_entry()) and the holder's last
 * heap_put_page() frees it.  MUT_FREE_REFERENCED is the fuzzer's finding:
 * the page freed at once whatever references it has.
 */
void heap_put_alloc_ref(struct host *h, mfn_t m)
{
    if (!hostmem_mfn_valid(h->nr_frames, m))
        return;
    struct page_info *pg = &h->frames[mfn_x(m)];
    if (pg->use != PGU_GUEST || !pg->allocated)
        return;
    if (MUTANT(MUT_FREE_REFERENCED)) {
        heap_free_page(h, m);
        return;
    }
    hostmem_meta_mark(h->mem, mfn_x(m)); /* for oracle_check() */
    pg->allocated = 0;
    heap_put_page(h, m);
}

/* Drops the frames that are no longer PGU_FREE from the free stack, keeping
 * the order of the rest (one pass). */
static void heap_compact_free_stack(struct host *h)
{
    uint64_t n = 0;
    for (uint64_t i = 0; i < h->nr_free; i++)
        if (h->frames[h->free_stack[i]].use == PGU_FREE)
            h->free_stack[n++] = h->free_stack[i];
    h->nr_free = n;
}

static bool heap_block_free(const struct host *h, uint64_t first, uint64_t n)
{
    for (uint64_t m = first; m < first + n; m++)
        if (h->frames[m].use != PGU_FREE)
            return false;
    return true;
}

/* The lowest free aligned block of 2^order frames, or UINT64_MAX. */
static uint64_t heap_find_block(const struct host *h, unsigned order)
{
    uint64_t n = 1ULL << order;
    for (uint64_t first = 0; first + n <= h->nr_frames; first += n)
        if (heap_block_free(h, first, n))
            return first;
    return UINT64_MAX;
}

/*
 * alloc_domheap_pages(): the same fault injection as heap_alloc_page()
 * (one attempt per call, whatever the order), then the lowest free
 * aligned block.  Each frame gets owner, use and count 1; the heap counts
 * one allocation.
 */
mfn_t heap_alloc_pages(struct host *h, domid_t owner, enum page_use use,
                       unsigned order)
{
    if (!order)
        return heap_alloc_page(h, owner, use);
    h->alloc_attempts++;
    if (order > HEAP_MAX_ORDER || h->alloc_attempts == h->fail_at ||
        (owner < 32 && (h->fail_domains >> owner & 1))) {
        if (order <= HEAP_MAX_ORDER)
            h->injected_failures++;
        return INVALID_MFN;
    }
    uint64_t first = heap_find_block(h, order);
    if (first == UINT64_MAX) {
        h->order_failures++;
        return INVALID_MFN;
    }
    struct domain *d = use == PGU_GUEST ? heap_domain(h, owner) : NULL;
    for (uint64_t m = first; m < first + (1ULL << order); m++) {
        struct page_info *pg = &h->frames[m];
        hostmem_meta_mark(h->mem, m); /* for oracle_check() */
        pg->owner = owner;
        pg->use = (uint8_t)use;
        pg->count = 1;
        pg->allocated = 1;
        if (d)
            d->tot_pages++;
    }
    heap_compact_free_stack(h);
    h->allocs++;
    return _mfn(first);
}

void heap_free_pages(struct host *h, mfn_t m, unsigned order)
{
    if (order > HEAP_MAX_ORDER)
        return;
    for (uint64_t i = 1ULL << order; i-- > 0;)
        heap_free_page(h, mfn_add(m, i));
}

int heap_max_free_order(const struct host *h)
{
    int best = -1;
    for (unsigned o = 0; o <= HEAP_MAX_ORDER && (1ULL << o) <= h->nr_frames; o++) {
        if (heap_find_block(h, o) == UINT64_MAX)
            break;
        best = (int)o; /* a free block of order o contains smaller ones */
    }
    return best;
}

/*
 * Takes every free frame whose mfn is not a multiple of 'every' for the
 * hypervisor (PGU_XEN), so no two free frames are adjacent when every >=
 * 2.  Frames already in use are left alone.
 */
uint64_t heap_fragment(struct host *h, uint64_t every)
{
    uint64_t taken = 0;
    if (every < 2)
        return 0;
    for (uint64_t i = 0; i < h->nr_free; i++) {
        uint64_t m = h->free_stack[i];
        if (m % every == 0)
            continue;
        hostmem_meta_mark(h->mem, m); /* for oracle_check() */
        h->frames[m].owner = DOMID_XEN;
        h->frames[m].use = PGU_XEN;
        h->frames[m].count = 1;
        taken++;
    }
    heap_compact_free_stack(h);
    h->xen_frames += taken;
    return taken;
}

/* set_gpfn_from_mfn(): machine_to_phys_mapping[m] = gfn. */
void set_gpfn_from_mfn(struct host *h, mfn_t m, uint64_t gfn)
{
    if (hostmem_mfn_valid(h->nr_frames, m)) {
        hostmem_meta_mark(h->mem, mfn_x(m)); /* for oracle_check() */
        h->m2p[mfn_x(m)] = gfn;
    }
}

/* get_gpfn_from_mfn(): INVALID_M2P_ENTRY for frames out of range. */
uint64_t get_gpfn_from_mfn(const struct host *h, mfn_t m)
{
    return hostmem_mfn_valid(h->nr_frames, m) ? h->m2p[mfn_x(m)]
                                              : INVALID_M2P_ENTRY;
}
