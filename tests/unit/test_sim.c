/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_sim.c - the hypervisor paging core (sim/heap.c,
 * sim/p2m-ept.c, sim/p2m.c, sim/paging.c, sim/hvm.c) against Xen's
 * behaviour as described in shared/reference/xen-paging.md sections 1 and
 * 3 and seeds 001 / 002.
 *
 * Every test gets a fresh host of NFRAMES frames and one domain "d" of
 * MAXGFN gfns (criterion runs each test in its own process, so the mutant
 * word starts at 0).  EPT leaves are read back raw from host memory, the
 * way the simulated hardware (model/ept.c) reads them.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "pagesim/mutant.h"
#include "pagesim/sim.h"

#define NFRAMES 256
#define MAXGFN 0x100000ULL

static struct host *h;
static struct domain *d;

static void setup(void)
{
    pagesim_mutants = 0;
    h = host_new(NFRAMES);
    cr_assert_not_null(h);
    d = domain_create(h, "d", MAXGFN);
    cr_assert_not_null(d);
}

static void teardown(void)
{
    host_destroy(h);
}

TestSuite(sim, .init = setup, .fini = teardown);

/* ---- helpers --------------------------------------------------------------- */

#define RWX (EPT_R | EPT_W | EPT_X)

/* Raw EPT entry for gfn at 'level' (1 = leaf), 0 if a table is missing. */
static uint64_t ept_raw(const struct domain *dom, uint64_t gfn, int level)
{
    mfn_t table = dom->ept_root;
    for (int l = 4;; l--) {
        uint64_t e = 0;
        unsigned idx = (gfn >> (9 * (l - 1))) & 511;
        cr_assert_eq(hostmem_read64(dom->host->mem,
                                    _hpa((mfn_x(table) << 12) + idx * 8), &e),
                     0);
        if (l == level)
            return e;
        if (!(e & RWX))
            return 0;
        table = _mfn((e & EPT_ADDR_MASK) >> 12);
    }
}

static unsigned raw_type(uint64_t e) { return (e >> 52) & 0x3f; }
static unsigned raw_access(uint64_t e) { return (e >> 59) & 0xf; }
static uint64_t raw_mfn(uint64_t e) { return (e >> 12) & ((1ULL << 40) - 1); }

static p2m_type_t type_of(const struct domain *dom, uint64_t gfn)
{
    p2m_type_t t;
    p2m_get_entry(dom, _gfn(gfn), &t, NULL);
    return t;
}

static mfn_t populate(struct domain *dom, uint64_t gfn)
{
    mfn_t m;
    cr_assert_eq(guest_populate_page(dom, _gfn(gfn), &m), 0, "populate %#lx",
                 (unsigned long)gfn);
    return m;
}

/* One bit of a PEEK of [0, n) pfns. */
static bool peek_bit(struct domain *dom, uint64_t gfn)
{
    uint64_t pages = gfn + 1;
    static uint8_t bm[(MAXGFN + 7) / 8];
    cr_assert_eq(paging_log_dirty_op(dom, false, &pages, bm, NULL), 0);
    return (bm[gfn >> 3] >> (gfn & 7)) & 1;
}

/* Frames allocated to anything right now. */
static uint64_t used(void) { return h->nr_frames - h->nr_free; }

/* ---- heap ----------------------------------------------------------------- */

Test(sim, heap_alloc_in_order_and_lifo_reuse)
{
    /* The EPT root of d took mfn 0. */
    cr_assert_eq(mfn_x(d->ept_root), 0);
    mfn_t a = heap_alloc_page(h, d->id, PGU_GUEST);
    mfn_t b = heap_alloc_page(h, d->id, PGU_GUEST);
    mfn_t c = heap_alloc_page(h, d->id, PGU_GUEST);
    cr_assert_eq(mfn_x(a), 1);
    cr_assert_eq(mfn_x(b), 2);
    cr_assert_eq(mfn_x(c), 3);
    cr_assert_eq(h->frames[2].owner, d->id);
    cr_assert_eq(h->frames[2].use, PGU_GUEST);
    cr_assert_eq(h->frames[2].count, 1);
    cr_assert_eq(d->tot_pages, 3);

    heap_free_page(h, a);
    heap_free_page(h, c);
    cr_assert_eq(h->frames[3].owner, DOMID_INVALID);
    cr_assert_eq(h->frames[3].use, PGU_FREE);
    cr_assert_eq(h->frames[3].count, 0);
    cr_assert_eq(d->tot_pages, 1);
    /* Most recently freed first. */
    cr_assert_eq(mfn_x(heap_alloc_page(h, d->id, PGU_GUEST)), 3);
    cr_assert_eq(mfn_x(heap_alloc_page(h, d->id, PGU_GUEST)), 1);
    cr_assert_eq(mfn_x(heap_alloc_page(h, d->id, PGU_GUEST)), 4);
    cr_assert_eq(h->allocs, 7);
    cr_assert_eq(h->frees, 2);
}

Test(sim, heap_exhaustion_and_scrub)
{
    mfn_t m = heap_alloc_page(h, d->id, PGU_GUEST);
    uint64_t v = 0x1234;
    cr_assert_eq(hostmem_write64(h->mem, mfn_to_hpa(m), v), 0);
    heap_free_page(h, m);
    cr_assert_null(hostmem_frame_peek(h->mem, m), "freed frame is scrubbed");
    heap_free_page(h, m); /* double free is ignored */
    cr_assert_eq(h->nr_free, NFRAMES - 1);

    while (h->nr_free)
        cr_assert_neq(mfn_x(heap_alloc_page(h, d->id, PGU_GUEST)), ~0ULL);
    cr_assert(mfn_eq(heap_alloc_page(h, d->id, PGU_GUEST), INVALID_MFN));
    cr_assert_eq(guest_populate_page(d, _gfn(5), NULL), -ENOMEM);
    cr_assert_null(domain_create(h, "e", 16));
}

