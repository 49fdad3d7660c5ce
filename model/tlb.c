/* SPDX-License-Identifier: MIT */
/*
 * model/tlb.c - TLBs and the cycle cost model (see pagesim/tlb.h).
 *
 * Arrays: [0] dTLB 4K, [1] dTLB 2M, [2] dTLB 1G, [3] iTLB 4K, [4] STLB
 * (4K and 2M).  A translation is cached at the smaller of the guest and EPT
 * page sizes (a 2 MiB guest page over 4 KiB EPT pages is cached as 4 KiB
 * pieces).  Set index = vpn mod sets (a mask when sets is a power of
 * two); LRU by a global stamp.
 *
 * Paging-structure caches: one set-associative array per level of the
 * cached entry, for the guest (combined mappings: VPID, PCID, EPTP tags,
 * the next table's gpa and hpa, the rights down to the entry) and for the
 * EPT (guest-physical mappings: EPTP tag, the next table, the R/W/X AND).
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "pagesim/tlb.h"
#include "pagesim/mutant.h"

struct tlbe {
    uint64_t vpn;   /* va >> shift */
    uint64_t hbase; /* hpa of the page */
    uint64_t gbase; /* gpa of the page */
    uint64_t eptp;  /* EPT root mfn */
    uint16_t vpid, pcid;
    uint8_t valid, shift, rights, pkey, eperm;
    uint8_t gshift; /* the guest page size: invalidation covers all of it */
};

struct tlb_arr {
    unsigned sets, ways;
    uint64_t mask; /* sets - 1 when sets is a power of two, else NOT_POW2 */
    struct tlbe *e;
    /* Parallel to e[], so that a set is searched in one or two cache
     * lines: key[i] = tkey(vpn, shift) of a valid entry, 0 otherwise;
     * lru[i] the stamp of its last use. */
    uint64_t *key, *lru;
    unsigned ord_top; /* host-side: 4 * (ways - 1), the last rank's nibble */
    unsigned has; /* page sizes ever filled (bit per tkey class): lets a
                   * lookup skip a size never cached -- only a hint */
    /* Host-side only (not simulated state; not in tlb_state_digest()):
     * per set, its ways in LRU order, one nibble each, oldest first
     * (nibble 0 is the way lru_victim() would pick), or 0 when stale.
     * Kept for every array of 2..16 ways (NULL otherwise) so that
     * miss_fast() finds its fills' victims without scanning the stamps;
     * see "LRU order" below. */
    uint64_t *ord;
    /* Host-side only, arrays of 8..16 ways: per set, 16 bytes, byte w the
     * key_hash() of way w's key (ways with key 0 excepted), so that a key
     * absent from a set is mostly ruled out with two word tests instead
     * of 12 compares (kf_may_hold()). */
    uint8_t *kf;
    /* Host-side only: one bit per set that may hold a key (set by every
     * fill, cleared when an invalidation emptied the whole array), so
     * that the invalidations (FOR_EACH_ENTRY) visit the sets filled
     * since the last full flush instead of every way of every set --
     * tlb_invept(type 2) runs after every hypervisor operation (Xen's
     * ept_sync_domain()), mostly on a nearly empty TLB.  Invariant: a
     * set whose bit is clear holds no key (tlb_fast_state_ok()). */
    uint64_t *occ;
};

/* The search key of an entry: page number and size class, never 0. */
static inline uint64_t tkey(uint64_t vpn, unsigned shift)
{
    return vpn << 3 | (uint64_t)((shift - 12) / 9) << 1 | 1;
}

/* The set an index number falls in: no division on the hot path (mask:
 * pow2_mask(sets); one test, as sets - 1 is 0 for a single set). */
#define NOT_POW2 UINT64_MAX
static inline uint64_t set_of(uint64_t n, unsigned sets, uint64_t mask)
{
    return mask != NOT_POW2 ? n & mask : n % sets;
}

/* One paging-structure-cache entry. */
struct psce {
    uint64_t tag;     /* va >> (12 + 9 * (level - 1)); EPT: gpa >> same */
    uint64_t eptp;
    uint64_t tbl_gpa; /* guest: the next table's gpa (EPT: unused) */
    uint64_t tbl_hpa; /* the next table's host-physical address */
    uint64_t rights;  /* guest: PTE_U/W ANDed, PTE_NX ORed; EPT: perms */
    uint64_t stamp;
    uint16_t vpid, pcid;
    uint8_t valid;
};

struct psc_arr {
    unsigned sets, ways;
    uint64_t mask;
    struct psce *e; /* NULL: no cache at this level */
    /* Host-side only: false when no entry can be valid (none filled since
     * the array was last emptied by a full drop), so the drops skip it. */
    bool any;
};

struct mmu_epsc {
    struct mmu_tlb *t;
    struct psc_arr a[6];
};

/* One AMD page-walk-cache entry (a profile with pwc): a guest non-leaf
 * entry cached under its own guest-physical address, so that any walk
 * reaching that address uses it, whichever linear address it translates
 * (AMD's PWC is indexed by the entry's physical address, not by the
 * linear address; ../shared/reference/x86-paging.md, the 2D page-walk
 * papers).  Tagged like the guest PSC entries (VPID/ASID, PCID, EPTP,
 * and the paging mode, as a 32-bit entry is read as 4 bytes). */
struct pwce {
    uint64_t gpa;    /* the entry's guest-physical address */
    uint64_t val;    /* its value as read, the accessed flag set */
    uint64_t eptp;
    uint64_t prefix; /* va >> lvl_shift(level) of the filling walk: only
                      * MUT_PWC_KEYED_BY_PREFIX looks at it */
    uint64_t stamp;
    uint16_t vpid, pcid;
    uint8_t valid, mode; /* mode: pwc_mode() */
};

struct pwc_arr {
    unsigned sets, ways;
    uint64_t mask;
    struct pwce *e; /* NULL: no cache at this level */
    bool any;       /* as psc_arr.any */
};

/* The tags of the access being walked, for mmu_pwc_lookup() (set up by
 * tlb_access_slow() before each walk). */
struct mmu_pwc {
    struct mmu_tlb *t;
    uint64_t eptp, va;
    uint16_t vpid, pcid;
    uint8_t mode;
    unsigned hits; /* entries this walk took from the cache */
};

enum { A_D4K, A_D2M, A_D1G, A_I4K, A_STLB, NR_ARR };

/* The PT-line cache: per way, the line's tag (hpa >> 6, plus 1 so that
 * 0 means empty) and the stamp of its last use. */
struct ptc_way {
    uint64_t tag1, stamp;
};

struct mmu_tlb {
    const struct cpu_profile *p;
    struct tlb_arr a[NR_ARR];
    struct ptc_way *ptc; /* PT-line cache */
    unsigned ptc_sets;
    uint64_t ptc_mask;
    uint64_t stamp;
    struct tlb_stats st;
    struct psc_arr psc[6]; /* guest PSCs by level (2..5); none with pwc */
    struct pwc_arr pwc[6]; /* p->pwc: the AMD page walk cache by level */
    struct mmu_pwc pwc_ctx;
    struct mmu_epsc epsc;  /* EPT PSCs */
    /* The PAE PDPTE registers (SDM 4.4.1): valid for CR3 pae_cr3 once
     * tlb_pae_load() read them; the vCPU's walks in PAE mode use them. */
    bool pae_valid;
    uint64_t pae_cr3, pdpte[4];
    /* Host-side lookup hints of miss_fast() (no simulated state; not in
     * tlb_state_digest()): the guest PDE-cache and EPT PDE-cache entries
     * and the PT-line-cache ways it used last.  A hint is only believed
     * after its contents are compared, so it can never change a result. */
    struct psce *psc_hint, *epsc_hint;
    struct ptc_way *ptc_hint[2];
    uint64_t lat_miss0; /* lat_l1tlb + lat_stlb + lat_walk of the profile */
    bool fast_pde; /* both PDE caches (guest and EPT) exist: miss_fast() */
    bool pae_gp; /* the last tlb_pae_load() found a reserved bit: #GP */
    /* The last tlb_pae_load()'s EPT exit (MMU_OK: none), tlb_pae_exit(). */
    enum mmu_outcome pae_exit;
    uint64_t pae_exit_qual, pae_exit_gpa;
};

static uint64_t pow2_mask(unsigned sets)
{
    return sets && !(sets & (sets - 1)) ? sets - 1 : NOT_POW2;
}

static bool arr_init(struct tlb_arr *a, struct tlb_geom g)
{
    a->ways = g.ways ? g.ways : 1;
    a->sets = g.entries / a->ways ? g.entries / a->ways : 1;
    a->mask = pow2_mask(a->sets);
    a->ord_top = 4 * (a->ways - 1);
    a->e = calloc((size_t)a->sets * a->ways, sizeof(*a->e));
    a->key = calloc((size_t)a->sets * a->ways, sizeof(*a->key));
    a->lru = calloc((size_t)a->sets * a->ways, sizeof(*a->lru));
    a->occ = calloc((a->sets + 63) / 64, sizeof(*a->occ));
    return a->e && a->key && a->lru && a->occ;
}

/* The LRU order (tlb_arr.ord), when the geometry allows it. */
static bool arr_init_ord(struct tlb_arr *a)
{
    if (a->ways < 2 || a->ways > 16)
        return true;
    a->ord = calloc(a->sets, sizeof(*a->ord)); /* all stale */
    if (a->ways >= 8) /* below, a scan of the keys is as cheap */
        a->kf = calloc(a->sets, 16);
    return a->ord && (a->ways < 8 || a->kf);
}

/* A byte of the key for the set filter (tlb_arr.kf). */
static inline uint8_t key_hash(uint64_t k)
{
    return (uint8_t)((k * 0x9E3779B97F4A7C15ULL) >> 56);
}

/* Way w of a set took key k. */
static inline void kf_set(struct tlb_arr *a, size_t set, unsigned w, uint64_t k)
{
    if (a->kf)
        a->kf[set * 16 + w] = key_hash(k);
}

/* Could the set hold key k (k != 0)?  false: no way has it -- every way
 * with a key has that key's byte, and no byte of the set is k's (the
 * zero-byte test's lowest hit is exact, so "any" is).  true: maybe (a
 * byte collides, or an empty way's leftover byte), scan the keys. */
static inline bool kf_may_hold(const struct tlb_arr *a, size_t set, uint64_t k)
{
#if defined(__SSE2__)
    /* The same test in one 16-byte compare (SSE2 is in every x86-64). */
    __m128i f = _mm_loadu_si128((const __m128i *)(const void *)&a->kf[set * 16]);
    return _mm_movemask_epi8(_mm_cmpeq_epi8(f, _mm_set1_epi8((char)key_hash(k)))) != 0;
#else
    const uint64_t l = 0x0101010101010101ULL, h = l << 7, b = l * key_hash(k);
    uint64_t x, y;
    __builtin_memcpy(&x, &a->kf[set * 16], 8);
    __builtin_memcpy(&y, &a->kf[set * 16 + 8], 8);
    x ^= b;
    y ^= b;
    return ((((x - l) & ~x) | ((y - l) & ~y)) & h) != 0;
#endif
}

static bool psc_init(struct psc_arr *a, struct tlb_geom g)
{
    if (!g.entries)
        return true; /* none at this level */
    a->ways = g.ways ? g.ways : 1;
    a->sets = g.entries / a->ways ? g.entries / a->ways : 1;
    a->mask = pow2_mask(a->sets);
    a->e = calloc((size_t)a->sets * a->ways, sizeof(*a->e));
    return a->e != NULL;
}

static bool pwc_init(struct pwc_arr *a, struct tlb_geom g)
{
    if (!g.entries)
        return true;
    a->ways = g.ways ? g.ways : 1;
    a->sets = g.entries / a->ways ? g.entries / a->ways : 1;
    a->mask = pow2_mask(a->sets);
    a->e = calloc((size_t)a->sets * a->ways, sizeof(*a->e));
    return a->e != NULL;
}

