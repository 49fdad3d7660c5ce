/* SPDX-License-Identifier: MIT */
/*
 * pagesim/sim.h - the hypervisor paging core, modelled on Xen's x86 mm
 * (sim/heap.c, sim/p2m.c, sim/p2m-ept.c, sim/paging.c, sim/hvm.c).
 *
 *   host    one machine: sparse host memory, a heap of order-0 frames with a
 *           page_info per frame (owner, use), the global M2P table
 *           (machine_to_phys_mapping[]), and up to SIM_MAX_DOMAINS domains.
 *   domain  a HVM guest with a P2M that *is* an EPT (as p2m-ept.c): entries
 *           are real EPT entries written into host memory, with Xen's
 *           permission bits and p2m type in software bits 57:52; and the
 *           log-dirty state (radix tree of host frames, paging.c).  With
 *           hap = "npt" (p2m_set_hap()) the P2M is in Xen's p2m-pt format
 *           instead (p2m-pt.c): ordinary long-mode PTEs walked as AMD NPT,
 *           type in bits 58:52; every P2M call below goes to the backend.
 *
 * Nothing here knows about Lua, SQLite or the oracle.  Functions return 0 or
 * a negative errno as Xen does.  Read-only fields of these structs may be
 * read by the oracle/ (as data); only sim/ writes them.
 */
#ifndef PAGESIM_SIM_H
#define PAGESIM_SIM_H

#include <errno.h>
#include "pagesim/hostmem.h"
#include "pagesim/mmu.h"

#define SIM_MAX_DOMAINS 16

/* p2m_type_t, values as Xen's asm/p2m.h. */
typedef enum {
    p2m_ram_rw = 0,             /* Normal read/write guest RAM */
    p2m_invalid = 1,            /* Nothing mapped here */
    p2m_ram_logdirty = 2,       /* Temporarily read-only for log-dirty */
    p2m_ram_ro = 3,             /* Read-only; writes silently dropped */
    p2m_mmio_dm = 4,            /* Reads and writes go to the device model */
    p2m_mmio_direct = 5,        /* Read/write mapping of genuine MMIO area */
    p2m_populate_on_demand = 6, /* Place-holder for empty memory */
    p2m_grant_map_rw = 7,
    p2m_grant_map_ro = 8,
    p2m_ram_paging_out = 9,     /* Memory that is being paged out */
    p2m_ram_paged = 10,         /* Memory that has been paged out */
    p2m_ram_paging_in = 11,     /* Memory that is being paged in */
    p2m_ram_shared = 12,        /* Shared or sharable memory */
    p2m_ram_broken = 13,        /* Broken page; access crashes the domain */
    p2m_map_foreign = 14,       /* RAM pages from a foreign domain */
    p2m_ioreq_server = 15,
    P2M_NR_TYPES
} p2m_type_t;

/* p2m_access_t, values as Xen's xen/mem_access.h. */
typedef enum {
    p2m_access_n = 0, p2m_access_r = 1, p2m_access_w = 2, p2m_access_rw = 3,
    p2m_access_x = 4, p2m_access_rx = 5, p2m_access_wx = 6,
    p2m_access_rwx = 7, p2m_access_rx2rw = 8, p2m_access_n2rwx = 9,
    p2m_access_r_pw = 10,
} p2m_access_t;

const char *p2m_type_name(p2m_type_t t);
int p2m_type_from_name(const char *name); /* -1 if unknown */

/* Type-class predicates (asm/p2m.h P2M_*_TYPES masks). */
#define p2m_to_mask(t) (1UL << (t))
#define P2M_RAM_TYPES                                                          \
    (p2m_to_mask(p2m_ram_rw) | p2m_to_mask(p2m_ram_logdirty) |                 \
     p2m_to_mask(p2m_ram_ro) | p2m_to_mask(p2m_ram_paging_out) |               \
     p2m_to_mask(p2m_ram_paged) | p2m_to_mask(p2m_ram_paging_in) |             \
     p2m_to_mask(p2m_ram_shared) | p2m_to_mask(p2m_ioreq_server))
#define P2M_MMIO_TYPES (p2m_to_mask(p2m_mmio_dm) | p2m_to_mask(p2m_mmio_direct))
#define P2M_GRANT_TYPES                                                        \
    (p2m_to_mask(p2m_grant_map_rw) | p2m_to_mask(p2m_grant_map_ro))
#define P2M_PAGEABLE_TYPES                                                     \
    (p2m_to_mask(p2m_ram_rw) | p2m_to_mask(p2m_ram_logdirty))
#define p2m_is_ram(t) (p2m_to_mask(t) & P2M_RAM_TYPES)
#define p2m_is_mmio(t) (p2m_to_mask(t) & P2M_MMIO_TYPES)
#define p2m_is_grant(t) (p2m_to_mask(t) & P2M_GRANT_TYPES)
#define p2m_is_pageable(t) (p2m_to_mask(t) & P2M_PAGEABLE_TYPES)

/* The type-class predicates of asm/p2m.h as functions (sim/p2m.c), one per
 * class, for code and tests that want a bool rather than a mask; the unit
 * test tests/unit/test_sim.c holds the table of every type x class.
 *   ram       P2M_RAM_TYPES: rw, logdirty, ro, paging_out/paged/paging_in,
 *             shared, ioreq_server
 *   paging    paging_out, paged, paging_in
 *   pageable  rw, logdirty (what nominate accepts)
 *   grant     grant_map_rw/ro;  foreign  map_foreign;  shared  ram_shared
 *   mmio      mmio_dm, mmio_direct;  pod  populate_on_demand
 *   readonly  P2M_RO_TYPES: logdirty, ro, grant_map_ro, shared
 *   changeable  rw, logdirty, ioreq_server (global type changes)
 *   special   grant, foreign, mmio_direct (P2M_SPECIAL_TYPES) */
bool p2m_type_is_ram(p2m_type_t t);
bool p2m_type_is_paging(p2m_type_t t);
bool p2m_type_is_pageable(p2m_type_t t);
bool p2m_type_is_grant(p2m_type_t t);
bool p2m_type_is_foreign(p2m_type_t t);
bool p2m_type_is_shared(p2m_type_t t);
bool p2m_type_is_mmio(p2m_type_t t);
bool p2m_type_is_pod(p2m_type_t t);
bool p2m_type_is_readonly(p2m_type_t t);
bool p2m_type_is_changeable(p2m_type_t t);
bool p2m_type_is_special(p2m_type_t t);

/* p2m_access_t names as xenmem_access_t spells them ("n", "r", "w", "rw",
 * "x", "rx", "wx", "rwx", "rx2rw", "n2rwx", "r_pw"); -1 if unknown. */
const char *p2m_access_name(p2m_access_t a);
int p2m_access_from_name(const char *name);

/* Page orders of P2M entries (PAGE_ORDER_4K/2M/1G). */
#define PAGE_ORDER_4K 0
#define PAGE_ORDER_2M 9
#define PAGE_ORDER_1G 18

/* ---- host: frames, heap, M2P --------------------------------------------- */

