/* SPDX-License-Identifier: MIT */
/*
 * oracle/tlbset.c - the translations a CPU may still use from its TLBs
 * (see pagesim/oracle.h "TLB allowed outcomes"; SDM Vol. 3A 4.10, Vol. 3C
 * 28.4).  A plain list; entries are (tag, page) pairs with the rights the
 * translation granted.  Own code: the rights re-check below is written from
 * docs/translation-rules.md "Access rights", not taken from model/.
 */
#include <stdlib.h>
#include <string.h>

#include "oracle_priv.h"

struct ts_ent {
    uint16_t vpid, pcid;
    uint64_t eptp;
    uint64_t page;   /* va >> shift: the 4 KiB piece cached (the oracle's
                      * EPT maps 4 KiB pages, so combined mappings are
                      * 4 KiB even under a large guest page) */
    unsigned shift;
    uint64_t gpage;  /* va >> gshift: the guest page, which invalidations
                      * of any address in it remove (SDM 4.10.2.3) */
    unsigned gshift;
    uint64_t hbase;
    bool u, w, nx, dirty, global;
    unsigned pkey;
};

/* A paging-structure-cache entry a CPU may hold (SDM 4.10.3.1): the
 * linear-address prefix of a non-leaf entry at 'level', and what it maps
 * to.  Kept from every predicted successful walk until invalidated. */
struct ts_psc {
    uint16_t vpid, pcid;
    uint64_t eptp;
    unsigned level;
    unsigned mode;    /* TS_M_*: an entry serves only its paging mode */
    uint64_t prefix;  /* va >> (12 + 9 * (level - 1)); 32-bit: va >> 22 */
    uint64_t table_gpa, table_hpa;
    bool u, w, nx;
};

/* An NPT paging-structure-cache entry a CPU may hold (AMD nested paging):
 * the nested entry p, tagged by ASID and nCR3 frame (root).  Kept from
 * every predicted successful raw nested walk until invalidated. */
struct ts_npsc {
    uint16_t asid;
    uint64_t root;
    struct oracle_npsc p;
};

/* An AMD page-walk-cache entry a CPU may hold: the guest entry at
 * (level, gpa) with value val, tagged by the context and paging mode
 * (TS_M_*) of the walk that cached it.  Kept from every predicted
 * successful walk until invalidated. */
struct ts_pwc {
    uint16_t vpid, pcid;
    unsigned mode, level;
    uint64_t eptp, gpa, val;
};

/* An EPT paging-structure-cache entry a CPU may hold (Intel EPT, a
 * guest-physical mapping): the EPT entry p, tagged by the EPTP's root
 * frame only (SDM 29.4.1: guest-physical mappings carry no VPID or
 * PCID).  Kept from every predicted successful raw EPT walk until an
 * INVEPT of that EPTP or of all contexts. */
struct ts_epsc {
    uint64_t eptp;
    struct oracle_epsc p;
};

struct oracle_tlbset {
    struct ts_pwc *w;
    size_t nw, wcap;
    struct ts_ent *v;
    size_t n, cap;
    struct ts_psc *p;
    size_t np, pcap;
    struct ts_npsc *q;
    size_t nq, qcap;
    struct ts_epsc *ge; /* EPT PSC entries (guest-physical mappings) */
    size_t nge, gecap;
    /* The PAE PDPTE registers as last loaded (oracle_pae_load()), for CR3
     * pae_cr3. */
    bool pae_valid;
    uint64_t pae_cr3, pdpte[4];
};

struct oracle_tlbset *oracle_tlbset_new(void)
{
    return calloc(1, sizeof(struct oracle_tlbset));
}

void oracle_tlbset_destroy(struct oracle_tlbset *s)
{
    if (s) {
        free(s->v);
        free(s->p);
        free(s->q);
        free(s->w);
        free(s->ge);
    }
    free(s);
}

static uint16_t ts_pcid(const struct oracle_cpu *cpu);

