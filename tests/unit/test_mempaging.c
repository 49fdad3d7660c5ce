/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_mempaging.c - sim/mem_paging.c and its hooks in p2m.c
 * and hvm.c against the transition table of xen-paging.md 2.3 and the
 * vm_event ring rules of 4.2.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "pagesim/mutant.h"
#include "pagesim/sim.h"

#define NFRAMES 256

static struct host *h;
static struct domain *d;
static uint8_t page[PAGE_SIZE];

static void setup(void)
{
    pagesim_mutants = 0;
    h = host_new(NFRAMES);
    cr_assert_not_null(h);
    d = domain_create(h, "d", 0x100);
    cr_assert_not_null(d);
    for (uint64_t g = 0; g < 0x20; g++)
        cr_assert_eq(guest_populate_page(d, _gfn(g), NULL), 0);
    memset(page, 0xab, sizeof page);
}

static void teardown(void)
{
    host_destroy(h);
}

TestSuite(mempaging, .init = setup, .fini = teardown);

static p2m_type_t type_of(uint64_t g)
{
    p2m_type_t t;
    p2m_get_entry(d, _gfn(g), &t, NULL);
    return t;
}

static mfn_t mfn_of(uint64_t g)
{
    return p2m_get_entry(d, _gfn(g), NULL, NULL);
}

Test(mempaging, no_ring_is_enodev)
{
    cr_assert_eq(mem_paging_nominate(d, _gfn(1)), -ENODEV);
    cr_assert_eq(mem_paging_evict(d, _gfn(1)), -ENODEV);
    cr_assert_eq(mem_paging_prep(d, _gfn(1), page), -ENODEV);
    struct vm_event_req r;
    cr_assert_eq(vm_event_get_request(d, &r), -ENODEV);
    cr_assert_eq(vm_event_paging_disable(d), -EINVAL);
    cr_assert_eq(vm_event_paging_enable(d), 0);
    cr_assert_eq(vm_event_paging_enable(d), -EBUSY);
    cr_assert_eq(d->paging.ring_size, VM_EVENT_RING_SLOTS);
}

Test(mempaging, nominate_evict_prep)
{
    cr_assert_eq(vm_event_paging_enable(d), 0);
    mfn_t m = mfn_of(5);
    cr_assert_eq(mem_paging_evict(d, _gfn(5)), -EBUSY);
    cr_assert_eq(mem_paging_nominate(d, _gfn(0x50)), -EBUSY);
    cr_assert_eq(mem_paging_nominate(d, _gfn(5)), 0);
    cr_assert_eq(type_of(5), p2m_ram_paging_out);
    cr_assert(mfn_eq(mfn_of(5), m));
    cr_assert_eq(mem_paging_nominate(d, _gfn(5)), -EBUSY);
    cr_assert_eq(mem_paging_prep(d, _gfn(5), page), -ENOENT);
    uint64_t tot = d->tot_pages;
    cr_assert_eq(mem_paging_evict(d, _gfn(5)), 0);
    cr_assert_eq(type_of(5), p2m_ram_paged);
    cr_assert(mfn_eq(mfn_of(5), INVALID_MFN));
    cr_assert_eq(h->frames[mfn_x(m)].use, PGU_FREE);
    cr_assert_eq(get_gpfn_from_mfn(h, m), INVALID_M2P_ENTRY);
    cr_assert_eq(d->paging.paged_pages, 1);
    cr_assert_eq(d->tot_pages, tot - 1);
    cr_assert_eq(mem_paging_prep(d, _gfn(5), NULL), -EINVAL);
    cr_assert_eq(mem_paging_prep(d, _gfn(5), page), 0);
    cr_assert_eq(type_of(5), p2m_ram_rw);
    mfn_t n = mfn_of(5);
    cr_assert_eq(get_gpfn_from_mfn(h, n), 5);
    cr_assert_eq(d->paging.paged_pages, 0);
    uint8_t got[8];
    cr_assert_eq(hvm_copy_from_guest_phys(d, got, _gpa(0x5000), 8), 0);
    cr_assert_eq(got[0], 0xab);
}

