/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_shadow.c - shadow paging (domain hap = "none", issue 4):
 * the model's one-dimensional walk (model/ept.c shadow_translate(),
 * model/walk.c) on a world built by hand, and the Lua interface's errors.
 *
 * The world is test_model.c's (world.h): guest 4-level tables at gfns
 * 0x10-0x13, data at gfn 0x20, a P2M in EPT format (frames 1-4, set with
 * ept_set()) mapping gfn g to mfn g + GOFF.  Under shadow the P2M is
 * consulted but never charged.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "world.h"
#include "../../sim/engine/lapi.h"

static const struct mmu_ept shadow = { .root = { EPT_PML4_MFN }, .shadow = true };
static const struct mmu_ept nested = { .root = { EPT_PML4_MFN } };

TestSuite(shadow, .init = world_setup, .fini = world_teardown);

static struct mmu_result go(const struct mmu_ept *e, enum access_kind k)
{
    struct mmu_result r;
    memset(&r, 0xA5, sizeof(r));
    mmu_translate(hm, &cpu, e, _gva(TVA), k, &r);
    return r;
}

Test(shadow, full_walk_counts_four_references)
{
    struct mmu_result r = go(&shadow, ACC_READ);
    cr_assert_eq(r.outcome, MMU_OK);
    cr_assert_eq(r.refs, 4, "a 1D walk reads one entry per level, got %u", r.refs);
    cr_assert_eq(r.guest_refs, 4);
    cr_assert_eq(r.ept_refs, 0);
    cr_assert_eq(hpa_x(r.hpa), ((DATA_GFN + GOFF) << 12) | 0x123,
                 "the P2M still decides the frame");
    cr_assert_eq(r.ept_memtype, 6);
    struct mmu_result n = go(&nested, ACC_READ);
    cr_assert_eq(n.refs, 24, "the same walk nested is 2D");
    cr_assert_eq(hpa_x(n.hpa), hpa_x(r.hpa));
}

Test(shadow, reference_log_has_only_guest_entries)
{
    struct mmu_reflog log = { 0 };
    struct mmu_ept e = shadow;
    e.reflog = &log;
    struct mmu_result r = go(&e, ACC_READ);
    cr_assert_eq(r.outcome, MMU_OK);
    cr_assert_eq(log.n, 4, "cost model: %u references logged", log.n);
    for (unsigned i = 0; i < log.n; i++) {
        uint64_t mfn = log.hpa[i] >> 12;
        cr_assert(mfn >= GT_GFN(4) + GOFF && mfn <= GT_GFN(1) + GOFF,
                  "reference %u at %#lx is not a guest table", i,
                  (unsigned long)log.hpa[i]);
    }
}

Test(shadow, p2m_refusal_is_an_intercepted_pf)
{
    ept_set(DATA_GFN, 0);
    struct mmu_result r = go(&shadow, ACC_WRITE);
    cr_assert_eq(r.outcome, MMU_SHADOW_PF);
    cr_assert_eq(gpa_x(r.exit_gpa), (DATA_GFN << 12) | 0x123);
    cr_assert_eq(gva_x(r.exit_gla), TVA);
    cr_assert_eq(r.exit_qual, EPTQ_WRITE | EPTQ_GLA_VALID | EPTQ_GLA_XLATE,
                 "no EPT permission bits: %#lx", (unsigned long)r.exit_qual);
    cr_assert_eq(gpte(1) & PTE_D, 0, "nothing written on a fault");
    cr_assert_eq(r.refs, 4);

    /* Read-only P2M (ram_ro / logdirty): reads fine, writes intercepted. */
    ept_set(DATA_GFN, EPT_R | EPT_X | EPT_WB);
    cr_assert_eq(go(&shadow, ACC_READ).outcome, MMU_OK);
    cr_assert_eq(go(&shadow, ACC_WRITE).outcome, MMU_SHADOW_PF);

    /* A table's gfn refused: bit 8 clear, the table's entry gpa. */
    ept_set(GT_GFN(2), 0);
    r = go(&shadow, ACC_READ);
    cr_assert_eq(r.outcome, MMU_SHADOW_PF);
    cr_assert_eq(r.exit_qual, EPTQ_READ | EPTQ_GLA_VALID);
    cr_assert_eq(gpa_x(r.exit_gpa), (GT_GFN(2) << 12) + 8 * TIDX(2));
    cr_assert_eq(r.refs, 2, "PML4E and PDPTE read before the refusal");
}

