/* SPDX-License-Identifier: MIT */
/*
 * tests/matrix/perm_matrix.c - the exhaustive guest permission matrix.
 *
 * Like kvm-unit-tests' x86/access.c: every legal combination of leaf and
 * upper-level entry bits, leaf size, one reserved bit, CR0.WP, EFER.NXE,
 * CR4.SMEP/SMAP(+EFLAGS.AC)/PKE/PKS with PKRU/PKRS rights, CPL, implicit
 * supervisor accesses and access kind, in every paging mode, is run
 * through the model (mmu_translate) and the oracle (oracle_access), which
 * share no code.  Any disagreement in outcome, #PF error code, CR2, gpa,
 * hpa, references or the A/D bits written is printed as
 *
 *   test <flags>: FAIL: error code %x expected %x      (expected = oracle)
 *
 * and makes the exit status 1.  The last line is
 *   matrix: <mode> <N> tests, <F> failures, <T> s
 * per mode and a total.
 *
 * Usage: perm_matrix [--quick] [--mutant NAME]... [mode...]
 * (--mutant switches on a deliberate model bug: the matrix must then fail.)
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pagesim/mmu.h"
#include "pagesim/mutant.h"
#include "pagesim/oracle.h"

#define NR_FRAMES 0x1000
#define HOST_OFF 0x10   /* mfn = gfn + HOST_OFF */
#define NR_GFNS 0x800   /* 8 MiB of guest RAM, all rwx */
#define EPT_ROOT 1      /* EPT tables at mfns 1..7 */
#define GT_ROOT 0x10    /* guest table at depth d: gfn GT_ROOT + d */
#define DATA_4K 0x20
#define MAXPHY 46

static struct hostmem *hm;
static struct oracle *orc;
static struct mmu_ept ept = { .root = { EPT_ROOT } };

static void build_ept(void)
{
    /* PML4 (mfn 1) -> PDPT (mfn 2) -> PD (mfn 3) -> PTs (mfns 4..7). */
    const uint64_t rwx = EPT_R | EPT_W | EPT_X;
    hostmem_write64(hm, _hpa(1 << 12), (2ULL << 12) | rwx);
    hostmem_write64(hm, _hpa(2 << 12), (3ULL << 12) | rwx);
    for (uint64_t pt = 0; pt < NR_GFNS / 512; pt++)
        hostmem_write64(hm, _hpa((3 << 12) + 8 * pt), ((4 + pt) << 12) | rwx);
    oracle_op_domain_create(orc, 0, NR_GFNS);
    for (uint64_t g = 0; g < NR_GFNS; g++) {
        uint64_t m = g + HOST_OFF;
        hostmem_write64(hm, _hpa(((4 + g / 512) << 12) + 8 * (g % 512)),
                        (m << 12) | (6 << 3) | rwx);
        if (oracle_op_populate(orc, 0, _gfn(g), _mfn(m), false)) {
            fprintf(stderr, "matrix: oracle populate failed\n");
            exit(2);
        }
    }
}

/* ---- the test space ----------------------------------------------------- */

enum {
    F_LEAF_P, F_LEAF_RW, F_LEAF_U, F_LEAF_AD, F_LEAF_NX,
    F_UP_P, F_UP_RW, F_UP_U, F_UP_A, F_UP_NX,
    F_WP, F_NXE, F_SMEP, F_SMAP, F_AC, F_PSE,
    F_USER, F_IMPLICIT,
    NR_BOOL_FLAGS
};
static const char *const fname[] = {
    "leaf.p", "leaf.rw", "leaf.user", "leaf.ad", "leaf.nx",
    "up.p", "up.rw", "up.user", "up.a", "up.nx",
    "cr0.wp", "efer.nx", "cr4.smep", "cr4.smap", "rflags.ac", "cr4.pse",
    "user", "implicit",
};
enum rsvd { RS_NONE, RS_LEAF_MAXPHY, RS_UP_MAXPHY, RS_LARGE13, RS_LEAF_52,
            NR_RSVD };
