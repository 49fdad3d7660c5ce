/* SPDX-License-Identifier: MIT */
/*
 * tests/matrix/npt_matrix.c - the exhaustive NPT (AMD nested paging)
 * permission matrix: every combination of P, R/W, U/S, XD in every nested
 * entry on the path (a not-present entry's other bits not varied: 9 per
 * entry, 9^4 for a 4 KiB leaf, 9^3 for 2 MiB, 9^2 for 1 GiB), x leaf A/D
 * preset or clear, x one reserved-bit choice (none; bit 47 of the leaf or
 * of the entry above with MAXPHYADDR 46; bit 13 of a large leaf; PS in the
 * PML4E), x host EFER.NXE, x access kind, x final gpa / guest page-table
 * access, through the model (npt_translate) and the oracle
 * (oracle_npt_xlate).  Compared: outcome, EXITINFO1, hpa, page size,
 * references, every nested entry after A/D.  Prints
 *   test <flags>: FAIL: <what> %x expected %x      (expected = oracle)
 * Usage: npt_matrix [--mutant NAME]...
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
#define TBL(lvl) (8 + (lvl))
#define MAXPHY 46

static struct hostmem *hm;
static unsigned long failures, tests;

struct tc {
    unsigned leaf, kind, walk, rs, nxe, ad;
    unsigned bits[5]; /* by level: 0 = not present, else 1 + (RW|US<<1|XD<<2) */
};

static void describe(const struct tc *t, char *b, size_t n)
{
    static const char *const kn[] = { "read", "write", "fetch" };
    static const char *const rn[] = { "", " rsvd.leaf47", " rsvd.up47",
                                      " rsvd.large13", " rsvd.pml4.ps" };
    int o = snprintf(b, n, "npt leaf=%u %s%s%s%s%s", t->leaf, kn[t->kind],
                     t->walk ? " gpt" : " final", t->nxe ? " efer.nx" : "",
                     t->ad ? " leaf.ad" : "", rn[t->rs]);
    for (unsigned l = 4; l >= t->leaf; l--) {
        unsigned v = t->bits[l];
        if (!v)
            o += snprintf(b + o, n - (size_t)o, " L%u=np", l);
        else
            o += snprintf(b + o, n - (size_t)o, " L%u=p%s%s%s", l,
                          (v - 1) & 1 ? "w" : "", (v - 1) & 2 ? "u" : "",
                          (v - 1) & 4 ? "x" : "");
    }
}

static void fail(const struct tc *t, const char *what, uint64_t got, uint64_t exp)
{
    if (++failures <= 20) {
        char d[256];
        describe(t, d, sizeof d);
        printf("test %s: FAIL: %s %" PRIx64 " expected %" PRIx64 "\n", d, what,
               got, exp);
    }
}

static const uint64_t GPA = (1ULL << 39) | (2ULL << 30) | (3ULL << 21) |
                            (4ULL << 12) | 0x88;

