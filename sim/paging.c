/* SPDX-License-Identifier: MIT */
/*
 * sim/paging.c - log-dirty tracking: the radix tree, marking, PEEK/CLEAN,
 * enable/disable.
 *
 * Models xen/arch/x86/mm/paging.c (set_pfn_logdirty() behind
 * paging_mark_pfn_dirty()/paging_mark_pfn_clean(), paging_mark_dirty(),
 * paging_log_dirty_op(), paging_log_dirty_enable()/disable(),
 * paging_free_log_dirty_bitmap()) with the HAP backend of
 * xen/arch/x86/mm/hap/hap.c (hap_enable_log_dirty(),
 * hap_disable_log_dirty(), hap_clean_dirty_bitmap()).
 *
 * The tree (asm/paging.h) covers pfns below 2^42 in four levels:
 *
 *   ld.top (L4 node) --[L4 idx]--> L3 node --[L3 idx]--> L2 node
 *                    --[L2 idx]--> leaf: 4096-byte bitmap, 32768 pfns
 *
 * Nodes and leaves are host frames taken from the heap (use PGU_LOGDIRTY,
 * owner d; Xen's per-domain paging pool).  A node holds 512 uint64 mfns,
 * INVALID_MFN (all ones) where there is no child.  Bit i of the leaf is byte
 * i / 8, bit i % 8, as Xen's little-endian bitops lay it out.
 *
 * Notes:
 *   (1) only a dirty mark allocates, lazily and top-down; a clean mark
 *       stops at the first missing node;
 *   (2) a failed allocation is counted in ld.failed_allocs and the mark is
 *       dropped; from then on PEEK/CLEAN fail with -ENOMEM until log-dirty
 *       is disabled (paging_free_log_dirty_bitmap() resets the count);
 *   (3) CLEAN clears leaves but never frees nodes: ld.allocs only goes
 *       down on disable or domain teardown;
 *   (4) ld.dirty_count follows 0->1 and 1->0 transitions and is zeroed by
 *       CLEAN; disable does not touch it (nor does Xen);
 *   (5) HAP never counts faults, so ld.fault_count stays 0 here.
 *
 *   (6) logdirty_mode "bitmap" (d->ld.bitmap_mode) is the design the radix
 *       tree replaced (c/s 16393, seed 000): one flat bitmap of bitmap_size
 *       = max gpfn + 1 rounded up to 64 bits, allocated at enable as one
 *       contiguous block (xmalloc_array() -> an order-n allocation), so
 *       enable fails with -ENOMEM on a fragmented heap while the radix tree
 *       (order-0 pages, lazily) does not.  Marks beyond bitmap_size are
 *       dropped ("mark_dirty OOR!"), PEEK/CLEAN truncate sc->pages to
 *       bitmap_size, and nothing is preempted.
 *   (7) preemption (XSA-97, c/s 95e6d82224): after each L3 entry (2^24
 *       pfns) and each L4 entry (2^33 pfns) the walk asks
 *       hypercall_preempt_check(); when it answers yes the position
 *       (i4, i3, done) is saved in ld.preempt, the domain stays paused
 *       and the op returns -ERESTART; the continuation resumes there.
 *       Meanwhile any other log-dirty op gets -EBUSY (paging_domctl()).
 *
 * State (paging_mode_log_dirty(d) and the P2M's RAM types):
 *
 *   off --paging_log_dirty_enable [rw->logdirty]--> on
 *   on  --paging_log_dirty_op(CLEAN) [rw->logdirty, re-arm]--> on
 *   on  --paging_log_dirty_disable [logdirty->rw, free tree]--> off
 */
#include <string.h>

#include "pagesim/mutant.h"
#include "sim-internal.h"

/* pfns the tree can describe: 2^(15 + 3*9). */
#define LOGDIRTY_MAX_PFNS (1ULL << (PAGE_SHIFT + 3 + 27))
#define LEAF_PFNS (PAGE_SIZE * 8)

