/* SPDX-License-Identifier: MIT */
/*
 * oracle/sharing.c - memory sharing on the flat model, and its checks.
 *
 * The oracle's own reading of Xen's mem_sharing.c (no sim code): a shared
 * frame is one that the flat P2M maps as ram_shared at one or more gfns.
 * What the oracle keeps per frame: its handle (numbered by the oracle,
 * from 2 up, one counter for the host), its sharer count (xrefs[], so the
 * existing per-frame reference check says count == 1 + sharers), and a
 * hash of its contents at nominate.  The sharer *set* is not stored: it is
 * the gfns of type ram_shared naming the frame in the flat P2M, found by a
 * scan when share needs it.
 *
 * Rules stated here:
 *   S1 a shared frame is owned by dom_cow, has M2P SHARED_M2P_ENTRY, its
 *      handle, and count 1 + sharers; it counts in no domain's tot_pages;
 *   S2 its contents never change while shared (a write through any sharer
 *      unshares first), so a write must not be visible to the others;
 *   S3 an unshared copy holds the shared frame's bytes, except those the
 *      write that unshared it changes;
 *   S4 d->shr_pages is the number of d's gfns of type ram_shared;
 *   S5 nr_shared_mfns counts the shared frames, nr_saved_mfns the sharers
 *      beyond the first of each (the frames sharing saved).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "oracle_priv.h"

static bool shr_arrays(struct oracle *o)
{
    if (!o->shr_handle)
        o->shr_handle = calloc(o->nr_frames ? o->nr_frames : 1, sizeof(uint64_t));
    if (!o->shr_sum)
        o->shr_sum = calloc(o->nr_frames ? o->nr_frames : 1, sizeof(uint64_t));
    return o->shr_handle && o->shr_sum;
}

static uint64_t frame_hash(const uint8_t *p, uint64_t skip_lo, uint64_t skip_hi)
{
    uint64_t x = 0xcbf29ce484222325ULL;
    for (uint64_t i = 0; i < PAGE_SIZE; i++) {
        if (i >= skip_lo && i < skip_hi)
            continue;
        x = (x ^ (p ? p[i] : 0)) * 0x100000001b3ULL;
    }
    return x;
}

static uint64_t shr_handle_of(const struct oracle *o, uint64_t m)
{
    return o->shr_handle && m < o->nr_frames ? o->shr_handle[m] : 0;
}

void oracle_note_alloc_hint(struct oracle *o, const uint64_t *frames, unsigned n)
{
    if (n > 8)
        n = 8;
    memcpy(o->shr_hint, frames, n * sizeof(*frames));
    o->shr_nhint = n;
    o->shr_hint_used = 0;
}

/* The next allocation attempt's frame, INVALID_MFN if it fails. */
static uint64_t alloc_next(struct oracle *o)
{
    if (o->shr_hint_used >= o->shr_nhint)
        return mfn_x(INVALID_MFN);
    return o->shr_hint[o->shr_hint_used++];
}

int oracle_op_sharing_control(struct oracle *o, domid_t d, bool enable)
{
    struct oracle_dom *od = oracle_dom_find(o, d);
    if (!od)
        return -ESRCH;
    od->shr_enabled = enable;
    return 0;
}

int oracle_op_share_nominate(struct oracle *o, domid_t d, gfn_t gfn,
                             const struct hostmem *mem, uint64_t *handle)
{
    struct oracle_dom *od = oracle_dom_find(o, d);
    uint64_t g = gfn_x(gfn);
    *handle = 0;
    if (!od)
        return -ESRCH;
    if (!od->shr_enabled)
        return -ENODEV;
    if (g >= od->max_gfn || !shr_arrays(o))
        return -EINVAL;
    unsigned t = od_type(od, g);
    uint64_t m = od_mfn(od, g);
    if (m >= o->nr_frames || !p2m_is_ram(t))
        return -EINVAL;
    if (t == p2m_ram_shared) {
        *handle = o->shr_handle[m];
        return 0;
    }
    /* Only ram_rw / ram_logdirty are sharable. */
    if (t != p2m_ram_rw && t != p2m_ram_logdirty)
        return -EINVAL;
    /* The page must hold no reference but its allocation one. */
    if (o->xrefs[m])
        return -E2BIG;
    if (oracle_split(o, od, g))
        return -ENOMEM;
    OD_TYPE_W(od, g) = p2m_ram_shared;
    OD_ACCESS_W(od, g) = p2m_access_rwx; /* p2m_change_type_one() */
    oracle_mark_mfn(o, m);
    o->m2p[m] = SHARED_M2P_ENTRY;
    o->xrefs[m] = 1;
    o->shr_handle[m] = (o->shr_next = o->shr_next ? o->shr_next + 1 : 2);
    o->shr_sum[m] = frame_hash(hostmem_frame_peek(mem, _mfn(m)), 0, 0);
    od->shr_pages++;
    *handle = o->shr_handle[m];
    return 0;
}

