/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_alloc_logdirty.c - issue 3's allocator and log-dirty
 * completion: higher-order allocation and deliberate fragmentation
 * (sim/heap.c), the pre-2007 flat bitmap, preemption and continuation of
 * PEEK/CLEAN, the conservative "is dirty" (sim/paging.c), and the
 * oracle's own model of each (oracle/flat.c), including its chunked
 * per-gfn storage of sparse domains.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "pagesim/mutant.h"
#include "pagesim/oracle.h"
#include "pagesim/sim.h"

#define NFRAMES 1024

static struct host *h;

static void setup(void)
{
    pagesim_mutants = 0;
    h = host_new(NFRAMES);
    cr_assert_not_null(h);
}

static void teardown(void)
{
    host_destroy(h);
}

TestSuite(alloc, .init = setup, .fini = teardown);

Test(alloc, higher_order_block_is_aligned_and_keeps_lifo)
{
    mfn_t a = heap_alloc_page(h, 0, PGU_GUEST);          /* mfn 0 */
    cr_assert_eq(mfn_x(a), 0);
    mfn_t b = heap_alloc_pages(h, 0, PGU_LOGDIRTY, 3);
    cr_assert_eq(mfn_x(b), 8, "lowest free aligned block of 8 frames");
    for (uint64_t m = 8; m < 16; m++) {
        cr_assert_eq(h->frames[m].use, PGU_LOGDIRTY);
        cr_assert_eq(h->frames[m].owner, 0);
    }
    cr_assert_eq(h->nr_free, NFRAMES - 9);
    /* order 0 continues where the stack was: mfn 1, 2, ... */
    cr_assert_eq(mfn_x(heap_alloc_page(h, 0, PGU_GUEST)), 1);
    heap_free_page(h, a);
    cr_assert_eq(mfn_x(heap_alloc_page(h, 0, PGU_GUEST)), 0, "LIFO reuse");
    heap_free_pages(h, b, 3);
    cr_assert_eq(h->frames[8].use, PGU_FREE);
    cr_assert_eq(mfn_x(heap_alloc_page(h, 0, PGU_GUEST)), 8,
                 "a freed block: its lowest frame first");
}

Test(alloc, fragment_leaves_single_frames)
{
    cr_assert(heap_max_free_order(h) >= 9);
    uint64_t taken = heap_fragment(h, 2);
    cr_assert_eq(taken, NFRAMES / 2);
    cr_assert_eq(heap_max_free_order(h), 0);
    cr_assert_eq(h->frames[1].use, PGU_XEN);
    cr_assert_eq(h->frames[1].owner, DOMID_XEN);
    cr_assert_not(oracle_heap_has_block(h, 1));
    cr_assert(oracle_heap_has_block(h, 0));
    cr_assert(mfn_eq(heap_alloc_pages(h, 0, PGU_GUEST, 1), INVALID_MFN));
    cr_assert_eq(h->order_failures, 1);
    mfn_t m = heap_alloc_page(h, 0, PGU_GUEST);
    cr_assert_eq(mfn_x(m) % 2, 0, "order 0 still works, from the kept frames");
}

Test(alloc, injection_applies_to_higher_orders)
{
    h->fail_at = h->alloc_attempts + 1;
    cr_assert(mfn_eq(heap_alloc_pages(h, 0, PGU_GUEST, 2), INVALID_MFN));
    cr_assert_eq(h->injected_failures, 1);
    h->fail_domains = 1u << 3;
    cr_assert(mfn_eq(heap_alloc_pages(h, 3, PGU_GUEST, 2), INVALID_MFN));
    cr_assert_not(mfn_eq(heap_alloc_pages(h, 2, PGU_GUEST, 2), INVALID_MFN));
}