/* What a host frame is used for. */
enum page_use {
    PGU_FREE = 0,
    PGU_GUEST,    /* guest RAM owned by page_info.owner */
    PGU_P2M,      /* EPT table page of owner's P2M (paging pool) */
    PGU_LOGDIRTY, /* log-dirty radix-tree node or leaf (paging pool), or
                     the flat bitmap of logdirty_mode "bitmap" */
    PGU_XEN,      /* held by the hypervisor (owner DOMID_XEN): frames taken
                     by heap_fragment() to break the heap into single frames */
    PGU_PML,      /* a vCPU's page-modification log (vmx pml_pg) */
};

/* Xen's struct page_info, reduced to what the skeleton needs. */
struct page_info {
    domid_t owner;      /* DOMID_INVALID when free */
    uint8_t use;        /* enum page_use */
    uint32_t count;     /* references; 1 for an allocated page */
    /* PGC_allocated: the owner's allocation reference is one of 'count'.
     * guest_remove_page() / p2m_set_type() drop it (heap_put_alloc_ref());
     * a page others still reference stays the owner's, out of the P2M,
     * until the last heap_put_page() frees it. */
    uint8_t allocated;
};

struct domain;

struct host {
    struct hostmem *mem;
    uint64_t nr_frames;
    struct page_info *frames;  /* [nr_frames] */
    uint64_t *m2p;             /* machine_to_phys_mapping[nr_frames] */
    uint64_t *free_stack;      /* free frames; pop from the top */
    uint64_t nr_free;
    uint64_t allocs, frees;    /* lifetime counters */
    /* Allocation fault injection: the allocation attempt numbered fail_at
     * (counted by alloc_attempts, from 1) fails, and so does every
     * allocation for a domain in fail_domains (bit per domid). */
    uint64_t alloc_attempts, fail_at, injected_failures;
    uint32_t fail_domains;
    /* Higher-order requests that found no free aligned block. */
    uint64_t order_failures;
    uint64_t xen_frames;       /* PGU_XEN frames (heap_fragment) */
    struct domain *domains[SIM_MAX_DOMAINS];
    /* One past the highest slot of domains[] in use (domain_create() /
     * domain_destroy()): loops over the domains stop there. */
    unsigned dom_end;
    /* Memory sharing (mem_sharing.c): per frame the sharing handle of a
     * shared frame (page->sharing->handle; 0: not shared), the last handle
     * handed out (next_handle), the reverse map of every shared frame
     * (page->sharing->gfns: one <domain, gfn> entry per sharer, in the
     * order they were added), nr_shared_mfns and nr_saved_mfns. */
    uint64_t *shr_handle;      /* [nr_frames] */
    uint64_t shr_next_handle;
    struct shr_rmap { uint64_t mfn, gfn; domid_t dom; } *shr_rmap;
    size_t shr_nrmap, shr_caprmap;
    int64_t shr_shared_mfns, shr_saved_mfns;
    /* Change counters of the domains' paging and monitor parts (every
     * domain's d->paging, d->monitor): each writer bumps one through
     * dom_paging_w() / dom_monitor_w() below, and so do domain_create()
     * and domain_destroy().  oracle_check()'s memo (oracle/check.c)
     * serialises those parts again only when a counter moved; host_new()
     * starts them at a value no other host of the process had. */
    uint64_t gen_paging, gen_monitor;
};

struct host *host_new(uint64_t nr_frames);
void host_destroy(struct host *h);
/* alloc_domheap_page(): a zeroed frame for 'owner' with 'use', or
 * INVALID_MFN when the heap is empty. */
mfn_t heap_alloc_page(struct host *h, domid_t owner, enum page_use use);
/* free_domheap_pages() + mark_page_free(): owner cleared and M2P entry set
 * to INVALID_M2P_ENTRY (the fix of seed 002 patch 06/12, c/s 22706). */
void heap_free_page(struct host *h, mfn_t m);
/* alloc_domheap_pages(d, order): 2^order contiguous frames, the first one
 * aligned to 2^order (a buddy block), all for 'owner' with 'use'; the first
 * mfn, or INVALID_MFN (empty/fragmented heap, or an injected failure).
 * order 0 is heap_alloc_page(). */
#define HEAP_MAX_ORDER 20
mfn_t heap_alloc_pages(struct host *h, domid_t owner, enum page_use use,
                       unsigned order);
/* put_page() of a guest frame: one reference less; the last one frees it
 * (free_domheap_page(), M2P cleared).  A frame without references is left
 * alone. */
void heap_put_page(struct host *h, mfn_t m);
/* guest_remove_page()'s test_and_clear_bit(_PGC_allocated) + put_page():
 * the owner's allocation reference goes; the frame is freed now only if
 * nobody else (tool-stack foreign map, another domain's foreign or grant
 * entry) holds a reference. */
void heap_put_alloc_ref(struct host *h, mfn_t m);
/* free_domheap_pages(pg, order): every frame of the block back. */
void heap_free_pages(struct host *h, mfn_t m, unsigned order);
/* The largest order with a free aligned block, or -1 if the heap is empty. */
int heap_max_free_order(const struct host *h);
/* Fragments the heap on purpose: of the free frames, only those with
 * mfn % every == 0 stay free; the others become PGU_XEN frames (owner
 * DOMID_XEN), as if the hypervisor had scattered allocations over the
 * heap.  every >= 2 leaves no free block of order > 0.  Returns the
 * frames taken. */
uint64_t heap_fragment(struct host *h, uint64_t every);
/* set_gpfn_from_mfn() / get_gpfn_from_mfn() */
void set_gpfn_from_mfn(struct host *h, mfn_t m, uint64_t gfn);
uint64_t get_gpfn_from_mfn(const struct host *h, mfn_t m);

/* ---- domains --------------------------------------------------------------- */

/* d->arch.paging.log_dirty (Xen asm/domain.h). */
struct log_dirty {
    bool enabled;             /* paging_mode_log_dirty(d) */
    mfn_t top;                /* L4 node, INVALID_MFN until first mark */
    unsigned allocs;          /* node + leaf pages allocated */
    unsigned failed_allocs;
    uint64_t dirty_count;     /* bits set */
    /* gfns whose dirty mark was dropped, by failed_allocs % N (harness
     * bookkeeping, not Xen state) */
#define LOGDIRTY_FAILED_GFNS 8
    uint64_t failed_gfn[LOGDIRTY_FAILED_GFNS];
    uint64_t fault_count;
    /* Domain options (domain{ logdirty_mode =, logdirty_conservative = }):
     * the flat bitmap of the design before the radix tree (Xen before c/s
     * 16393, 2007), and the 2007 seed's sh_mfn_is_dirty() answering
     * "dirty" for every gfn once an allocation has failed. */
    bool bitmap_mode;
    bool conservative;
    /* harness bookkeeping: the last CLEAN asked for fewer pages than the
     * domain has, or was preempted (marks in between land in the part
     * already walked), so bits may remain while dirty_count is 0 (Xen
     * zeroes it at the end whatever happened); invariant I3 waits for a
     * full CLEAN in one call */
    bool partial_clean;
    mfn_t bitmap;             /* first frame of the flat bitmap, or INVALID */
    unsigned bitmap_order;    /* the bitmap is 2^order contiguous frames */
    uint64_t bitmap_size;     /* bits: max gpfn + 1 rounded up to 64 */
    /* d->arch.paging.preempt: a PEEK/CLEAN preempted with -ERESTART, to be
     * resumed by its continuation; the domain stays paused meanwhile. */
    struct {
        bool active;          /* preempt.dom != NULL */
        bool clean;           /* preempt.op */
        unsigned i4, i3;      /* preempt.log_dirty.i4/i3: where to resume */
        uint64_t done;        /* preempt.log_dirty.done: pfns walked */
    } preempt;
};