static void run(const struct tc *t)
{
    uint64_t hpa[5] = { 0 }, val[5] = { 0 };
    for (unsigned l = 4; l >= t->leaf; l--) {
        unsigned idx = (GPA >> (12 + 9 * (l - 1))) & 511;
        unsigned v = t->bits[l];
        uint64_t e = 0;
        if (v) {
            e = PTE_P | (((v - 1) & 1) ? PTE_W : 0) | (((v - 1) & 2) ? PTE_U : 0)
                | (((v - 1) & 4) ? PTE_NX : 0);
            if (l == t->leaf) {
                static const uint64_t frame[] = { 0, 0x1234000ULL, 0x40000000ULL,
                                                  0x80000000ULL };
                e |= frame[l] | (l > 1 ? PTE_PS : 0) | (t->ad ? PTE_A | PTE_D : 0);
                if (t->rs == 1)
                    e |= 1ULL << 47;
                if (t->rs == 3)
                    e |= 1ULL << 13;
            } else {
                e |= (uint64_t)TBL(l - 1) << 12;
                if (t->rs == 2 && l == t->leaf + 1)
                    e |= 1ULL << 47;
                if (t->rs == 4 && l == 4)
                    e |= PTE_PS;
            }
        }
        hpa[l] = ((uint64_t)TBL(l) << 12) + 8 * idx;
        val[l] = e;
        hostmem_write64(hm, _hpa(hpa[l]), e);
    }
    struct oracle_nptp op = { .root_mfn = TBL(4), .nxe = t->nxe, .maxphyaddr = MAXPHY };
    struct oracle_ept_result x;
    oracle_npt_xlate(hm, NR_FRAMES, &op, GPA, (enum access_kind)t->kind,
                     t->walk, &x);
    struct mmu_ept me = { .root = _mfn(TBL(4)), .maxphyaddr = MAXPHY,
                          .npt = true, .npt_nxe = t->nxe };
    struct mmu_result r = { .outcome = MMU_OK };
    ept_translate(hm, &me, _gpa(GPA), (enum access_kind)t->kind, t->walk,
                  _gva(0x1000), &r);
    tests++;
    enum mmu_outcome want = x.outcome == OE_OK ? MMU_OK : MMU_NPF;
    if (r.outcome != want) {
        fail(t, "outcome", r.outcome, want);
        return;
    }
    if (r.refs != x.refs)
        fail(t, "refs", r.refs, x.refs);
    if (r.outcome == MMU_NPF) {
        if (r.exit_qual != x.qual)
            fail(t, "exitinfo1", r.exit_qual, x.qual);
        if (gpa_x(r.exit_gpa) != GPA)
            fail(t, "exitinfo2", gpa_x(r.exit_gpa), GPA);
    } else {
        if (hpa_x(r.hpa) != x.hpa)
            fail(t, "hpa", hpa_x(r.hpa), x.hpa);
        if (r.ept_shift != x.shift)
            fail(t, "page shift", r.ept_shift, x.shift);
    }
    for (unsigned l = 4, i = 0; l >= t->leaf; l--, i++) {
        uint64_t now = 0;
        hostmem_read64(hm, _hpa(hpa[l]), &now);
        uint64_t exp = i < x.nupd ? x.upd[i].value : val[l];
        if (now != exp)
            fail(t, "nested entry", now, exp);
    }
}

static void sweep(struct tc *t, unsigned l)
{
    if (l >= t->leaf) {
        for (unsigned v = 0; v < 9; v++) {
            t->bits[l] = v;
            sweep(t, l - 1);
        }
        return;
    }
    for (t->rs = 0; t->rs < 5; t->rs++) {
        if ((t->rs == 3 && t->leaf == 1) || (t->rs == 2 && t->leaf == 4))
            continue;
        for (t->ad = 0; t->ad < 2; t->ad++)
            for (t->nxe = 0; t->nxe < 2; t->nxe++)
                for (t->kind = 0; t->kind < 3; t->kind++)
                    for (t->walk = 0; t->walk < 2; t->walk++) {
                        if (t->walk && t->kind == ACC_FETCH)
                            continue;
                        run(t);
                    }
    }
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--mutant") && i + 1 < argc) {
            mutset_t m = mutant_from_name(argv[++i]);
            if (!m) {
                fprintf(stderr, "npt_matrix: unknown mutant '%s'\n", argv[i]);
                return 2;
            }
            pagesim_mutants |= m;
        } else {
            fprintf(stderr, "usage: npt_matrix [--mutant NAME]...\n");
            return 2;
        }
    }
    hm = hostmem_new(NR_FRAMES);
    if (!hm)
        return 2;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (unsigned leaf = 1; leaf <= 3; leaf++) {
        struct tc t = { .leaf = leaf };
        sweep(&t, 4);
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("matrix: npt total %lu tests, %lu failures, %.2f s\n", tests, failures,
           (double)(b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) * 1e-9);
    hostmem_destroy(hm);
    return failures ? 1 : 0;
}
