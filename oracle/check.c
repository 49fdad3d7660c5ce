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
 *        the history, is compare's d<id>.ld.dirty_count.
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
 *        frame[<mfn>].count (1 + foreign references)
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

/* ---- oracle_compare ------------------------------------------------------------- */

/* The sim's P2M of one domain, decoded over [0, max_gfn). */
struct p2m_view {
    struct oracle_reporter *r;
    domid_t id;
    uint64_t max_gfn;
    uint8_t *type;
    uint64_t *mfn;
    uint8_t *perm;
    uint8_t *order;
    uint8_t *access;
};

static void view_leaf(void *ctx, uint64_t gfn, uint64_t e, unsigned order)
{
    struct p2m_view *v = ctx;
    struct oracle_epte x;
    char b1[16];
    oracle_epte_decode(e, &x);
    if (gfn < v->max_gfn) {
        v->type[gfn] = (uint8_t)x.type;
        v->mfn[gfn] = x.mfn;
        v->perm[gfn] = (uint8_t)x.perm;
        v->order[gfn] = (uint8_t)order;
        v->access[gfn] =
            (uint8_t)((e & EPTE_ACCESS_MASK) >> EPTE_ACCESS_SHIFT);
        return;
    }
    /* Nothing may be mapped outside [0, max_gfn). */
    if (x.type != p2m_mmio_dm || x.perm)
        oracle_report(v->r, "mmio_dm", oracle_type_name(x.type, b1),
                      "d%u.p2m[%#" PRIx64 "].type", v->id, gfn);
}

static void view_bad(void *ctx, uint64_t gfn, unsigned level, const char *what,
                     uint64_t entry)
{
    struct p2m_view *v = ctx;
    char b[24];
    oracle_report(v->r, what, oracle_hex(entry, b),
                  "d%u.ept.l%u[gfn %#" PRIx64 "]", v->id, level + 1, gfn);
}

static void compare_p2m(const struct oracle *o, const struct host *h,
                        const struct domain *d, const struct oracle_dom *od,
                        struct oracle_reporter *r)
{
    uint64_t n = od->max_gfn ? od->max_gfn : 1;
    struct p2m_view v = { r, od->id, od->max_gfn, malloc(n),
                          malloc(n * sizeof(uint64_t)), calloc(n, 1),
                          calloc(n, 1), calloc(n, 1) };
    if (!v.type || !v.mfn || !v.perm || !v.order || !v.access)
        goto out;
    for (uint64_t g = 0; g < od->max_gfn; g++) {
        v.type[g] = p2m_mmio_dm; /* a missing entry */
        v.mfn[g] = mfn_x(INVALID_MFN);
    }
    struct oracle_ept_visit vis = { view_leaf, view_bad, &v };
    oracle_ept_walk(h, d->ept_root, &vis);

    for (uint64_t g = 0; g < od->max_gfn; g++) {
        char e1[24], a1[24];
        unsigned xt = od->type[g], xp = oracle_gfn_perms(od, g);
        if (v.type[g] != xt)
            oracle_report(r, oracle_type_name(xt, e1),
                          oracle_type_name(v.type[g], a1),
                          "d%u.p2m[%#" PRIx64 "].type", od->id, g);
        if (v.mfn[g] != od->mfn[g])
            oracle_report(r, oracle_hex(od->mfn[g], e1),
                          oracle_hex(v.mfn[g], a1),
                          "d%u.p2m[%#" PRIx64 "].mfn", od->id, g);
        if (v.perm[g] != xp)
            oracle_report(r, oracle_perm_name(xp), oracle_perm_name(v.perm[g]),
                          "d%u.p2m[%#" PRIx64 "].perm", od->id, g);
        if (v.order[g] != od->order[g])
            oracle_report(r, u64s(od->order[g], e1), u64s(v.order[g], a1),
                          "d%u.p2m[%#" PRIx64 "].order", od->id, g);
        /* The stored access of an entry that holds something (an empty
         * entry has none: ept_get_entry() answers n). */
        if ((xt != p2m_mmio_dm || od->mfn[g] != mfn_x(INVALID_MFN)) &&
            v.access[g] != od->access[g])
            oracle_report(r, u64s(od->access[g], e1), u64s(v.access[g], a1),
                          "d%u.p2m[%#" PRIx64 "].access", od->id, g);
        /* The frame behind a RAM gfn is the domain's guest page. */
        uint64_t m = od->mfn[g];
        if (p2m_is_ram(xt) && m < h->nr_frames) {
            if (h->frames[m].owner != od->id)
                oracle_report(r, u64s(od->id, e1),
                              u64s(h->frames[m].owner, a1),
                              "frame[%#" PRIx64 "].owner", m);
            if (h->frames[m].use != PGU_GUEST)
                oracle_report(r, u64s(PGU_GUEST, e1),
                              u64s(h->frames[m].use, a1),
                              "frame[%#" PRIx64 "].use", m);
        }
    }
out:
    free(v.type);
    free(v.mfn);
    free(v.perm);
    free(v.order);
    free(v.access);
}

