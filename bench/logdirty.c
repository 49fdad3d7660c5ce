/* SPDX-License-Identifier: MIT */
/*
 * bench/logdirty.c - `make bench`: the log-dirty radix tree (Xen since
 * c/s 16393) against the flat bitmap it replaced (logdirty_mode "bitmap"),
 * on a 1 TiB guest (2^28 pfns) with 1% of its pages dirty, both in
 * sim/paging.c exactly as scenarios use them (no oracle, no engine).
 *
 * Figures (BENCH lines):
 *   logdirty_mark_{radix,bitmap}       paging_mark_pfn_dirty() calls per
 *                                      second, 1% of the pfns, uniform
 *   logdirty_peek_clean_{radix,bitmap} one PEEK of all 2^28 pfns into a
 *                                      32 MiB buffer plus one CLEAN, ms
 *   logdirty_mem_{radix,bitmap}_*      pages the log holds, MiB, for 1%
 *                                      dirty spread uniformly and for 1%
 *                                      in one contiguous run
 * Anchors printed beside them: a plain memcpy()+memset() of the same 32 MiB
 * (what PEEK+CLEAN of a flat bitmap cannot beat), and max_gfn / 8 bytes
 * (the flat bitmap's size, the same whatever is dirty).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pagesim/sim.h"

#define PFNS (1ULL << 28)            /* 1 TiB of 4 KiB pages */
#define DIRTY (PFNS / 100)           /* 1% */
#define HOST_FRAMES (1ULL << 16)     /* room for both logs, 256 MiB */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint64_t next_pfn(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng & (PFNS - 1);
}

static double mib(uint64_t pages) { return (double)pages * PAGE_SIZE / (1 << 20); }

/* Marks 1% of the pfns (uniform, or one run from 'run_start' when
 * run_start != UINT64_MAX); returns marks per second. */
static double mark(struct domain *d, uint64_t run_start)
{
    rng = 0x9e3779b97f4a7c15ULL;
    double t0 = now();
    for (uint64_t i = 0; i < DIRTY; i++)
        paging_mark_pfn_dirty(d, _gfn(run_start == UINT64_MAX ? next_pfn()
                                                              : run_start + i));
    return DIRTY / (now() - t0);
}

/* PEEK of every pfn then CLEAN (stats only, as a save loop's last round
 * would not do, but the CLEAN walks the same leaves); ms, best of 3. */
static double peek_clean(struct domain *d, uint8_t *buf, uint64_t *ndirty)
{
    double best = 1e9;
    for (int rep = 0; rep < 3; rep++) {
        uint64_t pages = PFNS;
        double t0 = now();
        if (paging_log_dirty_op(d, false, &pages, buf, NULL) ||
            paging_log_dirty_op(d, true, &pages, NULL, NULL)) {
            fprintf(stderr, "bench: PEEK/CLEAN failed on %s\n", d->name);
            exit(1);
        }
        double ms = (now() - t0) * 1e3;
        if (ms < best)
            best = ms;
        *ndirty = 0;
        for (uint64_t i = 0; i < PFNS / 8; i++)
            *ndirty += (uint64_t)__builtin_popcount(buf[i]);
        /* dirty again for the next round */
        mark(d, UINT64_MAX);
    }
    return best;
}

int main(void)
{
    struct host *h = host_new(HOST_FRAMES);
    struct domain *b = h ? domain_create(h, "bitmap", PFNS) : NULL;
    struct domain *r = h ? domain_create(h, "radix", PFNS) : NULL;
    uint8_t *buf = malloc(PFNS / 8), *anchor = malloc(PFNS / 8);
    if (!b || !r || !buf || !anchor) {
        fprintf(stderr, "bench: out of memory\n");
        return 1;
    }
    b->ld.bitmap_mode = true;
    if (paging_log_dirty_enable(b) || paging_log_dirty_enable(r)) {
        fprintf(stderr, "bench: log-dirty enable failed\n");
        return 1;
    }

    /* Anchor: copying and clearing 32 MiB (the flat bitmap) by hand. */
    memset(anchor, 0x5a, PFNS / 8);
    double a_best = 1e9;
    for (int rep = 0; rep < 3; rep++) {
        double t0 = now();
        memcpy(buf, anchor, PFNS / 8);
        memset(anchor, 0, PFNS / 8);
        double ms = (now() - t0) * 1e3;
        a_best = ms < a_best ? ms : a_best;
        memset(anchor, 0x5a, PFNS / 8);
    }

    double mr = mark(r, UINT64_MAX), mb = mark(b, UINT64_MAX);
    uint64_t mem_r_uniform = r->ld.allocs, mem_b = b->ld.allocs;
    uint64_t nr = 0, nb = 0;
    double pr = peek_clean(r, buf, &nr), pb = peek_clean(b, buf, &nb);
    if (nr != nb) {
        fprintf(stderr, "bench: the two logs disagree (%" PRIu64 " vs %" PRIu64 ")\n",
                nr, nb);
        return 1;
    }

    /* 1% dirty in one contiguous run: the tree only grows where marks are. */
    paging_log_dirty_disable(r);
    paging_log_dirty_enable(r);
    mark(r, PFNS / 2);
    uint64_t mem_r_run = r->ld.allocs;

    printf("log-dirty on a 1 TiB guest (2^28 pfns), 1%% dirty = %llu pfns (%" PRIu64
           " distinct after the uniform marks)\n", (unsigned long long)DIRTY, nr);
    printf("  mark, uniform:   radix tree %.1f M/s, flat bitmap %.1f M/s\n",
           mr / 1e6, mb / 1e6);
    printf("  PEEK all + CLEAN: radix tree %.1f ms, flat bitmap %.1f ms "
           "(anchor: memcpy+memset of 32 MiB %.1f ms)\n", pr, pb, a_best);
    printf("  memory, uniform: radix tree %.2f MiB (%" PRIu64 " pages), flat "
           "bitmap %.2f MiB (anchor: max_gfn/8 = 32 MiB)\n",
           mib(mem_r_uniform), mem_r_uniform, mib(mem_b));
    printf("  memory, one run: radix tree %.2f MiB (%" PRIu64 " pages), flat "
           "bitmap %.2f MiB, allocated at enable as one order-%u block\n",
           mib(mem_r_run), mem_r_run, mib(mem_b), b->ld.bitmap_order);
    printf("BENCH logdirty_mark_radix %.2f Mmarks/s\n", mr / 1e6);
    printf("BENCH logdirty_mark_bitmap %.2f Mmarks/s\n", mb / 1e6);
    printf("BENCH logdirty_peek_clean_radix %.2f ms\n", pr);
    printf("BENCH logdirty_peek_clean_bitmap %.2f ms\n", pb);
    printf("BENCH logdirty_peek_clean_anchor_memcpy %.2f ms\n", a_best);
    printf("BENCH logdirty_mem_radix_uniform %.2f MiB\n", mib(mem_r_uniform));
    printf("BENCH logdirty_mem_radix_run %.2f MiB\n", mib(mem_r_run));
    printf("BENCH logdirty_mem_bitmap %.2f MiB\n", mib(mem_b));
    free(buf);
    free(anchor);
    host_destroy(h);
    return 0;
}
