/* SPDX-License-Identifier: MIT */
/*
 * sim/engine/fuzz-native.c - `pagesim fuzz --native`: the hypervisor-
 * operation mix without Lua in the loop.
 *
 * The Lua fuzzer (fuzz.c) renders each program as text and runs it in a
 * fresh sandbox with a fresh host and fresh domains: most of its CPU goes
 * to building that world and to Lua, not to the operations.  Here a
 * program is an array of op structs (struct nfz_op) drawn from the seed,
 * executed by calling the very eng_* functions the Lua bindings in lapi.c
 * call, in the order those bindings call them, so the sim, the oracle's
 * mirror and the per-step oracle check are exactly those a scenario gets.
 * The engine (host, heap, oracle, check caches) is built once; each
 * program gets two new domains (created, populated, paging enabled) and
 * hands them back at its end.  No string formatting happens on behalf of
 * the fuzzer; what the engine itself formats per step is its own.
 *
 * Every op has a Lua rendering: the same API calls a scenario would write
 * (fuzz_native_lua()).  A failing program is re-run in a fresh engine (as
 * `pagesim run` would run its reproducer), shrunk natively by delta
 * debugging over the op array (each candidate in a fresh engine), and
 * written as a self-contained Lua file; that file is then run through the
 * sandbox once, and a finding whose Lua form does not fail the same way
 * is reported as such instead of being counted.
 *
 * Programs run in this process (no fork per program, which would cost as
 * much as the ops): a crash in the C code ends the run.
 *
 * Same seed and --ops: same programs, same findings, same files.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "engine.h"
#include "fmt.h"
#include "fuzz-native.h"
#include "lapi.h"
#include "pager.h"
#include "pagesim/mutant.h"

#define NFZ_PROG_OPS_DEFAULT 2000
#define NFZ_HOST_FRAMES 1024
#define NFZ_GFNS 0x100   /* gfns per domain */
#define NFZ_RAM 0x40     /* gfns 0..0x3f populated at creation */
#define NFZ_SRC "fuzz-native"

const char *const nfz_op_names[NFZ_NKINDS] = {
    "populate", "remove", "set_type_mmio_dm", "set_mem_type", "set_access",
    "logdirty_toggle", "peek", "clean", "is_dirty", "write_phys", "read_phys",
    "nominate", "evict", "page_in", "pager_evict", "pager_serve", "map_foreign",
    "unmap_foreign", "balloon_in", "balloon_out", "starve", "fail_p2m_update",
    "page_roundtrip", "set_mmio", "clear_mmio", "pod_target", "populate_pod",
};

/* Draw weights: the P2M, log-dirty and paging operations of the Lua mix,
 * without page-table edits, guest accesses, TLB operations or domain
 * variants (those need vCPUs and page tables in every program). */
static const unsigned nfz_weight[NFZ_NKINDS] = {
    [NFZ_POPULATE] = 6, [NFZ_REMOVE] = 6, [NFZ_MMIO_DM] = 2, [NFZ_MEMTYPE] = 3,
    [NFZ_ACCESS] = 3, [NFZ_LD_TOGGLE] = 3, [NFZ_PEEK] = 2, [NFZ_CLEAN] = 3,
    [NFZ_IS_DIRTY] = 2, [NFZ_WPHYS] = 8, [NFZ_RPHYS] = 3, [NFZ_NOMINATE] = 5,
    [NFZ_EVICT] = 4, [NFZ_PAGE_IN] = 4, [NFZ_PAGER_EVICT] = 3, [NFZ_PAGER_SERVE] = 3,
    [NFZ_FMAP] = 3, [NFZ_FUNMAP] = 3, [NFZ_BALLOON_IN] = 2, [NFZ_BALLOON_OUT] = 2,
    [NFZ_STARVE] = 2, [NFZ_P2MFAIL] = 2, [NFZ_ROUNDTRIP] = 3, [NFZ_SET_MMIO] = 1,
    [NFZ_CLEAR_MMIO] = 1, [NFZ_POD_TARGET] = 1, [NFZ_POD_MARK] = 1,
};

/* ---- generation ------------------------------------------------------------------ */

static uint64_t nfz_mix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static unsigned nfz_pick(uint64_t *x, unsigned n) { return (unsigned)(nfz_mix(x) % n); }

/* The most nfz_weight[] may sum to: the size of gen_prog()'s kind_of[]. */
#define NFZ_WEIGHT_MAX 256

/* kind_of[w]: the kind whose share of [0, total) holds draw w (the kinds'
 * shares in order, each nfz_weight[] wide), looked up instead of walked. */