Test(mempaging, prep_under_logdirty_gives_logdirty)
{
    cr_assert_eq(vm_event_paging_enable(d), 0);
    cr_assert_eq(mem_paging_nominate(d, _gfn(3)), 0);
    cr_assert_eq(mem_paging_evict(d, _gfn(3)), 0);
    cr_assert_eq(paging_log_dirty_enable(d), 0);
    cr_assert_eq(mem_paging_prep(d, _gfn(3), page), 0);
    cr_assert_eq(type_of(3), p2m_ram_logdirty);
}

Test(mempaging, foreign_ref_blocks_nominate)
{
    cr_assert_eq(vm_event_paging_enable(d), 0);
    mfn_t m;
    cr_assert_eq(foreign_map_gfn(d, _gfn(2), &m), 0);
    cr_assert_eq(h->frames[mfn_x(m)].count, 2);
    cr_assert_eq(mem_paging_nominate(d, _gfn(2)), -EBUSY);
    cr_assert_eq(foreign_unmap(d, m), 0);
    cr_assert_eq(foreign_unmap(d, m), -EINVAL);
    cr_assert_eq(mem_paging_nominate(d, _gfn(2)), 0);
    pagesim_mutants = MUT_NOMINATE_IGNORE_REFS;
    cr_assert_eq(foreign_map_gfn(d, _gfn(4), &m), 0);
    cr_assert_eq(mem_paging_nominate(d, _gfn(4)), 0);
}

Test(mempaging, npf_populates_and_pauses_then_resume)
{
    cr_assert_eq(vm_event_paging_enable(d), 0);
    cr_assert_eq(mem_paging_nominate(d, _gfn(7)), 0);
    cr_assert_eq(mem_paging_evict(d, _gfn(7)), 0);
    cr_assert_eq(hvm_hap_nested_page_fault_vcpu(d, 1, _gpa(0x7000), EPTQ_READ,
                                                _gva(0)), NPF_PAUSED);
    cr_assert_eq(vcpu_run_state(d, 1), VCPU_PAUSED_PAGER);
    cr_assert_eq(type_of(7), p2m_ram_paging_in);
    cr_assert_eq(hvm_hap_nested_page_fault_vcpu(d, 2, _gpa(0x7000), EPTQ_READ,
                                                _gva(0)), NPF_SPIN);
    struct vm_event_req r;
    cr_assert_eq(vm_event_get_request(d, &r), 0);
    cr_assert_eq(r.gfn, 7);
    cr_assert_eq(r.p2mt, p2m_ram_paged);
    cr_assert_eq(r.vcpu_id, 1);
    cr_assert(r.flags & VM_EVENT_FLAG_VCPU_PAUSED);
    cr_assert_eq(vm_event_get_request(d, &r), -ENOENT);
    cr_assert_eq(mem_paging_prep(d, _gfn(7), page), 0);
    cr_assert_eq(vm_event_resume(d, &r), 0);
    cr_assert_eq(vcpu_run_state(d, 1), VCPU_RUNNABLE);
    cr_assert_eq(d->paging.pause_count[1], 0);
}

Test(mempaging, no_ring_populate_crashes)
{
    cr_assert_eq(vm_event_paging_enable(d), 0);
    cr_assert_eq(mem_paging_nominate(d, _gfn(7)), 0);
    cr_assert_eq(mem_paging_evict(d, _gfn(7)), 0);
    cr_assert_eq(vm_event_paging_disable(d), 0);
    cr_assert_eq(hvm_hap_nested_page_fault_vcpu(d, 0, _gpa(0x7000), EPTQ_READ,
                                                _gva(0)), NPF_CRASH);
}

Test(mempaging, copies_answer_eagain)
{
    cr_assert_eq(vm_event_paging_enable(d), 0);
    cr_assert_eq(mem_paging_nominate(d, _gfn(8)), 0);
    cr_assert_eq(mem_paging_evict(d, _gfn(8)), 0);
    uint64_t v = 1;
    cr_assert_eq(hvm_copy_to_guest_phys(d, _gpa(0x8000), &v, 8), -EAGAIN);
    cr_assert_eq(type_of(8), p2m_ram_paging_in);
    cr_assert_eq(hvm_copy_from_guest_phys(d, &v, _gpa(0x8000), 8), -EAGAIN);
    cr_assert_eq(vm_event_ring_used(d), 1);
    struct vm_event_req r;
    cr_assert_eq(vm_event_get_request(d, &r), 0);
    cr_assert(r.flags & VM_EVENT_FLAG_FOREIGN);
    cr_assert_eq(r.vcpu_id, VM_EVENT_NO_VCPU);
}

