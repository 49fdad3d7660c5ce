/* SPDX-License-Identifier: MIT */
/*
 * oracle/oracle_priv.h - the oracle's flat model and its private helpers.
 *
 * The flat model is deliberately the dumbest data structure that can hold
 * the behaviour: per domain, arrays indexed by gfn over [0, max_gfn) of mfn
 * and p2m type and a plain bitmap of dirty gfns; one flat M2P over host
 * frames.  Nothing here is a radix tree or an EPT, so a bug in the sim's
 * trees cannot be shared by the oracle.
 *
 * Invariants of the flat model (kept by oracle/flat.c and oracle/walk.c):
 *   (0) the arrays are flat in meaning, chunked in storage (below);
 *   (1) type[g] is never p2m_invalid: "no mapping" is stored as p2m_mmio_dm
 *       with INVALID_MFN, which is what Xen's ept_get_entry() reads back.
 *   (2) mfn[g] is valid iff type[g] is a RAM type; then m2p[mfn[g]] == g.
 *   (3) a dirty gfn holds RAM, and nothing is dirty while log-dirty is off.
 *   (4) dirty_count >= bits set; equal from a CLEAN until the next disable.
 *
 * The decoders (oracle/decode.c) read the sim's EPT and log-dirty radix tree
 * from host memory as plain bytes (hostmem_frame_peek() only), following the
 * layouts in pagesim/sim.h and xen-paging.md 1.4 / 3.1.
 */
#ifndef ORACLE_PRIV_H
#define ORACLE_PRIV_H

#include <stdio.h>

#include "pagesim/oracle.h"

#define ORACLE_MAX_DOMS SIM_MAX_DOMAINS
_Static_assert(ORACLE_MAX_DOMS <= 32, "struct oracle's live_mask holds a bit per slot");

/* EPT permission bits as a 3-bit r/w/x value (SDM 29.3.2 bits 2:0). */
#define ORACLE_RWX 7u

/* EPT leaf field masks (xen-paging.md 1.4: mfn is 40 bits, 51:12). */
#define ORACLE_EPTE_MFN(e) (((e) >> 12) & 0xFFFFFFFFFFULL)
#define ORACLE_EPTE_MFN_NONE 0xFFFFFFFFFFULL /* INVALID_MFN truncated to 40 bits */

/* A gpa as the 4-level EPT indexes it: bits 47:12 (SDM 29.3.2). */
#define ORACLE_EPT_GFN_MASK ((1ULL << 36) - 1)

/*
 * The per-gfn arrays are flat in meaning but stored in chunks of
 * ORACLE_CHUNK gfns, allocated when a gfn in them is first written, so a
 * domain of 2^28 gfns with a few populated ones (the log-dirty
 * preemption scenarios need more than 2^24) costs a pointer per chunk.  A
 * missing chunk reads as the empty P2M: mmio_dm, INVALID_MFN, clean.
 * Readers use od_type()/od_mfn() (never allocate); writers
 * OD_TYPE_W()/OD_MFN_W() (allocate); whole-domain loops visit the
 * existing chunks only (oracle_chunk()).
 */
#define ORACLE_CHUNK_SHIFT 12
#define ORACLE_CHUNK (1ULL << ORACLE_CHUNK_SHIFT)
struct oracle_chunk {
    uint64_t mfn[ORACLE_CHUNK];
    uint8_t type[ORACLE_CHUNK];       /* p2m_type_t */
    /* The order (0, 9, 18) of the P2M entry that should map each gfn: a
     * populated 2 MiB / 1 GiB extent stays one entry until a 4 KiB part of
     * it changes, and then the whole extent is 4 KiB entries (upstream's
     * ept_split_super_page() splits every part down to the target). */
    uint8_t order[ORACLE_CHUNK];
    uint8_t access[ORACLE_CHUNK];     /* p2m_access_t (rwx by default) */
    uint8_t dirty[ORACLE_CHUNK / 8];  /* one bit per gfn */
    /* gfns written since the last oracle_check() (oracle_chunk_get()
     * marks them): one bit per gfn, the list is od->gmark */
    uint8_t gmark[ORACLE_CHUNK / 8];
};

/* A gfn of the flat model written since the last oracle_check(), with
 * what it held before its first write then: oracle_check()'s per-domain
 * half re-compares these gfns and updates its counts by the difference. */
struct oracle_gmark {
    uint64_t g, mfn;
    uint8_t type;
    bool dirty;
};