static void gen_op(struct nfz_op *op, uint64_t *x, unsigned total, uint64_t i,
                   const uint8_t *kind_of)
{
    unsigned k = kind_of[nfz_pick(x, total)];
    memset(op, 0, sizeof(*op));
    op->kind = (uint8_t)k;
    op->d = (uint8_t)(1 + nfz_pick(x, 2));
    /* gfns: the populated RAM 0..0x3f and the holes 0x40..0x7f, one time
     * in eight the domain's last ones (the flat bitmap's end) */
    unsigned g = nfz_pick(x, 8) ? nfz_pick(x, 0x80) : 0xf8 + nfz_pick(x, 8);
    /* mem paging and foreign maps: half the time a small set of RAM gfns,
     * so that nominate, evict, page-in and maps meet on the same gfns */
    unsigned pg = nfz_pick(x, 2) ? 8 + nfz_pick(x, 8) : nfz_pick(x, 0x80);
    op->a = (uint16_t)g;
    switch (k) {
    case NFZ_MEMTYPE: op->b = (uint16_t)nfz_pick(x, 2); break;
    case NFZ_ACCESS: op->b = (uint16_t)nfz_pick(x, 10); break; /* p2m_access_t n..n2rwx */
    case NFZ_WPHYS:
        op->b = (uint16_t)nfz_pick(x, 512);
        op->v = (uint32_t)(i + 1);
        break;
    case NFZ_RPHYS: op->b = (uint16_t)nfz_pick(x, 512); break;
    case NFZ_NOMINATE: case NFZ_EVICT: case NFZ_FMAP: op->a = (uint16_t)pg; break;
    case NFZ_PAGE_IN: op->b = (uint16_t)nfz_pick(x, 2); break;
    case NFZ_PAGER_EVICT: op->a = (uint16_t)(1 + nfz_pick(x, 4)); break;
    case NFZ_BALLOON_IN: case NFZ_BALLOON_OUT: {
        unsigned n = 2 + nfz_pick(x, 8);
        if (g + n > NFZ_GFNS)
            n = NFZ_GFNS - g;
        op->b = (uint16_t)n;
        break;
    }
    case NFZ_STARVE: op->c = (uint16_t)nfz_pick(x, 3); break;
    case NFZ_P2MFAIL:
        op->b = (uint16_t)(1 + nfz_pick(x, 2));
        op->c = (uint16_t)nfz_pick(x, 5);
        break;
    case NFZ_ROUNDTRIP:
        op->a = (uint16_t)pg;
        op->b = (uint16_t)nfz_pick(x, 3);
        break;
    case NFZ_SET_MMIO: op->v = 0x400 + nfz_pick(x, 0x100); break; /* a device frame */
    case NFZ_POD_TARGET: op->a = (uint16_t)nfz_pick(x, 9); break;
    default: break;
    }
}

static void gen_prog(struct nfz_op *ops, unsigned nops, uint64_t seed, uint64_t n)
{
    uint64_t x = seed * 0x100000001b3ULL ^ (n + 1) * 0x9e3779b97f4a7c15ULL ^ 0x6e6174697665ULL;
    unsigned total = 0;
    uint8_t kind_of[NFZ_WEIGHT_MAX];
    for (unsigned k = 0; k < NFZ_NKINDS; k++)
        for (unsigned w = 0; w < nfz_weight[k]; w++) {
            if (total == NFZ_WEIGHT_MAX) { /* a weight table edit too far */
                fprintf(stderr, "fuzz-native: nfz_weight[] sums past %u\n", NFZ_WEIGHT_MAX);
                abort();
            }
            kind_of[total++] = (uint8_t)k;
        }
    for (unsigned i = 0; i < nops; i++)
        gen_op(&ops[i], &x, total, i, kind_of);
}

struct nfz_op *fuzz_native_program(uint64_t seed, uint64_t n, unsigned nops, size_t *n_out)
{
    if (!nops)
        nops = NFZ_PROG_OPS_DEFAULT;
    struct nfz_op *ops = calloc(nops, sizeof(*ops));
    if (!ops)
        abort();
    gen_prog(ops, nops, seed, n);
    *n_out = nops;
    return ops;
}

/* ---- the Lua rendering --------------------------------------------------------------- */

/* The reproducer's prologue: what setup() does, as API calls; and the
 * helpers whose bodies run_op() mirrors call for call. */
