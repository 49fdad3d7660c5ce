/* SPDX-License-Identifier: MIT */
/*
 * oracle/flat.c - the flat model and the hypervisor operations it mirrors.
 *
 * Each oracle_op_* states Xen's behaviour for one operation directly on the
 * flat arrays (see oracle_priv.h for the model's invariants):
 *
 *   gfn state         populate            remove / set_type(mmio_dm|invalid)
 *   mmio_dm  ------------------------->  ram_rw       (log-dirty off)
 *            ------------------------->  ram_logdirty (log-dirty on), dirty
 *   ram_*    ------------------------->  mmio_dm, M2P INVALID, clean, freed
 *
 *   ram_rw --logdirty_enable / CLEAN--> ram_logdirty
 *   ram_logdirty --logdirty_disable / write fault (walk.c)--> ram_rw
 *
 * Dirty marks follow seed 001 (98fccdf0ac): additions mark dirty, removals
 * mark clean; hvm_copy_to_guest_phys() marks dirty without changing the type.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oracle_priv.h"

struct oracle *oracle_new(uint64_t nr_frames)
{
    struct oracle *o = calloc(1, sizeof(*o));
    if (!o)
        return NULL;
    o->nr_frames = nr_frames;
    o->m2p = malloc((nr_frames ? nr_frames : 1) * sizeof(uint64_t));
    o->xrefs = calloc(nr_frames ? nr_frames : 1, sizeof(uint32_t));
    o->orphan = calloc(nr_frames ? nr_frames : 1, sizeof(uint16_t));
    if (!o->m2p || !o->xrefs || !o->orphan) {
        free(o->m2p);
        free(o->xrefs);
        free(o->orphan);
        free(o);
        return NULL;
    }
    /* Every frame starts free: Xen's INVALID_M2P_ENTRY. */
    for (uint64_t m = 0; m < nr_frames; m++)
        o->m2p[m] = INVALID_M2P_ENTRY;
    return o;
}

static void dom_free(struct oracle_dom *od)
{
    for (uint64_t c = 0; od->chunks && c < od->nchunks; c++)
        free(od->chunks[c]);
    free(od->chunks);
    free(od->raw);
    free(od->pml_gpa);
    free(od->pod_cache);
    free(od->gmark);
    free(od->cidx);
    /* the change counters go on (a domain made in this slot later must
     * not meet the memo's counters of this one) */
    uint64_t gp = od->gen_paging, gm = od->gen_monitor;
    memset(od, 0, sizeof(*od));
    od->gen_paging = gp + 1;
    od->gen_monitor = gm + 1;
}

struct oracle_chunk *oracle_chunk_get(struct oracle_dom *od, uint64_t g)
{
    uint64_t i = g >> ORACLE_CHUNK_SHIFT;
    if (g >= od->max_gfn) {
        fprintf(stderr, "oracle: gfn %#" PRIx64 " of d%u is outside 0..%#" PRIx64 "\n",
                g, od->id, od->max_gfn);
        abort();
    }
    if (!od->chunks[i]) {
        struct oracle_chunk *c = malloc(sizeof(*c));
        if (!c) {
            fprintf(stderr, "oracle: out of memory for d%u's gfns at %#" PRIx64 "\n",
                    od->id, g);
            abort();
        }
        /* An empty P2M reads as mmio_dm / INVALID_MFN (ept_get_entry). */
        memset(c->mfn, 0xff, sizeof(c->mfn));
        memset(c->type, p2m_mmio_dm, sizeof(c->type));
        memset(c->order, 0, sizeof(c->order));
        /* p2m->default_access */
        memset(c->access, p2m_access_rwx, sizeof(c->access));
        memset(c->dirty, 0, sizeof(c->dirty));
        memset(c->gmark, 0, sizeof(c->gmark));
        /* its index into od->cidx, kept ascending (rare: a chunk holds
         * 4096 gfns) */
        if (od->ncidx == od->capcidx) {
            uint64_t cap = od->capcidx ? 2 * od->capcidx : 8;
            uint64_t *x = realloc(od->cidx, cap * sizeof(*x));
            if (!x) {
                fprintf(stderr, "oracle: out of memory for d%u's gfns at %#" PRIx64 "\n",
                        od->id, g);
                abort();
            }
            od->cidx = x;
            od->capcidx = cap;
        }
        uint64_t at = od->ncidx;
        for (; at > 0 && od->cidx[at - 1] > i; at--)
            od->cidx[at] = od->cidx[at - 1];
        od->cidx[at] = i;
        od->ncidx++;
        od->chunks[i] = c;
    }
    struct oracle_chunk *c = od->chunks[i];
    /* Every writer of the per-gfn arrays comes here first: the gfn is
     * marked for oracle_check() (check.c) with what it holds before this
     * write, once per check. */
    unsigned j = (unsigned)(g & (ORACLE_CHUNK - 1));
    if (!(c->gmark[j / 8] >> (j % 8) & 1) && !od->gmark_all) {
        if (od->gmark_n == od->gmark_cap) {
            size_t cap = od->gmark_cap ? 2 * od->gmark_cap : 64;
            struct oracle_gmark *x = realloc(od->gmark, cap * sizeof(*x));
            if (!x) {
                oracle_gfn_mark_all(od);
                return c;
            }
            od->gmark = x;
            od->gmark_cap = cap;
        }
        c->gmark[j / 8] |= (uint8_t)(1u << (j % 8));
        od->gmark[od->gmark_n++] = (struct oracle_gmark){
            g, c->mfn[j], c->type[j], (c->dirty[j / 8] >> (j % 8) & 1) != 0
        };
    }
    return c;
}

void oracle_gfn_marks_clear(struct oracle_dom *od)
{
    for (size_t i = 0; i < od->gmark_n; i++) {
        uint64_t g = od->gmark[i].g;
        od->chunks[g >> ORACLE_CHUNK_SHIFT]->gmark[(g & (ORACLE_CHUNK - 1)) / 8] = 0;
    }
    if (od->gmark_all) /* marks may be left from before the list overflowed */
        for (uint64_t c = 0; c < od->nchunks; c++)
            if (od->chunks[c])
                memset(od->chunks[c]->gmark, 0, sizeof(od->chunks[c]->gmark));
    od->gmark_n = 0;
    od->gmark_all = false;
}

/* The wholesale writers below (log-dirty's retype and clearing of dirty
 * bits, the ioreq server's unmap) mark the gfns they change one by one,
 * before changing them, as oracle_chunk_get() marks any other write: then
 * oracle_check() re-compares those gfns alone instead of the whole domain
 * (a log-dirty toggle or a CLEAN changes the RAM gfns, not the holes).
 * Past GMARK_MAX marks in one check the domain is marked whole (the
 * per-gfn compares would cost more than the walk). */
#define GMARK_MAX 4096

static void mark_gfn(struct oracle_dom *od, uint64_t g)
{
    if (od->gmark_all)
        return;
    if (od->gmark_n >= GMARK_MAX || g >= od->max_gfn)
        oracle_gfn_mark_all(od);
    else
        oracle_chunk_get(od, g); /* marks g with what it holds now */
}

/* Every gfn's dirty bit cleared (chunks kept). */
static void clear_all_dirty(struct oracle_dom *od)
{
    for (uint64_t c = 0; c < od->nchunks; c++) {
        struct oracle_chunk *ch = od->chunks[c];
        if (!ch)
            continue;
        /* The set bits in ascending gfn order; eight clean bytes (most of
         * a chunk past a small domain's max_gfn) are passed at once. */
        for (uint64_t j = 0; j < sizeof(ch->dirty); j++) {
            uint64_t w;
            if (!(j & 7) && (memcpy(&w, ch->dirty + j, sizeof w), !w)) {
                j += 7;
                continue;
            }
            for (unsigned b = 0; ch->dirty[j] >> b; b++)
                if (ch->dirty[j] >> b & 1)
                    mark_gfn(od, (c << ORACLE_CHUNK_SHIFT) + 8 * j + b);
        }
        memset(ch->dirty, 0, sizeof(ch->dirty));
    }
}