Test(sim, free_clears_m2p)
{
    mfn_t m = populate(d, 0x42);
    cr_assert_eq(get_gpfn_from_mfn(h, m), 0x42);
    heap_free_page(h, m);
    cr_assert_eq(get_gpfn_from_mfn(h, m), INVALID_M2P_ENTRY);
}

Test(sim, free_keeps_m2p_under_mutant)
{
    pagesim_mutants = MUT_M2P_KEEP_ON_FREE;
    mfn_t m = populate(d, 0x42);
    heap_free_page(h, m);
    cr_assert_eq(get_gpfn_from_mfn(h, m), 0x42);
}

/* The story of seed 002 patch 06/12: a stale M2P entry survives the free
 * and the next owner of the frame inherits it. */
Test(sim, freed_frame_reused_by_other_domain_gets_fresh_m2p)
{
    struct domain *e = domain_create(h, "e", MAXGFN);
    cr_assert_eq(e->id, 1);
    mfn_t m = populate(d, 0x80);
    /* Teardown frees the frame without a P2M removal first: only the free
     * path can clear its M2P entry. */
    domain_destroy(d);
    d = NULL;
    /* Freed in order: the frame, then the EPT tables leaf to root, so the
     * frame comes back on the fifth allocation. */
    mfn_t m2 = INVALID_MFN;
    for (int i = 0; i < 5; i++)
        m2 = heap_alloc_page(h, e->id, PGU_GUEST);
    cr_assert(mfn_eq(m, m2), "LIFO reuse");
    cr_assert_eq(get_gpfn_from_mfn(h, m2), INVALID_M2P_ENTRY);
    cr_assert_eq(p2m_add_page(e, _gfn(0x10), m2, p2m_ram_rw), 0);
    cr_assert_eq(get_gpfn_from_mfn(h, m2), 0x10);
}

/* ---- EPT encoding ------------------------------------------------------------ */

static void check_leaf(p2m_type_t t, mfn_t m, uint64_t want_rwx)
{
    const uint64_t gfn = 0x1234;
    cr_assert_eq(p2m_set_entry(d, _gfn(gfn), m, t, p2m_access_rwx), 0);
    uint64_t e = ept_raw(d, gfn, 1);
    cr_assert_eq(e & RWX, want_rwx, "%s: rwx %#lx want %#lx", p2m_type_name(t),
                 (unsigned long)(e & RWX), (unsigned long)want_rwx);
    cr_assert_eq(raw_type(e), (unsigned)t, "%s: type bits", p2m_type_name(t));
    cr_assert_eq((e >> 3) & 7, EPT_MT_WB, "%s: emt", p2m_type_name(t));
    cr_assert_eq(raw_access(e), p2m_access_rwx);
    cr_assert_eq(raw_mfn(e), mfn_x(m) & ((1ULL << 40) - 1));
    cr_assert_eq(ept_p2m_type_to_flags(t, p2m_access_rwx), want_rwx);
}

Test(sim, ept_leaf_encoding_per_type)
{
    mfn_t m = heap_alloc_page(h, d->id, PGU_GUEST);
    check_leaf(p2m_ram_rw, m, EPT_R | EPT_W | EPT_X);
    check_leaf(p2m_ram_logdirty, m, EPT_R | EPT_X);
    check_leaf(p2m_ram_ro, m, EPT_R | EPT_X);
    check_leaf(p2m_ram_shared, m, EPT_R | EPT_X);
    check_leaf(p2m_mmio_direct, m, EPT_R | EPT_W | EPT_X);
    check_leaf(p2m_grant_map_rw, m, EPT_R | EPT_W);
    check_leaf(p2m_grant_map_ro, m, EPT_R);
    check_leaf(p2m_map_foreign, m, EPT_R | EPT_W);
    check_leaf(p2m_ioreq_server, m, EPT_R | EPT_W);
    check_leaf(p2m_ram_broken, m, 0);
    check_leaf(p2m_ram_paging_out, m, 0);
    /* Types that may have no frame keep their type with mfn ffffffffff. */
    check_leaf(p2m_ram_paged, INVALID_MFN, 0);
    check_leaf(p2m_ram_paging_in, INVALID_MFN, 0);
    check_leaf(p2m_populate_on_demand, INVALID_MFN, 0);
    check_leaf(p2m_mmio_direct, INVALID_MFN, EPT_R | EPT_W | EPT_X);
    cr_assert_eq(raw_mfn(ept_raw(d, 0x1234, 1)), 0xffffffffffULL);
    p2m_type_t t;
    cr_assert(mfn_eq(p2m_get_entry(d, _gfn(0x1234), &t, NULL), INVALID_MFN));
    cr_assert_eq(t, p2m_mmio_direct);
}

Test(sim, ept_frameless_types_store_zero)
{
    mfn_t m = heap_alloc_page(h, d->id, PGU_GUEST);
    cr_assert_eq(p2m_set_entry(d, _gfn(7), m, p2m_ram_rw, p2m_access_rwx), 0);
    cr_assert_eq(p2m_set_entry(d, _gfn(7), INVALID_MFN, p2m_mmio_dm,
                               p2m_access_rwx), 0);
    cr_assert_eq(ept_raw(d, 7, 1), 0);
    cr_assert_eq(p2m_set_entry(d, _gfn(7), INVALID_MFN, p2m_invalid,
                               p2m_access_rwx), 0);
    cr_assert_eq(ept_raw(d, 7, 1), 0);
    cr_assert_eq(p2m_set_entry(d, _gfn(7), INVALID_MFN, p2m_ram_rw,
                               p2m_access_rwx), 0);
    cr_assert_eq(ept_raw(d, 7, 1), 0);
}

Test(sim, ept_intermediate_entries)
{
    cr_assert_eq(d->p2m_pages, 1);
    populate(d, 0x12345);
    cr_assert_eq(d->p2m_pages, 4);
    for (int level = 4; level >= 2; level--) {
        uint64_t e = ept_raw(d, 0x12345, level);
        cr_assert_eq(e & ~EPT_ADDR_MASK, RWX, "level %d: %#lx", level,
                     (unsigned long)e);
        mfn_t t = _mfn((e & EPT_ADDR_MASK) >> 12);
        cr_assert_eq(h->frames[mfn_x(t)].use, PGU_P2M);
        cr_assert_eq(h->frames[mfn_x(t)].owner, d->id);
    }
    /* A neighbour shares all tables. */
    populate(d, 0x12346);
    cr_assert_eq(d->p2m_pages, 4);
}