static const char nfz_prologue[] =
    "host{ frames = 1024 }\n"
    "local doms, pagers, held = {}, {}, { {}, {} }\n"
    "-- two domains of 0x100 gfns, 0x40 of RAM; domain 2 logs dirty pages in\n"
    "-- the flat bitmap; mem paging on, a pager each\n"
    "for i = 1, 2 do\n"
    "  doms[i] = domain{ name = 'n' .. i, gfns = 0x100, ram = 0x40,\n"
    "                    logdirty_mode = i == 2 and 'bitmap' or nil }\n"
    "  doms[i]:paging_enable()\n"
    "  pagers[i] = doms[i]:pager{ mru_size = 4 }\n"
    "end\n"
    "-- removal of a paged / paging_in gfn is a known upstream finding\n"
    "-- (scenarios/findings/): not drawn\n"
    "local function rm(i, g)\n"
    "  local t = doms[i]:type(g)\n"
    "  if t == 'ram_paged' or t == 'ram_paging_in' then return end\n"
    "  doms[i]:remove(g)\n"
    "end\n"
    "local function mmio(i, g) doms[i]:set_type(g, 'mmio_dm') end\n"
    "local function setmmio(i, g, m) doms[i]:set_mmio(g, m) end\n"
    "local function balloon_out(i, g, n)\n"
    "  for x = g, g + n - 1 do rm(i, x) end\n"
    "end\n"
    "local function ldtoggle(i)\n"
    "  if doms[i]:logdirty().enabled then doms[i]:logdirty_disable()\n"
    "  else doms[i]:logdirty_enable() end\n"
    "end\n"
    FUZZ_LUA_PAGER_HELPERS
    "-- every heap allocation for domain i fails while f runs\n"
    "local function starve(i, f)\n"
    "  fail_alloc{ domain = doms[i], on = true }\n"
    "  f()\n"
    "  fail_alloc{ domain = doms[i], on = false }\n"
    "end\n"
    "-- the nth P2M update of one operation fails (-ENOMEM)\n"
    "local function p2mfail(i, n, f)\n"
    "  doms[i]:fail_p2m_update(n)\n"
    "  f()\n"
    "  doms[i]:fail_p2m_update(0)\n"
    "end\n"
    "-- one gfn out and in again: 0 prep without buffer, 1 with, 2 the pager\n"
    "local function roundtrip(i, g, how)\n"
    "  if doms[i]:nominate(g) ~= 0 then return end\n"
    "  doms[i]:evict(g)\n"
    "  doms[i]:read_phys(g * 4096)\n"
    "  if how == 2 then pagers[i]:serve() else page_in(i, how == 1 and 'x' or nil) end\n"
    "end\n";

static const char *const starve_what[] = {
    "doms[%u]:populate(%#x)", "doms[%u]:write_phys(%#x000, 1)", "page_in(%u, 'x')",
};
static const char *const p2mfail_what[] = {
    "doms[%u]:populate(%#x)", "rm(%u, %#x)", "doms[%u]:nominate(%#x)",
    "doms[%u]:set_access(%#x, 'r')", "doms[%u]:set_mem_type(%#x, 'ram_ro')",
};

/* One op as a line of Lua (buf of at least 160 bytes). */
static void render_op(const struct nfz_op *op, char *buf, size_t len)
{
    unsigned d = op->d, a = op->a, b = op->b;
    char inner[96];
    switch (op->kind) {
    case NFZ_POPULATE: snprintf(buf, len, "doms[%u]:populate(%#x)", d, a); break;
    case NFZ_REMOVE: snprintf(buf, len, "rm(%u, %#x)", d, a); break;
    case NFZ_MMIO_DM: snprintf(buf, len, "mmio(%u, %#x)", d, a); break;
    case NFZ_MEMTYPE:
        snprintf(buf, len, "doms[%u]:set_mem_type(%#x, '%s')", d, a, b ? "ram_ro" : "ram_rw");
        break;
    case NFZ_ACCESS:
        snprintf(buf, len, "doms[%u]:set_access(%#x, '%s')", d, a,
                 p2m_access_name((p2m_access_t)b));
        break;
    case NFZ_LD_TOGGLE: snprintf(buf, len, "ldtoggle(%u)", d); break;
    case NFZ_PEEK: snprintf(buf, len, "doms[%u]:peek_dirty()", d); break;
    case NFZ_CLEAN: snprintf(buf, len, "doms[%u]:clean_dirty()", d); break;
    case NFZ_IS_DIRTY: snprintf(buf, len, "doms[%u]:is_dirty(%#x)", d, a); break;
    case NFZ_WPHYS:
        snprintf(buf, len, "doms[%u]:write_phys(%#x, %u)", d, a * 4096 + b * 8, op->v);
        break;
    case NFZ_RPHYS: snprintf(buf, len, "doms[%u]:read_phys(%#x)", d, a * 4096 + b * 8); break;
    case NFZ_NOMINATE: snprintf(buf, len, "doms[%u]:nominate(%#x)", d, a); break;
    case NFZ_EVICT: snprintf(buf, len, "doms[%u]:evict(%#x)", d, a); break;
    case NFZ_PAGE_IN: snprintf(buf, len, "page_in(%u%s)", d, b ? ", 'x'" : ""); break;
    case NFZ_PAGER_EVICT: snprintf(buf, len, "pagers[%u]:evict(%u)", d, a); break;
    case NFZ_PAGER_SERVE: snprintf(buf, len, "pagers[%u]:serve()", d); break;
    case NFZ_FMAP: snprintf(buf, len, "fmap(%u, %#x)", d, a); break;
    case NFZ_FUNMAP: snprintf(buf, len, "funmap(%u)", d); break;
    case NFZ_BALLOON_IN: snprintf(buf, len, "doms[%u]:populate(%#x, %u)", d, a, b); break;
    case NFZ_BALLOON_OUT: snprintf(buf, len, "balloon_out(%u, %#x, %u)", d, a, b); break;
    case NFZ_STARVE:
        snprintf(inner, sizeof inner, starve_what[op->c % 3], d, a);
        snprintf(buf, len, "starve(%u, function() %s end)", d, inner);
        break;
    case NFZ_P2MFAIL:
        snprintf(inner, sizeof inner, p2mfail_what[op->c % 5], d, a);
        snprintf(buf, len, "p2mfail(%u, %u, function() %s end)", d, b, inner);
        break;
    case NFZ_ROUNDTRIP: snprintf(buf, len, "roundtrip(%u, %#x, %u)", d, a, b); break;
    case NFZ_SET_MMIO: snprintf(buf, len, "setmmio(%u, %#x, %#x)", d, a, op->v); break;
    case NFZ_CLEAR_MMIO: snprintf(buf, len, "doms[%u]:clear_mmio(%#x)", d, a); break;
    case NFZ_POD_TARGET: snprintf(buf, len, "doms[%u]:pod_target(%u)", d, a); break;
    case NFZ_POD_MARK: snprintf(buf, len, "doms[%u]:populate_pod(%#x)", d, a); break;
    default: snprintf(buf, len, "-- unknown op kind %u", op->kind); break;
    }
}

