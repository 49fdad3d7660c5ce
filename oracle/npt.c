/* SPDX-License-Identifier: MIT */
/*
 * oracle/npt.c - the oracle's own AMD nested-paging walker over raw tables
 * (docs/translation-rules.md "NPT walk"; AMD APM vol. 2, 15.25).  Shares
 * nothing with model/npt.c: it first reads the whole path (until a leaf or
 * a not-present entry), then judges it, then computes the A/D image.
 */
#include <string.h>

#include "oracle_priv.h"

#define ON_P 1ULL
#define ON_RW 2ULL
#define ON_US 4ULL
#define ON_A 0x20ULL
#define ON_D 0x40ULL
#define ON_PS 0x80ULL
#define ON_XD (1ULL << 63)
#define ON_ADDR 0x000FFFFFFFFFF000ULL

void oracle_npt_xlate(const struct hostmem *mem, uint64_t nr_frames,
                      const struct oracle_nptp *p, uint64_t gpa,
                      enum access_kind k, bool paging_access,
                      struct oracle_ept_result *out)
{
    oracle_npt_xlate_ov(mem, nr_frames, p, gpa, k, paging_access, NULL, out);
}

/* One entry: the overlay's value if this access already updated it (the
 * A/D flags an earlier nested walk of the same access set). */
static uint64_t npt_peek(const struct hostmem *mem, uint64_t nr_frames,
                         const struct oracle_ovl *ov, uint64_t hpa)
{
    for (unsigned i = 0; ov && i < ov->n; i++)
        if (ov->hpa[i] == hpa)
            return ov->val[i];
    return oracle_peek64(mem, nr_frames, hpa);
}

void oracle_npt_xlate_ov(const struct hostmem *mem, uint64_t nr_frames,
                         const struct oracle_nptp *p, uint64_t gpa,
                         enum access_kind k, bool paging_access,
                         const struct oracle_ovl *ov,
                         struct oracle_ept_result *out)
{
    memset(out, 0, sizeof(*out));
    uint64_t addr[4], val[4];
    unsigned n = 0, lvl = 4, top = 4, skipped = 0;
    uint64_t base = p->root_mfn << 12;
    bool leaf = false;
    /* An NPT PSC start (AMD nested paging caches nested upper-level
     * entries): the deepest one covering gpa. */
    const struct oracle_npsc *st = NULL;
    for (unsigned i = 0; i < p->nstarts; i++) {
        const struct oracle_npsc *c = &p->starts[i];
        if (c->level >= 2 && c->level <= 4
            && c->gpa_prefix == gpa >> (12 + 9 * (c->level - 1))
            && (!st || c->level < st->level))
            st = c;
    }
    if (st) {
        top = lvl = st->level - 1;
        skipped = 4 - top;
        base = st->table_hpa & ON_ADDR;
    }
    /* Read the path. */
    for (;;) {
        addr[n] = base + 8 * ((gpa >> (3 + 9 * lvl)) & 0x1FF);
        val[n] = npt_peek(mem, nr_frames, ov, addr[n]);
        uint64_t e = val[n++];
        if (!(e & ON_P))
            break;
        if (lvl == 1 || ((lvl == 2 || lvl == 3) && (e & ON_PS))) {
            leaf = true;
            break;
        }
        base = e & ON_ADDR;
        lvl--;
    }
    out->refs = n + skipped;

    bool wr = k == ACC_WRITE, fe = k == ACC_FETCH;
    uint64_t info = 4 /* U: nested accesses are user accesses */ |
                    (wr ? 2 : 0) | (fe && p->nxe ? 0x10 : 0) |
                    (paging_access ? 1ULL << 33 : 1ULL << 32);
    /* Judge each entry in order: reserved bits, then (at the end) rights. */
    unsigned mp = p->maxphyaddr && p->maxphyaddr < 52 ? p->maxphyaddr : 52;
    for (unsigned i = 0; i < n; i++) {
        uint64_t e = val[i];
        unsigned l = top - i;
        if (!(e & ON_P)) {
            out->outcome = OE_VIOLATION;
            out->qual = info;
            out->refs = skipped + i + 1;
            return;
        }
        bool bad = false;
        if (mp < 52 && ((e >> mp) & ((1ULL << (52 - mp)) - 1)))
            bad = true;
        if (!p->nxe && (e & ON_XD))
            bad = true;
        if (l == 4 && (e & ON_PS))
            bad = true;
        if (leaf && i == n - 1 && l == 2 && ((e >> 13) & 0xFF))
            bad = true;
        if (leaf && i == n - 1 && l == 3 && ((e >> 13) & 0x1FFFF))
            bad = true;
        if (bad) {
            out->outcome = OE_VIOLATION;
            out->qual = info | 1 | 8;
            out->refs = skipped + i + 1; /* the walk stops at the bad entry */
            return;
        }
    }
    bool us = !st || st->u, rw = !st || st->w, xd = st && st->nx;
    bool us0 = us, rw0 = rw, xd0 = xd;
    for (unsigned i = 0; i < n; i++) {
        us = us && (val[i] & ON_US);
        rw = rw && (val[i] & ON_RW);
        xd = xd || (val[i] & ON_XD);
    }
    if (!us || (wr && !rw) || (fe && p->nxe && xd)) {
        out->outcome = OE_VIOLATION;
        out->qual = info | 1;
        return;
    }
    unsigned l = top + 1 - n; /* level of the leaf */
    /* The non-leaf entries read: what an NPT PSC may now hold. */
    for (unsigned i = 0; i + 1 < n && out->nnpsc < 3; i++) {
        unsigned el = top - i;
        us0 = us0 && (val[i] & ON_US);
        rw0 = rw0 && (val[i] & ON_RW);
        xd0 = xd0 || (val[i] & ON_XD);
        out->npsc[out->nnpsc++] = (struct oracle_npsc){
            el, gpa >> (12 + 9 * (el - 1)), val[i] & ON_ADDR, us0, rw0, xd0 };
    }
    uint64_t size = 1ULL << (12 + 9 * (l - 1));
    out->outcome = OE_OK;
    out->hpa = (val[n - 1] & ON_ADDR & ~(size - 1)) | (gpa & (size - 1));
    out->shift = 12 + 9 * (l - 1);
    /* Memory type: the leaf's PAT index (PWT, PCD, and PAT: bit 7 in a
     * PTE, bit 12 in a PDE/PDPTE leaf) looked up in Xen's host PAT
     * (XEN_MSR_PAT: WB WT UC- UC WC WP UC UC), APM 15.25.8. */
    {
        static const unsigned hpat[8] = { 6, 4, 7, 0, 1, 5, 0, 0 };
        uint64_t le = val[n - 1];
        unsigned pi = ((le & 8) ? 1u : 0u) | ((le & 0x10) ? 2u : 0u) |
                      (((l == 1 ? le >> 7 : le >> 12) & 1) ? 4u : 0u);
        out->memtype = hpat[pi];
    }
    out->nupd = n;
    for (unsigned i = 0; i < n; i++) {
        uint64_t v = val[i] | ON_A | (i == n - 1 && wr ? ON_D : 0);
        out->upd[i].hpa = addr[i];
        out->upd[i].value = v;
        out->refs += v != val[i];
    }
}

