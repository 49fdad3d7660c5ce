/* SPDX-License-Identifier: MIT */
/*
 * model/hostmem.c - sparse host physical memory.
 *
 * A two-level directory of frame pointers: dir[mfn >> 9][mfn & 511].  A
 * frame gets 4 KiB of backing on its first write; until then it reads as
 * zeros.  Zeroing a frame drops its backing (it reads as zeros again and
 * no longer counts as backed).  The directory itself is allocated per 512
 * frames on demand, so a 2^30-frame (4 TiB) host costs 16 MiB of top-level
 * pointers.
 *
 * The backing of the 512 frames of one directory chunk is one 2 MiB slab,
 * mapped (not committed: the kernel commits what is touched) when the
 * chunk's first frame is backed, aligned and marked for transparent huge
 * pages: a model that walks and writes across hundreds of MiB of simulated
 * memory would otherwise take a host TLB miss (a 2D walk, when pagesim
 * itself runs in a VM) on nearly every access.  Zeroed frames are cleared
 * in place and reused.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "pagesim/hostmem.h"
#include "pagesim/mutant.h"

/* struct hostmem and HM_CHUNK_SHIFT are in hostmem.h, for the inline
 * hostmem_read64(). */
#define HM_CHUNK (1u << HM_CHUNK_SHIFT)

struct hostmem *hostmem_new(uint64_t nr_frames)
{
    struct hostmem *hm = calloc(1, sizeof(*hm));
    if (!hm)
        return NULL;
    hm->nr_frames = nr_frames;
    hm->nr_chunks = (nr_frames + HM_CHUNK - 1) >> HM_CHUNK_SHIFT;
    hm->dir = calloc(hm->nr_chunks ? hm->nr_chunks : 1, sizeof(*hm->dir));
    hm->slab = calloc(hm->nr_chunks ? hm->nr_chunks : 1, sizeof(*hm->slab));
    hm->wbits = calloc(hm->nr_chunks ? hm->nr_chunks : 1, sizeof(*hm->wbits));
    hm->mbits = calloc(hm->nr_chunks ? hm->nr_chunks : 1, sizeof(*hm->mbits));
    hm->wpos = calloc(hm->nr_chunks ? hm->nr_chunks : 1, sizeof(*hm->wpos));
    if (!hm->dir || !hm->slab || !hm->wbits || !hm->mbits || !hm->wpos) {
        free(hm->wpos);
        free(hm->dir);
        free(hm->slab);
        free(hm->wbits);
        free(hm->mbits);
        free(hm);
        return NULL;
    }
    return hm;
}

#define HM_SLAB ((size_t)HM_CHUNK * PAGE_SIZE) /* 2 MiB */

