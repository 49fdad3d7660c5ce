/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_p2m.c - P2M superpages, access types and type classes
 * (sim/p2m-ept.c, sim/p2m.c, sim/heap.c, sim/hvm.c; issue 3, P2M half)
 * against Xen's p2m-ept.c (ept_set_entry(), ept_split_super_page(),
 * ept_get_entry()), mem_access.c and asm/p2m.h, as xen-paging.md 1.1-1.4
 * describe them.
 *
 * The host is large enough for one 1 GiB extent (2^18 frames, aligned).
 */
#include <criterion/criterion.h>
#include <string.h>

#include "pagesim/mutant.h"
#include "pagesim/sim.h"

#define NFRAMES 0x90000ULL
#define MAXGFN 0x80000ULL

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

TestSuite(p2m, .init = setup, .fini = teardown);

#define RWX (EPT_R | EPT_W | EPT_X)

/* Raw EPT entry of gfn at 'level' (4 = PML4E .. 1 = PTE); 0 if missing. */
static uint64_t raw(uint64_t gfn, int level)
{
    mfn_t table = d->ept_root;
    for (int l = 4;; l--) {
        uint64_t e = 0;
        unsigned idx = (gfn >> (9 * (l - 1))) & 511;
        hostmem_read64(h->mem, _hpa((mfn_x(table) << 12) + idx * 8), &e);
        if (l == level)
            return e;
        if (!(e & RWX) || (e & EPTE_SP))
            return 0;
        table = _mfn((e & EPT_ADDR_MASK) >> 12);
    }
}

static unsigned order_of(uint64_t gfn)
{
    unsigned o = 99;
    p2m_get_entry_order(d, _gfn(gfn), NULL, NULL, &o);
    return o;
}

static p2m_type_t type_of(uint64_t gfn)
{
    p2m_type_t t;
    p2m_get_entry(d, _gfn(gfn), &t, NULL);
    return t;
}

/* ---- type classes (asm/p2m.h) ------------------------------------------------ */

/* One row per p2m_type_t: ram paging pageable grant foreign shared mmio pod
 * readonly changeable special. */
static const struct {
    p2m_type_t t;
    bool c[11];
} classes[] = {
    { p2m_ram_rw,             { 1, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0 } },
    { p2m_invalid,            { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 } },
    { p2m_ram_logdirty,       { 1, 0, 1, 0, 0, 0, 0, 0, 1, 1, 0 } },
    { p2m_ram_ro,             { 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0 } },
    { p2m_mmio_dm,            { 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0 } },
    { p2m_mmio_direct,        { 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1 } },
    { p2m_populate_on_demand, { 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0 } },
    { p2m_grant_map_rw,       { 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1 } },
    { p2m_grant_map_ro,       { 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 1 } },
    { p2m_ram_paging_out,     { 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0 } },
    { p2m_ram_paged,          { 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0 } },
    { p2m_ram_paging_in,      { 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0 } },
    { p2m_ram_shared,         { 1, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0 } },
    { p2m_ram_broken,         { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 } },
    { p2m_map_foreign,        { 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1 } },
    { p2m_ioreq_server,       { 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0 } },
};

Test(p2m, type_class_table)
{
    bool (*const fn[11])(p2m_type_t) = {
        p2m_type_is_ram,      p2m_type_is_paging,   p2m_type_is_pageable,
        p2m_type_is_grant,    p2m_type_is_foreign,  p2m_type_is_shared,
        p2m_type_is_mmio,     p2m_type_is_pod,      p2m_type_is_readonly,
        p2m_type_is_changeable, p2m_type_is_special,
    };
    static const char *const name[11] = {
        "ram", "paging", "pageable", "grant", "foreign", "shared",
        "mmio", "pod", "readonly", "changeable", "special",
    };
    cr_assert_eq(sizeof classes / sizeof classes[0], P2M_NR_TYPES);
    for (unsigned i = 0; i < P2M_NR_TYPES; i++)
        for (unsigned c = 0; c < 11; c++)
            cr_expect_eq(fn[c](classes[i].t), classes[i].c[c], "%s(%s)",
                         name[c], p2m_type_name(classes[i].t));
}