struct oracle_dom {
    bool live;
    domid_t id;
    uint64_t max_gfn;
    uint64_t nchunks;              /* ceil(max_gfn / ORACLE_CHUNK) */
    struct oracle_chunk **chunks;  /* [nchunks], NULL: all empty */
    /* Populate-on-demand: PoD entries, and the cache as a plain FIFO of
     * frames (first in, first used), pod_cache[0..pod_count). */
    uint64_t pod_entries, pod_count;
    uint64_t *pod_cache;
    /* The ioreq server mapped to p2m_ioreq_server, and whether it claims
     * writes (then those entries have no w). */
    bool ioreq_mapped, ioreq_write;
    unsigned ioreq_server; /* which server, while mapped */
    /* Xen's log_dirty.dirty_count: +1 on a 0->1 mark, -1 on a 1->0 mark,
     * zeroed only by CLEAN -- paging_free_log_dirty_bitmap() (disable) does
     * not reset it, so it can exceed the bits set. */
    uint64_t dirty_count;
    bool ld_enabled;
    bool ld_failed; /* a mark was dropped for lack of memory */
    bool ld_bitmap;       /* logdirty_mode "bitmap": one flat bitmap ... */
    uint64_t ld_bits;     /* ... of max_gfn rounded up to 64 bits */
    unsigned ld_order;    /* ... allocated as 2^ld_order frames */
    bool ld_conservative; /* 2007 "is dirty" after failed allocations */
    /* A PEEK/CLEAN preempted with -ERESTART (domain paused until its
     * continuation completes): which op, and the pfns walked so far. */
    bool ld_busy, ld_busy_clean;
    uint64_t ld_done;
    /* mem paging (oracle/paging.c): the paging ring as a plain FIFO of
     * requests, drop notices waiting for a slot, d->paged_pages, and the
     * run state and vm_event pause count of each vCPU. */
    bool ring;
    unsigned ring_size, nreq, ndrops;
    struct vm_event_req req[VM_EVENT_RING_MAX];
    struct vm_event_req drops[VM_EVENT_RING_MAX];
    int64_t paged_pages;
    uint64_t orphans; /* frames of o->orphan naming this domain */
    uint8_t vstate[SIM_MAX_VCPUS];
    uint32_t vpause[SIM_MAX_VCPUS];
    /* The hardware view (oracle_op_ept_config / oracle_op_ept_raw): the
     * EPT root, EPTP A/D, whether accesses use the raw walker, the gfns
     * under raw entries (a bitmap over [0, max_gfn) and ranges beyond),
     * and the highest gfn ever mapped (Xen's max_mapped_pfn: get_entry
     * reads anything above as mmio_dm). */
    uint64_t root_mfn;
    bool ept_ad, raw_walk;
    /* hap = "npt" (oracle_op_hap_config): nested page tables in p2m-pt
     * format, #NPF exits, no access types, no foreign entries. */
    bool npt;
    /* NPT: the gfn ranges whose nested path the hypervisor recalculated
     * (do_recalc()) or rewrote during the access being predicted, which
     * the sim's tables -- read before the access -- still show marked
     * (oracle/walk.c; reset per access). */
    unsigned npt_nrc;
    /* The access being predicted: the NPT PSC entries its raw nested
     * walks may start from, and those its successful ones filled. */
    const struct oracle_npsc *npsc_start;
    unsigned nnpsc_start, nnpsc_note;
    struct oracle_npsc npsc_note[ORACLE_MAX_NPSC];
    /* ... and the page-walk-cache entries its guest walk may use. */
    const struct oracle_pwc *pwc_start;
    unsigned npwc_start;
    /* The same for Intel EPT: the EPT PSC entries its raw EPT walks may
     * start from, and those its successful ones filled. */
    const struct oracle_epsc *epsc_start;
    unsigned nepsc_start, nepsc_note;
    struct oracle_epsc epsc_note[ORACLE_MAX_EPSC];
    uint64_t npt_rc_lo[ORACLE_MAX_EXITS], npt_rc_hi[ORACLE_MAX_EXITS];
    bool shadow; /* oracle_op_shadow(): hap = "none" */
    uint8_t *raw;           /* NULL until the first raw entry */
    unsigned nraw_hi;
    struct { uint64_t lo, hi; } raw_hi[64];
    uint64_t max_mapped;
    /* PML (oracle_op_pml_config): per vCPU the log's host address (0: no
     * log), the index, and the gpas the oracle predicted into the log. */
    bool pml_mode, pml_on;
    uint64_t pml_log[SIM_MAX_VCPUS];
    unsigned pml_idx[SIM_MAX_VCPUS];
    uint64_t (*pml_gpa)[512]; /* [SIM_MAX_VCPUS][512], with pml_mode */
    unsigned cur_vcpu;        /* the vCPU of the access being predicted */
    /* Memory sharing: XEN_DOMCTL_MEM_SHARING_CONTROL and d->shr_pages. */
    bool shr_enabled;
    uint64_t shr_pages;
    /* The monitor ring (oracle/monitor.c): every slot in use, oldest
     * first, each a request either still unread or read by the listener
     * and unanswered; the vCPUs asleep for a slot (in order) with the
     * request each will put; per vCPU: asleep / black-eyed; the number of
     * vCPUs (max_vcpus for the black eye). */
    bool mon_ring, mon_required;
    unsigned mon_size, mon_nslots, mon_nwait, mon_last_wake, nr_vcpus;
    struct { struct mem_access_req req; bool read; } mon_slot[VM_EVENT_RING_MAX];
    uint32_t mon_waitq[SIM_MAX_VCPUS];
    struct mem_access_req mon_wait_req[SIM_MAX_VCPUS];
    uint8_t mon_state[SIM_MAX_VCPUS]; /* enum monitor_vcpu_state */
    /* The gfns written since the last oracle_check() (oracle_chunk_get()),
     * first write first; gmark_all: a writer changed gfns wholesale
     * (retype_all(), clear_all_dirty(), ...) or the list could not grow,
     * so every gfn counts as changed.  Both are empty between checks: the
     * memo (check.c) serialises this struct. */
    struct oracle_gmark *gmark;
    size_t gmark_n, gmark_cap;
    bool gmark_all;
    /* The indices of the allocated chunks (chunks[i] != NULL), ascending:
     * the checks' per-gfn loops visit these instead of every slot of
     * chunks[] (a sparse 2^24-gfn domain has 4097 slots, a few used), in
     * the same order.  Chunks are only added (oracle_chunk_get()) and
     * freed with the domain. */
    uint64_t *cidx;
    uint64_t ncidx, capcidx;
    /* Change counters of the paging part (ring, ring_size, nreq, ndrops,
     * req[], drops[], paged_pages, vstate[], vpause[]) and the monitor
     * part (mon_*, nr_vcpus): every writer bumps one (od_paging_w(),
     * od_monitor_w()), and so do domain create and destroy.  The memo of
     * oracle_check() (check.c) serialises those parts again only when a
     * counter moved.  Last in the struct: the memo reads the struct up to
     * here. */
    uint64_t gen_paging, gen_monitor;
};