struct mmu_tlb *tlb_new(const struct cpu_profile *p)
{
    struct mmu_tlb *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->p = p;
    bool ok = arr_init(&t->a[A_D4K], p->dtlb4k) && arr_init(&t->a[A_D2M], p->dtlb2m)
              && arr_init(&t->a[A_D1G], p->dtlb1g) && arr_init(&t->a[A_I4K], p->itlb4k)
              && arr_init(&t->a[A_STLB], p->stlb);
    for (int i = 0; i < NR_ARR; i++)
        ok = ok && arr_init_ord(&t->a[i]);
    for (int l = 2; l <= 5; l++)
        ok = ok && (p->pwc ? pwc_init(&t->pwc[l], p->psc[l])
                           : psc_init(&t->psc[l], p->psc[l]))
             && psc_init(&t->epsc.a[l], p->epsc[l]);
    t->pwc_ctx.t = t;
    t->epsc.t = t;
    t->ptc_sets = p->ptc_lines / p->ptc_ways;
    t->ptc_mask = pow2_mask(t->ptc_sets);
    t->ptc = calloc(p->ptc_lines, sizeof(*t->ptc));
    if (!ok || !t->ptc) {
        tlb_destroy(t);
        return NULL;
    }
    t->lat_miss0 = (uint64_t)p->lat_l1tlb + p->lat_stlb + p->lat_walk;
    t->fast_pde = t->psc[2].e && t->epsc.a[2].e;
    /* Empty ways (tag1 0) never match a line (tag1 >= 1). */
    t->ptc_hint[0] = t->ptc_hint[1] = &t->ptc[0];
    return t;
}

void tlb_destroy(struct mmu_tlb *t)
{
    if (!t)
        return;
    for (int i = 0; i < NR_ARR; i++) {
        free(t->a[i].e);
        free(t->a[i].key);
        free(t->a[i].lru);
        free(t->a[i].ord);
        free(t->a[i].kf);
        free(t->a[i].occ);
    }
    for (int l = 2; l <= 5; l++) {
        free(t->psc[l].e);
        free(t->pwc[l].e);
        free(t->epsc.a[l].e);
    }
    free(t->ptc);
    free(t);
}

const struct cpu_profile *tlb_profile(const struct mmu_tlb *t)
{
    return t->p;
}

void tlb_stats(const struct mmu_tlb *t, struct tlb_stats *s)
{
    *s = t->st;
}

/* FNV-1a over the words of every cache structure (for the differential
 * tests of the fast paths; not on any hot path). */
static uint64_t dg(uint64_t h, uint64_t x)
{
    for (int i = 0; i < 8; i++, x >>= 8)
        h = (h ^ (x & 0xFF)) * 0x100000001B3ULL;
    return h;
}

static uint64_t psc_digest(uint64_t h, const struct psc_arr *a)
{
    for (size_t i = 0; a->e && i < (size_t)a->sets * a->ways; i++) {
        const struct psce *e = &a->e[i];
        h = dg(h, e->valid);
        if (!e->valid)
            continue;
        h = dg(dg(dg(dg(h, e->tag), e->eptp), e->tbl_gpa), e->tbl_hpa);
        h = dg(dg(dg(h, e->rights), e->stamp), (uint64_t)e->vpid << 16 | e->pcid);
    }
    return h;
}

uint64_t tlb_state_digest(const struct mmu_tlb *t)
{
    uint64_t h = 0xCBF29CE484222325ULL;
    for (int ai = 0; ai < NR_ARR; ai++) {
        const struct tlb_arr *a = &t->a[ai];
        for (size_t i = 0; i < (size_t)a->sets * a->ways; i++) {
            h = dg(dg(h, a->key[i]), a->lru[i]);
            if (!a->key[i])
                continue;
            const struct tlbe *e = &a->e[i];
            h = dg(dg(dg(dg(h, e->vpn), e->hbase), e->gbase), e->eptp);
            h = dg(h, (uint64_t)e->vpid << 48 | (uint64_t)e->pcid << 32
                          | (uint64_t)e->shift << 24 | (uint64_t)e->rights << 16
                          | (uint64_t)e->pkey << 8 | e->eperm);
            h = dg(dg(h, e->gshift), e->valid);
        }
        h = dg(h, a->has);
    }
    for (int l = 2; l <= 5; l++)
        h = psc_digest(psc_digest(h, &t->psc[l]), &t->epsc.a[l]);
    for (int l = 2; l <= 5; l++)
        for (size_t i = 0; t->pwc[l].e && i < (size_t)t->pwc[l].sets * t->pwc[l].ways; i++) {
            const struct pwce *e = &t->pwc[l].e[i];
            h = dg(h, e->valid);
            if (e->valid)
                h = dg(dg(dg(dg(dg(h, e->gpa), e->val), e->eptp), e->stamp),
                       (uint64_t)e->vpid << 24 | (uint64_t)e->pcid << 8 | e->mode);
        }
    for (unsigned i = 0; i < t->p->ptc_lines; i++)
        h = dg(dg(h, t->ptc[i].tag1), t->ptc[i].stamp);
    const struct tlb_stats *s = &t->st;
    h = dg(dg(dg(dg(h, s->l1_hits), s->stlb_hits), s->walks), s->cycles);
    h = dg(dg(dg(dg(h, s->walk_refs), s->psc_hits), s->epsc_hits), t->stamp);
    return h;
}

/* ---- LRU order ------------------------------------------------------------------
 *
 * lru_victim() scans a set's stamps for the first way of the smallest; on
 * the 12-way STLB that is a chain of 12 dependent compares per miss.  The
 * order (tlb_arr.ord) keeps the answer ready.  Invariant, per set, when
 * ord[set] != 0: nibble j (j = 0 .. ways-1) is the way of rank j when the
 * ways are sorted by (lru stamp, way index) ascending, and the nibbles
 * above ways-1 are 0.  So nibble 0 is the first way of the smallest stamp
 * -- lru_victim()'s answer -- empty ways (stamp 0) first in index order.
 * Every write of a stamp keeps the invariant or marks the set stale:
 *   - a stamp set to ++t->stamp (a touch or a fill: larger than every
 *     stamp in the array) moves the way to the last rank (ord_touch);
 *   - a stamp set to 0 (KILL) marks the set stale (ord_stale);
 * and a stale set is rebuilt from the stamps when its victim is needed
 * (ord_victim).  A valid order is never 0 (ways >= 2 distinct nibbles). */

/* Rebuilds a set's order from its stamps (insertion sort, stable: equal
 * stamps -- the empty ways -- keep index order). */
static uint64_t ord_build(const uint64_t *lru, unsigned ways)
{
    unsigned w[16];
    for (unsigned i = 0; i < ways; i++) {
        unsigned j = i;
        for (; j > 0 && lru[w[j - 1]] > lru[i]; j--)
            w[j] = w[j - 1];
        w[j] = i;
    }
    uint64_t x = 0;
    for (unsigned i = 0; i < ways; i++)
        x |= (uint64_t)w[i] << (4 * i);
    return x;
}

/* The victim of set 'set' (its base index base): lru_victim()'s way. */
static inline unsigned ord_victim(struct tlb_arr *a, size_t set, size_t base)
{
    uint64_t x = a->ord[set];
    if (!x)
        x = a->ord[set] = ord_build(&a->lru[base], a->ways);
    return (unsigned)(x & 15);
}

/* Way w of a set got the largest stamp of the array: last rank.  The
 * rank of w is the lowest zero nibble of x ^ (w in every nibble) (the
 * lowest one the borrow trick reports is exact); nibbles at and above
 * 'ways' are 0 in x but not w's, unless w is 0 -- hence the mask. */
static inline void ord_touch(struct tlb_arr *a, size_t set, unsigned w)
{
    if (!a->ord)
        return;
    uint64_t x = a->ord[set];
    if (!x)
        return; /* stale: rebuilt from the stamps when needed */
    const uint64_t ones = 0x1111111111111111ULL;
    unsigned ways = a->ways;
    uint64_t y = x ^ (ones * w);
    uint64_t z = (y - ones) & ~y & (ones << 3);
    if (ways < 16)
        z &= (1ULL << (4 * ways)) - 1;
    unsigned r = (unsigned)__builtin_ctzll(z) >> 2; /* w's rank: present */
    uint64_t low = x & ((1ULL << (4 * r)) - 1);
    uint64_t high = r < 15 ? x >> (4 * r + 4) : 0;
    a->ord[set] = low | high << (4 * r) | (uint64_t)w << (4 * (ways - 1));
}

/* ord_touch() of the victim ord_victim() just gave (rank 0). */
static inline void ord_fill_victim(struct tlb_arr *a, size_t set)
{
    uint64_t x = a->ord[set];
    a->ord[set] = x >> 4 | (x & 15) << a->ord_top;
}

static inline void ord_stale(struct tlb_arr *a, size_t set)
{
    if (a->ord)
        a->ord[set] = 0;
}

/* See tlb.h: every set's LRU order stale or equal to its stamps', every
 * way with a key filtered by its byte, every set with a key marked in
 * the occupancy bitmap, no valid entry in a PSC array marked empty. */
bool tlb_fast_state_ok(const struct mmu_tlb *t)
{
    for (int ai = 0; ai < NR_ARR; ai++) {
        const struct tlb_arr *a = &t->a[ai];
        for (size_t i = 0; i < (size_t)a->sets * a->ways; i++) {
            size_t set = i / a->ways;
            if (a->key[i] && !(a->occ[set / 64] >> (set % 64) & 1))
                return false;
        }
        for (size_t set = 0; a->ord && set < a->sets; set++) {
            if (a->ord[set] && a->ord[set] != ord_build(&a->lru[set * a->ways], a->ways))
                return false;
            for (unsigned w = 0; a->kf && w < a->ways; w++) {
                uint64_t k = a->key[set * a->ways + w];
                if (k && (a->kf[set * 16 + w] != key_hash(k) || !kf_may_hold(a, set, k)))
                    return false;
            }
        }
    }
    for (int l = 2; l <= 5; l++) {
        const struct psc_arr *as[2] = { &t->psc[l], &t->epsc.a[l] };
        for (int j = 0; j < 2; j++)
            for (size_t i = 0; as[j]->e && !as[j]->any
                               && i < (size_t)as[j]->sets * as[j]->ways; i++)
                if (as[j]->e[i].valid)
                    return false;
        const struct pwc_arr *w = &t->pwc[l];
        for (size_t i = 0; w->e && !w->any && i < (size_t)w->sets * w->ways; i++)
            if (w->e[i].valid)
                return false;
    }
    return true;
}

/* ---- lookup and fill ---------------------------------------------------------- */

static inline struct tlbe *arr_find(struct tlb_arr *a, uint64_t va,
                                    unsigned shift, uint16_t vpid,
                                    uint16_t pcid, uint64_t eptp)
{
    if (!(a->has >> ((shift - 12) / 9) & 1))
        return NULL;
    uint64_t vpn = va >> shift, k = tkey(vpn, shift);
    size_t base = set_of(vpn, a->sets, a->mask) * a->ways;
    for (unsigned w = 0; w < a->ways; w++) {
        if (a->key[base + w] != k)
            continue;
        struct tlbe *e = &a->e[base + w];
        if (e->vpid == vpid && e->eptp == eptp
            && (e->pcid == pcid || (e->rights & MMU_R_G)
                || MUTANT(MUT_TLB_NO_PCID_TAG)))
            return e;
    }
    return NULL;
}

static void arr_fill(struct mmu_tlb *t, struct tlb_arr *a, const struct tlbe *n)
{
    uint64_t k = tkey(n->vpn, n->shift), best = ~0ULL;
    size_t set = set_of(n->vpn, a->sets, a->mask), base = set * a->ways, v = base;
    /* The same translation is replaced; else the first empty way (lru 0),
     * else the least recently used one. */
    for (size_t i = base; i < base + a->ways; i++) {
        if (a->key[i] == k) {
            const struct tlbe *e = &a->e[i];
            if (e->vpid == n->vpid && e->pcid == n->pcid && e->eptp == n->eptp) {
                v = i;
                break;
            }
        }
        if (a->lru[i] < best) {
            best = a->lru[i];
            v = i;
        }
    }
    a->e[v] = *n;
    a->e[v].valid = 1;
    a->key[v] = k;
    kf_set(a, set, (unsigned)(v - base), k);
    a->lru[v] = ++t->stamp;
    ord_touch(a, set, (unsigned)(v - base));
    a->has |= 1u << ((n->shift - 12) / 9);
    a->occ[set / 64] |= 1ULL << (set % 64);
}

/* arr_fill() when the caller knows the array holds no entry of the same
 * translation (its lookup found none): the victim is the first empty way,
 * else the least recently used -- the way arr_fill() picks then. */
/* The first way of the smallest stamp in a set (empty ways have 0): the
 * LRU victim.  Branch-free (conditional moves), which a set of 12 ways
 * needs more than an early exit at the first empty way. */
