/* SPDX-License-Identifier: MIT */
/*
 * oracle/check.c - the sim's state against the flat model (oracle_compare)
 * and against itself (oracle_invariants).
 *
 * Both decode the sim's state from host memory with oracle/decode.c, never
 * through a sim function.  Field names in reports:
 *   compare:     d<id>.p2m[<gfn>].type|mfn|perm, d<id>.ept[...], m2p[<mfn>],
 *                d<id>.dirty[<gfn>], d<id>.ld.enabled|dirty_count,
 *                d<id>.tot_pages, d<id>.max_gfn, d<id> (existence),
 *                frame[<mfn>].owner|use
 *   invariants:  "I<n> ..." where n is
 *     I1 P2M -> M2P: a RAM leaf gfn -> mfn has m2p[mfn] == gfn
 *     I2 M2P -> P2M: a guest frame with m2p[mfn] = gfn is mapped at gfn by
 *        its owner, which exists
 *     I3 ld.dirty_count >= bits set in the radix tree.  Not equality: Xen's
 *        paging_free_log_dirty_bitmap() (disable) frees the tree but leaves
 *        dirty_count, which only CLEAN zeroes; the exact value, which needs
 *        the history, is compare's d<id>.ld.dirty_count.  Not after a CLEAN
 *        of fewer pages than the domain has (ld.partial_clean): it zeroes
 *        the count and leaves the bits beyond sc->pages.
 *     I4 ld.allocs == frames the tree references == PGU_LOGDIRTY frames of
 *        the domain (and no PGU_LOGDIRTY frame without a live owner)
 *     I5 a frame backing no guest page (free, EPT table, log-dirty node) has
 *        M2P INVALID; a free frame has no owner
 *     I6 p2m_pages == EPT table frames reached from the root == PGU_P2M
 *        frames of the domain (and none without a live owner)
 *     I7 paging (oracle/paging.c): ring requests <= ring size, none without
 *        a ring; a vCPU is paused for the pager iff its pause count is
 *        non-zero; a paged gfn has no frame, a paging_out gfn has one
 *   compare also: d<id>.paged_pages, d<id>.ring.*, d<id>.v<n>.state,
 *        frame[<mfn>].count (1 + foreign references; without the 1 for
 *        a page removed while mapped, which must stay its owner's)
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "oracle_priv.h"

static const char *dirty_name(bool d) { return d ? "dirty" : "clean"; }

static const char *u64s(uint64_t v, char buf[24])
{
    snprintf(buf, 24, "%" PRIu64, v);
    return buf;
}

/* The sim's dirty log, leaf by leaf: the radix tree (oracle_ld_walk), or
 * in bitmap mode the flat bitmap's frames, 32768 pfns each, which must be
 * PGU_LOGDIRTY frames of d.  Returns the frames referenced. */
unsigned oracle_sim_ld_leaves(const struct host *h, const struct domain *d,
                              const struct oracle_ld_visit *v)
{
    if (!d->ld.bitmap_mode)
        return oracle_ld_walk(h, d->ld.top, v);
    if (!d->ld.bitmap_size)
        return 0;
    uint64_t n = 1ULL << d->ld.bitmap_order;
    for (uint64_t f = 0; f < n; f++) {
        uint64_t m = mfn_x(d->ld.bitmap) + f;
        if (m >= h->nr_frames || h->frames[m].use != PGU_LOGDIRTY ||
            h->frames[m].owner != d->id) {
            v->bad(v->ctx, "flat bitmap frame not a log-dirty frame of the domain", m);
            continue;
        }
        if (f * (PAGE_SIZE << 3) < d->ld.bitmap_size) {
            if (v->frame)
                v->frame(v->ctx, m);
            v->leaf(v->ctx, f * (PAGE_SIZE << 3),
                    hostmem_frame_peek(h->mem, _mfn(m)));
        }
    }
    return (unsigned)n;
}

/* oracle_check()'s record of the frames the checks read (NULL: none). */
static void rec_table(void *ctx, uint64_t mfn);
static void rec_frame(void *ctx, uint64_t mfn);

/* ---- oracle_compare ------------------------------------------------------------- */

/*
 * The sim's P2M of one domain against the flat model, in two passes that
 * touch only what exists (the flat model is chunked, the EPT sparse):
 * (1) every non-empty EPT leaf against the model's gfn; (2) every gfn the
 * model holds (not the empty mmio_dm/INVALID) whose EPT entry is missing,
 * and the frame behind each RAM gfn.  Together they compare every gfn of
 * [0, max_gfn), as a dense loop would.
 */
struct p2m_view {
    struct oracle_reporter *r;
    const struct oracle_dom *od; /* raw gfns are not compared */
};

/* One gfn: the sim's decoded entry e (0: missing) of the given order
 * against the model's. */