/* The frame gfn g of od maps if it is a shared gfn of a frame the oracle
 * knows as shared, else INVALID. */
static uint64_t shared_frame(const struct oracle *o, const struct oracle_dom *od,
                             uint64_t g)
{
    if (!od || g >= od->max_gfn || od_type(od, g) != p2m_ram_shared)
        return mfn_x(INVALID_MFN);
    uint64_t m = od_mfn(od, g);
    return shr_handle_of(o, m) ? m : mfn_x(INVALID_MFN);
}

int oracle_op_share(struct oracle *o, domid_t sd, gfn_t sgfn, uint64_t sh,
                    domid_t cd, gfn_t cgfn, uint64_t ch)
{
    struct oracle_dom *so = oracle_dom_find(o, sd), *co = oracle_dom_find(o, cd);
    if (!so || !co)
        return -ESRCH;
    if (!so->shr_enabled)
        return -ENODEV;
    if (!co->shr_enabled)
        return -EINVAL;
    uint64_t sg = gfn_x(sgfn), cg = gfn_x(cgfn);
    uint64_t smfn = sg < so->max_gfn ? od_mfn(so, sg) : mfn_x(INVALID_MFN);
    uint64_t cmfn = cg < co->max_gfn ? od_mfn(co, cg) : mfn_x(INVALID_MFN);
    /* Already the same frame: nothing to do, success. */
    if (smfn == cmfn)
        return 0;
    bool s_ok = shared_frame(o, so, sg) != mfn_x(INVALID_MFN);
    bool c_ok = shared_frame(o, co, cg) != mfn_x(INVALID_MFN);
    /* Whichever page has the lower mfn is looked at first. */
    int first = smfn < cmfn ? XENMEM_SHARING_OP_S_HANDLE_INVALID
                            : XENMEM_SHARING_OP_C_HANDLE_INVALID;
    bool first_ok = smfn < cmfn ? s_ok : c_ok, second_ok = smfn < cmfn ? c_ok : s_ok;
    if (!first_ok)
        return first;
    if (!second_ok)
        return first == XENMEM_SHARING_OP_S_HANDLE_INVALID
                   ? XENMEM_SHARING_OP_C_HANDLE_INVALID
                   : XENMEM_SHARING_OP_S_HANDLE_INVALID;
    if (o->shr_handle[smfn] != sh)
        return XENMEM_SHARING_OP_S_HANDLE_INVALID;
    if (o->shr_handle[cmfn] != ch)
        return XENMEM_SHARING_OP_C_HANDLE_INVALID;
    /* Every gfn of any domain backed by the client frame now maps the
     * source frame (still ram_shared, 4 KiB, default access kept). */
    for (unsigned i = 0; i < ORACLE_MAX_DOMS; i++) {
        struct oracle_dom *od = &o->doms[i];
        if (od->live)
            oracle_gfn_mark_all(od);
        for (uint64_t ci = 0; od->live && ci < od->nchunks; ci++) {
            struct oracle_chunk *c = od->chunks[ci];
            for (uint64_t j = 0; c && j < ORACLE_CHUNK; j++)
                if (c->type[j] == p2m_ram_shared && c->mfn[j] == cmfn) {
                    c->mfn[j] = smfn;
                    oracle_mark_mfn(o, smfn);
                    o->xrefs[smfn]++;
                }
        }
    }
    /* The client frame is freed: M2P INVALID, no handle, no references. */
    oracle_mark_mfn(o, cmfn);
    o->xrefs[cmfn] = 0;
    o->shr_handle[cmfn] = 0;
    o->m2p[cmfn] = INVALID_M2P_ENTRY;
    return 0;
}