Test(p2m, access_names_round_trip)
{
    for (int a = 0; a <= p2m_access_r_pw; a++)
        cr_assert_eq(p2m_access_from_name(p2m_access_name((p2m_access_t)a)), a);
    cr_assert_eq(p2m_access_from_name("rwxx"), -1);
    cr_assert_eq(p2m_access_from_name(NULL), -1);
}

/* ---- superpages ------------------------------------------------------------------ */

Test(p2m, populate_2m_writes_one_pde_leaf)
{
    mfn_t m;
    cr_assert_eq(guest_populate_extent(d, _gfn(0x200), 9, &m), 0);
    cr_assert_eq(mfn_x(m) % 512, 0);
    uint64_t pde = raw(0x200, 2);
    cr_assert(pde & EPTE_SP, "a 2 MiB leaf: sp set");
    cr_assert_eq(pde & RWX, RWX);
    cr_assert_eq((pde & EPT_ADDR_MASK) >> 12, mfn_x(m));
    cr_assert_eq(d->p2m_pages, 3, "root, PDPT, PD: no PT");
    for (uint64_t g = 0x200; g < 0x400; g += 0x7f) {
        cr_assert_eq(order_of(g), 9);
        cr_assert_eq(mfn_x(p2m_get_entry(d, _gfn(g), NULL, NULL)),
                     mfn_x(m) + g - 0x200);
        cr_assert_eq(get_gpfn_from_mfn(h, _mfn(mfn_x(m) + g - 0x200)), g);
    }
    cr_assert_eq(d->tot_pages, 512);
    cr_assert_eq(d->max_mapped_pfn, 0x3ff);
}

Test(p2m, populate_extent_errors)
{
    cr_assert_eq(guest_populate_extent(d, _gfn(0x201), 9, NULL), -EINVAL);
    cr_assert_eq(guest_populate_extent(d, _gfn(0x200), 5, NULL), -EINVAL);
    cr_assert_eq(guest_populate_extent(d, _gfn(MAXGFN - 0x100), 9, NULL),
                 -EINVAL);
    cr_assert_eq(guest_populate_page(d, _gfn(0x280), NULL), 0);
    cr_assert_eq(guest_populate_extent(d, _gfn(0x200), 9, NULL), -EEXIST);
    h->fail_at = h->alloc_attempts + 1;
    cr_assert_eq(guest_populate_extent(d, _gfn(0x400), 9, NULL), -ENOMEM);
    cr_assert_eq(type_of(0x400), p2m_mmio_dm);
}

Test(p2m, split_keeps_the_other_parts)
{
    mfn_t m;
    cr_assert_eq(guest_populate_extent(d, _gfn(0x200), 9, &m), 0);
    cr_assert_eq(p2m_set_mem_access(d, _gfn(0x2a0), p2m_access_r), 0);
    cr_assert_eq(d->p2m_pages, 4, "one PT from the split");
    cr_assert_eq(raw(0x200, 2) & EPTE_SP, 0, "the PDE is a table now");
    for (uint64_t g = 0x200; g < 0x400; g++) {
        p2m_access_t a;
        p2m_type_t t;
        mfn_t f = p2m_get_entry_order(d, _gfn(g), &t, &a, NULL);
        cr_assert_eq(order_of(g), 0);
        cr_assert_eq(t, p2m_ram_rw);
        cr_assert_eq(mfn_x(f), mfn_x(m) + g - 0x200);
        cr_assert_eq(a, g == 0x2a0 ? p2m_access_r : p2m_access_rwx);
    }
    cr_assert_eq(raw(0x2a0, 1) & RWX, EPT_R, "r-- for access r");
}