static inline unsigned lru_victim(const uint64_t *lru, unsigned ways)
{
    uint64_t best = lru[0];
    unsigned v = 0;
#define LRU_STEP(w_) do {                                                      \
        uint64_t l_ = lru[w_];                                                 \
        bool lt_ = l_ < best;                                                  \
        best = lt_ ? l_ : best;                                                \
        v = lt_ ? (w_) : v;                                                    \
    } while (0)
    unsigned w = 1;
    for (; w + 4 <= ways; w += 4) {
        LRU_STEP(w);
        LRU_STEP(w + 1);
        LRU_STEP(w + 2);
        LRU_STEP(w + 3);
    }
    for (; w < ways; w++)
        LRU_STEP(w);
#undef LRU_STEP
    return v;
}

/* Does any way of a set hold key k (whatever its tags)? */
static inline bool key_in_set(const uint64_t *key, unsigned ways, uint64_t k)
{
    unsigned w = 0;
    bool hit = false;
    for (; w + 4 <= ways; w += 4)
        hit |= (key[w] == k) | (key[w + 1] == k) | (key[w + 2] == k)
               | (key[w + 3] == k);
    for (; w < ways; w++)
        hit |= key[w] == k;
    return hit;
}

static inline void arr_fill_new(struct mmu_tlb *t, struct tlb_arr *a,
                                const struct tlbe *n)
{
    size_t set = set_of(n->vpn, a->sets, a->mask), base = set * a->ways, v = base;
    if (a->ord) {
        v += ord_victim(a, set, base);
        ord_fill_victim(a, set);
    } else {
        v += lru_victim(&a->lru[base], a->ways);
    }
    a->e[v] = *n;
    a->e[v].valid = 1;
    a->key[v] = tkey(n->vpn, n->shift);
    kf_set(a, set, (unsigned)(v - base), a->key[v]);
    a->lru[v] = ++t->stamp;
    a->has |= 1u << ((n->shift - 12) / 9);
    a->occ[set / 64] |= 1ULL << (set % 64);
}

/* arr_fill_new() of a 4 KiB entry of key 'key' (vpn's) without writing
 * the entry itself: the way it takes (index into e[]), its key, filter
 * byte, stamp and bookkeeping set; the caller stores the entry
 * (tlbe_store()). */
static inline size_t arr_fill_slot(struct mmu_tlb *t, struct tlb_arr *a,
                                   uint64_t vpn, uint64_t key)
{
    size_t set = set_of(vpn, a->sets, a->mask), base = set * a->ways, v = base;
    if (a->ord) {
        v += ord_victim(a, set, base);
        ord_fill_victim(a, set);
    } else {
        v += lru_victim(&a->lru[base], a->ways);
    }
    a->key[v] = key;
    kf_set(a, set, (unsigned)(v - base), key);
    a->lru[v] = ++t->stamp;
    a->has |= 1u; /* the 4 KiB class */
    a->occ[set / 64] |= 1ULL << (set % 64);
    return v;
}

/* *d = *n, the ten bytes of tags and rights (vpid .. gshift, no padding
 * between them) in two stores where the byte order allows it. */
static inline void tlbe_store(struct tlbe *d, const struct tlbe *n)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    _Static_assert(offsetof(struct tlbe, pcid) == offsetof(struct tlbe, vpid) + 2
                   && offsetof(struct tlbe, valid) == offsetof(struct tlbe, vpid) + 4
                   && offsetof(struct tlbe, shift) == offsetof(struct tlbe, vpid) + 5
                   && offsetof(struct tlbe, rights) == offsetof(struct tlbe, vpid) + 6
                   && offsetof(struct tlbe, pkey) == offsetof(struct tlbe, vpid) + 7
                   && offsetof(struct tlbe, eperm) == offsetof(struct tlbe, vpid) + 8
                   && offsetof(struct tlbe, gshift) == offsetof(struct tlbe, vpid) + 9,
                   "struct tlbe: tags and rights packed");
    uint64_t w = (uint64_t)n->vpid | (uint64_t)n->pcid << 16 | (uint64_t)n->valid << 32
                 | (uint64_t)n->shift << 40 | (uint64_t)n->rights << 48
                 | (uint64_t)n->pkey << 56;
    uint16_t h = (uint16_t)(n->eperm | n->gshift << 8);
    d->vpn = n->vpn;
    d->hbase = n->hbase;
    d->gbase = n->gbase;
    d->eptp = n->eptp;
    __builtin_memcpy(&d->vpid, &w, 8);
    __builtin_memcpy(&d->eperm, &h, 2);
#else
    *d = *n;
#endif
}

/* The L1 array for a page size / access kind (-1: none). */
static int l1_for(unsigned shift, enum access_kind k)
{
    if (k == ACC_FETCH)
        return shift == 12 ? A_I4K : -1;
    return shift == 12 ? A_D4K : shift == 21 ? A_D2M : A_D1G;
}

static void drop_page(struct mmu_tlb *t, uint64_t va, uint16_t vpid,
                      uint16_t pcid, bool globals_too);

/* ---- paging-structure caches ------------------------------------------------------ */

static inline unsigned lvl_shift(int level)
{
    return 12 + 9 * (unsigned)(level - 1);
}

static struct psce *psc_find(struct psc_arr *a, uint64_t tag, uint64_t eptp,
                             uint16_t vpid, uint16_t pcid)
{
    struct psce *set = &a->e[set_of(tag, a->sets, a->mask) * a->ways];
    for (unsigned w = 0; w < a->ways; w++) {
        struct psce *e = &set[w];
        if (e->valid && e->tag == tag && e->eptp == eptp && e->vpid == vpid
            && e->pcid == pcid)
            return e;
    }
    return NULL;
}

/* The replacement rule of the PSC and PWC arrays: a free way first, else
 * the least recently filled or used (the oldest stamp).  Is way e (valid,
 * stamp) a better victim than the current choice? */
static inline bool lru_prefer(bool cur_valid, uint64_t cur_stamp, bool e_valid,
                              uint64_t e_stamp)
{
    return cur_valid && (!e_valid || e_stamp < cur_stamp);
}

static void psc_fill(struct mmu_tlb *t, struct psc_arr *a, const struct psce *n)
{
    struct psce *set = &a->e[set_of(n->tag, a->sets, a->mask) * a->ways];
    struct psce *victim = &set[0];
    for (unsigned w = 0; w < a->ways; w++) {
        struct psce *e = &set[w];
        if (e->valid && e->tag == n->tag && e->eptp == n->eptp
            && e->vpid == n->vpid && e->pcid == n->pcid) {
            victim = e;
            break;
        }
        if (lru_prefer(victim->valid, victim->stamp, e->valid, e->stamp))
            victim = e;
    }
    *victim = *n;
    victim->valid = 1;
    victim->stamp = ++t->stamp;
    a->any = true;
}

/* The tag of a guest PSC entry at 'level' for va: the linear-address bits
 * above what the entry maps.  32-bit and PAE paging have only a PDE cache
 * (SDM 4.10.3.1: 4 MiB / 2 MiB per PDE; the PAE PDPTEs are registers,
 * not cached); their tags carry the mode in bits 62/61, which no IA-32e
 * tag (va >> 21 or more) reaches, so that an entry of one mode never
 * serves another. */
#define PSC_TAG_32 (1ULL << 62)
#define PSC_TAG_PAE (1ULL << 61)
static inline uint64_t psc_tag(enum mmu_mode m, int level, uint64_t va)
{
    if (m == MMU_MODE_32)
        return (va & 0xFFFFFFFFULL) >> 22 | PSC_TAG_32;
    if (m == MMU_MODE_PAE)
        return (va & 0xFFFFFFFFULL) >> 21 | PSC_TAG_PAE;
    return va >> lvl_shift(level);
}

/* The deepest guest PSC entry for va (IA-32e: PDE .. PML5E; 32-bit and
 * PAE: the PDE cache). */
static bool psc_lookup(struct mmu_tlb *t, const struct mmu_cpu *cpu,
                       uint64_t eptp, uint16_t vpid, uint16_t pcid,
                       uint64_t va, bool touch, struct mmu_psc_start *out)
{
    enum mmu_mode m = mmu_mode_of(cpu);
    if (m == MMU_MODE_NONE)
        return false;
    int top = m == MMU_MODE_5L ? 5 : m == MMU_MODE_4L ? 4 : 2;
    for (int l = 2; l <= top; l++) {
        struct psc_arr *a = &t->psc[l];
        if (!a->e)
            continue;
        uint64_t tag = psc_tag(m, l, va);
        struct psce *e = psc_find(a, tag, eptp, vpid, pcid);
        if (!e)
            continue;
        out->level = l;
        out->table_gpa = e->tbl_gpa;
        out->table_hpa = e->tbl_hpa;
        out->rights = e->rights;
        if (touch)
            e->stamp = ++t->stamp;
        return true;
    }
    return false;
}

bool tlb_psc_probe(struct mmu_tlb *t, const struct mmu_cpu *cpu,
                   const struct mmu_ept *ept, uint16_t vpid, gva_t va,
                   struct mmu_psc_start *out)
{
    if (!t || ept->npt)
        return false;
    return psc_lookup(t, cpu, mfn_x(ept->root), vpid, tlb_pcid_of(cpu),
                      gva_x(va), false, out);
}

/* After a successful walk: cache every non-leaf entry it read, each as a
 * combined mapping (the next table's gpa and hpa, rights down to it). */
static void psc_fill_walk(struct mmu_tlb *t, const struct mmu_cpu *cpu,
                          uint64_t eptp, uint16_t vpid, uint16_t pcid,
                          uint64_t va, const struct mmu_walklog *w)
{
    enum mmu_mode m = mmu_mode_of(cpu);
    for (int l = w->top; l > w->leaf; l--) {
        if (!t->psc[l].e || (m <= MMU_MODE_PAE && l != 2))
            continue;
        struct psce n = { .tag = psc_tag(m, l, va), .eptp = eptp, .vpid = vpid, .pcid = pcid,
                          .tbl_gpa = w->tbl_gpa[l - 1],
                          .tbl_hpa = w->tbl_hpa[l - 1],
                          .rights = w->rights[l] };
        psc_fill(t, &t->psc[l], &n);
    }
}

static void pwc_drop(struct mmu_tlb *t, bool any_vpid, uint16_t vpid,
                     bool any_pcid, uint16_t pcid, bool any_eptp, uint64_t eptp);

/* Drops guest PSC entries: of one VPID (any_vpid: of every VPID but 0),
 * of one PCID (any_pcid: all), for one address (va_only) or all.  The
 * AMD page walk cache's entries of the same contexts go too, whatever
 * va_only says: which entries a walk of va would use is not known from
 * va (they are indexed by their own addresses), and dropping more than
 * required is always allowed. */
static void psc_drop(struct mmu_tlb *t, bool any_vpid, uint16_t vpid,
                     bool any_pcid, uint16_t pcid, bool va_only, uint64_t va)
{
    pwc_drop(t, any_vpid, vpid, any_pcid, pcid, true, 0);
    for (int l = 2; l <= 5; l++) {
        struct psc_arr *a = &t->psc[l];
        if (!a->any && !pagesim_mutants)
            continue; /* no valid entry (reference model: scan anyway) */
        for (size_t i = 0; a->e && i < (size_t)a->sets * a->ways; i++) {
            struct psce *e = &a->e[i];
            if (!e->valid)
                continue;
            if (any_vpid ? e->vpid == 0 : e->vpid != vpid)
                continue;
            if (!any_pcid && e->pcid != pcid)
                continue;
            /* The entry would translate va: the same prefix (tags keep
             * the canonical upper bits, so no mode needs masking; a
             * 32-bit or PAE PDE entry has its own tag). */
            if (va_only && e->tag != va >> lvl_shift(l)
                && (l != 2 || (e->tag != psc_tag(MMU_MODE_32, 2, va)
                               && e->tag != psc_tag(MMU_MODE_PAE, 2, va))))
                continue;
            e->valid = 0;
        }
    }
}

/* Drops EPT PSC entries of one EPTP root (all: every one) and the guest
 * PSC entries tagged with it (keep_ept: the guest PSC entries only, the
 * mutants epsc_keep_on_invept_single / _all). */
static void epsc_drop_k(struct mmu_tlb *t, bool all, uint64_t root, bool keep_ept)
{
    for (int l = 2; l <= 5; l++) {
        struct psc_arr *as[2] = { &t->psc[l], &t->epsc.a[l] };
        for (int j = 0; j < 2 - keep_ept; j++) {
            if (!as[j]->any && !pagesim_mutants)
                continue; /* see psc_arr.any */
            for (size_t i = 0; as[j]->e && i < (size_t)as[j]->sets * as[j]->ways; i++)
                if (all || as[j]->e[i].eptp == root)
                    as[j]->e[i].valid = 0;
            if (all)
                as[j]->any = false;
        }
    }
    pwc_drop(t, false, 0, true, 0, false, all ? ~0ULL : root);
}

