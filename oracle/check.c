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
};

static void view_leaf(void *ctx, uint64_t gfn, uint64_t e)
{
    struct p2m_view *v = ctx;
    struct oracle_epte x;
    char b1[16];
    oracle_epte_decode(e, &x);
    if (gfn < v->max_gfn) {
        v->type[gfn] = (uint8_t)x.type;
        v->mfn[gfn] = x.mfn;
        v->perm[gfn] = (uint8_t)x.perm;
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

/* The decode cache of one domain (see oracle_check() below); NULL: decode
 * from memory now. */
struct dom_cache;
static const uint64_t *cache_raw(const struct dom_cache *c);
static const uint8_t *cache_bits(const struct dom_cache *c);
static unsigned cache_tables(const struct dom_cache *c);
static unsigned cache_ld_frames(const struct dom_cache *c);
static uint64_t cache_ld_bits(const struct dom_cache *c);

static void compare_p2m(const struct oracle *o, const struct host *h,
                        const struct domain *d, const struct oracle_dom *od,
                        struct oracle_reporter *r, const struct dom_cache *c)
{
    uint64_t n = od->max_gfn ? od->max_gfn : 1;
    struct p2m_view v = { r, od->id, od->max_gfn, malloc(n),
                          malloc(n * sizeof(uint64_t)), calloc(n, 1) };
    if (!v.type || !v.mfn || !v.perm)
        goto out;
    for (uint64_t g = 0; g < od->max_gfn; g++) {
        v.type[g] = p2m_mmio_dm; /* a missing entry */
        v.mfn[g] = mfn_x(INVALID_MFN);
    }
    if (c) {
        /* The same leaves the walk would find, in the same (gfn) order; a
         * cached decode had no structural fault and no leaf out of range. */
        const uint64_t *raw = cache_raw(c);
        for (uint64_t g = 0; g < od->max_gfn; g++)
            if (raw[g])
                view_leaf(&v, g, raw[g]);
    } else {
        struct oracle_ept_visit vis = { view_leaf, view_bad, &v, NULL };
        oracle_ept_walk(h, d->ept_root, &vis);
    }

    for (uint64_t g = 0; g < od->max_gfn; g++) {
        char e1[24], a1[24];
        unsigned xt = od->type[g], xp = oracle_type_perms(xt);
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
                             struct oracle_reporter *r, const struct dom_cache *c)
{
    char e1[24], a1[24];
    if (d->ld.enabled != od->ld_enabled)
        oracle_report(r, od->ld_enabled ? "on" : "off",
                      d->ld.enabled ? "on" : "off", "d%u.ld.enabled", od->id);
    struct dirty_view v = { od->max_gfn, calloc((od->max_gfn + 7) / 8 + 1, 1) };
    if (!v.bits)
        return;
    if (c) {
        memcpy(v.bits, cache_bits(c), (od->max_gfn + 7) / 8);
    } else {
        struct oracle_ld_visit vis = { dirty_leaf, dirty_bad, &v, NULL };
        oracle_ld_walk(h, d->ld.top, &vis);
    }
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

static const struct dom_cache *cache_slot(const struct dom_cache *const *cache,
                                          unsigned slot)
{
    return cache ? cache[slot] : NULL;
}

/* oracle_compare() with, per sim domain slot, an optional decode cache. */
static unsigned compare_impl(const struct oracle *o, const struct host *h,
                             struct oracle_reporter *rr,
                             const struct dom_cache *const *cache)
{
    struct oracle_reporter r = *rr;
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
        compare_p2m(o, h, d, od, &r, cache_slot(cache, i));
        compare_logdirty(h, d, od, &r, cache_slot(cache, i));
        oracle_compare_paging(d, od, &r);
        uint64_t ram = 0;
        for (uint64_t g = 0; g < od->max_gfn; g++)
            ram += p2m_is_ram(od->type[g]) && od->mfn[g] != mfn_x(INVALID_MFN);
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
    *rr = r;
    return oracle_report_done(&r);
}

unsigned oracle_compare(const struct oracle *o, const struct host *h,
                        oracle_report_fn report, void *ctx)
{
    struct oracle_reporter r = { report, ctx, 0 };
    return compare_impl(o, h, &r, NULL);
}

/* ---- oracle_invariants ------------------------------------------------------------ */

struct inv_ctx {
    const struct host *h;
    const struct domain *d;
    struct oracle_reporter *r;
    uint64_t dirty_bits; /* I3 */
};

/* I1 on one leaf. */
static void inv_leaf(void *ctx, uint64_t gfn, uint64_t e)
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

static unsigned invariants_impl(const struct host *h, struct oracle_reporter *rr,
                                const struct dom_cache *const *cache)
{
    struct oracle_reporter r = *rr;
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
                const struct dom_cache *c = cache_slot(cache, slot);
                /* a valid cache holds what the single-path lookup reads */
                oracle_epte_decode(gfn >= od->max_gfn ? 0
                                   : c ? cache_raw(c)[gfn]
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
        const struct dom_cache *dc = cache_slot(cache, i);
        unsigned tables;
        if (dc) {
            const uint64_t *raw = cache_raw(dc);
            for (uint64_t g = 0; g < d->max_gfn; g++)
                if (raw[g])
                    inv_leaf(&c, g, raw[g]);
            tables = cache_tables(dc);
        } else {
            struct oracle_ept_visit ev = { inv_leaf, inv_ept_bad, &c, NULL };
            tables = oracle_ept_walk(h, d->ept_root, &ev);
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
        if (dc) {
            frames = cache_ld_frames(dc);
            c.dirty_bits = cache_ld_bits(dc);
        } else {
            struct oracle_ld_visit lv = { inv_ld_leaf, inv_ld_bad, &c, NULL };
            frames = oracle_ld_walk(h, d->ld.top, &lv);
        }
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
    *rr = r;
    return oracle_report_done(&r);
}

unsigned oracle_invariants(const struct host *h, oracle_report_fn report,
                           void *ctx)
{
    struct oracle_reporter r = { report, ctx, 0 };
    return invariants_impl(h, &r, NULL);
}

/* ---- oracle_check: the same checks, decoding only what changed -------------------- */

/*
 * Most steps change no EPT table and no log-dirty tree page (guest reads
 * and writes of RAM, TLB operations, peeks), yet the full checks decode both
 * for every domain after every step, twice (compare and invariants), plus a
 * single-path EPT lookup per guest frame (I2).  The decode is a pure
 * function of the EPT root, the log-dirty top, the domain's max_gfn and the
 * bytes of the frames it read, so oracle_check() keeps, per sim domain slot,
 * a private copy of every frame the last decode read and its result:
 *
 *   - the leaf entry of every gfn below max_gfn (raw[]), in place of the
 *     walk (compare, I1) and of oracle_ept_lookup() (I2);
 *   - the EPT table count (I6), the log-dirty frame count (I4), the bits
 *     set in the tree (I3) and the decoded dirty bitmap (compare).
 *
 * Before reuse every copied frame is compared byte for byte with host
 * memory; any difference, a new root or top, or another max_gfn decodes the
 * domain again.  A decode that met a structural fault (a "bad" report, a
 * leaf at or above max_gfn) is not cached: that domain takes the full path,
 * which reports in its own order.  Everything else the checks read (M2P,
 * frame metadata, domain counters, paging state) is read directly, as
 * before.  So an incremental check reports exactly what the full one
 * reports, in the same order: tests/unit/test_oracle.c runs the fuzzer's
 * programs both ways and compares every report.  A full check every K steps
 * (the engine's choice) and oracle_check_verify() at the end of a run
 * re-derive everything from memory as a cross-check of the cache itself.
 */
struct snap {
    uint64_t mfn;
    uint8_t data[PAGE_SIZE];
};

struct snaps {
    struct snap *s;
    unsigned n, cap;
};

struct dom_cache {
    const struct domain *d; /* the sim domain decoded; NULL: empty */
    domid_t id;
    uint64_t root, ld_top, span; /* span: d->max_gfn */
    bool valid;                  /* decoded without any fault */
    struct snaps ept, ld;        /* the frames the decode read */
    unsigned tables, ld_frames;
    uint64_t ld_bits;            /* bits set over all leaves (I3) */
    uint64_t *raw;               /* [span]: leaf entry per gfn, 0 none */
    uint8_t *bits;               /* [(span + 7) / 8]: dirty bits */
};

/* A report as the caller received it. */
struct memo_rep {
    char *field, *expected, *actual;
};

struct oracle_cache {
    struct dom_cache dom[SIM_MAX_DOMAINS];
    uint64_t last_hash; /* FNV-1a of the last check's reports */
    bool last_incremental;
    /* The last incremental check: every input it read besides memory
     * (serialised, in[cur]), and its reports.  memo_ok: reusable. */
    uint8_t *in[2];
    size_t inlen[2], incap[2];
    unsigned cur;
    bool memo_ok;
    struct memo_rep *reps;
    unsigned nreps, capreps, memo_n;
};

static const uint64_t *cache_raw(const struct dom_cache *c) { return c->raw; }
static const uint8_t *cache_bits(const struct dom_cache *c) { return c->bits; }
static unsigned cache_tables(const struct dom_cache *c) { return c->tables; }
static unsigned cache_ld_frames(const struct dom_cache *c) { return c->ld_frames; }
static uint64_t cache_ld_bits(const struct dom_cache *c) { return c->ld_bits; }

static const uint8_t zero_frame[PAGE_SIZE];

/* The bytes a walker reads from frame m (an unbacked frame reads as 0). */
static const uint8_t *frame_bytes(const struct host *h, uint64_t m)
{
    const uint8_t *f = hostmem_frame_peek(h->mem, _mfn(m));
    return f ? f : zero_frame;
}

static bool snaps_add(struct snaps *s, const struct host *h, uint64_t m)
{
    if (s->n == s->cap) {
        unsigned cap = s->cap ? 2 * s->cap : 8;
        struct snap *n = realloc(s->s, cap * sizeof(*n));
        if (!n)
            return false;
        s->s = n;
        s->cap = cap;
    }
    s->s[s->n].mfn = m;
    memcpy(s->s[s->n].data, frame_bytes(h, m), PAGE_SIZE);
    s->n++;
    return true;
}

static bool snaps_same(const struct snaps *s, const struct host *h)
{
    for (unsigned i = 0; i < s->n; i++)
        if (memcmp(s->s[i].data, frame_bytes(h, s->s[i].mfn), PAGE_SIZE))
            return false;
    return true;
}

struct build {
    struct dom_cache *c;
    const struct host *h;
};

static void b_table(void *ctx, uint64_t m)
{
    struct build *b = ctx;
    if (!snaps_add(&b->c->ept, b->h, m))
        b->c->valid = false;
}

static void b_leaf(void *ctx, uint64_t gfn, uint64_t e)
{
    struct build *b = ctx;
    if (gfn < b->c->span)
        b->c->raw[gfn] = e;
    else
        b->c->valid = false; /* compare reports or judges it: full path */
}

static void b_bad(void *ctx, uint64_t gfn, unsigned level, const char *what,
                  uint64_t entry)
{
    ((struct build *)ctx)->c->valid = false;
}

static void b_ld_frame(void *ctx, uint64_t m)
{
    struct build *b = ctx;
    if (!snaps_add(&b->c->ld, b->h, m))
        b->c->valid = false;
}

static void b_ld_leaf(void *ctx, uint64_t base, const uint8_t *bm)
{
    struct build *b = ctx;
    struct dom_cache *c = b->c;
    if (!bm)
        return;
    for (unsigned i = 0; i < PAGE_SIZE; i++)
        c->ld_bits += (uint64_t)__builtin_popcount(bm[i]);
    for (uint64_t i = 0; i < (PAGE_SIZE << 3) && base + i < c->span; i++)
        if (bm[i / 8] >> (i % 8) & 1)
            c->bits[(base + i) / 8] |= (uint8_t)(1u << ((base + i) % 8));
}

static void b_ld_bad(void *ctx, const char *what, uint64_t mfn)
{
    ((struct build *)ctx)->c->valid = false;
}

static void cache_clear(struct dom_cache *c)
{
    free(c->ept.s);
    free(c->ld.s);
    free(c->raw);
    free(c->bits);
    memset(c, 0, sizeof(*c));
}

/* Decodes domain d into c from host memory. */
static void cache_build(struct dom_cache *c, const struct host *h,
                        const struct domain *d)
{
    struct snaps ept = c->ept, ld = c->ld; /* keep the buffers */
    uint64_t *raw = c->raw;
    uint8_t *bits = c->bits;
    if (c->span != d->max_gfn) {
        free(raw);
        free(bits);
        raw = malloc((d->max_gfn ? d->max_gfn : 1) * sizeof(*raw));
        bits = malloc((d->max_gfn + 7) / 8 + 1);
    }
    memset(c, 0, sizeof(*c));
    c->ept = (struct snaps){ ept.s, 0, ept.cap };
    c->ld = (struct snaps){ ld.s, 0, ld.cap };
    c->raw = raw;
    c->bits = bits;
    c->d = d;
    c->id = d->id;
    c->span = d->max_gfn;
    c->root = mfn_x(d->ept_root);
    c->ld_top = mfn_x(d->ld.top);
    if (!raw || !bits) {
        cache_clear(c);
        return;
    }
    c->valid = true;
    memset(c->raw, 0, c->span * sizeof(*c->raw));
    memset(c->bits, 0, (c->span + 7) / 8 + 1);
    struct build b = { c, h };
    struct oracle_ept_visit ev = { b_leaf, b_bad, &b, b_table };
    c->tables = oracle_ept_walk(h, d->ept_root, &ev);
    struct oracle_ld_visit lv = { b_ld_leaf, b_ld_bad, &b, b_ld_frame };
    c->ld_frames = oracle_ld_walk(h, d->ld.top, &lv);
}

/* The cache of slot i, brought up to date; NULL: use the full path.
 * *rebuilt is set when it had to decode memory again. */
static const struct dom_cache *cache_get(struct oracle *o, const struct host *h,
                                         unsigned i, bool *rebuilt)
{
    const struct domain *d = h->domains[i];
    struct dom_cache *c = &o->cache->dom[i];
    if (!d) {
        if (c->d)
            cache_clear(c);
        return NULL;
    }
    const struct oracle_dom *od = oracle_dom_find(o, d->id);
    if (od && od->max_gfn != d->max_gfn)
        return NULL; /* compare reads od->max_gfn gfns, the rest d->max_gfn */
    if (c->d != d || c->id != d->id || c->span != d->max_gfn ||
        c->root != mfn_x(d->ept_root) || c->ld_top != mfn_x(d->ld.top) ||
        !c->valid || !snaps_same(&c->ept, h) || !snaps_same(&c->ld, h)) {
        cache_build(c, h, d);
        *rebuilt = true;
    }
    return c->valid ? c : NULL;
}

static void memo_clear_reps(struct oracle_cache *k)
{
    for (unsigned i = 0; i < k->nreps; i++) {
        free(k->reps[i].field);
        free(k->reps[i].expected);
        free(k->reps[i].actual);
    }
    k->nreps = 0;
}

void oracle_cache_free(struct oracle *o)
{
    if (!o->cache)
        return;
    for (unsigned i = 0; i < SIM_MAX_DOMAINS; i++)
        cache_clear(&o->cache->dom[i]);
    memo_clear_reps(o->cache);
    free(o->cache->reps);
    free(o->cache->in[0]);
    free(o->cache->in[1]);
    free(o->cache);
    o->cache = NULL;
}

/* The reports of one check go to the caller and into a hash (and, for an
 * incremental check, into the memo). */
struct hash_sink {
    oracle_report_fn fn;
    void *ctx;
    uint64_t h;
    struct oracle_cache *memo; /* NULL: not memoised */
    bool oom;
};

/* ---- the memo: a check whose inputs did not change reports as before ---- */

static bool in_add(struct oracle_cache *k, unsigned b, const void *p, size_t n)
{
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

/* Serialises into buffer b everything compare_impl() and invariants_impl()
 * read apart from host memory (which the domain caches vouch for): the
 * M2P, frame metadata and references on both sides, the sim's domain
 * structures (log-dirty and paging state included) and the oracle's flat
 * domains with their arrays. */
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
        ok &= in_add(k, b, od->mfn, od->max_gfn * sizeof(*od->mfn));
        ok &= in_add(k, b, od->type, od->max_gfn * sizeof(*od->type));
        ok &= in_add(k, b, od->dirty, (od->max_gfn + 7) / 8);
    }
    return ok;
}

static char *dup_str(const char *s, bool *oom)
{
    char *d = strdup(s);
    *oom |= !d;
    return d;
}

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
    struct oracle_cache *m = k->memo;
    if (m) {
        if (m->nreps == m->capreps) {
            unsigned cap = m->capreps ? 2 * m->capreps : 16;
            struct memo_rep *x = realloc(m->reps, cap * sizeof(*x));
            if (x) {
                m->reps = x;
                m->capreps = cap;
            }
        }
        if (m->nreps < m->capreps) {
            struct memo_rep *r = &m->reps[m->nreps++];
            r->field = dup_str(field, &k->oom);
            r->expected = dup_str(expected, &k->oom);
            r->actual = dup_str(actual, &k->oom);
        } else {
            k->oom = true;
        }
    }
    if (k->fn)
        k->fn(k->ctx, field, expected, actual);
}

unsigned oracle_check(struct oracle *o, const struct host *h, bool full,
                      oracle_report_fn report, void *ctx)
{
    if (!o->cache && !(o->cache = calloc(1, sizeof(*o->cache))))
        full = true;
    struct oracle_cache *m = o->cache;
    const struct dom_cache *cache[SIM_MAX_DOMAINS] = { 0 };
    /* The memo is usable when every live domain's decode was reused (host
     * memory as at the previous check, itself incremental) and nothing
     * else the checks read has changed. */
    bool reuse = !full;
    if (!full) {
        for (unsigned i = 0; i < SIM_MAX_DOMAINS; i++) {
            bool rebuilt = false;
            cache[i] = cache_get(o, h, i, &rebuilt);
            if (h->domains[i] && (rebuilt || !cache[i]))
                reuse = false;
        }
    }
    unsigned nb = m ? m->cur ^ 1 : 0;
    bool have_in = m && !full && memo_inputs(m, nb, o, h);
    if (reuse && have_in && m->memo_ok && m->inlen[nb] == m->inlen[m->cur] &&
        !memcmp(m->in[nb], m->in[m->cur], m->inlen[nb])) {
        for (unsigned i = 0; i < m->nreps; i++)
            report(ctx, m->reps[i].field, m->reps[i].expected, m->reps[i].actual);
        return m->memo_n; /* last_hash unchanged: the same reports */
    }
    if (m)
        memo_clear_reps(m);
    struct hash_sink k = { report, ctx, 0xcbf29ce484222325ULL, have_in ? m : NULL, false };
    struct oracle_reporter rc = { hash_report, &k, 0 }, ri = { hash_report, &k, 0 };
    unsigned n = compare_impl(o, h, &rc, full ? NULL : cache);
    n += invariants_impl(h, &ri, full ? NULL : cache);
    if (m) {
        m->last_hash = k.h;
        m->last_incremental = !full;
        m->memo_ok = have_in && !k.oom;
        m->memo_n = n;
        if (have_in)
            m->cur = nb;
    }
    return n;
}

unsigned oracle_check_verify(struct oracle *o, const struct host *h,
                             oracle_report_fn report, void *ctx)
{
    if (!o->cache || !o->cache->last_incremental)
        return 0;
    struct hash_sink k = { NULL, NULL, 0xcbf29ce484222325ULL, NULL, false };
    struct oracle_reporter rc = { hash_report, &k, 0 }, ri = { hash_report, &k, 0 };
    compare_impl(o, h, &rc, NULL);
    invariants_impl(h, &ri, NULL);
    if (k.h == o->cache->last_hash)
        return 0;
    struct oracle_reporter r = { report, ctx, 0 };
    oracle_report(&r, "the full check's reports", "other reports",
                  "oracle.incremental");
    return oracle_report_done(&r);
}