Test(p2m, failed_split_leaves_the_superpage)
{
    cr_assert_eq(guest_populate_extent(d, _gfn(0x200), 9, NULL), 0);
    uint64_t pde = raw(0x200, 2), used = h->nr_frames - h->nr_free;
    h->fail_at = h->alloc_attempts + 1;
    cr_assert_eq(guest_remove_page(d, _gfn(0x210)), -ENOMEM);
    cr_assert_eq(raw(0x200, 2), pde);
    cr_assert_eq(h->nr_frames - h->nr_free, used);
    cr_assert_eq(d->p2m_pages, 3);
    cr_assert_eq(type_of(0x210), p2m_ram_rw);
    cr_assert_eq(order_of(0x210), 9);
}

Test(p2m, split_of_1g_goes_all_the_way_down)
{
    mfn_t m;
    cr_assert_eq(guest_populate_extent(d, _gfn(0x40000), 18, &m), 0);
    cr_assert(raw(0x40000, 3) & EPTE_SP);
    cr_assert_eq(order_of(0x7ffff), 18);
    unsigned before = d->p2m_pages;
    cr_assert_eq(p2m_set_type(d, _gfn(0x40001), p2m_mmio_dm), 0);
    /* ept_split_super_page() splits every part down to the target. */
    cr_assert_eq(d->p2m_pages, before + 1 + 512);
    cr_assert_eq(order_of(0x7ffff), 0);
    cr_assert_eq(mfn_x(p2m_get_entry(d, _gfn(0x7ffff), NULL, NULL)),
                 mfn_x(m) + 0x3ffff);
    cr_assert_eq(type_of(0x40001), p2m_mmio_dm);
    /* No second aligned 1 GiB block on this host. */
    cr_assert_eq(guest_populate_extent(d, _gfn(0x00000), 18, NULL), -ENOMEM,
                 "only one 1 GiB block fits this host");
}

Test(p2m, failure_inside_a_1g_split_frees_the_partial_tree)
{
    cr_assert_eq(guest_populate_extent(d, _gfn(0x40000), 18, NULL), 0);
    unsigned before = d->p2m_pages;
    uint64_t nfree = h->nr_free;
    h->fail_at = h->alloc_attempts + 100; /* the 100th table of 513 */
    cr_assert_eq(p2m_set_mem_access(d, _gfn(0x40001), p2m_access_r), -ENOMEM);
    cr_assert_eq(d->p2m_pages, before);
    cr_assert_eq(h->nr_free, nfree);
    cr_assert_eq(order_of(0x40001), 18);
}

Test(p2m, mutant_split_loses_type)
{
    cr_assert_eq(guest_populate_extent(d, _gfn(0x200), 9, NULL), 0);
    cr_assert_eq(paging_log_dirty_enable(d), 0);
    cr_assert_eq(type_of(0x300), p2m_ram_logdirty);
    cr_assert_eq(order_of(0x300), 9, "retyped whole");
    pagesim_mutants = MUT_SPLIT_LOSES_TYPE;
    cr_assert_eq(p2m_change_type_one(d, _gfn(0x300), p2m_ram_logdirty,
                                     p2m_ram_rw), 0);
    cr_assert_eq(type_of(0x301), p2m_ram_rw, "the mutant's bug");
    pagesim_mutants = 0;
}

Test(p2m, logdirty_fault_splits)
{
    cr_assert_eq(guest_populate_extent(d, _gfn(0x200), 9, NULL), 0);
    cr_assert_eq(paging_log_dirty_enable(d), 0);
    cr_assert_eq(hvm_hap_nested_page_fault(d, _gpa(0x300123), EPTQ_WRITE | EPTQ_READABLE | EPTQ_EXECUTABLE,
                                           _gva(0)),
                 NPF_RETRY);
    cr_assert_eq(type_of(0x300), p2m_ram_rw);
    cr_assert_eq(type_of(0x301), p2m_ram_logdirty);
    cr_assert_eq(order_of(0x301), 0);
}