/* The deepest EPT/NPT PSC entry (levels 2..levels) covering gpa for
 * (root, vpid); touch: a lookup (LRU stamp and hit counted), not a peek. */
static bool epsc_find(struct mmu_epsc *c, uint64_t root, uint16_t vpid,
                      uint64_t gpa, int levels, bool touch, int *level,
                      uint64_t *table, uint64_t *perm)
{
    for (int l = 2; l <= levels; l++) {
        struct psc_arr *a = &c->a[l];
        if (!a->e)
            continue;
        struct psce *e = psc_find(a, gpa >> lvl_shift(l), root, vpid, 0);
        if (!e)
            continue;
        if (touch) {
            e->stamp = ++c->t->stamp;
            c->t->st.epsc_hits++;
        }
        *level = l;
        *table = e->tbl_hpa;
        *perm = e->rights;
        return true;
    }
    return false;
}

static void epsc_drop(struct mmu_tlb *t, bool all, uint64_t root)
{
    epsc_drop_k(t, all, root, false);
}

bool mmu_epsc_lookup(struct mmu_epsc *c, uint64_t root, uint64_t gpa,
                     int levels, int *level, uint64_t *table, uint64_t *perm)
{
    return epsc_find(c, root, 0, gpa, levels, true, level, table, perm);
}

bool mmu_epsc_peek(struct mmu_epsc *c, uint64_t root, uint64_t gpa,
                   int levels, int *level, uint64_t *table, uint64_t *perm)
{
    return epsc_find(c, root, 0, gpa, levels, false, level, table, perm);
}

void mmu_epsc_fill(struct mmu_epsc *c, uint64_t root, uint64_t gpa, int level,
                   uint64_t table, uint64_t perm)
{
    struct psc_arr *a = &c->a[level];
    if (level < 2 || level > 5 || !a->e)
        return;
    struct psce n = { .tag = gpa >> lvl_shift(level), .eptp = root,
                      .tbl_hpa = table, .rights = perm };
    psc_fill(c->t, a, &n);
}

/* The NPT paging-structure cache (AMD nested paging): the epsc[] arrays,
 * entries tagged by nCR3's frame (eptp) and the ASID (vpid); levels 2..4
 * (the nested tables are 4-level long-mode tables). */
bool mmu_npsc_lookup(struct mmu_epsc *c, uint64_t root, uint16_t asid,
                     uint64_t gpa, int *level, uint64_t *table, uint64_t *perm)
{
    return epsc_find(c, root, asid, gpa, 4, true, level, table, perm);
}

void mmu_npsc_fill(struct mmu_epsc *c, uint64_t root, uint16_t asid,
                   uint64_t gpa, int level, uint64_t table, uint64_t perm)
{
    struct psc_arr *a = &c->a[level];
    if (level < 2 || level > 4 || !a->e)
        return;
    struct psce n = { .tag = gpa >> lvl_shift(level), .eptp = root, .vpid = asid,
                      .tbl_hpa = table, .rights = perm };
    psc_fill(c->t, a, &n);
}

unsigned tlb_npsc_list(const struct mmu_tlb *t, uint64_t root, uint16_t asid,
                       struct tlb_npsc_ent *out, unsigned max)
{
    unsigned n = 0;
    if (!t || !t->p->npt_psc)
        return 0;
    for (int l = 2; l <= 4; l++) {
        const struct psc_arr *a = &t->epsc.a[l];
        for (size_t i = 0; a->e && i < (size_t)a->sets * a->ways && n < max; i++) {
            const struct psce *e = &a->e[i];
            if (e->valid && e->eptp == root && e->vpid == asid)
                out[n++] = (struct tlb_npsc_ent){ l, root, e->tag, e->tbl_hpa,
                                                  e->rights, asid };
        }
    }
    return n;
}

unsigned tlb_epsc_list(const struct mmu_tlb *t, uint64_t root,
                       struct tlb_epsc_ent *out, unsigned max)
{
    unsigned n = 0;
    if (!t)
        return 0;
    for (int l = 2; l <= 5; l++) {
        const struct psc_arr *a = &t->epsc.a[l];
        for (size_t i = 0; a->e && i < (size_t)a->sets * a->ways && n < max; i++) {
            const struct psce *e = &a->e[i];
            /* EPT entries carry VPID 0 (mmu_epsc_fill()); an NPT PSC
             * entry's vpid is its ASID. */
            if (e->valid && e->eptp == root && e->vpid == 0)
                out[n++] = (struct tlb_epsc_ent){ l, root, e->tag, e->tbl_hpa,
                                                  e->rights };
        }
    }
    return n;
}

/* Drops the NPT PSC entries of one ASID (EPT PSC entries carry VPID 0
 * and are left alone unless asid is 0). */
static void npsc_drop(struct mmu_tlb *t, uint16_t asid)
{
    for (int l = 2; l <= 4; l++) {
        struct psc_arr *a = &t->epsc.a[l];
        for (size_t i = 0; a->e && i < (size_t)a->sets * a->ways; i++)
            if (a->e[i].vpid == asid)
                a->e[i].valid = 0;
    }
}

/* ---- the AMD page walk cache ------------------------------------------------------ *
 *
 * A profile with pwc caches the guest's non-leaf entries (PDE .. PML5E;
 * 32-bit and PAE paging: the PDE only, PAE PDPTEs being registers) under
 * their own guest-physical addresses instead of the linear-address prefix
 * of SDM 4.10.3.  A walk looks each upper-level entry up by the address
 * it computes (table + index); a hit supplies the entry with no memory
 * reference and no EPT walk, and the walk goes on from its value, so two
 * linear addresses whose walks pass through the same table entry share
 * the cached entry (a hit for a prefix never walked before), and a walk
 * through a different table misses even for a prefix walked before.
 * Only present, non-leaf entries with their accessed flag set are cached
 * (filled after a walk that succeeded, as the SDM's PSCs; the value is
 * kept with A set, the walk having set it).  Invalidation as the AMD64
 * APM vol. 2 has it (5.5.2 TLB management, 15.16 TLB control; the APM is
 * not in ../shared/reference, so [UNVERIFIED] against its text here):
 * INVLPG invalidates the page's TLB entries and all cached upper-level
 * entries, whatever address they translate, MOV CR3 every non-global
 * entry -- upper-level entries are never global -- and INVLPGA /
 * TLB_CONTROL act like INVLPG / a flush of the ASID.  Here each drops every PWC entry of the context it names (the
 * guest PSC calls, psc_drop()), and the hypervisor's INVEPT-style flushes
 * the entries of the EPTP (epsc_drop()).  Which entries would translate
 * one address (a #PF, INVVPID type 0) is not known from the address, so
 * those drop the whole context too (dropping more is allowed). */

/* The paging mode an entry belongs to (1 32-bit, 2 PAE, 3 IA-32e; 0: no
 * paging, no walk to cache). */
static uint8_t pwc_mode(const struct mmu_cpu *cpu)
{
    switch (mmu_mode_of(cpu)) {
    case MMU_MODE_32:
        return 1;
    case MMU_MODE_PAE:
        return 2;
    case MMU_MODE_4L:
    case MMU_MODE_5L:
        return 3;
    default:
        return 0;
    }
}

static inline bool pwc_tags(const struct pwce *e, uint64_t eptp, uint16_t vpid,
                            uint16_t pcid, uint8_t mode)
{
    return e->valid && e->eptp == eptp && e->vpid == vpid && e->pcid == pcid
           && e->mode == mode;
}

/* Entries sit in the set of gpa / 8 (one 8-byte entry per index). */
static struct pwce *pwc_set(struct pwc_arr *a, uint64_t gpa)
{
    return &a->e[set_of(gpa >> 3, a->sets, a->mask) * a->ways];
}

bool mmu_pwc_lookup(struct mmu_pwc *c, int level, uint64_t gpa, uint64_t *val)
{
    if (level < 2 || level > 5 || !c->t->pwc[level].e)
        return false;
    struct pwc_arr *a = &c->t->pwc[level];
    struct pwce *hit = NULL;
    if (MUTANT(MUT_PWC_KEYED_BY_PREFIX)) {
        /* The bug: the Intel PSC's key -- an entry filled by a walk of
         * the same linear-address prefix, whatever entry address this
         * walk reached (every set: entries are placed by address). */
        uint64_t pre = c->va >> lvl_shift(level);
        for (size_t i = 0; i < (size_t)a->sets * a->ways && !hit; i++)
            if (pwc_tags(&a->e[i], c->eptp, c->vpid, c->pcid, c->mode)
                && a->e[i].prefix == pre)
                hit = &a->e[i];
    } else {
        struct pwce *set = pwc_set(a, gpa);
        for (unsigned w = 0; w < a->ways && !hit; w++)
            if (pwc_tags(&set[w], c->eptp, c->vpid, c->pcid, c->mode)
                && set[w].gpa == gpa)
                hit = &set[w];
    }
    if (!hit)
        return false;
    hit->stamp = ++c->t->stamp;
    *val = hit->val;
    c->hits++;
    return true;
}

/* Replaces the entry of the same address and tags, else the first empty
 * way, else the least recently used. */
static void pwc_fill(struct mmu_tlb *t, struct pwc_arr *a, const struct pwce *n)
{
    struct pwce *set = pwc_set(a, n->gpa), *victim = &set[0];
    for (unsigned w = 0; w < a->ways; w++) {
        struct pwce *e = &set[w];
        if (pwc_tags(e, n->eptp, n->vpid, n->pcid, n->mode) && e->gpa == n->gpa) {
            victim = e;
            break;
        }
        if (lru_prefer(victim->valid, victim->stamp, e->valid, e->stamp))
            victim = e;
    }
    *victim = *n;
    victim->valid = 1;
    victim->stamp = ++t->stamp;
    a->any = true;
}

/* After a successful walk: every non-leaf entry it used (read or taken
 * from the cache), under its own address. */
static void pwc_fill_walk(struct mmu_tlb *t, const struct mmu_cpu *cpu,
                          const struct mmu_pwc *c, const struct mmu_walklog *w)
{
    enum mmu_mode m = mmu_mode_of(cpu);
    for (int l = w->top; l > w->leaf; l--) {
        if (!t->pwc[l].e || (m == MMU_MODE_PAE && l == 3))
            continue;
        /* PS=1 here is a 32-bit PDE without CR4.PSE, read as a table
         * pointer: not cached (a cache may always hold less). */
        if (w->val[l] & PTE_PS)
            continue;
        struct pwce n = { .gpa = w->ent_gpa[l], .val = w->val[l] | PTE_A,
                          .eptp = c->eptp, .prefix = c->va >> lvl_shift(l),
                          .vpid = c->vpid, .pcid = c->pcid, .mode = c->mode };
        pwc_fill(t, &t->pwc[l], &n);
    }
}

/* Drops PWC entries: of one VPID (any_vpid: every VPID but 0) and PCID
 * (any_pcid: all); or, with !any_eptp, of one EPTP root whatever their
 * VPID and PCID; or, with !any_eptp and eptp ~0 (epsc_drop(all)), all. */
static void pwc_drop(struct mmu_tlb *t, bool any_vpid, uint16_t vpid,
                     bool any_pcid, uint16_t pcid, bool any_eptp, uint64_t eptp)
{
    for (int l = 2; l <= 5; l++) {
        struct pwc_arr *a = &t->pwc[l];
        if (!a->e || (!a->any && !pagesim_mutants))
            continue;
        bool all = true;
        for (size_t i = 0; i < (size_t)a->sets * a->ways; i++) {
            struct pwce *e = &a->e[i];
            if (!e->valid)
                continue;
            bool drop = any_eptp ? (any_vpid ? e->vpid != 0 : e->vpid == vpid)
                                       && (any_pcid || e->pcid == pcid)
                                 : eptp == ~0ULL || e->eptp == eptp;
            if (drop)
                e->valid = 0;
            else
                all = false;
        }
        if (all)
            a->any = false;
    }
}