Test(sim, ept_access_restrictions)
{
    cr_assert_eq(ept_p2m_type_to_flags(p2m_ram_rw, p2m_access_n), 0);
    cr_assert_eq(ept_p2m_type_to_flags(p2m_ram_rw, p2m_access_n2rwx), 0);
    cr_assert_eq(ept_p2m_type_to_flags(p2m_ram_rw, p2m_access_r), EPT_R);
    cr_assert_eq(ept_p2m_type_to_flags(p2m_ram_rw, p2m_access_r_pw), EPT_R);
    cr_assert_eq(ept_p2m_type_to_flags(p2m_ram_rw, p2m_access_w), EPT_W);
    cr_assert_eq(ept_p2m_type_to_flags(p2m_ram_rw, p2m_access_x), EPT_X);
    cr_assert_eq(ept_p2m_type_to_flags(p2m_ram_rw, p2m_access_rx),
                 EPT_R | EPT_X);
    cr_assert_eq(ept_p2m_type_to_flags(p2m_ram_rw, p2m_access_rx2rw),
                 EPT_R | EPT_X);
    cr_assert_eq(ept_p2m_type_to_flags(p2m_ram_rw, p2m_access_wx),
                 EPT_W | EPT_X);
    cr_assert_eq(ept_p2m_type_to_flags(p2m_ram_rw, p2m_access_rw),
                 EPT_R | EPT_W);
    /* Restrictions only take away. */
    cr_assert_eq(ept_p2m_type_to_flags(p2m_ram_logdirty, p2m_access_w), 0);
    cr_assert_eq(ept_p2m_type_to_flags(p2m_grant_map_ro, p2m_access_rw),
                 EPT_R);
}

Test(sim, ept_logdirty_writable_mutant)
{
    pagesim_mutants = MUT_LOGDIRTY_WRITABLE;
    cr_assert_eq(ept_p2m_type_to_flags(p2m_ram_logdirty, p2m_access_rwx), RWX);
    cr_assert_eq(ept_p2m_type_to_flags(p2m_ram_ro, p2m_access_rwx),
                 EPT_R | EPT_X);
}

Test(sim, get_entry_defaults)
{
    p2m_type_t t = p2m_ram_rw;
    p2m_access_t a = p2m_access_rwx;
    /* Nothing mapped: above max_mapped_pfn. */
    cr_assert_eq(d->max_mapped_pfn, 0);
    cr_assert(mfn_eq(p2m_get_entry(d, _gfn(5), &t, &a), INVALID_MFN));
    cr_assert_eq(t, p2m_mmio_dm);
    cr_assert_eq(a, p2m_access_n);
    /* gfn 0 is <= max_mapped_pfn but its tables are missing. */
    t = p2m_ram_rw;
    cr_assert(mfn_eq(p2m_get_entry(d, _gfn(0), &t, &a), INVALID_MFN));
    cr_assert_eq(t, p2m_mmio_dm);

    mfn_t m = populate(d, 0x300);
    cr_assert_eq(d->max_mapped_pfn, 0x300);
    cr_assert(mfn_eq(p2m_get_entry(d, _gfn(0x300), &t, &a), m));
    cr_assert_eq(t, p2m_ram_rw);
    cr_assert_eq(a, p2m_access_rwx);
    /* Same leaf table, empty slot. */
    cr_assert(mfn_eq(p2m_get_entry(d, _gfn(0x2ff), &t, &a), INVALID_MFN));
    cr_assert_eq(t, p2m_mmio_dm);
    cr_assert_eq(a, p2m_access_n);
    /* Removal leaves max_mapped_pfn alone; mmio_dm does not raise it. */
    cr_assert_eq(guest_remove_page(d, _gfn(0x300)), 0);
    cr_assert_eq(type_of(d, 0x300), p2m_mmio_dm);
    cr_assert_eq(p2m_set_type(d, _gfn(0x5000), p2m_mmio_dm), 0);
    cr_assert_eq(d->max_mapped_pfn, 0x300);
    cr_assert_eq(p2m_set_entry(d, _gfn(MAXGFN), INVALID_MFN, p2m_invalid,
                               p2m_access_rwx), -EINVAL);
}

/* p2m_get_entry_run() against p2m_get_entry() for every gfn of a P2M with
 * RAM, empty slots, a missing leaf table, 2 MiB superpages (PoD without a
 * frame, a device range with one), a 1 GiB one, gfns above max_mapped_pfn; in ascending order and
 * then jumping between blocks, and again after a write and a reset. */
static void check_run(const struct domain *dom, uint64_t lo, uint64_t hi,
                      uint64_t step)
{
    struct p2m_run r;
    p2m_run_reset(&r);
    for (uint64_t g = lo; g < hi; g += step) {
        p2m_type_t t1, t2;
        mfn_t m1 = p2m_get_entry(dom, _gfn(g), &t1, NULL);
        mfn_t m2 = p2m_get_entry_run(dom, &r, _gfn(g), &t2);
        cr_assert(mfn_eq(m1, m2), "gfn %#lx: mfn %#lx, run %#lx", (unsigned long)g,
                  (unsigned long)mfn_x(m1), (unsigned long)mfn_x(m2));
        cr_assert_eq(t1, t2, "gfn %#lx: type %d, run %d", (unsigned long)g, t1, t2);
    }
}

