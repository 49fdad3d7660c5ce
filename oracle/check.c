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
#include <stddef.h>
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

/*
 * The per-domain half of a restricted check (oracle_check(), below), per
 * domain slot: in full, or on a list of gfns with the counts of the last
 * check carried.  dom_save: what a check leaves for the next restricted
 * one (the counts over every gfn and the walks' totals).
 */
struct dom_restrict {
    bool full;            /* the P2M compare, I1 and the counts in full */
    bool ld_full;         /* the dirty-log compare and I3/I4 in full */
    const uint64_t *gfns; /* else these gfns only: unique, in no order */
    size_t ngfns;
    /* the domain's leaf tables as the last full check found them
     * (dr_lookup()): (gfn >> 9) << 24 | table index, sorted */
    const uint64_t *l1;
    size_t nl1;
    const uint64_t *tab;  /* the tables' frames (oracle_cache.tab) */
    struct dr_memo {      /* dr_lookup()'s last leaf table in this check */
        uint64_t key;     /* its gfn >> 9 */
        const uint8_t *f; /* its bytes (NULL: zeros) */
        bool ok;
    } *memo;              /* NULL: none kept */
    /* The domain's paging / monitor part (d->paging and od's ring ..
     * vstate[]; d->monitor and od's mon_*) is as the last clean check
     * that compared it found it: neither side's change counter moved
     * since (check_restricted(), oracle_cache.cgen), so
     * oracle_compare_paging() / oracle_compare_monitor(), which read
     * those parts and od->id alone, would report nothing again.
     * same_sim_paging: d->paging alone is (h->gen_paging stands), so
     * I7 (oracle_invariants_paging(): d->paging and d->id) holds still. */
    bool same_paging, same_monitor, same_sim_paging;
    /* the slot's oracle domain as restrict_doms() found it by id (NULL:
     * none), for compare_impl(): the same o and h, so the same answer as
     * its own oracle_dom_find() */
    const struct oracle_dom *od;
};

/* oracle_ept_lookup_order() of gfn g in a domain restricted by x.  A
 * restricted domain's table structure is the one the last full check
 * walked: restrict_set() refuses to restrict when an entry that is (or
 * was) a pointer changed, and restrict_doms() checks a domain in full
 * when a 2 MiB leaf changed.  So from the root the lookup reaches the same
 * leaf table as then, and its entry is that table's entry now: read
 * directly, without the three upper levels.  A gfn under no known leaf
 * table (an unchanged 2 MiB leaf, a hole, a table reached twice) is looked
 * up from the root as before. */
static uint64_t dr_lookup(const struct dom_restrict *x, const struct host *h,
                          const struct domain *d, uint64_t g, unsigned *order)
{
    uint64_t key = g >> 9, e = 0;
    /* the gfns of a check mostly share a leaf table: the last one found
     * (host memory does not change while a check runs) */
    struct dr_memo *mm = x->memo;
    if (mm && mm->ok && mm->key == key) {
        if (mm->f)
            memcpy(&e, mm->f + 8 * (g & 511), sizeof e);
        *order = 0;
        return e;
    }
    size_t lo = 0, hi = x->nl1;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        uint64_t k = (x->l1[mid] >> 24) & 0xFFFFFFFF; /* without the slot */
        if (k == key) {
            uint64_t m = x->tab[x->l1[mid] & 0xFFFFFF];
            const uint8_t *f = m < h->nr_frames ? hostmem_frame_peek(h->mem, _mfn(m)) : NULL;
            if (f)
                memcpy(&e, f + 8 * (g & 511), sizeof e);
            if (mm)
                *mm = (struct dr_memo){ key, f, true };
            *order = 0;
            return e;
        }
        if (k < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return oracle_ept_lookup_order(h, d->ept_root, g, order);
}

struct dom_save {
    uint64_t ram, nioreq;   /* RAM gfns (tot_pages' share), ioreq_server gfns */
    unsigned tables;        /* I6: EPT tables reached from the root */
    unsigned ld_frames;     /* I4: frames of the dirty log */
    uint64_t ld_bits;       /* I3: bits set in the dirty log */
};

/* A gfn's share of compare's counts. */
static bool gfn_counts_ram(unsigned t, uint64_t m)
{
    /* shared frames are dom_cow's, not the domain's */
    return p2m_is_ram(t) && t != p2m_ram_shared && m != mfn_x(INVALID_MFN);
}

/* ---- oracle_compare ------------------------------------------------------------- */

/*
 * The sim's P2M of one domain against the flat model, in two passes that
 * touch only what exists (the flat model is chunked, the EPT sparse):
 * (1) every non-empty EPT leaf against the model's gfn; (2) every gfn the
 * model holds (not the empty mmio_dm/INVALID) whose EPT entry is missing,
 * and the frame behind each RAM gfn.  Together they compare every gfn of
 * [0, max_gfn), as a dense loop would.
 */
/*
 * A full check walks each domain's EPT twice: compare_p2m() and the I1 pass
 * of inv_impl(), back to back on the same memory, with the same walker.
 * While oracle_check() runs, the first walk logs the leaves it visits (in
 * visit order) and the tables it counted, per domain slot, and the second
 * replays the log: the same calls in the same order (the invariants'
 * bad-entry callback does nothing), without reading the tables again.
 */
struct leaf_rec {
    uint64_t gfn, e;
    unsigned order;
};

struct leaf_log {
    struct leaf_rec *v;
    size_t n, cap;
    bool ok;            /* complete: the walk ran and every leaf fitted */
    /* ... or, in a restricted check, the entries compare_p2m_gfns()
     * looked up for the domain's listed gfns (zeros too), in its order
     * (ascending gfn); inv_impl() and i2_lookup() read them instead of
     * looking up again */
    bool only_gfns;
    unsigned bad;       /* structural faults the walk met */
    unsigned tables;    /* the walk's table count */
};

#define LEAF_LOG_MAX ((size_t)1 << 20) /* past this, the second walk walks */

static void leaf_log_add(struct leaf_log *l, uint64_t gfn, uint64_t e, unsigned order)
{
    if (!l->ok)
        return;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 256;
        struct leaf_rec *x = cap <= LEAF_LOG_MAX ? realloc(l->v, cap * sizeof(*x)) : NULL;
        if (!x) {
            l->ok = false;
            return;
        }
        l->v = x;
        l->cap = cap;
    }
    l->v[l->n++] = (struct leaf_rec){ gfn, e, order };
}

static struct leaf_log *leaf_log_of(unsigned slot);

/* Binary search of a log (ascending gfn) for gfn: true and its entry in
 * *e when it is there. */
static bool leaf_log_find(const struct leaf_log *l, uint64_t gfn, uint64_t *e)
{
    size_t lo = 0, hi = l->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (l->v[mid].gfn == gfn) {
            *e = l->v[mid].e;
            return true;
        }
        if (l->v[mid].gfn < gfn)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

struct p2m_view {
    struct leaf_log *log;        /* NULL: the leaves are not logged */
    struct oracle_reporter *r;
    const struct oracle_dom *od; /* raw gfns are not compared */
    uint64_t *seen;              /* gfns < max_gfn pass 1 visited (NULL: none kept) */
    unsigned bad;                /* structural faults pass 1 met */
};

/* One gfn: the sim's decoded entry e (0: missing) of the given order
 * against the model's. */
static void compare_gfn(struct oracle_reporter *r, const struct oracle_dom *od,
                        uint64_t g, uint64_t e, unsigned order)
{
    char e1[24], a1[24];
    struct oracle_epte a;
    if (od->npt)
        oracle_p2m_decode(true, e, &a);
    else
        oracle_epte_decode(e, &a); /* (inline) */
    /* the model's gfn: its chunk read once (od_type() and the others
     * each look it up again) */
    const struct oracle_chunk *c = oracle_chunk(od, g);
    size_t ci = g & (ORACLE_CHUNK - 1);
    unsigned xt = c ? c->type[ci] : p2m_mmio_dm;
    uint64_t xm = c ? c->mfn[ci] : mfn_x(INVALID_MFN);
    unsigned xo = c ? c->order[ci] : 0;
    unsigned xa = c ? c->access[ci] : p2m_access_rwx;
    unsigned xp = oracle_dom_perms(od, xt, xa);
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
        if (order != xo)
            oracle_report(r, u64s(xo, e1), u64s(order, a1),
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
    if (xt == p2m_ram_logdirty && od->pml_on && xo == 0)
        xp = oracle_perms(p2m_ram_rw, xa);
    if (a.type != xt)
        oracle_report(r, oracle_type_name(xt, e1), oracle_type_name(a.type, a1),
                      "d%u.p2m[%#" PRIx64 "].type", od->id, g);
    if (a.mfn != xm)
        oracle_report(r, oracle_hex(xm, e1), oracle_hex(a.mfn, a1),
                      "d%u.p2m[%#" PRIx64 "].mfn", od->id, g);
    if (a.perm != xp)
        oracle_report(r, oracle_perm_name(xp), oracle_perm_name(a.perm),
                      "d%u.p2m[%#" PRIx64 "].perm", od->id, g);
    if (order != xo)
        oracle_report(r, u64s(xo, e1), u64s(order, a1),
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
    if ((xt != p2m_mmio_dm || xm != mfn_x(INVALID_MFN)) && aa != xa)
        oracle_report(r, u64s(xa, e1), u64s(aa, a1),
                      "d%u.p2m[%#" PRIx64 "].access", od->id, g);
}

static void view_leaf(void *ctx, uint64_t gfn, uint64_t e, unsigned order)
{
    struct p2m_view *v = ctx;
    struct oracle_epte x;
    char b1[16];
    if (v->log)
        leaf_log_add(v->log, gfn, e, order);
    if (v->seen && gfn < v->od->max_gfn)
        v->seen[gfn >> 6] |= UINT64_C(1) << (gfn & 63);
    if (oracle_is_raw(v->od, gfn))
        return; /* the scenario's own entry */
    if (gfn < v->od->max_gfn) {
        compare_gfn(v->r, v->od, gfn, e, order); /* decodes e itself */
        return;
    }
    /* Nothing may be mapped outside [0, max_gfn). */
    oracle_p2m_decode(v->od->npt, e, &x);
    if (x.type != p2m_mmio_dm || x.perm)
        oracle_report(v->r, "mmio_dm", oracle_type_name(x.type, b1),
                      "d%u.p2m[%#" PRIx64 "].type", v->od->id, gfn);
}

static void view_bad(void *ctx, uint64_t gfn, unsigned level, const char *what,
                     uint64_t entry)
{
    struct p2m_view *v = ctx;
    char b[24];
    v->bad++;
    if (oracle_is_raw(v->od, gfn))
        return;
    oracle_report(v->r, what, oracle_hex(entry, b),
                  "d%u.ept.l%u[gfn %#" PRIx64 "]", v->od->id, level + 1, gfn);
}

/* The frame behind a RAM gfn (type xt, frame m) is the domain's guest
 * page. */
static void gfn_frame(struct oracle_reporter *r, const struct host *h,
                      const struct oracle_dom *od, unsigned xt, uint64_t m)
{
    char e1[24], a1[24];
    if (!p2m_is_ram(xt) || m >= h->nr_frames)
        return;
    /* A shared frame is dom_cow's (oracle/sharing.c S1). */
    domid_t xo = xt == p2m_ram_shared ? DOMID_COW : od->id;
    if (h->frames[m].owner != xo)
        oracle_report(r, u64s(xo, e1), u64s(h->frames[m].owner, a1),
                      "frame[%#" PRIx64 "].owner", m);
    if (h->frames[m].use != PGU_GUEST)
        oracle_report(r, u64s(PGU_GUEST, e1), u64s(h->frames[m].use, a1),
                      "frame[%#" PRIx64 "].use", m);
}

static void compare_p2m(const struct oracle *o, const struct host *h,
                        const struct domain *d, const struct oracle_dom *od,
                        struct oracle_reporter *r, unsigned slot)
{
    /* EPT: pass 1 notes the gfns it visited, so that pass 2 needs no
     * lookup from the root per gfn (a fifth of a full check).  Sound when
     * the walk met no structural fault: then it followed every present
     * pointer once, as oracle_ept_lookup() does, and visited exactly the
     * gfns whose lookup is non-zero.  With a fault (a shared or
     * out-of-range table, a PS bit in a PML4E) pass 2 looks up as before;
     * NPT always does (its walk and lookup differ in the recalc marks). */
    struct p2m_view v = { NULL, r, od, NULL, 0 };
    if (!od->npt && od->max_gfn && od->max_gfn <= ((uint64_t)1 << 24))
        v.seen = calloc((od->max_gfn + 63) / 64, sizeof(uint64_t));
    /* the leaves logged for inv_impl() (EPT on both sides only) */
    v.log = !od->npt && !d->npt ? leaf_log_of(slot) : NULL;
    if (v.log) {
        v.log->n = 0;
        v.log->ok = true;
        v.log->only_gfns = false;
    }
    struct oracle_ept_visit vis = { view_leaf, view_bad, &v, rec_table };
    if (od->npt)
        oracle_npt_walk(h, d->ept_root, &vis);
    else if (v.log) {
        v.log->tables = oracle_ept_walk(h, d->ept_root, &vis);
        v.log->bad = v.bad;
    } else
        oracle_ept_walk(h, d->ept_root, &vis);
    const uint64_t *seen = v.bad ? NULL : v.seen;

    for (uint64_t q = 0; q < od->ncidx; q++) { /* the allocated chunks */
        uint64_t ci = od->cidx[q];
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
            bool missing = seen ? !(seen[g >> 6] >> (g & 63) & 1)
                                : !(od->npt ? oracle_npt_lookup(h, d->ept_root, g)
                                            : oracle_ept_lookup(h, d->ept_root, g));
            if (missing)
                compare_gfn(r, od, g, 0, 0);
            gfn_frame(r, h, od, xt, m);
        }
    }
    free(v.seen);
}

/* compare_p2m() on the gfns g[0..n) alone: what its two passes do for
 * each of them (a restricted check; EPT only). */
static void compare_p2m_gfns(const struct host *h, const struct domain *d,
                             const struct oracle_dom *od, struct oracle_reporter *r,
                             const struct dom_restrict *x, unsigned slot)
{
    const uint64_t *gl = x->gfns;
    size_t n = x->ngfns;
    struct p2m_view v = { NULL, r, od, NULL, 0 };
    /* the entries looked up, for inv_impl()'s I1 and I2 on the same gfns
     * (host memory does not change within a check) */
    struct leaf_log *lg = leaf_log_of(slot);
    if (lg) {
        lg->n = 0;
        lg->ok = true;
        lg->only_gfns = true;
        lg->bad = 0;
    }
    for (size_t i = 0; i < n; i++) {
        uint64_t g = gl[i];
        unsigned order;
        uint64_t e = dr_lookup(x, h, d, g, &order);
        /* (the common append inline: the call was a tenth of a gfn's
         * compare) */
        if (lg && lg->ok && lg->n < lg->cap)
            lg->v[lg->n++] = (struct leaf_rec){ g, e, order };
        else if (lg)
            leaf_log_add(lg, g, e, order);
        /* what view_leaf() does with e, then pass 2's part: past
         * max_gfn only view_leaf() looks; a raw gfn neither (one
         * oracle_is_raw() for both) */
        if (g >= od->max_gfn) {
            if (e)
                view_leaf(&v, g, e, order);
            continue;
        }
        if (oracle_is_raw(od, g))
            continue;
        unsigned xt = od_type(od, g);
        uint64_t m = od_mfn(od, g);
        bool empty = xt == p2m_mmio_dm && m == mfn_x(INVALID_MFN);
        if (e || !empty)
            compare_gfn(r, od, g, e, e ? order : 0);
        if (!empty)
            gfn_frame(r, h, od, xt, m);
    }
}

/*
 * The sim's dirty log against the flat dirty set, also in two passes: each
 * leaf the sim has (tree leaf or bitmap page, 32768 pfns) byte by byte
 * against the model's bits there; then the model's dirty gfns under no
 * sim leaf at all.
 */
/* The dirty log's walk likewise (struct leaf_log): compare_ld_leaves()
 * logs the leaves it is handed while oracle_check() runs, and inv_impl()
 * replays them when the walk met no fault (the invariants' bad-entry
 * callback reports; the leaf callback only counts bits). */
struct ld_log {
    uint64_t *base;
    const uint8_t **bm;   /* host memory, unchanged within the check */
    size_t n, cap;
    bool ok;
    unsigned bad, frames;
};

static struct ld_log *ld_log_of(unsigned slot);

struct dirty_view {
    const struct oracle_dom *od;
    struct oracle_reporter *r;
    uint64_t *seen;       /* leaf bases visited (sorted before lookups) */
    size_t nseen, cap;
    struct ld_log *log;   /* NULL: not logged */
    unsigned bad;
};

static void ld_log_add(struct ld_log *l, uint64_t base, const uint8_t *bm)
{
    if (!l->ok)
        return;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        uint64_t *b = realloc(l->base, cap * sizeof(*b));
        if (b)
            l->base = b;
        const uint8_t **m = b ? realloc(l->bm, cap * sizeof(*m)) : NULL;
        if (!m) {
            l->ok = false;
            return;
        }
        l->bm = m;
        l->cap = cap;
    }
    l->base[l->n] = base;
    l->bm[l->n++] = bm;
}

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
    if (v->log)
        ld_log_add(v->log, base, bm);
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
    /* chunk by chunk (a leaf's 32768 pfns are eight of the model's
     * chunks, each aligned in it): the bytes below max_gfn with one
     * memcmp(), and byte by byte only where they differ (bits past
     * max_gfn, which the loop does not report, can differ) */
    static const uint8_t none[ORACLE_CHUNK / 8];
    _Static_assert(LD_LEAF_PFNS % ORACLE_CHUNK == 0, "a leaf holds whole chunks");
    for (uint64_t j0 = 0; j0 < LD_LEAF_PFNS / 8; j0 += ORACLE_CHUNK / 8) {
        uint64_t gc = base + 8 * j0;
        if (gc >= od->max_gfn)
            break;
        uint64_t nb = (od->max_gfn - gc + 7) / 8;
        if (nb > ORACLE_CHUNK / 8)
            nb = ORACLE_CHUNK / 8;
        const struct oracle_chunk *c = oracle_chunk(od, gc);
        const uint8_t *xs = c ? c->dirty : none, *as = bm ? bm + j0 : none;
        if (!memcmp(xs, as, nb))
            continue;
        for (uint64_t j = 0; j < nb; j++) {
            uint64_t g0 = gc + 8 * j;
            uint8_t x = xs[j], a = as[j];
            for (unsigned b = 0; x != a && b < 8 && g0 + b < od->max_gfn; b++)
                if ((x >> b & 1) != (a >> b & 1))
                    dirty_report(v, g0 + b, x >> b & 1, a >> b & 1);
        }
    }
}