Test(alloc, bitmap_geometry)
{
    /* (max_gpfn + 64) & ~63 with max_gpfn = gfns - 1 */
    cr_assert_eq(paging_bitmap_bits(0x1000), 0x1000);
    cr_assert_eq(paging_bitmap_bits(0x1001), 0x1040);
    cr_assert_eq(paging_bitmap_bits(1), 64);
    cr_assert_eq(paging_bitmap_order(1ULL << 15), 0, "one page");
    cr_assert_eq(paging_bitmap_order(1ULL << 20), 5, "128 KiB");
    cr_assert_eq(paging_bitmap_order(1ULL << 28), 13, "1 TiB guest: 32 MiB");
    pagesim_mutants = MUT_LD_BITMAP_OFF_BY_ONE;
    cr_assert_eq(paging_bitmap_bits(0x1001), 0x1000);
}

Test(alloc, bitmap_enable_fails_on_fragmented_heap_radix_does_not)
{
    struct domain *b = domain_create(h, "b", 0x100000);
    struct domain *r = domain_create(h, "r", 0x100000);
    cr_assert(b && r);
    b->ld.bitmap_mode = true;
    cr_assert_eq(paging_log_dirty_enable(b), 0);
    cr_assert_eq(b->ld.allocs, 32);
    cr_assert_eq(paging_log_dirty_disable(b), 0);
    cr_assert_eq(b->ld.allocs, 0);
    heap_fragment(h, 2);
    cr_assert_eq(paging_log_dirty_enable(b), -ENOMEM);
    cr_assert_not(b->ld.enabled);
    cr_assert_eq(paging_log_dirty_enable(r), 0);
    paging_mark_pfn_dirty(r, _gfn(0x12345));
    cr_assert(paging_gfn_is_dirty(r, _gfn(0x12345)));
    cr_assert_eq(r->ld.allocs, 4);
}

Test(alloc, bitmap_mode_marks_and_truncates)
{
    struct domain *b = domain_create(h, "b", 0x1001);
    b->ld.bitmap_mode = true;
    cr_assert_eq(paging_log_dirty_enable(b), 0);
    paging_mark_pfn_dirty(b, _gfn(0x1000));
    paging_mark_pfn_dirty(b, _gfn(0x1000)); /* no double count */
    cr_assert_eq(b->ld.dirty_count, 1);
    uint8_t bm[0x300] = { 0 };
    uint64_t pages = 0x1100;
    cr_assert_eq(paging_log_dirty_op(b, false, &pages, bm, NULL), 0);
    cr_assert_eq(pages, 0x1040, "cut to bitmap_size");
    cr_assert_eq(bm[0x200], 1);
    paging_mark_pfn_clean(b, _gfn(0x1000));
    cr_assert_not(paging_gfn_is_dirty(b, _gfn(0x1000)));
}

/* A 2^25-gfn domain: two L3 entries of the tree. */
Test(alloc, preempted_peek_resumes_where_it_stopped)
{
    struct domain *d = domain_create(h, "big", 1ULL << 25);
    cr_assert_eq(paging_log_dirty_enable(d), 0);
    paging_mark_pfn_dirty(d, _gfn(5));
    paging_mark_pfn_dirty(d, _gfn((1ULL << 24) + 7));
    size_t bytes = (1ULL << 25) / 8;
    uint8_t *bm = calloc(bytes, 1);
    cr_assert_not_null(bm);
    uint64_t pages = 1ULL << 25;
    struct log_dirty_stats st;
    cr_assert_eq(paging_log_dirty_op_ex(d, false, &pages, bm, &st, true, false),
                 -ERESTART);
    cr_assert(d->ld.preempt.active);
    cr_assert_eq(d->ld.preempt.done, 1ULL << 24);
    cr_assert_eq(d->ld.preempt.i3, 1);
    cr_assert_eq(bm[0], 1 << 5);
    cr_assert_eq(bm[(1ULL << 24) / 8], 0, "not walked yet");
    /* others: -EBUSY; a continuation of the other op too */
    uint64_t p2 = 16;
    cr_assert_eq(paging_log_dirty_op(d, false, &p2, NULL, NULL), -EBUSY);
    cr_assert_eq(paging_log_dirty_op_ex(d, true, &p2, NULL, NULL, false, true),
                 -EBUSY);
    cr_assert_eq(paging_log_dirty_disable(d), -EBUSY);
    cr_assert_eq(paging_log_dirty_op_ex(d, false, &pages, bm, &st, false, true), 0);
    cr_assert_not(d->ld.preempt.active);
    cr_assert_eq(bm[(1ULL << 24) / 8], 1 << 7);
    cr_assert_eq(st.dirty_count, 2);
    cr_assert_eq(paging_log_dirty_op_ex(d, false, &pages, bm, &st, false, true),
                 -EBUSY, "nothing to continue");
    free(bm);
}