static const char *const rsname[] = { "", "leaf.47", "up.47", "leaf.13",
                                      "leaf.52" };
/* Protection keys: the leaf always carries key 1. */
enum pk { PK_NONE, PK_U_AD, PK_U_WD, PK_U_ADWD, PK_S_AD, PK_S_WD, PK_S_ADWD,
          NR_PK };
static const char *const pkname[] = { "", "pke+pkru.ad", "pke+pkru.wd",
                                      "pke+pkru.ad+wd", "pks+pkrs.ad",
                                      "pks+pkrs.wd", "pks+pkrs.ad+wd" };
static const char *const kname[] = { "read", "write", "fetch" };
static const char *const mname[] = { "none", "32-bit", "pae", "4-level",
                                     "5-level" };

struct tcase {
    unsigned f;        /* NR_BOOL_FLAGS bits */
    enum rsvd rs;
    enum pk pk;
    int leaf;          /* level of the leaf: 1, 2 or 3 */
    enum access_kind k;
};

static bool has(const struct tcase *t, int b) { return t->f >> b & 1; }

struct mode_desc {
    enum mmu_mode m;
    int levels;
    unsigned esize;
    uint64_t va;
    int max_leaf;
};

static const struct mode_desc modes[] = {
    { MMU_MODE_32, 2, 4, (3ULL << 22) | (4 << 12) | 0x88, 2 },
    { MMU_MODE_PAE, 3, 8, (2ULL << 30) | (3 << 21) | (4 << 12) | 0x88, 2 },
    { MMU_MODE_4L, 4, 8, (1ULL << 39) | (2ULL << 30) | (3 << 21) | (4 << 12) | 0x88, 3 },
    { MMU_MODE_5L, 5, 8, (1ULL << 48) | (1ULL << 39) | (2ULL << 30) | (3 << 21) | (4 << 12) | 0x88, 3 },
};

/* access.c-style legality filter: one reserved bit at most, flags that
 * cannot matter in a mode are not enumerated. */
static bool legal(const struct mode_desc *md, const struct tcase *t, bool quick)
{
    bool ia32e = md->m >= MMU_MODE_4L;
    /* The entry above the leaf: none for a 32-bit 4 MiB page; the PAE
     * PDPTE (only P) for a PAE 2 MiB page. */
    bool up_none = md->m == MMU_MODE_32 && t->leaf == 2;
    bool up_pdpte = md->m == MMU_MODE_PAE && t->leaf == 2;
    if (t->leaf > md->max_leaf)
        return false;
    if (up_none && (t->f & (0x1Fu << F_UP_P)))
        return false;
    if (up_pdpte && (t->f & (0x1Eu << F_UP_P)))
        return false;
    if (!up_none && !has(t, F_UP_P) && (t->f & (0x1Eu << F_UP_P)))
        return false; /* a not-present entry's other bits do not matter */
    if (!has(t, F_LEAF_P) && (t->f & (0x1Eu << F_LEAF_P)))
        return false;
    if (md->m == MMU_MODE_32 && (has(t, F_LEAF_NX) || has(t, F_UP_NX) || has(t, F_NXE)))
        return false; /* no XD bit in 4-byte entries */
    if (md->m != MMU_MODE_32 && has(t, F_PSE))
        return false;
    if (has(t, F_AC) && !has(t, F_SMAP))
        return false;
    if (has(t, F_IMPLICIT) && (!has(t, F_USER) || t->k == ACC_FETCH))
        return false; /* implicit: data accesses, here from CPL 3 */
    if (t->pk != PK_NONE && (!ia32e || t->k == ACC_FETCH))
        return false;
    switch (t->rs) {
    case RS_NONE: break;
    case RS_LEAF_MAXPHY: if (md->esize == 4 || !has(t, F_LEAF_P)) return false; break;
    case RS_UP_MAXPHY: if (md->esize == 4 || up_none || !has(t, F_UP_P)) return false; break;
    case RS_LARGE13: if (t->leaf == 1 || !has(t, F_LEAF_P)) return false; break;
    case RS_LEAF_52: if (md->m != MMU_MODE_PAE || !has(t, F_LEAF_P)) return false; break;
    default: return false;
    }
    if (md->m == MMU_MODE_32 && t->leaf == 2 && !has(t, F_PSE))
        return false; /* a PS PDE without CR4.PSE is a table: not a leaf */
    if (quick && md->m == MMU_MODE_5L && t->leaf != 1)
        return false;
    return true;
}