/* od, after a bump of its paging / monitor change counter: for a writer
 * of that part. */
static inline struct oracle_dom *od_paging_w(struct oracle_dom *od)
{
    od->gen_paging++;
    return od;
}

static inline struct oracle_dom *od_monitor_w(struct oracle_dom *od)
{
    od->gen_monitor++;
    return od;
}

/* Every gfn of od changed (a loop over its chunks wrote them). */
static inline void oracle_gfn_mark_all(struct oracle_dom *od) { od->gmark_all = true; }

struct oracle_cache;
struct oracle;
void oracle_mark_mfn_slow(struct oracle *o, uint64_t m);

struct oracle {
    uint64_t nr_frames;
    uint64_t *m2p; /* [nr_frames] */
    uint32_t *xrefs; /* [nr_frames]: references beyond the allocation one */
    /* [nr_frames]: owner id + 1 of a guest page its owner removed (remove,
     * set_type) while others still held references: it stays the owner's
     * (tot_pages, page_use guest) without its allocation reference, so its
     * count is xrefs alone, until the last reference goes and frees it
     * (Xen: PGC_allocated cleared, freed by the last put_page()).  With
     * ORPHAN_KEEP: a page a grant mapping took out of the P2M
     * (p2m_add_page()), which keeps its allocation reference and stays
     * its owner's until teardown.  0 for every other frame. */
    uint16_t *orphan;
    uint32_t cur_vcpu; /* the vCPU of the access being predicted */
    bool nomem; /* the sim's heap failed an allocation in this step */
    bool p2m_fail; /* the sim's P2M update was made to fail in this step */
    struct oracle_dom doms[ORACLE_MAX_DOMS];
    /* bit i: doms[i].live (set by oracle_op_domain_create(), cleared with
     * the domain): compare_impl()'s search for domains the sim lacks
     * visits the live slots it did not match, not all 16 */
    uint32_t live_mask;
    struct oracle_cache *cache; /* oracle_check()'s memo of the last clean check (check.c) */
    /* The frames whose m2p/xrefs/orphan/shr_handle/shr_sum entry an op
     * changed since the last oracle_check() (oracle_mark_mfn()): a bit per
     * frame and their list; mark_n SIZE_MAX when the list could not grow
     * (then every frame counts as changed). */
    uint64_t *mark_bits, *mark_list;
    size_t mark_n, mark_cap;
    bool chk_skip_gfns; /* oracle_check_skip_gfns() */
    struct oracle_check_stats chk_stats; /* oracle_check_stats() */
    /* Memory sharing (oracle/sharing.c).  Per frame: the handle of a
     * shared frame (0: not shared) and an FNV-1a hash of its contents when
     * it was nominated (a shared frame never changes: every writer
     * unshares first); the sharer count is xrefs[] (the references beyond
     * the allocation one).  shr_next: the last handle handed out.  The
     * allocation hint: the frames the sim's heap will hand out next
     * (INVALID_MFN for an attempt that will fail), for the copy an unshare
     * allocates (the allocator's choice is not specified behaviour).
     * Pending copy checks: a gfn unshared onto a new page in this step,
     * whose bytes must equal the old shared frame's, except the range the
     * write that unshared it covers. */
    uint64_t *shr_handle, *shr_sum; /* [nr_frames], allocated on first use */
    uint64_t shr_next;
    uint64_t shr_hint[8];
    unsigned shr_nhint, shr_hint_used;
    struct oracle_shr_pend {
        domid_t d;
        uint64_t g, old, skip_lo, skip_hi;
    } shr_pend[8];
    unsigned shr_npend;
    /* Frames an unshare predicted in the access being predicted: the new
     * page reads as the shared frame it will be a copy of (the model has
     * not made the copy yet), so that a walk through an unshared
     * page-table page reads its entries (walk.c gpeek()). */
    uint64_t shr_alias_new[8], shr_alias_old[8];
    unsigned shr_nalias;
    /* oracle_set_npsc_starts() for the next access. */
    unsigned nnpsc_start;
    struct oracle_npsc npsc_start[ORACLE_MAX_NPSC_START];
    /* oracle_set_pwc_entries() for the next access. */
    unsigned npwc_start;
    struct oracle_pwc pwc_start[ORACLE_MAX_PWC_START];
    /* oracle_set_epsc_starts() for the next access. */
    unsigned nepsc_start;
    struct oracle_epsc epsc_start[ORACLE_MAX_EPSC_START];
};
/* Frame m's per-frame oracle state (m2p, xrefs, orphan, shr_handle,
 * shr_sum) changes: oracle_check() re-checks the frames so marked, and
 * the ones the sim marked (hostmem_meta_mark()), and no others. */