Test(sim, get_entry_run_matches_get_entry)
{
    populate(d, 0x300);
    populate(d, 0x301);
    populate(d, 0x3ff);
    cr_assert_eq(p2m_set_type(d, _gfn(0x302), p2m_mmio_dm), 0);
    cr_assert_eq(p2m_set_entry_order(d, _gfn(0x400), INVALID_MFN, PAGE_ORDER_2M,
                                     p2m_populate_on_demand, p2m_access_rwx), 0);
    /* a device range: a superpage with a frame, each gfn its own */
    cr_assert_eq(p2m_set_entry_order(d, _gfn(0x600), _mfn(0x1000), PAGE_ORDER_2M,
                                     p2m_mmio_direct, p2m_access_rw), 0);
    cr_assert(mfn_eq(p2m_get_entry(d, _gfn(0x605), NULL, NULL), _mfn(0x1005)));
    cr_assert_eq(p2m_set_entry_order(d, _gfn(0x40000), INVALID_MFN, PAGE_ORDER_1G,
                                     p2m_populate_on_demand, p2m_access_rx), 0);
    populate(d, 0x80200); /* past the 1 GiB page: a missing table between */
    check_run(d, 0, 0x1000, 1);
    check_run(d, 0x3fe00, 0x40400, 1);
    check_run(d, 0x80000, 0x80400, 1);
    check_run(d, 0, MAXGFN, 0x1ff); /* a new block almost every lookup */
    check_run(d, 0x80201, MAXGFN, 0x3fff); /* above max_mapped_pfn */
    /* A write, then a reset run sees it. */
    populate(d, 0x305);
    check_run(d, 0x300, 0x310, 1);
    cr_assert_eq(guest_remove_page(d, _gfn(0x300)), 0);
    check_run(d, 0x2f0, 0x310, 1);
}

Test(sim, type_names)
{
    cr_assert_str_eq(p2m_type_name(p2m_ram_rw), "ram_rw");
    cr_assert_str_eq(p2m_type_name(p2m_ram_logdirty), "ram_logdirty");
    cr_assert_str_eq(p2m_type_name(p2m_mmio_dm), "mmio_dm");
    for (int t = 0; t < P2M_NR_TYPES; t++)
        cr_assert_eq(p2m_type_from_name(p2m_type_name((p2m_type_t)t)), t);
    cr_assert_eq(p2m_type_from_name("p2m_invalid"), p2m_invalid);
    cr_assert_eq(p2m_type_from_name("bogus"), -1);
}

/* ---- P2M / M2P ---------------------------------------------------------------- */

Test(sim, add_remove_keep_m2p_both_ways)
{
    mfn_t a = populate(d, 0x10);
    mfn_t b = populate(d, 0x11);
    cr_assert_eq(get_gpfn_from_mfn(h, a), 0x10);
    cr_assert_eq(get_gpfn_from_mfn(h, b), 0x11);
    cr_assert_eq(d->tot_pages, 2);

    /* Move frame a to gfn 0x20: the old gfn 0x10 goes away. */
    cr_assert_eq(p2m_add_page(d, _gfn(0x20), a, p2m_ram_rw), 0);
    cr_assert_eq(get_gpfn_from_mfn(h, a), 0x20);
    cr_assert_eq(type_of(d, 0x10), p2m_mmio_dm);
    cr_assert(mfn_eq(p2m_get_entry(d, _gfn(0x20), NULL, NULL), a));

    /* Put frame a over gfn 0x11: b is unmapped (M2P invalid, still d's). */
    cr_assert_eq(p2m_add_page(d, _gfn(0x11), a, p2m_ram_rw), 0);
    cr_assert_eq(get_gpfn_from_mfn(h, a), 0x11);
    cr_assert_eq(get_gpfn_from_mfn(h, b), INVALID_M2P_ENTRY);
    cr_assert_eq(type_of(d, 0x20), p2m_mmio_dm);
    cr_assert_eq(h->frames[mfn_x(b)].owner, d->id);
    cr_assert_eq(d->tot_pages, 2);

    /* Remove with the wrong frame is refused. */
    cr_assert_eq(p2m_remove_page(d, _gfn(0x11), b), -EILSEQ);
    cr_assert_eq(p2m_remove_page(d, _gfn(0x11), a), 0);
    cr_assert_eq(get_gpfn_from_mfn(h, a), INVALID_M2P_ENTRY);
    cr_assert_eq(type_of(d, 0x11), p2m_mmio_dm);
    cr_assert_eq(ept_raw(d, 0x11, 1), 0);
}

Test(sim, add_page_checks)
{
    struct domain *e = domain_create(h, "e", MAXGFN);
    mfn_t m = heap_alloc_page(h, e->id, PGU_GUEST);
    cr_assert_eq(p2m_add_page(d, _gfn(1), m, p2m_ram_rw), -EINVAL,
                 "not d's frame");
    cr_assert_eq(p2m_add_page(e, _gfn(MAXGFN), m, p2m_ram_rw), -EINVAL);
    cr_assert_eq(p2m_add_page(e, _gfn(1), m, p2m_map_foreign), -EINVAL);
    cr_assert_eq(guest_populate_page(e, _gfn(1), NULL), 0);
    cr_assert_eq(guest_populate_page(e, _gfn(1), NULL), -EEXIST);
}

/* The M2P says another gfn, but that gfn maps a different frame: leave it. */
Test(sim, add_page_stale_m2p_does_not_remove_other_mapping)
{
    mfn_t a = populate(d, 0x10);
    mfn_t b = heap_alloc_page(h, d->id, PGU_GUEST);
    set_gpfn_from_mfn(h, b, 0x10); /* stale */
    cr_assert_eq(p2m_add_page(d, _gfn(0x30), b, p2m_ram_rw), 0);
    cr_assert(mfn_eq(p2m_get_entry(d, _gfn(0x10), NULL, NULL), a));
    cr_assert_eq(get_gpfn_from_mfn(h, a), 0x10);
    cr_assert_eq(get_gpfn_from_mfn(h, b), 0x30);
}

Test(sim, guest_remove_page_frees)
{
    mfn_t m = populate(d, 0x10);
    uint64_t before = h->nr_free;
    cr_assert_eq(guest_remove_page(d, _gfn(0x10)), 0);
    cr_assert_eq(h->nr_free, before + 1);
    cr_assert_eq(h->frames[mfn_x(m)].use, PGU_FREE);
    cr_assert_eq(d->tot_pages, 0);
    cr_assert_eq(guest_remove_page(d, _gfn(0x10)), -ENOENT);
    cr_assert_eq(guest_remove_page(d, _gfn(0x9999)), -ENOENT);
}