Test(shadow, guest_faults_are_native)
{
    gpte_set(2, 0); /* PDE not present */
    struct mmu_result s = go(&shadow, ACC_WRITE), n = go(&nested, ACC_WRITE);
    cr_assert_eq(s.outcome, MMU_PF);
    cr_assert_eq(n.outcome, MMU_PF);
    cr_assert_eq(s.pf_ec, n.pf_ec);
    cr_assert_eq(s.pf_ec, PFEC_W);
    cr_assert_eq(s.refs, 3);
    cr_assert_eq(n.refs, 15);

    /* Reserved bits: 51:MAXPHYADDR in the PTE; XD with EFER.NXE=0. */
    gpte_set(2, PTE_P | PTE_W | PTE_U | PTE_A);
    gpte_set(1, PTE_P | PTE_W | PTE_U | PTE_A | (1ULL << 50));
    cpu.maxphyaddr = 46;
    for (int k = ACC_READ; k <= ACC_FETCH; k++) {
        s = go(&shadow, (enum access_kind)k);
        n = go(&nested, (enum access_kind)k);
        cr_assert_eq(s.outcome, MMU_PF);
        cr_assert_eq(s.pf_ec, n.pf_ec, "kind %d", k);
        cr_assert(s.pf_ec & PFEC_RSVD);
        cr_assert_eq(s.refs * 5, n.refs);
    }
    gpte_set(1, PTE_P | PTE_W | PTE_U | PTE_A | PTE_NX);
    cpu.efer &= ~X86_EFER_NXE;
    s = go(&shadow, ACC_FETCH);
    n = go(&nested, ACC_FETCH);
    cr_assert_eq(s.outcome, MMU_PF);
    cr_assert_eq(s.pf_ec, n.pf_ec);
    cr_assert_eq(s.pf_ec, PFEC_P | PFEC_RSVD);
}

Test(shadow, ad_updates_need_no_p2m_write_and_are_listed)
{
    for (int l = 4; l >= 1; l--)
        gpte_set(l, PTE_P | PTE_W | PTE_U);
    /* The PT page is read-only in the P2M: under EPT the D update is an EPT
     * write violation; under shadow the hypervisor writes it itself. */
    ept_set(GT_GFN(1), EPT_R | EPT_X | EPT_WB);
    struct mmu_result n = go(&nested, ACC_WRITE);
    cr_assert_eq(n.outcome, MMU_EPT_VIOLATION);
    struct mmu_result s = go(&shadow, ACC_WRITE);
    cr_assert_eq(s.outcome, MMU_OK);
    cr_assert_eq(s.refs, 4 + 4, "four entries read, four written back");
    cr_assert_eq(s.nad_gpa, 4, "every changed entry listed for the dirty log");
    cr_assert_eq(s.ad_gpa[3], (GT_GFN(1) << 12) + 8 * TIDX(1));
    cr_assert(gpte(1) & PTE_D);
    cr_assert(gpte(4) & PTE_A);
}

/* walk.c's fast path (taken without mutants when nothing needs setting)
 * and the general walker agree under shadow: any mutant bit that does not
 * touch this walk forces the general walker. */
Test(shadow, fast_path_equals_general_walker)
{
    gpte_set(1, PTE_P | PTE_W | PTE_U | PTE_A | PTE_D);
    for (int k = ACC_READ; k <= ACC_FETCH; k++) {
        struct mmu_reflog lf = { 0 }, lg = { 0 };
        struct mmu_ept e = shadow;
        e.reflog = &lf;
        pagesim_mutants = 0;
        struct mmu_result f = go(&e, (enum access_kind)k);
        e.reflog = &lg;
        pagesim_mutants = MUT_PSC_CR3_KEEP; /* a TLB mutant: not this walk */
        struct mmu_result g = go(&e, (enum access_kind)k);
        pagesim_mutants = 0;
        cr_assert_eq(f.outcome, MMU_OK);
        cr_assert_eq(g.outcome, MMU_OK);
        cr_assert_eq(f.refs, 4);
        cr_assert_eq(g.refs, 4);
        cr_assert_eq(f.ept_refs, g.ept_refs);
        cr_assert_eq(hpa_x(f.hpa), hpa_x(g.hpa));
        cr_assert_eq(f.rights, g.rights);
        cr_assert_eq(f.ept_shift, g.ept_shift);
        cr_assert_eq(lf.n, lg.n);
        cr_assert_eq(memcmp(lf.hpa, lg.hpa, lf.n * sizeof(lf.hpa[0])), 0);
    }
}

Test(shadow, mutant_2d_refs_charges_the_p2m)
{
    pagesim_mutants = MUT_SHADOW_2D_REFS;
    cr_assert_eq(go(&shadow, ACC_READ).refs, 24);
}

