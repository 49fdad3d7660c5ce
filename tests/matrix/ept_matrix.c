/* SPDX-License-Identifier: MIT */
/*
 * tests/matrix/ept_matrix.c - the exhaustive EPT permission matrix.
 *
 * Every R/W/X combination of every entry on one EPT path (4-level: 8^4 for
 * a 4 KiB leaf, 8^3 for 2 MiB, 8^2 for 1 GiB), x every leaf memory type
 * (ignore-PAT = type bit 0), x one reserved-bit choice (none; bit 12 of a
 * large leaf; bit 3 of a table entry; bit 47 with MAXPHYADDR 46 in the
 * leaf), x EPT A/D off/on (EPTP bit 6), x access kind, x final translation
 * or paging-structure access, run through the model (ept_translate) and the
 * oracle (oracle_ept_xlate), which share no code.  5-level EPT: the same
 * with memory type WB and no reserved bit.  Compared: outcome,
 * qualification, hpa, memory type, ignore-PAT, page size, references and
 * every entry after the A/D updates.  Prints
 *   test <flags>: FAIL: <what> %x expected %x      (expected = oracle)
 * Usage: ept_matrix [--quick] [--mutant NAME]...
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pagesim/mmu.h"
#include "pagesim/mutant.h"
#include "pagesim/oracle.h"

#define NR_FRAMES 64
#define TBL(lvl) (8 + (lvl)) /* the table at level lvl: mfn 9..13 */
#define MAXPHY 46
#define PML_MFN 40
static const unsigned pml_index0[] = { 0, 511, 0, 0xFFFF };

static struct hostmem *hm;
static unsigned long failures, tests;

struct tc {
    unsigned levels, leaf, ad, kind, walk, rs, memtype;
    unsigned mbec, user_la;
    unsigned pml; /* 0 off; PML index 511, 0 or 0xFFFF (full) */
    unsigned perm[6]; /* by level: bits 0-2 R/W/X, bit 3 = EPT bit 10 */
};

static void describe(const struct tc *t, char *b, size_t n)
{
    static const char *const kn[] = { "read", "write", "fetch" };
    static const char *const rn[] = { "", " rsvd.large12", " rsvd.table3",
                                      " rsvd.leaf47" };
    int o = snprintf(b, n, "ept%u leaf=%u %s%s%s%s%s mt=%u%s perms", t->levels,
                     t->leaf, kn[t->kind], t->walk ? " walk" : " final",
                     t->ad ? " ad" : "", t->mbec ? " mbec" : "",
                     t->user_la ? " user-la" : "", t->memtype, rn[t->rs]);
    if (t->pml)
        o += snprintf(b + o, n - (size_t)o, " pml.index=%u", pml_index0[t->pml]);
    for (unsigned l = t->levels; l >= t->leaf; l--)
        o += snprintf(b + o, n - (size_t)o, " L%u=%c%c%c%s", l,
                      t->perm[l] & 1 ? 'r' : '-', t->perm[l] & 2 ? 'w' : '-',
                      t->perm[l] & 4 ? 'x' : '-', t->perm[l] & 8 ? "u" : "");
}

static void fail(const struct tc *t, const char *what, uint64_t got,
                 uint64_t exp)
{
    if (++failures <= 20) {
        char d[256];
        describe(t, d, sizeof d);
        printf("test %s: FAIL: %s %" PRIx64 " expected %" PRIx64 "\n", d,
               what, got, exp);
    }
}

static uint64_t gpa_of(unsigned levels)
{
    uint64_t g = (1ULL << 39) | (2ULL << 30) | (3ULL << 21) | (4ULL << 12) | 0x88;
    return levels == 5 ? g | (5ULL << 48) : g;
}

