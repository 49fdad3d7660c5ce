/* SPDX-License-Identifier: MIT */
/*
 * sim/hvm.c - the EPT-violation handler, and XEN_DMOP_set_mem_type.
 *
 * Models the log-dirty and MMIO paths of hvm_hap_nested_page_fault() in
 * xen/arch/x86/hvm/hvm.c, reached from vmx_vmexit_handler()'s
 * EXIT_REASON_EPT_VIOLATION.  Without PML, p2m_ram_logdirty entries are
 * read-only (ept_p2m_type_to_flags()), so the first guest write to a page
 * after log-dirty was enabled or cleaned lands here; the handler logs the
 * gfn and makes the page writable so later writes run at full speed.
 *
 * Outcomes:
 *   write to p2m_ram_logdirty  -> mark dirty, logdirty -> rw,  NPF_RETRY
 *   any access to p2m_mmio_dm  -> handle_mmio (device model),  NPF_MMIO
 *   write to p2m_ram_ro        -> emulated, write discarded,   NPF_DISCARD
 *   anything else              -> domain_crash(),              NPF_CRASH
 *
 * Paging types: see hvm_hap_nested_page_fault_vcpu().
 * A write to p2m_ram_shared unshares the page (mem_sharing.c) and retries.
 * mem_access violations: sim/monitor.c.  Not modelled (each would be
 * another outcome):
 * write-discard to grant_map_ro, ioreq_server, and
 * Xen's "spurious fault" rule that retries any other fault on a RAM type.
 */
#include "pagesim/mutant.h"
#include "sim-internal.h"

/* Returns what the vCPU does next; see the table above.  As vCPU 0. */
enum npf_result hvm_hap_nested_page_fault(struct domain *d, gpa_t gpa,
                                          uint64_t qual, gva_t gla)
{
    return hvm_hap_nested_page_fault_vcpu(d, 0, gpa, qual, gla);
}

/* The same for vCPU 'vcpu' of d ("current").  Paging types (mem_paging.c):
 *   ram_paged, ram_paging_out -> p2m_mem_paging_populate() after the gfn
 *       lock is dropped: the vCPU is paused until the pager's response
 *       (NPF_PAUSED), or sleeps for a ring slot (NPF_WAIT_SLOT), or, with
 *       no ring, the domain crashes;
 *   ram_paging_in -> not in hvm.c's "paged" test: rc = 1, the access is
 *       re-executed and faults again until prep completes (NPF_SPIN). */
/* The access-type switch of hvm_hap_nested_page_fault(): does the access
 * in the exit qualification (read, write, fetch bits) break a? */
static bool mem_access_violation(p2m_access_t a, uint64_t qual)
{
    bool r = qual & EPTQ_READ, w = qual & EPTQ_WRITE, x = qual & EPTQ_FETCH;
    switch (a) {
    case p2m_access_r:
        return w || x;
    case p2m_access_w:
        return r || x;
    case p2m_access_x:
        return r || w;
    case p2m_access_rx:
    case p2m_access_rx2rw:
        return w;
    case p2m_access_wx:
        return r;
    case p2m_access_rw:
        return x;
    case p2m_access_rwx:
        return false;
    default: /* n, n2rwx, anything else */
        return r || w || x;
    }
}

static enum npf_result npf_handle_type(struct domain *d, uint32_t vcpu,
                                       gfn_t gfn, p2m_type_t t, uint64_t qual,
                                       bool fall_through);

enum npf_result hvm_hap_nested_page_fault_vcpu(struct domain *d, uint32_t vcpu,
                                               gpa_t gpa, uint64_t qual,
                                               gva_t gla)
{
    gfn_t gfn = gpa_to_gfn(gpa);
    p2m_type_t t;
    p2m_access_t a;
    bool fall_through = false;

    mfn_t mfn = p2m_get_entry(d, gfn, &t, &a);

    /* get_gfn_type_access(P2M_ALLOC) populates a PoD entry before anything
     * else; then RAM's "spurious fault" path: a write under log-dirty is
     * logged and made writable.  Out of PoD memory: domain_crash(). */
    if (t == p2m_populate_on_demand) {
        if (!p2m_pod_demand_populate(d, gfn))
            return NPF_CRASH;
        p2m_get_entry(d, gfn, &t, NULL);
        if ((qual & EPTQ_WRITE) && t == p2m_ram_logdirty) {
            paging_mark_pfn_dirty(d, gfn);
            if (p2m_change_type_one(d, gfn, p2m_ram_logdirty, p2m_ram_rw))
                return NPF_CRASH;
        }
        return NPF_RETRY;
    }

    /* mem_access first, for entries with a frame (hvm.c "Check access
     * permissions first"): an access the p2m_access_t forbids goes to
     * p2m_mem_access_check() and monitor_traps() (sim/monitor.c): rx2rw
     * on a write is promoted to rw and the fault handled on as usual;
     * n2rwx becomes rwx and, with a listener, an async event is sent and
     * the fault handled on; other violations either pause the vCPU with a
     * sync request on the monitor ring, or (no listener) crash the domain
     * when access_required is set, else have the restriction cleared to
     * rwx and the access re-executed.  Not in a domain with raw EPT
     * entries (d:ept_set_raw): their access field (bits 62:59) is
     * whatever the scenario wrote, usually 0, which would read as
     * p2m_access_n; such domains keep the pre-mem_access handling. */
    if (!d->ept_raw && !mfn_eq(mfn, INVALID_MFN) &&
        mem_access_violation(a, qual)) {
        switch (p2m_mem_access_check(d, vcpu, gpa, gla, qual, a)) {
        case MA_FALL:
            fall_through = true;
            break;
        case MA_RETRY:
            return NPF_RETRY;
        case MA_PAUSED:
            return NPF_PAUSED;
        case MA_WAIT_SLOT:
            return NPF_WAIT_SLOT;
        case MA_CRASH:
            return NPF_CRASH;
        }
    }
    /* An async (n2rwx) event: the vCPU finishes handling the fault, then,
     * on the way out, sleeps in monitor_traps() if the monitor ring was
     * full, or is descheduled if vm_event_put_request() black-eyed it;
     * either way it does not re-execute the access now. */
    enum npf_result res = npf_handle_type(d, vcpu, gfn, t, qual, fall_through);
    if (res == NPF_RETRY && monitor_vcpu_state(d, vcpu) == MON_WAIT_SLOT)
        return NPF_WAIT_SLOT;
    if (res == NPF_RETRY && monitor_vcpu_state(d, vcpu) == MON_BLACK_EYE)
        return NPF_PAUSED;
    return res;
}