/* ---- the Lua interface -------------------------------------------------- */

Test(shadow, lua_errors_name_the_line, .init = NULL, .fini = NULL)
{
    static const struct { const char *text, *needle; } cases[] = {
        { "local x = 1\ndomain{ hap = 'bogus' }\n",
          "sh.lua:2: domain hap must be \"ept\" (Intel EPT), \"npt\" (AMD nested paging) or \"none\"" },
        { "domain{ hap = 'none', ept_ad = true }\n",
          "sh.lua:1: domain 'dom': hap = \"none\" has no EPT" },
        { "domain{ hap = 'none', dirty_tracking = 'pml' }\n",
          "sh.lua:1: domain 'dom': hap = \"none\" has no EPT" },
        { "local d = domain{ hap = 'none', ram = 4 }\nd:ept_set_raw(0, 1, 0)\n",
          "sh.lua:2: ept_set_raw: domain 'dom' has hap = \"none\"" },
        { "local d = domain{ hap = 'none', ram = 4 }\nd:vcpu{ mbec = true }\n",
          "sh.lua:2: mbec: domain 'dom' has hap = \"none\"" },
    };
    char dir[] = "/tmp/pagesim-shadow.XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char path[64];
    snprintf(path, sizeof path, "%s/sh.lua", dir);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        FILE *f = fopen(path, "w");
        cr_assert_not_null(f);
        fputs(cases[i].text, f);
        fclose(f);
        struct run_opts o = { .seed = 1 };
        struct run_result r;
        lapi_run_file(path, &o, &r);
        cr_assert_str_eq(r.status, "error", "case %zu: %s", i, r.message);
        cr_assert(strstr(r.message, cases[i].needle), "case %zu: %s", i, r.message);
    }
    unlink(path);
    rmdir(dir);
}

/* Runs a scenario text through lapi_run_file() (oracle checks included). */
static void run_text(const char *text, struct run_result *r)
{
    char dir[] = "/tmp/pagesim-shadow.XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char path[64];
    snprintf(path, sizeof path, "%s/w.lua", dir);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
    struct run_opts o = { .seed = 1 };
    lapi_run_file(path, &o, r);
    unlink(path);
    rmdir(dir);
}

/* A paging structure in a P2M hole: the walk itself is refused (a shadow
 * #PF with qualification bit 8 clear at the entry's gpa), the hypervisor
 * hands it to the device model; the oracle predicts the same.  (Not a
 * suite scenario: KVM cannot replay a table without a memslot.) */
Test(shadow, walk_refusal_in_a_hole, .init = NULL, .fini = NULL)
{
    static const char text[] =
        "local d = domain{ gfns = 0x200, ram = 0x80, hap = 'none' }\n"
        "local pt = d:pagetable{ root = 0x10 }\n"
        "pt:map(0x600000, 0x31, 'w')\n"
        "local v = d:vcpu{ cr3 = pt }\n"
        "local ptg = pt:entry(0x600000, 2) >> 12\n"
        "expect_eq(d:remove(ptg), 0)\n"
        "local h = v:read(0x600000)\n"
        "expect_eq(h.kind, 'mmio')\n"
        "expect_eq(h.nexits, 1)\n"
        "expect_eq(h.exits[1].kind, 'shadow_pf')\n"
        "expect_eq(h.exits[1].qual, EPTQ.R | EPTQ.GLA_VALID)\n"
        "expect_eq(h.exits[1].gpa, (ptg << 12) + 8 * ((0x600000 >> 12) & 511))\n"
        "expect_eq(h.exits[1].gla, 0x600000)\n";
    struct run_result r;
    run_text(text, &r);
    cr_assert_str_eq(r.status, "pass", "%s", r.message);
}

/* The same access under a mutant that charges the P2M: the oracle's
 * reference count catches it. */
Test(shadow, oracle_catches_2d_refs, .init = NULL, .fini = NULL)
{
    static const char text[] =
        "local d = domain{ gfns = 0x100, ram = 0x40, hap = 'none' }\n"
        "local pt = d:pagetable{ root = 0x10 }\n"
        "pt:map(0x1000, 0x20, 'wad')\n"
        "local v = d:vcpu{ cr3 = pt }\n"
        "v:read(0x1000)\n";
    struct run_result r;
    run_text(text, &r);
    cr_assert_str_eq(r.status, "pass", "%s", r.message);
    pagesim_mutants = MUT_SHADOW_2D_REFS;
    run_text(text, &r);
    pagesim_mutants = 0;
    cr_assert_str_neq(r.status, "pass");
    cr_assert(strstr(r.message, "access.refs"), "%s", r.message);
}
