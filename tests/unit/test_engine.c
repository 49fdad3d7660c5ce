/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_engine.c - the engine and the Lua sandbox (sim/engine/).
 *
 * Scenarios are written to a temporary directory and run through
 * lapi_run_file(), the same entry point the CLI uses, without a database.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../sim/engine/engine.h"
#include "../../sim/engine/lapi.h"
#include "pagesim/mutant.h"

static char dir[64];

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/pagesim-eng.XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
    pagesim_mutants = 0;
}

TestSuite(engine, .init = setup, .fini = teardown);

/* Writes a scenario and runs it with the given seed. */
static int run_lua(const char *name, const char *text, uint64_t seed,
                   struct run_result *r)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
    struct run_opts o = { .seed = seed };
    return lapi_run_file(path, &o, r);
}

Test(engine, passing_scenario)
{
    struct run_result r;
    int rc = run_lua("ok.lua",
                     "local d = domain{ name = 'a', gfns = 0x40, ram = 4 }\n"
                     "expect_eq(d:type(0), 'ram_rw')\n"
                     "expect_eq(d:type(9), 'mmio_dm')\n", 1, &r);
    cr_assert_eq(rc, 0, "%s %s", r.status, r.message);
    cr_assert_str_eq(r.status, "pass");
    cr_assert_gt(r.steps, 4);
    cr_assert_eq(strlen(r.digest), 16);
}

Test(engine, failed_expect_names_file_and_line)
{
    struct run_result r;
    run_lua("f.lua", "expect(true)\n\nexpect_eq(1 + 1, 3, 'arith')\n", 1, &r);
    cr_assert_str_eq(r.status, "fail");
    cr_assert_eq(r.failures, 1);
    cr_assert(strstr(r.message, "f.lua:3: expect_eq failed: got 2 (0x2), expected 3 (0x3): arith"),
              "%s", r.message);
}

Test(engine, syntax_error_is_error_with_line)
{
    struct run_result r;
    run_lua("s.lua", "local x =\n\n  = 3\n", 1, &r);
    cr_assert_str_eq(r.status, "error");
    cr_assert(strstr(r.message, "s.lua:3:"), "%s", r.message);
}

Test(engine, sandbox_has_no_os_io_require_load)
{
    static const char *const forbidden[] = { "os.exit(1)", "io.open('x')",
                                             "require('x')", "load('return 1')",
                                             "dofile('x')", "string.dump(print)" };
    for (size_t i = 0; i < sizeof forbidden / sizeof forbidden[0]; i++) {
        struct run_result r;
        char text[64];
        snprintf(text, sizeof text, "%s\n", forbidden[i]);
        run_lua("sb.lua", text, 1, &r);
        cr_assert_str_eq(r.status, "error", "%s was allowed", forbidden[i]);
        cr_assert(strstr(r.message, "sb.lua:1:"), "%s: %s", forbidden[i], r.message);
    }
}

Test(engine, undefined_global_is_an_error)
{
    struct run_result r;
    run_lua("g.lua", "local d = domian{ name = 'typo' }\n", 1, &r);
    cr_assert_str_eq(r.status, "error");
    cr_assert(strstr(r.message, "g.lua:1: undefined global 'domian'"), "%s", r.message);
}

Test(engine, pairs_order_is_fixed)
{
    /* Keys inserted in a scrambled order come back numbers first (ascending),
     * then strings bytewise, then booleans; next() agrees with pairs(). */
    struct run_result r;
    int rc = run_lua("p.lua",
        "local t = { zeta = 1, [10] = 2, alpha = 3, [true] = 4, [2] = 5, beta = 6, [false] = 7 }\n"
        "local got = {}\n"
        "for k in pairs(t) do got[#got + 1] = tostring(k) end\n"
        "expect_eq(table.concat(got, ','), '2,10,alpha,beta,zeta,false,true')\n"
        "local k, n = nil, 0\n"
        "repeat k = next(t, k); n = n + 1 until k == nil\n"
        "expect_eq(n, 8)\n"
        "expect_eq(next(t), 2)\n", 1, &r);
    cr_assert_eq(rc, 0, "%s", r.message);
}

Test(engine, pairs_refuses_table_keys)
{
    struct run_result r;
    run_lua("k.lua", "for k in pairs({ [{}] = 1 }) do end\n", 1, &r);
    cr_assert_str_eq(r.status, "error");
    cr_assert(strstr(r.message, "no deterministic order"), "%s", r.message);
}