char *fuzz_native_lua(const struct nfz_op *ops, size_t n)
{
    size_t cap = sizeof nfz_prologue + n * 160 + 1, off = 0;
    char *t = malloc(cap);
    if (!t)
        abort();
    off += (size_t)snprintf(t, cap, "%s", nfz_prologue);
    for (size_t i = 0; i < n; i++) {
        render_op(&ops[i], t + off, cap - off - 1);
        off += strlen(t + off);
        t[off++] = '\n';
        t[off] = 0;
    }
    return t;
}

/* ---- native execution ------------------------------------------------------------- */

/* A running world: the engine and the program's two domains with the
 * Lua prologue's tables (pagers, held foreign maps) as C. */
struct nfz_world {
    struct engine e;
    bool live;
    struct domain *dom[3];
    struct pager *pg[3];
    uint64_t *held[3];
    size_t nheld[3], capheld[3];
    uint8_t bitmap[(NFZ_GFNS + 7) / 8 + 8], expect[(NFZ_GFNS + 7) / 8 + 8];
    uint64_t problems; /* divergences + failures when the program began */
};

/* as_lua: the host made as the reproducer's host{} makes it (a "host"
 * step replacing a first host), so that a replay's steps and trace digest
 * are the Lua reproducer's (tests/unit/test_fuzz_native.c compares them). */
static int world_init(struct nfz_world *w, unsigned full_check_every, bool as_lua)
{
    memset(w, 0, sizeof(*w));
    /* seed 1: the seed `pagesim run` gives a reproducer by default */
    if (eng_init(&w->e, as_lua ? 16 : NFZ_HOST_FRAMES, 1, NULL, -1))
        return -ENOMEM;
    if (as_lua && eng_set_host_frames(&w->e, NFZ_HOST_FRAMES)) {
        eng_fini(&w->e);
        return -ENOMEM;
    }
    w->e.full_check_every = full_check_every;
    snprintf(w->e.src, sizeof w->e.src, "%s", NFZ_SRC);
    w->live = true;
    return 0;
}

static void world_fini(struct nfz_world *w)
{
    for (unsigned i = 1; i <= 2; i++) {
        if (w->pg[i])
            pager_free(w->pg[i]);
        free(w->held[i]);
    }
    if (w->live)
        eng_fini(&w->e);
    memset(w, 0, sizeof(*w));
}

static bool world_problem(const struct nfz_world *w)
{
    return w->e.divergences + w->e.failures != w->problems;
}

/* The prologue's loop: domain{} (lapi.c l_domain: create, logdirty_mode,
 * ram populated), paging_enable(), pager{}.  -1 when the host cannot hold
 * them (never with the fixed sizes, but not assumed). */
static int world_build(struct nfz_world *w);

static int world_setup(struct nfz_world *w)
{
    struct engine *e = &w->e;
    w->problems = e->divergences + e->failures;
    /* The scaffolding's steps are checked once, at its end (engine.h
     * defer_checks): a fifth of a program's state checks otherwise, for
     * steps that are the same in every program.  Each step's result is
     * still compared as it runs, and the check at the end compares the
     * whole state they built (the first check with these domains is a
     * full one). */
    e->defer_checks = true;
    int rc = world_build(w);
    eng_checks_resume(e);
    return rc;
}

static int world_build(struct nfz_world *w)
{
    struct engine *e = &w->e;
    for (unsigned i = 1; i <= 2; i++) {
        int rc;
        char name[8];
        snprintf(name, sizeof name, "n%u", i);
        struct domain *d = eng_domain_create(e, name, NFZ_GFNS, &rc);
        if (!d)
            return -1;
        w->dom[i] = d;
        if (i == 2)
            eng_logdirty_config(e, d, true, false);
        for (uint64_t g = 0; g < NFZ_RAM; g++)
            if (eng_populate(e, d, _gfn(g), NULL))
                return -1;
        eng_paging_enable(e, d);
        if (!(w->pg[i] = pager_new(d, 4, false)))
            return -1;
        w->nheld[i] = 0;
    }
    return 0;
}

