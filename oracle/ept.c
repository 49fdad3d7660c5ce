/* SPDX-License-Identifier: MIT */
/*
 * oracle/ept.c - the oracle's own EPT walker over raw tables
 * (docs/translation-rules.md "EPT walk"; SDM Vol. 3C 29.3).
 *
 * Written from the rules, sharing nothing with model/ept.c: the walk is a
 * loop from the root -- or from below an EPT paging-structure-cache entry
 * the caller allows (oracle_eptp.starts) -- that first collects the
 * entries it reads, then judges the collected path (misconfiguration per
 * entry in walk order, the first non-present entry, the permissions at the
 * leaf), then computes the A/D image and the EPT PSC entries a CPU may now
 * hold.  Memory is only read.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oracle_priv.h"

#define OE_RWX 7ULL

/* Is entry e at level lvl (1 = PT) misconfigured?  *big: it is a large
 * leaf (bit 7 at level 2 or 3). */
static bool oe_bad(uint64_t e, unsigned lvl, unsigned maxphy, bool *big)
{
    unsigned r = e & 1, w = (e >> 1) & 1;
    *big = (lvl == 2 || lvl == 3) && ((e >> 7) & 1);
    if (w && !r)
        return true;
    if (maxphy < 52 && ((e >> maxphy) & ((1ULL << (52 - maxphy)) - 1)))
        return true;
    if (lvl >= 4)
        return ((e >> 3) & 0x1F) != 0;
    if (lvl != 1 && !*big)
        return ((e >> 3) & 0xF) != 0;
    switch ((e >> 3) & 7) { /* memory type of a leaf */
    case 2: case 3: case 7:
        return true;
    default:
        break;
    }
    if (*big) {
        unsigned low_bits = lvl == 2 ? 9 : 18; /* address bits 20:12 / 29:12 */
        if ((e >> 12) & ((1ULL << low_bits) - 1))
            return true;
    }
    return false;
}

/* One entry: the overlay's value if the access already updated it. */
static uint64_t ov_peek(const struct hostmem *mem, uint64_t nr_frames,
                        const struct oracle_ovl *ov, uint64_t hpa)
{
    for (unsigned i = 0; ov && i < ov->n; i++)
        if (ov->hpa[i] == hpa)
            return ov->val[i];
    return oracle_peek64(mem, nr_frames, hpa);
}

void oracle_ovl_put(struct oracle_ovl *ov, uint64_t hpa, uint64_t v)
{
    unsigned i = 0;
    while (i < ov->n && ov->hpa[i] != hpa)
        i++;
    if (i == ov->n) {
        /* Sized for the most one access can change (a PML flush retyping
         * 512 leaves, plus the walks' A/D updates).  Dropping an entry
         * would leave the raw walker reading a stale one and predicting
         * from it, so stop loudly, as oracle_chunk_get() does. */
        if (ov->n == ORACLE_MAX_EPT_AD) {
            fprintf(stderr, "oracle: EPT overlay full: more than %u entries changed "
                            "by one access (ORACLE_MAX_EPT_AD), at hpa %#" PRIx64 "\n",
                    ORACLE_MAX_EPT_AD, hpa);
            abort();
        }
        ov->n++;
    }
    ov->hpa[i] = hpa;
    ov->val[i] = v;
}

void oracle_ovl_apply(struct oracle_ovl *ov, const struct oracle_ept_result *r)
{
    for (unsigned u = 0; u < r->nupd; u++)
        oracle_ovl_put(ov, r->upd[u].hpa, r->upd[u].value);
}

void oracle_ept_xlate(const struct hostmem *mem, uint64_t nr_frames,
                     const struct oracle_eptp *p, uint64_t gpa,
                     enum access_kind k, bool paging_access,
                     struct oracle_ept_result *out)
{
    oracle_ept_xlate_ov(mem, nr_frames, p, gpa, k, paging_access, NULL, out);
}

