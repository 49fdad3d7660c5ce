/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/world.h - the hand-built world of test_model.c (nested walks)
 * and test_shadow.c (shadow walks over the same tables).
 *
 * One guest 4-level walk for TVA through guest tables at gfns 0x10-0x13 to
 * a data page at gfn 0x20.  The EPT (frames 1-4; under shadow the P2M in
 * EPT format) maps every gfn g < 512 to mfn g + GOFF with RWX/WB, so that
 * a gpa and its hpa differ.  Tests then break exactly one thing and check
 * the outcome.  Each test file is its own binary: the statics below are
 * that file's.
 */
#ifndef PAGESIM_TESTS_WORLD_H
#define PAGESIM_TESTS_WORLD_H

#include <criterion/criterion.h>

#include "pagesim/mmu.h"
#include "pagesim/mutant.h"

#define NFRAMES 1024
#define GOFF 0x100 /* mfn = gfn + GOFF */
#define EPT_WB (6ULL << 3)
#define EPT_RWX (EPT_R | EPT_W | EPT_X)

/* EPT frames. */
#define EPT_PML4_MFN 1
#define EPT_PDPT_MFN 2
#define EPT_PD_MFN 3
#define EPT_PT_MFN 4

/* Guest frames: table at 'level' is gfn GT_GFN(level); the data page. */
#define GT_GFN(level) (0x14 - (level)) /* PML4 0x10, PDPT 0x11, PD 0x12, PT 0x13 */
#define DATA_GFN 0x20

/* A va with a different index at every level: 1, 2, 3, 4, offset 0x123. */
#define TVA ((1ULL << 39) | (2ULL << 30) | (3ULL << 21) | (4ULL << 12) | 0x123)
#define TIDX(level) ((unsigned)(5 - (level))) /* index of TVA at 'level' */

#define GUEST_ALL (PTE_P | PTE_W | PTE_U | PTE_A) /* a fully permissive entry */

static struct hostmem *hm;
static struct mmu_cpu cpu;

static inline void wr(uint64_t mfn, unsigned idx, uint64_t v)
{
    cr_assert_eq(hostmem_write64(hm, _hpa((mfn << 12) + 8 * idx), v), 0);
}

static inline uint64_t rd(uint64_t mfn, unsigned idx)
{
    uint64_t v = 0;
    cr_assert_eq(hostmem_read64(hm, _hpa((mfn << 12) + 8 * idx), &v), 0);
    return v;
}

/* EPT (P2M) leaf for gfn (all gfns used share the upper EPT levels at
 * index 0); bits 0: not present. */
static inline void ept_set(uint64_t gfn, uint64_t bits)
{
    wr(EPT_PT_MFN, (unsigned)gfn, bits ? ((gfn + GOFF) << 12) | bits : 0);
}

/* Guest entry at 'level' on TVA's walk: 'bits' plus the next frame. */
static inline void gpte_set(int level, uint64_t bits)
{
    uint64_t next = level > 1 ? GT_GFN(level - 1) : DATA_GFN;
    wr(GT_GFN(level) + GOFF, TIDX(level), (next << 12) | bits);
}

static inline uint64_t gpte(int level) { return rd(GT_GFN(level) + GOFF, TIDX(level)); }

/* The world as every test starts it: no mutant, gfns 0-0x3f mapped RWX/WB,
 * every guest entry fully permissive, a long-mode CPL0 vCPU with CR0.WP
 * and EFER.NXE. */
static inline void world_setup(void)
{
    pagesim_mutants = 0;
    hm = hostmem_new(NFRAMES);
    cr_assert_not_null(hm);
    wr(EPT_PML4_MFN, 0, (EPT_PDPT_MFN << 12) | EPT_RWX);
    wr(EPT_PDPT_MFN, 0, (EPT_PD_MFN << 12) | EPT_RWX);
    wr(EPT_PD_MFN, 0, (EPT_PT_MFN << 12) | EPT_RWX);
    for (uint64_t g = 0; g < 0x40; g++)
        ept_set(g, EPT_RWX | EPT_WB);
    for (int l = 4; l >= 1; l--)
        gpte_set(l, GUEST_ALL);
    cpu = (struct mmu_cpu){
        .cr0 = X86_CR0_PG | X86_CR0_WP,
        .cr3 = GT_GFN(4) << 12,
        .cr4 = X86_CR4_PAE,
        .efer = X86_EFER_LME | X86_EFER_LMA | X86_EFER_NXE,
        .cpl = 0,
    };
}

static inline void world_teardown(void)
{
    hostmem_destroy(hm);
    pagesim_mutants = 0;
}

#endif