/* The entry lists (TLB, PSC, NPT PSC, EPT PSC, page walk cache) are
 * arrays of plain structs compared by memcmp (their constructors zero the
 * padding).  ts_has(): is an entry equal to n among the
 * len entries of size bytes at arr? */
static bool ts_has(const void *arr, size_t len, const void *n, size_t size)
{
    for (size_t i = 0; i < len; i++)
        if (!memcmp((const char *)arr + i * size, n, size))
            return true;
    return false;
}

/* Appends n to the list (arr, *len, *cap), growing it, unless an equal
 * entry is there; returns the (maybe moved) array.  Out of memory: the
 * entry is not added, so not allowed -- the stricter check. */
static void *ts_note(void *arr, size_t *len, size_t *cap, const void *n, size_t size)
{
    if (ts_has(arr, *len, n, size))
        return arr;
    if (*len == *cap) {
        size_t c = *cap ? 2 * *cap : 64;
        void *v = realloc(arr, c * size);
        if (!v)
            return arr;
        arr = v;
        *cap = c;
    }
    memcpy((char *)arr + (*len)++ * size, n, size);
    return arr;
}

size_t oracle_tlbset_psc_size(const struct oracle_tlbset *s)
{
    return s->np;
}

size_t oracle_tlbset_npsc_size(const struct oracle_tlbset *s)
{
    return s->nq;
}

/* Keep the entries of list arr (count n, element type T) for which cond,
 * evaluated with e pointing at the entry, is false; the lists' filters
 * below (TLB, PSC, NPT PSC, EPT PSC, page walk cache) are this one. */
#define TS_LIST_FILTER(arr, n, T, e, cond)                                     \
    do {                                                                       \
        size_t j_ = 0;                                                         \
        for (size_t i_ = 0; i_ < (n); i_++) {                                  \
            const T *e = &(arr)[i_];                                           \
            if (!(cond))                                                       \
                (arr)[j_++] = *e;                                              \
        }                                                                      \
        (n) = j_;                                                              \
    } while (0)

/* Remove NPT PSC entries for which cond holds. */
#define TS_NPSC_FILTER(s, e, cond) TS_LIST_FILTER((s)->q, (s)->nq, struct ts_npsc, e, cond)

static struct ts_npsc ts_npsc_of(uint16_t asid, uint64_t root,
                                 const struct oracle_npsc *p)
{
    struct ts_npsc n;
    memset(&n, 0, sizeof(n)); /* padding: entries compare by memcmp */
    n.asid = asid, n.root = root;
    n.p.level = p->level, n.p.gpa_prefix = p->gpa_prefix;
    n.p.table_hpa = p->table_hpa;
    n.p.u = p->u, n.p.w = p->w, n.p.nx = p->nx;
    return n;
}

bool oracle_tlbset_npsc_allows(const struct oracle_tlbset *s, uint16_t asid,
                               uint64_t root, const struct oracle_npsc *p)
{
    struct ts_npsc n = ts_npsc_of(asid, root, p);
    return ts_has(s->q, s->nq, &n, sizeof(n));
}

static void ts_npsc_note(struct oracle_tlbset *s, const struct ts_npsc *n)
{
    s->q = ts_note(s->q, &s->nq, &s->qcap, n, sizeof(*n));
}

/* ---- EPT paging-structure caches (guest-physical mappings) ---- */

size_t oracle_tlbset_epsc_size(const struct oracle_tlbset *s)
{
    return s->nge;
}

/* Remove EPT PSC entries for which cond holds. */
#define TS_EPSC_FILTER(s, e, cond) TS_LIST_FILTER((s)->ge, (s)->nge, struct ts_epsc, e, cond)

static struct ts_epsc ts_epsc_of(uint64_t eptp, const struct oracle_epsc *p)
{
    struct ts_epsc n;
    memset(&n, 0, sizeof(n)); /* padding: entries compare by memcmp */
    n.eptp = eptp;
    n.p.level = p->level, n.p.gpa_prefix = p->gpa_prefix;
    n.p.table_hpa = p->table_hpa, n.p.rights = p->rights;
    return n;
}