Test(sim, set_type_replaces_ram)
{
    mfn_t m = populate(d, 0x10);
    cr_assert_eq(p2m_set_type(d, _gfn(0x10), p2m_mmio_dm), 0);
    cr_assert_eq(type_of(d, 0x10), p2m_mmio_dm);
    cr_assert_eq(h->frames[mfn_x(m)].use, PGU_FREE);
    cr_assert_eq(get_gpfn_from_mfn(h, m), INVALID_M2P_ENTRY);
    cr_assert_eq(p2m_set_type(d, _gfn(0x10), p2m_ram_rw), -EINVAL);
}


/* guest_remove_page() / set_type drop only PGC_allocated's reference: a
 * page the tool stack maps stays d's (tot_pages, not free, M2P INVALID)
 * until foreign_unmap()'s put_page() of the last reference frees it. */
Test(sim, removed_page_lives_until_last_reference)
{
    mfn_t m = populate(d, 0x10);
    mfn_t fm, n = populate(d, 0x11);
    cr_assert_eq(foreign_map_gfn(d, _gfn(0x10), &fm), 0);
    cr_assert_eq(foreign_map_gfn(d, _gfn(0x10), &fm), 0);
    cr_assert_eq(h->frames[mfn_x(m)].count, 3);
    uint64_t before = h->nr_free;
    cr_assert_eq(guest_remove_page(d, _gfn(0x10)), 0);
    cr_assert_eq(h->frames[mfn_x(m)].use, PGU_GUEST);
    cr_assert_eq(h->frames[mfn_x(m)].owner, d->id);
    cr_assert_eq(h->frames[mfn_x(m)].count, 2);
    cr_assert_eq(h->frames[mfn_x(m)].allocated, 0);
    cr_assert_eq(get_gpfn_from_mfn(h, m), INVALID_M2P_ENTRY);
    cr_assert_eq(d->tot_pages, 2);
    cr_assert_eq(h->nr_free, before);
    cr_assert_eq(foreign_unmap(d, m), 0);
    cr_assert_eq(h->frames[mfn_x(m)].use, PGU_GUEST);
    cr_assert_eq(foreign_unmap(d, m), 0);
    cr_assert_eq(h->frames[mfn_x(m)].use, PGU_FREE);
    cr_assert_eq(d->tot_pages, 1);
    cr_assert_eq(h->nr_free, before + 1);
    cr_assert_eq(foreign_unmap(d, m), -EINVAL);

    /* set_type of a mapped page: the same. */
    cr_assert_eq(foreign_map_gfn(d, _gfn(0x11), &fm), 0);
    cr_assert_eq(p2m_set_type(d, _gfn(0x11), p2m_mmio_dm), 0);
    cr_assert_eq(h->frames[mfn_x(n)].use, PGU_GUEST);
    cr_assert_eq(h->frames[mfn_x(n)].count, 1);
    cr_assert_eq(foreign_unmap(d, n), 0);
    cr_assert_eq(h->frames[mfn_x(n)].use, PGU_FREE);
    /* The allocation reference is never the mapper's to drop. */
    mfn_t k = populate(d, 0x12);
    cr_assert_eq(foreign_unmap(d, k), -EINVAL);
    cr_assert_eq(h->frames[mfn_x(k)].count, 1);
}

Test(sim, removed_page_freed_at_once_under_mutant)
{
    pagesim_mutants = MUT_FREE_REFERENCED;
    mfn_t m = populate(d, 0x10), fm;
    cr_assert_eq(foreign_map_gfn(d, _gfn(0x10), &fm), 0);
    cr_assert_eq(guest_remove_page(d, _gfn(0x10)), 0);
    cr_assert_eq(h->frames[mfn_x(m)].use, PGU_FREE);
    cr_assert_eq(foreign_unmap(d, m), -EINVAL);
}
Test(sim, change_type_one_and_global)
{
    populate(d, 1);
    populate(d, 0x40000); /* another L2 table */
    cr_assert_eq(p2m_change_type_one(d, _gfn(1), p2m_ram_logdirty, p2m_ram_rw),
                 -EBUSY);
    cr_assert_eq(p2m_change_type_one(d, _gfn(1), p2m_ram_rw, p2m_ram_logdirty),
                 0);
    cr_assert_eq(type_of(d, 1), p2m_ram_logdirty);
    cr_assert_eq(ept_raw(d, 1, 1) & RWX, EPT_R | EPT_X);
    p2m_change_entry_type_global(d, p2m_ram_rw, p2m_ram_logdirty);
    cr_assert_eq(type_of(d, 0x40000), p2m_ram_logdirty);
    p2m_change_entry_type_global(d, p2m_ram_logdirty, p2m_ram_rw);
    cr_assert_eq(type_of(d, 1), p2m_ram_rw);
    cr_assert_eq(type_of(d, 0x40000), p2m_ram_rw);
    cr_assert_eq(ept_raw(d, 0x40000, 1) & RWX, RWX);
}

Test(sim, hvm_copy)
{
    populate(d, 0x10);
    char out[6] = { 0 };
    cr_assert_eq(hvm_copy_to_guest_phys(d, _gpa(0x10ff0), "hello", 6), 0);
    cr_assert_eq(hvm_copy_from_guest_phys(d, out, _gpa(0x10ff0), 6), 0);
    cr_assert_str_eq(out, "hello");
    cr_assert_eq(hvm_copy_to_guest_phys(d, _gpa(0x10ffc), "hello", 6), -EINVAL);
    cr_assert_eq(hvm_copy_to_guest_phys(d, _gpa(0x11000), "hello", 6), -EFAULT);
    cr_assert_eq(hvm_copy_from_guest_phys(d, out, _gpa(0x11000), 6), -EFAULT);
}