void oracle_destroy(struct oracle *o)
{
    if (!o)
        return;
    for (unsigned i = 0; i < ORACLE_MAX_DOMS; i++)
        if (o->doms[i].live)
            dom_free(&o->doms[i]);
    oracle_cache_free(o);
    free(o->m2p);
    free(o->xrefs);
    free(o->orphan);
    free(o->shr_handle);
    free(o->shr_sum);
    free(o->mark_bits);
    free(o->mark_list);
    free(o);
}

void oracle_mark_mfn_slow(struct oracle *o, uint64_t m)
{
    if (m >= o->nr_frames || o->mark_n == SIZE_MAX)
        return;
    if (!o->mark_bits &&
        !(o->mark_bits = calloc((o->nr_frames + 63) / 64, sizeof(uint64_t)))) {
        o->mark_n = SIZE_MAX;
        return;
    }
    if (o->mark_bits[m >> 6] >> (m & 63) & 1)
        return;
    if (o->mark_n == o->mark_cap) {
        size_t cap = o->mark_cap ? 2 * o->mark_cap : 64;
        uint64_t *x = realloc(o->mark_list, cap * sizeof(*x));
        if (!x) {
            o->mark_n = SIZE_MAX;
            return;
        }
        o->mark_list = x;
        o->mark_cap = cap;
    }
    o->mark_bits[m >> 6] |= UINT64_C(1) << (m & 63);
    o->mark_list[o->mark_n++] = m;
}

struct oracle_dom *oracle_dom_find(const struct oracle *o, domid_t id)
{
    for (unsigned i = 0; i < ORACLE_MAX_DOMS; i++)
        if (o->doms[i].live && o->doms[i].id == id)
            return (struct oracle_dom *)&o->doms[i];
    return NULL;
}

static void m2p_set(struct oracle *o, uint64_t mfn, uint64_t gfn)
{
    if (mfn < o->nr_frames) {
        oracle_mark_mfn(o, mfn);
        o->m2p[mfn] = gfn;
    }
}

void oracle_put_xref(struct oracle *o, uint64_t mfn)
{
    if (mfn >= o->nr_frames || !o->xrefs[mfn])
        return;
    oracle_mark_mfn(o, mfn);
    if (--o->xrefs[mfn] || !o->orphan[mfn] || (o->orphan[mfn] & ORPHAN_KEEP))
        return;
    /* The last reference of a removed page: free_domheap_page() (its M2P
     * entry has been INVALID since the removal). */
    struct oracle_dom *od = oracle_dom_find(o, (domid_t)ORPHAN_OWNER(o->orphan[mfn]));
    if (od && od->orphans)
        od->orphans--;
    o->orphan[mfn] = 0;
}

/* ---- dirty bitmap ---------------------------------------------------------- */

void oracle_mark(struct oracle_dom *od, uint64_t gfn, bool dirty)
{
    /* set_pfn_logdirty(): nothing happens unless log-dirty is on. */
    if (!od->ld_enabled || gfn >= od->max_gfn)
        return;
    /* changed = dirty ? !test_and_set : test_and_clear; count follows. */
    uint8_t bit = (uint8_t)(1u << (gfn % 8));
    bool was = oracle_test_dirty(od, gfn);
    if (dirty && !was) {
        oracle_chunk_get(od, gfn)->dirty[(gfn & (ORACLE_CHUNK - 1)) / 8] |= bit;
        od->dirty_count++;
    } else if (!dirty && was) {
        oracle_chunk_get(od, gfn)->dirty[(gfn & (ORACLE_CHUNK - 1)) / 8] &=
            (uint8_t)~bit;
        od->dirty_count--;
    }
}

bool oracle_test_dirty(const struct oracle_dom *od, uint64_t gfn)
{
    const struct oracle_chunk *c = oracle_chunk(od, gfn);
    return c && (c->dirty[(gfn & (ORACLE_CHUNK - 1)) / 8] >> (gfn % 8) & 1);
}

static void unmap_special(struct oracle *o, struct oracle_dom *od, uint64_t g);
static uint64_t chunk_gfns(const struct oracle_dom *od, uint64_t ci);

/* ---- domains ------------------------------------------------------------------ */

void oracle_op_domain_create(struct oracle *o, domid_t d, uint64_t max_gfn)
{
    struct oracle_dom *od = oracle_dom_find(o, d);
    if (od) /* an id reused without a destroy: start afresh */
        oracle_op_domain_destroy(o, d);
    for (unsigned i = 0; i < ORACLE_MAX_DOMS; i++) {
        od = &o->doms[i];
        if (od->live)
            continue;
        /* An empty P2M: no chunk yet (reads as mmio_dm / INVALID_MFN). */
        od->nchunks = (max_gfn + ORACLE_CHUNK - 1) >> ORACLE_CHUNK_SHIFT;
        od->chunks = calloc(od->nchunks ? od->nchunks : 1, sizeof(*od->chunks));
        if (!od->chunks)
            return;
        od->live = true;
        o->live_mask |= UINT32_C(1) << i;
        od->id = d;
        od->max_gfn = max_gfn;
        od->dirty_count = 0;
        od->ld_enabled = false;
        od->ring = false;
        od->ld_failed = false;
        od->ld_bitmap = od->ld_conservative = false;
        od->ld_busy = od->ld_busy_clean = false;
        od->ld_bits = od->ld_done = 0;
        od->ld_order = 0;
        od->ring_size = od->nreq = od->ndrops = 0;
        od->paged_pages = 0;
        memset(od->vstate, 0, sizeof(od->vstate));
        memset(od->vpause, 0, sizeof(od->vpause));
        od_paging_w(od); /* a new domain's parts */
        od_monitor_w(od);
        return;
    }
}

void oracle_op_domain_destroy(struct oracle *o, domid_t d)
{
    struct oracle_dom *od = oracle_dom_find(o, d);
    if (!od)
        return;
    /* relinquish_shared_pages() first: each shared gfn drops its sharer
     * reference (MEM_SHARING_DESTROY_GFN), the frame freed with the last. */
    /* (only a chunk's gfns below max_gfn: the rest are never written and
     * stay mmio_dm, which neither loop acts on) */
    for (uint64_t ci = 0; ci < od->nchunks; ci++)
        for (uint64_t i = 0, n = chunk_gfns(od, ci); od->chunks[ci] && i < n; i++)
            if (od->chunks[ci]->type[i] == p2m_ram_shared)
                oracle_unshare(o, od, ci * ORACLE_CHUNK + i, true, false, 0, 0);
    /* domain_relinquish_resources(): every guest frame goes back to the heap,
     * and a freed frame's M2P entry is INVALID (seed 002 06/12). */
    for (uint64_t ci = 0; ci < od->nchunks; ci++) {
        const struct oracle_chunk *c = od->chunks[ci];
        for (uint64_t i = 0, n = chunk_gfns(od, ci); c && i < n; i++) {
            uint64_t g = ci * ORACLE_CHUNK + i;
            if (p2m_is_grant(c->type[i]) || c->type[i] == p2m_map_foreign)
                unmap_special(o, od, g); /* relinquish / gnttab release */
            else if (p2m_is_ram(c->type[i])) {
                m2p_set(o, c->mfn[i], INVALID_M2P_ENTRY);
                if (c->mfn[i] < o->nr_frames)
                    o->xrefs[c->mfn[i]] = 0; /* freed whoever maps it */
            }
        }
    }
    /* Its pages out of the P2M go too: those a grant mapping replaced,
     * and removed-but-referenced ones (none: the engine refuses to destroy
     * a domain whose pages are still mapped). */
    for (uint64_t m = 0; od->orphans && m < o->nr_frames; m++)
        if (o->orphan[m] && ORPHAN_OWNER(o->orphan[m]) == od->id) {
            oracle_mark_mfn(o, m);
            o->orphan[m] = 0;
            o->xrefs[m] = 0;
            od->orphans--;
        }
    o->live_mask &= ~(UINT32_C(1) << (od - o->doms));
    dom_free(od);
}

