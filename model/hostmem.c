/* SPDX-License-Identifier: MIT */
/*
 * model/hostmem.c - sparse host physical memory.
 *
 * A two-level directory of frame pointers: dir[mfn >> 9][mfn & 511].  A
 * frame gets 4 KiB of backing on its first write; until then it reads as
 * zeros.  Zeroing a frame frees its backing, so the heap's "scrub on free"
 * also returns memory.  The directory itself is allocated per 512 frames on
 * demand, so a 2^30-frame (4 TiB) host costs 16 MiB of top-level pointers.
 */
#include <stdlib.h>
#include <string.h>

#include "pagesim/hostmem.h"

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
    if (!hm->dir) {
        free(hm);
        return NULL;
    }
    return hm;
}

void hostmem_destroy(struct hostmem *hm)
{
    if (!hm)
        return;
    for (uint64_t c = 0; c < hm->nr_chunks; c++) {
        if (!hm->dir[c])
            continue;
        for (unsigned i = 0; i < HM_CHUNK; i++)
            free(hm->dir[c][i]);
        free(hm->dir[c]);
    }
    free(hm->dir);
    free(hm);
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

uint8_t *hostmem_frame(struct hostmem *hm, mfn_t m)
{
    uint64_t f = mfn_x(m);
    if (f >= hm->nr_frames)
        return NULL;
    uint8_t ***slot = &hm->dir[f >> HM_CHUNK_SHIFT];
    if (!*slot && !(*slot = calloc(HM_CHUNK, sizeof(**slot))))
        return NULL;
    uint8_t **frame = &(*slot)[f & (HM_CHUNK - 1)];
    if (!*frame) {
        if (!(*frame = calloc(1, PAGE_SIZE)))
            return NULL;
        hm->backed++;
    }
    return *frame;
}

int hostmem_zero_frame(struct hostmem *hm, mfn_t m)
{
    uint64_t f = mfn_x(m);
    if (f >= hm->nr_frames)
        return -1;
    uint8_t **chunk = hm->dir[f >> HM_CHUNK_SHIFT];
    if (chunk && chunk[f & (HM_CHUNK - 1)]) {
        free(chunk[f & (HM_CHUNK - 1)]);
        chunk[f & (HM_CHUNK - 1)] = NULL;
        hm->backed--;
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
    uint8_t *f = hostmem_frame(hm, hpa_to_mfn(a));
    if (!f)
        return -1;
    memcpy(f + (hpa_x(a) & ~PAGE_MASK), buf, len);
    return 0;
}

int hostmem_write64(struct hostmem *hm, hpa_t a, uint64_t v)
{
    if (hpa_x(a) & 7)
        return -1;
    return hostmem_write(hm, a, &v, sizeof(v));
}