void oracle_ept_xlate_ov(const struct hostmem *mem, uint64_t nr_frames,
                         const struct oracle_eptp *p, uint64_t gpa,
                         enum access_kind k, bool paging_access,
                         const struct oracle_ovl *ov,
                         struct oracle_ept_result *out)
{
    memset(out, 0, sizeof(*out));
    out->pml_index = p->pml_index;
    unsigned nlev = p->levels == 5 ? 5 : 4;
    unsigned maxphy = p->maxphyaddr && p->maxphyaddr < 52 ? p->maxphyaddr : 52;
    bool counts_as_write = k == ACC_WRITE || (p->ad && paging_access);
    uint64_t kind_bits = (k == ACC_READ ? 1 : k == ACC_WRITE ? 2 : 4) |
                         (counts_as_write ? 2 : 0);
    uint64_t qual = kind_bits | EPTQ_GLA_VALID |
                    (paging_access ? 0 : EPTQ_GLA_XLATE);
    unsigned need = (k == ACC_READ ? 1u : k == ACC_WRITE ? 2u : 4u) |
                    (counts_as_write ? 2u : 0u);
    /* MBEC: a fetch from a user-mode address needs bit 10 instead. */
    bool need_xu = p->mbec && k == ACC_FETCH && p->user_la;
    bool xu_all = true; /* AND of bit 10 over the walk */

    uint64_t addr[5], val[5];
    unsigned n = 0, top = nlev, skipped = 0;
    uint64_t base = p->root_mfn << 12;
    unsigned rights = 7;
    /* An EPT paging-structure-cache start (SDM 29.4.1: a cached
     * guest-physical mapping holds the next table's address and the AND
     * of the rights down to it): the deepest one covering gpa. */
    const struct oracle_epsc *st = NULL;
    for (unsigned i = 0; i < p->nstarts; i++) {
        const struct oracle_epsc *c = &p->starts[i];
        if (c->level >= 2 && c->level <= nlev
            && c->gpa_prefix == gpa >> (12 + 9 * (c->level - 1))
            && (!st || c->level < st->level))
            st = c;
    }
    if (st) {
        top = st->level - 1;
        skipped = nlev - top;
        base = st->table_hpa & 0x000FFFFFFFFFF000ULL;
        rights = st->rights & 7;
        xu_all = p->mbec && (st->rights & 8);
        out->refs = skipped; /* as if made, as the model counts them */
    }
    /* The non-leaf entries read, for the EPT PSC entries of an OE_OK. */
    unsigned crights[5];
    bool cxu[5];
    for (unsigned lvl = top; lvl >= 1; lvl--) {
        unsigned shift = 12 + 9 * (lvl - 1);
        addr[n] = base + 8 * ((gpa >> shift) & 0x1FF);
        val[n] = ov_peek(mem, nr_frames, ov, addr[n]);
        out->refs++;
        uint64_t e = val[n++];
        bool xu = p->mbec && ((e >> 10) & 1);
        if ((e & OE_RWX) == 0 && !xu) {
            out->outcome = OE_VIOLATION;
            out->qual = qual; /* readable/writable/executable: 0 */
            return;
        }
        bool big;
        if (oe_bad(e, lvl, maxphy, &big)) {
            out->outcome = OE_MISCONFIG;
            return;
        }
        rights &= (unsigned)(e & OE_RWX);
        xu_all = xu_all && xu;
        crights[n - 1] = rights;
        cxu[n - 1] = xu_all;
        if (lvl == 1 || big) {
            bool allowed = need_xu ? xu_all : (rights & need) == need;
            if (!allowed) {
                out->outcome = OE_VIOLATION;
                out->qual = qual | ((uint64_t)rights << 3) |
                            (p->mbec && xu_all ? 1ULL << 6 : 0);
                return;
            }
            uint64_t size = 1ULL << shift;
            out->outcome = OE_OK;
            out->hpa = (e & 0x000FFFFFFFFFF000ULL & ~(size - 1)) |
                       (gpa & (size - 1));
            out->memtype = (e >> 3) & 7;
            out->ipat = (e >> 6) & 1;
            out->shift = shift;
            out->rights = rights | (p->mbec && xu_all ? 8u : 0u);
            /* The entries above the leaf: what an EPT PSC may now hold
             * (only from a walk that succeeded, as the model fills: every
             * entry on it present and well configured). */
            for (unsigned i = 0; i + 1 < n && out->nepsc < 4; i++) {
                unsigned el = top - i;
                out->epsc[out->nepsc++] = (struct oracle_epsc){
                    el, gpa >> (12 + 9 * (el - 1)),
                    val[i] & 0x000FFFFFFFFFF000ULL,
                    crights[i] | (p->mbec && cxu[i] ? 8u : 0u) };
            }
            if (p->ad && p->pml) {
                /* PML (SDM 29.3.6): a flag to set with the index out of
                 * 0..511 is a log-full exit; a D set 0 -> 1 is logged. */
                bool flags_to_set = false;
                for (unsigned i = 0; i < n; i++)
                    if (!(val[i] & EPT_A))
                        flags_to_set = true;
                bool d_set = counts_as_write && !(val[n - 1] & EPT_D);
                if ((flags_to_set || d_set) && p->pml_index > 511) {
                    memset(out, 0, sizeof(*out));
                    out->outcome = OE_PML_FULL;
                    out->refs = skipped + n;
                    out->pml_index = p->pml_index;
                    return;
                }
                if (d_set) {
                    out->pml_logged = true;
                    out->pml_hpa = p->pml_log + 8ULL * p->pml_index;
                    out->pml_value = gpa & ~0xFFFULL;
                    out->pml_index = (p->pml_index - 1) & 0xFFFF;
                    out->refs++;
                }
            }
            if (p->ad) {
                out->nupd = n;
                for (unsigned i = 0; i < n; i++) {
                    uint64_t v = val[i] | EPT_A;
                    if (i == n - 1 && counts_as_write)
                        v |= EPT_D;
                    /* Two path entries in one word cannot happen: each
                     * level is its own table. */
                    out->upd[i].hpa = addr[i];
                    out->upd[i].value = v;
                    out->refs += v != val[i];
                }
            }
            return;
        }
        base = e & 0x000FFFFFFFFFF000ULL;
    }
}