/* Entry idx of interior node 'node' (an mfn; INVALID_MFN if unset). */
static mfn_t ld_node_get(const struct domain *d, mfn_t node, unsigned idx)
{
    uint64_t v = ~0ULL;
    hostmem_read64(d->host->mem, hpa_add(mfn_to_hpa(node), idx * 8ULL), &v);
    return _mfn(v);
}

/* Whether node's slots [idx, idx + 64) are all INVALID_MFN (never set, as
 * paging_new_log_dirty_node() leaves them): a walk that does nothing for
 * such a slot passes the 64 at once instead of reading each (the trie of a
 * small domain is one slot per node).  An unbacked frame reads as zeros,
 * i.e. slots naming mfn 0: not a run to pass. */
static bool ld_node_unset64(const struct domain *d, mfn_t node, unsigned idx)
{
    static const uint8_t unset[64 * 8] = { [0 ... 64 * 8 - 1] = 0xff };
    const uint8_t *f = hostmem_frame_peek(d->host->mem, node);
    return f && !memcmp(f + idx * 8ULL, unset, sizeof unset);
}

static void ld_node_set(struct domain *d, mfn_t node, unsigned idx, mfn_t m)
{
    hostmem_write64(d->host->mem, hpa_add(mfn_to_hpa(node), idx * 8ULL),
                    mfn_x(m));
}

/* paging_new_log_dirty_page(): a frame from the pool, or INVALID_MFN with
 * failed_allocs counted. */
static mfn_t paging_new_log_dirty_page(struct domain *d)
{
    mfn_t m = heap_alloc_page(d->host, d->id, PGU_LOGDIRTY);
    if (mfn_eq(m, INVALID_MFN)) {
        d->ld.failed_allocs++;
        return INVALID_MFN;
    }
    d->ld.allocs++;
    return m;
}

/* paging_new_log_dirty_node(): every child slot INVALID_MFN. */
static mfn_t paging_new_log_dirty_node(struct domain *d)
{
    mfn_t m = paging_new_log_dirty_page(d);
    if (!mfn_eq(m, INVALID_MFN)) {
        uint8_t *p = hostmem_frame(d->host->mem, m);
        if (p)
            memset(p, 0xff, PAGE_SIZE);
    }
    return m;
}

/* paging_new_log_dirty_leaf(): heap frames are already zero. */
static mfn_t paging_new_log_dirty_leaf(struct domain *d)
{
    return paging_new_log_dirty_page(d);
}

static void paging_free_log_dirty_page(struct domain *d, mfn_t m)
{
    if (d->ld.allocs)
        d->ld.allocs--;
    heap_free_page(d->host, m);
}

/*
 * Child idx of node, allocating it (a node, or a leaf if 'leaf') when
 * 'alloc'; INVALID_MFN when missing and not allocated or allocation failed.
 */
static mfn_t ld_child(struct domain *d, mfn_t node, unsigned idx, bool alloc,
                      bool leaf)
{
    mfn_t m = ld_node_get(d, node, idx);
    if (!mfn_eq(m, INVALID_MFN) || !alloc)
        return m;
    m = leaf ? paging_new_log_dirty_leaf(d) : paging_new_log_dirty_node(d);
    if (!mfn_eq(m, INVALID_MFN))
        ld_node_set(d, node, idx, m);
    return m;
}

/* ---- the flat bitmap (logdirty_mode "bitmap", note (6)) ---------------------- */

/* paging_alloc_log_dirty_bitmap() before c/s 16393: bitmap_size =
 * (domain_get_maximum_gpfn(d) + BITS_PER_LONG) & ~(BITS_PER_LONG - 1). */
uint64_t paging_bitmap_bits(uint64_t max_gfn)
{
    uint64_t max_gpfn = max_gfn - 1;
    if (MUTANT(MUT_LD_BITMAP_OFF_BY_ONE))
        return (max_gpfn + 63) & ~63ULL;
    return (max_gpfn + 64) & ~63ULL;
}

/* xmalloc_array() of more than a page: get_order_from_bytes(bits / 8). */
unsigned paging_bitmap_order(uint64_t bits)
{
    uint64_t bytes = bits / 8;
    unsigned order = 0;
    while ((uint64_t)PAGE_SIZE << order < bytes)
        order++;
    return order;
}