/* ---- vm_event ring and mem paging state (mem_paging.c) -------------------- */

#define SIM_MAX_VCPUS 64               /* per domain */
#define VM_EVENT_RING_SLOTS 8          /* __CONST_RING_SIZE(vm_event, 4096) */
#define MEM_EVENT_RING_SLOTS_2011 64   /* 40-byte mem_event_request_t */
#define VM_EVENT_RING_MAX 64

/* struct vm_event_paging flags (public/vm_event.h) */
#define MEM_PAGING_DROP_PAGE (1u << 0)
#define MEM_PAGING_EVICT_FAIL (1u << 1)
/* vm_event request/response flags */
#define VM_EVENT_FLAG_VCPU_PAUSED (1u << 0)
#define VM_EVENT_FLAG_FOREIGN (1u << 1)
/* vcpu_id of a request made by no vCPU of the domain (a foreign caller:
 * tool stack, hypervisor copy, foreign mapping). */
#define VM_EVENT_NO_VCPU 0xFFFFFFFFu

/* vm_event_request_t / vm_event_response_t, paging part only. */
struct vm_event_req {
    uint64_t gfn;
    uint32_t p2mt;    /* type when the event was raised */
    uint32_t pflags;  /* MEM_PAGING_* */
    uint32_t flags;   /* VM_EVENT_FLAG_* */
    uint32_t vcpu_id; /* VM_EVENT_NO_VCPU for foreign requests */
};

/* A guest vCPU as the paging code sees it. */
enum vcpu_run_state {
    VCPU_RUNNABLE = 0,
    VCPU_PAUSED_PAGER, /* vm_event_vcpu_pause(): waiting for the response */
    VCPU_WAIT_SLOT,    /* on ved->wq: waiting for a free ring slot */
    VCPU_PAUSED_MONITOR, /* vm_event_vcpu_pause() for a sync mem_access
                          * event: waiting for the listener's response */
};

/*
 * The paging vm_event ring (d->vm_event_paging) with its requests, and
 * per-vCPU pause state.  Slots are claimed and filled in one step here
 * (no operation yields between vm_event_claim_slot() and
 * vm_event_put_request()), so a slot is either free or holds a request.
 * Responses are consumed at once by vm_event_resume().
 */
struct mem_paging {
    bool ring_enabled;
    unsigned ring_size;       /* slots */
    unsigned req_cons, nreq;  /* circular queue of pending requests */
    struct vm_event_req req[VM_EVENT_RING_MAX];
    unsigned pending_drops;   /* drop notices waiting for a slot */
    struct vm_event_req drops[VM_EVENT_RING_MAX];
    uint64_t lost;            /* events lost on a full ring (2011 mutant) */
    int64_t paged_pages;      /* d->paged_pages (atomic_t: can go below 0) */
    uint8_t vcpu_state[SIM_MAX_VCPUS];  /* enum vcpu_run_state */
    uint32_t pause_count[SIM_MAX_VCPUS]; /* v->vm_event_pause_count */
};

/* ---- the vm_event monitor ring for mem_access (monitor.c) ------------------- */

/* struct vm_event_mem_access flags (public/vm_event.h). */
#define MEM_ACCESS_R (1u << 0)
#define MEM_ACCESS_W (1u << 1)
#define MEM_ACCESS_X (1u << 2)
#define MEM_ACCESS_GLA_VALID (1u << 3)
#define MEM_ACCESS_FAULT_WITH_GLA (1u << 4)
#define MEM_ACCESS_FAULT_IN_GPT (1u << 5)

/* A VM_EVENT_REASON_MEM_ACCESS request (vm_event_request_t with its
 * u.mem_access payload) and, echoed, the listener's response.  'access'
 * is not in Xen's payload: it is the p2m_access_t the violation was
 * checked against, which a listener learns with xc_get_mem_access(). */
struct mem_access_req {
    uint64_t gfn;
    uint64_t gla;      /* valid with MEM_ACCESS_GLA_VALID, else 0 */
    uint32_t offset;   /* gpa & 0xfff */
    uint32_t maflags;  /* MEM_ACCESS_* */
    uint32_t flags;    /* VM_EVENT_FLAG_* */
    uint32_t access;   /* p2m_access_t at the violation */
    uint32_t vcpu_id;
};

/* Why a vCPU is held by the monitor ring besides a vm_event pause. */
enum monitor_vcpu_state {
    MON_NONE = 0,
    MON_WAIT_SLOT, /* monitor_traps() asleep in vm_event_wait_slot() */
    MON_BLACK_EYE, /* vm_event_mark_and_pause(): paused until a slot frees */
};

/*
 * d->vm_event_monitor as the mem_access listener uses it.  A slot is in
 * use from vm_event_put_request() until Xen consumes the listener's
 * response (RING_FREE_REQUESTS counts req_prod_pvt - rsp_cons): requests
 * still on the ring (nreq) plus requests the listener took and has not
 * answered (taken).  Claim and put are one step, as for the paging ring.
 */
struct vm_event_monitor {
    bool ring_enabled;
    bool access_required;     /* p2m->access_required */
    unsigned ring_size;
    unsigned req_cons, nreq;  /* circular queue of unread requests */
    struct mem_access_req req[VM_EVENT_RING_MAX];
    unsigned taken;           /* read by the listener, not yet answered */
    /* vCPUs asleep on ved->wq, in the order they slept, with the request
     * each will put once woken (wait_event() then vm_event_put_request()). */
    unsigned nwait;
    uint32_t waitq[SIM_MAX_VCPUS];
    struct mem_access_req wait_req[SIM_MAX_VCPUS];
    uint8_t vstate[SIM_MAX_VCPUS]; /* enum monitor_vcpu_state */
    unsigned blocked;         /* ved->blocked: black-eyed vCPUs */
    unsigned last_vcpu_wake_up;
    uint64_t events, black_eyes, crashes; /* counters for d:monitor() */
};

/* p2m->pod (p2m-pod.c), order-0 pages only: the cache of pages PoD entries
 * are populated from, a FIFO as Xen's pod.single list (added at the tail,
 * taken from the head), and the number of PoD entries in the P2M. */
struct pod {
    uint64_t entry_count;   /* p2m->pod.entry_count */
    uint64_t count;         /* p2m->pod.count: pages in the cache */
    uint64_t head;          /* index of the first page in cache[] */
    uint64_t cap;
    uint64_t *cache;        /* mfns, [head, head + count) modulo cap */
};