Test(engine, tostring_has_no_addresses)
{
    struct run_result r;
    int rc = run_lua("t.lua", "expect_eq(tostring({}), 'table')\n"
                              "expect_eq(tostring(print), 'function')\n", 1, &r);
    cr_assert_eq(rc, 0, "%s", r.message);
}

Test(engine, random_follows_the_seed)
{
    static const char text[] =
        "local s = 0\nfor i = 1, 100 do s = s * 3 + math.random(1, 1000) end\n"
        "log(s)\n";
    struct run_result a, b, c;
    run_lua("r.lua", text, 5, &a);
    run_lua("r.lua", text, 5, &b);
    run_lua("r.lua", text, 6, &c);
    cr_assert_str_eq(a.digest, b.digest, "same seed, same digest");
    cr_assert_str_neq(a.digest, c.digest, "another seed draws other numbers");
}

Test(engine, same_scenario_same_digest)
{
    static const char text[] =
        "local d = domain{ name = 'a', gfns = 0x100, ram = 0x20 }\n"
        "local pt = d:pagetable{ root = 0x10 }\n"
        "pt:map(0x1000, 0x18, 'w')\n"
        "local v = d:vcpu{ cr3 = pt }\n"
        "d:logdirty_enable()\n"
        "expect(v:write(0x1000, 42).ok)\n"
        "expect_eq(#d:peek_dirty(), 5, 'data page + 4 tables whose A bits were set')\n";
    struct run_result a, b;
    cr_assert_eq(run_lua("d.lua", text, 1, &a), 0, "%s", a.message);
    cr_assert_eq(run_lua("d.lua", text, 1, &b), 0);
    cr_assert_str_eq(a.digest, b.digest);
    cr_assert_eq(a.steps, b.steps);
}

Test(engine, mutant_makes_a_divergence)
{
    /* With the log-dirty fault forgetting its mark, the oracle (which
     * expects the mark) must report a divergence, not only the expect. */
    static const char text[] =
        "local d = domain{ name = 'a', gfns = 0x100, ram = 0x20 }\n"
        "local pt = d:pagetable{ root = 0x10 }\n"
        "pt:map(0x1000, 0x18, 'w')\n"
        "local v = d:vcpu{ cr3 = pt }\n"
        "v:read(0x1000)\n"
        "d:logdirty_enable()\n"
        "v:write(0x1000, 42)\n";
    struct run_result r;
    cr_assert_eq(run_lua("m.lua", text, 1, &r), 0, "%s", r.message);
    pagesim_mutants = MUT_LD_FAULT_NO_MARK;
    run_lua("m.lua", text, 1, &r);
    cr_assert_str_eq(r.status, "diverge");
    cr_assert_gt(r.divergences, 0);
    cr_assert(strstr(r.message, "m.lua:7:"), "%s", r.message);
}