static void compare_gfn(struct oracle_reporter *r, const struct oracle_dom *od,
                        uint64_t g, uint64_t e, unsigned order)
{
    char e1[24], a1[24];
    struct oracle_epte a;
    oracle_p2m_decode(od->npt, e, &a);
    unsigned xt = od_type(od, g), xp = oracle_gfn_perms(od, g);
    uint64_t xm = od_mfn(od, g);
    /* NPT, a present leaf reported with U clear: its path holds a recalc
     * marker of a deferred global type change (oracle/decode.c).  Its
     * stored type may be the old one, but the recalculation must give the
     * model's type (oracle_npt_recalc_type()), and the rest of the entry
     * must be exactly what p2m_type_to_flags() gave the stored type. */
    if (od->npt && e && (e & 1) && !(e & 4)) {
        unsigned rt = oracle_npt_recalc_type(od, a.type);
        if (rt != xt)
            oracle_report(r, oracle_type_name(xt, e1), oracle_type_name(rt, a1),
                          "d%u.p2m[%#" PRIx64 "].type (after recalc)", od->id, g);
        if (a.mfn != xm)
            oracle_report(r, oracle_hex(xm, e1), oracle_hex(a.mfn, a1),
                          "d%u.p2m[%#" PRIx64 "].mfn", od->id, g);
        if (order != od_order(od, g))
            oracle_report(r, u64s(od_order(od, g), e1), u64s(order, a1),
                          "d%u.p2m[%#" PRIx64 "].order", od->id, g);
        uint64_t want = oracle_npt_type_flags(a.type, od->ioreq_write) |
                        (order ? 0x80ULL : 0);
        uint64_t got = (e | 4) & (0xFFFULL | (1ULL << 63));
        /* A stale ioreq_server leaf has the RW the server's claim gave it
         * when it was written, which may have changed since. */
        uint64_t alt = a.type == p2m_ioreq_server
                           ? oracle_npt_type_flags(a.type, !od->ioreq_write) |
                                 (order ? 0x80ULL : 0)
                           : want;
        if (got != want && got != alt)
            oracle_report(r, oracle_hex(want, e1), oracle_hex(got, a1),
                          "d%u.npt[%#" PRIx64 "].flags (marked)", od->id, g);
        return;
    }
    /* With PML a 4 KiB ram_logdirty leaf stays writable (its D flag, not a
     * fault, reports the first write); a superpage stays write-protected. */
    if (xt == p2m_ram_logdirty && od->pml_on && od_order(od, g) == 0)
        xp = oracle_perms(p2m_ram_rw, od_access(od, g));
    if (a.type != xt)
        oracle_report(r, oracle_type_name(xt, e1), oracle_type_name(a.type, a1),
                      "d%u.p2m[%#" PRIx64 "].type", od->id, g);
    if (a.mfn != xm)
        oracle_report(r, oracle_hex(xm, e1), oracle_hex(a.mfn, a1),
                      "d%u.p2m[%#" PRIx64 "].mfn", od->id, g);
    if (a.perm != xp)
        oracle_report(r, oracle_perm_name(xp), oracle_perm_name(a.perm),
                      "d%u.p2m[%#" PRIx64 "].perm", od->id, g);
    if (order != od_order(od, g))
        oracle_report(r, u64s(od_order(od, g), e1), u64s(order, a1),
                      "d%u.p2m[%#" PRIx64 "].order", od->id, g);
    /* NPT: the leaf's flags exactly as p2m-pt's p2m_type_to_flags()
     * gives the type (P, RW, U, A, D, PCD, NX; PS for a superpage), and no
     * access type to compare (p2m-pt keeps none). */
    if (od->npt) {
        if (e && (xt != p2m_mmio_dm || xm != mfn_x(INVALID_MFN))) {
            uint64_t want = oracle_npt_type_flags(xt, od->ioreq_write) |
                            (order ? 0x80ULL : 0);
            uint64_t got = e & (0xFFFULL | (1ULL << 63));
            if (got != want)
                oracle_report(r, oracle_hex(want, e1), oracle_hex(got, a1),
                              "d%u.npt[%#" PRIx64 "].flags", od->id, g);
        }
        return;
    }
    /* epte_get_entry_emt(): a direct-MMIO device frame (not RAM) is UC
     * with ignore-PAT, so the guest never caches device registers. */
    if (xt == p2m_mmio_direct && a.type == p2m_mmio_direct) {
        unsigned emt = (unsigned)((e & EPTE_EMT_MASK) >> EPTE_EMT_SHIFT);
        bool ipat = (e & EPTE_IPAT) != 0;
        if (emt != EPT_MT_UC || !ipat)
            oracle_report(r, "UC ipat", ipat ? (emt == EPT_MT_WB ? "WB ipat" : "other ipat")
                                              : (emt == EPT_MT_WB ? "WB" : "other"),
                          "d%u.p2m[%#" PRIx64 "].memtype", od->id, g);
    }
    /* The stored access of an entry that holds something (an empty
     * entry has none: ept_get_entry() answers n). */
    unsigned aa = e ? (unsigned)((e & EPTE_ACCESS_MASK) >> EPTE_ACCESS_SHIFT) : 0;
    if ((xt != p2m_mmio_dm || xm != mfn_x(INVALID_MFN)) && aa != od_access(od, g))
        oracle_report(r, u64s(od_access(od, g), e1), u64s(aa, a1),
                      "d%u.p2m[%#" PRIx64 "].access", od->id, g);
}

static void view_leaf(void *ctx, uint64_t gfn, uint64_t e, unsigned order)
{
    struct p2m_view *v = ctx;
    struct oracle_epte x;
    char b1[16];
    oracle_p2m_decode(v->od->npt, e, &x);
    if (oracle_is_raw(v->od, gfn))
        return; /* the scenario's own entry */
    if (gfn < v->od->max_gfn) {
        compare_gfn(v->r, v->od, gfn, e, order);
        return;
    }
    /* Nothing may be mapped outside [0, max_gfn). */
    if (x.type != p2m_mmio_dm || x.perm)
        oracle_report(v->r, "mmio_dm", oracle_type_name(x.type, b1),
                      "d%u.p2m[%#" PRIx64 "].type", v->od->id, gfn);
}

static void view_bad(void *ctx, uint64_t gfn, unsigned level, const char *what,
                     uint64_t entry)
{
    struct p2m_view *v = ctx;
    char b[24];
    if (oracle_is_raw(v->od, gfn))
        return;
    oracle_report(v->r, what, oracle_hex(entry, b),
                  "d%u.ept.l%u[gfn %#" PRIx64 "]", v->od->id, level + 1, gfn);
}

