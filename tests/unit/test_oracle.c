/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_oracle.c - oracle/ on a sim state built by hand.
 *
 * The world: one host (hostmem + page_info + M2P arrays calloc'ed here) and
 * one domain d1 whose EPT, M2P and log-dirty radix tree are written by the
 * tiny helpers below with raw 64-bit entries -- no sim/ code is linked.
 * Every helper that changes the "sim" state also tells the oracle, so a
 * consistent world must compare clean; each invariant test then corrupts
 * exactly one thing.  Guest accesses use 4-level guest tables at gfns 1-4
 * mapping TVA to the data page at gfn 5.
 */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pagesim/mmu.h"
#include "pagesim/oracle.h"
#include "../../oracle/oracle_priv.h" /* oracle_ovl_put() */

#define NFRAMES 2048
#define MAXGFN 0x100
#define DOM 1
#define EPT_WB (6ULL << 3)

/* Guest tables: PML4 at gfn 1, PDPT 2, PD 3, PT 4; data at gfn 5. */
#define GT_GFN(level) (1 + (level))
#define DATA_GFN 5
#define TVA ((1ULL << 39) | (2ULL << 30) | (3ULL << 21) | (4ULL << 12) | 0x120)
#define TIDX(level) (1 + (level))
#define GALL (PTE_P | PTE_W | PTE_U | PTE_A)
#define DATA_VAL 0x1122334455667788ULL

static struct host h;
static struct domain dom;
static struct oracle *o;
static uint64_t next_mfn;
static uint64_t gmfn[MAXGFN]; /* gfn -> mfn of the populated RAM */

/* ---- a hand-made sim state ----------------------------------------------------- */

static uint64_t rd64(uint64_t hpa)
{
    uint64_t v = 0;
    hostmem_read64(h.mem, _hpa(hpa), &v);
    return v;
}

static void wr64(uint64_t hpa, uint64_t v)
{
    cr_assert_eq(hostmem_write64(h.mem, _hpa(hpa), v), 0);
}

static uint64_t t_alloc(domid_t owner, enum page_use use)
{
    uint64_t m = next_mfn++;
    cr_assert_lt(m, NFRAMES);
    h.frames[m] = (struct page_info){ owner, (uint8_t)use, 1, 1 };
    return m;
}

static void t_free(uint64_t m)
{
    h.frames[m] = (struct page_info){ DOMID_INVALID, PGU_FREE, 0, 0 };
    h.m2p[m] = INVALID_M2P_ENTRY;
    hostmem_zero_frame(h.mem, _mfn(m));
}

/* An EPT leaf as p2m-ept.c writes it (xen-paging.md 1.4). */
static uint64_t t_epte(uint64_t mfn, p2m_type_t t)
{
    uint64_t perm = t == p2m_ram_rw ? 7 : t == p2m_ram_logdirty ? 5 : 0;
    /* access rwx (p2m->default_access), which the oracle compares too */
    return (mfn << 12) | perm | EPT_WB | ((uint64_t)t << EPTE_P2MT_SHIFT) |
           ((uint64_t)p2m_access_rwx << EPTE_ACCESS_SHIFT);
}

/* Writes the EPT leaf of gfn, allocating tables (PGU_P2M) on the way. */
static void t_ept_set(uint64_t gfn, uint64_t leaf)
{
    uint64_t table = mfn_x(dom.ept_root);
    for (int level = 3; level > 0; level--) {
        uint64_t a = (table << 12) + 8 * ((gfn >> (9 * level)) & 511);
        uint64_t e = rd64(a);
        if (!(e & 7)) {
            uint64_t nt = t_alloc(DOM, PGU_P2M);
            dom.p2m_pages++;
            e = (nt << 12) | 7;
            wr64(a, e);
        }
        table = e >> 12;
    }
    wr64((table << 12) + 8 * (gfn & 511), leaf);
}

static uint64_t t_ept_get(uint64_t gfn)
{
    uint64_t table = mfn_x(dom.ept_root);
    for (int level = 3; level > 0; level--)
        table = (rd64((table << 12) + 8 * ((gfn >> (9 * level)) & 511)) &
                 EPT_ADDR_MASK) >> 12;
    return rd64((table << 12) + 8 * (gfn & 511));
}

static uint64_t t_ld_node(void)
{
    uint64_t m = t_alloc(DOM, PGU_LOGDIRTY);
    memset(hostmem_frame(h.mem, _mfn(m)), 0xFF, PAGE_SIZE); /* INVALID_MFN */
    dom.ld.allocs++;
    return m;
}

/* The leaf bitmap byte holding gfn's bit, allocating nodes if asked. */
static uint8_t *t_ld_byte(uint64_t gfn, bool alloc)
{
    if (mfn_eq(dom.ld.top, INVALID_MFN)) {
        if (!alloc)
            return NULL;
        dom.ld.top = _mfn(t_ld_node());
    }
    uint64_t node = mfn_x(dom.ld.top);
    uint64_t idx[3] = { L4_LOGDIRTY_IDX(gfn), L3_LOGDIRTY_IDX(gfn),
                        L2_LOGDIRTY_IDX(gfn) };
    for (int i = 0; i < 3; i++) {
        uint64_t a = (node << 12) + 8 * idx[i];
        uint64_t e = rd64(a);
        if (e == ~0ULL) {
            if (!alloc)
                return NULL;
            if (i < 2) {
                e = t_ld_node();
            } else {
                e = t_alloc(DOM, PGU_LOGDIRTY);
                dom.ld.allocs++;
            }
            wr64(a, e);
        }
        node = e;
    }
    return hostmem_frame(h.mem, _mfn(node)) + L1_LOGDIRTY_IDX(gfn) / 8;
}

static void t_ld_mark(uint64_t gfn, bool dirty)
{
    if (!dom.ld.enabled)
        return;
    uint8_t *b = t_ld_byte(gfn, dirty), bit = (uint8_t)(1u << (gfn % 8));
    if (!b)
        return;
    if (dirty && !(*b & bit)) {
        *b |= bit;
        dom.ld.dirty_count++;
    } else if (!dirty && (*b & bit)) {
        *b &= (uint8_t)~bit;
        dom.ld.dirty_count--;
    }
}

static void t_populate(uint64_t gfn)
{
    uint64_t m = t_alloc(DOM, PGU_GUEST);
    p2m_type_t t = dom.ld.enabled ? p2m_ram_logdirty : p2m_ram_rw;
    t_ept_set(gfn, t_epte(m, t));
    h.m2p[m] = gfn;
    dom.tot_pages++;
    gmfn[gfn] = m;
    t_ld_mark(gfn, true);
    cr_assert_eq(oracle_op_populate(o, DOM, _gfn(gfn), _mfn(m), false), 0);
}

static void t_remove(uint64_t gfn)
{
    t_ept_set(gfn, 0);
    t_free(gmfn[gfn]);
    dom.tot_pages--;
    t_ld_mark(gfn, false);
    cr_assert_eq(oracle_op_remove(o, DOM, _gfn(gfn)), 0);
}

static void t_logdirty_enable(void)
{
    dom.ld.enabled = true;
    for (uint64_t g = 0; g < MAXGFN; g++)
        if (((t_ept_get(g) & EPTE_P2MT_MASK) >> EPTE_P2MT_SHIFT) == p2m_ram_rw &&
            t_ept_get(g))
            t_ept_set(g, t_epte(gmfn[g], p2m_ram_logdirty));
    cr_assert_eq(oracle_op_logdirty_enable(o, DOM), 0);
}

/* Writes a guest-physical 64-bit word (guest RAM only). */
static void t_gw64(uint64_t gpa, uint64_t v)
{
    wr64((gmfn[gpa >> 12] << 12) | (gpa & 0xFFF), v);
}

static void setup(void)
{
    memset(&h, 0, sizeof(h));
    memset(&dom, 0, sizeof(dom));
    memset(gmfn, 0, sizeof(gmfn));
    h.mem = hostmem_new(NFRAMES);
    h.nr_frames = NFRAMES;
    h.frames = calloc(NFRAMES, sizeof(*h.frames));
    h.m2p = calloc(NFRAMES, sizeof(*h.m2p));
    cr_assert(h.mem && h.frames && h.m2p);
    for (uint64_t m = 0; m < NFRAMES; m++) {
        h.frames[m].owner = DOMID_INVALID;
        h.m2p[m] = INVALID_M2P_ENTRY;
    }
    next_mfn = 0x10;
    dom.host = &h;
    dom.id = DOM;
    dom.max_gfn = MAXGFN;
    dom.ept_root = _mfn(t_alloc(DOM, PGU_P2M));
    dom.p2m_pages = 1;
    dom.ld.top = INVALID_MFN;
    h.domains[0] = &dom;
    o = oracle_new(NFRAMES);
    cr_assert(o);
    oracle_op_domain_create(o, DOM, MAXGFN);
}

static void teardown(void)
{
    oracle_destroy(o);
    hostmem_destroy(h.mem);
    free(h.frames);
    free(h.m2p);
}

/* ---- collecting reports ------------------------------------------------------------ */

struct reports {
    unsigned n;
    char text[64][192];
};
static struct reports rep;

static void collect(void *ctx, const char *field, const char *expected,
                    const char *actual)
{
    struct reports *r = ctx;
    if (r->n < 64)
        snprintf(r->text[r->n], sizeof r->text[0], "%s: expected %s, got %s",
                 field, expected, actual);
    r->n++;
}

static bool reported(const char *prefix)
{
    for (unsigned i = 0; i < rep.n && i < 64; i++)
        if (!strncmp(rep.text[i], prefix, strlen(prefix)))
            return true;
    return false;
}

static void dump(void)
{
    for (unsigned i = 0; i < rep.n && i < 64; i++)
        cr_log_info("%s", rep.text[i]);
}

static unsigned run_compare(void)
{
    memset(&rep, 0, sizeof(rep));
    unsigned n = oracle_compare(o, &h, collect, &rep);
    dump();
    return n;
}

static unsigned run_invariants(void)
{
    memset(&rep, 0, sizeof(rep));
    unsigned n = oracle_invariants(&h, collect, &rep);
    dump();
    return n;
}

/* A world with RAM at gfns 1-9 and 0x80, log-dirty on, some dirty pages. */
static void build_world(void)
{
    for (uint64_t g = 1; g < 8; g++)
        t_populate(g);
    t_logdirty_enable();
    t_populate(8);
    t_populate(9);
    t_populate(0x80);
    t_remove(9);
}

TestSuite(oracle, .init = setup, .fini = teardown);

/* ---- compare and invariants ------------------------------------------------------------ */

Test(oracle, consistent_world_compares_clean)
{
    build_world();
    cr_assert_eq(run_compare(), 0);
    cr_assert_eq(run_invariants(), 0);
    cr_assert_eq(oracle_p2m_type(o, DOM, _gfn(3)), p2m_ram_logdirty);
    cr_assert_eq(oracle_p2m_type(o, DOM, _gfn(9)), p2m_mmio_dm);
    cr_assert(oracle_is_dirty(o, DOM, _gfn(8)));
    cr_assert(!oracle_is_dirty(o, DOM, _gfn(9)));
    cr_assert(!oracle_is_dirty(o, DOM, _gfn(3)));
}

Test(oracle, compare_catches_wrong_perm_type_and_dirty)
{
    build_world();
    /* ram_logdirty left writable (MUT_LOGDIRTY_WRITABLE's bug). */
    t_ept_set(3, t_epte(gmfn[3], p2m_ram_logdirty) | EPT_W);
    /* gfn 8 loses its dirty bit in the tree (count kept: I3 is not asked). */
    *t_ld_byte(8, false) &= (uint8_t)~(1u << 0);
    /* gfn 0x20 mapped although the oracle never populated it. */
    t_ept_set(0x20, t_epte(0x300, p2m_ram_rw));
    cr_assert_geq(run_compare(), 3);
    cr_assert(reported("d1.p2m[0x3].perm: expected r-x, got rwx"));
    cr_assert(reported("d1.dirty[0x8]: expected dirty, got clean"));
    cr_assert(reported("d1.p2m[0x20].type: expected mmio_dm, got ram_rw"));
    cr_assert(reported("d1.p2m[0x20].mfn: expected INVALID, got 0x300"));
}

Test(oracle, compare_catches_m2p_and_logdirty_state)
{
    build_world();
    h.m2p[0x500] = 0x42;
    dom.ld.enabled = false;
    cr_assert_geq(run_compare(), 2);
    cr_assert(reported("m2p[0x500]: expected INVALID, got 0x42"));
    cr_assert(reported("d1.ld.enabled: expected on, got off"));
}

Test(oracle, i1_p2m_to_m2p)
{
    build_world();
    h.m2p[gmfn[4]] = 0x44;
    cr_assert_gt(run_invariants(), 0);
    cr_assert(reported("I1 d1.p2m[0x4]"));
}

Test(oracle, i2_m2p_to_p2m)
{
    build_world();
    /* The P2M forgets gfn 6; its frame still says "guest page of gfn 6". */
    t_ept_set(6, 0);
    cr_assert_gt(run_invariants(), 0);
    cr_assert(reported("I2 m2p["));
    cr_assert(!reported("I1"));
}

Test(oracle, i3_dirty_count)
{
    build_world();
    dom.ld.dirty_count--;
    cr_assert_gt(run_invariants(), 0);
    cr_assert(reported("I3 d1.ld.dirty_count"));
}

Test(oracle, dirty_count_too_high_is_a_compare_disagreement)
{
    build_world();
    dom.ld.dirty_count++; /* I3 allows it (stale count after disable)... */
    cr_assert_eq(run_invariants(), 0);
    cr_assert_gt(run_compare(), 0); /* ...the flat model knows better */
    cr_assert(reported("d1.ld.dirty_count: expected 2, got 3"));
}

Test(oracle, i4_allocs)
{
    build_world();
    dom.ld.allocs--;
    cr_assert_gt(run_invariants(), 0);
    cr_assert(reported("I4 d1.ld.allocs"));
}

Test(oracle, i4_leaked_logdirty_frame)
{
    build_world();
    t_alloc(DOM, PGU_LOGDIRTY); /* allocated, counted nowhere in the tree */
    dom.ld.allocs++;
    cr_assert_gt(run_invariants(), 0);
    cr_assert(reported("I4 d1.ld.allocs"));
}

Test(oracle, i5_freed_frame_with_stale_m2p)
{
    build_world();
    /* seed 002 06/12: gfn 9 was removed, its frame kept the old gfn. */
    uint64_t m = gmfn[9];
    cr_assert_eq(h.frames[m].use, PGU_FREE);
    h.m2p[m] = 9;
    cr_assert_gt(run_invariants(), 0);
    cr_assert(reported("I5 m2p["));
    cr_assert(!reported("I2"));
}

Test(oracle, i6_p2m_pages)
{
    build_world();
    dom.p2m_pages++;
    cr_assert_gt(run_invariants(), 0);
    cr_assert(reported("I6 d1.p2m_pages"));
}

Test(oracle, i7_ring_overfull_and_pause_count)
{
    build_world();
    dom.paging.ring_enabled = true;
    dom.paging.ring_size = VM_EVENT_RING_SLOTS;
    dom.paging.nreq = VM_EVENT_RING_SLOTS + 1;
    dom.paging.vcpu_state[2] = VCPU_PAUSED_PAGER; /* with no pause count */
    cr_assert_gt(run_invariants(), 0);
    cr_assert(reported("I7 d1.ring.requests"));
    cr_assert(reported("I7 d1.v2"));
}

Test(oracle, i7_paged_gfn_with_a_frame)
{
    build_world();
    t_ept_set(0x30, t_epte(0x300, p2m_ram_paged));
    cr_assert_gt(run_invariants(), 0);
    cr_assert(reported("I7 d1.p2m[0x30].mfn"));
}

Test(oracle, compare_paging_state)
{
    build_world();
    cr_assert_eq(oracle_op_paging_enable(o, DOM, VM_EVENT_RING_SLOTS), 0);
    dom.paging.ring_enabled = true;
    dom.paging.ring_size = VM_EVENT_RING_SLOTS;
    cr_assert_eq(run_compare(), 0);
    dom.paging.paged_pages = 3;
    dom.paging.vcpu_state[0] = VCPU_WAIT_SLOT;
    dom.paging.lost = 1;
    cr_assert_geq(run_compare(), 3);
    cr_assert(reported("d1.paged_pages: expected 0, got 3"));
    cr_assert(reported("d1.v0.state: expected runnable, got waiting_slot (vCPU stuck)"));
    cr_assert(reported("d1.ring.lost_events"));
    /* Nominate on the flat model: the oracle's own rules. */
    cr_assert_eq(oracle_op_nominate(o, DOM, _gfn(2)), 0);
    cr_assert_eq(oracle_op_nominate(o, DOM, _gfn(2)), -EBUSY);
    cr_assert_eq(oracle_op_evict(o, DOM, _gfn(2)), 0);
    cr_assert_eq(oracle_p2m_type(o, DOM, _gfn(2)), p2m_ram_paged);
    cr_assert_eq(oracle_op_prep(o, DOM, _gfn(2), false, INVALID_MFN, false), -EINVAL);
}

/* ---- log-dirty operations --------------------------------------------------------------- */

Test(oracle, logdirty_ops)
{
    build_world();
    uint8_t bm[MAXGFN / 8];
    uint64_t cnt = 0;
    cr_assert_eq(oracle_op_logdirty_enable(o, DOM), -EINVAL);
    cr_assert_eq(oracle_op_copy_to_guest(o, DOM, _gpa(0x2000), 8), 0);
    cr_assert_eq(oracle_op_copy_to_guest(o, DOM, _gpa(0x9000), 8), -EFAULT);
    cr_assert_eq(oracle_op_copy_to_guest(o, DOM, _gpa(0x2FFC), 8), -EFAULT);
    cr_assert_eq(oracle_op_logdirty_op(o, DOM, true, MAXGFN, bm, &cnt), 0);
    cr_assert_eq(cnt, 3); /* 2 (copy), 8 and 0x80 (populate) */
    cr_assert_eq(bm[0], 0x04 | 0x00);
    cr_assert_eq(bm[1], 0x01);
    cr_assert_eq(bm[0x10], 0x01);
    cr_assert(!oracle_is_dirty(o, DOM, _gfn(8)));
    cr_assert_eq(oracle_p2m_type(o, DOM, _gfn(2)), p2m_ram_logdirty);
    cr_assert_eq(oracle_op_remove(o, DOM, _gfn(9)), -ENOENT);
    cr_assert_eq(oracle_op_remove(o, DOM, _gfn(MAXGFN)), -EINVAL);
    cr_assert_eq(oracle_op_populate(o, DOM, _gfn(8), _mfn(0x700), false), -EEXIST);
    cr_assert_eq(oracle_op_populate(o, DOM, _gfn(9), _mfn(0x700), true), -ENOMEM);
    cr_assert_eq(oracle_op_set_type(o, DOM, _gfn(8), p2m_ram_ro), -EINVAL);
    cr_assert_eq(oracle_op_set_type(o, DOM, _gfn(8), p2m_invalid), 0);
    cr_assert_eq(oracle_p2m_type(o, DOM, _gfn(8)), p2m_mmio_dm);
    cr_assert_eq(oracle_op_populate(o, DOM, _gfn(9), _mfn(0x700), false), 0);
    cr_assert_eq(oracle_op_logdirty_disable(o, DOM), 0);
    cr_assert_eq(oracle_p2m_type(o, DOM, _gfn(2)), p2m_ram_rw);
    cr_assert_eq(oracle_op_logdirty_op(o, DOM, false, MAXGFN, bm, &cnt), -EINVAL);
    /* Disable frees the tree but not dirty_count (paging.c): re-enabled, the
     * bitmap is empty and the count still says 1 until the next CLEAN. */
    cr_assert_eq(oracle_op_logdirty_enable(o, DOM), 0);
    cr_assert_eq(oracle_op_logdirty_op(o, DOM, false, MAXGFN, bm, &cnt), 0);
    cr_assert_eq(cnt, 1);
    cr_assert_eq(bm[1], 0);
    cr_assert_eq(oracle_op_logdirty_op(o, DOM, true, MAXGFN, bm, &cnt), 0);
    cr_assert_eq(oracle_op_logdirty_op(o, DOM, false, MAXGFN, bm, &cnt), 0);
    cr_assert_eq(cnt, 0);
}

/* ---- guest accesses ------------------------------------------------------------------------- */

static struct oracle_cpu cpu;

/* Guest tables for TVA with 'flags' at every level (RAM at gfns 1-5). */
static void build_tables(uint64_t flags)
{
    for (uint64_t g = 1; g <= 5; g++)
        t_populate(g);
    for (unsigned lvl = 0; lvl < 4; lvl++) {
        uint64_t next = lvl < 3 ? GT_GFN(lvl + 1) : DATA_GFN;
        t_gw64((GT_GFN(lvl) << 12) + 8 * TIDX(lvl), (next << 12) | flags);
    }
    wr64((gmfn[DATA_GFN] << 12) | 0x120, DATA_VAL);
    cpu = (struct oracle_cpu){ X86_CR0_PG | X86_CR0_WP | 1, GT_GFN(0) << 12,
                               X86_CR4_PAE,
                               X86_EFER_LME | X86_EFER_LMA | X86_EFER_NXE, 0,
                               0, 0, 0, 0, false, false, false, { 0 } };
}

static uint64_t entry_hpa(unsigned lvl)
{
    return (gmfn[GT_GFN(lvl)] << 12) + 8 * TIDX(lvl);
}

Test(oracle, read_ok_24_refs)
{
    build_tables(GALL);
    struct oracle_expect x;
    oracle_access(o, DOM, &cpu, h.mem, _gva(TVA), ACC_READ, 8, &x);
    cr_assert_eq(x.final, OR_OK);
    cr_assert_eq(x.nexits, 0);
    cr_assert_eq(gpa_x(x.gpa), (DATA_GFN << 12) | 0x120);
    cr_assert_eq(hpa_x(x.hpa), (gmfn[DATA_GFN] << 12) | 0x120);
    cr_assert_eq(x.value, DATA_VAL);
    cr_assert(x.refs_valid);
    cr_assert_eq(x.refs, 24);
    cr_assert_eq(x.nad, 4);
    for (unsigned lvl = 0; lvl < 4; lvl++) {
        uint64_t next = lvl < 3 ? GT_GFN(lvl + 1) : DATA_GFN;
        cr_assert_eq(hpa_x(x.ad[lvl].hpa), entry_hpa(lvl));
        cr_assert_eq(x.ad[lvl].value, (next << 12) | GALL);
    }
}

Test(oracle, write_sets_a_and_d)
{
    build_tables(PTE_P | PTE_W);
    struct oracle_expect x;
    uint64_t before = rd64(entry_hpa(3));
    oracle_access(o, DOM, &cpu, h.mem, _gva(TVA), ACC_WRITE, 4, &x);
    cr_assert_eq(x.final, OR_OK);
    cr_assert_eq(x.refs, 24 + 4);
    cr_assert_eq(x.ad[0].value, (2ULL << 12) | PTE_P | PTE_W | PTE_A);
    cr_assert_eq(x.ad[3].value, (5ULL << 12) | PTE_P | PTE_W | PTE_A | PTE_D);
    cr_assert_eq(rd64(entry_hpa(3)), before, "the oracle must not write memory");
}

Test(oracle, not_present_pf_codes)
{
    build_tables(GALL);
    t_gw64((GT_GFN(2) << 12) + 8 * TIDX(2), 0); /* PDE not present */
    struct oracle_expect x;
    oracle_access(o, DOM, &cpu, h.mem, _gva(TVA), ACC_READ, 8, &x);
    cr_assert_eq(x.final, OR_PF);
    cr_assert_eq(x.pf_ec, 0);
    cr_assert_eq(gva_x(x.cr2), TVA);
    cr_assert(x.refs_valid);
    cr_assert_eq(x.refs, 15);
    cpu.cpl = 3;
    oracle_access(o, DOM, &cpu, h.mem, _gva(TVA), ACC_WRITE, 8, &x);
    cr_assert_eq(x.pf_ec, PFEC_W | PFEC_U);
    oracle_access(o, DOM, &cpu, h.mem, _gva(TVA), ACC_FETCH, 8, &x);
    cr_assert_eq(x.pf_ec, PFEC_U | PFEC_ID);
}

Test(oracle, write_to_read_only_with_wp)
{
    build_tables(PTE_P | PTE_U | PTE_A); /* R/W = 0 everywhere */
    struct oracle_expect x;
    oracle_access(o, DOM, &cpu, h.mem, _gva(TVA), ACC_WRITE, 8, &x);
    cr_assert_eq(x.final, OR_PF);
    cr_assert_eq(x.pf_ec, PFEC_P | PFEC_W);
    cr_assert_eq(x.refs, 20);
    cpu.cr0 &= ~X86_CR0_WP; /* supervisor writes ignore R/W */
    oracle_access(o, DOM, &cpu, h.mem, _gva(TVA), ACC_WRITE, 8, &x);
    cr_assert_eq(x.final, OR_OK);
    cpu.cpl = 3; /* ... user writes do not */
    oracle_access(o, DOM, &cpu, h.mem, _gva(TVA), ACC_WRITE, 8, &x);
    cr_assert_eq(x.final, OR_PF);
    cr_assert_eq(x.pf_ec, PFEC_P | PFEC_W | PFEC_U);
}

Test(oracle, logdirty_write_one_exit_then_ok)
{
    build_tables(GALL | PTE_D); /* nothing for A/D to write */
    t_logdirty_enable();
    struct oracle_expect x;
    oracle_access(o, DOM, &cpu, h.mem, _gva(TVA), ACC_WRITE, 8, &x);
    cr_assert_eq(x.final, OR_OK);
    cr_assert_eq(x.nexits, 1);
    cr_assert_eq(x.exits[0].kind, OR_EXIT_EPT_VIOLATION);
    cr_assert_eq(x.exits[0].qual, EPTQ_WRITE | EPTQ_READABLE | EPTQ_EXECUTABLE |
                                      EPTQ_GLA_VALID | EPTQ_GLA_XLATE);
    cr_assert_eq(gpa_x(x.exits[0].gpa), (DATA_GFN << 12) | 0x120);
    cr_assert_eq(gva_x(x.exits[0].gla), TVA);
    cr_assert_eq(x.refs, 24);
    cr_assert(oracle_is_dirty(o, DOM, _gfn(DATA_GFN)));
    cr_assert_eq(oracle_p2m_type(o, DOM, _gfn(DATA_GFN)), p2m_ram_rw);
    cr_assert_eq(oracle_p2m_type(o, DOM, _gfn(GT_GFN(3))), p2m_ram_logdirty);
}

Test(oracle, logdirty_dirty_bit_update_is_a_walk_write)
{
    build_tables(GALL); /* the PTE needs D: an EPT write to the PT page */
    t_logdirty_enable();
    struct oracle_expect x;
    oracle_access(o, DOM, &cpu, h.mem, _gva(TVA), ACC_WRITE, 8, &x);
    cr_assert_eq(x.final, OR_OK);
    cr_assert_eq(x.nexits, 2);
    cr_assert_eq(gpa_x(x.exits[1].gpa), (GT_GFN(3) << 12) + 8 * TIDX(3));
    cr_assert_eq(x.exits[1].qual, EPTQ_WRITE | EPTQ_READABLE | EPTQ_EXECUTABLE |
                                      EPTQ_GLA_VALID);
    cr_assert_eq(x.refs, 25);
    cr_assert(oracle_is_dirty(o, DOM, _gfn(GT_GFN(3))));
    cr_assert(!oracle_is_dirty(o, DOM, _gfn(GT_GFN(2))));
}

Test(oracle, mmio_dm_access)
{
    build_tables(GALL);
    t_gw64((GT_GFN(3) << 12) + 8 * TIDX(3), (0x50ULL << 12) | GALL);
    struct oracle_expect x;
    oracle_access(o, DOM, &cpu, h.mem, _gva(TVA), ACC_READ, 4, &x);
    cr_assert_eq(x.final, OR_MMIO);
    cr_assert_eq(gpa_x(x.gpa), 0x50120);
    cr_assert_eq(x.nexits, 1);
    cr_assert_eq(x.exits[0].qual, EPTQ_READ | EPTQ_GLA_VALID | EPTQ_GLA_XLATE);
    cr_assert(!x.refs_valid);
}

Test(oracle, guest_table_in_mmio_is_a_walk_exit)
{
    build_tables(GALL);
    t_gw64((GT_GFN(1) << 12) + 8 * TIDX(1), (0x60ULL << 12) | GALL);
    struct oracle_expect x;
    oracle_access(o, DOM, &cpu, h.mem, _gva(TVA), ACC_READ, 4, &x);
    cr_assert_eq(x.final, OR_MMIO);
    cr_assert_eq(gpa_x(x.gpa), 0x60000 + 8 * TIDX(2));
    cr_assert_eq(x.exits[0].qual, EPTQ_READ | EPTQ_GLA_VALID);
}

/* ---- independence ------------------------------------------------------------------------------ */

static bool forbidden(const char *sym)
{
    static const char *const prefixes[] = {
        "p2m_", "ept_", "mmu_", "heap_", "paging_", "hvm_", "guest_", "domain_",
        "host_", "set_gpfn", "get_gpfn", "mutant_", "pagesim_mutants",
        "tlb_", "cpu_profile",
    };
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
        if (!strncmp(sym, prefixes[i], strlen(prefixes[i])))
            return true;
    return !strncmp(sym, "hostmem_", 8) && strcmp(sym, "hostmem_frame_peek");
}

Test(oracle_deps, oracle_objects_use_only_hostmem_frame_peek)
{
    /* Run from the repository root. */
    cr_assert_eq(access("oracle", F_OK), 0, "run the tests from the repo root");
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "set -e; for f in oracle/*.c; do "
             "gcc -std=gnu11 -Iinclude -c $f -o /tmp/oracle_sym_%d.o; "
             "nm -u /tmp/oracle_sym_%d.o; done; rm -f /tmp/oracle_sym_%d.o",
             (int)getpid(), (int)getpid(), (int)getpid());
    FILE *p = popen(cmd, "r");
    cr_assert(p);
    char line[256];
    unsigned nsyms = 0, bad = 0;
    bool peek = false;
    while (fgets(line, sizeof line, p)) {
        char kind[8], sym[200];
        if (sscanf(line, "%7s %199s", kind, sym) != 2)
            continue;
        nsyms++;
        peek |= !strcmp(sym, "hostmem_frame_peek");
        if (forbidden(sym)) {
            cr_log_error("oracle/ uses %s", sym);
            bad++;
        }
    }
    cr_assert_eq(pclose(p), 0, "compiling oracle/*.c failed");
    cr_assert_gt(nsyms, 0);
    cr_assert(peek);
    cr_assert_eq(bad, 0);
}