unsigned tlb_pwc_list(const struct mmu_tlb *t, const struct mmu_cpu *cpu,
                      const struct mmu_ept *ept, uint16_t vpid,
                      struct tlb_pwc_ent *out, unsigned max)
{
    if (!t || !t->p->pwc || ept->npt)
        return 0;
    uint8_t mode = pwc_mode(cpu);
    uint64_t eptp = mfn_x(ept->root);
    uint16_t pcid = tlb_pcid_of(cpu);
    unsigned n = 0;
    for (int l = 2; l <= 5 && mode; l++) {
        const struct pwc_arr *a = &t->pwc[l];
        for (size_t i = 0; a->e && i < (size_t)a->sets * a->ways && n < max; i++)
            if (pwc_tags(&a->e[i], eptp, vpid, pcid, mode))
                out[n++] = (struct tlb_pwc_ent){ l, a->e[i].gpa, a->e[i].val };
    }
    return n;
}

/* ---- PT-line cost model ------------------------------------------------------- */

/* The cost of one page-table reference, and the PT-line cache updated:
 * a hit refreshes the line's stamp, a miss evicts the set's oldest line
 * (*way: the way used).  A line is in at most one way of its set (only a
 * miss inserts it), so the hit is the same whichever way is tried first. */
static inline uint64_t ptc_access(struct mmu_tlb *t, uint64_t hpa,
                                  struct ptc_way **way)
{
    uint64_t tag = hpa >> 6, t1 = tag + 1;
    unsigned ways = t->p->ptc_ways;
    struct ptc_way *set = &t->ptc[set_of(tag, t->ptc_sets, t->ptc_mask) * ways];
    struct ptc_way *victim = &set[0];
    /* Empty ways have stamp 0, so the oldest is also the last empty one
     * (<=: as the first version, which took the last empty way). */
    for (unsigned w = 0; w < ways; w++) {
        if (set[w].tag1 == t1) {
            set[w].stamp = ++t->stamp;
            *way = &set[w];
            return t->p->lat_pt_hit;
        }
        if (set[w].stamp <= victim->stamp)
            victim = &set[w];
    }
    victim->tag1 = t1;
    victim->stamp = ++t->stamp;
    *way = victim;
    return t->p->lat_pt_miss;
}

static uint64_t ptc_cost(struct mmu_tlb *t, uint64_t hpa)
{
    struct ptc_way *w;
    return ptc_access(t, hpa, &w);
}

/* ptc_access() trying the way *hint first (miss_fast(): consecutive
 * entries of a table share a line); exact for the reason given there.
 * The hint's hit is inlined into miss_fast() (a few instructions); the
 * set scan of a miss, one walk in eight on a stream, stays a call. */
static __attribute__((noinline)) uint64_t ptc_access_call(struct mmu_tlb *t,
                                                          uint64_t hpa,
                                                          struct ptc_way **way)
{
    return ptc_access(t, hpa, way);
}

static inline __attribute__((always_inline)) uint64_t
ptc_cost_hinted(struct mmu_tlb *t, uint64_t hpa, struct ptc_way **hint)
{
    struct ptc_way *h = *hint;
    if (h->tag1 == (hpa >> 6) + 1) {
        h->stamp = ++t->stamp;
        return t->p->lat_pt_hit;
    }
    return ptc_access_call(t, hpa, hint);
}

/* psc_find() trying *hint first.  A set holds at most one valid entry
 * per (tag, EPTP, VPID, PCID) (psc_fill() replaces a matching one) and
 * an entry lives only in its tag's set, so a hint that matches is the
 * entry psc_find() returns. */
static inline struct psce *psc_find_hinted(struct psc_arr *a, struct psce **hint,
                                           uint64_t tag, uint64_t eptp,
                                           uint16_t vpid, uint16_t pcid)
{
    struct psce *h = *hint;
    if (h && h->tag == tag && h->valid && h->eptp == eptp && h->vpid == vpid
        && h->pcid == pcid)
        return h;
    h = psc_find(a, tag, eptp, vpid, pcid);
    if (h)
        *hint = h;
    return h;
}

/* ---- the access ------------------------------------------------------------------ */

static bool hit_ok(struct mmu_tlb *t, struct tlb_arr *a, struct tlbe *e,
                   const struct mmu_cpu *cpu,
                   uint64_t va, enum access_kind k, uint16_t vpid,
                   uint16_t pcid, bool mbec, struct mmu_result *res)
{
    /* The EPT part of a combined mapping must allow the access; if not,
     * walk (the walk produces the exit). */
    static const unsigned need[] = { EPT_R, EPT_W, EPT_X };
    unsigned nd = need[k];
    if (k == ACC_FETCH && mbec && (e->rights & MMU_R_U))
        nd = MMU_EPT_XU;
    if (!(e->eperm & nd))
        return false;
    /* Fast path: a supervisor-or-user page that is writable, executable,
     * key-free and not under SMEP/SMAP/PKE/PKS cannot fault. */
    uint32_t ec = 0;
    if ((e->rights & (MMU_R_U | MMU_R_W | MMU_R_NX)) != (MMU_R_U | MMU_R_W)
        || (cpu->cr4 & (X86_CR4_SMEP | X86_CR4_SMAP | X86_CR4_PKE | X86_CR4_PKS)))
        ec = mmu_rights_check(cpu, k, e->rights, e->pkey);
    if (ec) {
        /* A #PF from cached rights; it invalidates the page (SDM 4.10.4.1). */
        *res = (struct mmu_result){ .outcome = MMU_PF, .pf_ec = ec,
                                    .cr2 = _gva(va) };
        drop_page(t, va, vpid, pcid, true);
        return true;
    }
    if (k == ACC_WRITE && !(e->rights & MMU_R_D))
        return false; /* a clean entry: walk to set D */
    uint64_t off = va & ((1ULL << e->shift) - 1);
    /* Only the fields a hit defines (see tlb.h); no full-struct clear. */
    res->outcome = MMU_OK;
    res->gpa = _gpa(e->gbase | off);
    res->hpa = _hpa(e->hbase | off);
    res->page_shift = e->shift;
    res->rights = e->rights;
    res->pkey = e->pkey;
    res->ept_perm = e->eperm;
    res->refs = res->guest_refs = res->ept_refs = res->ad_writes = 0;
    res->epsc_saved = 0;
    a->lru[e - a->e] = ++t->stamp;
    if (a->ord) {
        size_t i = (size_t)(e - a->e);
        ord_touch(a, i / a->ways, (unsigned)(i % a->ways));
    }
    return true;
}

bool tlb_probe(struct mmu_tlb *t, const struct mmu_cpu *cpu,
               const struct mmu_ept *ept, uint16_t vpid, gva_t gva,
               enum access_kind k)
{
    if (!t)
        return false;
    uint64_t va = gva_x(gva);
    if (mmu_mode_of(cpu) <= MMU_MODE_PAE)
        va &= 0xFFFFFFFFULL;
    uint16_t pcid = tlb_pcid_of(cpu);
    static const unsigned need[] = { EPT_R, EPT_W, EPT_X };
    static const unsigned shifts[] = { 12, 21, 30 };
    for (int i = 0; i < 5; i++) {
        int ai = i < 3 ? l1_for(shifts[i], k) : A_STLB;
        unsigned sh = i < 3 ? shifts[i] : shifts[i - 3];
        if (ai < 0)
            continue;
        struct tlbe *e = arr_find(&t->a[ai], va, sh, vpid, pcid, mfn_x(ept->root));
        if (!e)
            continue;
        unsigned nd = need[k];
        if (k == ACC_FETCH && ept->mbec && (e->rights & MMU_R_U))
            nd = MMU_EPT_XU;
        if (!(e->eperm & nd))
            continue;
        if (mmu_rights_check(cpu, k, e->rights, e->pkey))
            return true; /* a #PF from the cached rights */
        if (k == ACC_WRITE && !(e->rights & MMU_R_D))
            continue;
        return true;
    }
    return false;
}

/* Bits 51:MAXPHYADDR of an entry (walk.c's mmu_above_maxphy()). */
static inline uint64_t above_maxphy(unsigned maxphy)
{
    if (!maxphy || maxphy >= 52)
        return 0;
    return ((1ULL << 52) - 1) & ~((1ULL << maxphy) - 1);
}

/* Host-side only, no simulated effect: a strided stream (bench
 * stride_256m, a guest touching one byte per page) misses the host caches
 * on every data access, and the model's long iteration exposes each miss.
 * So, after a miss_fast() translation, look PF_DIST pages ahead under the
 * same cached PDE and EPT PDE (the same page-table pages, whose lines the
 * walk just brought in) and ask the host CPU to prefetch the data line
 * the guest would touch there at the same offset (stream_next()).  Nothing of the model
 * is read or written but host memory, through the reads hostmem_read64()
 * makes (it has no side effects); a prefetch of a wrong guess costs a
 * line, never a result.  8 pages ahead: on the Sapphire-Rapids-class
 * KVM guest of this writing, 6-16 measured alike (within noise, best of
 * 3-4), 4 a few per cent slower, 2 a quarter slower. */
#define PF_DIST 8

/* A frame's bytes as hostmem_read64() finds them (NULL: outside host
 * memory or not backed, where it reads 0), from the public layout in
 * pagesim/hostmem.h: miss_fast() reads two entries of one table page and
 * looks the page up once. */
static inline const uint8_t *hm_frame_ro(const struct hostmem *hm, uint64_t hpa)
{
    uint64_t f = hpa >> PAGE_SHIFT;
    if (f >= hm->nr_frames)
        return NULL;
    uint8_t **chunk = hm->dir[f >> HM_CHUNK_SHIFT];
    return chunk ? chunk[f & ((1u << HM_CHUNK_SHIFT) - 1)] : NULL;
}

/* Entry i of a table page (0 when the page reads as zeros). */
static inline uint64_t tbl_entry(const uint8_t *page, unsigned i)
{
    uint64_t v = 0;
    if (page)
        __builtin_memcpy(&v, page + 8 * i, sizeof(v));
    return v;
}

/* The host address to prefetch (NULL: none), from the guest table page
 * ptp and the EPT table page eptp_pg miss_fast() used.  It returns the
 * pointer and the caller prefetches: GCC finds a void function whose
 * only effect is __builtin_prefetch() side-effect free and drops it. */
static inline const uint8_t *stream_next(const struct hostmem *hm, uint64_t va,
                                         uint64_t gpa, const uint8_t *ptp,
                                         const uint8_t *eptp_pg)
{
    uint64_t va2 = va + ((uint64_t)PF_DIST << 12);
    if ((va2 ^ va) >> 21)
        return NULL; /* another PDE */
    uint64_t v = tbl_entry(ptp, (va2 >> 12) & 511), g2 = v & PTE_ADDR_MASK;
    if (!(v & PTE_P) || (g2 ^ gpa) >> 21)
        return NULL; /* not present, or under another EPT PDE */
    uint64_t e = tbl_entry(eptp_pg, (g2 >> 12) & 511);
    if (!(e & 7))
        return NULL;
    const uint8_t *fr = hm_frame_ro(hm, e & EPT_ADDR_MASK);
    return fr ? fr + (va & 0xFFF) : NULL;
}

/* The common TLB miss, in one piece: no TLB entry for the page, the
 * deepest guest PSC entry a PDE (SDM 4.10.3.2: the walk reads only the
 * PTE, at the cached table's host address), the deepest EPT PSC entry an
 * EPT PDE (SDM 28.4.1: the PTE's gpa needs only the EPT PTE), the access
 * allowed with nothing to set -- every access of a strided stream once
 * the caches are warm (bench stride_256m).  It does exactly what
 * tlb_access_slow() and mmu_translate_psc()'s mmu_fast_psc() do for such
 * an access: the same lookups, result, references, PT-line costs, LRU
 * stamps (in the same order: guest PSC, EPT PSC, the two lines, the L1
 * fill, the STLB fill), statistics and fills, checked by
 * tests/unit/test_tlb.c (fast_paths_equal_general_walker_streams).  It
 * decides before it changes anything: false leaves every structure as it
 * was, and the general path runs.  The caller checked IA-32e paging, no
 * SMEP/SMAP/PKE/PKS, no MBEC, no mutant, and that the L1 4 KiB array has
 * no entry with the page's key (of any tags). */
/* Not inlined: in tlb_access() its registers and stack frame would tax
 * every L1 hit. */