struct domain {
    struct host *host;
    domid_t id;
    char name[32];
    uint64_t max_gfn;         /* gfns valid: [0, max_gfn) */
    mfn_t ept_root;           /* EPT PML4 frame: the P2M */
    uint64_t max_mapped_pfn;  /* highest gfn ever set (p2m->max_mapped_pfn) */
    unsigned p2m_pages;       /* EPT table frames in use, root included */
    uint64_t tot_pages;       /* guest RAM frames owned */
    struct log_dirty ld;
    struct mem_paging paging; /* mem_paging.c */
    /* Failure injection for P2M updates (harness, not Xen state): when
     * non-zero, counts down on every p2m_set_entry*() and the one that
     * reaches 0 fails with -ENOMEM before writing anything.  It stands for
     * upstream's failure sources of ept_set_entry() beyond the EPT pages
     * this model allocates (IOMMU map/unmap with non-shared tables, altp2m
     * propagation), so that callers' error paths run (evict, reference
     * 2.4.3). */
    unsigned p2m_fail_in;
    struct pod pod;           /* p2m-pod.c */
    /* p2m->ioreq: the ioreq server the p2m_ioreq_server type is mapped to
     * (one at most), whether it claims writes
     * (XEN_DMOP_IOREQ_MEM_ACCESS_WRITE: the entries lose w), and the
     * number of ioreq_server entries. */
    struct {
        bool mapped, write;
        uint64_t entry_count;
        unsigned server; /* p2m->ioreq.server's id while mapped */
    } ioreq;
    /* EPTP bit 6: the processor sets EPT accessed/dirty flags (SDM
     * 29.3.5); guest paging-structure accesses then count as EPT writes. */
    bool ept_ad;
    /* Dirty tracking by page-modification logging instead of write
     * protection (pml_mode, needs ept_ad; Xen: vmx_domain_pml_enabled()).
     * While log-dirty is on (pml_on) every vCPU has a 512-entry log page
     * and its PML index (the VMCS GUEST_PML_INDEX), and ram_logdirty
     * leaves are writable with D clear: the processor logs each gpa whose
     * EPT D flag it sets.  nr_vcpus: vCPU ids 0..nr_vcpus-1 exist. */
    bool pml_mode, pml_on;
    unsigned nr_vcpus;
    /* p2m_ept_raw_set() wrote an entry: the EPT holds entries the
     * hypervisor did not write (hw-replay cannot mirror them). */
    bool ept_raw;
    mfn_t pml_pg[SIM_MAX_VCPUS];
    /* hap = "npt" (p2m_set_hap()): the P2M is in Xen's p2m-pt format
     * (sim/p2m-pt.c, ordinary long-mode PTEs, type in bits 58:52) and the
     * vCPUs walk it as AMD nested paging (model/npt.c), with #NPF exits;
     * ept_root is then nCR3's frame.  false: EPT (p2m-ept.c). */
    bool npt;
    struct mmu_pml pml[SIM_MAX_VCPUS];
    /* Memory sharing (mem_sharing.c): XEN_DOMCTL_MEM_SHARING_CONTROL
     * (d->arch.hvm.mem_sharing.enabled) and d->shr_pages (the rmap entries
     * naming this domain: its gfns backed by a shared frame). */
    bool sharing_enabled;
    uint64_t shr_pages;
    struct vm_event_monitor monitor; /* monitor.c */
    /* Shadow paging (domain hap = "none"; Xen: !hap_enabled(d), the code
     * in xen/arch/x86/mm/shadow/): the processor walks shadow tables that
     * compose the guest's tables with this P2M (model/ept.c), P2M refusals
     * are #PFs the hypervisor intercepts.  The P2M stays the EPT-format
     * tables under ept_root as the hypervisor's own structure; no EPTP
     * points at it.  Mem paging (vm_event_paging_enable()) is refused. */
    bool shadow;
};

/* d->paging / d->monitor for writing: the host's change counter first
 * (see struct host).  A write to those parts that bypasses these is a
 * write the reused checks may not see until the next full check, whose
 * cross-check reports it (oracle.memo). */
static inline struct mem_paging *dom_paging_w(struct domain *d)
{
    d->host->gen_paging++;
    return &d->paging;
}

static inline struct vm_event_monitor *dom_monitor_w(struct domain *d)
{
    d->host->gen_monitor++;
    return &d->monitor;
}

/* Creates a domain with an empty P2M (root table allocated). NULL when the
 * heap is empty or all slots are used. */
struct domain *domain_create(struct host *h, const char *name, uint64_t max_gfn);
/* Frees guest RAM, the P2M tables and the log-dirty tree. */
void domain_destroy(struct domain *d);
/* The domain's HAP flavour (Xen picks it from the host CPU: EPT on VMX,
 * NPT on SVM, p2m_initialise() -> ept_p2m_init() / p2m_pt_init()): npt
 * selects the p2m-pt backend.  Only while the P2M is still empty (nothing
 * ever mapped, no vCPU, log-dirty off): 0, or -EBUSY. */
int p2m_set_hap(struct domain *d, bool npt);

/* ---- P2M (p2m.c, p2m-ept.c) -------------------------------------------------- */

/* EPT entry software fields used by Xen's p2m-ept (ept_entry_t). */
#define EPTE_EMT_SHIFT 3
#define EPTE_EMT_MASK (7ULL << EPTE_EMT_SHIFT)
#define EPTE_IPAT (1ULL << 6)
#define EPTE_SP (1ULL << 7)
#define EPTE_RECALC (1ULL << 10)
#define EPTE_P2MT_SHIFT 52
#define EPTE_P2MT_MASK (0x3FULL << EPTE_P2MT_SHIFT)
#define EPTE_ACCESS_SHIFT 59
#define EPTE_ACCESS_MASK (0xFULL << EPTE_ACCESS_SHIFT)
#define EPT_MT_WB 6
/* Uncacheable: what epte_get_entry_emt() gives a frame that is not RAM
 * (!mfn_valid(), a device frame mapped p2m_mmio_direct), with ipat. */
#define EPT_MT_UC 0

/* ept_p2m_type_to_flags(): the r/w/x bits Xen gives type t under access a.
 * (This host has no EPT A/D and no PML in the skeleton.) */
uint64_t ept_p2m_type_to_flags(p2m_type_t t, p2m_access_t a);

/* p2m_type_to_flags() of p2m-pt.c (sim/p2m-pt.c): the PTE bits Xen gives
 * a leaf of type t in an NPT P2M -- P|U|A|D (P2M_BASE_FLAGS), RW, PCD, NX
 * (bit 63) and the type in bits 58:52.  A write-claiming ioreq server of
 * d removes RW from ioreq_server (d may be NULL: none). */
uint64_t pt_p2m_type_to_flags(const struct domain *d, p2m_type_t t);

/* p2m_set_entry(): 4 KiB entry gfn -> (mfn, t, a), allocating intermediate
 * tables from the heap.  0, -EINVAL (gfn out of range), -ENOMEM. */
int p2m_set_entry(struct domain *d, gfn_t gfn, mfn_t mfn, p2m_type_t t,
                  p2m_access_t a);
/* ept_set_entry() of an entry of 2^order gfns (order 0, 9 or 18) at an
 * aligned gfn (mfn aligned too, or INVALID_MFN): a 4 KiB, 2 MiB or 1 GiB
 * leaf.  A superpage that covers gfn is split first (ept_split_super_page():
 * every part gets the superpage's type, access and its slice of the frames;
 * the split allocates table pages from the heap); a table where the new
 * leaf goes is freed.  0, -EINVAL (range outside [0, max_gfn), misaligned,
 * bad order), -ENOMEM (a table or a split could not be allocated: nothing
 * changed, the superpage intact). */
int p2m_set_entry_order(struct domain *d, gfn_t gfn, mfn_t mfn, unsigned order,
                        p2m_type_t t, p2m_access_t a);
/* p2m_get_entry() plus the order (0, 9, 18) of the entry mapping gfn; mfn
 * is gfn's own frame inside a superpage. */