static inline void oracle_mark_mfn(struct oracle *o, uint64_t m)
{
    if (m < o->nr_frames && o->mark_bits && (o->mark_bits[m >> 6] >> (m & 63) & 1))
        return;
    oracle_mark_mfn_slow(o, m);
}

/* Frees oracle_check()'s memo (check.c); for oracle_destroy(). */
void oracle_cache_free(struct oracle *o);

/* ---- flat.c: the chunked per-gfn arrays ------------------------------------ */

/* The chunk holding gfn g (< max_gfn), allocated (empty) if missing.
 * Aborts with a message when memory runs out: the oracle cannot judge
 * without its model. */
struct oracle_chunk *oracle_chunk_get(struct oracle_dom *od, uint64_t g);
/* Forgets od's gfn marks (oracle_check(), after each check). */
void oracle_gfn_marks_clear(struct oracle_dom *od);
/* The chunk holding g, or NULL when it was never written. */
static inline const struct oracle_chunk *oracle_chunk(const struct oracle_dom *od,
                                                      uint64_t g)
{
    return g < od->max_gfn ? od->chunks[g >> ORACLE_CHUNK_SHIFT] : NULL;
}
static inline unsigned od_type(const struct oracle_dom *od, uint64_t g)
{
    const struct oracle_chunk *c = oracle_chunk(od, g);
    return c ? c->type[g & (ORACLE_CHUNK - 1)] : p2m_mmio_dm;
}
static inline uint64_t od_mfn(const struct oracle_dom *od, uint64_t g)
{
    const struct oracle_chunk *c = oracle_chunk(od, g);
    return c ? c->mfn[g & (ORACLE_CHUNK - 1)] : mfn_x(INVALID_MFN);
}
static inline unsigned od_order(const struct oracle_dom *od, uint64_t g)
{
    const struct oracle_chunk *c = oracle_chunk(od, g);
    return c ? c->order[g & (ORACLE_CHUNK - 1)] : 0;
}
static inline unsigned od_access(const struct oracle_dom *od, uint64_t g)
{
    const struct oracle_chunk *c = oracle_chunk(od, g);
    return c ? c->access[g & (ORACLE_CHUNK - 1)] : p2m_access_rwx;
}
#define OD_TYPE_W(od, g) (oracle_chunk_get((od), (g))->type[(g) & (ORACLE_CHUNK - 1)])
#define OD_MFN_W(od, g) (oracle_chunk_get((od), (g))->mfn[(g) & (ORACLE_CHUNK - 1)])
#define OD_ORDER_W(od, g) (oracle_chunk_get((od), (g))->order[(g) & (ORACLE_CHUNK - 1)])
#define OD_ACCESS_W(od, g) (oracle_chunk_get((od), (g))->access[(g) & (ORACLE_CHUNK - 1)])