Test(p2m, heap_alloc_pages_keeps_lifo_of_the_rest)
{
    mfn_t a = heap_alloc_page(h, 0, PGU_GUEST);
    mfn_t b = heap_alloc_page(h, 0, PGU_GUEST);
    heap_free_page(h, a);
    heap_free_page(h, b);
    mfn_t big = heap_alloc_pages(h, 0, PGU_GUEST, 9);
    cr_assert_eq(mfn_x(big) % 512, 0);
    cr_assert(mfn_x(big) >= 512, "frames 0..511 are not all free");
    cr_assert_eq(mfn_x(heap_alloc_page(h, 0, PGU_GUEST)), mfn_x(b), "LIFO");
    cr_assert_eq(mfn_x(heap_alloc_page(h, 0, PGU_GUEST)), mfn_x(a));
    h->fail_domains = 1;
    cr_assert(mfn_eq(heap_alloc_pages(h, 0, PGU_GUEST, 9), INVALID_MFN));
}

Test(p2m, teardown_returns_superpage_frames)
{
    uint64_t nfree = h->nr_free;
    cr_assert_eq(guest_populate_extent(d, _gfn(0x200), 9, NULL), 0);
    cr_assert_eq(guest_populate_extent(d, _gfn(0x40000), 18, NULL), 0);
    domain_destroy(d);
    d = NULL;
    cr_assert_eq(h->nr_free, nfree + 1, "+ the root of the destroyed domain");
}

/* ---- access types and mem_access faults ---------------------------------------- */

Test(p2m, set_access_and_violation_clears_it)
{
    cr_assert_eq(guest_populate_page(d, _gfn(5), NULL), 0);
    cr_assert_eq(p2m_set_mem_access(d, _gfn(5), p2m_access_r), 0);
    cr_assert_eq(raw(5, 1) & RWX, EPT_R);
    cr_assert_eq(hvm_hap_nested_page_fault(d, _gpa(0x5000), EPTQ_WRITE | EPTQ_READABLE,
                                           _gva(0)),
                 NPF_RETRY);
    p2m_access_t a;
    p2m_get_entry(d, _gfn(5), NULL, &a);
    cr_assert_eq(a, p2m_access_rwx, "no listener: restriction cleared");
    cr_assert_eq(p2m_set_mem_access(d, _gfn(5), p2m_access_rx2rw), 0);
    cr_assert_eq(hvm_hap_nested_page_fault(d, _gpa(0x5000), EPTQ_WRITE | EPTQ_READABLE,
                                           _gva(0)),
                 NPF_RETRY);
    p2m_get_entry(d, _gfn(5), NULL, &a);
    cr_assert_eq(a, p2m_access_rw, "rx2rw promoted");
    cr_assert_eq(p2m_set_mem_access(d, _gfn(5), p2m_access_r_pw), -EINVAL);
}

Test(p2m, mutant_access_ignored)
{
    pagesim_mutants = MUT_ACCESS_IGNORED;
    cr_assert_eq(ept_p2m_type_to_flags(p2m_ram_rw, p2m_access_n), RWX);
    cr_assert_eq(ept_p2m_type_to_flags(p2m_ram_ro, p2m_access_n), EPT_R | EPT_X);
    pagesim_mutants = 0;
}

/* ---- populate-on-demand ------------------------------------------------------- */