mfn_t p2m_get_entry_order(const struct domain *d, gfn_t gfn, p2m_type_t *t,
                          p2m_access_t *a, unsigned *order);
/* ept_get_entry(): mfn of gfn with its type and access.  Unmapped gfns and
 * gfns above max_mapped_pfn give INVALID_MFN, p2m_mmio_dm, p2m_access_n as
 * Xen's get_entry does. */
mfn_t p2m_get_entry(const struct domain *d, gfn_t gfn, p2m_type_t *t,
                    p2m_access_t *a);
/* p2m_get_entry()'s mfn and type for a run of lookups with no P2M write
 * between them (a tool's scan over gfns, the pager's victim choice): the
 * EPT walk down to the leaf table is kept in *r across the run, so a
 * lookup in the same 512-gfn block reads only its leaf.  Same results as
 * p2m_get_entry() while the P2M is unchanged: p2m_run_reset(r) before the
 * run and after anything that may write the P2M (any hypervisor op). */
struct p2m_run {
    const struct domain *d;
    uint64_t blk;   /* gfn >> 9 of the block walked */
    const uint8_t *leaf; /* its leaf table's bytes (level 1; NULL: zeros) */
    uint64_t e;     /* or the superpage / absent entry the walk stopped at */
    int level;
    bool valid;
};
static inline void p2m_run_reset(struct p2m_run *r) { r->valid = false; }
mfn_t p2m_get_entry_run(const struct domain *d, struct p2m_run *r, gfn_t gfn,
                        p2m_type_t *t);
/* p2m_add_page() (was guest_physmap_add_entry): map a frame owned by d at
 * gfn with type t; fixes the M2P and marks the gfn dirty (seed 001).  An
 * existing RAM mapping at gfn is removed first.  0 or -errno. */
int p2m_add_page(struct domain *d, gfn_t gfn, mfn_t mfn, p2m_type_t t);
/* p2m_remove_entry() (was p2m_remove_page): unmap gfn, which must map mfn;
 * M2P -> INVALID, gfn marked clean (seed 001).  0 or -errno. */
int p2m_remove_page(struct domain *d, gfn_t gfn, mfn_t mfn);
/* p2m_change_type_one(): ot -> nt at gfn; -EBUSY if the type is not ot. */
int p2m_change_type_one(struct domain *d, gfn_t gfn, p2m_type_t ot,
                        p2m_type_t nt);
/* p2m_change_entry_type_global(): every ot entry becomes nt.  (Xen defers
 * this through EMT=7 misconfigurations; the skeleton changes eagerly.) */
void p2m_change_entry_type_global(struct domain *d, p2m_type_t ot,
                                  p2m_type_t nt);
/* set_mmio_p2m_entry()/p2m_set_entry for a non-RAM type (mmio_dm, invalid)
 * at an unmapped-or-RAM gfn; a RAM page there is removed and its
 * allocation reference dropped (freed unless others hold references).  */
int p2m_set_type(struct domain *d, gfn_t gfn, p2m_type_t t);

/* paddr_bits of the modelled host (CPUID 0x80000008 of the intel-skylake
 * profile): XEN_DOMCTL_memory_mapping refuses frames at or above it. */
#define HOST_PADDR_BITS 46
/* set_mmio_p2m_entry() (XEN_DOMCTL_memory_mapping, map_mmio_regions()) for
 * one 4 KiB gfn: d's gfn maps the device frame mfn -- a frame outside host
 * RAM, so no page_info, no M2P, no reference, no dirty logging -- as
 * p2m_mmio_direct (EPT r w x, UC with ipat) with access a.  Through
 * set_typed_p2m_entry(): a RAM page at gfn is removed (M2P INVALID, marked
 * clean) and released as p2m_set_type() releases it; a PoD entry is counted
 * off; the same mapping again only changes the access (0 if equal).
 * 0, -EINVAL (bad gfn or access, mfn beyond HOST_PADDR_BITS), -EPERM (mfn
 * is host RAM: iomem_access_permitted() fails; or gfn holds a grant,
 * foreign or other mmio_direct mapping, where Xen also crashes the
 * domain), -ENOMEM. */
int p2m_set_mmio(struct domain *d, gfn_t gfn, mfn_t mfn, p2m_access_t a);
/* clear_mmio_p2m_entry(): gfn must be mmio_direct with a frame (-EINVAL
 * otherwise); the entry becomes p2m_invalid.  A different mfn than the
 * entry's is only warned about by Xen: *mismatch (may be NULL) is set and
 * the entry is cleared anyway.  0, -EINVAL, -ENOMEM. */
int p2m_clear_mmio(struct domain *d, gfn_t gfn, mfn_t mfn, bool *mismatch);

/* Raw EPT entries (a scenario editing the EPT by hand, p2m-ept.c): write
 * or read the entry for gpa at level 1 (PTE) .. 4 (PML4E).  set creates
 * missing tables above; 0, -EINVAL, -EEXIST (a large leaf above maps gpa),
 * -EBUSY (the entry points at a table and value would drop it), -ENOMEM.  get: 0, -EINVAL, -ENOENT (no table at that level). */
int p2m_ept_raw_set(struct domain *d, gpa_t gpa, unsigned level, uint64_t value);
int p2m_ept_raw_get(const struct domain *d, gpa_t gpa, unsigned level,
                    uint64_t *value);

/* Raw NPT entries of an NPT domain (p2m-pt.c), as p2m_ept_raw_set() /
 * p2m_ept_raw_get() for the EPT (d->ept_raw is set: the nested tables
 * hold entries the hypervisor did not write). */
int p2m_npt_raw_set(struct domain *d, gpa_t gpa, unsigned level, uint64_t value);
/* p2m_pt_handle_deferred_changes() (sim/p2m-pt.c): on a #NPF with P set in
 * EXITINFO1, resolve the recalc markers of the deferred global type change
 * on gpa's path (do_recalc()).  1: something was recalculated, the access
 * is retried without hvm_hap_nested_page_fault(); 0: nothing pending
 * there (an EPT domain: always 0). */
int p2m_pt_handle_deferred_changes(struct domain *d, gpa_t gpa);
int p2m_npt_raw_get(const struct domain *d, gpa_t gpa, unsigned level,
                    uint64_t *value);

/* ---- memory ops (common/memory.c) ----------------------------------------- */

/* XENMEM_populate_physmap for one order-0 extent: allocate and add as
 * p2m_ram_rw (p2m_ram_logdirty while log-dirty is on).  -EEXIST if the gfn
 * already holds RAM, -ENOMEM, -EINVAL. */
int guest_populate_page(struct domain *d, gfn_t gfn, mfn_t *out_mfn);
/* XENMEM_populate_physmap for one extent of order 0, 9 or 18 at an aligned
 * gfn: 2^order contiguous frames (heap_alloc_pages()) mapped by one P2M
 * entry of that order, M2P set and every gfn marked dirty.  -EINVAL (order,
 * alignment, range), -EEXIST (a gfn in the range holds anything but
 * nothing/mmio_dm), -ENOMEM. */
int guest_populate_extent(struct domain *d, gfn_t gfn, unsigned order,
                          mfn_t *out_mfn);