static void compare_p2m(const struct oracle *o, const struct host *h,
                        const struct domain *d, const struct oracle_dom *od,
                        struct oracle_reporter *r)
{
    struct p2m_view v = { r, od };
    struct oracle_ept_visit vis = { view_leaf, view_bad, &v, rec_table };
    if (od->npt)
        oracle_npt_walk(h, d->ept_root, &vis);
    else
        oracle_ept_walk(h, d->ept_root, &vis);

    for (uint64_t ci = 0; ci < od->nchunks; ci++) {
        const struct oracle_chunk *c = od->chunks[ci];
        /* past max_gfn a chunk holds only empty entries (the model
         * refuses those gfns): the loop stops there */
        for (uint64_t i = 0; c && i < ORACLE_CHUNK &&
                             (ci << ORACLE_CHUNK_SHIFT) + i < od->max_gfn; i++) {
            uint64_t g = (ci << ORACLE_CHUNK_SHIFT) + i;
            unsigned xt = c->type[i];
            uint64_t m = c->mfn[i];
            if (g >= od->max_gfn || (xt == p2m_mmio_dm && m == mfn_x(INVALID_MFN)) ||
                oracle_is_raw(od, g))
                continue;
            /* A missing (zero) entry was not visited by pass 1. */
            uint64_t e = od->npt ? oracle_npt_lookup(h, d->ept_root, g)
                                 : oracle_ept_lookup(h, d->ept_root, g);
            if (!e)
                compare_gfn(r, od, g, 0, 0);
            /* The frame behind a RAM gfn is the domain's guest page. */
            char e1[24], a1[24];
            if (p2m_is_ram(xt) && m < h->nr_frames) {
                /* A shared frame is dom_cow's (oracle/sharing.c S1). */
                domid_t xo = xt == p2m_ram_shared ? DOMID_COW : od->id;
                if (h->frames[m].owner != xo)
                    oracle_report(r, u64s(xo, e1),
                                  u64s(h->frames[m].owner, a1),
                                  "frame[%#" PRIx64 "].owner", m);
                if (h->frames[m].use != PGU_GUEST)
                    oracle_report(r, u64s(PGU_GUEST, e1),
                                  u64s(h->frames[m].use, a1),
                                  "frame[%#" PRIx64 "].use", m);
            }
        }
    }
}

/*
 * The sim's dirty log against the flat dirty set, also in two passes: each
 * leaf the sim has (tree leaf or bitmap page, 32768 pfns) byte by byte
 * against the model's bits there; then the model's dirty gfns under no
 * sim leaf at all.
 */
struct dirty_view {
    const struct oracle_dom *od;
    struct oracle_reporter *r;
    uint64_t *seen;       /* leaf bases visited (sorted before lookups) */
    size_t nseen, cap;
};

#define LD_LEAF_PFNS ((uint64_t)PAGE_SIZE << 3)

static void dirty_report(const struct dirty_view *v, uint64_t g, bool x, bool a)
{
    oracle_report(v->r, dirty_name(x), dirty_name(a), "d%u.dirty[%#" PRIx64 "]",
                  v->od->id, g);
}