int oracle_op_share_add_physmap(struct oracle *o, domid_t sd, gfn_t sgfn,
                                uint64_t sh, domid_t cd, gfn_t cgfn)
{
    struct oracle_dom *so = oracle_dom_find(o, sd), *co = oracle_dom_find(o, cd);
    if (!so || !co)
        return -ESRCH;
    if (!so->shr_enabled)
        return -ENODEV;
    uint64_t cg = gfn_x(cgfn);
    if (!co->shr_enabled || cg >= co->max_gfn)
        return -EINVAL;
    uint64_t smfn = shared_frame(o, so, gfn_x(sgfn));
    if (smfn == mfn_x(INVALID_MFN) || o->shr_handle[smfn] != sh)
        return XENMEM_SHARING_OP_S_HANDLE_INVALID;
    /* Only a hole: nothing mapped, or a gfn paged out or being paged in. */
    unsigned ct = od_type(co, cg);
    if (ct != p2m_mmio_dm && ct != p2m_ram_paged && ct != p2m_ram_paging_in)
        return XENMEM_SHARING_OP_C_HANDLE_INVALID;
    if (o->p2m_fail)
        return -ENOMEM;
    uint64_t old = od_mfn(co, cg);
    if (ct == p2m_ram_paged || ct == p2m_ram_paging_in) {
        /* The paged-out page stops counting; a frame still there (a
         * paging_in gfn never evicted) is freed.  The intent: only a page
         * that was counted (no frame: evicted) is counted down.  Upstream
         * decrements paged_pages for both (the accounting assumption of
         * reference 2.4.2): scenarios/findings/share_add_physmap_count.lua. */
        if (old >= o->nr_frames)
            od_paging_w(co)->paged_pages--;
        else {
            oracle_mark_mfn(o, old);
            o->m2p[old] = INVALID_M2P_ENTRY;
        }
    } else {
        OD_ACCESS_W(co, cg) = p2m_access_rwx;
    }
    OD_TYPE_W(co, cg) = p2m_ram_shared;
    OD_MFN_W(co, cg) = smfn;
    OD_ORDER_W(co, cg) = 0;
    if (cg > co->max_mapped)
        co->max_mapped = cg;
    oracle_mark_mfn(o, smfn);
    o->xrefs[smfn]++;
    co->shr_pages++;
    return 0;
}

int oracle_unshare(struct oracle *o, struct oracle_dom *od, uint64_t g,
                   bool destroy, bool check, uint64_t skip_lo, uint64_t skip_hi)
{
    uint64_t m = shared_frame(o, od, g);
    if (m == mfn_x(INVALID_MFN))
        return 0;
    bool last = o->xrefs[m] == 1;
    oracle_mark_mfn(o, m);
    if (destroy) {
        o->xrefs[m]--;
        od->shr_pages--;
        if (last) { /* the frame is freed */
            o->shr_handle[m] = 0;
            o->m2p[m] = INVALID_M2P_ENTRY;
        }
        OD_TYPE_W(od, g) = p2m_mmio_dm;
        OD_MFN_W(od, g) = mfn_x(INVALID_MFN);
        OD_ACCESS_W(od, g) = p2m_access_rwx;
        return 0;
    }
    uint64_t n = m;
    if (last) {
        /* The frame becomes the gfn's own again, as it is. */
        o->shr_handle[m] = 0;
        o->xrefs[m] = 0;
    } else {
        n = alloc_next(o);
        if (n == mfn_x(INVALID_MFN) || n >= o->nr_frames)
            return -ENOMEM;
        o->xrefs[m]--;
        if (check && o->shr_npend < 8)
            o->shr_pend[o->shr_npend++] =
                (struct oracle_shr_pend){ od->id, g, m, skip_lo, skip_hi };
        if (o->shr_nalias < 8) {
            o->shr_alias_new[o->shr_nalias] = n;
            o->shr_alias_old[o->shr_nalias++] = m;
        }
    }
    od->shr_pages--;
    OD_TYPE_W(od, g) = p2m_ram_rw;
    OD_MFN_W(od, g) = n;
    OD_ACCESS_W(od, g) = p2m_access_rwx;
    oracle_mark_mfn(o, n);
    o->m2p[n] = g;
    oracle_mark(od, g, true);
    return 0;
}

/* S1, S2 of frame m; its share of the S5 counters (xshared, xsaved). */
static void compare_shared_frame(const struct oracle *o, const struct host *h,
                                 struct oracle_reporter *r,
                                 void (*frame)(void *ctx, uint64_t mfn), uint64_t m,
                                 int64_t *xshared, int64_t *xsaved)
{
    char e1[24], a1[24];
    uint64_t xh = shr_handle_of(o, m), ah = h->shr_handle ? h->shr_handle[m] : 0;
    if (xh) {
        (*xshared)++;
        *xsaved += (int64_t)o->xrefs[m] - 1;
    }
    if (!xh && !ah)
        return;
    if (xh != ah)
        oracle_report(r, oracle_hex(xh, e1), oracle_hex(ah, a1),
                      "shared[%#" PRIx64 "].handle", m);
    if (!xh)
        return;
    if (h->frames[m].owner != DOMID_COW || h->frames[m].use != PGU_GUEST)
        oracle_report(r, "dom_cow guest page", oracle_hex(h->frames[m].owner, a1),
                      "shared[%#" PRIx64 "].owner", m);
    if (frame)
        frame(NULL, m);
    const uint8_t *p = hostmem_frame_peek(h->mem, _mfn(m));
    if (frame_hash(p, 0, 0) != o->shr_sum[m])
        oracle_report(r, "unchanged since nominate", "changed",
                      "shared[%#" PRIx64 "].contents", m);
}