static void run(const struct tc *t)
{
    uint64_t gpa = gpa_of(t->levels);
    uint64_t hpa[6] = { 0 }, val[6] = { 0 };
    for (unsigned l = t->levels; l >= t->leaf; l--) {
        unsigned idx = (gpa >> (12 + 9 * (l - 1))) & 511;
        uint64_t e = (t->perm[l] & 7) | ((t->perm[l] & 8) ? EPT_XU : 0);
        if (l == t->leaf) {
            static const uint64_t frame[] = { 0, 0x1234000ULL, 0x40000000ULL,
                                              0x80000000ULL };
            e |= frame[l] | (uint64_t)t->memtype << 3;
            if (l > 1)
                e |= EPT_PS;
            if (t->rs == 1)
                e |= 1ULL << 12;
            if (t->rs == 3)
                e |= 1ULL << 47;
        } else {
            e |= (uint64_t)TBL(l - 1) << 12;
            if (t->rs == 2 && l == t->leaf + 1)
                e |= 1ULL << 3;
        }
        hpa[l] = ((uint64_t)TBL(l) << 12) + 8 * idx;
        val[l] = e;
        hostmem_write64(hm, _hpa(hpa[l]), e);
    }
    struct oracle_eptp op = { .root_mfn = TBL(t->levels), .levels = t->levels,
                              .ad = t->ad, .maxphyaddr = MAXPHY, .mbec = t->mbec,
                              .user_la = t->user_la, .pml = t->pml != 0,
                              .pml_log = (uint64_t)PML_MFN << 12,
                              .pml_index = pml_index0[t->pml] };
    struct mmu_pml pml = { _hpa((uint64_t)PML_MFN << 12),
                           (uint16_t)pml_index0[t->pml] };
    /* The log slots this matrix can write: 511 and 0. */
    hostmem_write64(hm, _hpa((uint64_t)PML_MFN << 12), 0);
    hostmem_write64(hm, _hpa(((uint64_t)PML_MFN << 12) + 8 * 511), 0);
    struct oracle_ept_result x;
    oracle_ept_xlate(hm, NR_FRAMES, &op, gpa, (enum access_kind)t->kind,
                     t->walk, &x);
    struct mmu_ept me = { .root = _mfn(TBL(t->levels)), .levels = t->levels,
                          .ad = t->ad, .maxphyaddr = MAXPHY, .mbec = t->mbec,
                          .pml = t->pml ? &pml : NULL };
    struct mmu_result r = { .outcome = MMU_OK };
    ept_translate_la(hm, &me, _gpa(gpa), (enum access_kind)t->kind, t->walk,
                     t->user_la, _gva(0x1000), &r);
    tests++;

    static const enum mmu_outcome map[] = { [OE_OK] = MMU_OK,
                                            [OE_VIOLATION] = MMU_EPT_VIOLATION,
                                            [OE_MISCONFIG] = MMU_EPT_MISCONFIG,
                                            [OE_PML_FULL] = MMU_PML_FULL };
    if (r.outcome != map[x.outcome]) {
        fail(t, "outcome", r.outcome, map[x.outcome]);
        return;
    }
    if (r.refs != x.refs)
        fail(t, "refs", r.refs, x.refs);
    if (r.outcome == MMU_EPT_VIOLATION && r.exit_qual != x.qual)
        fail(t, "qualification", r.exit_qual, x.qual);
    if (t->pml) {
        if (pml.index != x.pml_index)
            fail(t, "pml index", pml.index, x.pml_index);
        for (unsigned i = 0; i < 512; i += 511) {
            uint64_t got = 0, exp = 0;
            hostmem_read64(hm, _hpa(((uint64_t)PML_MFN << 12) + 8 * i), &got);
            if (x.pml_logged && x.pml_hpa == ((uint64_t)PML_MFN << 12) + 8 * i)
                exp = x.pml_value;
            if (got != exp)
                fail(t, "pml log entry", got, exp);
        }
    }
    if (r.outcome == MMU_OK) {
        if (hpa_x(r.hpa) != x.hpa)
            fail(t, "hpa", hpa_x(r.hpa), x.hpa);
        if (r.ept_memtype != x.memtype)
            fail(t, "memtype", r.ept_memtype, x.memtype);
        if (r.ept_ipat != x.ipat)
            fail(t, "ipat", r.ept_ipat, x.ipat);
        if (r.ept_shift != x.shift)
            fail(t, "page shift", r.ept_shift, x.shift);
    }
    /* Entries after the walk: the oracle's A/D image, or unchanged. */
    for (unsigned l = t->levels, i = 0; l >= t->leaf; l--, i++) {
        uint64_t now = 0;
        hostmem_read64(hm, _hpa(hpa[l]), &now);
        uint64_t exp = i < x.nupd ? x.upd[i].value : val[l];
        if (now != exp)
            fail(t, "ept entry", now, exp);
    }
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void sweep(struct tc *t, unsigned l, unsigned mtmax, unsigned rsmax)
{
    if (l >= t->leaf) {
        for (unsigned p = 0; p < (t->mbec ? 16u : 8u); p++) {
            t->perm[l] = p;
            sweep(t, l - 1, mtmax, rsmax);
        }
        return;
    }
    for (t->memtype = 0; t->memtype < mtmax; t->memtype++)
        for (t->rs = 0; t->rs < rsmax; t->rs++) {
            if (t->rs == 1 && t->leaf == 1)
                continue;
            if (t->rs == 2 && t->leaf == t->levels)
                continue;
            for (t->ad = 0; t->ad < 2; t->ad++)
                for (t->kind = 0; t->kind < 3; t->kind++)
                    for (t->walk = 0; t->walk < 2; t->walk++) {
                        if (t->walk && t->kind == ACC_FETCH)
                            continue; /* paging accesses are data */
                        if (t->mbec && t->ad)
                            continue; /* the MBEC sweep keeps A/D off */
                        for (t->user_la = 0; t->user_la <= t->mbec; t->user_la++)
                            for (t->pml = 0; t->pml <= (t->ad && !t->mbec ? 3u : 0u);
                                 t->pml++)
                                run(t);
                    }
        }
}

int main(int argc, char **argv)
{
    bool quick = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick")) {
            quick = true;
        } else if (!strcmp(argv[i], "--mutant") && i + 1 < argc) {
            mutset_t m = mutant_from_name(argv[++i]);
            if (!m) {
                fprintf(stderr, "ept_matrix: unknown mutant '%s'\n", argv[i]);
                return 2;
            }
            pagesim_mutants |= m;
        } else {
            fprintf(stderr, "usage: ept_matrix [--quick] [--mutant NAME]...\n");
            return 2;
        }
    }
    hm = hostmem_new(NR_FRAMES);
    if (!hm)
        return 2;
    double t0 = now_s();
    for (unsigned levels = 4; levels <= (quick ? 4u : 5u); levels++) {
        unsigned long n0 = tests, f0 = failures;
        double t1 = now_s();
        for (unsigned leaf = 1; leaf <= 3; leaf++) {
            struct tc t = { .levels = levels, .leaf = leaf };
            if (levels == 5)
                sweep(&t, levels, 1, 1); /* memtype 0 (UC), no reserved bit */
            else
                sweep(&t, levels, 8, 4);
        }
        printf("matrix: ept %u-level %lu tests, %lu failures, %.2f s\n", levels,
               tests - n0, failures - f0, now_s() - t1);
    }
    {
        /* Mode-based execute control: bit 10 as a fourth permission bit on
         * every entry, user- and supervisor-mode linear addresses; memory
         * type 0, no reserved bit, A/D off. */
        unsigned long n0 = tests, f0 = failures;
        double t1 = now_s();
        for (unsigned leaf = 1; leaf <= 3; leaf++) {
            struct tc t = { .levels = 4, .leaf = leaf, .mbec = 1 };
            sweep(&t, 4, 1, 1);
        }
        printf("matrix: ept 4-level mbec %lu tests, %lu failures, %.2f s\n",
               tests - n0, failures - f0, now_s() - t1);
    }
    printf("matrix: ept total %lu tests, %lu failures, %.2f s\n", tests,
           failures, now_s() - t0);
    hostmem_destroy(hm);
    return failures ? 1 : 0;
}
