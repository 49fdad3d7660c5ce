/* SPDX-License-Identifier: MIT */
/*
 * oracle/decode.c - the oracle's own tables and its readers of sim state.
 *
 * - oracle_type_perms(): Xen's ept_p2m_type_to_flags() (p2m-ept.c:69, table
 *   in xen-paging.md 1.4) for access rwx, no EPT A/D, no PML;
 * - names for reports;
 * - decoders of the sim's EPT (ept_entry_t layout, xen-paging.md 1.4) and of
 *   the log-dirty radix tree (asm/paging.h geometry, xen-paging.md 3.1),
 *   reading host memory only through hostmem_frame_peek().
 * Table walks visit each table once (a frame bitmap), so a corrupted tree
 * that shares or loops tables is reported instead of walked forever.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "oracle_priv.h"

/* ---- per-type tables ------------------------------------------------------ */

unsigned oracle_type_perms(unsigned t)
{
    switch (t) {
    case p2m_ram_rw:
    case p2m_mmio_direct: /* w unless the mfn is in mmio_ro_ranges: none here */
        return 7;          /* r w x */
    case p2m_ram_logdirty: /* w only with PML; this host has none */
    case p2m_ram_ro:
    case p2m_ram_shared:
        return 5;          /* r - x */
    case p2m_grant_map_rw:
    case p2m_map_foreign:
    case p2m_ioreq_server: /* w unless a server claims writes: none here */
        return 3;          /* r w - */
    case p2m_grant_map_ro:
        return 1;          /* r - - */
    default:               /* invalid, mmio_dm, pod, paging_*, broken */
        return 0;
    }
}

/* The access restriction, as a mask of what each p2m_access_t still allows
 * (r_pw never reaches an entry here: set_access refuses it). */
unsigned oracle_perms(unsigned t, unsigned a)
{
    static const unsigned allow[] = {
        [p2m_access_n] = 0, [p2m_access_r] = 1, [p2m_access_w] = 2,
        [p2m_access_rw] = 3, [p2m_access_x] = 4, [p2m_access_rx] = 5,
        [p2m_access_wx] = 6, [p2m_access_rwx] = 7, [p2m_access_rx2rw] = 5,
        [p2m_access_n2rwx] = 0, [p2m_access_r_pw] = 1,
    };
    return oracle_type_perms(t) & (a < sizeof allow / sizeof allow[0] ? allow[a] : 7);
}

unsigned oracle_gfn_perms(const struct oracle_dom *od, uint64_t g)
{
    return oracle_dom_perms(od, od_type(od, g), od_access(od, g));
}

unsigned oracle_dom_perms(const struct oracle_dom *od, unsigned t, unsigned a)
{
    unsigned p = oracle_perms(t, a);
    if (t == p2m_ioreq_server && od->ioreq_write)
        p &= ~2u;
    return p;
}

const char *oracle_type_name(unsigned t, char buf[16])
{
    static const char *const names[P2M_NR_TYPES] = {
        [p2m_ram_rw] = "ram_rw",
        [p2m_invalid] = "invalid",
        [p2m_ram_logdirty] = "ram_logdirty",
        [p2m_ram_ro] = "ram_ro",
        [p2m_mmio_dm] = "mmio_dm",
        [p2m_mmio_direct] = "mmio_direct",
        [p2m_populate_on_demand] = "populate_on_demand",
        [p2m_grant_map_rw] = "grant_map_rw",
        [p2m_grant_map_ro] = "grant_map_ro",
        [p2m_ram_paging_out] = "ram_paging_out",
        [p2m_ram_paged] = "ram_paged",
        [p2m_ram_paging_in] = "ram_paging_in",
        [p2m_ram_shared] = "ram_shared",
        [p2m_ram_broken] = "ram_broken",
        [p2m_map_foreign] = "map_foreign",
        [p2m_ioreq_server] = "ioreq_server",
    };
    if (t < P2M_NR_TYPES)
        return names[t];
    snprintf(buf, 16, "type#%u", t);
    return buf;
}

const char *oracle_perm_name(unsigned perm)
{
    static const char *const names[8] = { "---", "r--", "-w-", "rw-",
                                          "--x", "r-x", "-wx", "rwx" };
    return names[perm & 7];
}