/* ---- P2M operations ------------------------------------------------------------- */

/* p2m_remove_entry() + free: the gfn reads back as mmio_dm, its frame's
 * M2P becomes INVALID and the gfn is marked clean (seed 001). */
static void unmap_ram(struct oracle *o, struct oracle_dom *od, uint64_t g)
{
    /* Only the allocation reference goes with the entry: a page someone
     * else still references stays the domain's until their last put. */
    uint64_t m = od_mfn(od, g);
    if (m < o->nr_frames && o->xrefs[m] && !o->orphan[m]) {
        oracle_mark_mfn(o, m);
        o->orphan[m] = (uint16_t)(od->id + 1);
        od->orphans++;
    }
    m2p_set(o, od_mfn(od, g), INVALID_M2P_ENTRY);
    OD_MFN_W(od, g) = mfn_x(INVALID_MFN);
    OD_TYPE_W(od, g) = p2m_mmio_dm;
    OD_ACCESS_W(od, g) = p2m_access_rwx;
    oracle_mark(od, g, false);
}

void oracle_note_nomem(struct oracle *o, bool nomem)
{
    o->nomem = nomem;
    if (!nomem)
        o->p2m_fail = false;
}

void oracle_note_p2m_fail(struct oracle *o, bool failed)
{
    o->p2m_fail = failed;
}

int oracle_split(const struct oracle *o, struct oracle_dom *od, uint64_t g)
{
    /* An injected P2M update failure fails the (single) set_entry of the
     * operation, split or not. */
    if (o->p2m_fail)
        return -ENOMEM;
    if (g >= od->max_gfn || od_order(od, g) == 0)
        return 0;
    /* A superpage split allocates table pages: if the sim's heap failed
     * one, the operation fails and the superpage is intact. */
    if (o->nomem)
        return -ENOMEM;
    uint64_t n = 1ULL << od_order(od, g), base = g & ~(n - 1);
    /* p2m-pt (NPT) splits one level at a time along the path only
     * (p2m_next_level()): in a 1 GiB page only the 2 MiB part holding g
     * becomes 4 KiB entries, the other 511 stay 2 MiB leaves. */
    if (od->npt && od_order(od, g) == 18) {
        uint64_t part = g & ~511ULL;
        for (uint64_t i = 0; i < n; i++)
            OD_ORDER_W(od, base + i) = (base + i) >> 9 == part >> 9 ? 0 : 9;
        return 0;
    }
    for (uint64_t i = 0; i < n; i++)
        OD_ORDER_W(od, base + i) = 0;
    return 0;
}

/* A RAM gfn loses its frame (remove, set_type): a superpage around it is
 * split first; if that fails, p2m_remove_entry() puts back the M2P entry
 * and the dirty mark it had just taken away (p2m.c:594-595), so the gfn
 * stays mapped and is dirty. */
static int unmap_ram_split(struct oracle *o, struct oracle_dom *od, uint64_t g)
{
    if (oracle_split(o, od, g)) {
        oracle_mark(od, g, true);
        return -ENOMEM;
    }
    unmap_ram(o, od, g);
    return 0;
}

int oracle_op_populate(struct oracle *o, domid_t d, gfn_t gfn, mfn_t mfn,
                       bool nomem)
{
    struct oracle_dom *od = oracle_dom_find(o, d);
    uint64_t g = gfn_x(gfn);
    if (!od)
        return -ESRCH;
    if (g >= od->max_gfn)
        return -EINVAL;
    if (p2m_is_ram(od_type(od, g)))
        return -EEXIST;
    /* populate_physmap() allocates the page (alloc_domheap_pages()) before
     * guest_physmap_add_page() looks at the entry: a failed allocation is
     * -ENOMEM whatever the gfn holds (found by the fuzzer: a direct-MMIO
     * gfn, scenarios/fuzz-found/populate_mmio_nomem.lua). */
    if (nomem)
        return -ENOMEM;
    /* p2m_add_page() refuses to replace a grant or foreign entry (Xen
     * also crashes the domain). */
    if (p2m_is_grant(od_type(od, g)) || od_type(od, g) == p2m_map_foreign ||
        od_type(od, g) == p2m_mmio_direct)
        return -EINVAL;
    if (od_type(od, g) == p2m_populate_on_demand)
        od->pod_entries--; /* p2m_add_page(): a PoD entry replaced */
    /* populate_physmap -> p2m_add_page(): the type follows the global
     * log-dirty state; the addition marks the gfn dirty (seed 001). */
    /* one oracle_chunk_get() (one mark) for the four writes */
    struct oracle_chunk *c = oracle_chunk_get(od, g);
    unsigned j = (unsigned)(g & (ORACLE_CHUNK - 1));
    c->mfn[j] = mfn_x(mfn);
    c->type[j] = od->ld_enabled ? p2m_ram_logdirty : p2m_ram_rw;
    c->order[j] = 0;
    c->access[j] = p2m_access_rwx;
    if (g > od->max_mapped)
        od->max_mapped = g;
    m2p_set(o, mfn_x(mfn), g);
    oracle_mark(od, g, true);
    return 0;
}

int oracle_op_populate_extent(struct oracle *o, domid_t d, gfn_t gfn,
                              unsigned order, mfn_t mfn, bool nomem)
{
    struct oracle_dom *od = oracle_dom_find(o, d);
    uint64_t g = gfn_x(gfn);
    if (!od)
        return -ESRCH;
    if (order == 0)
        return oracle_op_populate(o, d, gfn, mfn, nomem);
    if (order != 9 && order != 18)
        return -EINVAL;
    uint64_t n = 1ULL << order;
    if ((g & (n - 1)) || g >= od->max_gfn || od->max_gfn - g < n)
        return -EINVAL;
    /* The harness refuses a range holding anything (sim.h). */
    for (uint64_t i = 0; i < n; i++)
        if (od_type(od, g + i) != p2m_mmio_dm ||
            od_mfn(od, g + i) != mfn_x(INVALID_MFN))
            return -EEXIST;
    if (nomem)
        return -ENOMEM;
    /* One entry of that order: 2^order consecutive frames from mfn, each
     * gfn RAM with its M2P entry and its dirty mark, as p2m_add_page()
     * leaves every page of the extent. */
    for (uint64_t i = 0; i < n; i++) {
        OD_MFN_W(od, g + i) = mfn_x(mfn) + i;
        OD_TYPE_W(od, g + i) = od->ld_enabled ? p2m_ram_logdirty : p2m_ram_rw;
        OD_ORDER_W(od, g + i) = (uint8_t)order;
        OD_ACCESS_W(od, g + i) = p2m_access_rwx;
        m2p_set(o, mfn_x(mfn) + i, g + i);
        oracle_mark(od, g + i, true);
    }
    return 0;
}