Test(oracle, logdirty_mark_failed_drops_the_mark_and_fails_peek)
{
    build_world();
    cr_assert(oracle_is_dirty(o, DOM, _gfn(8)));
    oracle_op_logdirty_mark_failed(o, DOM, _gfn(8));
    cr_assert(!oracle_is_dirty(o, DOM, _gfn(8)));
    uint8_t bm[2];
    uint64_t cnt;
    cr_assert_eq(oracle_op_logdirty_op(o, DOM, false, 16, bm, &cnt), -ENOMEM);
    cr_assert_eq(oracle_op_logdirty_disable(o, DOM), 0);
    cr_assert_eq(oracle_op_logdirty_enable(o, DOM), 0);
    cr_assert_eq(oracle_op_logdirty_op(o, DOM, false, 16, bm, &cnt), 0);
}

/* The checks' per-gfn loops visit the allocated chunks of the flat model
 * only (oracle_dom.cidx), in gfn order whatever order they were allocated
 * in: gfns the oracle holds and the sim's EPT lacks, in three 4096-gfn
 * chunks allocated out of order (and one gfn more in an existing chunk),
 * are each reported, in ascending order, by the full compare and by the
 * RAM count (tot_pages). */
Test(oracle, sparse_chunks_visited_in_gfn_order)
{
    const uint64_t big = 0x4000, gs[] = { 0x3005, 0x1007, 0x2001, 0x1008 };
    oracle_op_domain_destroy(o, DOM);
    oracle_op_domain_create(o, DOM, big);
    dom.max_gfn = big;
    for (unsigned i = 0; i < 4; i++) {
        uint64_t m = t_alloc(DOM, PGU_GUEST);
        h.m2p[m] = gs[i];
        dom.tot_pages++;
        cr_assert_eq(oracle_op_populate(o, DOM, _gfn(gs[i]), _mfn(m), false), 0);
    }
    cr_assert_gt(run_compare(), 0);
    static const char *const want[] = { "d1.p2m[0x1007].type", "d1.p2m[0x1008].type",
                                        "d1.p2m[0x2001].type", "d1.p2m[0x3005].type" };
    unsigned next = 0;
    for (unsigned i = 0; i < rep.n && i < 64 && next < 4; i++)
        if (!strncmp(rep.text[i], want[next], strlen(want[next])))
            next++;
    cr_assert_eq(next, 4, "each chunk's gfn reported, in gfn order");
    /* the sim counts 4 pages, as the oracle's RAM count: no tot_pages report */
    cr_assert_not(reported("d1.tot_pages"));
}

