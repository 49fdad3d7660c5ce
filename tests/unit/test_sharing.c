/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_sharing.c - sim/mem_sharing.c against Xen's rules, and
 * the oracle's sharing checks (oracle/sharing.c) catching a shared frame
 * that changed and an unshared copy that is not a copy; the incremental
 * state checks (oracle_check()'s memo, which must see the sharing state)
 * reporting exactly what full checks report on the sharing scenarios,
 * with and without the sharing mutants.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../sim/engine/lapi.h"

#include "pagesim/mutant.h"
#include "pagesim/oracle.h"
#include "pagesim/sim.h"

#define NFRAMES 256

static struct host *h;
static struct domain *a, *b;
static struct oracle *o;

/* Both sides populate gfns 0..0x1f of each domain (the oracle told the
 * sim's frames, as the engine does). */
static void setup(void)
{
    pagesim_mutants = 0;
    h = host_new(NFRAMES);
    o = oracle_new(NFRAMES);
    cr_assert(h && o);
    a = domain_create(h, "a", 0x100);
    b = domain_create(h, "b", 0x100);
    cr_assert(a && b);
    oracle_op_domain_create(o, a->id, 0x100);
    oracle_op_domain_create(o, b->id, 0x100);
    struct domain *ds[2] = { a, b };
    for (unsigned i = 0; i < 2; i++)
        for (uint64_t g = 0; g < 0x20; g++) {
            mfn_t m;
            cr_assert_eq(guest_populate_page(ds[i], _gfn(g), &m), 0);
            cr_assert_eq(oracle_op_populate(o, ds[i]->id, _gfn(g), m, false), 0);
        }
    cr_assert_eq(mem_sharing_control(a, true), 0);
    cr_assert_eq(mem_sharing_control(b, true), 0);
    oracle_op_sharing_control(o, a->id, true);
    oracle_op_sharing_control(o, b->id, true);
}

static void teardown(void)
{
    oracle_destroy(o);
    host_destroy(h);
}

TestSuite(sharing, .init = setup, .fini = teardown);

static p2m_type_t type_of(struct domain *d, uint64_t g)
{
    p2m_type_t t;
    p2m_get_entry(d, _gfn(g), &t, NULL);
    return t;
}

static mfn_t mfn_of(struct domain *d, uint64_t g)
{
    return p2m_get_entry(d, _gfn(g), NULL, NULL);
}

struct reports {
    unsigned n;
    char text[32][160];
};

static void collect(void *ctx, const char *field, const char *expected,
                    const char *actual)
{
    struct reports *r = ctx;
    if (r->n < 32)
        snprintf(r->text[r->n], sizeof r->text[0], "%s: expected %s, got %s",
                 field, expected, actual);
    r->n++;
}

static bool compare_reports(const char *prefix)
{
    struct reports r = { 0 };
    oracle_compare(o, h, collect, &r);
    bool found = false;
    for (unsigned i = 0; i < r.n && i < 32; i++) {
        cr_log_info("%s", r.text[i]);
        found |= !strncmp(r.text[i], prefix, strlen(prefix));
    }
    return prefix ? found : r.n != 0;
}

/* The sim's next allocation frames for d, as the engine tells the oracle. */
static void hint(const struct domain *d)
{
    uint64_t f[8], top = h->nr_free;
    for (unsigned k = 0; k < 8; k++)
        f[k] = (h->fail_domains >> d->id & 1) || !top ? UINT64_MAX
                                                       : h->free_stack[--top];
    oracle_note_alloc_hint(o, f, 8);
}

/* Nominate a's gfn 5 and b's gfn 6 and share them, on both sides. */
static mfn_t share_5_6(void)
{
    uint64_t sh, ch, xs, xc;
    mfn_t f = mfn_of(a, 5);
    cr_assert_eq(mem_sharing_nominate(a, _gfn(5), &sh), 0);
    cr_assert_eq(oracle_op_share_nominate(o, a->id, _gfn(5), h->mem, &xs), 0);
    cr_assert_eq(mem_sharing_nominate(b, _gfn(6), &ch), 0);
    cr_assert_eq(oracle_op_share_nominate(o, b->id, _gfn(6), h->mem, &xc), 0);
    cr_assert_eq(sh, 2, "the first handle is 2 (next_handle starts at 1)");
    cr_assert_eq(xs, sh);
    cr_assert_eq(xc, ch);
    cr_assert_eq(mem_sharing_share(a, _gfn(5), sh, b, _gfn(6), ch), 0);
    cr_assert_eq(oracle_op_share(o, a->id, _gfn(5), sh, b->id, _gfn(6), ch), 0);
    return f;
}

Test(sharing, nominate_rules)
{
    uint64_t hd;
    cr_assert_eq(mem_sharing_nominate(a, _gfn(0x50), &hd), -EINVAL, "no frame");
    h->frames[mfn_x(mfn_of(a, 3))].count++; /* a foreign reference */
    cr_assert_eq(mem_sharing_nominate(a, _gfn(3), &hd), -E2BIG);
    h->frames[mfn_x(mfn_of(a, 3))].count--;
    mem_sharing_control(b, false);
    cr_assert_eq(mem_sharing_nominate(b, _gfn(3), &hd), -ENODEV);
    mem_sharing_control(b, true);
    uint64_t before = a->tot_pages;
    mfn_t m = mfn_of(a, 3);
    cr_assert_eq(mem_sharing_nominate(a, _gfn(3), &hd), 0);
    cr_assert_eq(type_of(a, 3), p2m_ram_shared);
    cr_assert_eq(h->frames[mfn_x(m)].owner, DOMID_COW);
    cr_assert_eq(get_gpfn_from_mfn(h, m), SHARED_M2P_ENTRY);
    cr_assert_eq(a->tot_pages, before - 1, "dom_cow's now");
    cr_assert_eq(mem_sharing_sharers(h, m), 1);
    cr_assert_eq(ept_p2m_type_to_flags(p2m_ram_shared, p2m_access_rwx), 5u, "r-x");
    uint64_t again;
    cr_assert_eq(mem_sharing_nominate(a, _gfn(3), &again), 0);
    cr_assert_eq(again, hd);
    /* paging refuses it */
    cr_assert_eq(vm_event_paging_enable(a), 0);
    cr_assert_eq(mem_paging_nominate(a, _gfn(3)), -EBUSY);
}

Test(sharing, share_unshare_last_sharer)
{
    mfn_t cf = mfn_of(b, 6);
    mfn_t f = share_5_6();
    cr_assert(mfn_eq(mfn_of(b, 6), f));
    cr_assert_eq(h->frames[mfn_x(cf)].use, PGU_FREE, "client frame freed");
    cr_assert_eq(mem_sharing_sharers(h, f), 2);
    cr_assert_eq(compare_reports(NULL), false);

    hostmem_write64(h->mem, mfn_to_hpa(f), 0x1234);
    cr_assert(compare_reports("shared["), "a shared frame must never change");
    hostmem_write64(h->mem, mfn_to_hpa(f), 0);

    /* b unshares: a copy on a new page. */
    hint(b);
    cr_assert_eq(mem_sharing_unshare_page(b, _gfn(6), 0), 0);
    cr_assert_eq(type_of(b, 6), p2m_ram_rw);
    cr_assert(!mfn_eq(mfn_of(b, 6), f));
    cr_assert_eq(get_gpfn_from_mfn(h, mfn_of(b, 6)), 6);
    cr_assert_eq(mem_sharing_sharers(h, f), 1);
    /* oracle side, as the hypervisor write path does */
    cr_assert_eq(oracle_op_copy_to_guest(o, b->id, _gpa(0x6000), 8), 0);
    cr_assert_eq(compare_reports(NULL), false);

    /* a is the last sharer: the frame comes back, no copy. */
    cr_assert_eq(mem_sharing_unshare_page(a, _gfn(5), 0), 0);
    cr_assert(mfn_eq(mfn_of(a, 5), f));
    cr_assert_eq(h->frames[mfn_x(f)].owner, a->id);
    cr_assert_eq(mem_sharing_handle(h, f), 0);
}

Test(sharing, copy_check_catches_a_wrong_copy)
{
    mfn_t f = share_5_6();
    hostmem_write64(h->mem, hpa_add(mfn_to_hpa(f), 0x800), 0x5555);
    /* contents were hashed at nominate: re-nominate is not possible, so
     * the frame change itself is reported; set it back */
    hostmem_write64(h->mem, hpa_add(mfn_to_hpa(f), 0x800), 0);
    hint(b);
    cr_assert_eq(mem_sharing_unshare_page(b, _gfn(6), 0), 0);
    cr_assert_eq(oracle_op_copy_to_guest(o, b->id, _gpa(0x6000), 8), 0);
    /* corrupt the copy outside the written word */
    hostmem_write64(h->mem, hpa_add(mfn_to_hpa(mfn_of(b, 6)), 0x100), 0xdead);
    cr_assert(compare_reports("d1.p2m[0x6].unshared_copy"));
}

Test(sharing, stale_handles_and_order)
{
    uint64_t sh, ch;
    cr_assert_eq(mem_sharing_nominate(a, _gfn(5), &sh), 0);
    cr_assert_eq(mem_sharing_nominate(b, _gfn(6), &ch), 0);
    cr_assert_eq(mem_sharing_share(a, _gfn(5), sh + 7, b, _gfn(6), ch),
                 XENMEM_SHARING_OP_S_HANDLE_INVALID);
    cr_assert_eq(mem_sharing_share(a, _gfn(5), sh, b, _gfn(6), ch + 7),
                 XENMEM_SHARING_OP_C_HANDLE_INVALID);
    /* neither shared: the lower mfn is looked at first */
    int want = mfn_x(mfn_of(a, 7)) < mfn_x(mfn_of(b, 7))
                   ? XENMEM_SHARING_OP_S_HANDLE_INVALID
                   : XENMEM_SHARING_OP_C_HANDLE_INVALID;
    cr_assert_eq(mem_sharing_share(a, _gfn(7), sh, b, _gfn(7), ch), want);
    mem_sharing_control(b, false);
    cr_assert_eq(mem_sharing_share(a, _gfn(5), sh, b, _gfn(6), ch), -EINVAL);
    cr_assert_eq(mem_sharing_share(b, _gfn(6), ch, a, _gfn(5), sh), -ENODEV);
}

Test(sharing, unshare_enomem_and_destroy)
{
    mfn_t f = share_5_6();
    h->fail_domains = 1u << b->id;
    cr_assert_eq(mem_sharing_unshare_page(b, _gfn(6), 0), -ENOMEM);
    cr_assert_eq(type_of(b, 6), p2m_ram_shared, "nothing changed");
    cr_assert_eq(guest_remove_page(b, _gfn(6)), -ENOMEM);
    cr_assert_eq(hvm_hap_nested_page_fault(b, _gpa(0x6000), EPTQ_WRITE | EPTQ_READABLE,
                                           _gva(0)), NPF_CRASH,
                 "no sharing ring: domain_crash()");
    h->fail_domains = 0;
    cr_assert_eq(hvm_hap_nested_page_fault(b, _gpa(0x6000), EPTQ_WRITE | EPTQ_READABLE,
                                           _gva(0)), NPF_RETRY);
    cr_assert_eq(type_of(b, 6), p2m_ram_rw);
    /* a reads nothing new: the read path does not unshare */
    cr_assert_eq(hvm_hap_nested_page_fault(a, _gpa(0x5000), EPTQ_READ, _gva(0)),
                 NPF_CRASH, "a read on r-x never faults; an EPT read fault is unhandled");
    domain_destroy(a);
    cr_assert_eq(h->frames[mfn_x(f)].use, PGU_FREE, "the last sharer's teardown frees it");
    cr_assert_eq(h->shr_nrmap, 0);
}

Test(sharing, mutants_break_the_rules)
{
    pagesim_mutants = MUT_SHARE_CLIENT_LEAK;
    mfn_t cf = mfn_of(b, 6);
    share_5_6();
    cr_assert_neq(h->frames[mfn_x(cf)].use, PGU_FREE, "leaked");
    cr_assert(compare_reports("m2p["));
    pagesim_mutants = MUT_UNSHARE_IN_PLACE;
    mfn_t f = mfn_of(a, 5);
    cr_assert_eq(mem_sharing_unshare_page(b, _gfn(6), 0), 0);
    cr_assert(mfn_eq(mfn_of(b, 6), f), "the shared frame, writable");
    pagesim_mutants = 0;
}

/* ---- incremental checks on the sharing scenarios --------------------------------- */

struct outcome {
    struct run_result r;
    char *log;
    size_t loglen;
};

static void run_mode(const char *file, unsigned every, struct outcome *out)
{
    memset(out, 0, sizeof(*out));
    FILE *log = open_memstream(&out->log, &out->loglen);
    cr_assert_not_null(log);
    struct run_opts opts = { .seed = 1, .log = log, .full_check_every = every };
    lapi_run_file(file, &opts, &out->r);
    fclose(log);
}

Test(sharing_runs, incremental_checks_equal_full)
{
    const char *const files[] = {
        "scenarios/sharing/share_unshare.lua", "scenarios/sharing/pagetable_page.lua",
        "scenarios/sharing/remove_destroy.lua", "scenarios/sharing/add_physmap.lua",
    };
    const uint64_t muts[] = { 0, MUT_UNSHARE_IN_PLACE, MUT_SHARE_CLIENT_LEAK };
    unsigned diverged = 0;
    for (unsigned m = 0; m < 3; m++)
        for (unsigned f = 0; f < sizeof files / sizeof files[0]; f++) {
            if (access(files[f], R_OK))
                cr_skip_test("run from the repository root (%s missing)", files[f]);
            pagesim_mutants = muts[m];
            struct outcome full, inc;
            run_mode(files[f], 1, &full);
            run_mode(files[f], 1000000000u, &inc);
            pagesim_mutants = 0;
            cr_assert_str_eq(full.r.digest, inc.r.digest, "%s/%u: digest", files[f], m);
            cr_assert_eq(full.r.divergences, inc.r.divergences, "%s/%u", files[f], m);
            cr_assert_str_eq(full.log, inc.log, "%s/%u: log", files[f], m);
            cr_assert_null(strstr(inc.log, "oracle.incremental"), "%s/%u", files[f], m);
            diverged += full.r.divergences != 0;
            free(full.log);
            free(inc.log);
        }
    cr_assert_geq(diverged, 6u, "the mutants must diverge for this to mean anything");
}