Test(sim, hvm_copy_marks_dirty)
{
    populate(d, 0x10);
    cr_assert_eq(paging_log_dirty_enable(d), 0);
    uint64_t pages = MAXGFN;
    cr_assert_eq(paging_log_dirty_op(d, true, &pages, NULL, NULL), 0);
    cr_assert_not(peek_bit(d, 0x10));
    cr_assert_eq(hvm_copy_to_guest_phys(d, _gpa(0x10000), "x", 1), 0);
    cr_assert(peek_bit(d, 0x10));
    cr_assert_eq(type_of(d, 0x10), p2m_ram_logdirty, "type unchanged");
}

Test(sim, domain_destroy_returns_everything)
{
    uint64_t free0 = h->nr_free;
    struct domain *e = domain_create(h, "e", MAXGFN);
    cr_assert_eq(e->id, 1);
    populate(e, 1);
    mfn_t orphan = populate(e, 2);
    populate(e, 0x80000);
    cr_assert_eq(p2m_add_page(e, _gfn(2), populate(e, 3), p2m_ram_rw), 0);
    cr_assert_eq(h->frames[mfn_x(orphan)].owner, e->id);
    paging_log_dirty_enable(e);
    paging_mark_pfn_dirty(e, _gfn(5));
    domain_destroy(e);
    cr_assert_eq(h->nr_free, free0);
    cr_assert_null(h->domains[1]);
    /* The slot is reused. */
    e = domain_create(h, "f", 16);
    cr_assert_eq(e->id, 1);
}

/* ---- log-dirty ------------------------------------------------------------------ */

Test(sim, logdirty_enable_disable)
{
    populate(d, 0x10);
    cr_assert_eq(paging_log_dirty_disable(d), -EINVAL);
    cr_assert_eq(paging_log_dirty_enable(d), 0);
    cr_assert_eq(paging_log_dirty_enable(d), -EINVAL);
    cr_assert_eq(type_of(d, 0x10), p2m_ram_logdirty);
    cr_assert_eq(ept_raw(d, 0x10, 1) & EPT_W, 0);
    /* New RAM is born log-dirty. */
    populate(d, 0x11);
    cr_assert_eq(type_of(d, 0x11), p2m_ram_logdirty);
    cr_assert_eq(paging_log_dirty_disable(d), 0);
    cr_assert_eq(type_of(d, 0x10), p2m_ram_rw);
    cr_assert_eq(type_of(d, 0x11), p2m_ram_rw);
    cr_assert_eq(d->ld.allocs, 0);
    cr_assert(mfn_eq(d->ld.top, INVALID_MFN));
    uint64_t pages = 16;
    cr_assert_eq(paging_log_dirty_op(d, false, &pages, NULL, NULL), -EINVAL);
}

Test(sim, mark_dirty_allocates_lazily_once)
{
    /* Off: marks are no-ops. */
    paging_mark_pfn_dirty(d, _gfn(3));
    cr_assert_eq(d->ld.allocs, 0);

    cr_assert_eq(paging_log_dirty_enable(d), 0);
    cr_assert_eq(d->ld.allocs, 0, "top is allocated on first mark only");
    paging_mark_pfn_clean(d, _gfn(3));
    cr_assert_eq(d->ld.allocs, 0, "clean never allocates");

    uint64_t u = used();
    paging_mark_pfn_dirty(d, _gfn(3));
    cr_assert_eq(d->ld.allocs, 4, "top, L3, L2 node, leaf");
    cr_assert_eq(used(), u + 4);
    cr_assert_eq(d->ld.dirty_count, 1);
    cr_assert_eq(h->frames[mfn_x(d->ld.top)].use, PGU_LOGDIRTY);
    cr_assert_eq(h->frames[mfn_x(d->ld.top)].owner, d->id);

    paging_mark_pfn_dirty(d, _gfn(3));
    cr_assert_eq(d->ld.dirty_count, 1, "0->1 only");
    paging_mark_pfn_dirty(d, _gfn(4));
    cr_assert_eq(d->ld.allocs, 4);
    cr_assert_eq(d->ld.dirty_count, 2);
    /* Another leaf under the same L2 node. */
    paging_mark_pfn_dirty(d, _gfn(1ULL << 15));
    cr_assert_eq(d->ld.allocs, 5);
    /* A clean mark in a missing subtree allocates nothing. */
    paging_mark_pfn_clean(d, _gfn(1ULL << 24));
    cr_assert_eq(d->ld.allocs, 5);

    paging_mark_pfn_clean(d, _gfn(3));
    cr_assert_eq(d->ld.dirty_count, 2);
    paging_mark_pfn_clean(d, _gfn(3));
    cr_assert_eq(d->ld.dirty_count, 2, "1->0 only");
    cr_assert_not(peek_bit(d, 3));
    cr_assert(peek_bit(d, 4));

    cr_assert_eq(paging_log_dirty_disable(d), 0);
    cr_assert_eq(used(), u);
}

Test(sim, mark_dirty_by_mfn)
{
    mfn_t m = populate(d, 0x77);
    paging_log_dirty_enable(d);
    paging_mark_dirty(d, m);
    cr_assert(peek_bit(d, 0x77));
    cr_assert_eq(d->ld.dirty_count, 1);
}