/* ---- the access overlay (oracle/ept.c oracle_ovl_put()) ------------------------------------------ */

/* The EPT entries one predicted access changed: a newer value for an
 * address replaces the older (the raw walker must read the newest), and
 * the overlay holds ORACLE_MAX_EPT_AD addresses. */
Test(oracle_ovl, put_replaces_and_holds_the_maximum)
{
    static struct oracle_ovl ov;
    memset(&ov, 0, sizeof(ov));
    oracle_ovl_put(&ov, 0x1000, 1);
    oracle_ovl_put(&ov, 0x1008, 2);
    oracle_ovl_put(&ov, 0x1000, 3);
    cr_assert_eq(ov.n, 2);
    cr_assert_eq(ov.hpa[0], 0x1000);
    cr_assert_eq(ov.val[0], 3);
    cr_assert_eq(ov.val[1], 2);
    for (uint64_t i = 2; i < ORACLE_MAX_EPT_AD; i++)
        oracle_ovl_put(&ov, 0x1000 + 8 * i, i);
    cr_assert_eq(ov.n, ORACLE_MAX_EPT_AD);
    /* a full overlay still takes a newer value of an address it holds */
    oracle_ovl_put(&ov, 0x1008, 7);
    cr_assert_eq(ov.n, ORACLE_MAX_EPT_AD);
    cr_assert_eq(ov.val[1], 7);
}