static int ld_bitmap_alloc(struct domain *d)
{
    uint64_t bits = paging_bitmap_bits(d->max_gfn);
    unsigned order = paging_bitmap_order(bits);
    mfn_t m = heap_alloc_pages(d->host, d->id, PGU_LOGDIRTY, order);
    if (mfn_eq(m, INVALID_MFN))
        return -ENOMEM;
    /* heap frames are zero: the memset() of the old code */
    d->ld.bitmap = m;
    d->ld.bitmap_order = order;
    d->ld.bitmap_size = bits;
    d->ld.allocs += 1u << order;
    return 0;
}

static void ld_bitmap_free(struct domain *d)
{
    if (!d->ld.bitmap_size)
        return;
    heap_free_pages(d->host, d->ld.bitmap, d->ld.bitmap_order);
    d->ld.allocs -= 1u << d->ld.bitmap_order;
    d->ld.bitmap = INVALID_MFN;
    d->ld.bitmap_size = 0;
    d->ld.bitmap_order = 0;
}

/* The byte of the flat bitmap holding pfn's bit (frame pfn / 32768). */
static mfn_t ld_bitmap_frame(const struct domain *d, uint64_t pfn)
{
    return mfn_add(d->ld.bitmap, pfn / LEAF_PFNS);
}

/* __test_and_set_bit / clear on the flat bitmap; pfns beyond it are
 * dropped as the old code's "mark_dirty OOR!" did. */
static void ld_bitmap_mark(struct domain *d, uint64_t pfn, bool dirty)
{
    if (pfn >= d->ld.bitmap_size)
        return;
    uint64_t i = pfn % LEAF_PFNS;
    uint8_t bit = (uint8_t)(1u << (i & 7));
    mfn_t f = ld_bitmap_frame(d, pfn);
    const uint8_t *peek = hostmem_frame_peek(d->host->mem, f);
    bool was = peek && (peek[i >> 3] & bit);
    if (dirty == was)
        return;
    uint8_t *p = hostmem_frame(d->host->mem, f);
    if (!p)
        return;
    if (dirty) {
        p[i >> 3] |= bit;
        d->ld.dirty_count++;
    } else {
        p[i >> 3] &= (uint8_t)~bit;
        d->ld.dirty_count--;
    }
}

/* set_pfn_logdirty(): the common body of the two markers. */
static void set_pfn_logdirty_one(struct domain *d, gfn_t gfn, bool dirty)
{
    uint64_t pfn = gfn_x(gfn);

    if (!d->ld.enabled)
        return;
    if (d->ld.bitmap_mode) {
        ld_bitmap_mark(d, pfn, dirty);
        return;
    }
    /* !VALID_M2P(pfn) is ignored; so is what the tree cannot hold. */
    if (pfn >= LOGDIRTY_MAX_PFNS)
        return;

    if (mfn_eq(d->ld.top, INVALID_MFN)) {
        if (!dirty)
            return;
        d->ld.top = paging_new_log_dirty_node(d);
        if (mfn_eq(d->ld.top, INVALID_MFN))
            return;
    }
    mfn_t l3 = ld_child(d, d->ld.top, L4_LOGDIRTY_IDX(pfn), dirty, false);
    if (mfn_eq(l3, INVALID_MFN))
        return;
    mfn_t l2 = ld_child(d, l3, L3_LOGDIRTY_IDX(pfn), dirty, false);
    if (mfn_eq(l2, INVALID_MFN))
        return;
    mfn_t l1 = ld_child(d, l2, L2_LOGDIRTY_IDX(pfn), dirty, true);
    if (mfn_eq(l1, INVALID_MFN))
        return;

    uint64_t i1 = L1_LOGDIRTY_IDX(pfn);
    uint8_t bit = (uint8_t)(1u << (i1 & 7));
    bool changed;
    if (dirty) {
        uint8_t *leaf = hostmem_frame(d->host->mem, l1);
        if (!leaf)
            return;
        changed = !(leaf[i1 >> 3] & bit);
        leaf[i1 >> 3] |= bit;
    } else {
        /* A clean mark must not even back the frame. */
        const uint8_t *peek = hostmem_frame_peek(d->host->mem, l1);
        if (!peek || !(peek[i1 >> 3] & bit))
            return;
        hostmem_frame(d->host->mem, l1)[i1 >> 3] &= (uint8_t)~bit;
        changed = true;
    }
    if (changed) {
        if (dirty)
            d->ld.dirty_count++;
        else
            d->ld.dirty_count--;
    }
}