const char *oracle_hex(uint64_t v, char buf[24])
{
    if (v == ~0ULL)
        return "INVALID";
    snprintf(buf, 24, "%#" PRIx64, v);
    return buf;
}

/* ---- host memory ------------------------------------------------------------ */

uint64_t oracle_peek64(const struct hostmem *mem, uint64_t nr_frames,
                       uint64_t hpa)
{
    uint64_t v = 0;
    if ((hpa >> PAGE_SHIFT) >= nr_frames)
        return 0;
    const uint8_t *f = hostmem_frame_peek(mem, _mfn(hpa >> PAGE_SHIFT));
    if (f)
        memcpy(&v, f + (hpa & ~PAGE_MASK & ~7ULL), sizeof(v));
    return v;
}

/* ---- EPT ------------------------------------------------------------------------ */

/* oracle_epte_decode(): inline in oracle_priv.h. */

/* ---- NPT (p2m-pt format) ------------------------------------------------------- */

#define ONPT_P 1ULL
#define ONPT_RW 2ULL
#define ONPT_U 4ULL
#define ONPT_PCD 0x10ULL
#define ONPT_A 0x20ULL
#define ONPT_D 0x40ULL
#define ONPT_PS 0x80ULL
#define ONPT_NX (1ULL << 63)
#define ONPT_BASE (ONPT_P | ONPT_U | ONPT_A | ONPT_D)
#define ORACLE_NPT_ADDR 0x000FFFFFFFFFF000ULL

uint64_t oracle_npt_type_flags(unsigned t, bool ioreq_write)
{
    switch (t) {
    case p2m_ram_rw:
        return ONPT_BASE | ONPT_RW;
    case p2m_ram_logdirty: /* write-protected: no PML on SVM */
    case p2m_ram_ro:
    case p2m_ram_shared:
        return ONPT_BASE;
    case p2m_mmio_direct:
        return ONPT_BASE | ONPT_RW | ONPT_PCD;
    case p2m_grant_map_rw:
    case p2m_map_foreign:
        return ONPT_BASE | ONPT_RW | ONPT_NX;
    case p2m_ioreq_server:
        return ONPT_BASE | (ioreq_write ? 0 : ONPT_RW) | ONPT_NX;
    case p2m_grant_map_ro:
        return ONPT_BASE | ONPT_NX;
    default: /* not present, NX set */
        return ONPT_NX;
    }
}

void oracle_npte_decode(uint64_t e, struct oracle_epte *out)
{
    bool any = (e & 0xFFFULL) || (e >> 52);
    unsigned t = any ? (unsigned)((e >> 52) & 0x7F) : p2m_invalid;
    out->perm = (e & ONPT_P) ? (1u | ((e & ONPT_RW) ? 2u : 0u) |
                                ((e & ONPT_NX) ? 0u : 4u))
                             : 0u;
    /* p2m_pt_get_entry(): a not-present leaf reads as mmio_dm unless it is
     * PoD or paging; p2m_invalid reads as mmio_dm. */
    bool keeps = t == p2m_populate_on_demand || t == p2m_ram_paging_out ||
                 t == p2m_ram_paged || t == p2m_ram_paging_in;
    if (t == p2m_invalid || (!(e & ONPT_P) && !keeps)) {
        out->type = p2m_mmio_dm;
        out->mfn = mfn_x(INVALID_MFN);
        return;
    }
    out->type = t;
    out->mfn = ORACLE_EPTE_MFN(e);
    if (out->mfn == ORACLE_EPTE_MFN_NONE)
        out->mfn = mfn_x(INVALID_MFN);
}

void oracle_p2m_decode(bool npt, uint64_t e, struct oracle_epte *out)
{
    if (npt)
        oracle_npte_decode(e, out);
    else
        oracle_epte_decode(e, out);
}

struct ept_walker {
    const struct host *h;
    const struct oracle_ept_visit *v;
    uint8_t *seen; /* one bit per host frame */
    unsigned tables;
    bool npt;      /* nested page tables instead of an EPT */
};