Test(alloc, conservative_is_dirty_after_failed_alloc)
{
    struct domain *d = domain_create(h, "c", 0x10000);
    cr_assert_eq(paging_log_dirty_enable(d), 0);
    paging_mark_pfn_dirty(d, _gfn(1));
    h->fail_at = h->alloc_attempts + 1;           /* the next leaf */
    paging_mark_pfn_dirty(d, _gfn(0x8000));
    cr_assert_eq(d->ld.failed_allocs, 1);
    cr_assert_not(paging_gfn_is_dirty(d, _gfn(0x8000)), "upstream: clean");
    d->ld.conservative = true;
    cr_assert(paging_gfn_is_dirty(d, _gfn(0x8000)), "2007: dirty");
    cr_assert(paging_gfn_is_dirty(d, _gfn(2)));
}

/* ---- the oracle's side ---------------------------------------------------------- */

Test(alloc, oracle_chunks_sparse_domain_and_predicts_preemption)
{
    struct oracle *o = oracle_new(NFRAMES);
    oracle_op_domain_create(o, 0, 1ULL << 28);
    cr_assert_eq(oracle_op_populate(o, 0, _gfn((1ULL << 28) - 1), _mfn(5), false), 0);
    cr_assert_eq(oracle_p2m_type(o, 0, _gfn(7)), p2m_mmio_dm, "never written");
    cr_assert_eq(oracle_p2m_type(o, 0, _gfn((1ULL << 28) - 1)), p2m_ram_rw);
    cr_assert_eq(oracle_op_logdirty_enable(o, 0), 0);
    cr_assert_eq(oracle_op_remove(o, 0, _gfn((1ULL << 28) - 1)), 0);
    cr_assert_eq(oracle_op_populate(o, 0, _gfn((1ULL << 24) + 3), _mfn(6), false), 0);
    uint64_t pages = 1ULL << 25;
    uint8_t *bm = calloc(pages / 8, 1);
    struct oracle_ld_call c = { .clean = true, .preempt = true, .pages = pages,
                                .bitmap = bm };
    cr_assert_eq(oracle_op_logdirty_call(o, 0, &c), -ERESTART);
    cr_assert_eq(oracle_op_logdirty_enable(o, 0), -EBUSY);
    c.resuming = true;
    cr_assert_eq(oracle_op_logdirty_call(o, 0, &c), -ERESTART, "after the 2nd entry");
    cr_assert_eq(bm[(1ULL << 24) / 8], 1 << 3);
    cr_assert_eq(oracle_op_logdirty_call(o, 0, &c), 0);
    cr_assert_eq(c.pages, pages);
    cr_assert_not(oracle_is_dirty(o, 0, _gfn((1ULL << 24) + 3)), "cleaned");
    free(bm);
    oracle_destroy(o);
}

Test(alloc, oracle_bitmap_mode_enable_needs_a_block)
{
    struct oracle *o = oracle_new(NFRAMES);
    oracle_op_domain_create(o, 0, 0x100000);
    oracle_op_logdirty_config(o, 0, true, false);
    cr_assert_eq(oracle_op_logdirty_enable_heap(o, 0, h), 0);
    cr_assert_eq(oracle_op_logdirty_disable(o, 0), 0);
    heap_fragment(h, 2);
    cr_assert_eq(oracle_op_logdirty_enable_heap(o, 0, h), -ENOMEM);
    oracle_destroy(o);
}