/* set_pfn_logdirty() with the gfns of dropped marks remembered for the
 * harness (d->ld.failed_gfn[]), so the oracle can be told which mark an
 * injected allocation failure cost. */
static void set_pfn_logdirty(struct domain *d, gfn_t gfn, bool dirty)
{
    unsigned before = d->ld.failed_allocs;
    set_pfn_logdirty_one(d, gfn, dirty);
    if (d->ld.failed_allocs != before)
        d->ld.failed_gfn[before % LOGDIRTY_FAILED_GFNS] = gfn_x(gfn);
}

/* paging_mark_pfn_dirty(): no-op unless log-dirty is on; may allocate. */
void paging_mark_pfn_dirty(struct domain *d, gfn_t gfn)
{
    set_pfn_logdirty(d, gfn, true);
}

/* paging_mark_pfn_clean(): no-op unless log-dirty is on; never allocates. */
void paging_mark_pfn_clean(struct domain *d, gfn_t gfn)
{
    set_pfn_logdirty(d, gfn, false);
}

/* paging_mark_dirty(): by frame; ignored unless d owns mfn and the M2P
 * names a gfn for it. */
void paging_mark_dirty(struct domain *d, mfn_t mfn)
{
    struct host *h = d->host;

    if (!d->ld.enabled || !hostmem_mfn_valid(h->nr_frames, mfn) ||
        h->frames[mfn_x(mfn)].use == PGU_FREE ||
        h->frames[mfn_x(mfn)].owner != d->id)
        return;
    uint64_t pfn = get_gpfn_from_mfn(h, mfn);
    if (pfn == INVALID_M2P_ENTRY)
        return;
    set_pfn_logdirty(d, _gfn(pfn), true);
}

/* paging_free_log_dirty_bitmap(): every node and leaf back to the heap,
 * top reset, failed_allocs reset (the way out of note (2)). */
void paging_free_log_dirty_bitmap(struct domain *d)
{
    if (!mfn_eq(d->ld.top, INVALID_MFN)) {
        /* Runs of 64 unset slots are passed (ld_node_unset64()); each
         * run is looked at before anything in it could change (the frees
         * below touch only the child frames). */
        for (unsigned i4 = 0; i4 < LOGDIRTY_NODE_ENTRIES; i4++) {
            if (!(i4 % 64) && ld_node_unset64(d, d->ld.top, i4)) {
                i4 += 63;
                continue;
            }
            mfn_t l3 = ld_node_get(d, d->ld.top, i4);
            if (mfn_eq(l3, INVALID_MFN))
                continue;
            for (unsigned i3 = 0; i3 < LOGDIRTY_NODE_ENTRIES; i3++) {
                if (!(i3 % 64) && ld_node_unset64(d, l3, i3)) {
                    i3 += 63;
                    continue;
                }
                mfn_t l2 = ld_node_get(d, l3, i3);
                if (mfn_eq(l2, INVALID_MFN))
                    continue;
                for (unsigned i2 = 0; i2 < LOGDIRTY_NODE_ENTRIES; i2++) {
                    if (!(i2 % 64) && ld_node_unset64(d, l2, i2)) {
                        i2 += 63;
                        continue;
                    }
                    mfn_t l1 = ld_node_get(d, l2, i2);
                    if (!mfn_eq(l1, INVALID_MFN))
                        paging_free_log_dirty_page(d, l1);
                }
                paging_free_log_dirty_page(d, l2);
            }
            paging_free_log_dirty_page(d, l3);
        }
        paging_free_log_dirty_page(d, d->ld.top);
        d->ld.top = INVALID_MFN;
    }
    ld_bitmap_free(d);
    d->ld.failed_allocs = 0;
    d->ld.partial_clean = false;
    d->ld.preempt.active = false; /* only reached without one, or dying */
}