static bool claim_frame(uint8_t *seen, uint64_t m)
{
    if (seen[m / 8] >> (m % 8) & 1)
        return false;
    seen[m / 8] |= (uint8_t)(1u << (m % 8));
    return true;
}

/* level 3 = PML4 ... 0 = leaf table; base = first gfn the table covers;
 * clr: NPT, ONPT_U when an entry above is a recalc marker (U clear, Xen's
 * set_recalc()), cleared in every leaf reported below it so that a leaf
 * arrives with U clear exactly when its path holds a marker. */
static void walk_ept_table(struct ept_walker *w, uint64_t m, unsigned level,
                      uint64_t base, uint64_t clr)
{
    const uint8_t *f = hostmem_frame_peek(w->h->mem, _mfn(m));
    w->tables++;
    if (w->v->table)
        w->v->table(w->v->ctx, m);
    if (!f) /* never written: 512 not-present entries */
        return;
    static const uint8_t zero[64];
    for (unsigned i = 0; i < 512; i++) {
        /* A zero entry is not present at any level (EPT: bits 2:0 clear;
         * NPT: P clear and not a superpage marker) and reported nowhere:
         * eight of them at a time are skipped (the tables of small domains
         * are mostly empty; this loop was a sixth of the fuzzer's CPU). */
        if (!(i & 7) && !memcmp(f + 8 * i, zero, sizeof zero)) {
            i += 7;
            continue;
        }
        uint64_t e;
        memcpy(&e, f + 8 * i, sizeof(e));
        uint64_t gfn = base + ((uint64_t)i << (9 * level));
        if (level == 0) {
            if (e)
                w->v->leaf(w->v->ctx, gfn, (e & ONPT_P) ? e & ~clr : e, 0);
            continue;
        }
        /* SDM 29.3.2: bits 2:0 = 0 is not present; the rest is ignored.
         * NPT: P = 0 (a not-present superpage with PS is still a leaf). */
        if (w->npt ? !(e & ONPT_P) && !(level < 3 && (e & ONPT_PS) && e)
                   : !(e & ORACLE_RWX))
            continue;
        /* Bit 7 in a PDE / PDPTE: a 2 MiB / 1 GiB leaf (ept_entry_t.sp);
         * reserved in a PML4E.  Each gfn it covers is reported with its
         * own frame, so callers compare per gfn. */
        if (e & EPTE_SP) {
            if (level == 3) {
                w->v->bad(w->v->ctx, gfn, level, "sp bit in a PML4E", e);
                continue;
            }
            uint64_t n = 1ULL << (9 * level), m = ORACLE_EPTE_MFN(e);
            if (m & (n - 1))
                w->v->bad(w->v->ctx, gfn, level, "superpage frame misaligned", e);
            if (e & ONPT_P)
                e &= ~clr;
            for (uint64_t j = 0; j < n; j++) {
                uint64_t f = m == ORACLE_EPTE_MFN_NONE ? m : m + j;
                w->v->leaf(w->v->ctx, gfn + j,
                           (e & ~EPT_ADDR_MASK) | (f << PAGE_SHIFT), 9 * level);
            }
            continue;
        }
        /* ept_set_middle_entry() gives every table entry r = w = x = 1, so
         * the leaf alone decides permissions; p2m_next_level() gives
         * P|RW|U|A|D and no NX. */
        if (w->npt) {
            /* ... or with U clear: the recalc marker of a deferred global
             * type change (p2m_pt_change_entry_type_global()). */
            if (((e | ONPT_U) & (0xFFFULL | ONPT_NX) & ~0xF18ULL) !=
                (ONPT_BASE | ONPT_RW))
                w->v->bad(w->v->ctx, gfn, level,
                          "table entry not P|RW|U|A|D without NX", e);
        } else if ((e & ORACLE_RWX) != ORACLE_RWX) {
            w->v->bad(w->v->ctx, gfn, level, "table entry not rwx", e);
        }
        uint64_t next = (e & EPT_ADDR_MASK) >> PAGE_SHIFT;
        if (next >= w->h->nr_frames) {
            w->v->bad(w->v->ctx, gfn, level, "table frame out of range", e);
            continue;
        }
        if (!claim_frame(w->seen, next)) {
            w->v->bad(w->v->ctx, gfn, level, "table frame shared", e);
            continue;
        }
        walk_ept_table(w, next, level - 1, gfn,
                       clr | (w->npt && !(e & ONPT_U) ? ONPT_U : 0));
    }
}