static __attribute__((noinline)) bool
miss_fast(struct mmu_tlb *restrict t, struct hostmem *restrict hm,
          const struct mmu_cpu *restrict cpu, const struct mmu_ept *restrict ept,
          uint16_t vpid, uint64_t va, enum access_kind k,
          struct mmu_result *restrict res, struct tlb_result *restrict tr)
{
    if (ept->npt || ept->ad || ept->emulator || ept->pml)
        return false;
    unsigned vtop = (cpu->cr4 & X86_CR4_LA57) ? 56 : 47;
    if ((uint64_t)((int64_t)(va << (63 - vtop)) >> (63 - vtop)) != va)
        return false; /* #GP: the general walker */
    uint16_t pcid = tlb_pcid_of(cpu);
    uint64_t eptp = mfn_x(ept->root);
    /* The other L1 sizes and the STLB: any entry for the page (usable or
     * not) is the general path's business. */
    if (k != ACC_FETCH && (arr_find(&t->a[A_D2M], va, 21, vpid, pcid, eptp)
                           || arr_find(&t->a[A_D1G], va, 30, vpid, pcid, eptp)))
        return false;
    /* The STLB's 4 KiB set: any entry with the page's key (whatever its
     * tags: a match of another VPID/PCID is rare, and the general path
     * sorts it out) sends the access there -- mostly ruled out by the
     * set's key filter alone.  Its fill's victim is taken below, as
     * arr_fill_new() picks it (nothing before the fill changes the
     * STLB). */
    struct tlb_arr *sa = &t->a[A_STLB];
    uint64_t vpn = va >> 12, key = tkey(vpn, 12);
    size_t sset = set_of(vpn, sa->sets, sa->mask), sbase = sset * sa->ways;
    if ((!sa->kf || kf_may_hold(sa, sset, key))
        && key_in_set(&sa->key[sbase], sa->ways, key))
        return false;
    if (arr_find(sa, va, 21, vpid, pcid, eptp))
        return false;
    /* psc_lookup() tries the PDE cache first: a hit there is the deepest. */
    if (!t->fast_pde)
        return false;
    struct psce *pe = psc_find_hinted(&t->psc[2], &t->psc_hint, va >> 21, eptp,
                                      vpid, pcid);
    if (!pe)
        return false;
    /* The PTE, checked as mmu_fast_psc() checks it (a 4 KiB leaf: bit 7
     * is PAT; SDM 4.6 rights without SMEP/SMAP/keys). */
    uint64_t ptbl = pe->tbl_hpa, prights = pe->rights;
    if (ptbl & 0xFFF)
        return false; /* not a table page: cannot be in IA-32e, but exact */
    unsigned pti = (unsigned)(vpn & 511);
    const uint8_t *ptp = hm_frame_ro(hm, ptbl);
    uint64_t v = tbl_entry(ptp, pti); /* outside: 0, not present */
    uint64_t efer = cpu->efer, cr0 = cpu->cr0;
    bool nxe = (efer & X86_EFER_NXE) != 0;
    if ((v & (PTE_P | PTE_A)) != (PTE_P | PTE_A) || (k == ACC_WRITE && !(v & PTE_D))
        || (v & (above_maxphy(cpu->maxphyaddr) | (nxe ? 0 : PTE_NX))))
        return false;
    uint64_t rights = prights & v & (PTE_U | PTE_W);
    bool nx = ((prights | v) & PTE_NX) && nxe;
    bool uacc = cpu->cpl == 3 && !cpu->implicit;
    if ((uacc && !(rights & PTE_U))
        || (k == ACC_WRITE && !(rights & PTE_W) && (uacc || (cr0 & X86_CR0_WP)))
        || (k == ACC_FETCH && nx))
        return false;
    /* The final gpa's EPT walk: mmu_epsc_lookup() tries the EPT PDE cache
     * first; below it only the EPT PTE, a leaf. */
    uint64_t gbase = v & PTE_ADDR_MASK, off = va & 0xFFF, gpa = gbase | off;
    struct psce *ee = psc_find_hinted(&t->epsc.a[2], &t->epsc_hint, gpa >> 21,
                                      eptp, 0, 0);
    if (!ee)
        return false;
    uint64_t etbl = ee->tbl_hpa;
    if (etbl & 0xFFF)
        return false;
    unsigned epi = (unsigned)(gpa >> 12) & 511;
    const uint8_t *eptp_pg = hm_frame_ro(hm, etbl);
    uint64_t e = tbl_entry(eptp_pg, epi);
    unsigned p = (unsigned)(ee->rights & e & 7);
    /* The permission the access needs: R, W, X for read, write, fetch. */
    unsigned need = 1u << k;
    /* ept.c's exits and misconfigurations: R/W/X 000, 010 or 110 (bits of
     * 0x45), bits above MAXPHYADDR, memory type 2, 3 or 7 (bits of 0x8C);
     * then the permission the access needs. */
    unsigned mt = (unsigned)(e >> 3) & 7;
    if ((((0x45u >> (e & 7)) | (0x8Cu >> mt)) & 1) || (e & above_maxphy(ept->maxphyaddr))
        || !(p & need))
        return false;

    /* It completes.  The result as the walker leaves it. */
    unsigned elev = ept->levels == 5 ? 5 : 4;
    uint64_t hbase = e & EPT_ADDR_MASK;
    /* MMU_R_U/W from PTE_U/W (bits 2 and 1), MMU_R_NX, MMU_R_D from PTE_D
     * (bit 6), MMU_R_G from PTE_G (bit 8) under CR4.PGE. */
    unsigned r = (unsigned)(((rights >> 2) & 1) | (rights & 2)) | (nx ? MMU_R_NX : 0)
                 | (unsigned)((v >> 3) & MMU_R_D)
                 | ((cpu->cr4 & X86_CR4_PGE) ? (unsigned)((v >> 4) & MMU_R_G) : 0);
    unsigned pkey = (unsigned)(v >> 59) & 15;
    /* What the walker leaves: cleared, then the fields set. */
    mmu_result_clear(res);
    res->outcome = MMU_OK;
    res->gpa = _gpa(gpa);
    res->hpa = _hpa(hbase | off);
    /* One guest read; the EPT walk counts the levels the EPT PSC skipped
     * as made (see mmu_result.epsc_saved). */
    res->refs = 1 + elev;
    res->guest_refs = 1;
    res->ept_refs = elev;
    res->epsc_saved = elev - 1;
    res->page_shift = 12;
    res->ept_memtype = mt;
    res->ept_ipat = (e & EPT_IPAT) != 0;
    res->ept_shift = 12;
    res->ept_perm = p;
    res->rights = r;
    res->pkey = pkey;
    /* The caches used, in the general path's order. */
    uint64_t stamp = t->stamp;
    pe->stamp = ++stamp;
    ee->stamp = ++stamp;
    t->stamp = stamp;
    uint64_t cyc = t->lat_miss0;
    cyc += ptc_cost_hinted(t, ptbl + 8 * pti, &t->ptc_hint[0]);
    cyc += ptc_cost_hinted(t, etbl + 8 * epi, &t->ptc_hint[1]);
    tr->level = TLB_WALK;
    tr->cycles = cyc;
    t->st.epsc_hits++;
    t->st.walks++;
    t->st.psc_hits++;
    t->st.walk_refs += 2;
    t->st.cycles += cyc;
    /* The fills: the L1 array of the kind, then the STLB; the lookups
     * above found no entry of this translation in either. */
    struct tlbe n = {
        .vpn = vpn, .hbase = hbase, .gbase = gbase,
        .eptp = eptp, .vpid = vpid, .pcid = pcid, .valid = 1, .shift = 12,
        .rights = (uint8_t)r, .pkey = (uint8_t)pkey, .eperm = (uint8_t)p, .gshift = 12,
    };
    struct tlb_arr *la = &t->a[k == ACC_FETCH ? A_I4K : A_D4K];
    size_t lv = arr_fill_slot(t, la, vpn, key);
    size_t sv = sbase + (sa->ord ? ord_victim(sa, sset, sbase)
                                 : lru_victim(&sa->lru[sbase], sa->ways));
    tlbe_store(&la->e[lv], &n);
    tlbe_store(&sa->e[sv], &n);
    sa->key[sv] = key;
    kf_set(sa, sset, (unsigned)(sv - sbase), key);
    sa->lru[sv] = ++t->stamp;
    if (sa->ord)
        ord_fill_victim(sa, sset);
    sa->has |= 1u; /* the 4 KiB class */
    sa->occ[sset / 64] |= 1ULL << (sset % 64);
    const uint8_t *next = stream_next(hm, va, gpa, ptp, eptp_pg);
    if (next)
        __builtin_prefetch(next, 1); /* mostly a write stream */
    return true;
}

static void tlb_access_slow(struct mmu_tlb *t, struct hostmem *hm,
                            const struct mmu_cpu *cpu, const struct mmu_ept *ept,
                            uint16_t vpid, gva_t gva, enum access_kind k,
                            struct mmu_result *res, struct tlb_result *tr);

/* The hot path, kept small so that it inlines nothing heavy: an L1 4 KiB
 * hit on an entry whose rights cannot fault (user, writable, no XD; no
 * SMEP/SMAP/keys) and, for a write, is dirty.  Exactly what the general
 * path does for such a hit (hit_ok()); everything else goes there. */
void tlb_access(struct mmu_tlb *t, struct hostmem *hm, const struct mmu_cpu *cpu,
                const struct mmu_ept *ept, uint16_t vpid, gva_t gva,
                enum access_kind k, struct mmu_result *res,
                struct tlb_result *tr)
{
    if (t && (cpu->cr0 & X86_CR0_PG) && (cpu->cr4 & X86_CR4_PAE)
        && (cpu->efer & X86_EFER_LMA) && !ept->mbec
        && !(cpu->cr4 & (X86_CR4_SMEP | X86_CR4_SMAP | X86_CR4_PKE | X86_CR4_PKS))
        && !pagesim_mutants) {
        struct tlb_arr *a = &t->a[k == ACC_FETCH ? A_I4K : A_D4K];
        uint64_t va = gva_x(gva), vpn = va >> 12, key = tkey(vpn, 12);
        size_t set = set_of(vpn, a->sets, a->mask), base = set * a->ways;
        const uint64_t *ks = &a->key[base];
        unsigned w = 0, ways = a->ways;
        while (ks[w] != key) /* a tight scan of the set's keys */
            if (++w == ways) {
                /* No L1 4 KiB entry at all: the common miss, below a
                 * cached PDE. */
                if (miss_fast(t, hm, cpu, ept, vpid, va, k, res, tr))
                    return;
                goto slow;
            }
        /* The first way with the key: a hit if its tags match and its
         * rights cannot fault.  Anything else (another tag's entry with
         * the same key, whose set may hold the right one further on, a
         * hit to judge) is the general path's: it gives the same answer,
         * only slower. */
        static const uint8_t need[] = { EPT_R, EPT_W, EPT_X };
        struct tlbe *e = &a->e[base + w];
        if (e->vpid != vpid || e->eptp != mfn_x(ept->root)
            || (e->pcid != tlb_pcid_of(cpu) && !(e->rights & MMU_R_G))
            || !(e->eperm & need[k])
            || (e->rights & (MMU_R_U | MMU_R_W | MMU_R_NX)) != (MMU_R_U | MMU_R_W)
            || (k == ACC_WRITE && !(e->rights & MMU_R_D)))
            goto slow;
        uint64_t off = va & 0xFFF;
        res->outcome = MMU_OK;
        res->gpa = _gpa(e->gbase | off);
        res->hpa = _hpa(e->hbase | off);
        res->page_shift = 12;
        res->rights = e->rights;
        res->pkey = e->pkey;
        res->ept_perm = e->eperm;
        res->refs = res->guest_refs = res->ept_refs = res->ad_writes = 0;
        res->epsc_saved = 0;
        a->lru[base + w] = ++t->stamp;
        /* The LRU order: the way stays last if it was (a page used again
         * and again), else the set goes stale -- cheaper here than
         * ord_touch(). */
        if (a->ord && a->ord[set] >> (4 * (ways - 1)) != w)
            a->ord[set] = 0;
        tr->level = TLB_L1;
        tr->cycles = t->p->lat_l1tlb;
        t->st.l1_hits++;
        t->st.cycles += tr->cycles;
        return;
    }
slow:
    tlb_access_slow(t, hm, cpu, ept, vpid, gva, k, res, tr);
}

static void tlb_access_slow(struct mmu_tlb *t, struct hostmem *hm,
                            const struct mmu_cpu *cpu, const struct mmu_ept *ept,
                            uint16_t vpid, gva_t gva, enum access_kind k,
                            struct mmu_result *res, struct tlb_result *tr)
{
    if (!t) {
        mmu_translate(hm, cpu, ept, gva, k, res);
        tr->level = TLB_WALK;
        tr->cycles = 0;
        return;
    }
    uint64_t va = gva_x(gva);
    /* Below IA-32e mode (as mmu_mode_of() decides it) the linear address
     * has 32 bits. */
    if (!((cpu->cr0 & X86_CR0_PG) && (cpu->cr4 & X86_CR4_PAE)
          && (cpu->efer & X86_EFER_LMA)))
        va &= 0xFFFFFFFFULL;
    uint16_t pcid = tlb_pcid_of(cpu);
    uint64_t eptp = mfn_x(ept->root);