Test(mempaging, remove_paged_is_eilseq_upstream)
{
    cr_assert_eq(vm_event_paging_enable(d), 0);
    cr_assert_eq(mem_paging_nominate(d, _gfn(9)), 0);
    cr_assert_eq(mem_paging_evict(d, _gfn(9)), 0);
    cr_assert_eq(guest_remove_page(d, _gfn(9)), -EILSEQ);
    cr_assert_eq(type_of(9), p2m_ram_paged);
    cr_assert_eq(vm_event_ring_used(d), 0);
    /* paging_out is removed like RAM, without a notice. */
    cr_assert_eq(mem_paging_nominate(d, _gfn(10)), 0);
    cr_assert_eq(guest_remove_page(d, _gfn(10)), 0);
    cr_assert_eq(vm_event_ring_used(d), 0);
}

Test(mempaging, full_ring_vcpu_waits_and_drain_wakes)
{
    cr_assert_eq(vm_event_paging_enable(d), 0);
    for (uint64_t g = 0x10; g < 0x10 + VM_EVENT_RING_SLOTS; g++) {
        cr_assert_eq(mem_paging_nominate(d, _gfn(g)), 0);
        cr_assert_eq(p2m_mem_paging_populate(d, _gfn(g), VM_EVENT_NO_VCPU),
                     POP_SENT);
    }
    cr_assert_eq(mem_paging_nominate(d, _gfn(1)), 0);
    cr_assert_eq(p2m_mem_paging_populate(d, _gfn(1), VM_EVENT_NO_VCPU), POP_BUSY);
    cr_assert_eq(hvm_hap_nested_page_fault_vcpu(d, 0, _gpa(0x1000), EPTQ_READ,
                                                _gva(0)), NPF_WAIT_SLOT);
    cr_assert_eq(vcpu_run_state(d, 0), VCPU_WAIT_SLOT);
    cr_assert_eq(vm_event_paging_disable(d), -EBUSY);
    /* A drop with a full ring waits for a slot. */
    cr_assert_eq(guest_remove_page(d, _gfn(0x10)), 0);
    cr_assert_eq(d->paging.pending_drops, 1);
    struct vm_event_req r;
    cr_assert_eq(vm_event_get_request(d, &r), 0);
    cr_assert_eq(d->paging.pending_drops, 0);
    cr_assert_eq(vm_event_ring_used(d), VM_EVENT_RING_SLOTS);
    cr_assert_eq(vcpu_run_state(d, 0), VCPU_WAIT_SLOT, "the drop took the slot");
    cr_assert_eq(vm_event_get_request(d, &r), 0);
    cr_assert_eq(vcpu_run_state(d, 0), VCPU_RUNNABLE);
}

Test(mempaging, mutant_2011_loses_drops_and_never_wakes)
{
    pagesim_mutants = MUT_MEM_EVENT_2011;
    cr_assert_eq(vm_event_paging_enable(d), 0);
    cr_assert_eq(d->paging.ring_size, MEM_EVENT_RING_SLOTS_2011);
    dom_paging_w(d)->ring_size = 2; /* keep the test small */
    for (uint64_t g = 0x10; g < 0x12; g++) {
        cr_assert_eq(mem_paging_nominate(d, _gfn(g)), 0);
        cr_assert_eq(p2m_mem_paging_populate(d, _gfn(g), VM_EVENT_NO_VCPU),
                     POP_SENT);
    }
    cr_assert_eq(guest_remove_page(d, _gfn(0x10)), 0);
    cr_assert_eq(d->paging.lost, 1);
    cr_assert_eq(mem_paging_nominate(d, _gfn(1)), 0);
    cr_assert_eq(hvm_hap_nested_page_fault_vcpu(d, 0, _gpa(0x1000), EPTQ_READ,
                                                _gva(0)), NPF_WAIT_SLOT);
    struct vm_event_req r;
    while (!vm_event_get_request(d, &r))
        ;
    cr_assert_eq(vcpu_run_state(d, 0), VCPU_WAIT_SLOT, "stuck");
}