/* One address more than it can hold stops the run with a message rather
 * than dropping the entry (the prediction would be made from a stale one). */
Test(oracle_ovl, full_overlay_aborts, .signal = SIGABRT)
{
    static struct oracle_ovl ov;
    memset(&ov, 0, sizeof(ov));
    for (uint64_t i = 0; i <= ORACLE_MAX_EPT_AD; i++)
        oracle_ovl_put(&ov, 0x1000 + 8 * i, i);
}

/* ---- the dirty-log walk (oracle/decode.c ld_node()) ------------------------------------------ */

struct ldw {
    uint64_t base;
    unsigned leaves, bad;
};

static void ldw_leaf(void *ctx, uint64_t base, const uint8_t *bm)
{
    struct ldw *w = ctx;
    w->base = base;
    w->leaves++;
    cr_assert_not_null(bm);
    cr_assert_eq(bm[0], 0x80, "the leaf's own bytes");
}

static void ldw_bad(void *ctx, const char *what, uint64_t mfn)
{
    ((struct ldw *)ctx)->bad++;
}

/* ld_node() passes runs of 64 and of 8 absent (INVALID_MFN) entries with
 * one compare each: a tree with one present entry per node, at the same
 * index p in the top, L3 and L2 nodes, is found for every p at the edges
 * of those runs, with its first pfn, and nothing else. */