bool oracle_tlbset_epsc_allows(const struct oracle_tlbset *s, uint64_t eptp,
                               const struct oracle_epsc *p)
{
    struct ts_epsc n = ts_epsc_of(eptp, p);
    return ts_has(s->ge, s->nge, &n, sizeof(n));
}

static void ts_epsc_note(struct oracle_tlbset *s, const struct ts_epsc *n)
{
    s->ge = ts_note(s->ge, &s->nge, &s->gecap, n, sizeof(*n));
}

void oracle_tlbset_epsc_add(struct oracle_tlbset *s, uint64_t eptp,
                            const struct oracle_epsc *p)
{
    struct ts_epsc n = ts_epsc_of(eptp, p);
    ts_epsc_note(s, &n);
}

void oracle_tlbset_npsc_add(struct oracle_tlbset *s, uint16_t asid,
                            uint64_t root, const struct oracle_npsc *p)
{
    struct ts_npsc n = ts_npsc_of(asid, root, p);
    ts_npsc_note(s, &n);
}

/* Paging modes of PSC entries: IA-32e, 32-bit, PAE (32-bit and PAE
 * paging cache only PDEs, SDM 4.10.3.1). */
enum { TS_M_LONG, TS_M_32, TS_M_PAE };

static unsigned ts_mode(const struct oracle_cpu *cpu)
{
    if (cpu->efer & X86_EFER_LMA)
        return TS_M_LONG;
    return (cpu->cr4 & X86_CR4_PAE) ? TS_M_PAE : TS_M_32;
}

/* The linear-address bits above what an entry at 'level' maps (a 32-bit
 * PDE maps 4 MiB). */
static uint64_t ts_prefix_m(unsigned mode, uint64_t va, unsigned level)
{
    if (mode == TS_M_32)
        return (uint32_t)va >> 22;
    if (mode == TS_M_PAE)
        return (uint32_t)va >> 21;
    return va >> (12 + 9 * (level - 1));
}

/* Remove PSC entries for which cond holds. */
#define TS_PSC_FILTER(s, e, cond) TS_LIST_FILTER((s)->p, (s)->np, struct ts_psc, e, cond)

static void ts_psc_note(struct oracle_tlbset *s, const struct ts_psc *n)
{
    s->p = ts_note(s->p, &s->np, &s->pcap, n, sizeof(*n));
}

/* Remove page-walk-cache entries for which cond holds. */
#define TS_PWC_FILTER(s, e, cond) TS_LIST_FILTER((s)->w, (s)->nw, struct ts_pwc, e, cond)

static struct ts_pwc ts_pwc_of(const struct oracle_cpu *cpu, uint16_t vpid,
                               uint64_t eptp, const struct oracle_pwc *p)
{
    struct ts_pwc n;
    memset(&n, 0, sizeof(n)); /* padding: entries compare by memcmp */
    n.vpid = vpid, n.pcid = ts_pcid(cpu), n.mode = ts_mode(cpu);
    n.level = p->level, n.eptp = eptp, n.gpa = p->gpa, n.val = p->val;
    return n;
}

bool oracle_tlbset_pwc_allows(const struct oracle_tlbset *s,
                              const struct oracle_cpu *cpu, uint16_t vpid,
                              uint64_t eptp, const struct oracle_pwc *p)
{
    if (!(cpu->cr0 & X86_CR0_PG))
        return false;
    struct ts_pwc n = ts_pwc_of(cpu, vpid, eptp, p);
    return ts_has(s->w, s->nw, &n, sizeof(n));
}

size_t oracle_tlbset_pwc_size(const struct oracle_tlbset *s)
{
    return s->nw;
}

static void ts_pwc_note(struct oracle_tlbset *s, const struct ts_pwc *n)
{
    s->w = ts_note(s->w, &s->nw, &s->wcap, n, sizeof(*n));
}