void oracle_compare_sharing(const struct oracle *o, const struct host *h,
                            struct oracle_reporter *r,
                            void (*frame)(void *ctx, uint64_t mfn),
                            const uint64_t *only, size_t nonly, int64_t tot[2],
                            const struct oracle_dom *const ods[SIM_MAX_DOMAINS],
                            uint32_t dmask)
{
    char e1[24], a1[24];
    uint64_t n = h->nr_frames < o->nr_frames ? h->nr_frames : o->nr_frames;
    /* S1, S2 per frame, both ways; S5 the host's counters
     * (XENMEM_get_sharing_shared_pages / _freed_pages): frames shared, and
     * frames saved = sharers beyond the first of each frame. */
    int64_t xshared = 0, xsaved = 0;
    if (only) {
        /* oracle_check() on the frames that changed; the other frames'
         * share of the counters comes in tot */
        xshared = tot[0];
        xsaved = tot[1];
        const uint64_t *oh = o->shr_handle, *hh = h->shr_handle;
        for (size_t i = 0; i < nonly; i++) {
            uint64_t m = only[i];
            /* a frame neither side shares (nearly every changed frame)
             * counts nothing and has nothing to compare: no call */
            if (m >= n || ((!oh || !oh[m]) && (!hh || !hh[m])))
                continue;
            compare_shared_frame(o, h, r, frame, m, &xshared, &xsaved);
        }
    } else {
        /* (a missing array is all zeros: the other one, or this, is read) */
        static const uint64_t none[64];
        const uint64_t *oh = o->shr_handle, *hh = h->shr_handle;
        for (uint64_t m = 0; m < n; m++) {
            /* Frames no side shares, 64 at a time (the host's frames are
             * nearly all unshared): nothing to count or compare there.
             * (a plain OR of two arrays: the compiler vectorises it) */
            if (!(m & 63) && n - m >= 64) {
                const uint64_t *a = oh ? oh + m : none, *b = hh ? hh + m : none;
                uint64_t any = 0;
                for (unsigned j = 0; j < 64; j++)
                    any |= a[j] | b[j];
                if (!any) {
                    m += 63;
                    continue;
                }
            }
            compare_shared_frame(o, h, r, frame, m, &xshared, &xsaved);
        }
    }
    if (tot) {
        tot[0] = xshared;
        tot[1] = xsaved;
    }
    if (h->shr_shared_mfns != xshared || h->shr_saved_mfns != xsaved) {
        char want[48], got[48];
        snprintf(want, sizeof want, "shared=%" PRId64 " saved=%" PRId64, xshared, xsaved);
        snprintf(got, sizeof got, "shared=%" PRId64 " saved=%" PRId64,
                 h->shr_shared_mfns, h->shr_saved_mfns);
        oracle_report(r, want, got, "sharing.counters");
    }
    /* S3: each copy made in this step against the frame it was copied
     * from (still shared, so unchanged). */
    for (unsigned i = 0; i < o->shr_npend; i++) {
        const struct oracle_shr_pend *q = &o->shr_pend[i];
        const struct oracle_dom *od = oracle_dom_find(o, q->d);
        if (!od || !shr_handle_of(o, q->old) || q->g >= od->max_gfn)
            continue;
        uint64_t nm = od_mfn(od, q->g);
        if (nm >= h->nr_frames)
            continue;
        if (frame) {
            frame(NULL, nm);
            frame(NULL, q->old);
        }
        uint64_t want = frame_hash(hostmem_frame_peek(h->mem, _mfn(q->old)),
                                   q->skip_lo, q->skip_hi);
        uint64_t got = frame_hash(hostmem_frame_peek(h->mem, _mfn(nm)),
                                  q->skip_lo, q->skip_hi);
        if (want != got)
            oracle_report(r, "a copy of the shared frame", "other contents",
                          "d%u.p2m[%#" PRIx64 "].unshared_copy", q->d, q->g);
    }
    /* S4 (the domains compare_impl() matched, slot by slot: no second
     * search, and no visit of the slots without one) */
    for (uint32_t m = dmask; m; m &= m - 1) {
        unsigned i = (unsigned)__builtin_ctz(m);
        const struct domain *d = h->domains[i];
        const struct oracle_dom *od = ods[i];
        if (d->shr_pages != od->shr_pages)
            oracle_report(r, oracle_hex(od->shr_pages, e1),
                          oracle_hex(d->shr_pages, a1), "d%u.shr_pages", d->id);
        if (d->sharing_enabled != od->shr_enabled)
            oracle_report(r, od->shr_enabled ? "on" : "off",
                          d->sharing_enabled ? "on" : "off", "d%u.sharing", d->id);
    }
}