Test(oracle, ld_walk_finds_an_entry_at_every_run_edge)
{
    static const unsigned idx[] = { 0, 1, 6, 7, 8, 9, 15, 16, 56, 62, 63, 64, 65,
                                    127, 128, 255, 256, 448, 503, 504, 510, 511 };
    for (unsigned k = 0; k < sizeof idx / sizeof idx[0]; k++) {
        unsigned p = idx[k];
        struct hostmem *hm = hostmem_new(8);
        cr_assert_not_null(hm);
        struct host hh = { .mem = hm, .nr_frames = 8 };
        /* frames 1 (top), 2 (L3), 3 (L2): absent everywhere but at p */
        for (uint64_t m = 1; m <= 3; m++)
            for (unsigned i = 0; i < LOGDIRTY_NODE_ENTRIES; i++)
                cr_assert_eq(hostmem_write64(hm, _hpa((m << PAGE_SHIFT) + 8 * i),
                                             i == p ? m + 1 : mfn_x(INVALID_MFN)), 0);
        cr_assert_eq(hostmem_write64(hm, _hpa(4ULL << PAGE_SHIFT), 0x80), 0);
        struct ldw w = { 0, 0, 0 };
        struct oracle_ld_visit v = { ldw_leaf, ldw_bad, &w, NULL };
        cr_assert_eq(oracle_ld_walk(&hh, _mfn(1), &v), 4u, "index %u: frames", p);
        cr_assert_eq(w.bad, 0u, "index %u", p);
        cr_assert_eq(w.leaves, 1u, "index %u: leaves", p);
        uint64_t want = (uint64_t)p << (PAGE_SHIFT + 3 + 18) |
                        (uint64_t)p << (PAGE_SHIFT + 3 + 9) | (uint64_t)p << (PAGE_SHIFT + 3);
        cr_assert_eq(w.base, want, "index %u: base %#" PRIx64, p, w.base);
        hostmem_destroy(hm);
    }
}