/* ---- paging.c ------------------------------------------------------------ */

/* p2m_mem_paging_populate() on the flat model for a guest vCPU (vcpu <
 * SIM_MAX_VCPUS) or a foreign caller; returns the access outcome for a
 * guest vCPU (OR_PAUSED, OR_BLOCKED, OR_CRASH) and OR_OK otherwise. */
int oracle_populate(struct oracle_dom *od, uint64_t gfn, uint32_t vcpu);
/* guest_remove_page() of a paged / paging_in gfn as intended: expected rc,
 * or 1 if the gfn holds no such type. */
int oracle_remove_paging(struct oracle *o, struct oracle_dom *od, uint64_t g);
struct oracle_reporter;
void oracle_compare_paging(const struct domain *d, const struct oracle_dom *od,
                           struct oracle_reporter *r);
void oracle_invariants_paging(const struct host *h, const struct domain *d,
                              struct oracle_reporter *r);

/* ---- sharing.c ------------------------------------------------------------ */

/* __mem_sharing_unshare_page() on the flat model: gfn g of od (ram_shared)
 * becomes ram_rw on a new frame (the allocation hint's next one; -ENOMEM
 * and nothing changed if that attempt fails) or, for the last sharer, on
 * the same frame made private again; M2P, dirty mark.  With destroy
 * (MEM_SHARING_DESTROY_GFN) only the sharer reference is dropped (the
 * frame freed with the last one) and the gfn left empty.  skip_lo/hi: the
 * bytes of the page a write is about to change (no pending copy check if
 * skip_hi == 0 and !check).  0 if g is not shared. */
int oracle_unshare(struct oracle *o, struct oracle_dom *od, uint64_t g,
                   bool destroy, bool check, uint64_t skip_lo, uint64_t skip_hi);
/* Sharing state against the sim's: per shared frame the owner (dom_cow),
 * handle, contents unchanged since nominate; the pending copy checks;
 * d->shr_pages.  frame(): records each frame read (for oracle_check's
 * memo).  only: the per-frame part for these nonly frames alone (NULL:
 * every frame); oracle_check() passes the changed frames, and in tot[2]
 * the S5 counts (frames shared, frames saved) of every other frame.
 * tot: receives the S5 counts of every frame (may be NULL).  ods: the
 * oracle's domain of each sim domain slot, for the slots set in dmask
 * (those whose sim domain the oracle has; S4 compares them). */
void oracle_compare_sharing(const struct oracle *o, const struct host *h,
                            struct oracle_reporter *r,
                            void (*frame)(void *ctx, uint64_t mfn),
                            const uint64_t *only, size_t nonly, int64_t tot[2],
                            const struct oracle_dom *const ods[SIM_MAX_DOMAINS],
                            uint32_t dmask);
/* ---- monitor.c ------------------------------------------------------------ */

/* A mem_access violation of the gfn's access by the current vCPU
 * (hvm_hap_nested_page_fault() -> p2m_mem_access_check() -> monitor_traps())
 * on the flat model: what the fault handler does next. */