/* The program's end: its domains handed back (foreign maps first, as
 * fuzz.c's fresh() does before destroying), so the next program starts
 * from an empty host with the same engine. */
static void world_teardown(struct nfz_world *w)
{
    for (unsigned i = 1; i <= 2; i++) {
        while (w->dom[i] && w->nheld[i])
            eng_foreign_unmap(&w->e, w->dom[i], _mfn(w->held[i][--w->nheld[i]]));
        if (w->pg[i])
            pager_free(w->pg[i]);
        w->pg[i] = NULL;
        if (w->dom[i])
            eng_domain_destroy(&w->e, w->dom[i]);
        w->dom[i] = NULL;
    }
    w->e.host->fail_domains = 0;
}

/* paged() of rm(): d:type() is no step. */
static bool is_paged(struct domain *d, gfn_t g)
{
    p2m_type_t t;
    p2m_access_t a;
    p2m_get_entry(d, g, &t, &a);
    return t == p2m_ram_paged || t == p2m_ram_paging_in;
}

/* rm(): skips paged and paging-in gfns. */
static void op_rm(struct engine *e, struct domain *d, gfn_t g)
{
    if (!is_paged(d, g))
        eng_remove(e, d, g);
}

/* page_in(): the oldest request, unless it is a drop notice, prepared
 * (with a one-byte 'x' page or no buffer) and answered with the echo
 * d:resume() builds from the request table (gfn, vcpu, flags, pflags). */
static void op_page_in(struct engine *e, struct domain *d, bool buf)
{
    static uint8_t page[PAGE_SIZE] = { 'x' };
    struct vm_event_req r;
    if (eng_get_request(e, d, &r) || (r.pflags & MEM_PAGING_DROP_PAGE))
        return;
    eng_prep(e, d, _gfn(r.gfn), buf ? page : NULL);
    struct vm_event_req rsp = { .gfn = r.gfn, .vcpu_id = r.vcpu_id, .flags = r.flags,
                                .pflags = r.pflags };
    eng_resume(e, d, &rsp);
}

/* fail_alloc{ domain = d, on = on } (lapi.c l_fail_alloc). */
static void op_fail_alloc(struct engine *e, struct domain *d, bool on)
{
    struct host *h = e->host;
    h->fail_domains = on ? h->fail_domains | (1u << d->id) : h->fail_domains & ~(1u << d->id);
    char args[96]; /* "fail_at=%" PRIu64 " domains=%#x" (fmt.h) */
    *put_hex(put_str(put_dec(put_str(args, "fail_at="), h->fail_at, false), " domains="),
             h->fail_domains) = 0;
    eng_record(e, "fail_alloc", args, "");
}

/* d:fail_p2m_update(n) (lapi.c d_fail_p2m_update). */
static void op_fail_p2m(struct engine *e, struct domain *d, unsigned n)
{
    d->p2m_fail_in = n;
    char args[48]; /* "d=%u n=%u" */
    *put_dec(put_str(put_dec(put_str(args, "d="), d->id, false), " n="), d->p2m_fail_in,
             false) = 0;
    eng_record(e, "fail_p2m_update", args, "");
}

static void op_logdirty(struct nfz_world *w, struct domain *d, bool clean)
{
    struct eng_ld_call c = { .clean = clean, .pages = d->max_gfn,
                             .bitmap = w->bitmap, .expect = w->expect };
    eng_logdirty_call(&w->e, d, &c);
}