Test(mempaging, pagein_no_m2p_mutant)
{
    pagesim_mutants = MUT_PAGEIN_NO_M2P;
    cr_assert_eq(vm_event_paging_enable(d), 0);
    cr_assert_eq(mem_paging_nominate(d, _gfn(6)), 0);
    cr_assert_eq(mem_paging_evict(d, _gfn(6)), 0);
    cr_assert_eq(mem_paging_prep(d, _gfn(6), page), 0);
    cr_assert_eq(get_gpfn_from_mfn(h, mfn_of(6)), INVALID_M2P_ENTRY);
}

/* ---- allocator fault injection (heap.c) ----------------------------------------- */

Test(mempaging, fail_nth_allocation_and_domain)
{
    uint64_t free0 = h->nr_free;
    h->fail_at = h->alloc_attempts + 2;
    mfn_t a = heap_alloc_page(h, d->id, PGU_GUEST);
    cr_assert(!mfn_eq(a, INVALID_MFN));
    cr_assert(mfn_eq(heap_alloc_page(h, d->id, PGU_GUEST), INVALID_MFN));
    cr_assert(!mfn_eq(heap_alloc_page(h, d->id, PGU_GUEST), INVALID_MFN));
    cr_assert_eq(h->injected_failures, 1);
    cr_assert_eq(h->nr_free, free0 - 2);
    h->fail_domains = 1u << d->id;
    cr_assert(mfn_eq(heap_alloc_page(h, d->id, PGU_GUEST), INVALID_MFN));
    cr_assert(!mfn_eq(heap_alloc_page(h, DOMID_INVALID - 1, PGU_GUEST), INVALID_MFN));
}

Test(mempaging, logdirty_mark_dropped_on_failed_alloc)
{
    cr_assert_eq(paging_log_dirty_enable(d), 0);
    h->fail_domains = 1u << d->id;
    paging_mark_pfn_dirty(d, _gfn(5));
    cr_assert_eq(d->ld.failed_allocs, 1);
    cr_assert_eq(d->ld.failed_gfn[0], 5);
    cr_assert_eq(d->ld.dirty_count, 0);
    uint64_t pages = 0x10;
    h->fail_domains = 0;
    cr_assert_eq(paging_log_dirty_op(d, false, &pages, NULL, NULL), -ENOMEM);
    cr_assert_eq(paging_log_dirty_disable(d), 0);
    cr_assert_eq(d->ld.failed_allocs, 0);
}

/* ---- ram_ro (hvm.c, set_mem_type) ------------------------------------------------ */

Test(mempaging, ram_ro_writes_are_discarded)
{
    cr_assert_eq(hvm_set_mem_type(d, _gfn(3), p2m_ram_ro), 0);
    cr_assert_eq(type_of(3), p2m_ram_ro);
    cr_assert_eq(hvm_hap_nested_page_fault_vcpu(d, 0, _gpa(0x3000), EPTQ_WRITE,
                                                _gva(0)), NPF_DISCARD);
    uint64_t v = 7, got = 0;
    cr_assert_eq(hvm_copy_to_guest_phys(d, _gpa(0x3000), &v, 8), 0);
    cr_assert_eq(hvm_copy_from_guest_phys(d, &got, _gpa(0x3000), 8), 0);
    cr_assert_eq(got, 0, "the copy was discarded");
    cr_assert_eq(hvm_set_mem_type(d, _gfn(0x80), p2m_ram_ro), -EINVAL);
    cr_assert_eq(hvm_set_mem_type(d, _gfn(3), p2m_mmio_dm), -EINVAL);
    cr_assert_eq(paging_log_dirty_enable(d), 0);
    cr_assert_eq(hvm_set_mem_type(d, _gfn(3), p2m_ram_rw), 0);
    cr_assert_eq(type_of(3), p2m_ram_logdirty);
}