/* p2m_add_foreign() (XENMAPSPACE_gmfn_foreign): td maps fd's RAM page at
 * fgfn at its gfn as p2m_map_foreign; the EPT entry holds a reference on
 * the page.  0, -EINVAL (same domain, bad gfn, no mappable RAM at fgfn),
 * -EEXIST (gfn holds something), -ENOMEM.  guest_remove_page() of the gfn
 * removes it and drops the reference. */
int p2m_add_foreign(struct domain *td, gfn_t gfn, struct domain *fd,
                    gfn_t fgfn);
/* Grant mapping (create_grant_p2m_mapping() / unmap): d maps the page gd
 * grants (gd's RAM gfn ggfn) at gfn as p2m_grant_map_rw / _ro, holding a
 * reference on it until p2m_grant_unmap().  map: 0, -EINVAL, -EEXIST,
 * -ENOMEM; unmap: 0, -EINVAL (gfn holds no grant), -ENOMEM. */
int p2m_grant_map(struct domain *d, gfn_t gfn, struct domain *gd, gfn_t ggfn,
                  bool readonly);
int p2m_grant_unmap(struct domain *d, gfn_t gfn);
/* Populate-on-demand (sim/p2m-pod.c, xen/arch/x86/mm/p2m-pod.c):
 * p2m_pod_set_target(): the cache grows to 'pages' by order-0 allocations
 * for d (appended at the tail) or shrinks by freeing from the head.  0,
 * -ENOMEM (the cache keeps what could be allocated).
 * p2m_pod_mark(): guest_physmap_mark_populate_on_demand() of one empty gfn:
 * a p2m_populate_on_demand entry without frame (EPT not present).  0,
 * -EINVAL, -EEXIST (gfn holds something: the harness refuses), -ENOMEM.
 * p2m_pod_demand_populate(): the page at the head of the cache is mapped
 * at gfn (ram_rw, ram_logdirty under log-dirty), M2P set, gfn marked
 * dirty; false when the cache is empty (Xen: out of PoD memory, the
 * domain is crashed). */
int p2m_pod_set_target(struct domain *d, uint64_t pages);
int p2m_pod_mark(struct domain *d, gfn_t gfn);
bool p2m_pod_demand_populate(struct domain *d, gfn_t gfn);
/* The cache's page number i (0 = head), INVALID_MFN past the end. */
mfn_t p2m_pod_cache_at(const struct domain *d, uint64_t i);
/* p2m_set_mem_access() for one gfn (mem_access.c set_mem_access()): the
 * entry keeps mfn and type and gets access a, as a 4 KiB entry (a
 * superpage is split).  0, -EINVAL (gfn, access value), -ENOMEM. */
int p2m_set_mem_access(struct domain *d, gfn_t gfn, p2m_access_t a);
/* guest_remove_page() (XENMEM_decrease_reservation): remove, and drop the
 * allocation reference: the page is freed now, or by the last put_page()
 * of whoever still maps it (foreign_unmap(), a grant / foreign entry of
 * another domain going).  -ENOENT for invalid / mmio_dm gfns. */
int guest_remove_page(struct domain *d, gfn_t gfn);
/* hvm_copy_to_guest_phys(): a hypervisor write into guest RAM (no EPT
 * permission check), marking the page dirty.  -EFAULT for non-RAM. */
int hvm_copy_to_guest_phys(struct domain *d, gpa_t gpa, const void *buf,
                           size_t len);
int hvm_copy_from_guest_phys(struct domain *d, void *buf, gpa_t gpa,
                             size_t len);

/* ---- log-dirty (paging.c) --------------------------------------------------- */

/* Radix tree geometry (asm/paging.h): leaf = one 4 KiB bitmap page. */
#define LOGDIRTY_NODE_ENTRIES 512
#define L1_LOGDIRTY_IDX(pfn) ((pfn) & ((1ULL << (PAGE_SHIFT + 3)) - 1))
#define L2_LOGDIRTY_IDX(pfn) (((pfn) >> (PAGE_SHIFT + 3)) & 511)
#define L3_LOGDIRTY_IDX(pfn) (((pfn) >> (PAGE_SHIFT + 3 + 9)) & 511)
#define L4_LOGDIRTY_IDX(pfn) (((pfn) >> (PAGE_SHIFT + 3 + 18)) & 511)

/* paging_log_dirty_enable(): -EINVAL if already on; turns all ram_rw into
 * ram_logdirty. */
int paging_log_dirty_enable(struct domain *d);
/* paging_log_dirty_disable(): logdirty -> rw, frees the tree. -EINVAL if off. */
int paging_log_dirty_disable(struct domain *d);
/* paging_mark_pfn_dirty() / paging_mark_pfn_clean(): no-ops unless log-dirty
 * is on; a dirty mark allocates missing nodes lazily, a clean mark never
 * allocates. */
void paging_mark_pfn_dirty(struct domain *d, gfn_t gfn);
void paging_mark_pfn_clean(struct domain *d, gfn_t gfn);
/* paging_mark_dirty(): by mfn, through the M2P; requires d to own mfn. */
void paging_mark_dirty(struct domain *d, mfn_t mfn);

struct log_dirty_stats {
    uint64_t dirty_count, fault_count;
};
/* paging_log_dirty_op() PEEK (clean=false) / CLEAN (clean=true) of gfns
 * [0, *pages).  bitmap (may be NULL: stats/clean only) gets one bit per gfn,
 * zero where the tree has no node.  *pages is truncated to what the tree can
 * cover.  -EINVAL if log-dirty is off, -ENOMEM after failed allocations. */
int paging_log_dirty_op(struct domain *d, bool clean, uint64_t *pages,
                        uint8_t *bitmap, struct log_dirty_stats *stats);
/* Xen's -ERESTART (a continuation is needed). */
#define ERESTART 85
/* paging_log_dirty_op() with preemption: 'preempt' makes every
 * hypercall_preempt_check() (after each L3 and each L4 entry of the tree)
 * answer true; 'resuming' is the continuation (do_paging_domctl_cont) of a
 * preempted op, which must be the same op and passes the same bitmap.
 * -ERESTART: preempted, the domain stays paused, call again with resuming.
 * -EBUSY: a new op while one waits for its continuation, or a
 * continuation of a different op / when none waits.  In logdirty_mode
 * "bitmap" *pages is truncated to bitmap_size and there is no preemption
 * (the 2007 code had none). */
int paging_log_dirty_op_ex(struct domain *d, bool clean, uint64_t *pages,
                           uint8_t *bitmap, struct log_dirty_stats *stats,
                           bool preempt, bool resuming);
/* The domain is paused by a preempted log-dirty op (domain_pause() in
 * paging_log_dirty_op(), held until the continuation completes). */
#define domain_paused_logdirty(d) ((d)->ld.preempt.active)
/* Is gfn dirty?  paging_mfn_is_dirty() (upstream: false when a node is
 * missing, failed_allocs ignored), or with ld.conservative the 2007 seed's
 * sh_mfn_is_dirty(): true for every gfn once an allocation has failed.
 * false when log-dirty is off. */
bool paging_gfn_is_dirty(const struct domain *d, gfn_t gfn);
/* The flat bitmap's geometry for a domain of max_gfn gfns (logdirty_mode
 * "bitmap"): bits and allocation order. */
uint64_t paging_bitmap_bits(uint64_t max_gfn);
unsigned paging_bitmap_order(uint64_t bits);