Test(engine, bad_arguments_name_the_line)
{
    static const struct { const char *text, *needle; } cases[] = {
        { "local d = domain{ gfns = 16 }\nd:populate(16)\n", "x.lua:2: gfn 0x10 out of range" },
        { "local d = domain{ gfns = 16, ram = 1 }\nd:set_type(0, 'bogus')\n", "x.lua:2: unknown p2m type 'bogus'" },
        { "local d = domain{ ram = 1 }\nlocal v = d:vcpu()\nv:read(0xffe, 4)\n", "x.lua:3: a 4-byte access" },
        { "local d = domain{ ram = 1 }\nlocal v = d:vcpu()\nlocal pt = d:pagetable{ root = 0 }\npt:map(0x800000000000, 0)\n", "x.lua:4: gva 0x800000000000 is not canonical" },
        { "local d = domain{ ram = 1 }\nd:vcpu{ cpl = 5 }\n", "x.lua:2: cpl must be 0..3" },
        { "local d = domain{}\nd:destroy()\nd:populate(1)\n", "x.lua:3: domain was destroyed" },
        { "domain{}\nhost{ frames = 64 }\n", "x.lua:2: host{} must come before" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct run_result r;
        run_lua("x.lua", cases[i].text, 1, &r);
        cr_assert_str_eq(r.status, "error", "case %zu", i);
        cr_assert(strstr(r.message, cases[i].needle), "case %zu: %s", i, r.message);
    }
}

Test(engine, memory_cap_stops_a_hog)
{
    struct run_result r;
    char path[128];
    snprintf(path, sizeof path, "%s/hog.lua", dir);
    FILE *f = fopen(path, "w");
    fputs("local t = {}\nfor i = 1, 1e9 do t[i] = string.rep('x', 1000) .. i end\n", f);
    fclose(f);
    struct run_opts o = { .seed = 1, .mem_limit = 8u << 20 };
    lapi_run_file(path, &o, &r);
    cr_assert_str_eq(r.status, "error");
    cr_assert(strstr(r.message, "heap limit"), "%s", r.message);
}

Test(engine, host_frames_bound_the_heap)
{
    /* 64 frames: the EPT tables and 40 pages fit, 80 more do not. */
    struct run_result r;
    int rc = run_lua("h.lua",
        "host{ frames = 64 }\n"
        "local d = domain{ gfns = 0x100, ram = 40 }\n"
        "local rc = 0\n"
        "for g = 40, 120 do rc = d:populate(g); if rc ~= 0 then break end end\n"
        "expect_eq(rc, -12, 'the heap runs out: -ENOMEM')\n", 1, &r);
    cr_assert_eq(rc, 0, "%s", r.message);
}

/* ---- expected divergences (known findings) ------------------------------------------- */

static const char *const paged_remove =
    "local d = domain{ name = 'a', gfns = 0x40, ram = 4 }\n"
    "d:paging_enable()\n"
    "d:nominate(1)\n"
    "d:evict(1)\n"
    "d:remove(1)\n";

Test(engine, unexpected_finding_diverges)
{
    struct run_result r;
    int rc = run_lua("f1.lua", paged_remove, 1, &r);
    cr_assert_neq(rc, 0);
    cr_assert_str_eq(r.status, "diverge");
    cr_assert(strstr(r.message, "remove.rc"), "%s", r.message);
}

Test(engine, declared_finding_keeps_the_run_green)
{
    struct run_result r;
    char text[1024];
    snprintf(text, sizeof text,
             "expect_divergence('remove.rc', 'eilseq')\n"
             "expect_divergence('d0.p2m*', 'stays paged')\n"
             "expect_divergence('d0.paged_pages', 'count')\n"
             "expect_divergence('d0.ring.*', 'no drop')\n%s", paged_remove);
    int rc = run_lua("f2.lua", text, 1, &r);
    cr_assert_eq(rc, 0, "%s %s", r.status, r.message);
    cr_assert_eq(r.divergences, 0);
}

Test(engine, declared_finding_that_does_not_occur_fails)
{
    struct run_result r;
    int rc = run_lua("f3.lua",
                     "expect_divergence('d0.p2m*', 'never')\n"
                     "local d = domain{ name = 'a', gfns = 0x40, ram = 4 }\n", 1, &r);
    cr_assert_neq(rc, 0);
    cr_assert_str_eq(r.status, "fail");
    cr_assert(strstr(r.message, "f3.lua:1: expected divergence 'never'"), "%s",
              r.message);
}

Test(engine, paging_access_outcomes)
{
    struct run_result r;
    int rc = run_lua("pg.lua",
                     "local d = domain{ name = 'a', gfns = 0x100, ram = 0x40 }\n"
                     "local pt = d:pagetable{ root = 0x10 }\n"
                     "pt:map(0x400000, 0x30, 'wu')\n"
                     "local v = d:vcpu{ cr3 = pt }\n"
                     "expect_eq(v:read(0x400000).kind, 'ok')\n"
                     "d:paging_enable() d:nominate(0x30) d:evict(0x30)\n"
                     "expect_eq(v:read(0x400000).kind, 'paused')\n"
                     "expect_eq(v:state(), 'paused')\n"
                     "local q = d:get_request()\n"
                     "expect_eq(d:prep(0x30, ''), 0)\n"
                     "expect_eq(d:resume(q), 0)\n"
                     "expect_eq(v:read(0x400000).kind, 'ok')\n", 1, &r);
    cr_assert_eq(rc, 0, "%s %s", r.status, r.message);
}

/* Every run records the CPU profiles of its vCPUs (runs.cpu_profile). */
Test(engine, run_records_cpu_profiles)
{
    char path[128], db[128], cmd[512];
    snprintf(path, sizeof path, "%s/prof.lua", dir);
    snprintf(db, sizeof db, "%s/prof.db", dir);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs("local d = domain{ name = 'a', gfns = 0x40, ram = 4 }\n"
          "local a = d:vcpu{}\n"
          "local b = d:vcpu{ tlb = 'amd' }\n"
          "local c = d:vcpu{ tlb = 'intel' }\n", f);
    fclose(f);
    char err[256];
    struct recorder *rec = rec_open(db, err, sizeof err);
    cr_assert_not_null(rec, "%s", err);
    struct run_opts o = { .seed = 1, .rec = rec };
    struct run_result r;
    cr_assert_eq(lapi_run_file(path, &o, &r), 0, "%s %s", r.status, r.message);
    rec_close(rec);
    snprintf(cmd, sizeof cmd,
             "test \"$(sqlite3 %s 'select cpu_profile from runs')\" = "
             "intel-skylake,amd-zen2", db);
    cr_assert_eq(system(cmd), 0, "runs.cpu_profile is not intel-skylake,amd-zen2");
}

/* Raw EPT and NPT entries and MBEC: each misuse is an error naming the line. */
Test(engine, ept_raw_and_mbec_errors)
{
    static const struct { const char *text, *needle; } cases[] = {
        { "local d = domain{}\nd:ept_set_raw(0, 0, 0)\n",
          "x.lua:2: ept_set_raw: level must be 1 (PTE) .. 4 (PML4E), not 0" },
        { "local d = domain{}\nd:ept_get_raw(1 << 48, 1)\n",
          "x.lua:2: ept_get_raw: gpa 0x1000000000000 is beyond" },
        { "local d = domain{ ram = 1 }\nd:ept_set_raw(0, 4, 0)\n",
          "x.lua:2: ept_set_raw: the level-4 entry for gpa 0 points at a P2M table" },
        { "local d = domain{}\nd:ept_set_raw(0x200000, 2, 0x200087)\nd:ept_set_raw(0x201000, 1, 0)\n",
          "x.lua:3: ept_set_raw: a large leaf above level 1 maps gpa 0x201000" },
        { "local d = domain{ ram = 2 }\nd:ept_set_raw(0x1000, 1, d:ept_get_raw(0x1000, 1))\nd:populate(0, 2)\n",
          "x.lua:3: populate: gfn 0x1 of domain 'dom' is under a raw EPT entry" },
        { "local d = domain{ ram = 2 }\nd:ept_set_raw(0x1000, 1, d:ept_get_raw(0x1000, 1))\nd:logdirty_enable()\n",
          "x.lua:3: logdirty_enable: domain 'dom' has raw EPT entries" },
        { "local d = domain{ ram = 2 }\nd:logdirty_enable()\nd:ept_set_raw(0x1000, 1, 0)\n",
          "x.lua:3: ept_set_raw: log-dirty is on" },
        { "local d = domain{ ram = 2 }\nd:ept_set_raw(0x1000, 1, (2 << 52) | 5)\n",
          "x.lua:2: ept_set_raw: a raw leaf of type ram_logdirty" },
        { "local d = domain{}\nd:vcpu{ tlb = 'amd', mbec = true }\n",
          "x.lua:2: the amd-zen2 CPU profile has no mode-based execute control" },
        { "domain{ ept_ad = 1 }\n", "x.lua:1: domain ept_ad must be a boolean" },
        { "domain{ dirty_tracking = 'shadow' }\n",
          "x.lua:1: domain dirty_tracking must be \"wp\" (write protection) or \"pml\"" },
        { "local d = domain{ dirty_tracking = 'pml' }\nd:vcpu{ tlb = 'intel' }\n",
          "x.lua:2: TLBs with PML dirty tracking are not modelled" },
        /* The raw setters and getters of both formats share one body
         * (lapi.c raw_set()/raw_get() with a per-format descriptor): each
         * format keeps its own messages, leaf test and refused types. */
        { "local d = domain{ name = 'x', hap = 'npt' }\nd:ept_get_raw(0, 1)\n",
          "x.lua:2: ept_get_raw: domain 'x' uses hap = \"npt\": it has no EPT" },
        { "local d = domain{ name = 'x' }\nd:npt_set_raw(0, 1, 0)\n",
          "x.lua:2: npt_set_raw: domain 'x' uses hap = \"ept\" (see ept_set_raw)" },
        { "local d = domain{ name = 'x' }\nd:npt_get_raw(0, 1)\n",
          "x.lua:2: npt_get_raw: domain 'x' uses hap = \"ept\" (see ept_get_raw)" },
        { "local d = domain{ name = 'x', hap = 'none' }\nd:ept_set_raw(0, 1, 0)\n",
          "x.lua:2: ept_set_raw: domain 'x' has hap = \"none\" (shadow paging): no EPT to write" },
        { "local d = domain{ hap = 'npt' }\nd:npt_get_raw(0, 5)\n",
          "x.lua:2: npt_get_raw: level must be 1 (PTE) .. 4 (PML4E), not 5" },
        { "local d = domain{ hap = 'npt' }\nd:npt_set_raw(1 << 48, 1, 0)\n",
          "x.lua:2: npt_set_raw: gpa 0x1000000000000 is beyond the 4-level nested tables (48 bits)" },
        { "local d = domain{ name = 'x', hap = 'npt', ram = 2 }\nd:logdirty_enable()\nd:npt_set_raw(0x1000, 1, 0)\n",
          "x.lua:3: npt_set_raw: log-dirty is on in domain 'x'; raw entries and log-dirty do not mix" },
        { "local d = domain{ hap = 'npt', ram = 2 }\nd:npt_set_raw(0x1000, 1, 0, 'no')\n",
          "x.lua:2: npt_set_raw: the 4th argument (flush) must be a boolean, not a string" },
        /* populate-on-demand: refused for NPT only (the EPT setter takes it) */
        { "local d = domain{ hap = 'npt', ram = 2 }\nd:npt_set_raw(0x1000, 1, (6 << 52) | 5)\n",
          "x.lua:2: npt_set_raw: a raw leaf of type populate_on_demand (bits 58:52) would be "
          "rewritten by the hypervisor's fault handler; not supported" },
        /* NPT: PS alone makes a level-2 leaf; EPT also wants R, W or X */
        { "local d = domain{ hap = 'npt', ram = 2 }\nd:npt_set_raw(0x200000, 2, (2 << 52) | 0x80)\n",
          "x.lua:2: npt_set_raw: a raw leaf of type ram_logdirty (bits 58:52)" },
        { "local d = domain{ ram = 2 }\nd:ept_set_raw(0x200000, 2, (2 << 52) | 0x87)\n",
          "x.lua:2: ept_set_raw: a raw leaf of type ram_logdirty (bits 57:52)" },
        { "local d = domain{ hap = 'npt', ram = 1 }\nd:npt_set_raw(0, 4, 0)\n",
          "x.lua:2: npt_set_raw: the level-4 entry for gpa 0 points at a P2M table; a raw "
          "value must keep it (P set, same address, no PS)" },
        { "local d = domain{ ram = 1 }\nd:ept_set_raw(0, 4, 0)\n",
          "x.lua:2: ept_set_raw: the level-4 entry for gpa 0 points at a P2M table; a raw "
          "value must keep it (R, W or X set, same address, no bit 7)" },
        { "local d = domain{ hap = 'npt' }\nd:npt_set_raw(0x200000, 2, 0x200087)\nd:npt_set_raw(0x201000, 1, 0)\n",
          "x.lua:3: npt_set_raw: a large leaf above level 1 maps gpa 0x201000; write that entry instead" },
        /* v:invept(type, domain): the domain must have an EPT */
        { "local d = domain{ ram = 2 }\nlocal n = domain{ name = 'n', hap = 'npt' }\n"
          "local v = d:vcpu{ tlb = 'intel' }\nv:invept(1, n)\n",
          "x.lua:4: INVEPT: domain 'n' has no EPT (hap = \"npt\")" },
        { "local d = domain{ ram = 2 }\nlocal v = d:vcpu{ tlb = 'intel' }\nv:invept(1, 5)\n",
          "x.lua:3: bad argument #2 to 'invept'" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct run_result r;
        run_lua("x.lua", cases[i].text, 1, &r);
        cr_assert_str_eq(r.status, "error", "case %zu: %s", i, r.message);
        cr_assert(strstr(r.message, cases[i].needle), "case %zu: %s", i, r.message);
    }
    /* an EPT level-2 entry with bit 7 but no R, W or X is no leaf: its
     * type bits are not checked, the entry is taken */
    struct run_result r;
    run_lua("x.lua", "local d = domain{ ram = 2 }\n"
                     "expect_eq(d:ept_set_raw(0x200000, 2, (2 << 52) | 0x80), 0)\n", 1, &r);
    cr_assert_str_eq(r.status, "pass", "%s", r.message);
    /* A domain's first raw entry written without the flush: the entries
     * the model cached before (while the oracle predicted from its flat
     * P2M) are taken into the allowed set from the tables as they were
     * (eng_psc_seed()), so the stale use is accepted, and after the
     * invalidation the fresh walk faults (EPT and NPT alike). */
    for (int npt = 0; npt < 2; npt++) {
        char text[1024];
        snprintf(text, sizeof text,
                 "host{ frames = 0x4000 }\n"
                 "local d = domain{ gfns = 0x1000, ram = 0x400, hap = '%s' }\n"
                 "local pt = d:pagetable{ root = 0x10 }\n"
                 "for i = 0, 3 do pt:map(0x400000 + i * 4096, 0x200 + i, 'wad') end\n"
                 "local v = d:vcpu{ cr3 = pt, tlb = '%s', vpid = 1 }\n"
                 "expect(v:write(0x400000, 1).ok)\n"
                 "expect_eq(d:%s_set_raw(0x200000, 2, d:%s_get_raw(0x200000, 2) & ~2, false), 0)\n"
                 "expect(v:write(0x401000, 2).ok, 'stale: allowed')\n"
                 "%s\n"
                 "expect(not v:write(0x402000, 3).ok, 'fresh: read-only')\n",
                 npt ? "npt" : "ept", npt ? "amd" : "intel", npt ? "npt" : "ept",
                 npt ? "npt" : "ept", npt ? "v:invlpga(0)" : "v:invept(1)");
        run_lua("x.lua", text, 1, &r);
        cr_assert_str_eq(r.status, "pass", "%s: %s", npt ? "npt" : "ept", r.message);
    }
}

/* Per-step samples (sim/engine/samples.c): one row per change of a
 * domain's dirty count, paging-state populations or ring, on the step
 * that made it, none for steps that changed nothing. */
Test(engine, samples_follow_paging_and_logdirty)
{
    char path[128], db[128];
    snprintf(path, sizeof path, "%s/samples.lua", dir);
    snprintf(db, sizeof db, "%s/samples.db", dir);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs("local d = domain{ name = 'g', gfns = 0x40, ram = 0x40 }\n"
          "expect_eq(d:paging_enable(), 0)\n"
          "expect_eq(d:nominate(0x20), 0)\n"
          "expect_eq(d:nominate(0x21), 0)\n"
          "expect_eq(d:evict(0x20), 0)\n"
          "expect_eq(d:logdirty_enable(), 0)\n"
          "d:write_phys(0x1000, 1)\n"
          "expect_eq(d:paging_disable(), 0)\n", f);
    fclose(f);
    char err[256];
    struct recorder *rec = rec_open(db, err, sizeof err);
    cr_assert_not_null(rec, "%s", err);
    struct run_opts o = { .seed = 1, .rec = rec };
    struct run_result r;
    cr_assert_eq(lapi_run_file(path, &o, &r), 0, "%s", r.message);
    rec_close(rec);

    sqlite3 *s;
    sqlite3_stmt *st;
    cr_assert_eq(sqlite3_open(db, &s), SQLITE_OK);
    cr_assert_eq(sqlite3_prepare_v2(s, "SELECT st.op, dirty, paging_out, paged,"
                                       " paging_in, ring_size FROM samples"
                                       " JOIN steps st USING (run_id, step)"
                                       " ORDER BY step", -1, &st, NULL), SQLITE_OK);
    static const char *const want[] = {
        "paging_enable 0 0 0 0 8", "nominate 0 1 0 0 8", "nominate 0 2 0 0 8",
        "evict 0 1 1 0 8",          "copy_to_guest 1 1 1 0 8",
        "paging_disable 1 1 1 0 0", /* paged gfns stay paged without a ring */
    };
    size_t n = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        char got[96];
        snprintf(got, sizeof got, "%s %lld %lld %lld %lld %lld",
                 (const char *)sqlite3_column_text(st, 0),
                 (long long)sqlite3_column_int64(st, 1), (long long)sqlite3_column_int64(st, 2),
                 (long long)sqlite3_column_int64(st, 3), (long long)sqlite3_column_int64(st, 4),
                 (long long)sqlite3_column_int64(st, 5));
        cr_assert_lt(n, sizeof want / sizeof want[0], "extra sample %s", got);
        cr_assert_str_eq(got, want[n], "sample %zu", n);
        n++;
    }
    cr_assert_eq(n, sizeof want / sizeof want[0]);
    sqlite3_finalize(st);
    sqlite3_close(s);
}