/* Is x in the sorted array a[n]?  (A binary search without bsearch()'s
 * callback: the checks ask it for every written frame of every step.) */
static bool sorted_has(const uint64_t *a, size_t n, uint64_t x)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (a[mid] == x)
            return true;
        if (a[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

/* Sorts a[n] ascending: quicksort (median of three) down to runs of 16,
 * then one insertion-sort pass.  qsort()'s merge sort with a compare
 * callback took about 5% of the native fuzzer's CPU on these arrays of a
 * few dozen frame numbers (watch set, tables, re-checked frames, gfns). */
static void sort_u64(uint64_t *a, size_t n)
{
    while (n > 16) {
        uint64_t x = a[0], y = a[n / 2], z = a[n - 1], t;
        uint64_t piv = x < y ? (y < z ? y : x < z ? z : x) : (x < z ? x : y < z ? z : y);
        size_t i = 0, j = n - 1;
        for (;;) {
            while (a[i] < piv)
                i++;
            while (a[j] > piv)
                j--;
            if (i >= j)
                break;
            t = a[i];
            a[i] = a[j];
            a[j] = t;
            i++;
            j--;
        }
        /* recurse into the smaller half, loop on the larger */
        size_t left = j + 1;
        if (left < n - left) {
            sort_u64(a, left);
            a += left;
            n -= left;
        } else {
            sort_u64(a + left, n - left);
            n = left;
        }
    }
    for (size_t i = 1; i < n; i++) {
        uint64_t v = a[i];
        size_t j = i;
        for (; j && a[j - 1] > v; j--)
            a[j] = a[j - 1];
        a[j] = v;
    }
}

static bool leaf_seen(const struct dirty_view *v, uint64_t base)
{
    return sorted_has(v->seen, v->nseen, base);
}

/* Structural faults of the tree are reported by oracle_invariants (I4);
 * counted for the log. */
static void dirty_bad(void *ctx, const char *what, uint64_t mfn)
{
    struct dirty_view *v = ctx;
    v->bad++;
}

static void compare_ld_leaves(const struct host *h, const struct domain *d,
                              const struct oracle_dom *od,
                              struct oracle_reporter *r, unsigned slot);
static void compare_ld_scalars(const struct domain *d, const struct oracle_dom *od,
                               struct oracle_reporter *r);

/* leaves false: the scalars alone (a restricted check that proved the
 * dirty log and the flat dirty bits unchanged). */
static void compare_logdirty(const struct host *h, const struct domain *d,
                             const struct oracle_dom *od,
                             struct oracle_reporter *r, bool leaves, unsigned slot)
{
    if (d->ld.enabled != od->ld_enabled)
        oracle_report(r, od->ld_enabled ? "on" : "off",
                      d->ld.enabled ? "on" : "off", "d%u.ld.enabled", od->id);
    if (leaves)
        compare_ld_leaves(h, d, od, r, slot);
    compare_ld_scalars(d, od, r);
}

static void compare_ld_leaves(const struct host *h, const struct domain *d,
                              const struct oracle_dom *od,
                              struct oracle_reporter *r, unsigned slot)
{
    struct dirty_view v = { od, r, NULL, 0, 0, ld_log_of(slot), 0 };
    if (v.log) {
        v.log->n = 0;
        v.log->ok = true;
    }
    struct oracle_ld_visit vis = { dirty_leaf, dirty_bad, &v, rec_frame };
    unsigned frames = oracle_sim_ld_leaves(h, d, &vis);
    if (v.log) {
        v.log->frames = frames;
        v.log->bad = v.bad;
    }
    if (v.nseen)
        sort_u64(v.seen, v.nseen);
    for (uint64_t q = 0; q < od->ncidx; q++) { /* the allocated chunks */
        uint64_t ci = od->cidx[q];
        const struct oracle_chunk *c = od->chunks[ci];
        uint64_t first = ci << ORACLE_CHUNK_SHIFT;
        if (!c || leaf_seen(&v, first & ~(LD_LEAF_PFNS - 1)))
            continue;
        for (uint64_t i = 0; i < ORACLE_CHUNK && first + i < od->max_gfn; i++) {
            if (!(i & 7) && !c->dirty[i / 8]) {
                i += 7; /* eight clean gfns */
                continue;
            }
            if (c->dirty[i / 8] >> (i % 8) & 1)
                dirty_report(&v, first + i, true, false);
        }
    }
    free(v.seen);
}

static void compare_ld_scalars(const struct domain *d, const struct oracle_dom *od,
                               struct oracle_reporter *r)
{
    char e1[24], a1[24];
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

#define M2P_BLOCK 512

/* The per-frame part of compare for frame m: M2P, references, orphans. */
static void compare_frame_refs(const struct oracle *o, const struct host *h,
                               struct oracle_reporter *r, uint64_t m)
{
    char e1[24], a1[24];
    const struct page_info *fr = h->frames;
    uint16_t orph = o->orphan[m];
    if (fr[m].use == PGU_GUEST) {
        uint64_t want = (orph && !(orph & ORPHAN_KEEP) ? 0 : 1) + o->xrefs[m];
        if (fr[m].count != want)
            oracle_report(r, u64s(want, e1), u64s(fr[m].count, a1),
                          "frame[%#" PRIx64 "].count", m);
    }
    if (orph && (fr[m].use != PGU_GUEST || fr[m].owner != ORPHAN_OWNER(orph))) {
        snprintf(e1, sizeof e1, "guest page of d%u", ORPHAN_OWNER(orph));
        oracle_report(r, e1, fr[m].use == PGU_FREE ? "free" : "another use",
                      "frame[%#" PRIx64 "].use (out of the P2M, still the owner's)", m);
    }
}

/* oracle_compare(); only: the per-frame part for these frames alone
 * (oracle_check()'s change-proportional check), NULL: every frame.  dr:
 * the per-domain restrictions of such a check (NULL: none), dlive (read
 * only with dr) the slots that have a sim domain. */
static unsigned compare_impl(const struct oracle *o, const struct host *h,
                             oracle_report_fn report, void *ctx,
                             const uint64_t *only, size_t nonly,
                             const struct dom_restrict *dr, uint32_t dlive,
                             const struct dom_save *old, struct dom_save *out,
                             int64_t shr_tot[2])
{
    struct oracle_reporter r = { report, ctx, 0 };
    char e1[24], a1[24];
    /* oracle domains (by index) that a live sim domain's id found:
     * present on both sides, so the search for absent ones below passes
     * them */
    uint32_t matched = 0;
    /* the oracle's domain of each sim slot in dmask (S4 reads them too) */
    const struct oracle_dom *ods[SIM_MAX_DOMAINS];
    uint32_t dmask = 0;
    /* the slots with a sim domain: the loop below visits those alone (its
     * body made each of the 16 empty slots' visits cost a dozen
     * instructions at every state check).  A restricted check (dr) knows
     * them: doms_same() proved h->domains[] the last full check's, whose
     * non-NULL slots are dlive (k->live); otherwise one tight pass. */
    uint32_t slive = dlive;
    if (!dr) {
        slive = 0;
        for (unsigned i = 0; i < SIM_MAX_DOMAINS; i++)
            slive |= (uint32_t)(h->domains[i] != NULL) << i;
    }

    /* Domains: the same set alive on both sides. */
    for (uint32_t sm = slive; sm; sm &= sm - 1) {
        unsigned i = (unsigned)__builtin_ctz(sm);
        const struct domain *d = h->domains[i];
        const struct oracle_dom *od = dr ? dr[i].od : oracle_dom_find(o, d->id);
        if (!od) {
            oracle_report(&r, "absent", "present", "d%u", d->id);
            continue;
        }
        ods[i] = od;
        dmask |= UINT32_C(1) << i;
        matched |= UINT32_C(1) << (od - o->doms);
        if (d->max_gfn != od->max_gfn)
            oracle_report(&r, u64s(od->max_gfn, e1), u64s(d->max_gfn, a1),
                          "d%u.max_gfn", od->id);
        /* dr: this domain restricted to some gfns (oracle_check()) */
        const struct dom_restrict *x = dr ? &dr[i] : NULL;
        if (!x || x->full)
            compare_p2m(o, h, d, od, &r, i);
        else
            compare_p2m_gfns(h, d, od, &r, x, i);
        compare_logdirty(h, d, od, &r, !x || x->ld_full, i);
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
        if (!x || !x->same_paging)
            oracle_compare_paging(d, od, &r);
        if (!x || !x->same_monitor)
            oracle_compare_monitor(d, od, &r);
        /* PoD cache pages are the domain's, and so are pages it removed
         * that others still reference. */
        uint64_t ram = 0;
        /* The ioreq server mapping and its entry count. */
        uint64_t nioreq = 0;
        if (x && !x->full) {
            /* the last check's counts, changed by the gfns written since
             * (od->gmark: what each held before) */
            ram = old[i].ram;
            nioreq = old[i].nioreq;
            for (size_t j = 0; j < od->gmark_n; j++) {
                const struct oracle_gmark *gm = &od->gmark[j];
                unsigned t = od_type(od, gm->g);
                uint64_t m = od_mfn(od, gm->g);
                ram += (uint64_t)gfn_counts_ram(t, m) - gfn_counts_ram(gm->type, gm->mfn);
                nioreq += (uint64_t)(t == p2m_ioreq_server) -
                          (gm->type == p2m_ioreq_server);
            }
        } else {
            for (uint64_t q = 0; q < od->ncidx; q++) { /* allocated chunks */
                uint64_t ci = od->cidx[q];
                const struct oracle_chunk *c = od->chunks[ci];
                for (uint64_t j = 0; c && j < ORACLE_CHUNK &&
                                     (ci << ORACLE_CHUNK_SHIFT) + j < od->max_gfn; j++) {
                    ram += gfn_counts_ram(c->type[j], c->mfn[j]);
                    nioreq += c->type[j] == p2m_ioreq_server;
                }
            }
        }
        if (out) {
            out[i].ram = ram;
            out[i].nioreq = nioreq;
        }
        ram += od->pod_count + od->orphans;
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
        /* the ring in its (at most two) contiguous runs from the head:
         * no division per page and no wrap test per page; the arrays and
         * bounds in locals, which the report calls cannot change */
        const uint64_t *pc = d->pod.cache, *xc = od->pod_cache;
        const struct page_info *pf = h->frames;
        uint64_t pcap = d->pod.cap, nfr = h->nr_frames;
        uint64_t pn = od->pod_count < d->pod.count ? od->pod_count : d->pod.count;
        uint64_t at = pcap ? d->pod.head % pcap : 0;
        for (uint64_t i = 0; i < pn; at = 0) {
            uint64_t end = i + (pcap && pn - i > pcap - at ? pcap - at : pn - i);
            for (const uint64_t *p = pc + at; i < end; i++, p++) {
                uint64_t am = *p;
                if (am != xc[i])
                    oracle_report(&r, oracle_hex(xc[i], e1), oracle_hex(am, a1),
                                  "d%u.pod.cache[%" PRIu64 "]", od->id, i);
                else if (am < nfr && (pf[am].owner != od->id || pf[am].use != PGU_GUEST))
                    oracle_report(&r, "a page of the domain", "another frame",
                                  "d%u.pod.cache[%" PRIu64 "]", od->id, i);
            }
        }
        if (d->tot_pages != ram)
            oracle_report(&r, u64s(ram, e1), u64s(d->tot_pages, a1),
                          "d%u.tot_pages", od->id);
    }
    /* the live oracle domains no sim domain's id found, in slot order
     * (o->live_mask: the slots whose od->live is set) */
    for (uint32_t om = o->live_mask & ~matched; om; om &= om - 1) {
        const struct oracle_dom *od = &o->doms[__builtin_ctz(om)];
        bool found = false;
        for (unsigned j = 0; j < SIM_MAX_DOMAINS && !found; j++)
            found = h->domains[j] && h->domains[j]->id == od->id;
        if (!found)
            oracle_report(&r, "present", "absent", "d%u", od->id);
    }

    /* Memory sharing: shared frames, copies made by unsharing, shr_pages. */
    oracle_compare_sharing(o, h, &r, rec_frame, only, nonly, shr_tot, ods, dmask);

    /* The M2P, frame by frame. */
    if (h->nr_frames != o->nr_frames)
        oracle_report(&r, u64s(o->nr_frames, e1), u64s(h->nr_frames, a1),
                      "host.nr_frames");
    uint64_t n = h->nr_frames < o->nr_frames ? h->nr_frames : o->nr_frames;
    if (only) {
        for (size_t i = 0; i < nonly; i++) {
            uint64_t m = only[i];
            if (m >= n)
                continue;
            if (h->m2p[m] != o->m2p[m])
                oracle_report(&r, oracle_hex(o->m2p[m], e1),
                              oracle_hex(h->m2p[m], a1), "m2p[%#" PRIx64 "]", m);
            compare_frame_refs(o, h, &r, m);
        }
        return oracle_report_done(&r);
    }
    /* Block by block: a vectorised memcmp passes the (nearly all) equal
     * blocks; the loop names the entries that differ. */
    const uint64_t *hm2p = h->m2p, *om2p = o->m2p;
    for (uint64_t b = 0; b < n; b += M2P_BLOCK) {
        uint64_t e = n - b < M2P_BLOCK ? n : b + M2P_BLOCK;
        if (!memcmp(hm2p + b, om2p + b, (e - b) * sizeof(*hm2p)))
            continue;
        for (uint64_t m = b; m < e; m++)
            if (hm2p[m] != om2p[m])
                oracle_report(&r, oracle_hex(om2p[m], e1),
                              oracle_hex(hm2p[m], a1), "m2p[%#" PRIx64 "]", m);
    }
    /* Page references: an allocated guest frame holds its allocation
     * reference plus one per foreign mapping; a page its owner removed
     * while mapped (o->orphan) holds only the mappers' references and
     * must still be its owner's guest page, not back on the heap.  Free
     * frames without orphan state (most of the host) are passed in the
     * loop, the rest checked by compare_frame_refs(). */
    const struct page_info *fr = h->frames;
    const uint16_t *orphan = o->orphan;
    for (uint64_t m = 0; m < n; m++)
        if (fr[m].use == PGU_GUEST || orphan[m])
            compare_frame_refs(o, h, &r, m);
    return oracle_report_done(&r);
}

unsigned oracle_compare(const struct oracle *o, const struct host *h,
                        oracle_report_fn report, void *ctx)
{
    return compare_impl(o, h, report, ctx, NULL, 0, NULL, 0, NULL, NULL, NULL);
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
    static const uint8_t zero[512];
    for (unsigned i = 0; i < PAGE_SIZE; i += 8) {
        /* a leaf covers 32768 gfns, a small domain's few of them: 512
         * zero bytes are passed with one memcmp() */
        if (!(i & 511) && !memcmp(bm + i, zero, sizeof zero)) {
            i += 504;
            continue;
        }
        /* eight words at a time: one OR passes the zero ones (a small
         * domain's bits fill the first few words of a block) */
        if (!(i & 63)) {
            uint64_t w8[8], any = 0;
            memcpy(w8, bm + i, sizeof w8);
            for (unsigned j = 0; j < 8; j++)
                any |= w8[j];
            if (!any) {
                i += 56;
                continue;
            }
        }
        uint64_t w;
        memcpy(&w, bm + i, sizeof w);
        if (w) /* mostly zero: no popcount call for those */
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

/* Every domain slot, as a mask (the leaf logs a full check resets). */
#define ALL_SLOTS ((UINT32_C(1) << SIM_MAX_DOMAINS) - 1)
_Static_assert(SIM_MAX_DOMAINS < 32, "a uint32_t holds a bit per domain slot");

/* The slots with a domain, a bit each: the invariants' loops visit those
 * alone (a host has a domain or two in its 16 slots). */
static uint32_t live_slots(const struct host *h)
{
    uint32_t m = 0;
    for (unsigned i = 0; i < SIM_MAX_DOMAINS; i++)
        if (h->domains[i])
            m |= UINT32_C(1) << i;
    return m;
}

/* The slot of the live domain with id, SIM_MAX_DOMAINS if none; live:
 * the slots with a domain (live_slots()). */
static unsigned dom_slot(const struct host *h, uint32_t live, domid_t id)
{
    for (; live; live &= live - 1) {
        unsigned slot = (unsigned)__builtin_ctz(live);
        if (h->domains[slot]->id == id)
            return slot;
    }
    return SIM_MAX_DOMAINS;
}

/* The frame counts of I4/I6, per domain slot. */
struct inv_counts {
    uint64_t ld_frames[SIM_MAX_DOMAINS], p2m_frames[SIM_MAX_DOMAINS];
};

/* I2 and I5 of frame m, and its share of the counts. */
/* The EPT entry of gfn in slot's domain d (gfn < its max_gfn) for I2:
 * x, the slot's restriction (dr_lookup()), or this check's leaf log of
 * the domain when its walk met no structural fault (the log then holds,
 * in ascending gfn order, exactly the gfns whose lookup is non-zero, with
 * the entry the lookup gives), else a lookup from the root. */
static uint64_t i2_lookup(const struct host *h, const struct domain *d, unsigned slot,
                          const struct dom_restrict *x, uint64_t gfn)
{
    unsigned order;
    const struct leaf_log *lg = leaf_log_of(slot);
    uint64_t e;
    if (x) {
        /* gfn among those compare_p2m_gfns() looked up: that entry */
        if (lg && lg->ok && lg->only_gfns && leaf_log_find(lg, gfn, &e))
            return e;
        return dr_lookup(x, h, d, gfn, &order);
    }
    if (lg && lg->ok && !lg->only_gfns && !lg->bad && gfn <= ORACLE_EPT_GFN_MASK)
        return leaf_log_find(lg, gfn, &e) ? e : 0;
    return oracle_ept_lookup(h, d->ept_root, gfn);
}

static void inv_frame(const struct host *h, struct oracle_reporter *rp,
                      struct inv_counts *cnt, uint64_t m, unsigned slot,
                      const struct dom_restrict *xr)
{
    char e1[24], a1[24];
    const struct page_info *pg = &h->frames[m];
    uint64_t gfn = h->m2p[m];
    const struct domain *od = slot < SIM_MAX_DOMAINS ? h->domains[slot] : NULL;
    uint64_t *ld_frames = cnt->ld_frames, *p2m_frames = cnt->p2m_frames;
    switch (pg->use) {
    case PGU_GUEST:
        /* A shared frame: dom_cow's, M2P SHARED (I1 checks the
         * entries naming it). */
        if (pg->owner == DOMID_COW) {
            if (gfn != SHARED_M2P_ENTRY)
                oracle_report(rp, "SHARED", oracle_hex(gfn, a1),
                              "I2 dom_cow frame m2p[%#" PRIx64 "]", m);
            break;
        }
        if (!od) {
            oracle_report(rp, "a live domain", u64s(pg->owner, a1),
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
                                        : i2_lookup(h, od, slot, xr, gfn),
                              &x);
            if (!p2m_is_ram(x.type) || x.type >= P2M_NR_TYPES ||
                x.mfn != m) {
                char want[48], got[48], b[16];
                snprintf(want, sizeof want, "RAM mfn %#" PRIx64, m);
                snprintf(got, sizeof got, "%s mfn %s",
                         oracle_type_name(x.type, b), oracle_hex(x.mfn, e1));
                oracle_report(rp, want, got,
                              "I2 m2p[%#" PRIx64 "]=%#" PRIx64
                              " -> d%u.p2m[%#" PRIx64 "]",
                              m, gfn, od->id, gfn);
            }
        }
        break;
    case PGU_LOGDIRTY:
    case PGU_P2M:
        if (!od)
            oracle_report(rp, "a live domain", u64s(pg->owner, a1),
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
            oracle_report(rp, "DOMID_XEN", u64s(pg->owner, a1),
                          "I5 xen frame[%#" PRIx64 "].owner", m);
        break;
    case PGU_PML:
        if (!od)
            oracle_report(rp, "a live domain", u64s(pg->owner, a1),
                          "I5 PML frame[%#" PRIx64 "].owner", m);
        break;
    case PGU_FREE:
        if (pg->owner != DOMID_INVALID)
            oracle_report(rp, "none", u64s(pg->owner, a1),
                          "I5 free frame[%#" PRIx64 "].owner", m);
        break;
    default:
        oracle_report(rp, "a page_use", u64s(pg->use, a1),
                      "I5 frame[%#" PRIx64 "].use", m);
        break;
    }
    /* I5: only guest pages have a gfn (mark_page_free: INVALID). */
    if (pg->use != PGU_GUEST && gfn != INVALID_M2P_ENTRY)
        oracle_report(rp, "INVALID", oracle_hex(gfn, a1),
                      "I5 m2p[%#" PRIx64 "] (frame use %u)", m, pg->use);
}

/* oracle_invariants(); only: the frame pass for these frames alone, with
 * *cnt the counts of every frame already (oracle_check()); NULL: every
 * frame, *cnt (if not NULL) receives the counts.  live: the slots with a
 * domain (live_slots()). */
static unsigned inv_impl(const struct host *h, oracle_report_fn report, void *ctx,
                         const uint64_t *only, size_t nonly, struct inv_counts *cnt,
                         const struct dom_restrict *dr, const struct dom_save *old,
                         struct dom_save *out, uint32_t live)
{
    struct oracle_reporter r = { report, ctx, 0 };
    char e1[24], a1[24];
    struct inv_counts local;
    if (!cnt)
        cnt = &local;
    uint64_t *ld_frames = cnt->ld_frames, *p2m_frames = cnt->p2m_frames;

    if (only) {
        for (size_t i = 0; i < nonly; i++) {
            uint64_t m = only[i];
            if (m >= h->nr_frames)
                continue;
            const struct page_info *pg = &h->frames[m];
            unsigned slot = pg->use == PGU_FREE ? SIM_MAX_DOMAINS
                                                : dom_slot(h, live, pg->owner);
            /* a restricted domain's structure is known (dr_lookup()) */
            inv_frame(h, &r, cnt, m, slot,
                      dr && slot < SIM_MAX_DOMAINS && !dr[slot].full ? &dr[slot] : NULL);
        }
    } else {
        memset(cnt, 0, sizeof(*cnt));
        /* One pass over the frames: I2, I5, and per-domain counts for
         * I4/I6.  Consecutive frames mostly share an owner: the slot of
         * the last one is tried first. */
        const struct page_info *frames = h->frames;
        const uint64_t *m2p = h->m2p;
        domid_t last_owner = DOMID_INVALID;
        unsigned last_slot = SIM_MAX_DOMAINS;
        for (uint64_t m = 0; m < h->nr_frames; m++) {
            const struct page_info *pg = &frames[m];
            /* the common case first: a free frame, owned by none, no gfn */
            if (pg->use == PGU_FREE && pg->owner == DOMID_INVALID &&
                m2p[m] == INVALID_M2P_ENTRY)
                continue;
            unsigned slot = SIM_MAX_DOMAINS;
            if (pg->use != PGU_FREE) {
                if (pg->owner == last_owner && last_slot < SIM_MAX_DOMAINS &&
                    h->domains[last_slot] && h->domains[last_slot]->id == pg->owner)
                    slot = last_slot;
                else
                    slot = dom_slot(h, live, pg->owner);
                last_owner = pg->owner;
                last_slot = slot;
            }
            inv_frame(h, &r, cnt, m, slot, NULL);
        }
    }

    for (uint32_t mk = live; mk; mk &= mk - 1) {
        unsigned i = (unsigned)__builtin_ctz(mk);
        const struct domain *d = h->domains[i];
        struct inv_ctx c = { h, d, &r, 0 };
        const struct dom_restrict *x = dr ? &dr[i] : NULL;
        if (!x || !x->same_sim_paging)
            oracle_invariants_paging(h, d, &r);

        /* I1 and the table count of I6; restricted (dr): I1 on the listed
         * gfns, the tables as last counted (no table came or went). */
        unsigned tables;
        if (x && !x->full) {
            tables = old[i].tables;
            const struct leaf_log *lg = leaf_log_of(i);
            if (lg && lg->ok && lg->only_gfns && lg->n == x->ngfns) {
                /* compare_p2m_gfns()'s lookups of these gfns */
                for (size_t j = 0; j < lg->n; j++)
                    if (lg->v[j].e)
                        inv_leaf(&c, lg->v[j].gfn, lg->v[j].e, lg->v[j].order);
            } else {
                for (size_t j = 0; j < x->ngfns; j++) {
                    unsigned order;
                    uint64_t e = dr_lookup(x, h, d, x->gfns[j], &order);
                    if (e)
                        inv_leaf(&c, x->gfns[j], e, order);
                }
            }
        } else {
            struct leaf_log *lg = d->npt ? NULL : leaf_log_of(i);
            if (lg && lg->ok && !lg->only_gfns) {
                /* compare_p2m()'s walk of this check, replayed */
                for (size_t j = 0; j < lg->n; j++)
                    inv_leaf(&c, lg->v[j].gfn, lg->v[j].e, lg->v[j].order);
                tables = lg->tables;
            } else {
                struct oracle_ept_visit ev = { inv_leaf, inv_ept_bad, &c, rec_table };
                tables = d->npt ? oracle_npt_walk(h, d->ept_root, &ev)
                                : oracle_ept_walk(h, d->ept_root, &ev);
            }
        }
        if (tables != d->p2m_pages || d->p2m_pages != p2m_frames[i]) {
            char got[64];
            snprintf(got, sizeof got, "tables=%u pgu_p2m=%" PRIu64, tables,
                     p2m_frames[i]);
            oracle_report(&r, u64s(d->p2m_pages, e1), got, "I6 d%u.p2m_pages",
                          d->id);
        }

        /* I3, I4. */
        unsigned frames;
        if (x && !x->ld_full) {
            frames = old[i].ld_frames;
            c.dirty_bits = old[i].ld_bits;
        } else {
            const struct ld_log *ll = ld_log_of(i);
            if (ll && ll->ok && !ll->bad) {
                /* compare_ld_leaves()'s walk of this check, replayed */
                for (size_t j = 0; j < ll->n; j++)
                    inv_ld_leaf(&c, ll->base[j], ll->bm[j]);
                frames = ll->frames;
            } else {
                struct oracle_ld_visit lv = { inv_ld_leaf, inv_ld_bad, &c, rec_frame };
                frames = oracle_sim_ld_leaves(h, d, &lv);
            }
        }
        if (out) {
            out[i].tables = tables;
            out[i].ld_frames = frames;
            out[i].ld_bits = c.dirty_bits;
        }
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

unsigned oracle_invariants(const struct host *h, oracle_report_fn report,
                           void *ctx)
{
    return inv_impl(h, report, ctx, NULL, 0, NULL, NULL, NULL, NULL, live_slots(h));
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
 * sim's domain structures and the oracle's flat domains.  So after a check
 * that reported nothing, oracle_check() keeps the set of frames the walks
 * read (the watch set) and a serialisation of everything else but the
 * per-frame and per-gfn arrays (the baseline).  The next check with full false reports
 * nothing without decoding anything if (1) no watched frame is in host
 * memory's change log since then (model/hostmem.c logs exactly the frames
 * whose bytes changed; the caller passes the log: time proportional to the
 * writes, and the oracle never reads the sim's memory except through
 * hostmem_frame_peek()), (2) no frame's metadata was marked, by the sim
 * (hostmem_meta_mark(): page_info, M2P, sharing handle) or by the oracle
 * (oracle_mark_mfn(): its M2P, references, orphans, sharing state), (3)
 * no gfn of the flat model was written (oracle_chunk_get() marks them),
 * and (4) the baseline is byte-for-byte the same (memo_inputs():
 * serialised anew, one compare, the new one kept).  A step whose
 * writes hit the watch set runs the checks and leaves the baseline unbuilt
 * (a step that changes the tables is mostly followed by more: the copy
 * would be wasted); the next step without such writes builds it.
 * Otherwise the per-frame half may be restricted to the changed frames
 * (below), or the checks run as oracle_compare() + oracle_invariants():
 * same reports, same order.  tests/unit/test_fuzz.c
 * runs programs and scenarios under every suite mutant both ways and
 * compares every report; oracle_check_verify() at the end of a run repeats
 * a reused check in full.
 */
struct oracle_cache {
    uint64_t *frames;       /* frames the last computed check read: sorted, unique */
    size_t nframes, capframes;
    size_t nsorted;         /* frames[0..nsorted): sorted, unique (watch_finish()) */
    uint8_t *base;          /* serialised other inputs of that check's state */
    size_t baselen, basecap;
    uint8_t *next;          /* memo_inputs()'s serialisation of the state now */
    size_t nextcap;
    bool have_base;         /* base is a complete serialisation (of some state) */
    bool base_current;      /* ... of the inputs of the last computed check */
    bool oom;
    bool clean;             /* the last computed check reported nothing */
    bool last_reused;       /* the last oracle_check() reused it or checked
                               only the changed frames */
    uint64_t last_hash;     /* FNV-1a of the last check's reports */
    /* The per-frame half restricted to the changed frames (see above):
     * the state of the last full check, kept up to date by the
     * restricted ones. */
    struct page_info *fsh;  /* h->frames then */
    uint64_t nfsh;
    bool fsh_ok;            /* fsh, cnt, tab, dom describe the last check */
    struct inv_counts cnt;  /* the I4/I6 frame counts then */
    uint64_t *tab;          /* EPT tables the walks read: sorted, unique */
    uint8_t *tablvl;        /* their level (4 = root; 0: not reached) */
    uint8_t *tabsnap;       /* their bytes, PAGE_SIZE each */
    size_t ntab, captab, capsnap;
    bool rec_tab;           /* the check records tab */
    struct dom_key {
        const struct domain *d;
        domid_t id;
        uint64_t max_gfn, root;
    } dom[SIM_MAX_DOMAINS];
    uint64_t *set;          /* the frames a restricted check re-checks (unique) */
    size_t nset, capset;
    /* The per-domain half restricted to the gfns that changed (below):
     * each table's first gfn and domain slot (TAB_ALIAS: reached twice),
     * the M2P then, per domain slot the counts and walk totals then
     * (dsv; dnew: those of the check running) and the state the per-gfn
     * compares read besides the gfn's own entries (dst). */
    uint64_t *tabbase;
    uint8_t *tabdom;
    uint64_t *m2psh;
    uint64_t nm2psh;
    struct dom_save dsv[SIM_MAX_DOMAINS], dnew[SIM_MAX_DOMAINS];
    struct dom_state {
        bool pml_on, ioreq_write, ept_raw;
        struct log_dirty ld;
    } dst[SIM_MAX_DOMAINS];
    uint32_t dst_set;       /* slots of dst written (the others are zeros) */
    int64_t shr_tot[2];     /* the S5 counts then (oracle_compare_sharing()) */
    uint8_t *oshr;          /* per frame: the oracle shared it then */
    uint32_t *oxrefs;       /* per frame: the oracle's xrefs then */
    uint64_t noshr;
    struct leaf_log leaves[SIM_MAX_DOMAINS]; /* compare_p2m()'s walks of this check */
    struct ld_log ldl[SIM_MAX_DOMAINS];      /* compare_ld_leaves()' walks */
    uint64_t *l1;           /* leaf tables: slot << 56 | (base >> 9) << 24 | index */
    size_t nl1, capl1;
    uint64_t *gl;           /* the gfns to re-compare: a run per live slot */
    size_t ngl, capgl;
    /* The changed entries of the written tables, found once by
     * restrict_set() and read again by restrict_doms(). */
    struct tab_diff {
        size_t at;          /* index into tab[] */
        unsigned i;         /* entry */
        uint64_t e0, e1;    /* the copy's, the table's now */
    } *td;
    size_t ntd, captd;
    /* The restricted check's own bookkeeping, kept from check to check
     * so that its set-up costs what changed, not the host's size:
     *   live: the slots with a domain at the last full check (k->dom),
 *     dptr: the slots' domains then (NULL: none);
     *   fstamp: per frame, the fgen of the restrict_set() that listed it
     *     (a frame is listed once without sorting k->set);
     *   gh: gfn -> ggen, open addressing: the gfns already listed for the
     *     domain slot restrict_doms() is filling (one bump of ggen empties
     *     it);
     *   l1_at/l1_n: each slot's run of k->l1 (fixed between full checks);
     *   dr: the slots' restrictions, zero for the slots without a domain,
 *     drm: their dr_lookup() memos;
     *   od: restrict_doms()'s flat domain per live slot, for
     *     restrict_commit(). */
    uint32_t live;
    const struct domain *dptr[SIM_MAX_DOMAINS];
    uint32_t *fstamp;
    uint64_t nfstamp;
    uint32_t fgen;
    struct gfn_stamp {
        uint64_t g;
        uint32_t gen;
    } *gh;
    size_t capgh;           /* a power of two, or 0 */
    uint32_t ggen;
    size_t l1_at[SIM_MAX_DOMAINS], l1_n[SIM_MAX_DOMAINS];
    struct dom_restrict dr[SIM_MAX_DOMAINS];
    struct dr_memo drm[SIM_MAX_DOMAINS];
    const struct oracle_dom *od[SIM_MAX_DOMAINS];
    uint32_t ld_diff;       /* live slots whose d->ld differs from dst[].ld */
    uint64_t *otab;         /* restrict_save(): the tables of the last save */
    size_t notab, capotab;
    /* The memo's parts kept apart (memo_group()): their own baselines,
     * and the change counters that stood when each was made. */
    struct memo_grp {
        uint8_t *base, *next;
        size_t baselen, basecap, nextcap;
        bool valid;             /* base serialises the part at those counters */
        const struct host *h;
        uint64_t hgen;          /* h->gen_paging / gen_monitor */
        uint32_t live;          /* the oracle's live slots */
        uint64_t ogen[ORACLE_MAX_DOMS]; /* their od->gen_paging / gen_monitor */
    } grp[2];
    /* Per sim slot (bit set in cgen_ok), the change counters of its
     * paging and monitor parts at the last clean check (cgen_keep()):
     * h->gen_* and its oracle domain's od->gen_*.  A restricted check
     * skips a part's compare while both stand (dom_restrict.same_*). */
    struct clean_gen { uint64_t h, o; } cgen[SIM_MAX_DOMAINS][2];
    const struct oracle_dom *cgen_od[SIM_MAX_DOMAINS]; /* whose o counters */
    uint32_t cgen_ok;
};

#define TAB_ALIAS 0xFF

static struct oracle_cache *cur_rec; /* set while a check records */

/* Slot's leaf log while oracle_check() runs (NULL otherwise: a public
 * oracle_compare() / oracle_invariants() walks twice). */
static struct leaf_log *leaf_log_of(unsigned slot)
{
    return cur_rec && slot < SIM_MAX_DOMAINS ? &cur_rec->leaves[slot] : NULL;
}

static struct ld_log *ld_log_of(unsigned slot)
{
    return cur_rec && slot < SIM_MAX_DOMAINS ? &cur_rec->ldl[slot] : NULL;
}

/* Before a check's compare: no log of the slots in mask is current (the
 * checks read only the logs of slots with a domain: a restricted check
 * passes those, k->live; a full one every slot). */
static void leaf_logs_reset(struct oracle_cache *k, uint32_t mask)
{
    for (; mask; mask &= mask - 1) {
        unsigned i = (unsigned)__builtin_ctz(mask);
        k->leaves[i].ok = false;
        k->ldl[i].ok = false;
    }
}

static bool sorted_has(const uint64_t *a, size_t n, uint64_t x);

static void rec_add(uint64_t m)
{
    struct oracle_cache *k = cur_rec;
    if (!k)
        return;
    /* a restricted check adds to the watch set: what it holds already
     * is not added again (mostly everything: the set stays sorted) */
    if (k->nsorted && sorted_has(k->frames, k->nsorted, m))
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

static bool grow(uint64_t **p, size_t *cap, size_t need)
{
    if (need <= *cap)
        return true;
    size_t c = *cap ? *cap : 64;
    while (c < need)
        c *= 2;
    uint64_t *x = realloc(*p, c * sizeof(*x));
    if (!x)
        return false;
    *p = x;
    *cap = c;
    return true;
}

static void rec_table(void *ctx, uint64_t mfn)
{
    struct oracle_cache *k = cur_rec;
    rec_add(mfn);
    if (!k || !k->rec_tab)
        return;
    if (!grow(&k->tab, &k->captab, k->ntab + 1)) {
        k->oom = true;
        return;
    }
    k->tab[k->ntab++] = mfn;
}
static void rec_frame(void *ctx, uint64_t mfn) { rec_add(mfn); }

/* The inputs serialised into k->next, then compared with the baseline in
 * one memcmp() (memo_inputs()).  Some thirty pieces per check: an
 * in-place compare of each (a memcmp() call and its checks per piece)
 * cost about twice a copy of the whole (a few KB) and one compare. */
struct ser {
    uint8_t **buf;          /* the buffer written (k->next, a group's next) */
    size_t *cap;
    size_t pos;
    bool ok;
};

/* Room for n more bytes (false: out of memory, the memo is not used). */
static bool ser_grow(struct ser *s, size_t n)
{
    if (!s->ok)
        return false;
    size_t cap = 2 * (s->pos + n);
    uint8_t *x = realloc(*s->buf, cap);
    if (!x) {
        s->ok = false;
        return false;
    }
    *s->buf = x;
    *s->cap = cap;
    return true;
}

/* Room kept past every piece of variable size: a whole struct's fixed
 * ranges (ser_range()) fit in it, so they are copied without a test each
 * (ser_room() at the start of each struct, ser_add() after each variable
 * piece). */
#define SER_ROOM (sizeof(struct domain) > sizeof(struct oracle_dom) ? \
                  sizeof(struct domain) : sizeof(struct oracle_dom))

/* A piece of variable size, and room for the rest of its struct. */
static inline void ser_add(struct ser *s, const void *p, size_t n)
{
    if (s->pos + n + SER_ROOM > *s->cap && !ser_grow(s, n + SER_ROOM))
        return;
    if (n)
        memcpy(*s->buf + s->pos, p, n);
    s->pos += n;
}

/* Room for a struct's fixed ranges; without it (out of memory) nothing
 * more is written and the serialisation is not used (s->ok). */
static inline bool ser_room(struct ser *s)
{
    return s->ok && (s->pos + SER_ROOM <= *s->cap || ser_grow(s, SER_ROOM));
}

/* ser_domain() / ser_odom() cut the structs at these fields, in this
 * order: a field moved across them must fail the build, not the memo.
 * Each conditional part comes after the fields that decide it (ring
 * sizes and counts, pml_on, nwait), so two states serialise alike only
 * when those fields and the parts they select are equal. */
_Static_assert(offsetof(struct domain, paging.req) < offsetof(struct domain, paging.drops) &&
               offsetof(struct domain, paging.drops) < offsetof(struct domain, p2m_fail_in) &&
               offsetof(struct domain, p2m_fail_in) < offsetof(struct domain, pml_on) &&
               offsetof(struct domain, pml_on) < offsetof(struct domain, pml_pg) &&
               offsetof(struct domain, pml_pg) < offsetof(struct domain, pml) &&
               offsetof(struct domain, pml) < offsetof(struct domain, monitor.req) &&
               offsetof(struct domain, monitor.req) < offsetof(struct domain, monitor.nwait) &&
               offsetof(struct domain, monitor.nwait) < offsetof(struct domain, monitor.waitq) &&
               offsetof(struct domain, monitor.waitq) < offsetof(struct domain, monitor.wait_req),
               "struct domain: the parts ser_domain() skips moved");
_Static_assert(offsetof(struct oracle_dom, req) < offsetof(struct oracle_dom, drops) &&
               offsetof(struct oracle_dom, drops) < offsetof(struct oracle_dom, vpause) &&
               offsetof(struct oracle_dom, vpause) < offsetof(struct oracle_dom, npsc_note) &&
               offsetof(struct oracle_dom, npsc_note) < offsetof(struct oracle_dom, npt_rc_lo) &&
               offsetof(struct oracle_dom, npt_rc_lo) < offsetof(struct oracle_dom, npt_rc_hi) &&
               offsetof(struct oracle_dom, npt_rc_hi) < offsetof(struct oracle_dom, raw_hi) &&
               offsetof(struct oracle_dom, raw_hi) < offsetof(struct oracle_dom, pml_on) &&
               offsetof(struct oracle_dom, pml_on) < offsetof(struct oracle_dom, pml_log) &&
               offsetof(struct oracle_dom, pml_log) < offsetof(struct oracle_dom, pml_idx) &&
               offsetof(struct oracle_dom, pml_idx) < offsetof(struct oracle_dom, pml_gpa) &&
               offsetof(struct oracle_dom, pml_gpa) < offsetof(struct oracle_dom, mon_slot) &&
               offsetof(struct oracle_dom, mon_nwait) < offsetof(struct oracle_dom, mon_slot) &&
               offsetof(struct oracle_dom, mon_slot) < offsetof(struct oracle_dom, mon_waitq) &&
               offsetof(struct oracle_dom, mon_waitq) < offsetof(struct oracle_dom, mon_wait_req) &&
               offsetof(struct oracle_dom, ring) < offsetof(struct oracle_dom, req) &&
               offsetof(struct oracle_dom, drops) < offsetof(struct oracle_dom, orphans) &&
               offsetof(struct oracle_dom, orphans) < offsetof(struct oracle_dom, vpause) &&
               offsetof(struct oracle_dom, pml_gpa) < offsetof(struct oracle_dom, mon_ring) &&
               offsetof(struct oracle_dom, mon_ring) < offsetof(struct oracle_dom, mon_slot) &&
               offsetof(struct oracle_dom, mon_wait_req) < offsetof(struct oracle_dom, mon_state) &&
               offsetof(struct oracle_dom, mon_state) < offsetof(struct oracle_dom, gen_paging) &&
               offsetof(struct oracle_dom, gen_monitor) + sizeof(uint64_t) ==
                   sizeof(struct oracle_dom),
               "struct oracle_dom: the arrays ser_odom() skips moved");

/* The bytes [from, to) of struct object base (room: see SER_ROOM). */
static inline void ser_range(struct ser *s, const void *base, size_t from, size_t to)
{
    memcpy(*s->buf + s->pos, (const uint8_t *)base + from, to - from);
    s->pos += to - from;
}

/* The n queued slots of a ring of size slots from cons, in ring order: at
 * most two runs (the same bytes as slot by slot, in fewer compares). */
static void ser_ring(struct ser *s, const void *ring, size_t slot, unsigned size,
                     unsigned cons, unsigned n)
{
    if (!size || !n)
        return;
    unsigned first = cons % size, run = n < size - first ? n : size - first;
    ser_add(s, (const uint8_t *)ring + (size_t)first * slot, run * slot);
    for (unsigned i = run; i < n; i++) /* past the wrap (n > size: slots again) */
        ser_add(s, (const uint8_t *)ring + (size_t)((first + i) % size) * slot, slot);
}

/* The first n of a per-vCPU queue (n clamped to its size). */
static void ser_first(struct ser *s, const void *arr, size_t slot, unsigned n)
{
    ser_add(s, arr, (n < SIM_MAX_VCPUS ? n : SIM_MAX_VCPUS) * slot);
}

/*
 * A sim domain into the baseline: the struct without what no check reads
 * (compare_impl(), inv_impl() and the oracle_compare_*() they call).
 * The paging ring's and the monitor ring's slots count only while they
 * hold a request (oracle_compare_paging(), oracle_compare_monitor()
 * compare the queued requests in ring order), no drop notice at all (only
 * their count is compared), a monitor wait_req only while its vCPU waits
 * for a slot, the monitor's wait queue up to nwait (the compare stops
 * there).  p2m_fail_in (the harness's failure countdown: the oracle
 * learns of an injected failure from the step, o->p2m_fail) is read by no
 * check; it counts down at every P2M update, one that leaves the tables
 * as they were too, and in the native fuzzer it was the only difference
 * of a third of the baselines that differed.  pml_pg[] (the PML log
 * frames: the oracle predicts logs from its own pml_log[]) is read by no
 * check, and pml[] only while PML is on (compare_impl() compares
 * pml[v].index when d->pml_on and od->pml_on).  About 10 of the struct's
 * 10.8 KB are such slots and vCPU arrays, mostly stale or unused;
 * memcmp'ing them at every reused check was the largest single cost of
 * the native fuzzer's checks.  tests/unit/test_check.c changes what is
 * left out (the check is reused) and what is kept (reported at once).
 *
 * d->paging and d->monitor (about half of what is kept) are serialised
 * apart, by ser_dpaging() / ser_dmonitor(), into the memo's groups
 * (memo_group()): only when their change counters moved.
 */
static void ser_domain(struct ser *s, const struct domain *d)
{
    if (!ser_room(s))
        return;
    ser_range(s, d, 0, offsetof(struct domain, paging));
    ser_range(s, d, offsetof(struct domain, paging) + sizeof(d->paging),
              offsetof(struct domain, p2m_fail_in));
    ser_range(s, d, offsetof(struct domain, p2m_fail_in) + sizeof(d->p2m_fail_in),
              offsetof(struct domain, pml_pg));
    ser_range(s, d, offsetof(struct domain, pml_pg) + sizeof(d->pml_pg),
              offsetof(struct domain, pml));
    if (d->pml_on)
        ser_add(s, d->pml, sizeof(d->pml));
    ser_range(s, d, offsetof(struct domain, pml) + sizeof(d->pml),
              offsetof(struct domain, monitor));
    ser_range(s, d, offsetof(struct domain, monitor) + sizeof(d->monitor),
              sizeof(*d));
}

/* d->paging: the queued requests, no drop notices. */
static void ser_dpaging(struct ser *s, const struct domain *d)
{
    if (!ser_room(s))
        return;
    const struct mem_paging *p = &d->paging;
    ser_range(s, p, 0, offsetof(struct mem_paging, req));
    ser_ring(s, p->req, sizeof(p->req[0]), p->ring_size, p->req_cons, p->nreq);
    ser_range(s, p, offsetof(struct mem_paging, req) + sizeof(p->req),
              offsetof(struct mem_paging, drops));
    ser_range(s, p, offsetof(struct mem_paging, drops) + sizeof(p->drops), sizeof(*p));
}

/* d->monitor: the queued requests, the wait queue up to nwait, the
 * wait_req of the vCPUs waiting for a slot. */
static void ser_dmonitor(struct ser *s, const struct domain *d)
{
    if (!ser_room(s))
        return;
    const struct vm_event_monitor *m = &d->monitor;
    ser_range(s, m, 0, offsetof(struct vm_event_monitor, req));
    ser_ring(s, m->req, sizeof(m->req[0]), m->ring_size, m->req_cons, m->nreq);
    ser_range(s, m, offsetof(struct vm_event_monitor, req) + sizeof(m->req),
              offsetof(struct vm_event_monitor, waitq));
    ser_first(s, m->waitq, sizeof(m->waitq[0]), m->nwait);
    ser_range(s, m, offsetof(struct vm_event_monitor, waitq) + sizeof(m->waitq),
              offsetof(struct vm_event_monitor, wait_req));
    _Static_assert((MON_WAIT_SLOT & 1) && !(MON_NONE & 1) && !(MON_BLACK_EYE & 1),
                   "a vCPU waiting for a slot is the odd monitor state");
    for (const uint8_t *w = oracle_vcpu_any_odd(m->vstate)
                                ? memchr(m->vstate, MON_WAIT_SLOT, SIM_MAX_VCPUS) : NULL;
         w;
         w = memchr(w + 1, MON_WAIT_SLOT, (size_t)(m->vstate + SIM_MAX_VCPUS - w - 1)))
        ser_add(s, &m->wait_req[w - m->vstate], sizeof(m->wait_req[0]));
    ser_range(s, m, offsetof(struct vm_event_monitor, wait_req) + sizeof(m->wait_req),
              sizeof(*m));
}

/* The oracle's domain likewise: no drops, no vpause[] (the paging ops'
 * pause counts: the checks compare the sim's against its vCPU states,
 * I7), pml_log[]/pml_idx[] only while PML is on (compare_impl()); its
 * paging part (ring .. vstate[]: the FIFO's requests) and monitor part
 * (mon_ring .. mon_state[]: the slots in use, the wait queue up to
 * mon_nwait, the wait_req of vCPUs waiting for a slot) go into the
 * memo's groups (ser_opaging(), ser_omonitor()), and the change counters
 * at the end of the struct nowhere. */
static void ser_odom(struct ser *s, const struct oracle_dom *od)
{
    if (!ser_room(s))
        return;
    ser_range(s, od, 0, offsetof(struct oracle_dom, ring));
    ser_add(s, &od->orphans, sizeof(od->orphans));
    /* nor the NPT scratch of the last predicted access (npsc_note,
     * npt_rc_lo/hi: oracle/walk.c's, never read by the checks), nor the
     * raw ranges past nraw_hi */
    ser_range(s, od, offsetof(struct oracle_dom, vpause) + sizeof(od->vpause),
              offsetof(struct oracle_dom, npsc_note));
    ser_range(s, od, offsetof(struct oracle_dom, npt_rc_hi) + sizeof(od->npt_rc_hi),
              offsetof(struct oracle_dom, raw_hi));
    ser_add(s, od->raw_hi, od->nraw_hi * sizeof(od->raw_hi[0]));
    ser_range(s, od, offsetof(struct oracle_dom, raw_hi) + sizeof(od->raw_hi),
              offsetof(struct oracle_dom, pml_log));
    if (od->pml_on)
        ser_range(s, od, offsetof(struct oracle_dom, pml_log),
                  offsetof(struct oracle_dom, pml_gpa));
    ser_range(s, od, offsetof(struct oracle_dom, pml_gpa),
              offsetof(struct oracle_dom, mon_ring));
    ser_range(s, od, offsetof(struct oracle_dom, mon_state) + sizeof(od->mon_state),
              offsetof(struct oracle_dom, gen_paging));
}

static void ser_opaging(struct ser *s, const struct oracle_dom *od)
{
    if (!ser_room(s))
        return;
    ser_range(s, od, offsetof(struct oracle_dom, ring), offsetof(struct oracle_dom, req));
    ser_add(s, od->req, od->nreq * sizeof(od->req[0]));
    ser_range(s, od, offsetof(struct oracle_dom, req) + sizeof(od->req),
              offsetof(struct oracle_dom, drops));
    ser_range(s, od, offsetof(struct oracle_dom, drops) + sizeof(od->drops),
              offsetof(struct oracle_dom, orphans));
    ser_range(s, od, offsetof(struct oracle_dom, orphans) + sizeof(od->orphans),
              offsetof(struct oracle_dom, vpause));
}

static void ser_omonitor(struct ser *s, const struct oracle_dom *od)
{
    if (!ser_room(s))
        return;
    ser_range(s, od, offsetof(struct oracle_dom, mon_ring),
              offsetof(struct oracle_dom, mon_slot));
    ser_add(s, od->mon_slot, od->mon_nslots * sizeof(od->mon_slot[0]));
    ser_first(s, od->mon_waitq, sizeof(od->mon_waitq[0]), od->mon_nwait);
    ser_range(s, od, offsetof(struct oracle_dom, mon_waitq) + sizeof(od->mon_waitq),
              offsetof(struct oracle_dom, mon_wait_req));
    for (const uint8_t *w = oracle_vcpu_any_odd(od->mon_state)
                                ? memchr(od->mon_state, MON_WAIT_SLOT, SIM_MAX_VCPUS) : NULL;
         w;
         w = memchr(w + 1, MON_WAIT_SLOT, (size_t)(od->mon_state + SIM_MAX_VCPUS - w - 1)))
        ser_add(s, &od->mon_wait_req[w - od->mon_state], sizeof(od->mon_wait_req[0]));
    ser_range(s, od, offsetof(struct oracle_dom, mon_wait_req) + sizeof(od->mon_wait_req),
              offsetof(struct oracle_dom, mon_state) + sizeof(od->mon_state));
}

/* The oracle's live slots, a bit each. */
static uint32_t live_mask(const struct oracle *o)
{
    _Static_assert(ORACLE_MAX_DOMS <= 32, "the live mask holds a bit per slot");
    uint32_t live = 0;
    for (unsigned i = 0; i < ORACLE_MAX_DOMS; i++)
        if (o->doms[i].live)
            live |= UINT32_C(1) << i;
    return live;
}

/*
 * The memo's groups: the domains' paging parts (every sim domain's
 * d->paging, then every live oracle domain's ring .. vstate[]) and their
 * monitor parts, each with a baseline of its own and the change counters
 * that stood when it was made (h->gen_*, each live od->gen_*: every
 * writer of a part bumps its counter, sim.h dom_paging_w(), oracle_priv.h
 * od_paging_w(); domain creation and destruction too).  Unmoved counters
 * say the part is its baseline, unread: most steps (failed operations,
 * reads, peeks, P2M changes) touch neither ring nor vCPU state, and these
 * parts were about half of the bytes serialised per check.  The domain
 * set itself is in the main serialisation (h->domains[], the live mask),
 * so a group and the main part alike equal their baselines only when the
 * whole state does.  A writer that does not bump is caught by
 * memo_crosscheck() at the next full check (oracle.memo.<group>).
 */
enum { MG_PAGING, MG_MONITOR, MG_N };
static const char *const memo_grp_name[MG_N] = { "paging", "monitor" };

static bool grp_gens_same(const struct memo_grp *m, unsigned g, const struct oracle *o,
                          const struct host *h, uint32_t live)
{
    if (!m->valid || m->h != h || m->live != live ||
        m->hgen != (g == MG_PAGING ? h->gen_paging : h->gen_monitor))
        return false;
    for (uint32_t l = live; l; l &= l - 1) {
        const struct oracle_dom *od = &o->doms[__builtin_ctz(l)];
        if (m->ogen[__builtin_ctz(l)] != (g == MG_PAGING ? od->gen_paging : od->gen_monitor))
            return false;
    }
    return true;
}

/* Group g of the state now into m->next; false: out of memory. */
static bool grp_serialise(struct memo_grp *m, unsigned g, const struct oracle *o,
                          const struct host *h, uint32_t live, size_t *len)
{
    struct ser s = { &m->next, &m->nextcap, 0, true };
    for (unsigned i = 0; i < SIM_MAX_DOMAINS; i++)
        if (h->domains[i])
            (g == MG_PAGING ? ser_dpaging : ser_dmonitor)(&s, h->domains[i]);
    for (uint32_t l = live; l; l &= l - 1)
        (g == MG_PAGING ? ser_opaging : ser_omonitor)(&s, &o->doms[__builtin_ctz(l)]);
    *len = s.pos;
    return s.ok;
}

/* m->next becomes the baseline, at the counters now. */
static void grp_keep(struct memo_grp *m, unsigned g, const struct oracle *o,
                     const struct host *h, uint32_t live, size_t len)
{
    uint8_t *t = m->base;
    size_t tc = m->basecap;
    m->base = m->next;
    m->basecap = m->nextcap;
    m->next = t;
    m->nextcap = tc;
    m->baselen = len;
    m->valid = true;
    m->h = h;
    m->hgen = g == MG_PAGING ? h->gen_paging : h->gen_monitor;
    m->live = live;
    for (uint32_t l = live; l; l &= l - 1) {
        const struct oracle_dom *od = &o->doms[__builtin_ctz(l)];
        m->ogen[__builtin_ctz(l)] = g == MG_PAGING ? od->gen_paging : od->gen_monitor;
    }
}

/* Group g into its baseline; true when it differs from the last one (or
 * there was none).  Serialised only when its counters moved. */
static bool memo_group(struct oracle_cache *k, unsigned g, const struct oracle *o,
                       const struct host *h, uint32_t live)
{
    struct memo_grp *m = &k->grp[g];
    if (grp_gens_same(m, g, o, h, live))
        return false;
    size_t len;
    if (!grp_serialise(m, g, o, h, live, &len)) {
        m->valid = false;
        return true;
    }
    bool diff = !m->valid || len != m->baselen || memcmp(m->next, m->base, len);
    grp_keep(m, g, o, h, live, len);
    return diff;
}

/* The cross-check of the counters: each group whose counters say
 * "unchanged since its baseline" serialised all the same.  NULL when each
 * is its baseline, else the name of the first that is not (a writer that
 * did not bump: the reused checks since may have missed a change of it);
 * its baseline is then brought up to date (reported once). */
static const char *memo_crosscheck(struct oracle_cache *k, const struct oracle *o,
                                   const struct host *h)
{
    uint32_t live = live_mask(o);
    for (unsigned g = 0; g < MG_N; g++) {
        struct memo_grp *m = &k->grp[g];
        if (!grp_gens_same(m, g, o, h, live))
            continue;
        size_t len;
        if (!grp_serialise(m, g, o, h, live, &len)) {
            m->valid = false;
            continue;
        }
        if (len != m->baselen || memcmp(m->next, m->base, len)) {
            grp_keep(m, g, o, h, live, len);
            return memo_grp_name[g];
        }
    }
    return NULL;
}

/* Everything outside host memory the checks read, into the baseline;
 * true when it differs from the baseline (or there was none). */
static bool memo_inputs(struct oracle_cache *k, const struct oracle *o,
                        const struct host *h)
{
    struct ser s = { &k->next, &k->nextcap, 0, true };
    ser_add(&s, &h->nr_frames, sizeof h->nr_frames);
    ser_add(&s, &o->nr_frames, sizeof o->nr_frames);
    /* The per-frame arrays (h->frames, h->m2p, h->shr_handle; o->m2p,
     * xrefs, orphan, shr_handle, shr_sum) are not copied: their writers
     * mark the frames (hostmem_meta_mark(), oracle_mark_mfn()), and a
     * check with marks is never reused. */
    ser_add(&s, &o->shr_handle, sizeof o->shr_handle);
    ser_add(&s, &o->shr_npend, sizeof o->shr_npend);
    ser_add(&s, o->shr_pend, o->shr_npend * sizeof(o->shr_pend[0]));
    ser_add(&s, h->domains, sizeof h->domains);
    for (unsigned i = 0; i < SIM_MAX_DOMAINS; i++)
        if (h->domains[i])
            ser_domain(&s, h->domains[i]);
    /* which slots are live, as one mask (not a byte per slot), ahead of
     * those slots' domains: its place is kept here and filled in by the
     * loop that serialises them */
    uint32_t live = 0;
    size_t live_at = s.pos;
    ser_add(&s, &live, sizeof live);
    for (unsigned i = 0; i < ORACLE_MAX_DOMS; i++) {
        const struct oracle_dom *od = &o->doms[i];
        if (!od->live)
            continue;
        live |= UINT32_C(1) << i;
        /* The per-gfn arrays are not copied either: every write to them
         * marks the gfn (oracle_chunk_get(), od->gmark) or the domain
         * (gmark_all), and a check with marks is never reused. */
        ser_odom(&s, od);
    }
    /* the groups, each brought up to date (whatever the others say) */
    bool gdiff = false;
    for (unsigned g = 0; g < MG_N; g++)
        gdiff |= memo_group(k, g, o, h, live);
    if (!s.ok) {
        k->have_base = false;
        return true;
    }
    memcpy(k->next + live_at, &live, sizeof live);
    bool diff = gdiff || !k->have_base || s.pos != k->baselen ||
                memcmp(k->next, k->base, s.pos);
    /* the new serialisation becomes the baseline (equal or not) */
    uint8_t *t = k->base;
    size_t tc = k->basecap;
    k->base = k->next;
    k->basecap = k->nextcap;
    k->next = t;
    k->nextcap = tc;
    k->baselen = s.pos;
    k->have_base = true;
    return diff;
}


/* The watch set: the recorded frames sorted, each once (each table is
 * walked by compare and again by invariants). */
static void watch_finish(struct oracle_cache *k)
{
    size_t ns = k->nsorted, tail = k->nframes - ns;
    if (ns && tail <= 32) {
        /* a few new frames after a sorted set (rec_add() left out the
         * ones it had): each inserted in place */
        for (size_t t = ns; t < k->nframes; t++) {
            uint64_t m = k->frames[t];
            size_t at = 0, hi = ns;
            while (at < hi) {
                size_t mid = (at + hi) / 2;
                if (k->frames[mid] < m)
                    at = mid + 1;
                else
                    hi = mid;
            }
            if (at < ns && k->frames[at] == m)
                continue; /* twice in the tail */
            memmove(k->frames + at + 1, k->frames + at, (ns - at) * sizeof(*k->frames));
            k->frames[at] = m;
            ns++;
        }
        k->nframes = k->nsorted = ns;
        return;
    }
    if (k->nframes)
        sort_u64(k->frames, k->nframes);
    size_t o = 0;
    for (size_t i = 0; i < k->nframes; i++)
        if (!o || k->frames[o - 1] != k->frames[i])
            k->frames[o++] = k->frames[i];
    k->nframes = k->nsorted = o;
}

static bool watched(const struct oracle_cache *k, uint64_t m)
{
    return sorted_has(k->frames, k->nframes, m);
}

/* Did a frame the last computed check read change?  written: host
 * memory's change log since that check (SIZE_MAX: unknown, all may have). */
static bool watch_hit(const struct oracle_cache *k, const uint64_t *written,
                      size_t nwritten)
{
    if (nwritten == SIZE_MAX)
        return true;
    for (size_t i = 0; i < nwritten; i++)
        if (watched(k, written[i]))
            return true;
    return false;
}

void oracle_cache_free(struct oracle *o)
{
    if (!o->cache)
        return;
    free(o->cache->frames);
    free(o->cache->base);
    free(o->cache->next);
    for (unsigned g = 0; g < MG_N; g++) {
        free(o->cache->grp[g].base);
        free(o->cache->grp[g].next);
    }
    free(o->cache->fsh);
    free(o->cache->tab);
    free(o->cache->tablvl);
    free(o->cache->tabsnap);
    free(o->cache->set);
    free(o->cache->tabbase);
    free(o->cache->tabdom);
    free(o->cache->m2psh);
    free(o->cache->gl);
    free(o->cache->l1);
    for (unsigned i = 0; i < SIM_MAX_DOMAINS; i++) {
        free(o->cache->leaves[i].v);
        free(o->cache->ldl[i].base);
        free(o->cache->ldl[i].bm);
    }
    free(o->cache->td);
    free(o->cache->fstamp);
    free(o->cache->otab);
    free(o->cache->gh);
    free(o->cache->oshr);
    free(o->cache->oxrefs);
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

/* ---- the per-frame half, restricted to the frames that changed ------------- */

/*
 * After a clean check, the per-frame half of the checks (compare's M2P,
 * references and orphans, sharing's S1/S2, invariants' I2/I5 and the
 * I4/I6 frame counts) is a function of each frame's own state, except I2,
 * which looks the frame's gfn up in its owner's P2M.  So a check may
 * re-check only: the frames whose metadata the sim marked
 * (hostmem_meta_mark()), those the oracle marked (oracle_mark_mfn()), and
 * the frames named by EPT leaves that changed (old and new mfn), found by
 * comparing each written table with its copy from the last check (only
 * the 64-byte lines host memory logged as written since then:
 * hostmem_written_lines(); the others are as the copy has them), and
 * the written frames that are (or were) shared (S2: their bytes).  The
 * per-domain half is restricted too (restrict_doms(), below).  The
 * counts are the last ones with the changed frames' old contributions
 * (the copy of h->frames; for the sharing counters S5, copies of the
 * oracle's handles and xrefs) replaced.  It is not tried (the check runs
 * in full) when a log overflowed, the domain set or a domain's root or
 * size changed, a domain has NPT, or a table entry that changed is (or
 * was) a pointer to a table or a 1 GiB leaf.  It only ever concludes
 * "nothing to report": if anything reports, the check runs again in
 * full, so the reports and their order
 * are exactly the full check's; oracle_check_verify() at the end of a run
 * repeats the last restricted check in full.
 */

static bool tab_find(const struct oracle_cache *k, uint64_t m, size_t *at)
{
    size_t lo = 0, hi = k->ntab;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (k->tab[mid] == m) {
            *at = mid;
            return true;
        }
        if (k->tab[mid] < m)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

static unsigned tab_next_diff(const uint8_t *old, const uint8_t *cur, unsigned i);

/* The EPT levels of the recorded tables, walked from each root, with the
 * first gfn each maps and its domain slot. */
static void tab_levels(struct oracle_cache *k, unsigned slot, uint64_t mfn,
                       unsigned level, uint64_t base)
{
    size_t at;
    if (!tab_find(k, mfn, &at))
        return;
    if (k->tablvl[at]) {
        k->tabdom[at] = TAB_ALIAS;
        return;
    }
    k->tablvl[at] = (uint8_t)level;
    k->tabbase[at] = base;
    k->tabdom[at] = (uint8_t)slot;
    if (level == 1)
        return;
    /* the non-zero entries (tab_next_diff() against zeros: a table holds
     * a few among 512) */
    const uint8_t *t = k->tabsnap + at * PAGE_SIZE;
    for (unsigned i = tab_next_diff(t, NULL, 0); i < PAGE_SIZE / 8;
         i = tab_next_diff(t, NULL, i + 1)) {
        uint64_t e;
        memcpy(&e, t + 8 * i, sizeof e);
        if ((e & ORACLE_RWX) && !(e & 0x80))
            tab_levels(k, slot, ORACLE_EPTE_MFN(e), level - 1,
                       base + ((uint64_t)i << (9 * (level - 1))));
    }
}

/* The next slot of mask (its lowest set bit) (ctz), for the loops over the
 * live slots: SIM_MAX_DOMAINS when none. */
static unsigned next_slot(uint32_t mask)
{
    return mask ? (unsigned)__builtin_ctz(mask) : SIM_MAX_DOMAINS;
}

/* What the per-gfn compares of domain slot i read besides the gfns'
 * own entries, after a check. */
static void dom_state_save(struct oracle_cache *k, const struct oracle *o,
                           const struct host *h)
{
    for (unsigned i = 0; i < SIM_MAX_DOMAINS; i++) {
        const struct domain *d = h->domains[i];
        const struct oracle_dom *od = d ? oracle_dom_find(o, d->id) : NULL;
        /* a slot without both is all zeros: cleared only if it was set
         * (dst_set), not the whole array at every check */
        if (!d || !od) {
            if (k->dst_set >> i & 1)
                memset(&k->dst[i], 0, sizeof(k->dst[i]));
            k->dst_set &= ~(UINT32_C(1) << i);
            continue;
        }
        k->dst_set |= UINT32_C(1) << i;
        k->dst[i].pml_on = od->pml_on;
        k->dst[i].ioreq_write = od->ioreq_write;
        k->dst[i].ept_raw = d->ept_raw;
        memcpy(&k->dst[i].ld, &d->ld, sizeof(d->ld));
    }
    memcpy(k->dsv, k->dnew, sizeof(k->dsv));
}

/* dom_state_save() after a clean restricted check: the slots are the
 * ones the last full check saved (doms_same()), each with its flat
 * domain (k->od: compare_impl() reports a domain without one), and the
 * slots without a domain were zeroed then; so only the live slots'
 * fields are written, and their log_dirty only if restrict_doms() found
 * it changed (k->ld_diff). */
static void dom_state_follow(struct oracle_cache *k, const struct host *h)
{
    for (uint32_t m = k->live; m; m &= m - 1) {
        unsigned i = next_slot(m);
        const struct domain *d = h->domains[i];
        const struct oracle_dom *od = k->od[i];
        struct dom_state *ds = &k->dst[i];
        if (!od) { /* as dom_state_save(): never after a clean check */
            memset(ds, 0, sizeof(*ds));
            k->dst_set &= ~(UINT32_C(1) << i);
            k->dsv[i] = k->dnew[i];
            continue;
        }
        k->dst_set |= UINT32_C(1) << i;
        ds->pml_on = od->pml_on;
        ds->ioreq_write = od->ioreq_write;
        ds->ept_raw = d->ept_raw;
        if (k->ld_diff >> i & 1)
            memcpy(&ds->ld, &d->ld, sizeof(d->ld));
        k->dsv[i] = k->dnew[i];
    }
}

/* The domain keys of the last full check (restrict_save()), and live:
 * the slots that have one. */
static void dom_keys(const struct host *h, struct dom_key *dk, uint32_t *live,
                     const struct domain **dptr)
{
    memset(dk, 0, SIM_MAX_DOMAINS * sizeof(*dk));
    *live = 0;
    for (unsigned i = 0; i < SIM_MAX_DOMAINS; i++) {
        const struct domain *d = h->domains[i];
        dptr[i] = d;
        if (!d)
            continue;
        dk[i].d = d;
        dk[i].id = d->id;
        dk[i].max_gfn = d->max_gfn;
        dk[i].root = mfn_x(d->ept_root);
        *live |= UINT32_C(1) << i;
    }
}

/* May a check be restricted as far as the domains go: the same domains
 * in the same slots with the same id, size and root as at the last full
 * check, none with NPT (restricted checks read EPT entries)?  Compared
 * in place, field by field (building the keys and a memcmp() of the
 * array was a tenth of the restricted check's set-up). */
static bool doms_same(const struct oracle_cache *k, const struct host *h)
{
    /* the slots' domains (k->dptr: k->dom[].d in a row), then the live
     * slots' fields */
    if (memcmp(h->domains, k->dptr, sizeof(k->dptr)))
        return false;
    for (uint32_t m = k->live; m; m &= m - 1) {
        unsigned i = next_slot(m);
        const struct domain *d = h->domains[i];
        const struct dom_key *x = &k->dom[i];
        if (d->npt || d->id != x->id || d->max_gfn != x->max_gfn ||
            mfn_x(d->ept_root) != x->root)
            return false;
    }
    return true;
}

/* After a full check: the state the next restricted one starts from. */
static void restrict_save(struct oracle_cache *k, const struct oracle *orc,
                          const struct host *h)
{
    /* The last save's table levels may stand (below) if it completed and
     * the domains and their roots are the same. */
    bool was_ok = k->fsh_ok && doms_same(k, h);
    k->fsh_ok = false;
    if (k->nfsh != h->nr_frames) {
        free(k->fsh);
        k->fsh = malloc((h->nr_frames ? h->nr_frames : 1) * sizeof(*k->fsh));
        k->nfsh = k->fsh ? h->nr_frames : 0;
        if (!k->fsh)
            return;
    }
    memcpy(k->fsh, h->frames, h->nr_frames * sizeof(*k->fsh));
    dom_keys(h, k->dom, &k->live, k->dptr);
    /* the restricted checks' stamps: one per frame, all "not listed" */
    if (k->nfstamp != h->nr_frames) {
        free(k->fstamp);
        k->fstamp = calloc(h->nr_frames ? h->nr_frames : 1, sizeof(*k->fstamp));
        k->nfstamp = k->fstamp ? h->nr_frames : 0;
        k->fgen = 0;
        if (!k->fstamp)
            return;
    }
    /* the dead slots' restrictions stay zero until the next full check
     * (a restricted check needs the same domains: doms_same()) */
    memset(k->dr, 0, sizeof(k->dr));
    /* tables: sorted, unique, copied, levelled */
    if (k->ntab)
        sort_u64(k->tab, k->ntab);
    size_t o = 0;
    for (size_t i = 0; i < k->ntab; i++)
        if (!o || k->tab[o - 1] != k->tab[i])
            k->tab[o++] = k->tab[i];
    k->ntab = o;
    /* The same tables as the last save (k->otab), mostly: then tablvl,
     * tabdom, tabbase and the l1 index are the last ones, a function of
     * the roots and the copies' contents; they are recomputed below only
     * if a table that is not a leaf table now differs from its copy. */
    bool same_tabs = was_ok && o == k->notab && !memcmp(k->tab, k->otab, o * sizeof(*k->tab));
    if (!same_tabs) {
        if (!grow(&k->otab, &k->capotab, o))
            return;
        memcpy(k->otab, k->tab, o * sizeof(*k->tab));
        k->notab = o;
        uint8_t *lv = realloc(k->tablvl, o ? o : 1);
        if (!lv)
            return;
        k->tablvl = lv;
        uint8_t *td = realloc(k->tabdom, o ? o : 1);
        if (!td)
            return;
        k->tabdom = td;
        uint64_t *tb = realloc(k->tabbase, (o ? o : 1) * sizeof(*tb));
        if (!tb)
            return;
        k->tabbase = tb;
    }
    if (k->nm2psh != h->nr_frames) {
        free(k->m2psh);
        k->m2psh = malloc((h->nr_frames ? h->nr_frames : 1) * sizeof(*k->m2psh));
        k->nm2psh = k->m2psh ? h->nr_frames : 0;
        if (!k->m2psh)
            return;
    }
    memcpy(k->m2psh, h->m2p, h->nr_frames * sizeof(*k->m2psh));
    /* the oracle's sharing state per frame (its S5 shares) */
    if (k->noshr != orc->nr_frames) {
        free(k->oshr);
        free(k->oxrefs);
        k->oshr = malloc(orc->nr_frames ? orc->nr_frames : 1);
        k->oxrefs = malloc((orc->nr_frames ? orc->nr_frames : 1) * sizeof(*k->oxrefs));
        k->noshr = k->oshr && k->oxrefs ? orc->nr_frames : 0;
        if (!k->noshr)
            return;
    }
    if (!orc->shr_handle) /* nothing shared yet: no loop */
        memset(k->oshr, 0, orc->nr_frames);
    else
        for (uint64_t m = 0; m < orc->nr_frames; m++)
            k->oshr[m] = orc->shr_handle[m] != 0;
    memcpy(k->oxrefs, orc->xrefs, orc->nr_frames * sizeof(*k->oxrefs));
    if (o * PAGE_SIZE > k->capsnap) {
        uint8_t *x = realloc(k->tabsnap, o * PAGE_SIZE);
        if (!x)
            return;
        k->tabsnap = x;
        k->capsnap = o * PAGE_SIZE;
    }
    bool relevel = !same_tabs;
    for (size_t i = 0; i < o; i++) {
        const uint8_t *f = k->tab[i] < h->nr_frames
                               ? hostmem_frame_peek(h->mem, _mfn(k->tab[i])) : NULL;
        uint8_t *c = k->tabsnap + i * PAGE_SIZE;
        /* a copy equal to its table stays (a compare reads what a copy
         * writes, and a save mostly finds a table or two changed) */
        if (same_tabs && (f ? !memcmp(c, f, PAGE_SIZE)
                            : tab_next_diff(c, NULL, 0) == PAGE_SIZE / 8))
            continue;
        /* (tablvl is read only when the tables are the last save's: a
         * new list's levels are not set yet, and relevel is true then) */
        if (!relevel && k->tablvl[i] != 1)
            relevel = true; /* not a leaf table (or not reached) */
        if (f)
            memcpy(c, f, PAGE_SIZE);
        else
            memset(c, 0, PAGE_SIZE);
    }
    if (!relevel) {
        dom_state_save(k, orc, h);
        k->fsh_ok = true;
        return;
    }
    memset(k->tablvl, 0, o);
    for (unsigned i = 0; i < SIM_MAX_DOMAINS; i++)
        if (h->domains[i])
            tab_levels(k, i, mfn_x(h->domains[i]->ept_root), 4, 0);
    /* the leaf tables by domain slot and first gfn (dr_lookup()); a table
     * reached twice (TAB_ALIAS) is left out */
    k->nl1 = 0;
    if (o > 0xFFFFFF)
        return; /* more tables than the key's index holds */
    for (size_t i = 0; i < o; i++) {
        if (k->tablvl[i] != 1 || k->tabdom[i] >= SIM_MAX_DOMAINS)
            continue;
        if (!grow(&k->l1, &k->capl1, k->nl1 + 1))
            return;
        k->l1[k->nl1++] = (uint64_t)k->tabdom[i] << 56 | (k->tabbase[i] >> 9) << 24 | i;
    }
    if (k->nl1)
        sort_u64(k->l1, k->nl1);
    /* each slot's leaf tables: one run of k->l1 (keys sort by slot) */
    memset(k->l1_at, 0, sizeof(k->l1_at));
    memset(k->l1_n, 0, sizeof(k->l1_n));
    for (size_t i = 0; i < k->nl1;) {
        unsigned slot = (unsigned)(k->l1[i] >> 56);
        size_t j = i;
        while (j < k->nl1 && k->l1[j] >> 56 == slot)
            j++;
        k->l1_at[slot] = i;
        k->l1_n[slot] = j - i;
        i = j;
    }
    dom_state_save(k, orc, h);
    k->fsh_ok = true;
}

/* The first entry at or after i where a table's copy old and its bytes
 * cur (NULL: zeros) differ, PAGE_SIZE / 8 if none.  A written table mostly
 * differs in an entry or two, so the search narrows down: the entries up
 * to the next group of 8 one by one, the groups (64 bytes) up to the next
 * block of 64 entries with a memcmp() each, then the whole rest in one
 * memcmp() (after the last difference, the common case, the search ends
 * there), and only when it differs (or from entry 0) the blocks (512
 * bytes), the groups in the block and the entries in the group.  (Blocks from the start and
 * entries one by one inside a block that differs cost a third more: the
 * scan of up to 64 entries was half of it.) */
static unsigned tab_next_diff(const uint8_t *old, const uint8_t *cur, unsigned i)
{
    static const uint8_t zero[PAGE_SIZE];
    const unsigned n = PAGE_SIZE / 8;
    if (!cur)
        cur = zero;
    for (; i < n && (i & 7); i++)
        if (memcmp(old + 8 * i, cur + 8 * i, 8))
            return i;
    for (; i < n && (i & 63); i += 8)
        if (memcmp(old + 8 * i, cur + 8 * i, 64))
            goto group;
    if (i >= n || (i && !memcmp(old + 8 * i, cur + 8 * i, 8 * (n - i))))
        return n;
    /* i is a block's first entry; from entry 0 (a table's first
     * difference is mostly in its first block) the blocks are searched
     * without the compare of the rest, else a difference follows */
    while (!memcmp(old + 8 * i, cur + 8 * i, 512))
        if ((i += 64) >= n)
            return n;
    while (!memcmp(old + 8 * i, cur + 8 * i, 64))
        i += 8;
group: /* the group of 8 at i differs */
    while (!memcmp(old + 8 * i, cur + 8 * i, 8))
        i++;
    return i;
}

/* Lists frame m once in k->set: a frame this check listed already has
 * this check's stamp (k->fgen).  The set is unsorted: what reads it
 * (compare_impl()'s and inv_impl()'s frame passes, the S5 and I4/I6
 * count corrections, restrict_commit()) treats each frame on its own, and
 * a restricted check's reports are only counted, so their order is no
 * matter (the full check that follows a report has its own order). */
static bool set_add_new(struct oracle_cache *k, uint64_t m)
{
    if (k->nset == k->capset && !grow(&k->set, &k->capset, k->nset + 1))
        return false;
    k->fstamp[m] = k->fgen;
    k->set[k->nset++] = m;
    return true;
}

/*
 * A leaf entry e0 -> e1 of the table at k->tab[at] whose frame the
 * per-frame half need not re-check: in an EPT domain, both entries of
 * type ram_rw or ram_logdirty (a log-dirty toggle's or CLEAN's global
 * retype, p2m_change_entry_type_global(), or a logged write's
 * p2m_change_type_one()) naming the same frame.  The per-frame half of
 * frame m reads the frame's page_info, M2P entry, references, orphan and
 * sharing state (compare_frame_refs(), compare_shared_frame(),
 * inv_frame()), none of them in the entry, and the entry itself only in
 * I2, through the leaf at m2p[m] in the owner's P2M: that it is RAM
 * (p2m_is_ram(), both types are) and names m (the same mfn field, which
 * oracle_epte_decode() reads the same for either type).  So the frame's
 * reports are the last clean check's, unless the frame changed otherwise,
 * which its own marks (the sim's meta log, the oracle's mark_mfn(), a
 * write to a shared frame) put in the set anyway.  The entry's gfn is
 * still listed for the per-gfn half (restrict_doms(): k->td), where the
 * type, permissions, owner and I1 are compared.  A domain with raw entries
 * or NPT tables is left to the general rule.
 */
static bool leaf_retype_keeps_frame(const struct oracle_cache *k, const struct host *h,
                                    size_t at, uint64_t e0, uint64_t e1)
{
    unsigned slot = k->tabdom[at];
    const struct domain *d = slot < SIM_MAX_DOMAINS ? h->domains[slot] : NULL;
    if (!d || d->npt || d->ept_raw || ORACLE_EPTE_MFN(e0) != ORACLE_EPTE_MFN(e1))
        return false;
    unsigned t0 = (unsigned)((e0 & EPTE_P2MT_MASK) >> EPTE_P2MT_SHIFT);
    unsigned t1 = (unsigned)((e1 & EPTE_P2MT_MASK) >> EPTE_P2MT_SHIFT);
    return (t0 == p2m_ram_rw || t0 == p2m_ram_logdirty) &&
           (t1 == p2m_ram_rw || t1 == p2m_ram_logdirty);
}

/* (the test inline, at each caller: most frames are not in range, as a
 * non-present leaf's, or listed already) */
static inline bool set_add(struct oracle_cache *k, uint64_t m, uint64_t nr)
{
    return m >= nr || k->fstamp[m] == k->fgen || set_add_new(k, m);
}

/* Entry i of table at (level lvl) differs: e0 in its copy, e1 now.
 * Lists the change (k->td) and the frames it names; false: the check
 * cannot be restricted. */
static bool td_add(struct oracle_cache *k, const struct host *h, size_t at, unsigned lvl,
                   unsigned i, uint64_t e0, uint64_t e1, uint64_t nr)
{
    if (k->ntd == k->captd) {
        size_t cap = k->captd ? 2 * k->captd : 64;
        struct tab_diff *x = realloc(k->td, cap * sizeof(*x));
        if (!x)
            return false;
        k->td = x;
        k->captd = cap;
    }
    k->td[k->ntd++] = (struct tab_diff){ at, i, e0, e1 };
    if (lvl == 1 && leaf_retype_keeps_frame(k, h, at, e0, e1))
        return true; /* its frame's checks are unchanged */
    uint64_t e[2] = { e0, e1 };
    for (unsigned j = 0; j < 2; j++) {
        uint64_t mfn = ORACLE_EPTE_MFN(e[j]);
        if (lvl == 1) {
            /* a leaf, present or not: its frame changed hands */
            if (!set_add(k, mfn, nr))
                return false;
        } else if (e[j] & ORACLE_RWX) {
            /* a pointer, or a leaf too large to list */
            if (!(e[j] & 0x80) || lvl > 2)
                return false;
            for (uint64_t f = mfn; f < mfn + 512; f++)
                if (!set_add(k, f, nr))
                    return false;
        }
    }
    return true;
}

/* The frames a restricted check must see; false: it cannot be restricted. */
static bool restrict_set(struct oracle_cache *k, const struct oracle *o,
                         const struct host *h, const uint64_t *written,
                         size_t nwritten, const uint64_t *wlines,
                         const uint64_t *meta, size_t nmeta)
{
    uint64_t nr = h->nr_frames;
    k->nset = 0;
    k->ntd = 0;
    if (!k->fsh_ok || k->nfsh != nr || k->noshr != nr || o->nr_frames != nr ||
        k->nfstamp != nr || nwritten == SIZE_MAX || nmeta == SIZE_MAX ||
        o->mark_n == SIZE_MAX || !doms_same(k, h))
        return false;
    /* a new stamp: no frame listed yet (all stamps cleared once in 2^32) */
    if (++k->fgen == 0) {
        memset(k->fstamp, 0, nr * sizeof(*k->fstamp));
        k->fgen = 1;
    }
    for (size_t i = 0; i < nmeta; i++)
        if (!set_add(k, meta[i], nr))
            return false;
    for (size_t i = 0; i < o->mark_n; i++)
        if (!set_add(k, o->mark_list[i], nr))
            return false;
    for (size_t w = 0; w < nwritten; w++) {
        size_t at;
        uint64_t m = written[w];
        /* S2: a shared frame's bytes must not change */
        if (m < nr && (k->oshr[m] || (o->shr_handle && o->shr_handle[m]) ||
                       (h->shr_handle && h->shr_handle[m])) &&
            !set_add(k, m, nr))
            return false;
        if (!tab_find(k, written[w], &at))
            continue; /* not a table the walks read */
        unsigned lvl = k->tablvl[at];
        if (!lvl)
            return false;
        const uint8_t *old = k->tabsnap + at * PAGE_SIZE;
        const uint8_t *cur = hostmem_frame_peek(h->mem, _mfn(written[w]));
        uint64_t lines = wlines ? wlines[w] : ~UINT64_C(0);
        if (cur && ~lines) {
            /* Only the lines host memory saw written may differ: the
             * copy equals the table as of the last check (restrict_save()
             * or restrict_commit()) and every write since is in the log
             * (hostmem_written_lines()).  A sim EPT write is an entry or
             * two: a line or two of 64, each compared word by word. */
            for (; lines; lines &= lines - 1) {
                unsigned l = (unsigned)__builtin_ctzll(lines);
                for (unsigned i = 8 * l; i < 8 * l + 8; i++) {
                    uint64_t e0, e1;
                    memcpy(&e0, old + 8 * i, 8);
                    memcpy(&e1, cur + 8 * i, 8);
                    if (e0 != e1 && !td_add(k, h, at, lvl, i, e0, e1, nr))
                        return false;
                }
            }
            continue;
        }
        /* the whole table (zeroed, or handed out for writes through a
         * pointer) */
        for (unsigned i = tab_next_diff(old, cur, 0); i < PAGE_SIZE / 8;
             i = tab_next_diff(old, cur, i + 1)) {
            uint64_t e[2] = { 0, 0 };
            memcpy(&e[0], old + 8 * i, 8);
            if (cur)
                memcpy(&e[1], cur + 8 * i, 8);
            if (e[0] != e[1] && !td_add(k, h, at, lvl, i, e[0], e[1], nr))
                return false;
        }
    }
    return true;
}

/* After a clean restricted check: the saved state follows. */
static void restrict_commit(struct oracle_cache *k, const struct oracle *o,
                            const struct host *h, const uint64_t *written,
                            size_t nwritten)
{
    for (size_t i = 0; i < k->nset; i++) {
        k->fsh[k->set[i]] = h->frames[k->set[i]];
        k->m2psh[k->set[i]] = h->m2p[k->set[i]];
        k->oshr[k->set[i]] = o->shr_handle && o->shr_handle[k->set[i]];
        k->oxrefs[k->set[i]] = o->xrefs[k->set[i]];
    }
    dom_state_follow(k, h);
    /* (k->cnt was brought up to date in place by check_restricted()) */
    /* The copies of the written tables follow their bytes: restrict_set()
     * listed every entry where a copy and its table differ (k->td), and
     * the rest are equal, so writing those entries makes each copy equal
     * to its table (a 4 KiB copy per written table before). */
    for (size_t j = 0; j < k->ntd; j++)
        memcpy(k->tabsnap + k->td[j].at * PAGE_SIZE + 8 * k->td[j].i, &k->td[j].e1, 8);
}

/* Forgets the marks of this check: the frames' and, in the oracle domains
 * of gmask (gfn_marks(), taken at the start of the check: the checks make
 * no marks), the gfns'. */
static void oracle_marks_clear(struct oracle *o, uint32_t gmask)
{
    if (o->mark_n == SIZE_MAX) {
        if (o->mark_bits)
            memset(o->mark_bits, 0, (o->nr_frames + 63) / 64 * sizeof(uint64_t));
    } else {
        for (size_t i = 0; i < o->mark_n; i++)
            o->mark_bits[o->mark_list[i] >> 6] &= ~(UINT64_C(1) << (o->mark_list[i] & 63));
    }
    o->mark_n = 0;
    /* (only domains with marks: the call does nothing for the others) */
    for (; gmask; gmask &= gmask - 1)
        oracle_gfn_marks_clear(&o->doms[__builtin_ctz(gmask)]);
}

/* The oracle domains in which an op wrote a gfn of the flat model since
 * the last check, a bit each (one pass for the test and the clear). */
static uint32_t gfn_marks(const struct oracle *o)
{
    _Static_assert(ORACLE_MAX_DOMS <= 32, "gfn_marks() has a bit per oracle domain");
    uint32_t m = 0;
    /* only the live slots (o->live_mask, kept by oracle_op_domain_create()
     * and destroy): this runs at every check, reused ones too, and the 16
     * slots' test was a tenth of a reused check's cost */
    for (uint32_t l = o->live_mask; l; l &= l - 1) {
        unsigned i = (unsigned)__builtin_ctz(l);
        if (o->doms[i].gmark_n || o->doms[i].gmark_all)
            m |= UINT32_C(1) << i;
    }
    return m;
}

/* Room in k->gh for the n gfns of one slot at most half full: a power of
 * two, grown (zeroed: every stamp older than ggen) when too small. */
static bool gh_room(struct oracle_cache *k, size_t n)
{
    if (2 * n <= k->capgh)
        return true;
    size_t c = k->capgh ? k->capgh : 64;
    while (c < 2 * n)
        c *= 2;
    struct gfn_stamp *x = calloc(c, sizeof(*x));
    if (!x)
        return false;
    free(k->gh);
    k->gh = x;
    k->capgh = c;
    k->ggen = 0;
    return true;
}

/* Lists gfn g for the slot being filled (k->ggen) once: a gfn already in
 * k->gh with this stamp was listed.  Linear probing; gh_room() keeps the
 * table at most half full.  (Sorting the list and dropping duplicates
 * was a twentieth of the restricted check; the gfns' order is no matter,
 * see set_add().) */
static bool gl_add(struct oracle_cache *k, uint64_t g)
{
    size_t mask = k->capgh - 1;
    for (size_t i = (size_t)((g * 0x9E3779B97F4A7C15ULL) >> 32) & mask;;
         i = (i + 1) & mask) {
        struct gfn_stamp *e = &k->gh[i];
        if (e->gen != k->ggen) {
            e->g = g;
            e->gen = k->ggen;
            break;
        }
        if (e->g == g)
            return true;
    }
    if (!grow(&k->gl, &k->capgl, k->ngl + 1))
        return false;
    k->gl[k->ngl++] = g;
    return true;
}

/*
 * The per-domain half of a restricted check (see "the per-frame half"
 * above for the rest): after a clean check, the P2M compare and I1 of a
 * gfn are a function of its EPT leaf, its flat-model entry, the frame
 * metadata and M2P entry of the frame it names, and a few domain fields
 * (dom_state: PML on, ioreq claims writes, raw entries).  So, for each
 * domain, they run on: the gfns under table entries that changed (level-1
 * entries of written tables, diffed against the copies), the gfns the
 * oracle wrote (od->gmark), and for each frame of the per-frame set the
 * gfn its M2P named at the last check, in the domain that owned it then
 * (and in any domain with raw entries) -- a clean check proved that a RAM
 * gfn's frame is its domain's and has the gfn as M2P, so no other
 * unchanged gfn reads that frame.  The counts (RAM and ioreq_server gfns) are the last ones plus
 * the marked gfns' differences; the table count stays (no pointer
 * changed: restrict_set()).  A domain runs in full when a 2 MiB leaf
 * changed, the oracle rewrote gfns wholesale or a dom_state field
 * changed.  Its dirty-log compare and I3/I4 run in full when a watched
 * frame other than an EPT table (a log-dirty frame) was written, its
 * struct log_dirty changed or a marked gfn's dirty bit changed; else the
 * last totals stand.  oracle_check_skip_gfns() (mutant
 * check_skip_gfn_mark) drops the changed tables' and the oracle's gfns.
 * dr[] points into k->gl.
 */
static bool restrict_doms(struct oracle_cache *k, const struct oracle *o,
                          const struct host *h, const uint64_t *written,
                          size_t nwritten, struct dom_restrict *dr)
{
    bool skip = o->chk_skip_gfns, ld_any = false;
    k->ngl = 0;
    k->ld_diff = 0;
    /* the live slots afresh (the others are zero since restrict_save():
     * compare_impl() and inv_impl() read only the slots with a domain),
     * each with its run of leaf tables */
    for (uint32_t m = k->live; m; m &= m - 1) {
        unsigned i = next_slot(m);
        k->drm[i].ok = false;
        dr[i] = (struct dom_restrict){ .l1 = k->nl1 ? k->l1 + k->l1_at[i] : NULL,
                                       .nl1 = k->l1_n[i], .tab = k->tab,
                                       .memo = &k->drm[i] };
    }
    for (size_t w = 0; w < nwritten; w++) {
        size_t at;
        if (!tab_find(k, written[w], &at)) {
            ld_any |= watched(k, written[w]);
            continue;
        }
        if (k->tabdom[at] >= SIM_MAX_DOMAINS)
            return false;
    }
    /* the written tables' changed entries, as restrict_set() found them:
     * a 2 MiB leaf changed (its domain in full); the level-1 entries'
     * gfns are listed per slot below */
    size_t nleaf = 0;
    /* the slots with a changed level-1 entry (slot < SIM_MAX_DOMAINS: the
     * loop above), so that the per-slot listing below passes the diffs of
     * a slot without any (most checks change one domain) */
    uint32_t leaf_slots = 0;
    for (size_t j = 0; j < k->ntd; j++) {
        size_t at = k->td[j].at;
        unsigned lvl = k->tablvl[at], slot = k->tabdom[at];
        uint64_t e0 = k->td[j].e0, e1 = k->td[j].e1;
        if (lvl == 1) {
            nleaf++;
            leaf_slots |= UINT32_C(1) << slot;
        } else if (((e0 & ORACLE_RWX) && (e0 & EPTE_SP)) ||
                 ((e1 & ORACLE_RWX) && (e1 & EPTE_SP)))
            dr[slot].full = true;
    }
    /* A re-checked frame that is (or was) shared may be named by any
     * number of gfns, which its M2P does not tell: every domain in full. */
    bool shared = false;
    for (size_t j = 0; j < k->nset && !shared; j++) {
        uint64_t m = k->set[j];
        shared = k->m2psh[m] == SHARED_M2P_ENTRY || h->m2p[m] == SHARED_M2P_ENTRY ||
                 o->m2p[m] == SHARED_M2P_ENTRY;
    }
    /* each live slot's gfns: one run of k->gl (offsets first: gl may
     * move while it grows) */
    size_t at[SIM_MAX_DOMAINS];
    for (uint32_t mk = k->live; mk; mk &= mk - 1) {
        unsigned i = next_slot(mk);
        const struct domain *d = h->domains[i];
        const struct oracle_dom *od = oracle_dom_find(o, d->id);
        const struct dom_state *ds = &k->dst[i];
        k->od[i] = dr[i].od = od;
        at[i] = k->ngl;
        if (shared)
            dr[i].full = true;
        if (!od || od->gmark_all || d->npt || od->pml_on != ds->pml_on ||
            od->ioreq_write != ds->ioreq_write || d->ept_raw != ds->ept_raw)
            dr[i].full = dr[i].ld_full = true;
        if (ld_any || memcmp(&d->ld, &ds->ld, sizeof(d->ld))) {
            dr[i].ld_full = true;
            k->ld_diff |= UINT32_C(1) << i;
        }
        size_t ng = od && !od->gmark_all ? od->gmark_n : 0;
        if (!gh_room(k, nleaf + ng + k->nset))
            return false;
        if (++k->ggen == 0) { /* once in 2^32: every stamp cleared */
            memset(k->gh, 0, k->capgh * sizeof(*k->gh));
            k->ggen = 1;
        }
        for (size_t j = 0; !skip && (leaf_slots >> i & 1) && j < k->ntd; j++) {
            size_t t = k->td[j].at;
            if (k->tablvl[t] == 1 && k->tabdom[t] == i &&
                !gl_add(k, k->tabbase[t] + k->td[j].i))
                return false;
        }
        for (size_t j = 0; j < ng; j++) {
            const struct oracle_gmark *gm = &od->gmark[j];
            if (!skip && !gl_add(k, gm->g))
                return false;
            if (oracle_test_dirty(od, gm->g) != gm->dirty)
                dr[i].ld_full = true;
        }
        /* The gfn each re-checked frame's M2P named, in the domain that
         * owned the frame then (k->fsh) and in a domain with raw entries.
         * A gfn's compares read a frame's metadata and M2P only through
         * a RAM leaf (gfn_frame(): the model's type; inv_leaf(): the
         * sim's); for a gfn that is not raw the last clean check proved
         * both types equal, the mfns equal (compare_gfn()) and the frame
         * the domain's (gfn_frame(): owner == d, or dom_cow when shared,
         * which runs every domain in full above).  So in another domain
         * without raw entries no gfn whose own entries are unchanged
         * (the changed ones are listed above) reads the frame.  A raw gfn
         * is not compared, only I1 (m2p[mfn] == gfn: the same gfn) holds
         * for it, whoever owns the frame. */
        bool any_owner = !od || d->ept_raw || od->raw || od->nraw_hi;
        for (size_t j = 0; j < k->nset; j++) {
            uint64_t m = k->set[j], g = k->m2psh[m];
            if (g != INVALID_M2P_ENTRY && g != SHARED_M2P_ENTRY &&
                g <= ORACLE_EPT_GFN_MASK && (any_owner || k->fsh[m].owner == d->id) &&
                !gl_add(k, g))
                return false;
        }
    }
    for (uint32_t mk = k->live; mk; mk &= mk - 1) {
        unsigned i = next_slot(mk);
        size_t end = mk & (mk - 1) ? at[next_slot(mk & (mk - 1))] : k->ngl;
        dr[i].gfns = end > at[i] ? k->gl + at[i] : NULL;
        dr[i].ngfns = end - at[i];
    }
    return true;
}

/* After a clean check (every compare it skipped would have found its
 * part as the one before it found it, clean): the parts of the slots in
 * live (those with a sim domain) stand compared at the counters now.
 * ods: each slot's oracle domain (NULL: look it up). */
static void cgen_keep(struct oracle_cache *k, const struct oracle *o,
                      const struct host *h, const struct oracle_dom *const *ods,
                      uint32_t live)
{
    k->cgen_ok = 0;
    for (; live; live &= live - 1) {
        unsigned i = (unsigned)__builtin_ctz(live);
        const struct oracle_dom *od = ods ? ods[i] : oracle_dom_find(o, h->domains[i]->id);
        if (!od)
            continue;
        k->cgen[i][MG_PAGING] = (struct clean_gen){ h->gen_paging, od->gen_paging };
        k->cgen[i][MG_MONITOR] = (struct clean_gen){ h->gen_monitor, od->gen_monitor };
        k->cgen_od[i] = od;
        k->cgen_ok |= UINT32_C(1) << i;
    }
}

/* The restricted check: true when it proved that the full check reports
 * nothing (then the caller returns 0). */
static bool check_restricted(struct oracle *o, const struct host *h,
                             struct oracle_cache *k, const uint64_t *written,
                             size_t nwritten, const uint64_t *wlines,
                             const uint64_t *meta, size_t nmeta)
{
    struct dom_restrict *dr = k->dr;
    if (!restrict_set(k, o, h, written, nwritten, wlines, meta, nmeta) ||
        !restrict_doms(k, o, h, written, nwritten, dr))
        return false;
    /* the parts whose counters stand where the last clean check left
     * them (k->od: restrict_doms()'s oracle domains of the live slots) */
    for (uint32_t m = k->live & k->cgen_ok; m; m &= m - 1) {
        unsigned i = next_slot(m);
        const struct oracle_dom *od = k->od[i];
        dr[i].same_sim_paging = k->cgen[i][MG_PAGING].h == h->gen_paging;
        if (!od || od != k->cgen_od[i])
            continue;
        dr[i].same_paging = dr[i].same_sim_paging &&
                            k->cgen[i][MG_PAGING].o == od->gen_paging;
        dr[i].same_monitor = k->cgen[i][MG_MONITOR].h == h->gen_monitor &&
                             k->cgen[i][MG_MONITOR].o == od->gen_monitor;
    }
    /* I4/I6: the counts of the last check in place, without the
     * re-checked frames' old shares (inv_impl() adds the new ones).  If
     * this check fails, the full check that follows recounts k->cnt from
     * zero (a copy to work on was a tenth of the set-up). */
    struct inv_counts *cnt = &k->cnt;
    for (size_t i = 0; i < k->nset; i++) {
        const struct page_info *pg = &k->fsh[k->set[i]];
        if (pg->use != PGU_P2M && pg->use != PGU_LOGDIRTY)
            continue;
        unsigned slot = dom_slot(h, k->live, pg->owner);
        if (slot >= SIM_MAX_DOMAINS)
            continue;
        if (pg->use == PGU_P2M)
            cnt->p2m_frames[slot]--;
        else
            cnt->ld_frames[slot]--;
    }
    struct hash_sink hs = { NULL, NULL, HASH_INIT };
    /* The watch set stays (the tables and dirty-log frames skipped here
     * are unchanged); what this check reads joins it. */
    k->oom = false;
    k->rec_tab = false;
    leaf_logs_reset(k, k->live);
    cur_rec = k;
    /* S5: the last counts without the re-checked frames' old shares */
    int64_t shr_tot[2] = { k->shr_tot[0], k->shr_tot[1] };
    for (size_t i = 0; i < k->nset; i++)
        if (k->oshr[k->set[i]]) {
            shr_tot[0]--;
            shr_tot[1] -= (int64_t)k->oxrefs[k->set[i]] - 1;
        }
    unsigned n = compare_impl(o, h, hash_report, &hs, k->set, k->nset, dr, k->live, k->dsv,
                              k->dnew, shr_tot);
    n += inv_impl(h, hash_report, &hs, k->set, k->nset, cnt, dr, k->dsv, k->dnew, k->live);
    cur_rec = NULL;
    watch_finish(k);
    if (n || k->oom) {
        k->cgen_ok = 0;
        return false;
    }
    restrict_commit(k, o, h, written, nwritten);
    cgen_keep(k, o, h, k->od, k->live);
    k->shr_tot[0] = shr_tot[0];
    k->shr_tot[1] = shr_tot[1];
    return true;
}

/* memo_crosscheck() as a report: oracle.memo.<group>. */
static unsigned memo_report(struct oracle_cache *k, const struct oracle *o,
                            const struct host *h, oracle_report_fn report, void *ctx)
{
    const char *g = memo_crosscheck(k, o, h);
    if (!g)
        return 0;
    struct oracle_reporter r = { report, ctx, 0 };
    oracle_report(&r, "as its change counters say: unchanged", "changed",
                  "oracle.memo.%s", g);
    return oracle_report_done(&r);
}

unsigned oracle_check(struct oracle *o, const struct host *h, bool full,
                      const uint64_t *written, size_t nwritten,
                      const uint64_t *wlines,
                      const uint64_t *meta, size_t nmeta,
                      oracle_report_fn report, void *ctx)
{
    if (!o->cache)
        o->cache = calloc(1, sizeof(*o->cache));
    struct oracle_cache *k = o->cache;
    bool mem_changed = !k || watch_hit(k, written, nwritten);
    uint32_t gmask = gfn_marks(o);
    bool marked = nmeta || o->mark_n || gmask;
    /* The baseline is compared (and brought up to date) only when it can
     * decide: no watched frame changed, no frame marked, and the last
     * check was clean. */
    bool compared = false;
    if (k && !full && !mem_changed && !marked && k->clean && k->base_current) {
        compared = true;
        if (!memo_inputs(k, o, h)) {
            k->last_reused = true;
            k->last_hash = HASH_INIT; /* no reports */
            /* (no marks to clear: !marked) */
            o->chk_stats.skipped++;
            return 0;
        }
    }
    bool pend = o->shr_npend != 0;
    if (k && !full && k->clean &&
        check_restricted(o, h, k, written, nwritten, wlines, meta, nmeta)) {
        o->shr_npend = 0;
        /* (the checks make no marks: none to clear unless there were) */
        if (marked)
            oracle_marks_clear(o, gmask);
        if (compared)
            k->base_current = k->have_base;
        else if (!mem_changed && !pend) {
            memo_inputs(k, o, h);
            k->base_current = k->have_base;
        } else
            k->base_current = false;
        k->last_reused = true;
        k->last_hash = HASH_INIT;
        o->chk_stats.restricted++;
        return 0;
    }
    o->chk_stats.full++;
    struct hash_sink hs = { report, ctx, HASH_INIT };
    if (k) {
        k->nframes = k->nsorted = 0;
        k->ntab = 0;
        k->oom = false;
        k->rec_tab = true;
        leaf_logs_reset(k, ALL_SLOTS);
        cur_rec = k;
    }
    /* The memo's change counters are cross-checked at the full checks
     * (the engine's periodic ones): a part they call unchanged must be. */
    unsigned n = k && full ? memo_report(k, o, h, hash_report, &hs) : 0;
    n += compare_impl(o, h, hash_report, &hs, NULL, 0, NULL, 0, NULL,
                      k ? k->dnew : NULL, k ? k->shr_tot : NULL);
    n += inv_impl(h, hash_report, &hs, NULL, 0, k ? &k->cnt : NULL, NULL, NULL,
                  k ? k->dnew : NULL, live_slots(h));
    cur_rec = NULL;
    /* Copies made by unsharing are checked in the step that made them. */
    o->shr_npend = 0;
    oracle_marks_clear(o, gmask);
    if (k) {
        watch_finish(k);
        k->clean = n == 0 && !k->oom;
        if (k->clean) {
            restrict_save(k, o, h);
            cgen_keep(k, o, h, NULL, live_slots(h));
        } else {
            k->fsh_ok = false;
            k->cgen_ok = 0;
        }
        /* The baseline must hold this check's inputs: compared above, it
         * does; otherwise it is built now, unless the check changed one
         * (it clears shr_npend) or the tables just changed (see above). */
        if (compared)
            k->base_current = k->have_base;
        else if (k->clean && !mem_changed && !pend) {
            memo_inputs(k, o, h);
            k->base_current = k->have_base;
        } else
            k->base_current = false;
        k->last_reused = false;
        k->last_hash = hs.h;
    }
    return n;
}

void oracle_check_skip_gfns(struct oracle *o, bool on) { o->chk_skip_gfns = on; }

void oracle_check_stats(const struct oracle *o, struct oracle_check_stats *out)
{
    *out = o->chk_stats;
}

unsigned oracle_check_verify(struct oracle *o, const struct host *h,
                             oracle_report_fn report, void *ctx)
{
    if (!o->cache)
        return 0;
    /* the memo's change counters, once more at the end */
    unsigned bad = memo_report(o->cache, o, h, report, ctx);
    if (!o->cache->last_reused)
        return bad;
    struct hash_sink hs = { NULL, NULL, HASH_INIT };
    oracle_compare(o, h, hash_report, &hs);
    oracle_invariants(h, hash_report, &hs);
    if (hs.h == o->cache->last_hash)
        return bad;
    struct oracle_reporter r = { report, ctx, 0 };
    oracle_report(&r, "the full check's reports", "other reports",
                  "oracle.incremental");
    return bad + oracle_report_done(&r);
}