/* Another domain's RAM page that may be mapped (grant, foreign): RAM with
 * a frame, not paging, not shared; else INVALID. */
static uint64_t oracle_mappable(const struct oracle_dom *fd, uint64_t g)
{
    if (!fd || g >= fd->max_gfn || od_mfn(fd, g) == mfn_x(INVALID_MFN))
        return mfn_x(INVALID_MFN);
    unsigned t = od_type(fd, g);
    if (!p2m_is_ram(t) || t == p2m_ram_paging_out || t == p2m_ram_paged ||
        t == p2m_ram_paging_in || t == p2m_ram_shared)
        return mfn_x(INVALID_MFN);
    return od_mfn(fd, g);
}

static bool oracle_gfn_empty(const struct oracle_dom *od, uint64_t g)
{
    return od_type(od, g) == p2m_mmio_dm && od_mfn(od, g) == mfn_x(INVALID_MFN);
}

/* What a grant or foreign mapping may replace: nothing, PoD, or RAM with
 * a frame outside the paging states (special entries and paging types are
 * refused, -EEXIST). */
static bool oracle_replaceable(const struct oracle_dom *od, uint64_t g)
{
    unsigned t = od_type(od, g);
    if (oracle_gfn_empty(od, g) || t == p2m_populate_on_demand)
        return true;
    return p2m_is_ram(t) && t != p2m_ram_paging_out && t != p2m_ram_paged &&
           t != p2m_ram_paging_in && t != p2m_ram_shared &&
           od_mfn(od, g) != mfn_x(INVALID_MFN);
}

/* A special entry (grant, foreign) at g of od naming m, holding one
 * reference on m; no M2P change, no dirty mark (P2M_SPECIAL_TYPES). */
static void map_special(struct oracle *o, struct oracle_dom *od, uint64_t g,
                        uint64_t m, unsigned t)
{
    OD_TYPE_W(od, g) = (uint8_t)t;
    OD_MFN_W(od, g) = m;
    OD_ORDER_W(od, g) = 0;
    OD_ACCESS_W(od, g) = p2m_access_rwx;
    if (m < o->nr_frames) {
        oracle_mark_mfn(o, m);
        o->xrefs[m]++;
    }
}

static void unmap_special(struct oracle *o, struct oracle_dom *od, uint64_t g)
{
    oracle_put_xref(o, od_mfn(od, g));
    OD_TYPE_W(od, g) = p2m_mmio_dm;
    OD_MFN_W(od, g) = mfn_x(INVALID_MFN);
    OD_ACCESS_W(od, g) = p2m_access_rwx;
}

/* Another domain's page (sd's sgfn) mapped into domain d at gfn with type
 * t, replacing what is there: p2m_add_foreign() for p2m_map_foreign, and
 * p2m_add_page() with a grant type for grant maps.  They differ in two
 * places: foreign types exist only on EPT (p2m_pt_set_entry() refuses
 * them), and the domain's own RAM page at gfn is given back for a foreign
 * map (guest_remove_page()) but for a grant only leaves the P2M (M2P
 * INVALID, marked clean), keeping its allocation reference: it stays the
 * domain's until teardown.  A PoD entry there is counted off either way. */
static int map_other(struct oracle *o, domid_t d, gfn_t gfn, domid_t sd, gfn_t sgfn,
                     p2m_type_t t)
{
    struct oracle_dom *od = oracle_dom_find(o, d);
    const struct oracle_dom *so = oracle_dom_find(o, sd);
    uint64_t g = gfn_x(gfn);
    bool foreign = t == p2m_map_foreign;
    if (!od)
        return -ESRCH;
    if (d == sd || g >= od->max_gfn)
        return -EINVAL;
    uint64_t m = oracle_mappable(so, gfn_x(sgfn));
    if (m == mfn_x(INVALID_MFN))
        return -EINVAL;
    if (!oracle_replaceable(od, g))
        return -EEXIST;
    unsigned ot = od_type(od, g);
    if (p2m_is_ram(ot)) {
        uint64_t om = od_mfn(od, g);
        if (unmap_ram_split(o, od, g))
            return -ENOMEM;
        if (!foreign && om < o->nr_frames) {
            if (!o->orphan[om])
                od->orphans++;
            oracle_mark_mfn(o, om);
            o->orphan[om] = (uint16_t)((od->id + 1u) | ORPHAN_KEEP);
        }
    }
    /* On NPT the refusal comes from p2m_pt_set_entry(), i.e. after
     * p2m_add_foreign() has already given the domain's own RAM page at
     * gfn back (guest_remove_page()): that page is gone, the gfn is
     * empty, a PoD entry stays (found by the fuzzer, seed 1:
     * scenarios/fuzz-found/npt_add_foreign_over_ram.lua). */
    if (foreign && od->npt)
        return -EINVAL;
    if (o->p2m_fail)
        return -ENOMEM;
    if (ot == p2m_populate_on_demand)
        od->pod_entries--;
    map_special(o, od, g, m, t);
    return 0;
}

int oracle_op_add_foreign(struct oracle *o, domid_t td, gfn_t gfn, domid_t fd,
                          gfn_t fgfn)
{
    return map_other(o, td, gfn, fd, fgfn, p2m_map_foreign);
}

int oracle_op_grant_map(struct oracle *o, domid_t d, gfn_t gfn, domid_t gd,
                        gfn_t ggfn, bool readonly)
{
    return map_other(o, d, gfn, gd, ggfn, readonly ? p2m_grant_map_ro : p2m_grant_map_rw);
}

int oracle_op_grant_unmap(struct oracle *o, domid_t d, gfn_t gfn)
{
    struct oracle_dom *od = oracle_dom_find(o, d);
    uint64_t g = gfn_x(gfn);
    if (!od)
        return -ESRCH;
    if (g >= od->max_gfn || !p2m_is_grant(od_type(od, g)))
        return -EINVAL;
    if (o->p2m_fail)
        return -ENOMEM;
    unmap_special(o, od, g);
    return 0;
}

/* ---- ioreq server ------------------------------------------------------------- */

int oracle_op_ioreq_server(struct oracle *o, domid_t d, unsigned server,
                           uint32_t flags)
{
    struct oracle_dom *od = oracle_dom_find(o, d);
    if (!od)
        return -ESRCH;
    /* Writes are the only thing a server can claim; 8 servers. */
    if (flags & ~XEN_DMOP_IOREQ_MEM_ACCESS_WRITE)
        return -EINVAL;
    if (server >= IOREQ_MAX_SERVERS)
        return -ENOENT;
    /* The type belongs to one server at a time. */
    if (flags) {
        if (od->ioreq_mapped)
            return -EBUSY;
        od->ioreq_mapped = true;
        od->ioreq_write = true;
        od->ioreq_server = server;
        return 0;
    }
    if (!od->ioreq_mapped || od->ioreq_server != server)
        return -EINVAL;
    od->ioreq_mapped = od->ioreq_write = false;
    od->ioreq_server = 0;
    for (uint64_t ci = 0; ci < od->nchunks; ci++) {
        struct oracle_chunk *c = od->chunks[ci];
        for (uint64_t i = 0; c && i < ORACLE_CHUNK; i++)
            if (c->type[i] == p2m_ioreq_server) {
                mark_gfn(od, (ci << ORACLE_CHUNK_SHIFT) + i);
                c->type[i] = od->ld_enabled ? p2m_ram_logdirty : p2m_ram_rw;
            }
    }
    return 0;
}

/* ---- populate-on-demand ------------------------------------------------------- */