/* The rest of hvm_hap_nested_page_fault(), by the gfn's type. */
static enum npf_result npf_handle_type(struct domain *d, uint32_t vcpu,
                                       gfn_t gfn, p2m_type_t t, uint64_t qual,
                                       bool fall_through)
{
    if (t == p2m_ram_paged || t == p2m_ram_paging_out) {
        switch (p2m_mem_paging_populate(d, gfn, vcpu)) {
        case POP_SENT:
            return NPF_PAUSED;
        case POP_WAIT_SLOT:
            return NPF_WAIT_SLOT;
        case POP_CRASH:
            return NPF_CRASH;
        default:
            return NPF_RETRY;
        }
    }
    if (t == p2m_ram_paging_in)
        return NPF_SPIN;
    /* get_gfn_type_access(P2M_UNSHARE) on a write to a shared page:
     * mem_sharing_unshare_page(), then RAM's spurious-fault path (the
     * write is logged, the vCPU re-executes).  If no page could be had for
     * the copy, mem_sharing_notify_enomem() finds no sharing ring (none is
     * modelled) and the domain is crashed (mem_sharing.c). */
    if ((qual & EPTQ_WRITE) && t == p2m_ram_shared) {
        if (mem_sharing_unshare_page(d, gfn, 0))
            return NPF_CRASH;
        paging_mark_pfn_dirty(d, gfn);
        return NPF_RETRY;
    }
    /* p2m_is_discard_write(): handle_mmio_with_translation() emulates the
     * instruction and __hvm_copy() drops the write; the vCPU goes on. */
    if ((qual & EPTQ_WRITE) && t == p2m_ram_ro)
        return NPF_DISCARD;
    /* A write to an ioreq_server page (w = 0 when the server claims
     * writes): handle_mmio() forwards it to the ioreq server -- here, as
     * for mmio_dm, the device model that is not attached. */
    if ((qual & EPTQ_WRITE) && t == p2m_ioreq_server)
        return NPF_MMIO;

    if (t == p2m_mmio_dm)
        return NPF_MMIO;

    if ((qual & EPTQ_WRITE) && t == p2m_ram_logdirty) {
        /* Mark first, then make writable: once the entry is rw no further
         * fault would report this write. */
        if (!MUTANT(MUT_LD_FAULT_NO_MARK))
            paging_mark_pfn_dirty(d, gfn);
        if (p2m_change_type_one(d, gfn, p2m_ram_logdirty, p2m_ram_rw))
            return NPF_CRASH;
        return NPF_RETRY;
    }

    /* After an rx2rw promotion: the "spurious fault" path for RAM -- a
     * write marks the gfn dirty (a no-op unless log-dirty is on) and the
     * vCPU re-executes. */
    if (fall_through) {
        if ((qual & EPTQ_WRITE) && p2m_is_ram(t))
            paging_mark_pfn_dirty(d, gfn);
        return NPF_RETRY;
    }

    return NPF_CRASH;
}

/* ---- page-modification logging (Xen's vmx.c / vmcs.c) ------------------------ */

/* The log is filled downwards from entry 511 (SDM 29.3.6). */
#define PML_ENTRIES 512

int pml_vcpu_enable(struct domain *d, unsigned vcpu)
{
    if (vcpu >= SIM_MAX_VCPUS)
        return -EINVAL;
    if (!mfn_eq(d->pml_pg[vcpu], INVALID_MFN))
        return 0; /* already on */
    mfn_t m = heap_alloc_page(d->host, d->id, PGU_PML);
    if (mfn_eq(m, INVALID_MFN))
        return -ENOMEM;
    d->pml_pg[vcpu] = m;
    d->pml[vcpu].log = mfn_to_hpa(m);
    d->pml[vcpu].index = PML_ENTRIES - 1;
    return 0;
}