/* Does the EPT entry p (an EPT PSC entry some CPU holds) equal what a walk
 * of the tables in memory now would cache (SDM 29.4.1: the next table's
 * address, the R/W/X AND from the root down to it)?  Bit 3 of p->rights
 * (bit 10's AND, MBEC) may be set only where every entry down to it has
 * bit 10; clear is always taken (a walk without MBEC caches none). */
bool oracle_ept_entry_current(const struct hostmem *mem, uint64_t nr_frames,
                              uint64_t root_mfn, unsigned levels,
                              const struct oracle_epsc *p)
{
    unsigned nlev = levels == 5 ? 5 : 4;
    if (p->level < 2 || p->level > nlev)
        return false;
    uint64_t gpa = p->gpa_prefix << (12 + 9 * (p->level - 1));
    uint64_t base = root_mfn << 12;
    unsigned rights = 7;
    bool xu_all = true;
    for (unsigned lvl = nlev; lvl >= p->level; lvl--) {
        uint64_t e = oracle_peek64(mem, nr_frames,
                                   base + 8 * ((gpa >> (12 + 9 * (lvl - 1))) & 0x1FF));
        bool xu = (e >> 10) & 1, big;
        if (((e & OE_RWX) == 0 && !xu) || oe_bad(e, lvl, 52, &big) || big)
            return false; /* nothing is cached from it */
        rights &= (unsigned)(e & OE_RWX);
        xu_all = xu_all && xu;
        base = e & 0x000FFFFFFFFFF000ULL;
    }
    return base == p->table_hpa && (p->rights & 7) == rights
           && (!(p->rights & 8) || xu_all);
}