static void describe(const struct mode_desc *md, const struct tcase *t,
                     char *buf, size_t n)
{
    int o = snprintf(buf, n, "%s level=%d %s", mname[md->m], t->leaf,
                     kname[t->k]);
    for (int b = 0; b < NR_BOOL_FLAGS; b++)
        if (has(t, b))
            o += snprintf(buf + o, n - (size_t)o, " %s", fname[b]);
    if (t->rs)
        o += snprintf(buf + o, n - (size_t)o, " %s", rsname[t->rs]);
    if (t->pk)
        snprintf(buf + o, n - (size_t)o, " %s", pkname[t->pk]);
}

/* ---- one test ------------------------------------------------------------ */

static uint64_t hpa_of_gfn(uint64_t g) { return (g + HOST_OFF) << 12; }

struct built {
    int n;                 /* entries written */
    uint64_t hpa[5], val[5];
};

static unsigned idx_at(const struct mode_desc *md, int level)
{
    if (md->m == MMU_MODE_32)
        return (md->va >> (12 + 10 * (level - 1))) & 1023;
    if (md->m == MMU_MODE_PAE && level == 3)
        return (md->va >> 30) & 3;
    return (md->va >> (12 + 9 * (level - 1))) & 511;
}

static void build(const struct mode_desc *md, const struct tcase *t,
                  struct built *b)
{
    b->n = 0;
    for (int level = md->levels; level >= t->leaf; level--) {
        int depth = md->levels - level;
        uint64_t e;
        bool pdpte = md->m == MMU_MODE_PAE && level == 3;
        if (level == t->leaf) {
            uint64_t frame = level == 1 ? DATA_4K
                             : md->m == MMU_MODE_32 ? 0x400
                             : level == 2 ? 0x200 : 0;
            e = frame << 12;
            if (level > 1)
                e |= PTE_PS;
            e |= has(t, F_LEAF_P) ? PTE_P : 0;
            e |= has(t, F_LEAF_RW) ? PTE_W : 0;
            e |= has(t, F_LEAF_U) ? PTE_U : 0;
            e |= has(t, F_LEAF_AD) ? PTE_A | PTE_D : 0;
            e |= has(t, F_LEAF_NX) ? PTE_NX : 0;
            if (t->rs == RS_LEAF_MAXPHY)
                e |= 1ULL << 47;
            if (t->rs == RS_LARGE13)
                e |= 1ULL << 13;
            if (t->rs == RS_LEAF_52)
                e |= 1ULL << 52;
            if (md->m >= MMU_MODE_4L)
                e |= 1ULL << 59; /* protection key 1 */
        } else {
            e = (uint64_t)(GT_ROOT + depth + 1) << 12;
            if (level == t->leaf + 1) {
                e |= has(t, F_UP_P) ? PTE_P : 0;
                if (!pdpte) {
                    e |= has(t, F_UP_RW) ? PTE_W : 0;
                    e |= has(t, F_UP_U) ? PTE_U : 0;
                    e |= has(t, F_UP_A) ? PTE_A : 0;
                    e |= has(t, F_UP_NX) ? PTE_NX : 0;
                }
                if (t->rs == RS_UP_MAXPHY)
                    e |= 1ULL << 47;
            } else {
                e |= pdpte ? PTE_P : PTE_P | PTE_W | PTE_U | PTE_A;
            }
        }
        uint64_t hpa = hpa_of_gfn(GT_ROOT + depth) + md->esize * idx_at(md, level);
        hostmem_write(hm, _hpa(hpa), &e, md->esize);
        b->hpa[b->n] = hpa;
        b->val[b->n++] = e;
    }
}