bool oracle_tlbset_psc_allows(struct oracle_tlbset *s,
                              const struct oracle_cpu *cpu, uint16_t vpid,
                              uint64_t eptp, gva_t gva,
                              const struct oracle_psc *p)
{
    uint64_t va = gva_x(gva);
    uint16_t pcid = ts_pcid(cpu);
    unsigned mode = ts_mode(cpu);
    if (!(cpu->cr0 & X86_CR0_PG) || p->level < 2
        || (mode != TS_M_LONG && p->level != 2))
        return false;
    for (size_t i = 0; i < s->np; i++) {
        const struct ts_psc *e = &s->p[i];
        if (e->vpid == vpid && e->pcid == pcid && e->eptp == eptp &&
            e->mode == mode &&
            e->level == p->level && e->prefix == ts_prefix_m(mode, va, p->level) &&
            e->table_gpa == p->table_gpa && e->table_hpa == p->table_hpa &&
            e->u == p->u && e->w == p->w && e->nx == p->nx)
            return true;
    }
    return false;
}

size_t oracle_tlbset_size(const struct oracle_tlbset *s)
{
    return s->n;
}

static uint16_t ts_pcid(const struct oracle_cpu *cpu)
{
    bool pcide = (cpu->cr4 >> 17) & 1, lma = (cpu->efer & X86_EFER_LMA) != 0;
    return pcide && lma ? (uint16_t)(cpu->cr3 & 0xFFF) : 0;
}

static uint64_t ts_va(const struct oracle_cpu *cpu, gva_t va)
{
    return (cpu->efer & X86_EFER_LMA) ? gva_x(va) : (uint32_t)gva_x(va);
}

/* Remove entries for which drop() says so. */
#define TS_FILTER(s, e, cond) TS_LIST_FILTER((s)->v, (s)->n, struct ts_ent, e, cond)

static bool ts_covers(const struct ts_ent *e, uint64_t va)
{
    return (va >> e->gshift) == e->gpage;
}

static bool ts_maps(const struct ts_ent *e, uint64_t va)
{
    return (va >> e->shift) == e->page;
}

void oracle_tlbset_note(struct oracle_tlbset *s, const struct oracle_cpu *cpu,
                        uint16_t vpid, uint64_t eptp, gva_t gva,
                        const struct oracle_expect *x)
{
    uint64_t va = ts_va(cpu, gva);
    uint16_t pcid = ts_pcid(cpu);
    /* NPT PSC entries: each nested walk that succeeded fills them, even
     * when the access then faults. */
    for (unsigned i = 0; i < x->nnpsc && i < ORACLE_MAX_NPSC; i++) {
        struct ts_npsc n = ts_npsc_of(vpid, x->npsc_root, &x->npsc_used[i]);
        ts_npsc_note(s, &n);
    }
    /* EPT PSC entries: likewise from each raw EPT walk that succeeded. */
    for (unsigned i = 0; i < x->nepsc && i < ORACLE_MAX_EPSC; i++) {
        struct ts_epsc n = ts_epsc_of(x->epsc_root, &x->epsc_used[i]);
        ts_epsc_note(s, &n);
    }
    if (x->final != OR_OK)
        return;
    for (unsigned i = 0; i < x->npwc && i < 4 && (cpu->cr0 & X86_CR0_PG); i++) {
        struct ts_pwc n = ts_pwc_of(cpu, vpid, eptp, &x->pwc[i]);
        ts_pwc_note(s, &n);
    }
    for (unsigned i = 0; i < x->npsc && i < 4; i++) {
        const struct oracle_psc *q = &x->psc[i];
        struct ts_psc n;
        memset(&n, 0, sizeof(n)); /* padding: entries compare by memcmp */
        n.vpid = vpid, n.pcid = pcid, n.eptp = eptp, n.level = q->level;
        n.mode = ts_mode(cpu);
        n.prefix = ts_prefix_m(n.mode, va, q->level);
        n.table_gpa = q->table_gpa, n.table_hpa = q->table_hpa;
        n.u = q->u, n.w = q->w, n.nx = q->nx;
        ts_psc_note(s, &n);
    }
    /* The same tag and page: the newer translation replaces the older only
     * if identical; different ones may coexist (stale + fresh). */
    struct ts_ent n = { vpid, pcid, eptp, va >> 12, 12,
                        va >> x->r_shift, x->r_shift,
                        hpa_x(x->hpa) & ~0xFFFULL,
                        x->r_user, x->r_write, x->r_nx, x->r_dirty,
                        x->r_global, x->r_pkey };
    s->v = ts_note(s->v, &s->n, &s->cap, &n, sizeof(n));
}