static void dirty_leaf(void *ctx, uint64_t base, const uint8_t *bm)
{
    struct dirty_view *v = ctx;
    const struct oracle_dom *od = v->od;
    if (base >= od->max_gfn)
        return;
    if (v->nseen == v->cap) {
        size_t cap = v->cap ? 2 * v->cap : 64;
        uint64_t *p = realloc(v->seen, cap * sizeof(*p));
        if (!p)
            return;
        v->seen = p;
        v->cap = cap;
    }
    v->seen[v->nseen++] = base;
    for (uint64_t j = 0; j < LD_LEAF_PFNS / 8; j++) {
        uint64_t g0 = base + 8 * j;
        if (g0 >= od->max_gfn)
            break;
        const struct oracle_chunk *c = oracle_chunk(od, g0);
        uint8_t x = c ? c->dirty[(g0 & (ORACLE_CHUNK - 1)) / 8] : 0;
        uint8_t a = bm ? bm[j] : 0;
        for (unsigned b = 0; x != a && b < 8 && g0 + b < od->max_gfn; b++)
            if ((x >> b & 1) != (a >> b & 1))
                dirty_report(v, g0 + b, x >> b & 1, a >> b & 1);
    }
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static bool leaf_seen(const struct dirty_view *v, uint64_t base)
{
    size_t lo = 0, hi = v->nseen;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (v->seen[mid] == base)
            return true;
        if (v->seen[mid] < base)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

/* Structural faults of the tree are reported by oracle_invariants (I4). */
static void dirty_bad(void *ctx, const char *what, uint64_t mfn) {}

static void compare_logdirty(const struct host *h, const struct domain *d,
                             const struct oracle_dom *od,
                             struct oracle_reporter *r)
{
    char e1[24], a1[24];
    if (d->ld.enabled != od->ld_enabled)
        oracle_report(r, od->ld_enabled ? "on" : "off",
                      d->ld.enabled ? "on" : "off", "d%u.ld.enabled", od->id);
    struct dirty_view v = { od, r, NULL, 0, 0 };
    struct oracle_ld_visit vis = { dirty_leaf, dirty_bad, &v, rec_frame };
    oracle_sim_ld_leaves(h, d, &vis);
    if (v.nseen)
        qsort(v.seen, v.nseen, sizeof(*v.seen), cmp_u64);
    for (uint64_t ci = 0; ci < od->nchunks; ci++) {
        const struct oracle_chunk *c = od->chunks[ci];
        uint64_t first = ci << ORACLE_CHUNK_SHIFT;
        if (!c || leaf_seen(&v, first & ~(LD_LEAF_PFNS - 1)))
            continue;
        for (uint64_t i = 0; i < ORACLE_CHUNK && first + i < od->max_gfn; i++)
            if (c->dirty[i / 8] >> (i % 8) & 1)
                dirty_report(&v, first + i, true, false);
    }
    free(v.seen);
    uint64_t xc = od->dirty_count;
    if (d->ld.dirty_count != xc)
        oracle_report(r, u64s(xc, e1), u64s(d->ld.dirty_count, a1),
                      "d%u.ld.dirty_count", od->id);
    if (d->ld.bitmap_mode != od->ld_bitmap)
        oracle_report(r, od->ld_bitmap ? "bitmap" : "radix",
                      d->ld.bitmap_mode ? "bitmap" : "radix", "d%u.ld.mode",
                      od->id);
    /* The flat bitmap: the pages of its order, held while enabled. */
    uint64_t xframes = od->ld_bitmap && od->ld_enabled ? 1ULL << od->ld_order : 0;
    if (od->ld_bitmap && d->ld.allocs != xframes)
        oracle_report(r, u64s(xframes, e1), u64s(d->ld.allocs, a1),
                      "d%u.ld.allocs (bitmap pages)", od->id);
    /* A preempted op: the domain paused, resuming where the walk stopped. */
    if (d->ld.preempt.active != od->ld_busy)
        oracle_report(r, od->ld_busy ? "preempted" : "none",
                      d->ld.preempt.active ? "preempted" : "none",
                      "d%u.ld.preempt", od->id);
    else if (od->ld_busy && d->ld.preempt.done != od->ld_done)
        oracle_report(r, u64s(od->ld_done, e1), u64s(d->ld.preempt.done, a1),
                      "d%u.ld.preempt.done", od->id);
}

unsigned oracle_compare(const struct oracle *o, const struct host *h,
                        oracle_report_fn report, void *ctx)
{
    struct oracle_reporter r = { report, ctx, 0 };
    char e1[24], a1[24];

    /* Domains: the same set alive on both sides. */
    for (unsigned i = 0; i < SIM_MAX_DOMAINS; i++) {
        const struct domain *d = h->domains[i];
        if (!d)
            continue;
        const struct oracle_dom *od = oracle_dom_find(o, d->id);
        if (!od) {
            oracle_report(&r, "absent", "present", "d%u", d->id);
            continue;
        }
        if (d->max_gfn != od->max_gfn)
            oracle_report(&r, u64s(od->max_gfn, e1), u64s(d->max_gfn, a1),
                          "d%u.max_gfn", od->id);
        compare_p2m(o, h, d, od, &r);
        compare_logdirty(h, d, od, &r);
        /* PML: on together with log-dirty, and each vCPU's index (the
         * number of gpas logged and not yet flushed). */
        if (d->pml_on != od->pml_on)
            oracle_report(&r, od->pml_on ? "on" : "off", d->pml_on ? "on" : "off",
                          "d%u.pml", od->id);
        for (unsigned v = 0; od->pml_on && d->pml_on && v < SIM_MAX_VCPUS; v++)
            if (od->pml_log[v] && d->pml[v].index != od->pml_idx[v])
                oracle_report(&r, u64s(od->pml_idx[v], e1),
                              u64s(d->pml[v].index, a1), "d%u.v%u.pml_index",
                              od->id, v);
        oracle_compare_paging(d, od, &r);
        oracle_compare_monitor(d, od, &r);
        /* PoD cache pages are the domain's, and so are pages it removed
         * that others still reference. */
        uint64_t ram = od->pod_count + od->orphans;
        /* The ioreq server mapping and its entry count. */
        uint64_t nioreq = 0;
        for (uint64_t ci = 0; ci < od->nchunks; ci++) {
            const struct oracle_chunk *c = od->chunks[ci];
            for (uint64_t i = 0; c && i < ORACLE_CHUNK &&
                                 (ci << ORACLE_CHUNK_SHIFT) + i < od->max_gfn; i++) {
                /* shared frames are dom_cow's, not the domain's */
                ram += p2m_is_ram(c->type[i]) && c->type[i] != p2m_ram_shared &&
                       c->mfn[i] != mfn_x(INVALID_MFN);
                nioreq += c->type[i] == p2m_ioreq_server;
            }
        }
        if (d->ioreq.entry_count != nioreq)
            oracle_report(&r, u64s(nioreq, e1), u64s(d->ioreq.entry_count, a1),
                          "d%u.ioreq.entry_count", od->id);
        if (d->ioreq.mapped != od->ioreq_mapped || d->ioreq.write != od->ioreq_write ||
            (od->ioreq_mapped && d->ioreq.server != od->ioreq_server))
            oracle_report(&r, od->ioreq_mapped ? "mapped" : "none",
                          d->ioreq.mapped ? "mapped" : "none", "d%u.ioreq.server",
                          od->id);
        /* Populate-on-demand: entry count and the cache, frame by frame
         * in the order they will be used. */
        if (d->pod.entry_count != od->pod_entries)
            oracle_report(&r, u64s(od->pod_entries, e1),
                          u64s(d->pod.entry_count, a1), "d%u.pod.entry_count",
                          od->id);
        if (d->pod.count != od->pod_count)
            oracle_report(&r, u64s(od->pod_count, e1), u64s(d->pod.count, a1),
                          "d%u.pod.count", od->id);
        for (uint64_t i = 0; i < od->pod_count && i < d->pod.count; i++) {
            uint64_t am = d->pod.cache[(d->pod.head + i) % d->pod.cap];
            if (am != od->pod_cache[i])
                oracle_report(&r, oracle_hex(od->pod_cache[i], e1),
                              oracle_hex(am, a1), "d%u.pod.cache[%" PRIu64 "]",
                              od->id, i);
            else if (am < h->nr_frames && (h->frames[am].owner != od->id ||
                                           h->frames[am].use != PGU_GUEST))
                oracle_report(&r, "a page of the domain", "another frame",
                              "d%u.pod.cache[%" PRIu64 "]", od->id, i);
        }
        if (d->tot_pages != ram)
            oracle_report(&r, u64s(ram, e1), u64s(d->tot_pages, a1),
                          "d%u.tot_pages", od->id);
    }
    for (unsigned i = 0; i < ORACLE_MAX_DOMS; i++) {
        const struct oracle_dom *od = &o->doms[i];
        bool found = false;
        if (!od->live)
            continue;
        for (unsigned j = 0; j < SIM_MAX_DOMAINS; j++)
            found |= h->domains[j] && h->domains[j]->id == od->id;
        if (!found)
            oracle_report(&r, "present", "absent", "d%u", od->id);
    }

    /* Memory sharing: shared frames, copies made by unsharing, shr_pages. */
    oracle_compare_sharing(o, h, &r, rec_frame);

    /* The M2P, frame by frame. */
    if (h->nr_frames != o->nr_frames)
        oracle_report(&r, u64s(o->nr_frames, e1), u64s(h->nr_frames, a1),
                      "host.nr_frames");
    uint64_t n = h->nr_frames < o->nr_frames ? h->nr_frames : o->nr_frames;
    for (uint64_t m = 0; m < n; m++)
        if (h->m2p[m] != o->m2p[m])
            oracle_report(&r, oracle_hex(o->m2p[m], e1),
                          oracle_hex(h->m2p[m], a1), "m2p[%#" PRIx64 "]", m);
    /* Page references: an allocated guest frame holds its allocation
     * reference plus one per foreign mapping; a page its owner removed
     * while mapped (o->orphan) holds only the mappers' references and
     * must still be its owner's guest page, not back on the heap. */
    for (uint64_t m = 0; m < n; m++) {
        uint64_t want = (o->orphan[m] && !(o->orphan[m] & ORPHAN_KEEP) ? 0 : 1) +
                        o->xrefs[m];
        if (h->frames[m].use == PGU_GUEST && h->frames[m].count != want)
            oracle_report(&r, u64s(want, e1),
                          u64s(h->frames[m].count, a1), "frame[%#" PRIx64 "].count", m);
        if (o->orphan[m] && (h->frames[m].use != PGU_GUEST ||
                             h->frames[m].owner != ORPHAN_OWNER(o->orphan[m]))) {
            snprintf(e1, sizeof e1, "guest page of d%u", ORPHAN_OWNER(o->orphan[m]));
            oracle_report(&r, e1, h->frames[m].use == PGU_FREE ? "free" : "another use",
                          "frame[%#" PRIx64 "].use (out of the P2M, still the owner's)", m);
        }
    }
    return oracle_report_done(&r);
}

/* ---- oracle_invariants ------------------------------------------------------------ */

struct inv_ctx {
    const struct host *h;
    const struct domain *d;
    struct oracle_reporter *r;
    uint64_t dirty_bits; /* I3 */
};

/* I1 on one leaf. */
static void inv_leaf(void *ctx, uint64_t gfn, uint64_t e, unsigned order)
{
    struct inv_ctx *c = ctx;
    struct oracle_epte x;
    char e1[24], a1[24];
    /* A large leaf in a domain with raw EPT entries may be the scenario's
     * (ept_set_raw): it maps no gfn of the P2M bookkeeping. */
    if (order && c->d->ept_raw)
        return;
    oracle_p2m_decode(c->d->npt, e, &x);
    /* I7: evicted gfns have no frame, nominated ones keep theirs. */
    if ((x.type == p2m_ram_paged) != (x.mfn == mfn_x(INVALID_MFN)) &&
        (x.type == p2m_ram_paged || x.type == p2m_ram_paging_out))
        oracle_report(c->r, x.type == p2m_ram_paged ? "INVALID" : "a frame",
                      oracle_hex(x.mfn, a1), "I7 d%u.p2m[%#" PRIx64 "].mfn",
                      c->d->id, gfn);
    if (!p2m_is_ram(x.type) || x.type >= P2M_NR_TYPES ||
        x.mfn == mfn_x(INVALID_MFN))
        return;
    if (x.mfn >= c->h->nr_frames) {
        oracle_report(c->r, "a host frame", oracle_hex(x.mfn, a1),
                      "I1 d%u.p2m[%#" PRIx64 "].mfn", c->d->id, gfn);
        return;
    }
    uint64_t want = x.type == p2m_ram_shared ? SHARED_M2P_ENTRY : gfn;
    if (c->h->m2p[x.mfn] != want)
        oracle_report(c->r, oracle_hex(want, e1), oracle_hex(c->h->m2p[x.mfn], a1),
                      "I1 d%u.p2m[%#" PRIx64 "] -> m2p[%#" PRIx64 "]", c->d->id,
                      gfn, x.mfn);
}

/* EPT structure is compare's business (d<id>.ept.*). */
static void inv_ept_bad(void *ctx, uint64_t gfn, unsigned level,
                        const char *what, uint64_t entry) {}

static void inv_ld_leaf(void *ctx, uint64_t base, const uint8_t *bm)
{
    struct inv_ctx *c = ctx;
    if (!bm)
        return;
    for (unsigned i = 0; i < PAGE_SIZE; i += 8) {
        uint64_t w;
        memcpy(&w, bm + i, sizeof w);
        c->dirty_bits += (uint64_t)__builtin_popcountll(w);
    }
}

static void inv_ld_bad(void *ctx, const char *what, uint64_t mfn)
{
    struct inv_ctx *c = ctx;
    char a1[24];
    oracle_report(c->r, "a well-formed radix tree", oracle_hex(mfn, a1),
                  "I4 d%u.ld.tree: %s", c->d->id, what);
}

unsigned oracle_invariants(const struct host *h, oracle_report_fn report,
                           void *ctx)
{
    struct oracle_reporter r = { report, ctx, 0 };
    char e1[24], a1[24];
    uint64_t ld_frames[SIM_MAX_DOMAINS] = { 0 }, p2m_frames[SIM_MAX_DOMAINS] = { 0 };

    /* One pass over the frames: I2, I5, and per-domain counts for I4/I6. */
    for (uint64_t m = 0; m < h->nr_frames; m++) {
        const struct page_info *pg = &h->frames[m];
        uint64_t gfn = h->m2p[m];
        const struct domain *od = NULL;
        unsigned slot = 0;
        if (pg->use != PGU_FREE) {
            for (slot = 0; slot < SIM_MAX_DOMAINS; slot++)
                if (h->domains[slot] && h->domains[slot]->id == pg->owner)
                    break;
            od = slot < SIM_MAX_DOMAINS ? h->domains[slot] : NULL;
        }
        switch (pg->use) {
        case PGU_GUEST:
            /* A shared frame: dom_cow's, M2P SHARED (I1 checks the
             * entries naming it). */
            if (pg->owner == DOMID_COW) {
                if (gfn != SHARED_M2P_ENTRY)
                    oracle_report(&r, "SHARED", oracle_hex(gfn, a1),
                                  "I2 dom_cow frame m2p[%#" PRIx64 "]", m);
                break;
            }
            if (!od) {
                oracle_report(&r, "a live domain", u64s(pg->owner, a1),
                              "I2 frame[%#" PRIx64 "].owner", m);
                break;
            }
            if (gfn == INVALID_M2P_ENTRY)
                break;
            {
                struct oracle_epte x;
                oracle_p2m_decode(od->npt,
                                  gfn >= od->max_gfn ? 0
                                  : od->npt ? oracle_npt_lookup(h, od->ept_root, gfn)
                                            : oracle_ept_lookup(h, od->ept_root, gfn),
                                  &x);
                if (!p2m_is_ram(x.type) || x.type >= P2M_NR_TYPES ||
                    x.mfn != m) {
                    char want[48], got[48], b[16];
                    snprintf(want, sizeof want, "RAM mfn %#" PRIx64, m);
                    snprintf(got, sizeof got, "%s mfn %s",
                             oracle_type_name(x.type, b), oracle_hex(x.mfn, e1));
                    oracle_report(&r, want, got,
                                  "I2 m2p[%#" PRIx64 "]=%#" PRIx64
                                  " -> d%u.p2m[%#" PRIx64 "]",
                                  m, gfn, od->id, gfn);
                }
            }
            break;
        case PGU_LOGDIRTY:
        case PGU_P2M:
            if (!od)
                oracle_report(&r, "a live domain", u64s(pg->owner, a1),
                              "%s frame[%#" PRIx64 "].owner",
                              pg->use == PGU_P2M ? "I6" : "I4", m);
            else if (pg->use == PGU_P2M)
                p2m_frames[slot]++;
            else
                ld_frames[slot]++;
            break;
        case PGU_XEN:
            /* heap_fragment(): the hypervisor's, no domain's */
            if (pg->owner != DOMID_XEN)
                oracle_report(&r, "DOMID_XEN", u64s(pg->owner, a1),
                              "I5 xen frame[%#" PRIx64 "].owner", m);
            break;
        case PGU_PML:
            if (!od)
                oracle_report(&r, "a live domain", u64s(pg->owner, a1),
                              "I5 PML frame[%#" PRIx64 "].owner", m);
            break;
        case PGU_FREE:
            if (pg->owner != DOMID_INVALID)
                oracle_report(&r, "none", u64s(pg->owner, a1),
                              "I5 free frame[%#" PRIx64 "].owner", m);
            break;
        default:
            oracle_report(&r, "a page_use", u64s(pg->use, a1),
                          "I5 frame[%#" PRIx64 "].use", m);
            break;
        }
        /* I5: only guest pages have a gfn (mark_page_free: INVALID). */
        if (pg->use != PGU_GUEST && gfn != INVALID_M2P_ENTRY)
            oracle_report(&r, "INVALID", oracle_hex(gfn, a1),
                          "I5 m2p[%#" PRIx64 "] (frame use %u)", m, pg->use);
    }

    for (unsigned i = 0; i < SIM_MAX_DOMAINS; i++) {
        const struct domain *d = h->domains[i];
        if (!d)
            continue;
        struct inv_ctx c = { h, d, &r, 0 };
        oracle_invariants_paging(h, d, &r);

        /* I1 and the table count of I6. */
        struct oracle_ept_visit ev = { inv_leaf, inv_ept_bad, &c, rec_table };
        unsigned tables = d->npt ? oracle_npt_walk(h, d->ept_root, &ev)
                                 : oracle_ept_walk(h, d->ept_root, &ev);
        if (tables != d->p2m_pages || d->p2m_pages != p2m_frames[i]) {
            char got[64];
            snprintf(got, sizeof got, "tables=%u pgu_p2m=%" PRIu64, tables,
                     p2m_frames[i]);
            oracle_report(&r, u64s(d->p2m_pages, e1), got, "I6 d%u.p2m_pages",
                          d->id);
        }

        /* I3, I4. */
        struct oracle_ld_visit lv = { inv_ld_leaf, inv_ld_bad, &c, rec_frame };
        unsigned frames = oracle_sim_ld_leaves(h, d, &lv);
        if (d->ld.dirty_count < c.dirty_bits && !d->ld.partial_clean) {
            char want[40];
            snprintf(want, sizeof want, ">= %" PRIu64 " (bits in tree)",
                     c.dirty_bits);
            oracle_report(&r, want, u64s(d->ld.dirty_count, a1),
                          "I3 d%u.ld.dirty_count", d->id);
        }
        if (frames != d->ld.allocs || d->ld.allocs != ld_frames[i]) {
            char got[64];
            snprintf(got, sizeof got, "tree=%u pgu_logdirty=%" PRIu64, frames,
                     ld_frames[i]);
            oracle_report(&r, u64s(d->ld.allocs, e1), got, "I4 d%u.ld.allocs",
                          d->id);
        }
    }
    return oracle_report_done(&r);
}

/* ---- oracle_check: a clean check is not repeated while nothing changed --------------- */

/*
 * Most steps change nothing the checks read (guest reads, TLB operations,
 * peeks, failed operations), and in a run without divergences the
 * previous check reported nothing.  The checks are a pure function of what
 * they read: host memory (the EPT tables, log-dirty tree nodes and leaves,
 * flat-bitmap pages the walks visit; the single-path lookups of pass 2 and
 * I2 read only frames the walks visited when the walks reported no fault),
 * and, outside memory, the M2P, the frame metadata and references, the
 * sim's domain structures and the oracle's flat domains.  So oracle_check()
 * keeps, after a check that reported nothing, a copy of every frame the
 * walks read and a serialisation of everything else; the next check with
 * full false, if all of it is byte-for-byte the same, reports nothing
 * without decoding anything.  Otherwise (or with reports) the checks run as
 * oracle_compare() + oracle_invariants(): same reports, same order.
 * tests/unit/test_fuzz.c runs programs and scenarios under every suite
 * mutant both ways and compares every report.  oracle_check_verify() at
 * the end of a run repeats a reused check in full.
 */
struct oracle_cache {
    uint64_t *frames;       /* frames the last computed check read */
    size_t nframes, capframes;
    uint8_t *snap;          /* their bytes, PAGE_SIZE each */
    size_t capsnap;
    uint8_t *in[2];         /* serialised other inputs, [cur] the last */
    size_t inlen[2], incap[2];
    unsigned cur;
    bool recording, oom;
    bool clean;             /* the last computed check reported nothing */
    bool last_reused;       /* the last oracle_check() reused it */
    uint64_t last_hash;     /* FNV-1a of the last check's reports */
};

static struct oracle_cache *cur_rec; /* set while a check records */

static void rec_add(uint64_t m)
{
    struct oracle_cache *k = cur_rec;
    if (!k)
        return;
    if (k->nframes == k->capframes) {
        size_t cap = k->capframes ? 2 * k->capframes : 32;
        uint64_t *x = realloc(k->frames, cap * sizeof(*x));
        if (!x) {
            k->oom = true;
            return;
        }
        k->frames = x;
        k->capframes = cap;
    }
    k->frames[k->nframes++] = m;
}

static void rec_table(void *ctx, uint64_t mfn) { rec_add(mfn); }
static void rec_frame(void *ctx, uint64_t mfn) { rec_add(mfn); }

static const uint8_t zero_frame[PAGE_SIZE];

static const uint8_t *frame_bytes(const struct host *h, uint64_t m)
{
    const uint8_t *f = m < h->nr_frames ? hostmem_frame_peek(h->mem, _mfn(m)) : NULL;
    return f ? f : zero_frame;
}

static bool in_add(struct oracle_cache *k, unsigned b, const void *p, size_t n)
{
    if (!n)
        return true;
    if (k->inlen[b] + n > k->incap[b]) {
        size_t cap = 2 * (k->inlen[b] + n);
        uint8_t *x = realloc(k->in[b], cap);
        if (!x)
            return false;
        k->in[b] = x;
        k->incap[b] = cap;
    }
    memcpy(k->in[b] + k->inlen[b], p, n);
    k->inlen[b] += n;
    return true;
}

/* Everything outside host memory the checks read, into buffer b. */
static bool memo_inputs(struct oracle_cache *k, unsigned b, const struct oracle *o,
                        const struct host *h)
{
    bool ok = true;
    k->inlen[b] = 0;
    ok &= in_add(k, b, &h->nr_frames, sizeof h->nr_frames);
    ok &= in_add(k, b, &o->nr_frames, sizeof o->nr_frames);
    ok &= in_add(k, b, h->frames, h->nr_frames * sizeof(*h->frames));
    ok &= in_add(k, b, h->m2p, h->nr_frames * sizeof(*h->m2p));
    ok &= in_add(k, b, o->m2p, o->nr_frames * sizeof(*o->m2p));
    ok &= in_add(k, b, o->xrefs, o->nr_frames * sizeof(*o->xrefs));
    ok &= in_add(k, b, o->orphan, o->nr_frames * sizeof(*o->orphan));
    ok &= in_add(k, b, h->shr_handle, h->nr_frames * sizeof(*h->shr_handle));
    if (o->shr_handle)
        ok &= in_add(k, b, o->shr_handle, o->nr_frames * sizeof(*o->shr_handle));
    ok &= in_add(k, b, o->shr_pend, o->shr_npend * sizeof(o->shr_pend[0]));
    ok &= in_add(k, b, h->domains, sizeof h->domains);
    for (unsigned i = 0; i < SIM_MAX_DOMAINS; i++)
        if (h->domains[i])
            ok &= in_add(k, b, h->domains[i], sizeof(struct domain));
    for (unsigned i = 0; i < ORACLE_MAX_DOMS; i++) {
        const struct oracle_dom *od = &o->doms[i];
        ok &= in_add(k, b, &od->live, sizeof od->live);
        if (!od->live)
            continue;
        ok &= in_add(k, b, od, sizeof(*od));
        for (uint64_t ci = 0; ci < od->nchunks; ci++) {
            const struct oracle_chunk *c = od->chunks[ci];
            uint64_t first = ci << ORACLE_CHUNK_SHIFT;
            uint64_t n = od->max_gfn - first < ORACLE_CHUNK ? od->max_gfn - first
                                                              : ORACLE_CHUNK;
            ok &= in_add(k, b, &c, sizeof c);
            if (!c)
                continue;
            ok &= in_add(k, b, c->mfn, n * sizeof(*c->mfn));
            ok &= in_add(k, b, c->type, n * sizeof(*c->type));
            ok &= in_add(k, b, c->dirty, (n + 7) / 8);
        }
    }
    return ok;
}

static bool frames_same(const struct oracle_cache *k, const struct host *h)
{
    for (size_t i = 0; i < k->nframes; i++)
        if (memcmp(k->snap + i * PAGE_SIZE, frame_bytes(h, k->frames[i]), PAGE_SIZE))
            return false;
    return true;
}

static bool frames_snapshot(struct oracle_cache *k, const struct host *h)
{
    /* each table is walked by compare and again by invariants: once is enough */
    size_t o = 0;
    for (size_t i = 0; i < k->nframes; i++) {
        bool dup = false;
        for (size_t j = 0; j < o && !dup; j++)
            dup = k->frames[j] == k->frames[i];
        if (!dup)
            k->frames[o++] = k->frames[i];
    }
    k->nframes = o;
    if (o * PAGE_SIZE > k->capsnap) {
        uint8_t *x = realloc(k->snap, o * PAGE_SIZE);
        if (!x)
            return false;
        k->snap = x;
        k->capsnap = o * PAGE_SIZE;
    }
    for (size_t i = 0; i < o; i++)
        memcpy(k->snap + i * PAGE_SIZE, frame_bytes(h, k->frames[i]), PAGE_SIZE);
    return true;
}

void oracle_cache_free(struct oracle *o)
{
    if (!o->cache)
        return;
    free(o->cache->frames);
    free(o->cache->snap);
    free(o->cache->in[0]);
    free(o->cache->in[1]);
    free(o->cache);
    o->cache = NULL;
}

/* The reports of one check go to the caller and into a hash. */
struct hash_sink {
    oracle_report_fn fn;
    void *ctx;
    uint64_t h;
};

#define HASH_INIT 0xcbf29ce484222325ULL

static void hash_str(uint64_t *h, const char *s)
{
    for (; *s; s++)
        *h = (*h ^ (uint8_t)*s) * 0x100000001b3ULL;
    *h = (*h ^ 0xff) * 0x100000001b3ULL; /* separator */
}

static void hash_report(void *ctx, const char *field, const char *expected,
                        const char *actual)
{
    struct hash_sink *k = ctx;
    hash_str(&k->h, field);
    hash_str(&k->h, expected);
    hash_str(&k->h, actual);
    if (k->fn)
        k->fn(k->ctx, field, expected, actual);
}

unsigned oracle_check(struct oracle *o, const struct host *h, bool full,
                      oracle_report_fn report, void *ctx)
{
    if (!o->cache)
        o->cache = calloc(1, sizeof(*o->cache));
    struct oracle_cache *k = o->cache;
    unsigned nb = k ? k->cur ^ 1 : 0;
    bool have_in = k && memo_inputs(k, nb, o, h);
    if (!full && have_in && k->clean && k->inlen[nb] == k->inlen[k->cur] &&
        !memcmp(k->in[nb], k->in[k->cur], k->inlen[nb]) && frames_same(k, h)) {
        k->last_reused = true;
        k->last_hash = HASH_INIT; /* no reports */
        return 0;
    }
    struct hash_sink hs = { report, ctx, HASH_INIT };
    if (k) {
        k->nframes = 0;
        k->oom = false;
        cur_rec = k;
    }
    unsigned n = oracle_compare(o, h, hash_report, &hs);
    n += oracle_invariants(h, hash_report, &hs);
    cur_rec = NULL;
    /* Copies made by unsharing are checked in the step that made them. */
    o->shr_npend = 0;
    if (k) {
        k->clean = n == 0 && have_in && !k->oom && frames_snapshot(k, h);
        if (have_in)
            k->cur = nb;
        k->last_reused = false;
        k->last_hash = hs.h;
    }
    return n;
}

unsigned oracle_check_verify(struct oracle *o, const struct host *h,
                             oracle_report_fn report, void *ctx)
{
    if (!o->cache || !o->cache->last_reused)
        return 0;
    struct hash_sink hs = { NULL, NULL, HASH_INIT };
    oracle_compare(o, h, hash_report, &hs);
    oracle_invariants(h, hash_report, &hs);
    if (hs.h == o->cache->last_hash)
        return 0;
    struct oracle_reporter r = { report, ctx, 0 };
    oracle_report(&r, "the full check's reports", "other reports",
                  "oracle.incremental");
    return oracle_report_done(&r);
}