static void run_op(struct nfz_world *w, const struct nfz_op *op)
{
    struct engine *e = &w->e;
    struct domain *d = w->dom[op->d];
    gfn_t g = _gfn(op->a);
    switch (op->kind) {
    case NFZ_POPULATE: eng_populate(e, d, g, NULL); break;
    case NFZ_REMOVE: op_rm(e, d, g); break;
    case NFZ_MMIO_DM: eng_set_type(e, d, g, p2m_mmio_dm); break;
    case NFZ_MEMTYPE: eng_set_mem_type(e, d, g, op->b ? p2m_ram_ro : p2m_ram_rw); break;
    case NFZ_ACCESS: eng_set_access(e, d, g, (p2m_access_t)op->b); break;
    case NFZ_LD_TOGGLE:
        if (d->ld.enabled)
            eng_logdirty_disable(e, d);
        else
            eng_logdirty_enable(e, d);
        break;
    case NFZ_PEEK: op_logdirty(w, d, false); break;
    case NFZ_CLEAN: op_logdirty(w, d, true); break;
    case NFZ_IS_DIRTY: eng_is_dirty(e, d, g); break;
    case NFZ_WPHYS:
        eng_copy_to_guest(e, d, _gpa(op->a * 4096ULL + op->b * 8ULL), op->v, 8);
        break;
    case NFZ_RPHYS: {
        uint64_t val;
        eng_copy_from_guest(e, d, _gpa(op->a * 4096ULL + op->b * 8ULL), 8, &val);
        break;
    }
    case NFZ_NOMINATE: eng_nominate(e, d, g); break;
    case NFZ_EVICT: eng_evict(e, d, g); break;
    case NFZ_PAGE_IN: op_page_in(e, d, op->b); break;
    case NFZ_PAGER_EVICT: pager_evict(e, w->pg[op->d], op->a); break;
    case NFZ_PAGER_SERVE: pager_serve(e, w->pg[op->d]); break;
    case NFZ_FMAP: {
        mfn_t m;
        if (eng_foreign_map(e, d, g, &m))
            break;
        unsigned i = op->d;
        if (w->nheld[i] == w->capheld[i]) {
            w->capheld[i] = w->capheld[i] ? 2 * w->capheld[i] : 16;
            if (!(w->held[i] = realloc(w->held[i], w->capheld[i] * sizeof(uint64_t))))
                abort();
        }
        w->held[i][w->nheld[i]++] = mfn_x(m);
        break;
    }
    case NFZ_FUNMAP:
        if (w->nheld[op->d])
            eng_foreign_unmap(e, d, _mfn(w->held[op->d][--w->nheld[op->d]]));
        break;
    case NFZ_BALLOON_IN:
        /* d:populate(g, n): gfn by gfn until one fails */
        for (unsigned i = 0; i < op->b; i++)
            if (eng_populate(e, d, gfn_add(g, i), NULL))
                break;
        break;
    case NFZ_BALLOON_OUT:
        for (unsigned i = 0; i < op->b; i++)
            op_rm(e, d, gfn_add(g, i));
        break;
    case NFZ_STARVE:
        op_fail_alloc(e, d, true);
        if (op->c % 3 == 0)
            eng_populate(e, d, g, NULL);
        else if (op->c % 3 == 1)
            eng_copy_to_guest(e, d, _gpa(op->a * 4096ULL), 1, 8);
        else
            op_page_in(e, d, true);
        op_fail_alloc(e, d, false);
        break;
    case NFZ_P2MFAIL:
        op_fail_p2m(e, d, op->b);
        switch (op->c % 5) {
        case 0: eng_populate(e, d, g, NULL); break;
        case 1: op_rm(e, d, g); break;
        case 2: eng_nominate(e, d, g); break;
        case 3: eng_set_access(e, d, g, p2m_access_r); break;
        default: eng_set_mem_type(e, d, g, p2m_ram_ro); break;
        }
        op_fail_p2m(e, d, 0);
        break;
    case NFZ_ROUNDTRIP: {
        if (eng_nominate(e, d, g))
            break;
        eng_evict(e, d, g);
        uint64_t val;
        eng_copy_from_guest(e, d, _gpa(op->a * 4096ULL), 8, &val);
        if (op->b == 2)
            pager_serve(e, w->pg[op->d]);
        else
            op_page_in(e, d, op->b == 1);
        break;
    }
    case NFZ_SET_MMIO: eng_set_mmio(e, d, g, _mfn(op->v), p2m_access_rwx); break;
    case NFZ_CLEAR_MMIO: eng_clear_mmio(e, d, g, p2m_get_entry(d, g, NULL, NULL)); break;
    case NFZ_POD_TARGET: eng_pod_target(e, d, op->a); break;
    case NFZ_POD_MARK: eng_pod_mark(e, d, g); break;
    default: break;
    }
}

/* "SRC: divergence in FIELD: expected ..." -> FIELD; a failure: its
 * message without the position. */
static void problem_field(const char *msg, char *field, size_t len)
{
    const char *f = strstr(msg, "divergence in ");
    if (f) {
        f += strlen("divergence in ");
        snprintf(field, len, "%.*s", (int)strcspn(f, ":"), f);
        return;
    }
    const char *m = strchr(msg, ':');
    snprintf(field, len, "%.120s", m ? m + 1 + strspn(m + 1, " 0123456789:") : msg);
}

/* Runs ops[0..n) in w (set up); stops at the first problem.  Returns the
 * number of ops run (the failing one included). */
static size_t run_ops(struct nfz_world *w, const struct nfz_op *ops, size_t n, bool *bad)
{
    for (size_t i = 0; i < n; i++) {
        run_op(w, &ops[i]);
        if (world_problem(w)) {
            *bad = true;
            return i + 1;
        }
    }
    /* a run's end: the last incremental check repeated in full */
    eng_finish_checks(&w->e);
    *bad = world_problem(w);
    return n;
}

static void verdict_of(const struct nfz_world *w, size_t at, struct nfz_verdict *v)
{
    memset(v, 0, sizeof(*v));
    snprintf(v->status, sizeof v->status, "%s",
             w->e.divergences ? "diverge" : w->e.failures ? "fail" : "pass");
    if (strcmp(v->status, "pass"))
        problem_field(w->e.first_problem, v->field, sizeof v->field);
    v->at = at;
    v->steps = w->e.step;
    eng_digest_hex(&w->e, v->digest);
}