void oracle_tlbset_pf(struct oracle_tlbset *s, const struct oracle_cpu *cpu,
                      uint16_t vpid, gva_t gva)
{
    /* A delivered #PF invalidates the page's entries (SDM 4.10.4.1). */
    uint64_t va = ts_va(cpu, gva);
    uint16_t pcid = ts_pcid(cpu);
    TS_FILTER(s, e, e->vpid == vpid && ts_covers(e, va) &&
                        (e->pcid == pcid || e->global));
    /* ... and the PSC entries that would translate it. */
    TS_PSC_FILTER(s, e, e->vpid == vpid && e->pcid == pcid &&
                            e->prefix == ts_prefix_m(e->mode, va, e->level));
}

/* The #PF error code a cached translation gives now, or 0. */
static uint32_t ts_fault(const struct oracle_cpu *cpu, const struct ts_ent *e,
                         enum access_kind k)
{
    bool user = cpu->cpl == 3 && !cpu->implicit;
    bool wr = k == ACC_WRITE, fe = k == ACC_FETCH;
    bool wp = (cpu->cr0 & X86_CR0_WP) != 0;
    bool bad = false, pk = false;
    if (user && !e->u)
        bad = true;
    if (wr && !e->w && (user || wp))
        bad = true;
    if (fe && e->nx)
        bad = true;
    if (fe && !user && e->u && (cpu->cr4 & X86_CR4_SMEP))
        bad = true;
    if (!fe && !user && e->u && (cpu->cr4 & X86_CR4_SMAP) &&
        (cpu->implicit || !(cpu->rflags & X86_RFLAGS_AC)))
        bad = true;
    if (!fe && (cpu->efer & X86_EFER_LMA)) {
        uint32_t reg = 0;
        bool on = false;
        if (e->u && (cpu->cr4 & X86_CR4_PKE))
            reg = cpu->pkru, on = true;
        if (!e->u && (cpu->cr4 & X86_CR4_PKS))
            reg = cpu->pkrs, on = true;
        if (on) {
            bool ad = (reg >> (2 * e->pkey)) & 1;
            bool wd = (reg >> (2 * e->pkey + 1)) & 1;
            pk = ad || (wd && wr && (user || wp));
        }
    }
    if (!bad && !pk)
        return 0;
    bool pae_nxe = (cpu->cr4 & X86_CR4_PAE) && (cpu->efer & X86_EFER_NXE);
    return PFEC_P | (wr ? PFEC_W : 0) | (user ? PFEC_U : 0) |
           (fe && ((cpu->cr4 & X86_CR4_SMEP) || pae_nxe) ? PFEC_ID : 0) |
           (pk ? PFEC_PK : 0);
}