/* ---- VM exits (hvm.c) ------------------------------------------------------- */

enum npf_result {
    NPF_RETRY = 0, /* fixed up: re-execute the access */
    NPF_MMIO,      /* forwarded to the device model (p2m_mmio_dm) */
    NPF_CRASH,     /* unhandled: domain_crash() */
    NPF_PAUSED,    /* paged out: populate sent, vCPU paused for the pager */
    NPF_WAIT_SLOT, /* paged out, ring full: vCPU waits for a slot */
    NPF_SPIN,      /* paging_in: re-faults until the pager's prep */
    NPF_DISCARD,   /* write to ram_ro: emulated, the write discarded */
};

/* hvm_hap_nested_page_fault() for an EPT violation at gpa with exit
 * qualification qual.  A write to p2m_ram_logdirty: paging_mark_pfn_dirty(),
 * p2m_change_type_one(logdirty -> rw), retry. */
/* PML (hvm.c, Xen's vmx.c / vmcs.c):
 * pml_vcpu_enable(): vmx_vcpu_enable_pml(): vCPU vcpu of d gets a log page
 *   (use PGU_PML) and index 511.  0 or -ENOMEM.
 * pml_vcpu_flush(): vmx_vcpu_flush_pml_buffer(): every logged gfn
 *   (entries index+1 .. 511) goes ram_logdirty -> ram_rw and is marked
 *   dirty; the index is reset to 511.  Called on the PML-full VM exit.
 * pml_domain_flush(): the same for every vCPU: before log-dirty PEEK/CLEAN
 *   (paging_log_dirty_op() -> p2m_flush_hardware_cached_dirty()).
 * pml_domain_disable(): vmx_domain_disable_pml(): log pages freed. */
int pml_vcpu_enable(struct domain *d, unsigned vcpu);
void pml_vcpu_flush(struct domain *d, unsigned vcpu);
void pml_domain_flush(struct domain *d);
void pml_domain_disable(struct domain *d);

enum npf_result hvm_hap_nested_page_fault(struct domain *d, gpa_t gpa,
                                          uint64_t qual, gva_t gla);

/* ---- mem paging and the vm_event ring (mem_paging.c) ----------------------- */

#define p2m_is_paging(t)                                                       \
    ((t) == p2m_ram_paging_out || (t) == p2m_ram_paged ||                      \
     (t) == p2m_ram_paging_in)

/* vm_event_enable() for XEN_DOMCTL_VM_EVENT_OP_PAGING: 0, -EBUSY (ring
 * already there).  8 slots (64 under MUT_MEM_EVENT_2011). */
int vm_event_paging_enable(struct domain *d);
/* vm_event_disable(): -EINVAL (no ring), -EBUSY (a vCPU waits for a slot).
 * Vcpus paused for the pager are unpaused; paged gfns stay paged. */
int vm_event_paging_disable(struct domain *d);
/* Requests on the ring now (RING_FREE_REQUESTS = size - this). */
unsigned vm_event_ring_used(const struct domain *d);

/* XENMEM_paging_op_nominate: -ENODEV (no ring), -EBUSY (not pageable RAM,
 * invalid mfn, extra references), 0: type -> ram_paging_out, mfn kept. */
int mem_paging_nominate(struct domain *d, gfn_t gfn);
/* XENMEM_paging_op_evict: -ENODEV, -EBUSY (not paging_out, extra refs);
 * 0: type -> ram_paged with INVALID_MFN, paged_pages++, frame freed. */
int mem_paging_evict(struct domain *d, gfn_t gfn);
/* XENMEM_paging_op_prep (prepare()): buf (PAGE_SIZE bytes) may be NULL.
 * -ENODEV, -ENOENT (not paged / paging_in), -EINVAL (no frame and no
 * buffer), -ENOMEM; 0: type -> ram_rw (ram_logdirty under log-dirty), M2P
 * set, paged_pages-- if a frame was allocated. */
int mem_paging_prep(struct domain *d, gfn_t gfn, const void *buf);

enum populate_result {
    POP_SENT = 0,    /* request on the ring (caller paused if a vCPU) */
    POP_NOTHING,     /* nothing to page in; slot cancelled */
    POP_WAIT_SLOT,   /* guest vCPU sleeps for a slot (VCPU_WAIT_SLOT) */
    POP_BUSY,        /* foreign caller, ring full: silently nothing */
    POP_CRASH,       /* no ring: domain_crash() */
};
/* p2m_mem_paging_populate(): vcpu is the id of the calling vCPU of d, or
 * VM_EVENT_NO_VCPU. */
enum populate_result p2m_mem_paging_populate(struct domain *d, gfn_t gfn,
                                             uint32_t vcpu);
/* The pager's RING_GET_REQUEST: 0 with *out, -ENODEV (no ring), -ENOENT
 * (ring empty).  Frees the slot: vm_event_wake(). */
int vm_event_get_request(struct domain *d, struct vm_event_req *out);
/* vm_event_resume() with one response: p2m_mem_paging_resume() unless
 * MEM_PAGING_DROP_PAGE, then unpause if VM_EVENT_FLAG_VCPU_PAUSED.
 * -ENODEV (no ring); a response naming no vCPU of d is skipped (0). */
int vm_event_resume(struct domain *d, const struct vm_event_req *rsp);
/* The state of vCPU v of d. */
enum vcpu_run_state vcpu_run_state(const struct domain *d, unsigned v);

/* get_page()/put_page() by a foreign domain mapping gfn (xc_map_foreign):
 * 0 with *mfn, -ENOENT (paging type: populate sent as foreign, retry),
 * -EINVAL (no RAM frame).  unmap: -EINVAL if mfn is not d's or holds no
 * reference beside the allocation one; the last reference of a page d
 * removed meanwhile frees it. */
int foreign_map_gfn(struct domain *d, gfn_t gfn, mfn_t *mfn);
int foreign_unmap(struct domain *d, mfn_t mfn);

/* HVMOP_set_mem_type / XEN_DMOP_set_mem_type for one gfn (hvm/dm.c
 * set_mem_type()): t is ram_rw, ram_ro or ioreq_server; a ram_rw request
 * under log-dirty gives ram_logdirty.  allow_p2m_type_change(): to
 * ioreq_server only from ram_rw and only with a server mapped, from
 * ioreq_server only to ram_rw.  0, -EINVAL (t not allowed, gfn not RAM),
 * -EAGAIN (paging type: populate sent as a foreign request). */
int hvm_set_mem_type(struct domain *d, gfn_t gfn, p2m_type_t t);

/* XEN_DMOP_map_mem_type_to_ioreq_server by ioreq server 'server'
 * (hvm_map_mem_type_to_ioreq_server() -> p2m_set_ioreq_server()).  flags
 * XEN_DMOP_IOREQ_MEM_ACCESS_WRITE maps p2m_ioreq_server to the server
 * (its entries become EPT r - - and guest writes go to the server); flags
 * 0 is the unmap (every ioreq_server entry back to ram_rw, or ram_logdirty
 * under log-dirty, as the global type change and p2m_recalc_type() leave
 * it).  The domain's device model runs servers 0..IOREQ_MAX_SERVERS-1.
 * 0, -EINVAL (any other flag: only writes are forwarded; unmap by a
 * server that is not the mapped one), -ENOENT (no such server), -EBUSY
 * (a server -- this or another -- is already mapped: one at a time). */