static unsigned walk_root(const struct host *h, mfn_t root,
                          const struct oracle_ept_visit *v, bool npt)
{
    if (mfn_x(root) >= h->nr_frames) {
        v->bad(v->ctx, 0, 4, "root frame out of range", mfn_x(root));
        return 0;
    }
    struct ept_walker w = { h, v, calloc(h->nr_frames / 8 + 1, 1), 0, npt };
    if (!w.seen)
        return 0;
    claim_frame(w.seen, mfn_x(root));
    walk_ept_table(&w, mfn_x(root), 3, 0, 0);
    free(w.seen);
    return w.tables;
}

unsigned oracle_ept_walk(const struct host *h, mfn_t root,
                         const struct oracle_ept_visit *v)
{
    return walk_root(h, root, v, false);
}

unsigned oracle_npt_walk(const struct host *h, mfn_t root,
                         const struct oracle_ept_visit *v)
{
    return walk_root(h, root, v, true);
}

uint64_t oracle_npt_lookup(const struct host *h, mfn_t root, uint64_t gfn)
{
    uint64_t table = mfn_x(root);
    for (int level = 3; level >= 0; level--) {
        if (table >= h->nr_frames)
            return 0;
        unsigned idx = (unsigned)(gfn >> (9 * level)) & 511;
        uint64_t e = oracle_peek64(h->mem, h->nr_frames,
                                   (table << PAGE_SHIFT) + 8 * idx);
        if (level == 0)
            return e;
        if ((e & ONPT_PS) && level < 3) {
            uint64_t m = ORACLE_EPTE_MFN(e);
            if (m != ORACLE_EPTE_MFN_NONE)
                m += gfn & ((1ULL << (9 * level)) - 1);
            return (e & ~ORACLE_NPT_ADDR) | (m << PAGE_SHIFT);
        }
        if (!(e & ONPT_P))
            return 0;
        table = ORACLE_EPTE_MFN(e);
    }
    return 0;
}

/* The EPT entry that maps gfn as ept_get_entry() finds it (a superpage
 * leaf with the frame of gfn inside it), 0 if none; *order is the leaf's
 * order (0, 9 or 18; 0 also when nothing maps gfn). */
uint64_t oracle_ept_lookup_order(const struct host *h, mfn_t root, uint64_t gfn,
                                 unsigned *order)
{
    uint64_t table = mfn_x(root);
    *order = 0;
    for (int level = 3; level >= 0; level--) {
        if (table >= h->nr_frames)
            return 0;
        unsigned idx = (unsigned)(gfn >> (9 * level)) & 511;
        uint64_t e = oracle_peek64(h->mem, h->nr_frames,
                                   (table << PAGE_SHIFT) + 8 * idx);
        if (level == 0)
            return e;
        if (!(e & ORACLE_RWX))
            return 0;
        if ((e & EPTE_SP) && level < 3) {
            uint64_t m = ORACLE_EPTE_MFN(e);
            if (m != ORACLE_EPTE_MFN_NONE)
                m += gfn & ((1ULL << (9 * level)) - 1);
            *order = 9u * (unsigned)level;
            return (e & ~EPT_ADDR_MASK) | (m << PAGE_SHIFT);
        }
        table = (e & EPT_ADDR_MASK) >> PAGE_SHIFT;
    }
    return 0;
}

uint64_t oracle_ept_lookup(const struct host *h, mfn_t root, uint64_t gfn)
{
    unsigned order;
    return oracle_ept_lookup_order(h, root, gfn, &order);
}

/* ---- log-dirty radix tree ------------------------------------------------------- */

struct ld_walker {
    const struct host *h;
    const struct oracle_ld_visit *v;
    uint8_t *seen;
    unsigned frames;
};