void fuzz_native_replay(const struct nfz_op *ops, size_t n, unsigned full_check_every,
                        struct nfz_verdict *v)
{
    struct nfz_world *w = malloc(sizeof(*w));
    if (!w || world_init(w, full_check_every, true)) {
        free(w);
        memset(v, 0, sizeof(*v));
        snprintf(v->status, sizeof v->status, "error");
        snprintf(v->field, sizeof v->field, "out of memory");
        return;
    }
    bool bad = false;
    size_t at = 0;
    if (world_setup(w))
        bad = true;
    else
        at = run_ops(w, ops, n, &bad);
    verdict_of(w, bad ? (at ? at - 1 : 0) : n, v);
    world_fini(w);
    free(w);
}

/* Fields are compared without host addresses (fuzz_same_field(), fuzz.c). */
static bool same_failure(const struct nfz_verdict *a, const struct nfz_verdict *b)
{
    return !strcmp(a->status, b->status) && fuzz_same_field(a->field, b->field);
}

/* ---- shrinking ----------------------------------------------------------------------- */

static bool test_keep(const struct nfz_op *ops, size_t n, const bool *keep,
                      struct nfz_op *tmp, unsigned fce, const struct nfz_verdict *want,
                      uint64_t *runs)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (keep[i])
            tmp[m++] = ops[i];
    struct nfz_verdict v;
    fuzz_native_replay(tmp, m, fce, &v);
    (*runs)++;
    return same_failure(&v, want);
}

struct native_shrink {
    const struct nfz_op *ops;
    size_t n;
    struct nfz_op *tmp;
    unsigned fce;
    const struct nfz_verdict *want;
    uint64_t *runs;
};

static bool native_keep(const bool *keep, void *ctx)
{
    const struct native_shrink *c = ctx;
    return test_keep(c->ops, c->n, keep, c->tmp, c->fce, c->want, c->runs);
}

/* Shrinks ops[0..*n) in place: everything after the failing op goes,
 * then ddmin over the ops, then each remaining op alone is tried without
 * (fuzz_ddmin(), as fuzz.c's shrink()). */
static void shrink(struct nfz_op *ops, size_t *n, unsigned fce, const struct nfz_verdict *want,
                   uint64_t *runs)
{
    if (want->at < *n)
        *n = want->at + 1;
    size_t N = *n;
    bool *keep = malloc((N ? N : 1) * sizeof(bool));
    struct nfz_op *tmp = malloc((N ? N : 1) * sizeof(*tmp));
    if (!keep || !tmp)
        abort();
    struct native_shrink c = { ops, N, tmp, fce, want, runs };
    fuzz_ddmin(N, keep, native_keep, &c);
    size_t o = 0;
    for (size_t i = 0; i < N; i++)
        if (keep[i])
            ops[o++] = ops[i];
    *n = o;
    free(keep);
    free(tmp);
}

/* ---- the loop -------------------------------------------------------------------------- */

static double cpu_s(void)
{
    struct rusage a;
    getrusage(RUSAGE_SELF, &a);
    return a.ru_utime.tv_sec + a.ru_stime.tv_sec +
           (a.ru_utime.tv_usec + a.ru_stime.tv_usec) / 1e6;
}

static int write_finding(const struct fuzz_opts *o, uint64_t n, const struct nfz_op *ops,
                         size_t nops, const struct nfz_verdict *v, size_t orig,
                         const char *kind, char *path, size_t pathlen)
{
    snprintf(path, pathlen, "%s/%s-native-%" PRIu64 "-%" PRIu64 ".lua", o->out_dir, kind,
             o->seed, n);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f, "-- pagesim fuzz --native finding: %s in %s\n", v->status, v->field);
    if (!strcmp(kind, "baseline"))
        fprintf(f, "-- it fails without the mutants too: a finding of the real code (or the oracle)\n");
    fprintf(f, "-- found by: pagesim fuzz --native --seed %" PRIu64 "%s%s (program %" PRIu64 ")\n",
            o->seed, o->mutants ? " --mutant " : "", o->mutants ? o->mutants : "", n);
    fprintf(f, "-- shrunk from %zu to %zu operations; reproduce with:\n", orig, nops);
    fprintf(f, "--   pagesim run%s%s -v %s\n", o->mutants ? " --mutant " : "",
            o->mutants ? o->mutants : "", path);
    char *t = fuzz_native_lua(ops, nops);
    fputs(t, f);
    free(t);
    return fclose(f);
}

/* The Lua reproducer run once through the sandbox: does it fail as the
 * native replay did? */
static bool lua_agrees(const struct nfz_op *ops, size_t n, unsigned fce,
                       const struct nfz_verdict *want)
{
    char *t = fuzz_native_lua(ops, n);
    struct run_opts ro = { .seed = 1, .full_check_every = fce };
    struct run_result rr;
    lapi_run_string("native-repro.lua", t, &ro, &rr);
    free(t);
    struct nfz_verdict lv;
    memset(&lv, 0, sizeof lv);
    snprintf(lv.status, sizeof lv.status, "%s", rr.status);
    if (strcmp(rr.status, "pass"))
        problem_field(rr.message, lv.field, sizeof lv.field);
    return same_failure(&lv, want);
}