/* A zeroed, 2 MiB-aligned, lazily committed 2 MiB mapping, or NULL. */
static uint8_t *slab_map(void)
{
    uint8_t *p = mmap(NULL, 2 * HM_SLAB, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    uintptr_t a = ((uintptr_t)p + HM_SLAB - 1) & ~(uintptr_t)(HM_SLAB - 1);
    uint8_t *al = (uint8_t *)a;
    if (al > p)
        munmap(p, (size_t)(al - p));
    if (al + HM_SLAB < p + 2 * HM_SLAB)
        munmap(al + HM_SLAB, (size_t)(p + 2 * HM_SLAB - (al + HM_SLAB)));
#ifdef MADV_HUGEPAGE
    (void)madvise(al, HM_SLAB, MADV_HUGEPAGE); /* a hint; may be refused */
#endif
    return al;
}

void hostmem_destroy(struct hostmem *hm)
{
    if (!hm)
        return;
    for (uint64_t c = 0; c < hm->nr_chunks; c++) {
        free(hm->dir[c]);
        free(hm->wbits[c]);
        free(hm->mbits[c]);
        free(hm->wpos[c]);
        if (hm->slab[c])
            munmap(hm->slab[c], HM_SLAB);
    }
    free(hm->dir);
    free(hm->slab);
    free(hm->wbits);
    free(hm->wlist);
    free(hm->wlines);
    free(hm->wpos);
    free(hm->mbits);
    free(hm->mlist);
    free(hm);
}

/* ---- the change log ------------------------------------------------------ */

#define HM_WWORDS (HM_CHUNK / 64)

/* Frame f (in range) goes into a log (bits, list, n, cap): a frame
 * already logged costs one bit test.  If the log cannot grow, every frame
 * counts as logged from then on (*n = SIZE_MAX): the checks then decode
 * everything, which is slower but never wrong. */
static void log_add(uint64_t **bits, uint64_t **list, size_t *n, size_t *cap,
                    uint64_t f)
{
    uint64_t c = f >> HM_CHUNK_SHIFT, i = f & (HM_CHUNK - 1);
    if (*n == SIZE_MAX)
        return;
    if (!bits[c] && !(bits[c] = calloc(HM_WWORDS, sizeof(uint64_t)))) {
        *n = SIZE_MAX;
        return;
    }
    uint64_t *w = &bits[c][i >> 6], bit = UINT64_C(1) << (i & 63);
    if (*w & bit)
        return;
    /* check_skip_mark: the log loses the frame's first change, as a
     * forgotten mark in a change log would. */
    if (MUTANT(MUT_CHECK_SKIP_MARK))
        return;
    if (*n == *cap) {
        size_t nc = *cap ? 2 * *cap : 64;
        uint64_t *x = realloc(*list, nc * sizeof(*x));
        if (!x) {
            *n = SIZE_MAX;
            return;
        }
        *list = x;
        *cap = nc;
    }
    *w |= bit;
    (*list)[(*n)++] = f;
}

static void log_clear(uint64_t nr_chunks, uint64_t **bits, const uint64_t *list,
                      size_t *n)
{
    if (*n == SIZE_MAX) {
        for (uint64_t c = 0; c < nr_chunks; c++)
            if (bits[c])
                memset(bits[c], 0, HM_WWORDS * sizeof(uint64_t));
    } else {
        for (size_t k = 0; k < *n; k++) {
            uint64_t f = list[k], i = f & (HM_CHUNK - 1);
            bits[f >> HM_CHUNK_SHIFT][i >> 6] &= ~(UINT64_C(1) << (i & 63));
        }
    }
    *n = 0;
}

/* Frame f changed in the 64-byte lines of mask: the frame into the change
 * log, the lines into its entry of wlines (a frame logged already: its
 * position from wpos).  If the line log cannot grow, the change log
 * overflows (wn SIZE_MAX: every frame may have changed, as in log_add()). */
static void log_write(struct hostmem *hm, uint64_t f, uint64_t mask)
{
    uint64_t c = f >> HM_CHUNK_SHIFT, i = f & (HM_CHUNK - 1);
    if (hm->wn == SIZE_MAX)
        return;
    /* the common case, a frame logged already (its bit set: its wpos
     * entry and line mask exist): the lines join its mask */
    if (hm->wbits[c] && (hm->wbits[c][i >> 6] >> (i & 63) & 1)) {
        /* check_skip_line: the later writes' lines are lost, as a log
         * that recorded a frame's lines once would lose them */
        if (!MUTANT(MUT_CHECK_SKIP_LINE))
            hm->wlines[hm->wpos[c][i]] |= mask;
        return;
    }
    size_t n0 = hm->wn;
    log_add(hm->wbits, &hm->wlist, &hm->wn, &hm->wcap, f);
    if (hm->wn == n0 || hm->wn == SIZE_MAX)
        return; /* not logged (mutant check_skip_mark): no lines either */
    if (!hm->wpos[c] && !(hm->wpos[c] = calloc(HM_CHUNK, sizeof(uint32_t)))) {
        hm->wn = SIZE_MAX;
        return;
    }
    if (hm->wlcap < hm->wcap) {
        uint64_t *x = n0 < UINT32_MAX ? realloc(hm->wlines, hm->wcap * sizeof(*x)) : NULL;
        if (!x) {
            hm->wn = SIZE_MAX;
            return;
        }
        hm->wlines = x;
        hm->wlcap = hm->wcap;
    }
    hm->wpos[c][i] = (uint32_t)n0;
    hm->wlines[n0] = mask;
}

void hostmem_meta_mark_slow(struct hostmem *hm, uint64_t mfn)
{
    if (mfn < hm->nr_frames)
        log_add(hm->mbits, &hm->mlist, &hm->mn, &hm->mcap, mfn);
}

const uint64_t *hostmem_meta_list(const struct hostmem *hm, size_t *n)
{
    *n = hm->mn;
    return hm->mlist;
}

void hostmem_meta_clear(struct hostmem *hm)
{
    log_clear(hm->nr_chunks, hm->mbits, hm->mlist, &hm->mn);
}

bool hostmem_written(const struct hostmem *hm, mfn_t m)
{
    uint64_t f = mfn_x(m);
    if (f >= hm->nr_frames)
        return false;
    if (hm->wn == SIZE_MAX)
        return true;
    const uint64_t *w = hm->wbits[f >> HM_CHUNK_SHIFT];
    uint64_t i = f & (HM_CHUNK - 1);
    return w && (w[i >> 6] >> (i & 63) & 1);
}

const uint64_t *hostmem_written_list(const struct hostmem *hm, size_t *n)
{
    *n = hm->wn;
    return hm->wlist;
}

const uint64_t *hostmem_written_lines(const struct hostmem *hm)
{
    return hm->wlines;
}

void hostmem_written_clear(struct hostmem *hm)
{
    log_clear(hm->nr_chunks, hm->wbits, hm->wlist, &hm->wn);
}

uint64_t hostmem_nr_frames(const struct hostmem *hm) { return hm->nr_frames; }
uint64_t hostmem_backed_frames(const struct hostmem *hm) { return hm->backed; }

const uint8_t *hostmem_frame_peek(const struct hostmem *hm, mfn_t m)
{
    uint64_t f = mfn_x(m);
    if (f >= hm->nr_frames)
        return NULL;
    uint8_t **chunk = hm->dir[f >> HM_CHUNK_SHIFT];
    return chunk ? chunk[f & (HM_CHUNK - 1)] : NULL;
}

/* hostmem_frame() without the change log entry (hostmem_write() logs
 * only a change). */
static uint8_t *hostmem_frame_nolog(struct hostmem *hm, uint64_t f)
{
    if (f >= hm->nr_frames)
        return NULL;
    uint64_t c = f >> HM_CHUNK_SHIFT;
    uint8_t ***slot = &hm->dir[c];
    if (!*slot && !(*slot = calloc(HM_CHUNK, sizeof(**slot))))
        return NULL;
    uint8_t **frame = &(*slot)[f & (HM_CHUNK - 1)];
    if (!*frame) {
        if (!hm->slab[c] && !(hm->slab[c] = slab_map()))
            return NULL;
        /* Zero: fresh from mmap, or cleared by hostmem_zero_frame(). */
        *frame = hm->slab[c] + (f & (HM_CHUNK - 1)) * PAGE_SIZE;
        hm->backed++;
    }
    return *frame;
}

uint8_t *hostmem_frame(struct hostmem *hm, mfn_t m)
{
    uint8_t *p = hostmem_frame_nolog(hm, mfn_x(m));
    if (p) /* the caller may write anywhere in it */
        log_write(hm, mfn_x(m), ~UINT64_C(0));
    return p;
}

int hostmem_zero_frame(struct hostmem *hm, mfn_t m)
{
    uint64_t f = mfn_x(m);
    if (f >= hm->nr_frames)
        return -1;
    uint8_t **chunk = hm->dir[f >> HM_CHUNK_SHIFT];
    if (chunk && chunk[f & (HM_CHUNK - 1)]) {
        memset(chunk[f & (HM_CHUNK - 1)], 0, PAGE_SIZE);
        chunk[f & (HM_CHUNK - 1)] = NULL;
        hm->backed--;
        log_write(hm, f, ~UINT64_C(0));
    }
    return 0;
}

/* Both byte-access helpers refuse a range that leaves the frame. */
static bool in_one_frame(uint64_t a, size_t len)
{
    return len <= PAGE_SIZE && (a & ~PAGE_MASK) + len <= PAGE_SIZE;
}

int hostmem_read(const struct hostmem *hm, hpa_t a, void *buf, size_t len)
{
    if (!in_one_frame(hpa_x(a), len) || hpa_x(a) >> PAGE_SHIFT >= hm->nr_frames)
        return -1;
    const uint8_t *f = hostmem_frame_peek(hm, hpa_to_mfn(a));
    if (f)
        memcpy(buf, f + (hpa_x(a) & ~PAGE_MASK), len);
    else
        memset(buf, 0, len);
    return 0;
}

int hostmem_write(struct hostmem *hm, hpa_t a, const void *buf, size_t len)
{
    if (!in_one_frame(hpa_x(a), len))
        return -1;
    uint64_t fn = hpa_x(a) >> PAGE_SHIFT;
    /* An unbacked frame reads as zeros: writing zeros changes nothing. */
    const uint8_t *pf = hostmem_frame_peek(hm, _mfn(fn));
    uint8_t *f = pf ? (uint8_t *)pf : hostmem_frame_nolog(hm, fn);
    if (!f)
        return -1;
    uint8_t *d = f + (hpa_x(a) & ~PAGE_MASK);
    /* Guest accesses are 1, 2, 4 or 8 bytes: constant-size copies the
     * compiler inlines, instead of a library call per access.  The change
     * log (log_write) takes the frame only when the bytes change, so a
     * rewrite of the same value (an A/D flag already set) is no change. */
    bool same;
    switch (len) {
    case 1: same = !__builtin_memcmp(d, buf, 1); __builtin_memcpy(d, buf, 1); break;
    case 2: same = !__builtin_memcmp(d, buf, 2); __builtin_memcpy(d, buf, 2); break;
    case 4: same = !__builtin_memcmp(d, buf, 4); __builtin_memcpy(d, buf, 4); break;
    case 8: same = !__builtin_memcmp(d, buf, 8); __builtin_memcpy(d, buf, 8); break;
    default: same = !memcmp(d, buf, len); memcpy(d, buf, len); break;
    }
    if (!same) {
        /* the 64-byte lines of [off, off + len) (len >= 1: a zero-length
         * write is the same) */
        uint64_t off = hpa_x(a) & ~PAGE_MASK;
        unsigned first = (unsigned)(off >> 6), last = (unsigned)((off + len - 1) >> 6);
        uint64_t mask = last - first == 63 ? ~UINT64_C(0)
                                           : ((UINT64_C(1) << (last - first + 1)) - 1) << first;
        log_write(hm, fn, mask);
    }
    return 0;
}

int hostmem_write64(struct hostmem *hm, hpa_t a, uint64_t v)
{
    uint64_t x = hpa_x(a), f = x >> PAGE_SHIFT;
    if (x & 7)
        return -1;
    /* The page-table writers' path: a backed frame is compared and
     * written in place, as hostmem_write() would; an unbacked one (or one
     * out of range) goes through hostmem_write(). */
    uint8_t **chunk = f < hm->nr_frames ? hm->dir[f >> HM_CHUNK_SHIFT] : NULL;
    uint8_t *fr = chunk ? chunk[f & (HM_CHUNK - 1)] : NULL;
    if (!fr)
        return hostmem_write(hm, a, &v, sizeof(v));
    uint64_t old;
    __builtin_memcpy(&old, fr + (x & ~PAGE_MASK), sizeof(old));
    if (old != v) {
        __builtin_memcpy(fr + (x & ~PAGE_MASK), &v, sizeof(v));
        log_write(hm, f, UINT64_C(1) << ((x & ~PAGE_MASK) >> 6)); /* its one line */
    }
    return 0;
}