enum oracle_ma {
    OMA_RETRY,  /* re-execute */
    OMA_FALL,   /* promoted: handle the fault by type */
    OMA_PAUSED, /* sync request put, vCPU paused */
    OMA_BLOCKED, /* sync request, ring full: vCPU asleep */
    OMA_CRASH,  /* no listener, access required */
};
enum oracle_ma oracle_mem_access(struct oracle *o, struct oracle_dom *od,
                                 uint64_t gpa, uint64_t gla, uint64_t qual);
/* The access outcome for a vCPU the monitor ring holds (asleep: OR_BLOCKED,
 * black-eyed: OR_PAUSED), or OR_OK when it runs. */
int oracle_monitor_hold(const struct oracle_dom *od, unsigned vcpu);
void oracle_compare_monitor(const struct domain *d, const struct oracle_dom *od,
                            struct oracle_reporter *r);

/* ---- flat.c -------------------------------------------------------------- */
/* p2m_pod_demand_populate() on the flat model: the first cached frame
 * backs gfn g (RAM, M2P, dirty).  false when the cache is empty. */
bool oracle_pod_populate(struct oracle *o, struct oracle_dom *od, uint64_t g);
/* A 4 KiB change at gfn g: if g lies in a superpage, every gfn of that
 * extent becomes a 4 KiB entry (type, access, frame kept).  -ENOMEM, and
 * nothing changes, when the split needed a table page and the sim's heap
 * failed it (o->nomem); else 0. */
int oracle_split(const struct oracle *o, struct oracle_dom *od, uint64_t g);

struct oracle_dom *oracle_dom_find(const struct oracle *o, domid_t id);
/* o->orphan[] values: the owner, and whether the allocation reference
 * stays. */
#define ORPHAN_KEEP 0x100u
#define ORPHAN_OWNER(v) ((unsigned)((v) & 0xffu) - 1u)
/* put_page() of a reference beyond the allocation one (a tool-stack
 * foreign map, a grant or foreign entry going): the last reference of an
 * orphaned page frees it. */
void oracle_put_xref(struct oracle *o, uint64_t mfn);
/* Dirty-bitmap primitives; marks are no-ops while log-dirty is off (Xen's
 * set_pfn_logdirty() returns unless paging_mode_log_dirty). */
void oracle_mark(struct oracle_dom *od, uint64_t gfn, bool dirty);
bool oracle_test_dirty(const struct oracle_dom *od, uint64_t gfn);

/* vmx_vcpu_flush_pml_buffer() on the flat model: every gpa in vCPU v's
 * log (index+1 .. 511) goes ram_logdirty -> ram_rw and is marked dirty;
 * the index is reset.  oracle_pml_flush_all(): every vCPU. */
void oracle_pml_flush_all(struct oracle_dom *od);
/* The same for one vCPU; retyped (may be NULL, 512 entries) receives the
 * gfns it turned logdirty -> rw, *nretyped their number (walk.c rewrites
 * their leaves in the overlay of the access in flight). */
void oracle_pml_flush(struct oracle_dom *od, unsigned v, uint64_t *retyped,
                      unsigned *nretyped);

/* Is gfn under a raw EPT entry the scenario wrote? */
bool oracle_is_raw(const struct oracle_dom *od, uint64_t gfn);

/* ---- ept.c --------------------------------------------------------------- */

/* EPT entries updated during one predicted access (A/D flags), newest
 * value per address; the raw walker reads through it. */
struct oracle_ovl {
    unsigned n;
    uint64_t hpa[ORACLE_MAX_EPT_AD], val[ORACLE_MAX_EPT_AD];
    /* Tables a superpage split made during the access, stood in for by
     * frames beyond host memory (ovl_set_leaf()): the stand-in frame, and
     * the gfn and level (of its entries) that find the real one later. */
    unsigned nvt;
    struct { uint64_t frame, gfn; unsigned level; } vt[8];
};
void oracle_ept_xlate_ov(const struct hostmem *mem, uint64_t nr_frames,
                         const struct oracle_eptp *p, uint64_t gpa,
                         enum access_kind k, bool paging_access,
                         const struct oracle_ovl *ov,
                         struct oracle_ept_result *out);
/* oracle_npt_xlate() reading through the overlay ov (may be NULL). */
void oracle_npt_xlate_ov(const struct hostmem *mem, uint64_t nr_frames,
                         const struct oracle_nptp *p, uint64_t gpa,
                         enum access_kind k, bool paging_access,
                         const struct oracle_ovl *ov,
                         struct oracle_ept_result *out);
/* NPT deferred recalculation (oracle/npt.c): whether gfn's nested path
 * in the sim's tables at root_mfn reaches a present leaf through a recalc
 * marker (an entry with U clear), and the type the recalculation gives a
 * leaf of type t in od's current state. */