Test(sim, peek_and_clean)
{
    for (uint64_t g = 0; g < 8; g++)
        populate(d, g);
    populate(d, 0x9000);
    cr_assert_eq(paging_log_dirty_enable(d), 0);
    paging_mark_pfn_dirty(d, _gfn(1));
    paging_mark_pfn_dirty(d, _gfn(6));
    paging_mark_pfn_dirty(d, _gfn(0x9000));

    static uint8_t bm[0x10000 / 8];
    memset(bm, 0xaa, sizeof(bm));
    uint64_t pages = 0x10000;
    struct log_dirty_stats st;
    cr_assert_eq(paging_log_dirty_op(d, false, &pages, bm, &st), 0);
    cr_assert_eq(pages, 0x10000);
    cr_assert_eq(st.dirty_count, 3);
    cr_assert_eq(st.fault_count, 0);
    cr_assert_eq(bm[0], 0x42);
    cr_assert_eq(bm[0x9000 / 8], 0x01);
    cr_assert_eq(bm[0x8000 / 8], 0, "missing leaf reads as zero");
    cr_assert_eq(bm[0xffff / 8], 0);

    /* Make gfn 2 rw as a write fault would, then CLEAN. */
    cr_assert_eq(p2m_change_type_one(d, _gfn(2), p2m_ram_logdirty, p2m_ram_rw),
                 0);
    memset(bm, 0xaa, sizeof(bm));
    pages = 0x10000;
    cr_assert_eq(paging_log_dirty_op(d, true, &pages, bm, &st), 0);
    cr_assert_eq(st.dirty_count, 3, "stats are from before the clean");
    cr_assert_eq(bm[0], 0x42, "CLEAN also returns the bitmap");
    cr_assert_eq(d->ld.dirty_count, 0);
    cr_assert_eq(type_of(d, 2), p2m_ram_logdirty, "CLEAN re-arms");
    cr_assert_eq(ept_raw(d, 2, 1) & EPT_W, 0);
    cr_assert_eq(d->ld.allocs, 5, "CLEAN frees no nodes");

    pages = 0x10000;
    cr_assert_eq(paging_log_dirty_op(d, false, &pages, bm, &st), 0);
    cr_assert_eq(st.dirty_count, 0);
    for (size_t i = 0; i < sizeof(bm); i++)
        cr_assert_eq(bm[i], 0, "byte %zu", i);
}

Test(sim, peek_partial_byte_and_truncation)
{
    paging_log_dirty_enable(d);
    paging_mark_pfn_dirty(d, _gfn(9));
    uint8_t bm[2] = { 0xff, 0xff };
    uint64_t pages = 9; /* bits 0..8, copied as two whole bytes */
    cr_assert_eq(paging_log_dirty_op(d, false, &pages, bm, NULL), 0);
    cr_assert_eq(pages, 9);
    cr_assert_eq(bm[1], 0x02, "the last byte carries bits past *pages");

    pages = (1ULL << 42) + 5;
    cr_assert_eq(paging_log_dirty_op(d, false, &pages, NULL, NULL), 0);
    cr_assert_eq(pages, 1ULL << 42);
    pages = ~0ULL;
    cr_assert_eq(paging_log_dirty_op(d, true, &pages, NULL, NULL), 0);
    cr_assert_eq(pages, 1ULL << 42);
}

Test(sim, peek_without_tree)
{
    paging_log_dirty_enable(d);
    uint8_t bm[4] = { 0xff, 0xff, 0xff, 0xff };
    uint64_t pages = 32;
    cr_assert_eq(paging_log_dirty_op(d, false, &pages, bm, NULL), 0);
    cr_assert_eq(bm[0] | bm[1] | bm[2] | bm[3], 0);
    cr_assert_eq(d->ld.allocs, 0);
}

/* Seed 001: removal marks the gfn clean, addition marks it dirty. */
Test(sim, remove_marks_clean_add_marks_dirty)
{
    mfn_t m = populate(d, 0x10);
    paging_log_dirty_enable(d);
    uint64_t pages = MAXGFN;
    paging_log_dirty_op(d, true, &pages, NULL, NULL);

    paging_mark_pfn_dirty(d, _gfn(0x10));
    cr_assert_eq(p2m_remove_page(d, _gfn(0x10), m), 0);
    cr_assert_not(peek_bit(d, 0x10));
    cr_assert_eq(d->ld.dirty_count, 0);

    cr_assert_eq(p2m_add_page(d, _gfn(0x20), m, p2m_ram_logdirty), 0);
    cr_assert(peek_bit(d, 0x20));
    cr_assert_eq(d->ld.dirty_count, 1);
    /* guest_populate_page goes through p2m_add_page too. */
    populate(d, 0x21);
    cr_assert(peek_bit(d, 0x21));
}

Test(sim, mutant_no_clean_on_remove)
{
    pagesim_mutants = MUT_NO_CLEAN_ON_REMOVE;
    mfn_t m = populate(d, 0x10);
    paging_log_dirty_enable(d);
    paging_mark_pfn_dirty(d, _gfn(0x10));
    cr_assert_eq(p2m_remove_page(d, _gfn(0x10), m), 0);
    cr_assert(peek_bit(d, 0x10), "stale dirty bit survives the removal");
    cr_assert_eq(get_gpfn_from_mfn(h, m), INVALID_M2P_ENTRY);
}

Test(sim, mutant_no_dirty_on_add)
{
    pagesim_mutants = MUT_NO_DIRTY_ON_ADD;
    paging_log_dirty_enable(d);
    populate(d, 0x10);
    cr_assert_not(peek_bit(d, 0x10));
    cr_assert_eq(d->ld.dirty_count, 0);
}

Test(sim, failed_allocation_path)
{
    populate(d, 0x10);
    paging_log_dirty_enable(d);
    /* Leave exactly two frames: top and L3 get allocated, L2 fails. */
    while (h->nr_free > 2)
        heap_alloc_page(h, DOMID_INVALID, PGU_GUEST);
    paging_mark_pfn_dirty(d, _gfn(0x10));
    cr_assert_eq(d->ld.allocs, 2);
    cr_assert_eq(d->ld.failed_allocs, 1);
    cr_assert_eq(d->ld.dirty_count, 0, "the mark is dropped");
    paging_mark_pfn_clean(d, _gfn(0x10));
    cr_assert_eq(d->ld.failed_allocs, 1, "clean marks do not allocate");

    uint64_t pages = 64;
    uint8_t bm[8];
    struct log_dirty_stats st = { 99, 99 };
    cr_assert_eq(paging_log_dirty_op(d, false, &pages, bm, &st), -ENOMEM);
    cr_assert_eq(st.dirty_count, 0, "stats are still reported");
    cr_assert_eq(paging_log_dirty_op(d, true, &pages, bm, NULL), -ENOMEM);

    cr_assert_eq(paging_log_dirty_disable(d), 0);
    cr_assert_eq(d->ld.failed_allocs, 0);
    cr_assert_eq(d->ld.allocs, 0);
    cr_assert_eq(h->nr_free, 2);
    /* Free enough for a full path and try again. */
    for (uint64_t m = 0; m < NFRAMES && h->nr_free < 4; m++)
        if (h->frames[m].owner == DOMID_INVALID && h->frames[m].use == PGU_GUEST)
            heap_free_page(h, _mfn(m));
    cr_assert_eq(paging_log_dirty_enable(d), 0);
    paging_mark_pfn_dirty(d, _gfn(0x10));
    cr_assert_eq(d->ld.failed_allocs, 0);
    cr_assert_eq(d->ld.allocs, 4);
    cr_assert(peek_bit(d, 0x10));
}