int oracle_op_pod_target(struct oracle *o, domid_t d, uint64_t pages,
                         const uint64_t *added, uint64_t nadded, bool nomem)
{
    struct oracle_dom *od = oracle_dom_find(o, d);
    if (!od)
        return -ESRCH;
    if (pages < od->pod_count) {
        /* Shrinking frees from the head (p2m_pod_cache_get()). */
        uint64_t drop = od->pod_count - pages;
        memmove(od->pod_cache, od->pod_cache + drop, pages * sizeof(uint64_t));
        od->pod_count = pages;
        return 0;
    }
    uint64_t want = pages - od->pod_count;
    if (nadded > want)
        nadded = want;
    uint64_t *nc = realloc(od->pod_cache, (od->pod_count + nadded + 1) * sizeof(uint64_t));
    if (!nc)
        return -ENOMEM;
    od->pod_cache = nc;
    for (uint64_t i = 0; i < nadded; i++)
        od->pod_cache[od->pod_count++] = added[i];
    /* Short of the target only when the heap ran out. */
    return nadded < want ? (nomem ? -ENOMEM : -EIO) : 0;
}

int oracle_op_pod_mark(struct oracle *o, domid_t d, gfn_t gfn)
{
    struct oracle_dom *od = oracle_dom_find(o, d);
    uint64_t g = gfn_x(gfn);
    if (!od)
        return -ESRCH;
    if (g >= od->max_gfn)
        return -EINVAL;
    if (!oracle_gfn_empty(od, g))
        return -EEXIST;
    if (o->p2m_fail)
        return -ENOMEM;
    OD_TYPE_W(od, g) = p2m_populate_on_demand;
    OD_ACCESS_W(od, g) = p2m_access_rwx;
    od->pod_entries++;
    return 0;
}

bool oracle_pod_populate(struct oracle *o, struct oracle_dom *od, uint64_t g)
{
    if (!od->pod_count)
        return false;
    uint64_t m = od->pod_cache[0];
    memmove(od->pod_cache, od->pod_cache + 1, (od->pod_count - 1) * sizeof(uint64_t));
    od->pod_count--;
    od->pod_entries--;
    OD_MFN_W(od, g) = m;
    OD_TYPE_W(od, g) = od->ld_enabled ? p2m_ram_logdirty : p2m_ram_rw;
    OD_ACCESS_W(od, g) = p2m_access_rwx;
    m2p_set(o, m, g);
    oracle_mark(od, g, true);
    return true;
}

int oracle_op_set_access(struct oracle *o, domid_t d, gfn_t gfn,
                         p2m_access_t a)
{
    struct oracle_dom *od = oracle_dom_find(o, d);
    uint64_t g = gfn_x(gfn);
    if (!od)
        return -ESRCH;
    /* r_pw needs EPT paging-write, which this host lacks. */
    if (g >= od->max_gfn || (unsigned)a > p2m_access_n2rwx)
        return -EINVAL;
    /* mem_access_memop(): mem_access needs VMX with HAP (not NPT). */
    if (od->npt)
        return -EINVAL;
    if (oracle_split(o, od, g))
        return -ENOMEM;
    /* An entry without frame is not stored (reads as nothing mapped), so
     * it keeps no access; anything else keeps its type and frame. */
    if (od_type(od, g) == p2m_mmio_dm && od_mfn(od, g) == mfn_x(INVALID_MFN))
        return 0;
    OD_ACCESS_W(od, g) = (uint8_t)a;
    return 0;
}

int oracle_op_remove(struct oracle *o, domid_t d, gfn_t gfn)
{
    struct oracle_dom *od = oracle_dom_find(o, d);
    uint64_t g = gfn_x(gfn);
    if (!od)
        return -ESRCH;
    if (g >= od->max_gfn)
        return -EINVAL;
    /* A shared gfn is unshared first (a copy unless it is the last
     * sharer; -ENOMEM: nothing changed), then removed like any page. */
    if (od_type(od, g) == p2m_ram_shared) {
        int src = oracle_unshare(o, od, g, false, false, 0, 0);
        if (src)
            return src;
    }
    /* guest_remove_page(): paged-out gfns (oracle/paging.c); nothing to
     * release at a non-RAM gfn. */
    int prc = oracle_remove_paging(o, od, g);
    if (prc != 1)
        return prc;
    /* p2m_pod_decrease_reservation(): a PoD entry just goes. */
    if (od_type(od, g) == p2m_populate_on_demand) {
        if (o->p2m_fail)
            return -ENOMEM;
        OD_TYPE_W(od, g) = p2m_mmio_dm;
        od->pod_entries--;
        return 0;
    }
    /* A foreign mapping is removed with its reference. */
    if (od_type(od, g) == p2m_map_foreign) {
        if (o->p2m_fail)
            return -ENOMEM;
        unmap_special(o, od, g);
        return 0;
    }
    /* Direct MMIO is not the guest's to give back. */
    if (od_type(od, g) == p2m_mmio_direct)
        return -EPERM;
    if (!p2m_is_ram(od_type(od, g)))
        return -ENOENT;
    return unmap_ram_split(o, od, g);
}

int oracle_op_set_type(struct oracle *o, domid_t d, gfn_t gfn, p2m_type_t t)
{
    struct oracle_dom *od = oracle_dom_find(o, d);
    uint64_t g = gfn_x(gfn);
    if (!od)
        return -ESRCH;
    /* The skeleton's p2m_set_type() handles only the frame-less types. */
    if (t != p2m_mmio_dm && t != p2m_invalid)
        return -EINVAL;
    if (g >= od->max_gfn)
        return -EINVAL;
    /* Grant, foreign (and mmio_direct) entries are not replaced. */
    unsigned ot = od_type(od, g);
    if (p2m_is_grant(ot) || ot == p2m_map_foreign || ot == p2m_mmio_direct)
        return -EPERM;
    /* A shared gfn is unshared first, as for remove. */
    if (ot == p2m_ram_shared) {
        int src = oracle_unshare(o, od, g, false, false, 0, 0);
        if (src)
            return src;
    }
    /* set_typed_p2m_entry(): a RAM page there is removed and freed; either
     * type then reads back as mmio_dm (no mfn: is_epte_valid() false). */
    if (p2m_is_ram(od_type(od, g)) && unmap_ram_split(o, od, g))
        return -ENOMEM;
    if (od_type(od, g) == p2m_populate_on_demand)
        od->pod_entries--;
    OD_TYPE_W(od, g) = p2m_mmio_dm;
    OD_MFN_W(od, g) = mfn_x(INVALID_MFN);
    return 0;
}