/*
 * paging_log_dirty_enable() + hap_enable_log_dirty(): returns 0 with every
 * ram_rw entry now ram_logdirty, or -EINVAL if log-dirty is already on.
 */
int paging_log_dirty_enable(struct domain *d)
{
    /* paging_domctl(): nothing but the continuation while one is due */
    if (d->ld.preempt.active)
        return -EBUSY;
    if (d->ld.enabled)
        return -EINVAL;
    /* hap_enable_log_dirty(): not while ioreq_server entries exist. */
    if (d->ioreq.entry_count)
        return -EBUSY;
    /* Pre-2007: paging_alloc_log_dirty_bitmap() first; on failure the
     * domain stays out of log-dirty mode. */
    if (d->ld.bitmap_mode) {
        int rc = ld_bitmap_alloc(d);
        if (rc)
            return rc;
    }
    /* With PML (vmx_domain_enable_pml(), before the type change so that
     * the ram_logdirty leaves come out writable with D clear): a log page
     * per vCPU.  Out of memory: nothing changes, as Xen fails the enable. */
    if (d->pml_mode) {
        for (unsigned v = 0; v < d->nr_vcpus; v++)
            if (pml_vcpu_enable(d, v)) {
                pml_domain_disable(d);
                if (d->ld.bitmap_mode)
                    ld_bitmap_free(d);
                return -ENOMEM;
            }
        d->pml_on = true;
    }
    d->ld.enabled = true;
    p2m_change_entry_type_global(d, p2m_ram_rw, p2m_ram_logdirty);
    return 0;
}

/*
 * paging_log_dirty_disable(): hap_disable_log_dirty() (logdirty -> rw) then
 * paging_free_log_dirty_bitmap().  Returns 0 or -EINVAL if log-dirty is off.
 */
int paging_log_dirty_disable(struct domain *d)
{
    if (d->ld.preempt.active)
        return -EBUSY;
    if (!d->ld.enabled)
        return -EINVAL;
    d->ld.enabled = false;
    /* hap_disable_log_dirty() clears the mode before
     * vmx_domain_disable_pml() flushes: the flush's marks are no-ops, so
     * the logs are just dropped. */
    if (d->pml_on)
        pml_domain_disable(d);
    p2m_change_entry_type_global(d, p2m_ram_logdirty, p2m_ram_rw);
    paging_free_log_dirty_bitmap(d);
    return 0;
}

/* pfns under one L2 node and under one L3 node. */
#define L2_SPAN (LEAF_PFNS * LOGDIRTY_NODE_ENTRIES)
#define L3_SPAN (L2_SPAN * LOGDIRTY_NODE_ENTRIES)

/*
 * One step of the PEEK walk: the next 'span' pfns (one leaf, or a whole
 * missing subtree) are copied from leaf l1, or zero-filled if l1 is
 * INVALID_MFN or unbacked.  Like Xen's per-leaf loop, only the last step is
 * cut short, rounded up to whole bytes.
 */
static void ld_copy_span(const struct hostmem *hm, mfn_t l1, uint8_t *bitmap,
                         uint64_t *done, uint64_t want, uint64_t span)
{
    uint64_t left = want - *done;
    uint64_t bytes = left >= span ? span >> 3 : (left + 7) >> 3;

    if (bitmap) {
        const uint8_t *src =
            mfn_eq(l1, INVALID_MFN) ? NULL : hostmem_frame_peek(hm, l1);
        if (src)
            memcpy(bitmap + (*done >> 3), src, bytes);
        else
            memset(bitmap + (*done >> 3), 0, bytes);
    }
    *done += bytes << 3;
}

/* The flat bitmap's PEEK/CLEAN (2007 and before): sc->pages truncated to
 * bitmap_size, then copied (and cleared) in one go. */