bool oracle_tlbset_allows(struct oracle_tlbset *s, const struct oracle_cpu *cpu,
                          uint16_t vpid, uint64_t eptp, gva_t gva,
                          enum access_kind k, bool ok, hpa_t hpa, uint32_t ec)
{
    uint64_t va = ts_va(cpu, gva);
    uint16_t pcid = ts_pcid(cpu);
    for (size_t i = 0; i < s->n; i++) {
        const struct ts_ent *e = &s->v[i];
        if (e->vpid != vpid || e->eptp != eptp || !ts_maps(e, va) ||
            (e->pcid != pcid && !e->global))
            continue;
        uint32_t f = ts_fault(cpu, e, k);
        if (!ok) {
            if (f && f == ec)
                return true;
            continue;
        }
        if (f || (k == ACC_WRITE && !e->dirty))
            continue; /* a write through a clean entry must walk */
        uint64_t want = e->hbase | (va & ((1ULL << e->shift) - 1));
        if (hpa_x(hpa) == want)
            return true;
    }
    return false;
}

void oracle_tlbset_invlpg(struct oracle_tlbset *s, uint16_t vpid,
                          uint16_t pcid, uint64_t va)
{
    TS_FILTER(s, e, e->vpid == vpid && ts_covers(e, va) &&
                        (e->pcid == pcid || e->global));
    /* SDM 4.10.4.1: all PSC entries of the current PCID, any address. */
    TS_PSC_FILTER(s, e, e->vpid == vpid && e->pcid == pcid);
    /* APM vol. 2 5.5.2: and every cached upper-level entry (PWC). */
    TS_PWC_FILTER(s, e, e->vpid == vpid && e->pcid == pcid);
}

void oracle_tlbset_mov_cr3(struct oracle_tlbset *s, uint16_t vpid,
                           uint16_t pcid, bool noflush)
{
    if (noflush)
        return;
    TS_FILTER(s, e, e->vpid == vpid && e->pcid == pcid && !e->global);
    TS_PSC_FILTER(s, e, e->vpid == vpid && e->pcid == pcid);
    TS_PWC_FILTER(s, e, e->vpid == vpid && e->pcid == pcid); /* never global */
}

void oracle_tlbset_invpcid(struct oracle_tlbset *s, uint16_t vpid,
                           unsigned type, uint16_t pcid, uint64_t va)
{
    switch (type) {
    case 0:
        TS_FILTER(s, e, e->vpid == vpid && e->pcid == pcid && !e->global &&
                            ts_covers(e, va));
        break;
    case 1:
        TS_FILTER(s, e, e->vpid == vpid && e->pcid == pcid && !e->global);
        break;
    case 2:
        TS_FILTER(s, e, e->vpid == vpid);
        break;
    case 3:
        TS_FILTER(s, e, e->vpid == vpid && !e->global);
        break;
    default:
        break;
    }
    /* PSCs: types 0 and 1 every entry of the PCID (SDM INVPCID), 2 and 3
     * every entry of the VPID (PSC entries are never global). */
    if (type <= 1)
        TS_PSC_FILTER(s, e, e->vpid == vpid && e->pcid == pcid);
    else if (type <= 3)
        TS_PSC_FILTER(s, e, e->vpid == vpid);
    if (type <= 1)
        TS_PWC_FILTER(s, e, e->vpid == vpid && e->pcid == pcid);
    else if (type <= 3)
        TS_PWC_FILTER(s, e, e->vpid == vpid);
}

/* APM vol. 2, 15.16, as the oracle reads it: INVLPGA removes the page's
 * translations in that ASID whatever their PCID or G bit, and the ASID's
 * upper-level entries (as INVLPG does); TLB_CONTROL 1 everything, 3 all
 * of the ASID, 7 all of the ASID but global translations. */
void oracle_tlbset_invlpga(struct oracle_tlbset *s, uint16_t asid, uint64_t va)
{
    TS_FILTER(s, e, e->vpid == asid && ts_covers(e, va));
    TS_PSC_FILTER(s, e, e->vpid == asid);
    TS_PWC_FILTER(s, e, e->vpid == asid);
    /* Cached nested entries are indexed by gpa, which va does not name:
     * the ASID's all go, as INVLPG takes the whole context's PSC. */
    TS_NPSC_FILTER(s, e, e->asid == asid);
}