Test(p2m, pod_cache_is_fifo_and_populates_on_fault)
{
    cr_assert_eq(p2m_pod_mark(d, _gfn(0x10)), 0);
    cr_assert_eq(p2m_pod_mark(d, _gfn(0x11)), 0);
    cr_assert_eq(p2m_pod_mark(d, _gfn(0x10)), -EEXIST);
    cr_assert_eq(d->pod.entry_count, 2);
    cr_assert_eq(raw(0x10, 1) & RWX, 0, "a PoD entry is not present");
    cr_assert_eq(hvm_hap_nested_page_fault(d, _gpa(0x10000), EPTQ_READ, _gva(0)),
                 NPF_CRASH, "empty cache: out of PoD memory");
    cr_assert_eq(p2m_pod_set_target(d, 3), 0);
    mfn_t first = p2m_pod_cache_at(d, 0), second = p2m_pod_cache_at(d, 1);
    mfn_t third = p2m_pod_cache_at(d, 2);
    cr_assert_eq(hvm_hap_nested_page_fault(d, _gpa(0x11000), EPTQ_READ, _gva(0)),
                 NPF_RETRY);
    cr_assert_eq(mfn_x(p2m_get_entry(d, _gfn(0x11), NULL, NULL)), mfn_x(first),
                 "taken from the head");
    cr_assert_eq(get_gpfn_from_mfn(h, first), 0x11);
    cr_assert_eq(mfn_x(p2m_pod_cache_at(d, 0)), mfn_x(second));
    cr_assert_eq(d->pod.entry_count, 1);
    cr_assert_eq(d->pod.count, 2);
    cr_assert_eq(guest_remove_page(d, _gfn(0x10)), 0, "decrease_reservation of PoD");
    cr_assert_eq(d->pod.entry_count, 0);
    cr_assert_eq(p2m_pod_set_target(d, 1), 0);
    cr_assert_eq(mfn_x(p2m_pod_cache_at(d, 0)), mfn_x(third), "shrunk from the head");
    cr_assert(mfn_eq(p2m_pod_cache_at(d, 1), INVALID_MFN));
}

/* set_mmio_p2m_entry(): a device frame (beyond host RAM) mapped
 * mmio_direct, rwx, UC with ipat, no page_info/M2P involved; the domctl's
 * checks and set_typed_p2m_entry()'s special-entry rule; clear. */
Test(p2m, mmio_direct_set_and_clear)
{
    mfn_t dev = _mfn(NFRAMES + 0x10);
    uint64_t nfree = h->nr_free, tables = d->p2m_pages;
    cr_assert_eq(p2m_set_mmio(d, _gfn(0x40), dev, p2m_access_rwx), 0);
    uint64_t e = raw(0x40, 1);
    cr_assert_eq(e & RWX, RWX);
    cr_assert_eq((e & EPTE_EMT_MASK) >> EPTE_EMT_SHIFT, EPT_MT_UC);
    cr_assert(e & EPTE_IPAT);
    cr_assert_eq((e & EPT_ADDR_MASK) >> 12, mfn_x(dev));
    p2m_type_t t;
    cr_assert(mfn_eq(p2m_get_entry(d, _gfn(0x40), &t, NULL), dev));
    cr_assert_eq(t, p2m_mmio_direct);
    cr_assert_eq(nfree - h->nr_free, d->p2m_pages - tables,
                 "no frame but the EPT tables is taken");
    /* Errors. */
    cr_assert_eq(p2m_set_mmio(d, _gfn(0x41), _mfn(5), p2m_access_rwx), -EPERM);
    cr_assert_eq(p2m_set_mmio(d, _gfn(0x41), _mfn(1ULL << 34), p2m_access_rwx), -EINVAL);
    cr_assert_eq(p2m_set_mmio(d, _gfn(MAXGFN), dev, p2m_access_rwx), -EINVAL);
    cr_assert_eq(p2m_set_mmio(d, _gfn(0x40), mfn_add(dev, 1), p2m_access_rwx), -EPERM);
    cr_assert_eq(guest_remove_page(d, _gfn(0x40)), -EPERM);
    cr_assert_eq(p2m_set_type(d, _gfn(0x40), p2m_mmio_dm), -EPERM);
    /* The same mapping: the access only. */
    cr_assert_eq(p2m_set_mmio(d, _gfn(0x40), dev, p2m_access_r), 0);
    cr_assert_eq(raw(0x40, 1) & RWX, EPT_R);
    /* Over RAM: removed and freed. */
    mfn_t m;
    cr_assert_eq(guest_populate_page(d, _gfn(0x42), &m), 0);
    cr_assert_eq(p2m_set_mmio(d, _gfn(0x42), mfn_add(dev, 2), p2m_access_rwx), 0);
    cr_assert_eq(h->frames[mfn_x(m)].use, PGU_FREE);
    cr_assert_eq(get_gpfn_from_mfn(h, m), INVALID_M2P_ENTRY);
    /* Clear: a different frame only warns. */
    bool mismatch = false;
    cr_assert_eq(p2m_clear_mmio(d, _gfn(0x43), dev, &mismatch), -EINVAL);
    cr_assert_eq(p2m_clear_mmio(d, _gfn(0x42), dev, &mismatch), 0);
    cr_assert(mismatch);
    cr_assert_eq(raw(0x42, 1), 0);
    cr_assert_eq(p2m_clear_mmio(d, _gfn(0x40), dev, &mismatch), 0);
    cr_assert(!mismatch);
    cr_assert_eq(p2m_clear_mmio(d, _gfn(0x40), dev, NULL), -EINVAL);
}