/* A failing program: confirmed from a fresh engine, shrunk, checked
 * against the mutants being off, written, and its Lua form run once. */
static void handle_finding(const struct fuzz_opts *o, struct nfz_stats *st, uint64_t n,
                           struct nfz_op *ops, size_t nops, unsigned fce)
{
    struct nfz_verdict v;
    fuzz_native_replay(ops, nops, fce, &v);
    if (!strcmp(v.status, "pass")) {
        /* The reused engine's heap order differs from a fresh host's:
         * seen only there, it has no reproducer. */
        st->unreproduced++;
        if (!o->quiet)
            printf("fuzz: program %" PRIu64 " failed in the reused engine but passes from "
                   "a fresh host (no reproducer)\n", n);
        return;
    }
    size_t orig = nops;
    shrink(ops, &nops, fce, &v, &st->shrink_runs);
    bool baseline = false;
    if (pagesim_mutants) {
        mutset_t saved = pagesim_mutants;
        struct nfz_verdict bv;
        pagesim_mutants = 0;
        fuzz_native_replay(ops, nops, fce, &bv);
        pagesim_mutants = saved;
        baseline = strcmp(bv.status, "pass") != 0;
    }
    bool agrees = lua_agrees(ops, nops, fce, &v);
    if (!agrees)
        st->unreproduced++;
    else if (baseline)
        st->baseline++;
    else
        st->findings++;
    char path[512] = "";
    const char *kind = !agrees ? "unreproduced" : baseline ? "baseline" : "finding";
    if (o->out_dir && write_finding(o, n, ops, nops, &v, orig, kind, path, sizeof path))
        fprintf(stderr, "pagesim fuzz: writing %s: %s\n", path, strerror(errno));
    if (!o->quiet)
        printf("fuzz: %s: %s in %s, shrunk %zu -> %zu ops%s%s\n",
               !agrees ? "finding whose Lua reproducer does not fail the same way"
               : baseline ? "finding without the mutants" : "finding",
               v.status, v.field, orig, nops, path[0] ? ": " : "", path);
    if (o->rec && path[0]) {
        struct run_opts ro = { .seed = 1, .rec = o->rec, .mutants = o->mutants };
        struct run_result rr;
        lapi_run_file(path, &ro, &rr);
    }
    if (agrees && !baseline && st->findings == 1)
        snprintf(st->first_field, sizeof st->first_field, "%s", v.field);
}

int fuzz_native_run(const struct fuzz_opts *o, struct nfz_stats *st)
{
    memset(st, 0, sizeof(*st));
    unsigned nops = o->prog_ops ? o->prog_ops : NFZ_PROG_OPS_DEFAULT;
    if (fuzz_out_dir(o))
        return -1;
    struct nfz_world *w = malloc(sizeof(*w));
    struct nfz_op *ops = calloc(nops, sizeof(*ops));
    if (!w || !ops || world_init(w, o->full_check_every, false)) {
        fprintf(stderr, "pagesim fuzz: out of memory\n");
        free(w);
        free(ops);
        return -1;
    }
    double t0 = fuzz_now_s(), c0 = cpu_s();
    for (uint64_t n = 0;; n++) {
        if (o->max_ops && st->ops >= o->max_ops)
            break;
        if (o->max_seconds > 0 && fuzz_now_s() - t0 >= o->max_seconds)
            break;
        if (o->max_findings && st->findings >= o->max_findings)
            break;
        gen_prog(ops, nops, o->seed, n);
        uint64_t s0 = w->e.step;
        bool bad = world_setup(w) != 0;
        uint64_t s1 = w->e.step;
        size_t ran = bad ? 0 : run_ops(w, ops, nops, &bad);
        st->setup_steps += s1 - s0;
        st->steps += w->e.step - s1;
        st->programs++;
        st->ops += ran;
        for (size_t i = 0; i < ran; i++)
            st->op_counts[ops[i].kind]++;
        if (bad) {
            /* the sim and the oracle disagree now: a new engine for the
             * next program */
            world_fini(w);
            if (world_init(w, o->full_check_every, false)) {
                fprintf(stderr, "pagesim fuzz: out of memory\n");
                free(ops);
                free(w);
                return -1;
            }
            handle_finding(o, st, n, ops, nops, o->full_check_every);
            continue;
        }
        world_teardown(w);
        if (world_problem(w)) {
            /* the teardown itself diverged: a finding of the destroy path,
             * replayed (with its ops) from a fresh engine like any other */
            world_fini(w);
            if (world_init(w, o->full_check_every, false)) {
                free(ops);
                free(w);
                return -1;
            }
            handle_finding(o, st, n, ops, nops, o->full_check_every);
        }
    }
    st->seconds = fuzz_now_s() - t0;
    st->cpu_seconds = cpu_s() - c0;
    struct oracle_check_stats cs;
    oracle_check_stats(w->e.oracle, &cs);
    st->chk_skipped = cs.skipped;
    st->chk_restricted = cs.restricted;
    st->chk_full = cs.full;
    world_fini(w);
    free(w);
    free(ops);
    return 0;
}