    /* Fast path: the 4 KiB L1 array, the common hit. */
    {
        int ai = k == ACC_FETCH ? A_I4K : A_D4K;
        struct tlbe *e = arr_find(&t->a[ai], va, 12, vpid, pcid, eptp);
        if (e && hit_ok(t, &t->a[ai], e, cpu, va, k, vpid, pcid, ept->mbec, res)) {
            tr->level = TLB_L1;
            tr->cycles = t->p->lat_l1tlb;
            t->st.l1_hits++;
            t->st.cycles += tr->cycles;
            return;
        }
    }

    /* L1: the arrays for this kind, each page size. */
    static const unsigned shifts[] = { 12, 21, 30 };
    {
        for (int i = 1; i < 3; i++) {
            int ai = l1_for(shifts[i], k);
            if (ai < 0)
                continue;
            struct tlbe *e = arr_find(&t->a[ai], va, shifts[i], vpid, pcid, eptp);
            if (e && hit_ok(t, &t->a[ai], e, cpu, va, k, vpid, pcid, ept->mbec, res)) {
                tr->level = TLB_L1;
                tr->cycles = t->p->lat_l1tlb;
                t->st.l1_hits++;
                t->st.cycles += tr->cycles;
                return;
            }
        }
        for (int i = 0; i < 2; i++) {
            struct tlbe *e = arr_find(&t->a[A_STLB], va, shifts[i], vpid, pcid, eptp);
            if (e && hit_ok(t, &t->a[A_STLB], e, cpu, va, k, vpid, pcid, ept->mbec, res)) {
                int ai = l1_for(e->shift, k);
                if (ai >= 0 && res->outcome == MMU_OK)
                    arr_fill(t, &t->a[ai], e);
                tr->level = TLB_STLB;
                tr->cycles = t->p->lat_l1tlb + t->p->lat_stlb;
                t->st.stlb_hits++;
                t->st.cycles += tr->cycles;
                return;
            }
        }
    }

    /* Miss: the walk, from the deepest PSC entry (AMD nested paging has
     * none here), every reference it makes costed. */
    struct mmu_reflog log;
    log.n = 0;
    struct mmu_ept e2 = *ept;
    e2.reflog = &log;
    struct mmu_psc_start ps;
    struct mmu_walklog wl;
    bool from_psc = !ept->npt && psc_lookup(t, cpu, eptp, vpid, pcid, va, true, &ps);
    if (!ept->npt && !ept->shadow) /* shadow paging: no nested walk */
        e2.epsc = &t->epsc;
    if (ept->npt && t->p->npt_psc) { /* AMD: nested walks use the NPT PSC */
        e2.epsc = &t->epsc;
        e2.asid = vpid;
    }
    /* AMD: every upper-level guest entry is looked up in the page walk
     * cache by its address (not under nested paging: see README). */
    struct mmu_pwc *pwc = NULL;
    if (__builtin_expect(t->p->pwc, 0) && !ept->npt && pwc_mode(cpu)) {
        pwc = &t->pwc_ctx;
        pwc->eptp = eptp;
        pwc->va = va;
        pwc->vpid = vpid;
        pwc->pcid = pcid;
        pwc->mode = pwc_mode(cpu);
        pwc->hits = 0;
        e2.pwc = pwc;
    }
    /* PAE: the walk takes the PDPTEs from the registers. */
    struct mmu_cpu pc;
    if (t->pae_valid && t->pae_cr3 == cpu->cr3 && mmu_mode_of(cpu) == MMU_MODE_PAE
        && !MUTANT(MUT_PAE_PDPTE_REREAD)
        && !(ept->shadow && MUTANT(MUT_SHADOW_PAE_REREAD_L3E))) {
        pc = *cpu;
        pc.pdpte = t->pdpte;
        cpu = &pc;
    }
    mmu_translate_psc(hm, cpu, &e2, _gva(va), k, from_psc ? &ps : NULL, &wl, res);
    uint64_t cyc = t->p->lat_l1tlb + t->p->lat_stlb + t->p->lat_walk;
    for (unsigned i = 0; i < log.n; i++)
        cyc += ptc_cost(t, log.hpa[i]);
    tr->level = TLB_WALK;
    tr->cycles = cyc;
    t->st.walks++;
    t->st.psc_hits += from_psc || (__builtin_expect(pwc != NULL, 0) && pwc->hits);
    t->st.walk_refs += res->refs - res->epsc_saved;
    t->st.cycles += cyc;
    if (res->outcome == MMU_PF)
        drop_page(t, va, vpid, pcid, true);
    if (res->outcome != MMU_OK)
        return;
    if (__builtin_expect(pwc != NULL, 0))
        pwc_fill_walk(t, cpu, pwc, &wl);
    else if (!ept->npt && mmu_mode_of(cpu) != MMU_MODE_NONE)
        psc_fill_walk(t, cpu, eptp, vpid, pcid, va, &wl);

    /* Fill: at the smaller of the guest and EPT page sizes. */
    unsigned shift = res->page_shift < res->ept_shift ? res->page_shift
                                                      : res->ept_shift;
    if (shift == 22) /* a 32-bit 4 MiB page is cached as 2 MiB halves */
        shift = 21;
    uint64_t mask = (1ULL << shift) - 1;
    struct tlbe n = {
        .vpn = va >> shift, .hbase = hpa_x(res->hpa) & ~mask,
        .gbase = gpa_x(res->gpa) & ~mask, .eptp = eptp, .vpid = vpid,
        .pcid = pcid, .valid = 1, .shift = (uint8_t)shift,
        .rights = (uint8_t)res->rights, .pkey = (uint8_t)res->pkey,
        .eperm = (uint8_t)res->ept_perm, .gshift = (uint8_t)res->page_shift,
    };
    int ai = l1_for(shift, k);
    if (ai >= 0)
        arr_fill(t, &t->a[ai], &n);
    if (shift <= 21)
        arr_fill(t, &t->a[A_STLB], &n);
}

/* ---- the PAE PDPTE registers ---------------------------------------------------- */

/* SDM 4.4.1: with PAE paging, MOV CR3 (and a MOV CR0/CR4 that changes
 * paging) loads the four PDPTEs of the 32-byte PDPT at CR3[31:5] into
 * registers, and walks use the registers, not memory, until the next
 * load; no INVLPG, INVPCID, INVVPID or INVEPT touches them.  Under EPT
 * the load's reads are guest-physical (translated through the EPT); if
 * one cannot be translated (an EPT exit), the registers stay invalid and
 * each walk reads the PDPT as before.
 * - EPT A/D (EPTP bit 6, SDM 29.3.5): walks' guest paging-structure
 *   accesses count as writes for EPT A/D, but loads of the PDPTE
 *   registers by MOV CR are the stated exception: reads.  So the load
 *   sets the accessed flag of every EPT entry it uses and no dirty flag,
 *   and needs only EPT read permission (ept_translate() with walk =
 *   false: the access kind alone decides).
 * - AMD nested paging (ept->npt): no registers.  The VMCB has no PDPTE
 *   fields and, under nested paging, the processor reads the guest's
 *   PDPEs through the nested tables as part of each guest walk (what
 *   KVM's nested-NPT walker does, nested_svm_get_tdp_pdptr(), and why KVM
 *   calls PDPTR caching unimplementable on SVM); so a PDPT edit is seen
 *   by the next walk and a MOV CR3 checks nothing.
 * - Shadow paging (ept->shadow): the hypervisor intercepts the MOV CR3
 *   and copies the guest's four l3 entries (Xen's sh_update_cr3() into
 *   v->arch.paging.shadow.gl3e); the shadow walk uses that copy until the
 *   next CR3 update.  The copy sits here, in the registers' place, read
 *   through the P2M (shadow_translate(): a gfn without usable RAM leaves
 *   them unloaded).
 * A present PDPTE with a reserved bit
 * makes the load a #GP(0) (SDM 4.4.1): the registers keep what they held
 * and tlb_pae_gp() says so (the caller undoes the CR3 write).
 * A PDPTE whose gpa the EPT does not let the load read is an EPT
 * violation (or, for a bad entry, misconfiguration) VM exit of the
 * loading instruction (SDM 29.3.3.2: PDPTE loads use guest-physical
 * addresses translated through the EPT): the registers again keep what
 * they held and tlb_pae_exit() gives the exit for the caller (the
 * hypervisor's handler, then the instruction re-executed or not). */
bool tlb_pae_load(struct mmu_tlb *t, struct hostmem *hm,
                  const struct mmu_cpu *cpu, const struct mmu_ept *ept)
{
    if (!t)
        return false;
    t->pae_gp = false;
    t->pae_exit = MMU_OK;
    bool was_valid = t->pae_valid;
    t->pae_valid = false;
    /* MUT_NPT_PAE_PDPTE_CACHED: registers under NPT as under EPT. */
    if (mmu_mode_of(cpu) != MMU_MODE_PAE || ept->pml
        || (ept->npt && !MUTANT(MUT_NPT_PAE_PDPTE_CACHED)))
        return false;
    /* MUT_PAE_AD_NO_EPT_ACCESSED: the load's EPT walk sets no A flag;
     * MUT_PAE_AD_LOAD_DIRTY: it is a paging-structure access (a write
     * for EPT A/D, as a walk's). */
    struct mmu_ept le = *ept;
    if (MUTANT(MUT_PAE_AD_NO_EPT_ACCESSED))
        le.ad = false;
    bool as_walk = MUTANT(MUT_PAE_AD_LOAD_DIRTY);
    uint64_t pdpt = cpu->cr3 & 0xFFFFFFE0ULL, v[4];
    for (unsigned i = 0; i < 4; i++) {
        struct mmu_result r = { .outcome = MMU_OK };
        ept_translate(hm, &le, _gpa(pdpt + 8 * i), ACC_READ, as_walk,
                      _gva(0), &r);
        if (r.outcome == MMU_EPT_VIOLATION || r.outcome == MMU_EPT_MISCONFIG) {
            /* Table 28-7: a PDPTE load by MOV CR is an access without a
             * guest-linear address: bits 7 and 8 clear (ept_translate()
             * sets 7, and 8 for a non-walk access), bit 0 read -- a load
             * is a read even where EPT A/D makes walk accesses writes
             * (SDM 29.3.5).  MUT_PAE_EXIT_GLA keeps bit 7. */
            uint64_t nogla = MUTANT(MUT_PAE_EXIT_GLA)
                                 ? EPTQ_GLA_XLATE : EPTQ_GLA_VALID | EPTQ_GLA_XLATE;
            t->pae_exit = r.outcome;
            t->pae_exit_qual = r.outcome == MMU_EPT_VIOLATION
                                   ? r.exit_qual & ~nogla : 0;
            t->pae_exit_gpa = pdpt + 8 * i;
            t->pae_valid = was_valid;
            return false;
        }
        if (r.outcome != MMU_OK)
            return false;
        v[i] = 0;
        (void)hostmem_read64(hm, r.hpa, &v[i]);
    }
    /* MUT_PAE_LOAD_NO_GP: the registers are loaded whatever they hold
     * (the #GP only comes at a walk through the bad PDPTE). */
    for (unsigned i = 0; i < 4 && !MUTANT(MUT_PAE_LOAD_NO_GP); i++)
        if (mmu_pae_pdpte_reserved(cpu, v[i])) {
            t->pae_gp = true;
            t->pae_valid = was_valid;
            return false;
        }
    memcpy(t->pdpte, v, sizeof(v));
    t->pae_cr3 = cpu->cr3;
    t->pae_valid = true;
    return true;
}

/* SDM 4.4.1: a MOV to CR0 or CR4 loads the PDPTE registers when PAE
 * paging is in use after it and it modifies CR0.CD, CR0.NW, CR0.PG,
 * CR4.PAE, CR4.PGE, CR4.PSE or CR4.SMEP -- not SMAP, PKE, PKS, WP, ...
 * (KVM reloaded on SMAP and PKE toggles until 2020: kvm_set_cr4()'s
 * pdptr_bits).  A change that enters PAE paging from another mode always
 * loads: from no paging or 32-bit paging it sets CR0.PG or CR4.PAE; from
 * IA-32e paging it also changes EFER.LME, which only a sequence through
 * CR0.PG = 0 can do, ending with the MOV CR0 that sets PG.  Not in the
 * per-access path: CR writes are rare. */