/*
 * The deferred global type change of p2m-pt (translation-rules.md "NPT
 * recalculation"), as the oracle states it.  Xen's
 * p2m_pt_change_entry_type_global() clears U (the recalc marker) in the
 * PML4Es; a nested walk reaching a present leaf through (or at) a marked
 * entry takes a #NPF with P set, on which the hypervisor recalculates
 * that gfn's path (do_recalc()) and the guest retries.
 */

/* Does the walk of gfn's nested path reach a present leaf with a U-clear
 * entry on the way (at any level, the leaf included)?  Reads the sim's
 * tables (the marker is where Xen keeps the pending change); no marker
 * on a path whose leaf is not present counts: that walk faults with P
 * clear first (APM 15.25.6: the #NPF is then a not-present one). */
bool oracle_npt_recalc_pending(const struct hostmem *mem, uint64_t nr_frames,
                               uint64_t root_mfn, uint64_t gfn)
{
    uint64_t table = root_mfn;
    bool marked = false;
    for (unsigned lvl = 4; lvl >= 1; lvl--) {
        if (table >= nr_frames)
            return false;
        uint64_t e = oracle_peek64(mem, nr_frames,
                                   (table << 12) + 8 * ((gfn >> (9 * (lvl - 1))) & 0x1FF));
        if (!(e & ON_P))
            return false;
        marked = marked || !(e & ON_US);
        if (lvl == 1 || ((lvl == 2 || lvl == 3) && (e & ON_PS)))
            return marked;
        table = (e & ON_ADDR) >> 12;
    }
    return false;
}

/* p2m_recalc_type_range() for the oracle's domain state: ram_rw,
 * ram_logdirty and ioreq_server (the changeable types) become
 * ram_logdirty while log-dirty is on, else ram_rw -- except ioreq_server
 * while a server holds the type; every other type stays. */
unsigned oracle_npt_recalc_type(const struct oracle_dom *od, unsigned t)
{
    if (t != p2m_ram_rw && t != p2m_ram_logdirty && t != p2m_ioreq_server)
        return t;
    if (t == p2m_ioreq_server && od->ioreq_mapped)
        return t;
    return od->ld_enabled ? p2m_ram_logdirty : p2m_ram_rw;
}

/* Does the nested entry p (an NPT PSC entry some CPU holds) equal what a
 * nested walk of the tables in memory now would cache (the next table's
 * address; U/S, R/W ANDed and XD ORed from the root down to it)? */
bool oracle_npt_entry_current(const struct hostmem *mem, uint64_t nr_frames,
                              uint64_t root_mfn, const struct oracle_npsc *p)
{
    if (p->level < 2 || p->level > 4)
        return false;
    uint64_t gpa = p->gpa_prefix << (12 + 9 * (p->level - 1));
    uint64_t base = root_mfn << 12;
    bool us = true, rw = true, xd = false;
    for (unsigned lvl = 4; lvl >= p->level; lvl--) {
        uint64_t e = oracle_peek64(mem, nr_frames,
                                   base + 8 * ((gpa >> (12 + 9 * (lvl - 1))) & 0x1FF));
        if (!(e & ON_P) || (lvl < 4 && (e & ON_PS)))
            return false; /* not present, or a leaf: nothing cached */
        us = us && (e & ON_US);
        rw = rw && (e & ON_RW);
        xd = xd || (e & ON_XD);
        base = e & ON_ADDR;
    }
    return base == p->table_hpa && us == p->u && rw == p->w && xd == p->nx;
}