static void ld_bitmap_op(struct domain *d, bool clean, uint64_t *pages,
                         uint8_t *bitmap)
{
    struct hostmem *hm = d->host->mem;
    if (*pages > d->ld.bitmap_size)
        *pages = d->ld.bitmap_size;
    uint64_t done = 0;
    for (uint64_t f = 0; done < *pages; f++) {
        mfn_t m = mfn_add(d->ld.bitmap, f);
        uint64_t from = done;
        ld_copy_span(hm, m, bitmap, &done, *pages, LEAF_PFNS);
        /* memset() of the bytes just copied, no more */
        uint8_t *p = clean ? hostmem_frame(hm, m) : NULL;
        if (p)
            memset(p, 0, (done - from) >> 3);
    }
}

/*
 * paging_log_dirty_op() PEEK / CLEAN over gfns [0, *pages), see
 * paging_log_dirty_op_ex() in sim.h for preemption.  *stats (may be NULL)
 * gets the counts as they are on each call, even when it then fails.
 * bitmap (may be NULL) needs (*pages + 7) / 8 bytes; missing nodes read as
 * zeros, and the last byte may carry up to 7 bits past *pages, as in Xen.
 * *pages is lowered to what the tree covers (2^42) or, in bitmap mode, to
 * bitmap_size.  CLEAN clears every existing leaf, and when the whole walk
 * is done zeroes the counts and re-arms: hap_clean_dirty_bitmap() turns
 * ram_rw back into ram_logdirty so the next write faults again.
 * Returns 0, -EINVAL (log-dirty off), -ENOMEM (failed allocations),
 * -ERESTART, -EBUSY.
 */
int paging_log_dirty_op_ex(struct domain *d, bool clean, uint64_t *pages,
                           uint8_t *bitmap, struct log_dirty_stats *stats,
                           bool preempt, bool resuming)
{
    struct hostmem *hm = d->host->mem;
    struct log_dirty *ld = &d->ld;

    /* paging_domctl(): a new op while a continuation is due, or a
     * continuation that does not match the pending op. */
    if (resuming ? (!ld->preempt.active || ld->preempt.clean != clean)
                 : (ld->preempt.active && !MUTANT(MUT_LD_PREEMPT_NO_EBUSY)))
        return -EBUSY;
    if (!resuming)
        ld->preempt.active = false; /* preempt state zeroed */
    if (!ld->enabled)
        return -EINVAL;
    /* p2m_flush_hardware_cached_dirty() (on the first call, not on a
     * continuation): gfns the processor logged since the last PML-full
     * exit are marked first. */
    if (!resuming && d->pml_on && !MUTANT(MUT_PML_NO_FLUSH_AT_OP))
        pml_domain_flush(d);
    /* xen_domctl_shadow_op_stats has 32-bit counts: min(count, UINT32_MAX) */
    if (stats) {
        stats->dirty_count = ld->dirty_count > UINT32_MAX ? UINT32_MAX
                                                          : ld->dirty_count;
        stats->fault_count = ld->fault_count > UINT32_MAX ? UINT32_MAX
                                                          : ld->fault_count;
    }
    if (ld->failed_allocs && !MUTANT(MUT_LD_IGNORE_FAILED_ALLOCS)) {
        ld->preempt.active = false; /* out: preempt.dom = NULL, unpause */
        return -ENOMEM;
    }

    uint64_t want_all = *pages;
    if (ld->bitmap_mode) {
        ld_bitmap_op(d, clean, pages, bitmap);
        goto complete;
    }

    uint64_t want = *pages, done = 0;
    unsigned i4 = 0, i3 = 0;
    if (resuming && !MUTANT(MUT_LD_RESUME_RESTART)) {
        i4 = ld->preempt.i4;
        i3 = ld->preempt.i3;
        done = ld->preempt.done;
    }
    int rv = 0;
    bool top = !mfn_eq(ld->top, INVALID_MFN);
    for (; done < want && i4 < LOGDIRTY_NODE_ENTRIES; i4++, i3 = 0) {
        mfn_t l3 = top ? ld_node_get(d, ld->top, i4) : INVALID_MFN;
        for (; done < want && i3 < LOGDIRTY_NODE_ENTRIES; i3++) {
            mfn_t l2 = mfn_eq(l3, INVALID_MFN) ? INVALID_MFN
                                                : ld_node_get(d, l3, i3);
            if (mfn_eq(l2, INVALID_MFN)) {
                /* Xen zero-fills leaf by leaf; the sum is the same. */
                ld_copy_span(hm, l2, bitmap, &done, want, L2_SPAN);
            } else {
                for (unsigned i2 = 0; done < want && i2 < LOGDIRTY_NODE_ENTRIES;
                     i2++) {
                    mfn_t l1 = ld_node_get(d, l2, i2);
                    ld_copy_span(hm, l1, bitmap, &done, want, LEAF_PFNS);
                    /* clear_page(): the leaf stays allocated. */
                    if (clean && !mfn_eq(l1, INVALID_MFN))
                        hostmem_zero_frame(hm, l1);
                }
            }
            if (preempt && i3 < LOGDIRTY_NODE_ENTRIES - 1) {
                ld->preempt.i4 = i4;
                ld->preempt.i3 = i3 + (MUTANT(MUT_LD_RESUME_SKIP) ? 2 : 1);
                rv = -ERESTART;
                break;
            }
        }
        if (!rv && preempt && i4 < LOGDIRTY_NODE_ENTRIES - 1) {
            ld->preempt.i4 = i4 + 1;
            ld->preempt.i3 = 0;
            rv = -ERESTART;
        }
        if (rv)
            break;
    }
    if (rv) {
        /* preempt.dom = current->domain: the domain stays paused. */
        ld->preempt.active = true;
        ld->preempt.clean = clean;
        ld->preempt.done = done;
        return rv;
    }
    if (done < want)
        *pages = done;

complete:
    ld->preempt.active = false;
    if (clean) {
        /* bits may stay behind: beyond sc->pages, or marked between the
         * calls of a preempted CLEAN in the part already walked */
        ld->partial_clean = want_all < d->max_gfn || resuming;
        ld->dirty_count = 0;
        ld->fault_count = 0;
        p2m_change_entry_type_global(d, p2m_ram_rw, p2m_ram_logdirty);
    }
    return 0;
}