void oracle_tlbset_tlb_control(struct oracle_tlbset *s, unsigned ctl, uint16_t asid)
{
    switch (ctl) {
    case 1:
        TS_FILTER(s, e, true);
        TS_PSC_FILTER(s, e, true);
        TS_NPSC_FILTER(s, e, true);
        TS_PWC_FILTER(s, e, true);
        TS_EPSC_FILTER(s, e, true); /* the model's epsc_drop(all) */
        break;
    case 3:
        TS_FILTER(s, e, e->vpid == asid);
        TS_PSC_FILTER(s, e, e->vpid == asid);
        TS_NPSC_FILTER(s, e, e->asid == asid);
        TS_PWC_FILTER(s, e, e->vpid == asid);
        break;
    case 7:
        TS_FILTER(s, e, e->vpid == asid && !e->global);
        TS_PSC_FILTER(s, e, e->vpid == asid);
        TS_PWC_FILTER(s, e, e->vpid == asid); /* never global */
        TS_NPSC_FILTER(s, e, e->asid == asid); /* never global */
        break;
    default:
        break;
    }
}

void oracle_tlbset_invvpid(struct oracle_tlbset *s, unsigned type,
                           uint16_t vpid, uint64_t va)
{
    switch (type) {
    case 0:
        TS_FILTER(s, e, e->vpid == vpid && ts_covers(e, va));
        break;
    case 1:
        TS_FILTER(s, e, e->vpid == vpid);
        break;
    case 2:
        TS_FILTER(s, e, e->vpid != 0);
        break;
    case 3:
        TS_FILTER(s, e, e->vpid == vpid && !e->global);
        break;
    default:
        break;
    }
    /* PSCs (SDM 28.4.3.1 / INVVPID): type 0 the combined mappings that
     * would be used to translate the address, any PCID; 1 and 3 all of the
     * VPID; 2 all but VPID 0. */
    switch (type) {
    case 0:
        TS_PSC_FILTER(s, e, e->vpid == vpid &&
                                e->prefix == ts_prefix_m(e->mode, va, e->level));
        break;
    case 1:
    case 3:
        TS_PSC_FILTER(s, e, e->vpid == vpid);
        break;
    case 2:
        TS_PSC_FILTER(s, e, e->vpid != 0);
        break;
    default:
        break;
    }
    /* Page-walk-cache entries: as the PSC's, but type 0 none (its scope,
     * the entries that would translate va, names no entry address). */
    if (type == 1 || type == 3)
        TS_PWC_FILTER(s, e, e->vpid == vpid);
    else if (type == 2)
        TS_PWC_FILTER(s, e, e->vpid != 0);
}

void oracle_tlbset_invept(struct oracle_tlbset *s, unsigned type,
                          uint64_t eptp)
{
    TS_FILTER(s, e, type == 2 || e->eptp == eptp);
    TS_PSC_FILTER(s, e, type == 2 || e->eptp == eptp);
    TS_PWC_FILTER(s, e, type == 2 || e->eptp == eptp);
    /* The engine's flush after a hypervisor operation (type 2) stands for
     * Xen's flush after P2M changes (NPT: a new ASID generation). */
    TS_NPSC_FILTER(s, e, type == 2 || e->root == eptp);
    /* Guest-physical mappings (SDM 29.4.3.1): single-context those of the
     * EPTP, all-context every one. */
    TS_EPSC_FILTER(s, e, type == 2 || e->eptp == eptp);
}

void oracle_tlbset_pae_set(struct oracle_tlbset *s, bool valid, uint64_t cr3,
                           const uint64_t pdpte[4])
{
    s->pae_valid = valid;
    s->pae_cr3 = cr3;
    if (valid)
        memcpy(s->pdpte, pdpte, sizeof(s->pdpte));
}

bool oracle_tlbset_pae_get(const struct oracle_tlbset *s, uint64_t cr3,
                           uint64_t out[4])
{
    if (!s->pae_valid || s->pae_cr3 != cr3)
        return false;
    memcpy(out, s->pdpte, sizeof(s->pdpte));
    return true;
}