struct dirty_view {
    uint64_t max_gfn;
    uint8_t *bits; /* [(max_gfn + 7) / 8] */
};

static void dirty_leaf(void *ctx, uint64_t base, const uint8_t *bm)
{
    struct dirty_view *v = ctx;
    if (!bm || base >= v->max_gfn)
        return;
    for (uint64_t i = 0; i < (PAGE_SIZE << 3) && base + i < v->max_gfn; i++)
        if (bm[i / 8] >> (i % 8) & 1)
            v->bits[(base + i) / 8] |= (uint8_t)(1u << ((base + i) % 8));
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
    struct dirty_view v = { od->max_gfn, calloc((od->max_gfn + 7) / 8 + 1, 1) };
    if (!v.bits)
        return;
    struct oracle_ld_visit vis = { dirty_leaf, dirty_bad, &v };
    oracle_ld_walk(h, d->ld.top, &vis);
    for (uint64_t g = 0; g < od->max_gfn; g++) {
        bool a = v.bits[g / 8] >> (g % 8) & 1, x = oracle_test_dirty(od, g);
        if (a != x)
            oracle_report(r, dirty_name(x), dirty_name(a),
                          "d%u.dirty[%#" PRIx64 "]", od->id, g);
    }
    free(v.bits);
    uint64_t xc = od->dirty_count;
    if (d->ld.dirty_count != xc)
        oracle_report(r, u64s(xc, e1), u64s(d->ld.dirty_count, a1),
                      "d%u.ld.dirty_count", od->id);
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
        oracle_compare_paging(d, od, &r);
        uint64_t ram = od->pod_count; /* PoD cache pages are the domain's */
        for (uint64_t g = 0; g < od->max_gfn; g++)
            ram += p2m_is_ram(od->type[g]) && od->mfn[g] != mfn_x(INVALID_MFN);
        /* The ioreq server mapping and its entry count. */
        uint64_t nioreq = 0;
        for (uint64_t g = 0; g < od->max_gfn; g++)
            nioreq += od->type[g] == p2m_ioreq_server;
        if (d->ioreq.entry_count != nioreq)
            oracle_report(&r, u64s(nioreq, e1), u64s(d->ioreq.entry_count, a1),
                          "d%u.ioreq.entry_count", od->id);
        if (d->ioreq.mapped != od->ioreq_mapped || d->ioreq.write != od->ioreq_write)
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
     * reference plus one per foreign mapping. */
    for (uint64_t m = 0; m < n; m++)
        if (h->frames[m].use == PGU_GUEST && h->frames[m].count != 1 + o->xrefs[m])
            oracle_report(&r, u64s(1 + o->xrefs[m], e1),
                          u64s(h->frames[m].count, a1), "frame[%#" PRIx64 "].count", m);
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
    oracle_epte_decode(e, &x);
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
    if (c->h->m2p[x.mfn] != gfn)
        oracle_report(c->r, oracle_hex(gfn, e1), oracle_hex(c->h->m2p[x.mfn], a1),
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
    for (unsigned i = 0; i < PAGE_SIZE; i++)
        c->dirty_bits += (uint64_t)__builtin_popcount(bm[i]);
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
            if (!od) {
                oracle_report(&r, "a live domain", u64s(pg->owner, a1),
                              "I2 frame[%#" PRIx64 "].owner", m);
                break;
            }
            if (gfn == INVALID_M2P_ENTRY)
                break;
            {
                struct oracle_epte x;
                oracle_epte_decode(gfn < od->max_gfn
                                       ? oracle_ept_lookup(h, od->ept_root, gfn)
                                       : 0,
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
        struct oracle_ept_visit ev = { inv_leaf, inv_ept_bad, &c };
        unsigned tables = oracle_ept_walk(h, d->ept_root, &ev);
        if (tables != d->p2m_pages || d->p2m_pages != p2m_frames[i]) {
            char got[64];
            snprintf(got, sizeof got, "tables=%u pgu_p2m=%" PRIu64, tables,
                     p2m_frames[i]);
            oracle_report(&r, u64s(d->p2m_pages, e1), got, "I6 d%u.p2m_pages",
                          d->id);
        }

        /* I3, I4. */
        struct oracle_ld_visit lv = { inv_ld_leaf, inv_ld_bad, &c };
        unsigned frames = oracle_ld_walk(h, d->ld.top, &lv);
        if (d->ld.dirty_count < c.dirty_bits) {
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