int paging_log_dirty_op(struct domain *d, bool clean, uint64_t *pages,
                        uint8_t *bitmap, struct log_dirty_stats *stats)
{
    return paging_log_dirty_op_ex(d, clean, pages, bitmap, stats, false, false);
}

/*
 * paging_mfn_is_dirty() by gfn.  Upstream reads the tree and says "clean"
 * where a node is missing, whatever failed_allocs says (reference 3.3 (5)).
 * The 2007 seed's sh_mfn_is_dirty() (seed 000, shadow/private.h) answers
 * "dirty" for everything once an allocation failed: "our dirty log is
 * bogus ... be conservative", so its caller leaves the page writable.
 */
bool paging_gfn_is_dirty(const struct domain *d, gfn_t gfn)
{
    uint64_t pfn = gfn_x(gfn);
    const struct hostmem *hm = d->host->mem;

    if (!d->ld.enabled)
        return false;
    if (d->ld.conservative && d->ld.failed_allocs)
        return true;
    mfn_t l1;
    if (d->ld.bitmap_mode) {
        if (pfn >= d->ld.bitmap_size)
            return false;
        l1 = ld_bitmap_frame(d, pfn);
    } else {
        if (pfn >= LOGDIRTY_MAX_PFNS || mfn_eq(d->ld.top, INVALID_MFN))
            return false;
        mfn_t l3 = ld_node_get(d, d->ld.top, L4_LOGDIRTY_IDX(pfn));
        if (mfn_eq(l3, INVALID_MFN))
            return false;
        mfn_t l2 = ld_node_get(d, l3, L3_LOGDIRTY_IDX(pfn));
        if (mfn_eq(l2, INVALID_MFN))
            return false;
        l1 = ld_node_get(d, l2, L2_LOGDIRTY_IDX(pfn));
        if (mfn_eq(l1, INVALID_MFN))
            return false;
    }
    uint64_t i = L1_LOGDIRTY_IDX(pfn);
    const uint8_t *p = hostmem_frame_peek(hm, l1);
    return p && (p[i >> 3] >> (i & 7) & 1);
}