int oracle_op_set_mmio(struct oracle *o, domid_t d, gfn_t gfn, mfn_t mfn,
                       p2m_access_t a)
{
    struct oracle_dom *od = oracle_dom_find(o, d);
    uint64_t g = gfn_x(gfn), m = mfn_x(mfn);
    if (!od)
        return -ESRCH;
    /* The domctl: a frame the host's physical address width can name, and
     * I/O memory the caller may map (host RAM is not). */
    if (g >= od->max_gfn || (unsigned)a > p2m_access_n2rwx ||
        m >= (1ULL << (HOST_PADDR_BITS - PAGE_SHIFT)))
        return -EINVAL;
    if (m < o->nr_frames)
        return -EPERM;
    /* Special entries stay, unless this is the same direct-MMIO mapping:
     * then only the access may change. */
    unsigned ot = od_type(od, g);
    if (p2m_is_grant(ot) || ot == p2m_map_foreign || ot == p2m_mmio_direct) {
        if (ot != p2m_mmio_direct || od_mfn(od, g) != m)
            return -EPERM;
        if (od_access(od, g) == a)
            return 0;
        if (o->p2m_fail)
            return -ENOMEM;
        OD_ACCESS_W(od, g) = (uint8_t)a;
        return 0;
    }
    /* As set_type: a shared gfn is unshared first (the sim's
     * replace_typed_entry(); Xen's set_typed_p2m_entry() does not unshare,
     * see README "Fuzzing"), then RAM there is removed (a superpage split
     * first).  Found by the fuzzer: scenarios/fuzz-found/set_mmio_shared.lua */
    if (ot == p2m_ram_shared) {
        int src = oracle_unshare(o, od, g, false, false, 0, 0);
        if (src)
            return src;
        ot = od_type(od, g);
    }
    if (p2m_is_ram(ot) && unmap_ram_split(o, od, g))
        return -ENOMEM;
    if (od_order(od, g) && oracle_split(o, od, g))
        return -ENOMEM;
    if (o->p2m_fail)
        return -ENOMEM;
    if (ot == p2m_populate_on_demand)
        od->pod_entries--;
    OD_TYPE_W(od, g) = p2m_mmio_direct;
    OD_MFN_W(od, g) = m;
    OD_ORDER_W(od, g) = 0;
    OD_ACCESS_W(od, g) = (uint8_t)a;
    if (g > od->max_mapped)
        od->max_mapped = g;
    return 0;
}

int oracle_op_clear_mmio(struct oracle *o, domid_t d, gfn_t gfn)
{
    struct oracle_dom *od = oracle_dom_find(o, d);
    uint64_t g = gfn_x(gfn);
    if (!od)
        return -ESRCH;
    if (g >= od->max_gfn || od_type(od, g) != p2m_mmio_direct ||
        od_mfn(od, g) == mfn_x(INVALID_MFN))
        return -EINVAL;
    if (o->p2m_fail)
        return -ENOMEM;
    OD_TYPE_W(od, g) = p2m_mmio_dm;
    OD_MFN_W(od, g) = mfn_x(INVALID_MFN);
    OD_ACCESS_W(od, g) = p2m_access_rwx;
    return 0;
}

int oracle_op_copy_to_guest(struct oracle *o, domid_t d, gpa_t gpa, size_t len)
{
    struct oracle_dom *od = oracle_dom_find(o, d);
    uint64_t g = gpa_x(gpa) >> PAGE_SHIFT;
    if (!od)
        return -ESRCH;
    /* hvm_copy_to_guest_phys(): one page, RAM the guest could write after a
     * fault (rw or logdirty), no EPT permission check. */
    if ((gpa_x(gpa) & ~PAGE_MASK) + len > PAGE_SIZE)
        return -EFAULT;
    /* A paged-out gfn: populate as a foreign caller, the copy retries. */
    if (g < od->max_gfn && (od_type(od, g) == p2m_ram_paging_out ||
                            od_type(od, g) == p2m_ram_paged ||
                            od_type(od, g) == p2m_ram_paging_in)) {
        oracle_populate(od, g, VM_EVENT_NO_VCPU);
        return -EAGAIN;
    }
    /* get_page_from_gfn(P2M_ALLOC) populates a PoD entry first. */
    if (g < od->max_gfn && od_type(od, g) == p2m_populate_on_demand &&
        !oracle_pod_populate(o, od, g))
        return -EFAULT;
    /* A write to a shared page unshares it first (P2M_UNSHARE); if no page
     * can be had the copy fails.  The copy must hold the shared bytes but
     * those written now. */
    if (g < od->max_gfn && od_type(od, g) == p2m_ram_shared) {
        uint64_t off = gpa_x(gpa) & ~PAGE_MASK;
        int src = oracle_unshare(o, od, g, false, true, off, off + len);
        if (src)
            return src;
    }
    /* Read-only RAM: __hvm_copy() discards the write (no mark). */
    if (g < od->max_gfn && od_type(od, g) == p2m_ram_ro &&
        od_mfn(od, g) != mfn_x(INVALID_MFN))
        return 0;
    if (g >= od->max_gfn ||
        !(p2m_is_pageable(od_type(od, g)) || od_type(od, g) == p2m_ioreq_server) ||
        od_mfn(od, g) == mfn_x(INVALID_MFN))
        return -EFAULT;
    /* The hypervisor wrote the page: paging_mark_dirty(); the type stays. */
    oracle_mark(od, g, true);
    return 0;
}

/* ---- log-dirty ------------------------------------------------------------------- */

/* The gfns of chunk ci that exist: entries past max_gfn are never
 * written (oracle_chunk_get() refuses them) and stay mmio_dm. */
static uint64_t chunk_gfns(const struct oracle_dom *od, uint64_t ci)
{
    uint64_t left = od->max_gfn - (ci << ORACLE_CHUNK_SHIFT);
    return left < ORACLE_CHUNK ? left : ORACLE_CHUNK;
}

static void retype_all(struct oracle_dom *od, p2m_type_t ot, p2m_type_t nt)
{
    for (uint64_t ci = 0; ci < od->nchunks; ci++) {
        struct oracle_chunk *c = od->chunks[ci];
        /* memchr() finds the next ot entry (types are below 256, one
         * byte each; a larger ot is in no entry). */
        for (uint64_t i = 0, n = chunk_gfns(od, ci); c && (unsigned)ot <= UINT8_MAX && i < n;
             i++) {
            const uint8_t *t = memchr(c->type + i, (int)ot, n - i);
            if (!t)
                break;
            i = (uint64_t)(t - c->type);
            mark_gfn(od, (ci << ORACLE_CHUNK_SHIFT) + i);
            c->type[i] = (uint8_t)nt;
        }
    }
}

/* Dirty bits [from, to) of od go into bm at the same bit positions: the
 * copy a PEEK makes.  Gfns past max_gfn are clean. */
static void copy_dirty(const struct oracle_dom *od, uint8_t *bm, uint64_t from,
                       uint64_t to)
{
    uint64_t end = to < od->max_gfn ? to : od->max_gfn;
    for (uint64_t g = from; g < end; g++) {
        const struct oracle_chunk *c = oracle_chunk(od, g);
        if (!c) { /* a chunk never written: all clean */
            g |= ORACLE_CHUNK - 1;
            continue;
        }
        /* A whole byte of gfns inside the range: its bits at once (the
         * byte is inside one chunk, whose size is a multiple of 8). */
        if (!(g % 8) && g + 8 <= end) {
            bm[g / 8] |= c->dirty[(g & (ORACLE_CHUNK - 1)) / 8];
            g += 7;
            continue;
        }
        if (oracle_test_dirty(od, g))
            bm[g / 8] |= (uint8_t)(1u << (g % 8));
    }
}

/* Clears the dirty bits of gfns [from, to) without touching dirty_count
 * (clear_page() / memset() in CLEAN; only the final zeroing counts). */
static void clear_dirty(struct oracle_dom *od, uint64_t from, uint64_t to)
{
    for (uint64_t g = from; g < to && g < od->max_gfn; g++) {
        struct oracle_chunk *c = od->chunks[g >> ORACLE_CHUNK_SHIFT];
        if (!c) {
            g |= ORACLE_CHUNK - 1;
            continue;
        }
        uint8_t *byte = &c->dirty[(g & (ORACLE_CHUNK - 1)) / 8];
        if (!*byte && !(g % 8)) {
            g += 7; /* eight clean gfns (the range may end inside: the loop stops) */
            continue;
        }
        if (!(*byte >> (g % 8) & 1))
            continue; /* clean already: no change, no mark */
        mark_gfn(od, g);
        *byte &= (uint8_t)~(1u << (g % 8));
    }
}

