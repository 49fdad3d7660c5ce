/* SPDX-License-Identifier: MIT */
/*
 * pagesim/hostmem.h - sparse host physical memory (model/hostmem.c).
 *
 * Host physical memory of nr_frames 4 KiB frames.  Frames are backed lazily:
 * a frame never written reads as zeros and costs no memory, so a host of
 * millions of frames with a few hundred in use is cheap.  Everything that
 * lives "in memory" -- guest data, guest page tables, EPT tables written by
 * the sim core, log-dirty radix-tree nodes -- lives here, addressed by hpa.
 *
 * Accesses never cross a frame boundary; callers split.  Out-of-range
 * addresses are a caller bug: the functions return -1 and do nothing.
 */
#ifndef PAGESIM_HOSTMEM_H
#define PAGESIM_HOSTMEM_H

#include <stddef.h>
#include "pagesim/types.h"

/* The layout is here only for the inline hostmem_read64() below (the
 * walkers' hot path); everything else goes through the functions. */
#define HM_CHUNK_SHIFT 9
struct hostmem {
    uint64_t nr_frames;
    uint64_t nr_chunks;
    uint64_t backed;
    uint8_t ***dir; /* [nr_chunks] -> [1 << HM_CHUNK_SHIFT] -> frame or NULL */
    uint8_t **slab; /* [nr_chunks] -> the chunk's 2 MiB of backing or NULL */
    /* The change log (hostmem_written_*): [nr_chunks] -> one bit per frame
     * of the chunk, set when the frame changed since the last
     * hostmem_written_clear(), and the list of those frames. */
    uint64_t **wbits;
    uint64_t *wlist;
    size_t wn, wcap;
    /* Which 64-byte lines of each logged frame were written
     * (hostmem_written_lines()): wlines[k] for wlist[k], and per chunk
     * each logged frame's k (valid while its bit in wbits is set). */
    uint64_t *wlines;
    size_t wlcap;
    uint32_t **wpos;
    /* The frame-metadata log (hostmem_meta_*), the same shape. */
    uint64_t **mbits;
    uint64_t *mlist;
    size_t mn, mcap;
};

struct hostmem *hostmem_new(uint64_t nr_frames);
void hostmem_destroy(struct hostmem *hm);

uint64_t hostmem_nr_frames(const struct hostmem *hm);
static inline bool hostmem_mfn_valid(uint64_t nr_frames, mfn_t m)
{ return mfn_x(m) < nr_frames; }
/* Number of frames that currently have backing storage. */
uint64_t hostmem_backed_frames(const struct hostmem *hm);

/* 8-byte aligned 64-bit access (page-table entries). 0 on success. */
static inline int hostmem_read64(const struct hostmem *hm, hpa_t a, uint64_t *out)
{
    uint64_t x = hpa_x(a), f = x >> PAGE_SHIFT;
    if ((x & 7) || f >= hm->nr_frames)
        return -1;
    uint8_t **chunk = hm->dir[f >> HM_CHUNK_SHIFT];
    const uint8_t *fr = chunk ? chunk[f & ((1u << HM_CHUNK_SHIFT) - 1)] : NULL;
    if (fr)
        __builtin_memcpy(out, fr + (x & ~PAGE_MASK), sizeof(*out));
    else
        *out = 0;
    return 0;
}
int hostmem_write64(struct hostmem *hm, hpa_t a, uint64_t v);
/* Byte access within one frame. 0 on success. */
int hostmem_read(const struct hostmem *hm, hpa_t a, void *buf, size_t len);
int hostmem_write(struct hostmem *hm, hpa_t a, const void *buf, size_t len);
/* Zero a whole frame (drops its backing). */
int hostmem_zero_frame(struct hostmem *hm, mfn_t m);
/* Direct pointer to a frame's 4096 bytes, backing it if needed; NULL if out
 * of range.  For bulk users (log-dirty leaves, digests). */
uint8_t *hostmem_frame(struct hostmem *hm, mfn_t m);
/* Read-only view: NULL if the frame is not backed (reads as zeros). */
const uint8_t *hostmem_frame_peek(const struct hostmem *hm, mfn_t m);

/*
 * The change log: which frames changed since the last
 * hostmem_written_clear().  hostmem_write()/hostmem_write64() log a frame
 * only when the bytes differ; hostmem_zero_frame() when the frame held
 * something; hostmem_frame() always (the caller may write through the
 * pointer, within the same step).  oracle_check() uses it to decide, in
 * time proportional to the writes, whether a frame its last check read
 * (EPT/NPT tables, log-dirty nodes and leaves) changed.
 */
bool hostmem_written(const struct hostmem *hm, mfn_t m);
/* The logged frames (each once, in first-write order); *n their number. */
const uint64_t *hostmem_written_list(const struct hostmem *hm, size_t *n);
/* Parallel to that list: per frame, one bit per 64-byte line (8 EPT
 * entries) that a write since the last hostmem_written_clear() touched
 * (hostmem_write(): the lines of its range, whether or not each byte
 * changed; hostmem_zero_frame(), hostmem_frame(): all 64).  A line without
 * its bit holds the bytes it held at the last clear, so a reader that kept
 * a copy of the frame then finds every difference in the marked lines
 * (oracle_check()'s restricted check diffs only those). */
const uint64_t *hostmem_written_lines(const struct hostmem *hm);
void hostmem_written_clear(struct hostmem *hm);

/*
 * The frame-metadata log: the sim marks each frame whose page_info, M2P
 * entry or sharing handle it changes (host->frames[], host->m2p[],
 * host->shr_handle[]: sim/heap.c, sim/mem_sharing.c, the P2M code's
 * reference counts).  Host memory keeps the log only because it is the
 * per-host object every writer holds; it never reads the metadata.
 * oracle_check() re-checks the frames it names and no others (the
 * per-frame half of the checks); a full check every ENG_FULL_CHECK_EVERY
 * steps and the end-of-run guard cover a missed mark.
 */
static inline void hostmem_meta_mark(struct hostmem *hm, uint64_t mfn);
void hostmem_meta_mark_slow(struct hostmem *hm, uint64_t mfn);
/* The logged frames (SIZE_MAX: the log overflowed, any may have changed). */
const uint64_t *hostmem_meta_list(const struct hostmem *hm, size_t *n);
void hostmem_meta_clear(struct hostmem *hm);

static inline void hostmem_meta_mark(struct hostmem *hm, uint64_t mfn)
{
    /* the common case, a frame already logged: one bit test */
    if (mfn < hm->nr_frames && hm->mbits[mfn >> HM_CHUNK_SHIFT] &&
        (hm->mbits[mfn >> HM_CHUNK_SHIFT][(mfn & ((1u << HM_CHUNK_SHIFT) - 1)) >> 6] >>
         (mfn & 63) & 1))
        return;
    hostmem_meta_mark_slow(hm, mfn);
}

#endif /* PAGESIM_HOSTMEM_H */