void pml_vcpu_flush(struct domain *d, unsigned vcpu)
{
    if (vcpu >= SIM_MAX_VCPUS || mfn_eq(d->pml_pg[vcpu], INVALID_MFN))
        return;
    struct mmu_pml *pl = &d->pml[vcpu];
    /* A full log has index 0xFFFF (decremented past 0): entries 0..511. */
    unsigned first = (uint16_t)(pl->index + 1);
    for (unsigned i = first; i < PML_ENTRIES; i++) {
        if (i == 0 && MUTANT(MUT_PML_FULL_DROPS_LAST))
            continue;
        uint64_t gpa = 0;
        hostmem_read64(d->host->mem, hpa_add(pl->log, 8ULL * i), &gpa);
        gfn_t gfn = gpa_to_gfn(_gpa(gpa));
        /* As vmx_vcpu_flush_pml_buffer(): retype, and mark even when the
         * retype fails (the gfn may have been changed meanwhile). */
        (void)p2m_change_type_one(d, gfn, p2m_ram_logdirty, p2m_ram_rw);
        paging_mark_pfn_dirty(d, gfn);
    }
    pl->index = PML_ENTRIES - 1;
}

void pml_domain_flush(struct domain *d)
{
    for (unsigned v = 0; v < d->nr_vcpus && v < SIM_MAX_VCPUS; v++)
        pml_vcpu_flush(d, v);
}

void pml_domain_disable(struct domain *d)
{
    for (unsigned v = 0; v < SIM_MAX_VCPUS; v++) {
        if (mfn_eq(d->pml_pg[v], INVALID_MFN))
            continue;
        heap_free_page(d->host, d->pml_pg[v]);
        d->pml_pg[v] = INVALID_MFN;
        d->pml[v].log = _hpa(0);
        d->pml[v].index = 0;
    }
    d->pml_on = false;
}

/* ---- XEN_DMOP_set_mem_type (hvm/dm.c set_mem_type()) ------------------------ */

int hvm_map_ioreq_server(struct domain *d, unsigned server, uint32_t flags)
{
    /* hvm_map_mem_type_to_ioreq_server(): only write forwarding exists
     * (a READ flag, or any other, is refused); get_ioreq_server(). */
    if (flags & ~XEN_DMOP_IOREQ_MEM_ACCESS_WRITE)
        return -EINVAL;
    if (server >= IOREQ_MAX_SERVERS)
        return -ENOENT;
    /* p2m_set_ioreq_server(): flags != 0 maps, refused while any server
     * holds the type (or, in Xen, ioreq_server entries of an unmapped one
     * remain: none here, the unmap below resets them at once). */
    if (flags) {
        if (d->ioreq.mapped || d->ioreq.entry_count)
            return -EBUSY;
        d->ioreq.mapped = true;
        d->ioreq.write = true;
        d->ioreq.server = server;
        return 0;
    }
    /* flags 0: the unmap, only by the server that mapped the type. */
    if (!d->ioreq.mapped || d->ioreq.server != server)
        return -EINVAL;
    d->ioreq.mapped = false;
    d->ioreq.write = false;
    d->ioreq.server = 0;
    if (d->ioreq.entry_count)
        p2m_change_entry_type_global(d, p2m_ioreq_server,
                                     d->ld.enabled ? p2m_ram_logdirty
                                                   : p2m_ram_rw);
    return 0;
}

int hvm_set_mem_type(struct domain *d, gfn_t gfn, p2m_type_t nt)
{
    p2m_type_t t;
    if ((nt != p2m_ram_rw && nt != p2m_ram_ro && nt != p2m_ioreq_server) ||
        gfn_x(gfn) >= d->max_gfn)
        return -EINVAL;
    p2m_get_entry(d, gfn, &t, NULL);
    if (p2m_is_paging(t)) {
        p2m_mem_paging_populate(d, gfn, VM_EVENT_NO_VCPU);
        return -EAGAIN;
    }
    /* allow_p2m_type_change(): RAM to RAM only here; ioreq_server only
     * from ram_rw (with a server mapped: p2m_get_ioreq_server()), and back
     * only to ram_rw. */
    if (nt == p2m_ioreq_server && (t != p2m_ram_rw || !d->ioreq.mapped))
        return -EINVAL;
    if (t == p2m_ioreq_server && nt != p2m_ram_rw)
        return -EINVAL;
    if (t != p2m_ram_rw && t != p2m_ram_ro && t != p2m_ram_logdirty &&
        t != p2m_ioreq_server)
        return -EINVAL;
    if (nt == p2m_ram_rw && d->ld.enabled)
        nt = p2m_ram_logdirty; /* what p2m_recalc_type() would make of it */
    if (t == nt)
        return 0;
    return p2m_change_type_one(d, gfn, t, nt);
}