void oracle_op_logdirty_config(struct oracle *o, domid_t d, bool bitmap,
                               bool conservative)
{
    struct oracle_dom *od = oracle_dom_find(o, d);
    if (!od)
        return;
    od->ld_bitmap = bitmap;
    od->ld_conservative = conservative;
    /* The flat bitmap holds one bit per gfn of the domain, in whole 64-bit
     * words (the old bitmap_size), and lives in the smallest power-of-two
     * run of pages that holds those bytes. */
    od->ld_bits = (od->max_gfn + 63) / 64 * 64;
    od->ld_order = 0;
    while ((uint64_t)PAGE_SIZE << od->ld_order < od->ld_bits / 8)
        od->ld_order++;
}

bool oracle_heap_has_block(const struct host *h, unsigned order)
{
    /* Xen's buddy allocator: a block of order n is 2^n free frames starting
     * at a multiple of 2^n; MAX_ORDER is 20 on x86. */
    if (order > 20)
        return false;
    uint64_t n = 1ULL << order;
    for (uint64_t first = 0; first + n <= h->nr_frames; first += n) {
        uint64_t m = first;
        while (m < first + n && h->frames[m].use == PGU_FREE)
            m++;
        if (m == first + n)
            return true;
    }
    return false;
}

int oracle_op_logdirty_enable_heap(struct oracle *o, domid_t d,
                                   const struct host *h)
{
    struct oracle_dom *od = oracle_dom_find(o, d);
    if (!od)
        return -EINVAL;
    /* paging_domctl(): only the continuation while one is due. */
    if (od->ld_busy)
        return -EBUSY;
    if (od->ld_enabled)
        return -EINVAL;
    /* Refused while p2m_ioreq_server entries exist (ioreq.entry_count). */
    for (uint64_t ci = 0; ci < od->nchunks; ci++)
        if (od->chunks[ci] && /* one byte per type, as retype_all() */
            memchr(od->chunks[ci]->type, p2m_ioreq_server, chunk_gfns(od, ci)))
            return -EBUSY;
    /* Pre-2007: the bitmap is allocated first; without memory the domain
     * stays out of log-dirty mode.  The allocation is the next attempt. */
    if (od->ld_bitmap && h &&
        (h->fail_at == h->alloc_attempts + 1 ||
         (d < 32 && (h->fail_domains >> d & 1)) ||
         !oracle_heap_has_block(h, od->ld_order)))
        return -ENOMEM;
    /* hap_enable_log_dirty(): global rw -> logdirty; with PML the logs
     * start empty (the engine reports their frames).  The tree starts
     * empty; dirty_count is not touched. */
    od->ld_enabled = true;
    od->pml_on = od->pml_mode;
    clear_all_dirty(od);
    retype_all(od, p2m_ram_rw, p2m_ram_logdirty);
    return 0;
}

int oracle_op_logdirty_enable(struct oracle *o, domid_t d)
{
    return oracle_op_logdirty_enable_heap(o, d, NULL);
}

int oracle_op_logdirty_disable(struct oracle *o, domid_t d)
{
    struct oracle_dom *od = oracle_dom_find(o, d);
    if (!od)
        return -EINVAL;
    if (od->ld_busy)
        return -EBUSY;
    if (!od->ld_enabled)
        return -EINVAL;
    /* hap_disable_log_dirty() + paging_free_log_dirty_bitmap(): the tree
     * goes, dirty_count stays (only CLEAN zeroes it). */
    od->ld_enabled = false;
    od->ld_failed = false; /* failed_allocs reset with the tree */
    /* The logs are dropped: their flush would mark nothing now. */
    od->pml_on = false;
    memset(od->pml_log, 0, sizeof(od->pml_log));
    retype_all(od, p2m_ram_logdirty, p2m_ram_rw);
    clear_all_dirty(od);
    return 0;
}

/* pfns per L3 entry of the radix tree (an L2 node: 512 leaves of 32768
 * pfns) -- where Xen asks hypercall_preempt_check() -- per leaf, and in
 * the whole tree. */
#define ORACLE_LD_CHUNK (1ULL << 24)
#define ORACLE_LD_LEAF (1ULL << 15)
#define ORACLE_LD_TREE (1ULL << 42)

int oracle_op_logdirty_call(struct oracle *o, domid_t d,
                            struct oracle_ld_call *c)
{
    struct oracle_dom *od = oracle_dom_find(o, d);
    if (!od)
        return -EINVAL;
    /* A new op while a continuation is due, or a continuation of nothing
     * or of another op: -EBUSY (paging_domctl()). */
    if (c->resuming ? !od->ld_busy || od->ld_busy_clean != c->clean
                    : od->ld_busy)
        return -EBUSY;
    if (!od->ld_enabled)
        return -EINVAL;
    /* p2m_flush_hardware_cached_dirty() comes first (not on a
     * continuation). */
    if (!c->resuming)
        oracle_pml_flush_all(od);
    /* Stats on every call, as they are (the domain is paused between),
     * in the 32-bit fields of xen_domctl_shadow_op_stats (saturated). */
    c->dirty_count = od->dirty_count > UINT32_MAX ? UINT32_MAX : od->dirty_count;
    c->fault_count = 0; /* HAP never counts faults */
    /* A dropped mark makes the log unusable until disable (3.3). */
    if (od->ld_failed) {
        od->ld_busy = false;
        return -ENOMEM;
    }
    uint64_t want = c->pages;
    if (od->ld_bitmap) {
        /* The old code: sc->pages cut to bitmap_size, copied and (CLEAN)
         * cleared byte by byte, no preemption. */
        if (want > od->ld_bits)
            want = od->ld_bits;
        c->pages = want;
        copy_dirty(od, c->bitmap, 0, (want + 7) & ~7ULL);
        if (c->clean)
            clear_dirty(od, 0, (want + 7) & ~7ULL);
    } else {
        /* The walk in chunks of one L3 entry; only the last copy stops
         * short (rounded up to a byte).  CLEAN clears whole leaves. */
        uint64_t done = c->resuming ? od->ld_done : 0;
        while (done < want && done < ORACLE_LD_TREE) {
            uint64_t end = (done / ORACLE_LD_CHUNK + 1) * ORACLE_LD_CHUNK;
            uint64_t last = done + ((want - done + 7) & ~7ULL);
            if (end > last)
                end = last;
            copy_dirty(od, c->bitmap, done, end);
            if (c->clean)
                clear_dirty(od, done, (end + ORACLE_LD_LEAF - 1) /
                                          ORACLE_LD_LEAF * ORACLE_LD_LEAF);
            done = end;
            /* Preempted after every L3 entry but the tree's very last. */
            if (c->preempt && done < ORACLE_LD_TREE) {
                od->ld_busy = true;
                od->ld_busy_clean = c->clean;
                od->ld_done = done;
                return -ERESTART;
            }
        }
        if (done < want)
            c->pages = done;
    }
    od->ld_busy = false;
    if (c->clean) {
        /* hap_clean_dirty_bitmap() re-arms: global rw -> logdirty. */
        od->dirty_count = 0;
        retype_all(od, p2m_ram_rw, p2m_ram_logdirty);
    }
    return 0;
}

int oracle_op_logdirty_op(struct oracle *o, domid_t d, bool clean,
                          uint64_t pages, uint8_t *bitmap,
                          uint64_t *dirty_count)
{
    size_t bytes = (pages + 7) / 8;
    uint8_t *bm = bitmap ? bitmap : calloc(bytes ? bytes : 1, 1);
    if (!bm)
        return -ENOMEM;
    memset(bm, 0, bytes);
    struct oracle_ld_call c = { .clean = clean, .pages = pages, .bitmap = bm };
    int rc = oracle_op_logdirty_call(o, d, &c);
    if (dirty_count)
        *dirty_count = c.dirty_count;
    if (!bitmap)
        free(bm);
    return rc;
}