/* Checks a node entry's frame; true when it may be followed. */
static bool ld_take(struct ld_walker *w, uint64_t m, const char *what)
{
    if (m >= w->h->nr_frames) {
        w->v->bad(w->v->ctx, what, m);
        return false;
    }
    if (!claim_frame(w->seen, m)) {
        w->v->bad(w->v->ctx, "frame referenced twice", m);
        return false;
    }
    w->frames++;
    if (w->v->frame)
        w->v->frame(w->v->ctx, m);
    return true;
}

/* An interior node: 512 mfns, INVALID_MFN where absent.  depth 0 = top (L4),
 * 1 = L3, 2 = L2 (whose entries are leaves). */
static void ld_node(struct ld_walker *w, uint64_t m, unsigned depth,
                    uint64_t base)
{
    static const unsigned shift[3] = { PAGE_SHIFT + 3 + 18, PAGE_SHIFT + 3 + 9,
                                       PAGE_SHIFT + 3 };
    const uint8_t *f = hostmem_frame_peek(w->h->mem, _mfn(m));
    if (!f) {
        /* Nodes are initialised to INVALID_MFN; a zero node would point 512
         * times at frame 0. */
        w->v->bad(w->v->ctx, "node never initialised", m);
        return;
    }
    /* Absent entries are INVALID_MFN, all ones, and a small domain's
     * nodes hold one or two others: runs of 64 and of 8 absent entries
     * are passed with one memcmp() each (entry by entry, this loop was
     * most of a dirty-log walk, three nodes of 512 entries for a handful
     * of leaves). */
    static const uint64_t absent[64] = { [0 ... 63] = ~0ULL };
    for (unsigned i = 0; i < LOGDIRTY_NODE_ENTRIES; i++) {
        if (!(i & 63) && i + 64 <= LOGDIRTY_NODE_ENTRIES &&
            !memcmp(f + 8 * i, absent, sizeof absent)) {
            i += 63;
            continue;
        }
        if (!(i & 7) && i + 8 <= LOGDIRTY_NODE_ENTRIES &&
            !memcmp(f + 8 * i, absent, 8 * sizeof(absent[0]))) {
            i += 7;
            continue;
        }
        uint64_t e;
        memcpy(&e, f + 8 * i, sizeof(e));
        if (e == mfn_x(INVALID_MFN))
            continue;
        uint64_t pfn = base + ((uint64_t)i << shift[depth]);
        if (depth == 2) {
            if (ld_take(w, e, "leaf frame out of range"))
                w->v->leaf(w->v->ctx, pfn, hostmem_frame_peek(w->h->mem, _mfn(e)));
        } else if (ld_take(w, e, "node frame out of range")) {
            ld_node(w, e, depth + 1, pfn);
        }
    }
}

unsigned oracle_ld_walk(const struct host *h, mfn_t top,
                        const struct oracle_ld_visit *v)
{
    if (mfn_eq(top, INVALID_MFN))
        return 0;
    /* the frames claimed, a bit each: on the stack for a small host (the
     * fuzzers' 1,024 frames; a calloc() and free() per walk cost as much
     * as a third of the walk's nodes), else from the heap */
    uint8_t small[1024];
    size_t nb = h->nr_frames / 8 + 1;
    struct ld_walker w = { h, v, nb <= sizeof small ? small : calloc(nb, 1), 0 };
    if (!w.seen)
        return 0;
    if (w.seen == small)
        memset(small, 0, nb);
    if (ld_take(&w, mfn_x(top), "top frame out of range"))
        ld_node(&w, mfn_x(top), 0, 0);
    if (w.seen != small)
        free(w.seen);
    return w.frames;
}

/* ---- reporting ---------------------------------------------------------------------- */

void oracle_report(struct oracle_reporter *r, const char *expected,
                   const char *actual, const char *fmt, ...)
{
    if (r->found++ >= ORACLE_REPORT_CAP)
        return;
    char field[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(field, sizeof field, fmt, ap);
    va_end(ap);
    if (r->fn)
        r->fn(r->ctx, field, expected, actual);
}

unsigned oracle_report_done(struct oracle_reporter *r)
{
    if (r->found > ORACLE_REPORT_CAP && r->fn) {
        char more[48];
        snprintf(more, sizeof more, "%u more not shown",
                 r->found - ORACLE_REPORT_CAP);
        r->fn(r->ctx, "oracle.truncated", "", more);
    }
    return r->found;
}
