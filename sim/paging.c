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

/* set_pfn_logdirty(): the common body of the two markers. */
static void set_pfn_logdirty_one(struct domain *d, gfn_t gfn, bool dirty)
{
    uint64_t pfn = gfn_x(gfn);

    if (!d->ld.enabled)
        return;
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
        for (unsigned i4 = 0; i4 < LOGDIRTY_NODE_ENTRIES; i4++) {
            mfn_t l3 = ld_node_get(d, d->ld.top, i4);
            if (mfn_eq(l3, INVALID_MFN))
                continue;
            for (unsigned i3 = 0; i3 < LOGDIRTY_NODE_ENTRIES; i3++) {
                mfn_t l2 = ld_node_get(d, l3, i3);
                if (mfn_eq(l2, INVALID_MFN))
                    continue;
                for (unsigned i2 = 0; i2 < LOGDIRTY_NODE_ENTRIES; i2++) {
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
    d->ld.failed_allocs = 0;
}

/*
 * paging_log_dirty_enable() + hap_enable_log_dirty(): returns 0 with every
 * ram_rw entry now ram_logdirty, or -EINVAL if log-dirty is already on.
 */
int paging_log_dirty_enable(struct domain *d)
{
    if (d->ld.enabled)
        return -EINVAL;
    /* hap_enable_log_dirty(): not while ioreq_server entries exist. */
    if (d->ioreq.entry_count)
        return -EBUSY;
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
    if (!d->ld.enabled)
        return -EINVAL;
    d->ld.enabled = false;
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

/*
 * paging_log_dirty_op() PEEK / CLEAN over gfns [0, *pages), without
 * preemption.  *stats (may be NULL) gets the counts as they were on entry,
 * even when the call then fails.  bitmap (may be NULL) needs
 * (*pages + 7) / 8 bytes; missing nodes read as zeros, and the last byte
 * may carry up to 7 bits past *pages, as in Xen.  *pages is lowered to what
 * the tree covers (2^42).  CLEAN clears every existing leaf, zeroes the
 * counts and re-arms: hap_clean_dirty_bitmap() turns ram_rw back into
 * ram_logdirty so the next write faults again.
 * Returns 0, -EINVAL (log-dirty off), -ENOMEM (failed allocations).
 */
int paging_log_dirty_op(struct domain *d, bool clean, uint64_t *pages,
                        uint8_t *bitmap, struct log_dirty_stats *stats)
{
    struct hostmem *hm = d->host->mem;

    if (!d->ld.enabled)
        return -EINVAL;
    if (stats) {
        stats->dirty_count = d->ld.dirty_count;
        stats->fault_count = d->ld.fault_count;
    }
    if (d->ld.failed_allocs && !MUTANT(MUT_LD_IGNORE_FAILED_ALLOCS))
        return -ENOMEM;

    uint64_t want = *pages, done = 0;
    if (mfn_eq(d->ld.top, INVALID_MFN)) {
        ld_copy_span(hm, INVALID_MFN, bitmap, &done, want, LOGDIRTY_MAX_PFNS);
        goto walked;
    }
    for (unsigned i4 = 0; done < want && i4 < LOGDIRTY_NODE_ENTRIES; i4++) {
        mfn_t l3 = ld_node_get(d, d->ld.top, i4);
        if (mfn_eq(l3, INVALID_MFN)) {
            ld_copy_span(hm, l3, bitmap, &done, want, L3_SPAN);
            continue;
        }
        for (unsigned i3 = 0; done < want && i3 < LOGDIRTY_NODE_ENTRIES; i3++) {
            mfn_t l2 = ld_node_get(d, l3, i3);
            if (mfn_eq(l2, INVALID_MFN)) {
                ld_copy_span(hm, l2, bitmap, &done, want, L2_SPAN);
                continue;
            }
            for (unsigned i2 = 0; done < want && i2 < LOGDIRTY_NODE_ENTRIES;
                 i2++) {
                mfn_t l1 = ld_node_get(d, l2, i2);
                ld_copy_span(hm, l1, bitmap, &done, want, LEAF_PFNS);
                /* clear_page(): the leaf stays allocated. */
                if (clean && !mfn_eq(l1, INVALID_MFN))
                    hostmem_zero_frame(hm, l1);
            }
        }
    }
walked:
    if (done < want)
        *pages = done;

    if (clean) {
        d->ld.dirty_count = 0;
        d->ld.fault_count = 0;
        p2m_change_entry_type_global(d, p2m_ram_rw, p2m_ram_logdirty);
    }
    return 0;
}