bool oracle_op_is_dirty(const struct oracle *o, domid_t d, gfn_t gfn)
{
    const struct oracle_dom *od = oracle_dom_find(o, d);
    if (!od || !od->ld_enabled)
        return false;
    /* 2007: "our dirty log is bogus ... be conservative". */
    if (od->ld_conservative && od->ld_failed)
        return true;
    return oracle_test_dirty(od, gfn_x(gfn));
}

void oracle_op_logdirty_mark_failed(struct oracle *o, domid_t d, gfn_t gfn)
{
    struct oracle_dom *od = oracle_dom_find(o, d);
    if (!od || !od->ld_enabled)
        return;
    /* The mark needed a new tree page, so the gfn was clean before this
     * step: whatever the oracle marked for it in this step is undone. */
    oracle_mark(od, gfn_x(gfn), false);
    od->ld_failed = true;
}

/* ---- the hardware view: EPTP and raw entries ------------------------------------------ */

void oracle_op_hap_config(struct oracle *o, domid_t d, bool npt)
{
    struct oracle_dom *od = oracle_dom_find(o, d);
    if (od)
        od->npt = npt;
}

void oracle_op_ept_config(struct oracle *o, domid_t d, uint64_t root_mfn,
                          bool ad)
{
    struct oracle_dom *od = oracle_dom_find(o, d);
    if (!od)
        return;
    od->root_mfn = root_mfn;
    od->ept_ad = ad;
    od->raw_walk = od->raw_walk || ad;
}

void oracle_op_shadow(struct oracle *o, domid_t d)
{
    struct oracle_dom *od = oracle_dom_find(o, d);
    if (od)
        od->shadow = true;
}

bool oracle_is_raw(const struct oracle_dom *od, uint64_t gfn)
{
    if (gfn < od->max_gfn)
        return od->raw && (od->raw[gfn / 8] >> (gfn % 8) & 1);
    for (unsigned i = 0; i < od->nraw_hi; i++)
        if (gfn >= od->raw_hi[i].lo && gfn <= od->raw_hi[i].hi)
            return true;
    return false;
}

void oracle_op_ept_raw(struct oracle *o, domid_t d, uint64_t gfn,
                       unsigned level, bool leaf_valid)
{
    struct oracle_dom *od = oracle_dom_find(o, d);
    if (!od || level < 1 || level > 4)
        return;
    uint64_t span = 1ULL << (9 * (level - 1));
    uint64_t lo = gfn & ~(span - 1), hi = lo + span - 1;
    od->raw_walk = true;
    if (!od->raw)
        od->raw = calloc((od->max_gfn + 7) / 8 + 1, 1);
    for (uint64_t g = lo; g <= hi && g < od->max_gfn && od->raw; g++)
        od->raw[g / 8] |= (uint8_t)(1u << (g % 8));
    /* The part beyond max_gfn: a range, merged with an equal one. */
    if (hi >= od->max_gfn) {
        uint64_t l2 = lo < od->max_gfn ? od->max_gfn : lo;
        bool have = false;
        for (unsigned i = 0; i < od->nraw_hi; i++)
            have = have || (od->raw_hi[i].lo <= l2 && od->raw_hi[i].hi >= hi);
        if (!have && od->nraw_hi < 64) {
            od->raw_hi[od->nraw_hi].lo = l2;
            od->raw_hi[od->nraw_hi++].hi = hi;
        } else if (!have) {
            /* Out of slots: one range covering everything above. */
            od->raw_hi[63].lo = od->max_gfn;
            od->raw_hi[63].hi = ~0ULL;
        }
    }
    if (leaf_valid && hi > od->max_mapped)
        od->max_mapped = hi;
}

/* ---- PML ------------------------------------------------------------------------------ */

void oracle_op_pml_config(struct oracle *o, domid_t d)
{
    struct oracle_dom *od = oracle_dom_find(o, d);
    if (!od || od->pml_mode)
        return;
    od->pml_gpa = calloc(SIM_MAX_VCPUS, sizeof(*od->pml_gpa));
    od->pml_mode = od->pml_gpa != NULL;
}

void oracle_op_pml_log(struct oracle *o, domid_t d, unsigned vcpu,
                       uint64_t log_hpa)
{
    struct oracle_dom *od = oracle_dom_find(o, d);
    if (!od || !od->pml_mode || vcpu >= SIM_MAX_VCPUS)
        return;
    od->pml_log[vcpu] = log_hpa;
    od->pml_idx[vcpu] = 511; /* an empty log (SDM 29.3.6) */
}

void oracle_pml_flush(struct oracle_dom *od, unsigned v, uint64_t *retyped,
                      unsigned *nretyped)
{
    unsigned n = 0;
    if (nretyped)
        *nretyped = 0;
    if (!od->pml_on || v >= SIM_MAX_VCPUS || !od->pml_log[v])
        return;
    /* Filled downwards from 511; after a full log the index is 0xFFFF. */
    for (unsigned i = (od->pml_idx[v] + 1) & 0xFFFF; i < 512; i++) {
        uint64_t g = od->pml_gpa[v][i] >> PAGE_SHIFT;
        if (g < od->max_gfn && od_type(od, g) == p2m_ram_logdirty) {
            OD_TYPE_W(od, g) = p2m_ram_rw;
            if (retyped && n < 512)
                retyped[n++] = g;
        }
        oracle_mark(od, g, true);
    }
    if (nretyped)
        *nretyped = n;
    od->pml_idx[v] = 511;
}

void oracle_pml_flush_all(struct oracle_dom *od)
{
    for (unsigned v = 0; v < SIM_MAX_VCPUS; v++)
        oracle_pml_flush(od, v, NULL, NULL);
}

/* ---- queries ------------------------------------------------------------------------ */

p2m_type_t oracle_p2m_type(const struct oracle *o, domid_t d, gfn_t gfn)
{
    const struct oracle_dom *od = oracle_dom_find(o, d);
    if (!od || gfn_x(gfn) >= od->max_gfn)
        return p2m_mmio_dm;
    return (p2m_type_t)od_type(od, gfn_x(gfn));
}

mfn_t oracle_p2m_mfn(const struct oracle *o, domid_t d, gfn_t gfn)
{
    const struct oracle_dom *od = oracle_dom_find(o, d);
    if (!od || gfn_x(gfn) >= od->max_gfn)
        return INVALID_MFN;
    return _mfn(od_mfn(od, gfn_x(gfn)));
}

unsigned oracle_p2m_order(const struct oracle *o, domid_t d, gfn_t gfn)
{
    const struct oracle_dom *od = oracle_dom_find(o, d);
    return od && gfn_x(gfn) < od->max_gfn ? od_order(od, gfn_x(gfn)) : 0;
}

p2m_access_t oracle_p2m_access(const struct oracle *o, domid_t d, gfn_t gfn)
{
    const struct oracle_dom *od = oracle_dom_find(o, d);
    return od && gfn_x(gfn) < od->max_gfn
               ? (p2m_access_t)od_access(od, gfn_x(gfn))
               : p2m_access_n;
}

bool oracle_is_dirty(const struct oracle *o, domid_t d, gfn_t gfn)
{
    const struct oracle_dom *od = oracle_dom_find(o, d);
    return od && oracle_test_dirty(od, gfn_x(gfn));
}