Test(p2m, mutant_mmio_direct_wb)
{
    pagesim_mutants = MUT_MMIO_DIRECT_WB;
    cr_assert_eq(p2m_set_mmio(d, _gfn(0x40), _mfn(NFRAMES), p2m_access_rwx), 0);
    uint64_t e = raw(0x40, 1);
    cr_assert_eq((e & EPTE_EMT_MASK) >> EPTE_EMT_SHIFT, EPT_MT_WB);
    cr_assert(!(e & EPTE_IPAT));
}

/* XEN_DMOP_map_mem_type_to_ioreq_server: only the WRITE flag maps, 0
 * unmaps, one server at a time, the unmap only by the mapped server. */
Test(p2m, ioreq_server_flags_and_servers)
{
    const uint32_t W = XEN_DMOP_IOREQ_MEM_ACCESS_WRITE;
    cr_assert_eq(hvm_map_ioreq_server(d, 1, XEN_DMOP_IOREQ_MEM_ACCESS_READ), -EINVAL);
    cr_assert_eq(hvm_map_ioreq_server(d, 1, W | XEN_DMOP_IOREQ_MEM_ACCESS_READ), -EINVAL);
    cr_assert_eq(hvm_map_ioreq_server(d, IOREQ_MAX_SERVERS, W), -ENOENT);
    cr_assert_eq(hvm_map_ioreq_server(d, 1, 0), -EINVAL);
    cr_assert_eq(hvm_map_ioreq_server(d, 1, W), 0);
    cr_assert(d->ioreq.mapped && d->ioreq.write);
    cr_assert_eq(d->ioreq.server, 1);
    cr_assert_eq(hvm_map_ioreq_server(d, 2, W), -EBUSY);
    cr_assert_eq(hvm_map_ioreq_server(d, 2, 0), -EINVAL);
    mfn_t m;
    cr_assert_eq(guest_populate_page(d, _gfn(0x10), &m), 0);
    cr_assert_eq(hvm_set_mem_type(d, _gfn(0x10), p2m_ioreq_server), 0);
    cr_assert_eq(raw(0x10, 1) & RWX, EPT_R);
    cr_assert_eq(hvm_map_ioreq_server(d, 1, 0), 0);
    cr_assert(!d->ioreq.mapped);
    cr_assert_eq(d->ioreq.entry_count, 0);
    cr_assert_eq(raw(0x10, 1) & RWX, RWX);
    cr_assert_eq(hvm_map_ioreq_server(d, 2, W), 0);
}