bool oracle_npt_recalc_pending(const struct hostmem *mem, uint64_t nr_frames,
                               uint64_t root_mfn, uint64_t gfn);
unsigned oracle_npt_recalc_type(const struct oracle_dom *od, unsigned t);
/* Puts value v for the EPT entry at hpa into ov (replacing an older one);
 * aborts with a message when ov is full. */
void oracle_ovl_put(struct oracle_ovl *ov, uint64_t hpa, uint64_t v);
/* Records the result's A/D updates in ov (oracle_ovl_put()). */
void oracle_ovl_apply(struct oracle_ovl *ov, const struct oracle_ept_result *r);

/* ---- decode.c: tables, names, and readers of the sim's state ---------------- */

/* r/w/x (bits 2:0) that Xen's ept_p2m_type_to_flags() gives type t under
 * p2m_access_rwx, on a host with no EPT A/D bits and no PML. */
unsigned oracle_type_perms(unsigned t);
/* The same with the p2m_access_t restriction applied (xen-paging.md 1.4:
 * type permissions first, then the access type). */
unsigned oracle_perms(unsigned t, unsigned a);
/* The r/w/x gfn g of od should have: oracle_perms() of its type and
 * access, and no w for ioreq_server when the server claims writes. */
unsigned oracle_gfn_perms(const struct oracle_dom *od, uint64_t g);
/* oracle_gfn_perms() of a gfn of od whose type t and access a the caller
 * has read already (the checks read a gfn's chunk once). */
unsigned oracle_dom_perms(const struct oracle_dom *od, unsigned t, unsigned a);
/* "ram_rw", ..., or "type#N" (buf) for a value outside p2m_type_t. */
const char *oracle_type_name(unsigned t, char buf[16]);
const char *oracle_perm_name(unsigned perm); /* "rwx", "r-x", "---" */
/* "0x12" or "INVALID" (all ones). */
const char *oracle_hex(uint64_t v, char buf[24]);

/* One 64-bit entry of host memory; unbacked or out-of-range frames read as
 * zero. */
uint64_t oracle_peek64(const struct hostmem *mem, uint64_t nr_frames,
                       uint64_t hpa);

/* An EPT leaf entry as Xen's ept_get_entry() reads it. */
struct oracle_epte {
    unsigned type; /* p2m_type_t as stored (p2m_mmio_dm when not valid) */
    uint64_t mfn;  /* INVALID_MFN when the entry holds no frame */
    unsigned perm; /* bits 2:0 as stored */
};
/* (inline: the per-gfn compares decode an entry per gfn they look at) */
static inline void oracle_epte_decode(uint64_t e, struct oracle_epte *out)
{
    unsigned t = (unsigned)((e & EPTE_P2MT_MASK) >> EPTE_P2MT_SHIFT);
    out->perm = (unsigned)(e & ORACLE_RWX);
    /* is_epte_valid(): non-zero (bit 63 aside) and not p2m_invalid; else
     * ept_get_entry() answers mmio_dm / INVALID_MFN. */
    if ((e & ~(1ULL << 63)) == 0 || t == p2m_invalid) {
        out->type = p2m_mmio_dm;
        out->mfn = mfn_x(INVALID_MFN);
        return;
    }
    out->type = t;
    /* A frame-less, non-present mmio_dm entry has no meaningful mfn field
     * (Xen writes such entries as 0 anyway). */
    if (t == p2m_mmio_dm && out->perm == 0) {
        out->mfn = mfn_x(INVALID_MFN);
        return;
    }
    out->mfn = ORACLE_EPTE_MFN(e);
    if (out->mfn == ORACLE_EPTE_MFN_NONE)
        out->mfn = mfn_x(INVALID_MFN);
}
/* The same for a leaf of a p2m-pt (NPT) P2M (oracle/decode.c): the type
 * from bits 58:52 (p2m_invalid for an entry without flags), the frame,
 * and perm as r/w/x: P, P&RW, P&!NX. */
void oracle_npte_decode(uint64_t e, struct oracle_epte *out);
/* Whether root's tables are NPT (sim domain d->npt, read as data) and
 * the per-format decoders behind one call. */
void oracle_p2m_decode(bool npt, uint64_t e, struct oracle_epte *out);

/* Walks every table of the EPT rooted at root: leaf() for every non-zero
 * leaf entry, bad() for structural faults (out-of-range or shared table
 * frames, intermediate entries without RWX).  Returns the number of table
 * frames reached, the root included. */