static unsigned long failures;

static void fail(const struct mode_desc *md, const struct tcase *t,
                 const char *fmt, uint64_t got, uint64_t exp)
{
    if (++failures <= 20) {
        char d[512];
        describe(md, t, d, sizeof d);
        printf("test %s: FAIL: ", d);
        printf(fmt, got, exp);
        printf("\n");
    }
}

static void run_one(const struct mode_desc *md, const struct tcase *t)
{
    struct built b;
    build(md, t, &b);

    struct mmu_cpu cpu = { .cr3 = (uint64_t)GT_ROOT << 12, .maxphyaddr = MAXPHY };
    cpu.cr0 = X86_CR0_PG | 1 | (has(t, F_WP) ? X86_CR0_WP : 0);
    cpu.cr4 = (md->m >= MMU_MODE_PAE ? X86_CR4_PAE : 0)
              | (md->m == MMU_MODE_5L ? X86_CR4_LA57 : 0)
              | (has(t, F_PSE) ? X86_CR4_PSE : 0)
              | (has(t, F_SMEP) ? X86_CR4_SMEP : 0)
              | (has(t, F_SMAP) ? X86_CR4_SMAP : 0);
    cpu.efer = (md->m >= MMU_MODE_4L ? X86_EFER_LME | X86_EFER_LMA : 0)
               | (has(t, F_NXE) ? X86_EFER_NXE : 0);
    cpu.rflags = has(t, F_AC) ? X86_RFLAGS_AC : 0;
    cpu.cpl = has(t, F_USER) ? 3 : 0;
    cpu.implicit = has(t, F_IMPLICIT);
    static const uint32_t rights[] = { 0, 1, 2, 3, 1, 2, 3 };
    uint32_t key1 = rights[t->pk] << 2;
    if (t->pk >= PK_U_AD && t->pk <= PK_U_ADWD) {
        cpu.cr4 |= X86_CR4_PKE;
        cpu.pkru = key1;
    } else if (t->pk >= PK_S_AD) {
        cpu.cr4 |= X86_CR4_PKS;
        cpu.pkrs = key1;
    }

    struct oracle_cpu oc = { .cr0 = cpu.cr0, .cr3 = cpu.cr3, .cr4 = cpu.cr4,
                             .efer = cpu.efer, .cpl = cpu.cpl,
                             .rflags = cpu.rflags, .pkru = cpu.pkru,
                             .pkrs = cpu.pkrs, .maxphyaddr = cpu.maxphyaddr,
                             .implicit = cpu.implicit };
    struct oracle_expect x;
    oracle_access(orc, 0, &oc, hm, _gva(md->va), t->k, 8, &x);
    struct mmu_result r;
    mmu_translate(hm, &cpu, &ept, _gva(md->va), t->k, &r);

    static const enum mmu_outcome map[] = { [OR_OK] = MMU_OK, [OR_PF] = MMU_PF,
                                            [OR_MMIO] = MMU_EPT_VIOLATION,
                                            [OR_CRASH] = MMU_EPT_MISCONFIG,
                                            [OR_GP] = MMU_GP };
    if (map[x.final] != r.outcome || x.nexits) {
        fail(md, t, "outcome %" PRIu64 " expected %" PRIu64, r.outcome, map[x.final]);
        return;
    }
    if (r.outcome == MMU_PF) {
        if (r.pf_ec != x.pf_ec)
            fail(md, t, "error code %" PRIx64 " expected %" PRIx64, r.pf_ec, x.pf_ec);
        else if (gva_x(r.cr2) != gva_x(x.cr2))
            fail(md, t, "cr2 %" PRIx64 " expected %" PRIx64, gva_x(r.cr2), gva_x(x.cr2));
        else if (x.refs_valid && r.refs != x.refs)
            fail(md, t, "refs %" PRIu64 " expected %" PRIu64, r.refs, x.refs);
        /* A fault leaves every entry as written. */
        for (int i = 0; i < b.n; i++) {
            uint64_t v = 0;
            hostmem_read(hm, _hpa(b.hpa[i]), &v, md->esize);
            if (v != b.val[i])
                fail(md, t, "entry %" PRIx64 " expected %" PRIx64, v, b.val[i]);
        }
        return;
    }
    if (r.outcome != MMU_OK)
        return;
    if (gpa_x(r.gpa) != gpa_x(x.gpa))
        fail(md, t, "gpa %" PRIx64 " expected %" PRIx64, gpa_x(r.gpa), gpa_x(x.gpa));
    if (hpa_x(r.hpa) != hpa_x(x.hpa))
        fail(md, t, "hpa %" PRIx64 " expected %" PRIx64, hpa_x(r.hpa), hpa_x(x.hpa));
    if (x.refs_valid && r.refs != x.refs)
        fail(md, t, "refs %" PRIu64 " expected %" PRIu64, r.refs, x.refs);
    for (unsigned i = 0; i < x.nad; i++) {
        uint64_t v = 0;
        hostmem_read64(hm, x.ad[i].hpa, &v);
        if (v != x.ad[i].value)
            fail(md, t, "pte %" PRIx64 " expected %" PRIx64, v, x.ad[i].value);
    }
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    bool quick = false;
    unsigned want = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick")) {
            quick = true;
            continue;
        }
        if (!strcmp(argv[i], "--mutant") && i + 1 < argc) {
            mutset_t m = mutant_from_name(argv[++i]);
            if (!m) {
                fprintf(stderr, "perm_matrix: unknown mutant '%s'\n", argv[i]);
                return 2;
            }
            pagesim_mutants |= m;
            continue;
        }
        bool ok = false;
        for (unsigned m = 0; m < sizeof modes / sizeof modes[0]; m++)
            if (!strcmp(argv[i], mname[modes[m].m])) {
                want |= 1u << m;
                ok = true;
            }
        if (!ok) {
            fprintf(stderr, "usage: perm_matrix [--quick] [--mutant NAME]... [32-bit|pae|4-level|5-level]...\n");
            return 2;
        }
    }
    if (!want)
        want = ~0u;

    hm = hostmem_new(NR_FRAMES);
    orc = oracle_new(NR_FRAMES);
    if (!hm || !orc)
        return 2;
    build_ept();

    unsigned long total = 0;
    double t0 = now();
    for (unsigned mi = 0; mi < sizeof modes / sizeof modes[0]; mi++) {
        if (!(want >> mi & 1))
            continue;
        const struct mode_desc *md = &modes[mi];
        unsigned long n = 0, f0 = failures;
        double t1 = now();
        struct tcase t;
        for (t.leaf = 1; t.leaf <= 3; t.leaf++)
            for (int k = 0; k < 3; k++)
                for (int rs = 0; rs < NR_RSVD; rs++)
                    for (int pk = 0; pk < NR_PK; pk++)
                        for (unsigned f = 0; f < 1u << NR_BOOL_FLAGS; f++) {
                            t.f = f;
                            t.k = (enum access_kind)k;
                            t.rs = (enum rsvd)rs;
                            t.pk = (enum pk)pk;
                            if (!legal(md, &t, quick))
                                continue;
                            run_one(md, &t);
                            n++;
                        }
        printf("matrix: %s %lu tests, %lu failures, %.2f s\n", mname[md->m],
               n, failures - f0, now() - t1);
        total += n;
    }
    printf("matrix: total %lu tests, %lu failures, %.2f s\n", total, failures,
           now() - t0);
    oracle_destroy(orc);
    hostmem_destroy(hm);
    return failures ? 1 : 0;
}