/* ---- EPT violations ----------------------------------------------------------- */

Test(sim, npf_logdirty_write)
{
    populate(d, 0x10);
    paging_log_dirty_enable(d);
    cr_assert_eq(hvm_hap_nested_page_fault(d, _gpa(0x10abc), EPTQ_WRITE,
                                           _gva(0)), NPF_RETRY);
    cr_assert(peek_bit(d, 0x10));
    cr_assert_eq(d->ld.dirty_count, 1);
    cr_assert_eq(type_of(d, 0x10), p2m_ram_rw);
    cr_assert_eq(ept_raw(d, 0x10, 1) & RWX, RWX);
    cr_assert_eq(d->ld.fault_count, 0, "HAP does not count faults");
}

Test(sim, npf_logdirty_write_mutant_no_mark)
{
    pagesim_mutants = MUT_LD_FAULT_NO_MARK;
    populate(d, 0x10);
    paging_log_dirty_enable(d);
    cr_assert_eq(hvm_hap_nested_page_fault(d, _gpa(0x10000), EPTQ_WRITE,
                                           _gva(0)), NPF_RETRY);
    cr_assert_not(peek_bit(d, 0x10));
    cr_assert_eq(type_of(d, 0x10), p2m_ram_rw);
}

Test(sim, npf_other_outcomes)
{
    populate(d, 0x10);
    paging_log_dirty_enable(d);
    cr_assert_eq(hvm_hap_nested_page_fault(d, _gpa(0x10000), EPTQ_READ,
                                           _gva(0)), NPF_CRASH);
    cr_assert_eq(hvm_hap_nested_page_fault(d, _gpa(0x99000), EPTQ_WRITE,
                                           _gva(0)), NPF_MMIO);
    /* ram_ro writes are emulated and discarded (issue 3), not a crash. */
    p2m_change_type_one(d, _gfn(0x10), p2m_ram_logdirty, p2m_ram_ro);
    cr_assert_eq(hvm_hap_nested_page_fault(d, _gpa(0x10000), EPTQ_WRITE,
                                           _gva(0)), NPF_DISCARD);
    cr_assert_eq(hvm_hap_nested_page_fault(d, _gpa(0x10000), EPTQ_FETCH,
                                           _gva(0)), NPF_CRASH);
}

/* Raw EPT entries (d:ept_set_raw): a 2 MiB leaf is read by get_entry as a
 * mapping of its range, split into 512 4 KiB leaves with the same bits
 * when the hypervisor sets one gfn below it (ept_split_super_page()), and
 * entries pointing at P2M tables cannot be dropped. */
Test(sim, raw_large_leaf_read_split_and_guarded)
{
    uint64_t leaf = 0x200000ULL | EPTE_SP | (6ULL << 3) | EPT_IPAT | 7;
    uint64_t v = 0;
    p2m_type_t t;
    cr_assert_eq(p2m_ept_raw_set(d, _gpa(0x200000), 2, leaf), 0);
    cr_assert_eq(p2m_ept_raw_get(d, _gpa(0x200000), 2, &v), 0);
    cr_assert_eq(v, leaf);
    cr_assert_eq(p2m_ept_raw_get(d, _gpa(0x200000), 1, &v), -ENOENT);
    mfn_t m = p2m_get_entry(d, _gfn(0x2a5), &t, NULL);
    cr_assert_eq(t, p2m_ram_rw);
    cr_assert_eq(mfn_x(m), 0x200 + 0xa5);
    cr_assert_geq(d->max_mapped_pfn, 0x3ff);
    /* Writing a level-1 entry below the large leaf is refused... */
    cr_assert_eq(p2m_ept_raw_set(d, _gpa(0x2a5000), 1, 0), -EEXIST);
    /* ...the hypervisor's p2m_set_entry() splits it. */
    unsigned pages = d->p2m_pages;
    cr_assert_eq(p2m_set_entry(d, _gfn(0x2a5), INVALID_MFN, p2m_mmio_dm,
                               p2m_access_rwx), 0);
    cr_assert_eq(d->p2m_pages, pages + 1);
    cr_assert_eq(p2m_ept_raw_get(d, _gpa(0x2a6000), 1, &v), 0);
    cr_assert_eq(v, (leaf & ~EPTE_SP & ~EPT_ADDR_MASK) | (0x2a6ULL << 12));
    cr_assert_eq(p2m_ept_raw_get(d, _gpa(0x2a5000), 1, &v), 0);
    cr_assert_eq(v, 0, "the one gfn set: mmio_dm without a frame is 0");
    m = p2m_get_entry(d, _gfn(0x3ff), &t, NULL);
    cr_assert_eq(mfn_x(m), 0x3ff);
    /* The PDE now points at a P2M table: a raw value must keep it. */
    cr_assert_eq(p2m_ept_raw_get(d, _gpa(0x200000), 2, &v), 0);
    cr_assert_eq(p2m_ept_raw_set(d, _gpa(0x200000), 2, 0), -EBUSY);
    cr_assert_eq(p2m_ept_raw_set(d, _gpa(0x200000), 2, v | EPTE_SP), -EBUSY);
    cr_assert_eq(p2m_ept_raw_set(d, _gpa(0x200000), 2, v & ~(uint64_t)EPT_W), 0);
    cr_assert_eq(p2m_ept_raw_set(d, _gpa(0x200000), 0, 0), -EINVAL);
    cr_assert_eq(p2m_ept_raw_set(d, _gpa(1ULL << 48), 1, 0), -EINVAL);
}