struct oracle_ept_visit {
    /* Once per gfn: for a 2 MiB / 1 GiB leaf (order 9 / 18) once for each
     * gfn it covers, with the entry's mfn field advanced to that gfn's
     * frame and the sp bit left as stored. */
    void (*leaf)(void *ctx, uint64_t gfn, uint64_t epte, unsigned order);
    void (*bad)(void *ctx, uint64_t gfn, unsigned level, const char *what,
                uint64_t entry);
    void *ctx;
    /* Optional (may be NULL): every table frame read, root included, before
     * its entries (oracle_check() keeps copies of them). */
    void (*table)(void *ctx, uint64_t mfn);
};
unsigned oracle_ept_walk(const struct host *h, mfn_t root,
                         const struct oracle_ept_visit *v);
/* The same over nested page tables (present = P, large leaf = PS, every
 * table entry P|RW|U|A|D without NX as p2m_next_level() writes it). */
unsigned oracle_npt_walk(const struct host *h, mfn_t root,
                         const struct oracle_ept_visit *v);
/* oracle_ept_lookup() over nested page tables. */
uint64_t oracle_npt_lookup(const struct host *h, mfn_t root, uint64_t gfn);
/* Single root walk of gfn: the leaf entry (for a superpage, with the mfn
 * field advanced to gfn's frame), or 0 when a level is missing. */
uint64_t oracle_ept_lookup(const struct host *h, mfn_t root, uint64_t gfn);
/* oracle_ept_lookup() that also gives the leaf's order (0, 9, 18). */
uint64_t oracle_ept_lookup_order(const struct host *h, mfn_t root, uint64_t gfn,
                                 unsigned *order);

/* Walks the log-dirty radix tree at top: leaf() once per leaf bitmap (NULL
 * when the frame is unbacked, i.e. all clean) with the first pfn it covers,
 * bad() for structural faults.  Returns the frames referenced (top,
 * interior nodes and leaves). */
struct oracle_ld_visit {
    void (*leaf)(void *ctx, uint64_t base_pfn, const uint8_t *bitmap);
    void (*bad)(void *ctx, const char *what, uint64_t mfn);
    void *ctx;
    /* Optional (may be NULL): every frame read (top, nodes, leaves). */
    void (*frame)(void *ctx, uint64_t mfn);
};
unsigned oracle_ld_walk(const struct host *h, mfn_t top,
                        const struct oracle_ld_visit *v);
/* The same over the domain's log in either mode (oracle/check.c). */
unsigned oracle_sim_ld_leaves(const struct host *h, const struct domain *d,
                              const struct oracle_ld_visit *v);

/* Capped reporting shared by compare and invariants. */
#define ORACLE_REPORT_CAP 50
struct oracle_reporter {
    oracle_report_fn fn;
    void *ctx;
    unsigned found;
};
void oracle_report(struct oracle_reporter *r, const char *expected,
                   const char *actual, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Emits the "N more" line if reports were dropped; returns r->found. */
unsigned oracle_report_done(struct oracle_reporter *r);

_Static_assert(SIM_MAX_VCPUS == 64, "vCPU states as eight words");
/* The OR of a per-vCPU state array's eight words, written out (a loop of
 * eight turns, which -O2 does not unroll, cost twice as much). */
static inline uint64_t oracle_vcpu_or(const uint8_t *a)
{
    uint64_t w[SIM_MAX_VCPUS / 8];
    __builtin_memcpy(w, a, sizeof w);
    return ((w[0] | w[1]) | (w[2] | w[3])) | ((w[4] | w[5]) | (w[6] | w[7]));
}

/* Does some byte of a per-vCPU state array (SIM_MAX_VCPUS bytes) have
 * bit 0 set?  The gate, in code that runs at every state check, of the
 * loops that look for an odd state (MON_WAIT_SLOT, VCPU_PAUSED_PAGER,
 * VCPU_PAUSED_MONITOR): an OR of its eight words, about half the cost of
 * a memchr() call. */
static inline bool oracle_vcpu_any_odd(const uint8_t *a)
{
    return oracle_vcpu_or(a) & UINT64_C(0x0101010101010101);
}

/* Is some byte of a per-vCPU state array non-zero?  (The same OR.) */
static inline bool oracle_vcpu_any_set(const uint8_t *a)
{
    return oracle_vcpu_or(a) != 0;
}

#endif /* ORACLE_PRIV_H */