#define IOREQ_MAX_SERVERS 8 /* MAX_NR_IOREQ_SERVERS */
#define XEN_DMOP_IOREQ_MEM_ACCESS_READ (1u << 0)
#define XEN_DMOP_IOREQ_MEM_ACCESS_WRITE (1u << 1)
int hvm_map_ioreq_server(struct domain *d, unsigned server, uint32_t flags);

/* NPF on a paging type: see hvm.c. */
enum npf_result hvm_hap_nested_page_fault_vcpu(struct domain *d, uint32_t vcpu,
                                               gpa_t gpa, uint64_t qual,
                                               gva_t gla);

/* ---- memory sharing (mem_sharing.c) --------------------------------------- */

/* dom_cow, the owner of every shared frame (Xen's DOMID_COW), and the M2P
 * value of a shared frame (SHARED_M2P_ENTRY: it backs many gfns). */
#define DOMID_COW ((domid_t)0x7FF3)
#define SHARED_M2P_ENTRY (~0ULL - 1)
/* public/memory.h: the handle errors of XENMEM_sharing_op_share. */
#define XENMEM_SHARING_OP_S_HANDLE_INVALID (-10)
#define XENMEM_SHARING_OP_C_HANDLE_INVALID (-9)
/* P2M_SHARABLE_TYPES: what nominate accepts. */
#define p2m_is_sharable(t) ((t) == p2m_ram_rw || (t) == p2m_ram_logdirty)
/* Holes add_to_physmap may fill (P2M_HOLE_TYPES). */
#define p2m_is_hole(t)                                                         \
    ((t) == p2m_mmio_dm || (t) == p2m_invalid || (t) == p2m_ram_paging_in ||   \
     (t) == p2m_ram_paged)

/* XEN_DOMCTL_MEM_SHARING_CONTROL: 0. */
int mem_sharing_control(struct domain *d, bool enable);
/* XENMEM_sharing_op_nominate_gfn (mem_sharing_nominate_page(), expected
 * refcount 0): a ram_rw / ram_logdirty gfn becomes ram_shared (EPT r-x),
 * its frame owned by dom_cow with M2P SHARED_M2P_ENTRY and one sharer;
 * *handle is a fresh handle (the current one if gfn is already shared).
 * 0, -ENODEV (sharing not enabled), -EINVAL (no frame, not sharable),
 * -E2BIG (extra references), -ENOMEM (the 4 KiB entry needed a split). */
int mem_sharing_nominate(struct domain *d, gfn_t gfn, uint64_t *handle);
/* XENMEM_sharing_op_share (mem_sharing_share_pages()): every sharer of
 * the client frame (cd's cgfn, handle ch) is remapped to the source frame
 * (sd's sgfn, handle sh), the client frame freed.  0 (also when both
 * already map the same frame), -ENODEV (sd not enabled), -EINVAL (cd not
 * enabled), XENMEM_SHARING_OP_S/C_HANDLE_INVALID (not shared or stale
 * handle, checked in the order of the two mfns as upstream). */
int mem_sharing_share(struct domain *sd, gfn_t sgfn, uint64_t sh,
                      struct domain *cd, gfn_t cgfn, uint64_t ch);
/* XENMEM_sharing_op_add_physmap (mem_sharing_add_to_physmap()): cd's hole
 * cgfn maps the shared source frame as one more sharer.  0, -ENODEV,
 * -EINVAL, S_HANDLE_INVALID (source not shared, stale handle),
 * C_HANDLE_INVALID (cgfn is no hole), -ENOMEM. */
int mem_sharing_add_to_physmap(struct domain *sd, gfn_t sgfn, uint64_t sh,
                               struct domain *cd, gfn_t cgfn);
/* __mem_sharing_unshare_page(): gfn stops sharing.  The last sharer gets
 * the frame back (page_make_private(): no copy); any other gets a new page
 * with a copy of the contents.  Then ram_rw, M2P = gfn, marked dirty.
 * destroy (MEM_SHARING_DESTROY_GFN): only the sharer reference is dropped
 * (the frame freed with the last one) and the entry left to the caller.
 * 0 (also when gfn is not shared), -ENOMEM (no page for the copy: nothing
 * changed). */
#define MEM_SHARING_DESTROY_GFN (1u << 1)
int mem_sharing_unshare_page(struct domain *d, gfn_t gfn, unsigned flags);
/* relinquish_shared_pages(): every shared gfn of d is unshared with
 * MEM_SHARING_DESTROY_GFN and its entry cleared (domain teardown). */
void mem_sharing_relinquish(struct domain *d);
/* The handle and sharer count (page type count) of a shared frame; 0 /
 * 0 when m is not shared. */
uint64_t mem_sharing_handle(const struct host *h, mfn_t m);
unsigned mem_sharing_sharers(const struct host *h, mfn_t m);
/* ---- the monitor ring and p2m_mem_access_check() (monitor.c) ---------------- */

/* vm_event_enable() for XEN_DOMCTL_VM_EVENT_OP_MONITOR: 0, -EBUSY (ring
 * already there).  Same slot count as the paging ring. */
int vm_event_monitor_enable(struct domain *d);
/* vm_event_disable(): -EINVAL (no ring), -EBUSY (a vCPU sleeps for a
 * slot).  Black-eyed vCPUs are unpaused; vm_event-paused ones stay
 * paused (their pause count is not the ring's). */
int vm_event_monitor_disable(struct domain *d);
/* XEN_DOMCTL_set_access_required. */
void p2m_set_access_required(struct domain *d, bool on);
/* The listener's RING_GET_REQUEST: 0 with *out, -ENODEV, -ENOENT (empty).
 * The slot stays in use until the response. */
int vm_event_monitor_get(struct domain *d, struct mem_access_req *out);
/* vm_event_resume() on the monitor ring with one response: -ENODEV (no
 * ring), -EINVAL (no request taken: no slot holds a response).  Frees
 * the slot (vm_event_wake()); for a vCPU with a vm_event pause, unpauses
 * it if VM_EVENT_FLAG_VCPU_PAUSED is set. */
int vm_event_monitor_resume(struct domain *d, const struct mem_access_req *rsp);
/* Slots in use (requests on the ring + taken and unanswered). */
unsigned vm_event_monitor_used(const struct domain *d);
/* Whether vCPU v may run as far as the monitor ring is concerned. */
enum monitor_vcpu_state monitor_vcpu_state(const struct domain *d, unsigned v);

/* p2m_mem_access_check() + monitor_traps() for a violation of access a by
 * vCPU 'vcpu' at gpa (hvm_hap_nested_page_fault(), hvm.c). */
enum mem_access_result {
    MA_RETRY = 0,  /* handled (promoted, cleared): re-execute */
    MA_FALL,       /* promoted, go on with the fault (rx2rw write, n2rwx) */
    MA_PAUSED,     /* sync event put, vCPU vm_event-paused */
    MA_WAIT_SLOT,  /* sync event, ring full: the vCPU sleeps for a slot */
    MA_CRASH,      /* no listener and access_required: domain_crash() */
};
enum mem_access_result p2m_mem_access_check(struct domain *d, uint32_t vcpu,
                                            gpa_t gpa, gva_t gla, uint64_t qual,
                                            p2m_access_t a);

#endif /* PAGESIM_SIM_H */