bool tlb_pae_cr_loads(const struct mmu_cpu *old, const struct mmu_cpu *cpu)
{
    if (mmu_mode_of(cpu) != MMU_MODE_PAE)
        return false;
    if (mmu_mode_of(old) != MMU_MODE_PAE)
        return true;
    uint64_t cr0_bits = X86_CR0_CD | X86_CR0_NW | X86_CR0_PG;
    uint64_t cr4_bits = X86_CR4_PAE | X86_CR4_PGE | X86_CR4_PSE | X86_CR4_SMEP;
    if (MUTANT(MUT_PAE_CR_SMAP_LOAD))
        cr4_bits |= X86_CR4_SMAP | X86_CR4_PKE;
    return ((old->cr0 ^ cpu->cr0) & cr0_bits) || ((old->cr4 ^ cpu->cr4) & cr4_bits);
}

bool tlb_pae_gp(const struct mmu_tlb *t)
{
    return t && t->pae_gp;
}

bool tlb_pae_exit(const struct mmu_tlb *t, enum mmu_outcome *kind,
                  uint64_t *qual, uint64_t *gpa)
{
    if (!t || t->pae_exit == MMU_OK)
        return false;
    *kind = t->pae_exit;
    *qual = t->pae_exit_qual;
    *gpa = t->pae_exit_gpa;
    return true;
}

void tlb_pae_clear(struct mmu_tlb *t)
{
    if (t)
        t->pae_valid = false;
}

bool tlb_pae_regs(const struct mmu_tlb *t, const struct mmu_cpu *cpu,
                  uint64_t out[4])
{
    if (!t || !t->pae_valid || t->pae_cr3 != cpu->cr3
        || mmu_mode_of(cpu) != MMU_MODE_PAE)
        return false;
    memcpy(out, t->pdpte, sizeof(t->pdpte));
    return true;
}

/* ---- invalidation ---------------------------------------------------------------- */

/* The first set at or after s that may hold a key (tlb_arr.occ), or
 * a->sets.  With any mutant on -- the differential tests' reference
 * model, as for miss_fast() -- every set, as before the bitmap: the
 * sets skipped hold no key, which FOR_EACH_ENTRY skips anyway, so both
 * visit the same entries in the same order. */
static inline size_t occ_next(const struct tlb_arr *a, size_t s)
{
    if (pagesim_mutants)
        return s;
    while (s < a->sets) {
        uint64_t w = a->occ[s / 64] >> (s % 64);
        if (w)
            return s + (size_t)__builtin_ctzll(w);
        s = (s | 63) + 1;
    }
    return a->sets;
}

/* Every array is empty now (a full invalidation ran): no set may hold a
 * key, and no PSC entry is valid. */
static void occ_clear_all(struct mmu_tlb *t)
{
    for (int ai = 0; ai < NR_ARR; ai++)
        memset(t->a[ai].occ, 0, (t->a[ai].sets + 63) / 64 * sizeof(uint64_t));
}

/* Visits every entry with a key (the sets that may hold one, in index
 * order) as e. */
#define FOR_EACH_ENTRY(t, e)                                                   \
    for (int ai_ = 0; ai_ < NR_ARR; ai_++)                                     \
        for (size_t s_ = occ_next(&(t)->a[ai_], 0); s_ < (t)->a[ai_].sets;     \
             s_ = occ_next(&(t)->a[ai_], s_ + 1))                              \
            for (size_t i_ = s_ * (t)->a[ai_].ways;                            \
                 i_ < (s_ + 1) * (t)->a[ai_].ways; i_++)                       \
                for (struct tlbe *e = &(t)->a[ai_].e[i_]; e; e = NULL)    \
                    if ((t)->a[ai_].key[i_])

/* Invalidates the entry FOR_EACH_ENTRY is at (lru 0: empty, the first
 * choice of arr_fill(); its set's LRU order goes stale). */
#define KILL(t, e) ((e)->valid = 0, (t)->a[ai_].key[i_] = 0, (t)->a[ai_].lru[i_] = 0, \
                    ord_stale(&(t)->a[ai_], i_ / (t)->a[ai_].ways))

/* An invalidation for va covers every piece of the guest page it is in
 * (a large page cached as smaller entries, SDM 4.10.2.3). */
static bool covers(const struct tlbe *e, uint64_t va)
{
    unsigned gs = e->gshift > e->shift ? e->gshift : e->shift;
    return (e->vpn << e->shift) >> gs == va >> gs;
}

/* A #PF (SDM 4.10.4.1): the page's entries, and the PSC entries that
 * would translate the address, in the current PCID. */
static void drop_page(struct mmu_tlb *t, uint64_t va, uint16_t vpid,
                      uint16_t pcid, bool globals_too)
{
    FOR_EACH_ENTRY(t, e)
        if (e->valid && e->vpid == vpid && covers(e, va)
            && (e->pcid == pcid || (globals_too && (e->rights & MMU_R_G))))
            KILL(t, e);
    psc_drop(t, false, vpid, false, pcid, true, va);
}

void tlb_invlpg(struct mmu_tlb *t, uint16_t vpid, uint16_t pcid, uint64_t va)
{
    if (!t || MUTANT(MUT_TLB_INVLPG_NOP))
        return;
    FOR_EACH_ENTRY(t, e)
        if (e->valid && e->vpid == vpid && covers(e, va)
            && (e->pcid == pcid || (e->rights & MMU_R_G)))
            KILL(t, e);
    /* SDM 4.10.4.1: INVLPG invalidates all PSC entries of the current
     * PCID, whatever their address. */
    if (!MUTANT(MUT_PSC_INVLPG_KEEP)
        && !(t->p->pwc && MUTANT(MUT_PWC_KEEP_ON_INVLPG))) /* AMD: the PWC only */
        psc_drop(t, false, vpid, false, pcid, false, 0);
}

void tlb_mov_cr3(struct mmu_tlb *t, uint16_t vpid, uint16_t new_pcid,
                 bool noflush)
{
    if (!t || noflush)
        return;
    FOR_EACH_ENTRY(t, e)
        if (e->valid && e->vpid == vpid && e->pcid == new_pcid
            && !(e->rights & MMU_R_G))
            KILL(t, e);
    /* SDM 4.10.4.1: and every PSC entry of the new PCID (PCID 0 without
     * PCIDE). */
    if (!MUTANT(MUT_PSC_CR3_KEEP))
        psc_drop(t, false, vpid, false, new_pcid, false, 0);
}

void tlb_invpcid(struct mmu_tlb *t, uint16_t vpid, unsigned type,
                 uint16_t pcid, uint64_t va)
{
    if (!t)
        return;
    FOR_EACH_ENTRY(t, e) {
        if (!e->valid || e->vpid != vpid)
            continue;
        bool g = (e->rights & MMU_R_G) != 0;
        switch (type) {
        case 0: /* individual address, non-global */
            if (e->pcid == pcid && !g && covers(e, va))
                KILL(t, e);
            break;
        case 1: /* single context, non-global */
            if (e->pcid == pcid && !g)
                KILL(t, e);
            break;
        case 2: /* all contexts, globals too */
            KILL(t, e);
            break;
        case 3: /* all contexts except globals */
            if (!g)
                KILL(t, e);
            break;
        default:
            break;
        }
    }
    /* PSCs: types 0 and 1 every entry of the PCID, 2 and 3 all (SDM
     * INVPCID; paging-structure caches hold no global entries). */
    if (type <= 1)
        psc_drop(t, false, vpid, false, pcid, false, 0);
    else if (type <= 3)
        psc_drop(t, false, vpid, true, 0, false, 0);
}

void tlb_invvpid(struct mmu_tlb *t, unsigned type, uint16_t vpid, uint64_t va)
{
    if (!t)
        return;
    FOR_EACH_ENTRY(t, e) {
        if (!e->valid)
            continue;
        switch (type) {
        case 0: /* individual address: every PCID, globals too */
            if (e->vpid == vpid && covers(e, va))
                KILL(t, e);
            break;
        case 1:
            if (e->vpid == vpid)
                KILL(t, e);
            break;
        case 2: /* all VPIDs but 0 */
            if (e->vpid != 0)
                KILL(t, e);
            break;
        case 3:
            if (e->vpid == vpid && !(e->rights & MMU_R_G))
                KILL(t, e);
            break;
        default:
            break;
        }
    }
    /* PSCs: type 2 every VPID but 0; the others every entry of the VPID
     * (more than type 0 needs, see tlb.h). */
    if (type == 2)
        psc_drop(t, true, 0, true, 0, false, 0);
    else if (type <= 3)
        psc_drop(t, false, vpid, true, 0, false, 0);
}

/* AMD SVM invalidations (APM vol. 2, 15.16): the ASID tags the guest's
 * entries as the VPID does here.  INVLPGA(va, asid) invalidates the
 * translations of va's page in that ASID -- every PCID, global ones too,
 * a large page's entry covering va included (dropping more than the APM
 * requires is always allowed) -- and, like INVLPG, the ASID's cached
 * upper-level entries. */
void tlb_invlpga(struct mmu_tlb *t, uint16_t asid, uint64_t va)
{
    if (!t)
        return;
    FOR_EACH_ENTRY(t, e) {
        if (!e->valid || e->vpid != asid || !covers(e, va))
            continue;
        /* MUT_INVLPGA_4K_ONLY: a large page's entry survives. */
        if (MUTANT(MUT_INVLPGA_4K_ONLY) && (e->gshift > 12 || e->shift > 12))
            continue;
        KILL(t, e);
    }
    if (!(t->p->pwc && MUTANT(MUT_PWC_KEEP_ON_INVLPGA)))
        psc_drop(t, false, asid, true, 0, false, 0);
    /* The NPT PSC: its entries are indexed by gpa, and which gpas the
     * walk of va goes through is not known from va, so, as INVLPG drops
     * every PSC entry of the context (SDM 4.10.4.1), INVLPGA drops every
     * nested entry of the ASID. */
    if (!MUTANT(MUT_NPT_PSC_KEEP_ON_INVLPGA))
        npsc_drop(t, asid);
}

/* The VMCB's TLB_CONTROL at VMRUN (APM vol. 2, 15.16): 0 nothing; 1 the
 * entire TLB, every ASID, with the paging-structure and nested (EPT-PSC
 * here) caches; 3 every entry of the guest's ASID; 7 the ASID's
 * non-global entries.  Its cached upper-level entries go with 3 and 7
 * (they are never global). */
void tlb_svm_flush(struct mmu_tlb *t, unsigned ctl, uint16_t asid)
{
    if (!t || !ctl)
        return;
    bool keep_global = ctl == 7 || (ctl == 3 && MUTANT(MUT_TLB_CONTROL3_KEEP_GLOBAL));
    FOR_EACH_ENTRY(t, e) {
        if (!e->valid)
            continue;
        if (ctl == 1 || (e->vpid == asid && !(keep_global && (e->rights & MMU_R_G))))
            KILL(t, e);
    }
    if (ctl == 1) {
        occ_clear_all(t); /* every entry went */
        epsc_drop(t, true, 0);
    } else {
        if (!(t->p->pwc && MUTANT(MUT_PWC_KEEP_ON_TLBCTL)))
            psc_drop(t, false, asid, true, 0, false, 0);
        /* 3 and 7: the ASID's NPT PSC entries (never global). */
        if (!MUTANT(MUT_NPT_PSC_KEEP_ON_TLBCTL))
            npsc_drop(t, asid);
    }
}

void tlb_invept(struct mmu_tlb *t, unsigned type, uint64_t eptp_root)
{
    if (!t)
        return;
    FOR_EACH_ENTRY(t, e)
        if (e->valid && (type == 2 || e->eptp == eptp_root))
            KILL(t, e);
    /* All contexts: every array is empty now, and the next invalidation
     * visits only the sets filled after this one (tlb_arr.occ). */
    if (type == 2)
        occ_clear_all(t);
    /* Combined and guest-physical mappings of the EPTP (SDM 28.4.3.1).
     * The mutants leave the guest-physical ones (the EPT PSCs). */
    bool keep = type == 1 ? MUTANT(MUT_EPSC_KEEP_ON_INVEPT_SINGLE)
                          : MUTANT(MUT_EPSC_KEEP_ON_INVEPT_ALL);
    if (type == 1 || type == 2)
        epsc_drop_k(t, type == 2, eptp_root, keep);
}
