/* SPDX-License-Identifier: MIT */
/*
 * sim/engine/lapi.c - the Lua 5.4 scenario API and its sandbox.
 *
 * A scenario is a Lua file run in a fresh state per run.  The sandbox:
 *   - only the base, table, string, math and utf8 libraries; no io, os,
 *     package/require, debug; no load/loadfile/dofile/string.dump; scenario
 *     files are loaded as text only (no precompiled chunks);
 *   - math.random/math.randomseed draw from the run's seeded generator;
 *   - pairs() and next() visit keys in a fixed order (numbers ascending,
 *     then strings bytewise, then false, true).  Debian's liblua5.4
 *     randomises string hashing per process, so the raw next() order
 *     changes from run to run (../shared/reference/tooling.md 1.5);
 *   - tostring()/print() of tables and functions print no addresses;
 *   - reading an undefined global is an error (catches API typos);
 *   - a count hook bounds the VM instructions, an allocator bounds memory.
 * Every API function sets the engine's "file:line" from the calling Lua
 * frame, so steps, failed expectations and divergences point at the line.
 * Argument errors are raised with luaL_error, whose message starts with the
 * same file:line.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "engine.h"
#include "pagesim/tlb.h"
#include "lapi.h"
#include "pager.h"

#define DEFAULT_BUDGET 200000000ULL /* VM instructions */
#define DEFAULT_MEMLIMIT (512u << 20)
#define HOOK_EVERY 10000

#define MT_DOMAIN "pagesim.domain"
#define MT_VCPU "pagesim.vcpu"
#define MT_PT "pagesim.pagetable"
#define MT_PAGER "pagesim.pager"

struct lstate {
    struct engine eng;
    struct pager *auto_pager[SIM_MAX_DOMAINS]; /* pagers serving on their own */
    bool ept_raw[SIM_MAX_DOMAINS]; /* the domain has raw EPT entries */
    /* The gfn ranges under raw EPT entries, per domain (raw_all: more
     * than fit, every gfn counts as raw). */
    struct { uint64_t lo, hi; } raw[SIM_MAX_DOMAINS][32];
    unsigned nraw[SIM_MAX_DOMAINS];
    bool raw_all[SIM_MAX_DOMAINS];
    size_t mem_used, mem_limit;
    uint64_t instr, budget;
};

/* The per-state context lives in the Lua extra space. */
static struct lstate *LS(lua_State *L) { return *(struct lstate **)lua_getextraspace(L); }

/* The engine, with src set to the calling scenario line. */
static struct engine *E(lua_State *L)
{
    struct engine *e = &LS(L)->eng;
    lua_Debug ar;
    for (int level = 1; lua_getstack(L, level, &ar); level++) {
        lua_getinfo(L, "Sl", &ar);
        if (ar.currentline > 0) {
            snprintf(e->src, sizeof(e->src), "%s:%d", ar.short_src, ar.currentline);
            return e;
        }
    }
    snprintf(e->src, sizeof(e->src), "?");
    return e;
}

/* luaL_error with printf formats (lua_pushfstring knows only a few); the
 * message gets the calling scenario line in front, as luaL_error does. */
static int lerror(lua_State *L, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return luaL_error(L, "%s", buf);
}

/* ---- sandbox plumbing ---------------------------------------------------------- */

static void *l_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    struct lstate *s = ud;
    if (!ptr)
        osize = 0; /* osize encodes the object type then (manual 4.6) */
    if (nsize == 0) {
        free(ptr);
        s->mem_used -= osize;
        return NULL;
    }
    if (nsize > osize && s->mem_used + (nsize - osize) > s->mem_limit)
        return NULL;
    void *p = realloc(ptr, nsize);
    if (p)
        s->mem_used = s->mem_used - osize + nsize;
    return p;
}

static void count_hook(lua_State *L, lua_Debug *ar)
{
    struct lstate *s = LS(L);
    s->instr += HOOK_EVERY;
    if (s->instr > s->budget) {
        /* Raised from the hook, luaL_error has no line to name: do it. */
        lua_getinfo(L, "Sl", ar);
        lerror(L, "%s:%d: instruction budget exhausted (%" PRIu64
               " VM instructions; see --max-instructions)",
               ar->short_src, ar->currentline, s->budget);
    }
}

/* Fixed key order for pairs()/next(): numbers < strings < booleans. */
struct keyref {
    int type;
    lua_Number num;
    const char *str;
    size_t len;
    int slot; /* index in the keys array table */
};

static int key_cmp(const void *a, const void *b)
{
    const struct keyref *x = a, *y = b;
    if (x->type != y->type)
        return x->type < y->type ? -1 : 1;
    if (x->type == 0)
        return x->num < y->num ? -1 : x->num > y->num;
    if (x->type == 1) {
        size_t n = x->len < y->len ? x->len : y->len;
        int c = memcmp(x->str, y->str, n);
        return c ? c : (x->len < y->len ? -1 : x->len > y->len);
    }
    return x->num < y->num ? -1 : x->num > y->num;
}

/* Pushes a new array of the keys of table at idx, in the fixed order. */
static void sorted_keys(lua_State *L, int idx)
{
    idx = lua_absindex(L, idx);
    lua_newtable(L); /* raw keys, in next() order */
    int raw = lua_gettop(L);
    int n = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        int t = lua_type(L, -1);
        if (t != LUA_TNUMBER && t != LUA_TSTRING && t != LUA_TBOOLEAN)
            lerror(L, "pairs/next: a key of type %s has no deterministic "
                       "order; use an array and ipairs", lua_typename(L, t));
        lua_pushvalue(L, -1);
        lua_rawseti(L, raw, ++n);
    }
    struct keyref *refs = lua_newuserdatauv(L, sizeof(*refs) * (n ? n : 1), 0);
    for (int i = 0; i < n; i++) {
        lua_rawgeti(L, raw, i + 1);
        struct keyref *r = &refs[i];
        r->slot = i + 1;
        switch (lua_type(L, -1)) {
        case LUA_TNUMBER:
            r->type = 0;
            r->num = lua_tonumber(L, -1);
            break;
        case LUA_TSTRING:
            r->type = 1;
            r->str = lua_tolstring(L, -1, &r->len); /* kept alive by raw */
            break;
        default:
            r->type = 2;
            r->num = lua_toboolean(L, -1);
            break;
        }
        lua_pop(L, 1);
    }
    qsort(refs, (size_t)n, sizeof(*refs), key_cmp);
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) {
        lua_rawgeti(L, raw, refs[i].slot);
        lua_rawseti(L, -2, i + 1);
    }
    lua_replace(L, raw); /* result where raw was */
    lua_pop(L, 1);       /* refs */
}

static int pairs_iter(lua_State *L)
{
    lua_Integer i = lua_tointeger(L, lua_upvalueindex(2)) + 1;
    lua_pushinteger(L, i);
    lua_replace(L, lua_upvalueindex(2));
    if (lua_rawgeti(L, lua_upvalueindex(1), i) == LUA_TNIL)
        return 1;
    lua_pushvalue(L, -1);
    lua_rawget(L, 1);
    return 2;
}

static int det_pairs(lua_State *L)
{
    luaL_checkany(L, 1);
    if (luaL_getmetafield(L, 1, "__pairs") != LUA_TNIL) {
        lua_pushvalue(L, 1);
        lua_call(L, 1, 3);
        return 3;
    }
    luaL_checktype(L, 1, LUA_TTABLE);
    sorted_keys(L, 1);
    lua_pushinteger(L, 0);
    lua_pushcclosure(L, pairs_iter, 2);
    lua_pushvalue(L, 1);
    lua_pushnil(L);
    return 3;
}

static int det_next(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 2);
    sorted_keys(L, 1);
    lua_Integer n = (lua_Integer)lua_rawlen(L, 3), i = 1;
    if (!lua_isnil(L, 2)) {
        for (i = 1; i <= n; i++) {
            lua_rawgeti(L, 3, i);
            bool eq = lua_rawequal(L, -1, 2);
            lua_pop(L, 1);
            if (eq)
                break;
        }
        if (i > n)
            return lerror(L, "invalid key to 'next'");
        i++;
    }
    if (i > n) {
        lua_pushnil(L);
        return 1;
    }
    lua_rawgeti(L, 3, i);
    lua_pushvalue(L, -1);
    lua_rawget(L, 1);
    return 2;
}

/* tostring without addresses (they differ between runs). */
static int det_tostring(lua_State *L)
{
    luaL_checkany(L, 1);
    int t = lua_type(L, 1);
    if ((t == LUA_TTABLE || t == LUA_TFUNCTION || t == LUA_TUSERDATA ||
         t == LUA_TTHREAD || t == LUA_TLIGHTUSERDATA) &&
        !luaL_getmetafield(L, 1, "__tostring")) {
        if (luaL_getmetafield(L, 1, "__name") == LUA_TSTRING)
            return 1;
        lua_pushstring(L, lua_typename(L, t));
        return 1;
    }
    if (t == LUA_TTABLE || t == LUA_TUSERDATA)
        lua_pop(L, 1);
    luaL_tolstring(L, 1, NULL);
    return 1;
}

static void concat_args(lua_State *L, luaL_Buffer *b)
{
    int n = lua_gettop(L);
    for (int i = 1; i <= n; i++) {
        lua_pushcfunction(L, det_tostring);
        lua_pushvalue(L, i);
        lua_call(L, 1, 1);
        if (i > 1)
            luaL_addchar(b, '\t');
        luaL_addvalue(b);
    }
}

static int l_log(lua_State *L)
{
    struct engine *e = E(L);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    concat_args(L, &b);
    luaL_pushresult(&b);
    const char *msg = lua_tostring(L, -1);
    eng_note(e, msg);
    if (e->log && e->verbose)
        fprintf(e->log, "    %s: %s\n", e->src, msg);
    return 0;
}

/* math.random with Lua 5.4's argument conventions, fed by the engine. */
static int l_random(lua_State *L)
{
    struct engine *e = &LS(L)->eng;
    uint64_t r = eng_rand(e);
    lua_Integer lo, hi;
    switch (lua_gettop(L)) {
    case 0:
        lua_pushnumber(L, (lua_Number)(r >> 11) * 0x1.0p-53);
        return 1;
    case 1:
        lo = 1;
        hi = luaL_checkinteger(L, 1);
        break;
    case 2:
        lo = luaL_checkinteger(L, 1);
        hi = luaL_checkinteger(L, 2);
        break;
    default:
        return lerror(L, "wrong number of arguments to 'random'");
    }
    luaL_argcheck(L, lo <= hi, lua_gettop(L), "interval is empty");
    uint64_t span = (uint64_t)hi - (uint64_t)lo;
    uint64_t v = span == UINT64_MAX ? r : r % (span + 1);
    lua_pushinteger(L, (lua_Integer)((uint64_t)lo + v));
    return 1;
}

static int l_randomseed(lua_State *L)
{
    struct engine *e = &LS(L)->eng;
    uint64_t x = (uint64_t)luaL_checkinteger(L, 1);
    for (int i = 0; i < 4; i++) {
        x += 0x9e3779b97f4a7c15ULL;
        uint64_t z = x;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        e->rng[i] = z ^ (z >> 31);
    }
    return 0;
}

static int strict_index(lua_State *L)
{
    return lerror(L, "undefined global '%s' (not part of the pagesim API)",
                      luaL_optstring(L, 2, "?"));
}

/* ---- argument helpers ---------------------------------------------------------------- */

static uint64_t check_u64(lua_State *L, int arg)
{
    return (uint64_t)luaL_checkinteger(L, arg);
}

static struct domain **check_dom_ud(lua_State *L, int arg)
{
    return luaL_checkudata(L, arg, MT_DOMAIN);
}

static struct domain *check_domain(lua_State *L, int arg)
{
    struct domain **dp = check_dom_ud(L, arg);
    if (!*dp)
        lerror(L, "domain was destroyed");
    return *dp;
}

static gfn_t check_gfn(lua_State *L, struct domain *d, int arg)
{
    lua_Integer g = luaL_checkinteger(L, arg);
    if (g < 0 || (uint64_t)g >= d->max_gfn)
        lerror(L, "gfn %#" PRIx64 " out of range for domain '%s' (gfns 0..%#" PRIx64 ")",
                   (uint64_t)g, d->name, d->max_gfn - 1);
    return _gfn((uint64_t)g);
}

/* A gfn a hypervisor operation may touch: not under a raw EPT entry,
 * whose type and frame the oracle's flat P2M does not know. */
static void check_not_raw(lua_State *L, struct domain *d, gfn_t g, const char *op)
{
    struct lstate *ls = LS(L);
    bool raw = ls->raw_all[d->id];
    for (unsigned i = 0; i < ls->nraw[d->id] && !raw; i++)
        raw = gfn_x(g) >= ls->raw[d->id][i].lo && gfn_x(g) <= ls->raw[d->id][i].hi;
    if (raw)
        lerror(L, "%s: gfn %#" PRIx64 " of domain '%s' is under a raw EPT entry "
                  "(ept_set_raw); hypervisor operations on it are not supported",
               op, gfn_x(g), d->name);
}

static gfn_t check_op_gfn(lua_State *L, struct domain *d, int arg, const char *op)
{
    gfn_t g = check_gfn(L, d, arg);
    check_not_raw(L, d, g, op);
    return g;
}

static unsigned check_width(lua_State *L, int arg)
{
    lua_Integer w = luaL_optinteger(L, arg, 8);
    if (w != 1 && w != 2 && w != 4 && w != 8)
        lerror(L, "access width must be 1, 2, 4 or 8, not %d", (int)w);
    return (unsigned)w;
}

static void set_field_int(lua_State *L, const char *k, uint64_t v)
{
    lua_pushinteger(L, (lua_Integer)v);
    lua_setfield(L, -2, k);
}

/* ---- globals ----------------------------------------------------------------------- */

static int l_host(lua_State *L)
{
    struct engine *e = E(L);
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_getfield(L, 1, "frames");
    lua_Integer f = luaL_optinteger(L, -1, (lua_Integer)ENG_DEFAULT_FRAMES);
    /* page_info, M2P and free stack are flat arrays (24 bytes a frame,
     * plus the oracle's flat M2P): 16 GiB of host memory at most. */
    if (f < 16 || f > (1LL << 22))
        return lerror(L, "host frames must be in 16..0x400000 (16 GiB), not %#llx",
                      (long long)f);
    int rc = eng_set_host_frames(e, (uint64_t)f);
    if (rc == -EBUSY)
        return lerror(L, "host{} must come before the first domain{}");
    if (rc)
        return lerror(L, "cannot create a host of %d frames", (int)f);
    return 0;
}

static int l_domain(lua_State *L)
{
    struct engine *e = E(L);
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_getfield(L, 1, "name");
    const char *name = luaL_optstring(L, -1, "dom");
    lua_getfield(L, 1, "gfns");
    lua_Integer gfns = luaL_optinteger(L, -1, 0x1000);
    lua_getfield(L, 1, "ram");
    lua_Integer ram = luaL_optinteger(L, -1, 0);
    /* The oracle's per-gfn arrays are chunked (only what was written
     * exists), so a sparse domain may be large: up to 2^28 gfns (1 TiB),
     * more than the 2^24 pfns under one L3 entry of the log-dirty tree. */
    if (gfns < 1 || gfns > (1LL << 28))
        return lerror(L, "domain gfns must be in 1..0x10000000 (1 TiB), not %#llx",
                      (long long)gfns);
    if (ram < 0 || ram > gfns)
        return lerror(L, "domain ram (%d) must be in 0..gfns", (int)ram);
    if (strlen(name) >= sizeof(((struct domain *)0)->name))
        return lerror(L, "domain name '%s' is too long", name);
    lua_getfield(L, 1, "ept_ad");
    if (!lua_isnil(L, -1) && !lua_isboolean(L, -1))
        return lerror(L, "domain ept_ad must be a boolean");
    bool ept_ad = lua_toboolean(L, -1);
    lua_getfield(L, 1, "dirty_tracking");
    const char *dt = luaL_optstring(L, -1, "wp");
    if (strcmp(dt, "wp") && strcmp(dt, "pml"))
        return lerror(L, "domain dirty_tracking must be \"wp\" (write protection) "
                         "or \"pml\" (page-modification logging), not \"%s\"", dt);
    bool pml = !strcmp(dt, "pml");
    /* hap: the paging flavour (Xen: EPT on Intel, NPT on AMD, or "none":
     * shadow paging, !hap_enabled(d)).  The pagesim run --hap option gives
     * the default for domains that do not say. */
    lua_getfield(L, 1, "hap");
    if (!lua_isnil(L, -1) && lua_type(L, -1) != LUA_TSTRING)
        return lerror(L, "domain hap must be a string (\"ept\", \"npt\" or \"none\")");
    const char *hap = lua_isnil(L, -1) ? (e->default_npt ? "npt" : "ept")
                                       : lua_tostring(L, -1);
    if (strcmp(hap, "ept") && strcmp(hap, "npt") && strcmp(hap, "none"))
        return lerror(L, "domain hap must be \"ept\" (Intel EPT), \"npt\" "
                         "(AMD nested paging) or \"none\" (shadow paging), "
                         "not \"%s\"", hap);
    bool npt = !strcmp(hap, "npt");
    bool shadow = !strcmp(hap, "none");
    if (npt && (ept_ad || pml))
        return lerror(L, "domain hap = \"npt\" has no EPT A/D bits and no PML: "
                         "ept_ad and dirty_tracking = \"pml\" need hap = \"ept\"");
    if (shadow && (ept_ad || pml))
        return lerror(L, "domain '%s': hap = \"none\" has no EPT, so no ept_ad "
                         "and no dirty_tracking = \"pml\"", name);
    int rc;
    struct domain *d = eng_domain_create(e, name, (uint64_t)gfns, &rc);
    if (!d)
        return lerror(L, "domain_create('%s') failed: %d", name, rc);
    if (npt && (rc = eng_hap_config(e, d, true))) {
        eng_domain_destroy(e, d);
        return lerror(L, "domain '%s': hap = \"npt\" failed: %d", name, rc);
    }
    /* Log-dirty options, before anything can mark. */
    lua_getfield(L, 1, "logdirty_mode");
    const char *mode = luaL_optstring(L, -1, "radix");
    lua_getfield(L, 1, "logdirty_conservative");
    bool conservative = lua_toboolean(L, -1);
    lua_pop(L, 2);
    bool bitmap = !strcmp(mode, "bitmap");
    if (!bitmap && strcmp(mode, "radix")) {
        eng_domain_destroy(e, d);
        return lerror(L, "domain logdirty_mode must be \"radix\" or \"bitmap\", not '%s'",
                      mode);
    }
    if (shadow)
        eng_shadow_config(e, d);
    if (bitmap || conservative)
        eng_logdirty_config(e, d, bitmap, conservative);
    if (ept_ad || pml)
        eng_ept_config(e, d, ept_ad, pml);
    for (lua_Integer g = 0; g < ram; g++) {
        rc = eng_populate(e, d, _gfn((uint64_t)g), NULL);
        if (rc)
            return lerror(L, "populating gfn %#x of '%s' failed: %d", (int)g, name, rc);
    }
    struct domain **dp = lua_newuserdatauv(L, sizeof(*dp), 0);
    *dp = d;
    luaL_setmetatable(L, MT_DOMAIN);
    return 1;
}

/* ---- heap ------------------------------------------------------------------------- */

static void push_heap_stats(lua_State *L, const struct host *h)
{
    lua_createtable(L, 0, 8);
    set_field_int(L, "free", h->nr_free);
    set_field_int(L, "allocs", h->allocs);
    set_field_int(L, "attempts", h->alloc_attempts);
    set_field_int(L, "injected", h->injected_failures);
    set_field_int(L, "order_failures", h->order_failures);
    set_field_int(L, "xen", h->xen_frames);
    lua_pushinteger(L, heap_max_free_order(h));
    lua_setfield(L, -2, "max_order");
}

/* fragment_heap{ every = N }: of the free frames only those with mfn % N
 * == 0 stay free (default 2: no free block of order > 0 is left). */
static int l_fragment_heap(lua_State *L)
{
    struct engine *e = E(L);
    lua_Integer every = 2;
    if (lua_istable(L, 1)) {
        lua_getfield(L, 1, "every");
        every = luaL_optinteger(L, -1, 2);
        lua_pop(L, 1);
    } else if (!lua_isnoneornil(L, 1)) {
        return lerror(L, "fragment_heap takes an optional table { every = N }");
    }
    if (every < 2 || every > (1LL << 20))
        return lerror(L, "fragment_heap: every must be in 2..0x100000, not %lld",
                      (long long)every);
    eng_fragment_heap(e, (uint64_t)every);
    push_heap_stats(L, e->host);
    return 1;
}

/* heap() -> the heap's counters and the largest free order. */
static int l_heap(lua_State *L)
{
    struct engine *e = E(L);
    push_heap_stats(L, e->host);
    return 1;
}

static int l_expect(lua_State *L)
{
    struct engine *e = E(L);
    luaL_checkany(L, 1);
    if (!lua_toboolean(L, 1)) {
        const char *msg = luaL_optstring(L, 2, "condition is false");
        char buf[600];
        snprintf(buf, sizeof buf, "%s: expect failed: %s", e->src, msg);
        eng_failure(e, buf);
    }
    lua_pushboolean(L, lua_toboolean(L, 1));
    return 1;
}

static void describe(lua_State *L, int idx, char *buf, size_t n)
{
    if (lua_isinteger(L, idx)) {
        lua_Integer v = lua_tointeger(L, idx);
        snprintf(buf, n, "%lld (%#llx)", (long long)v, (unsigned long long)v);
    } else {
        lua_pushcfunction(L, det_tostring);
        lua_pushvalue(L, idx);
        lua_call(L, 1, 1);
        snprintf(buf, n, "%s%s%s", lua_type(L, idx) == LUA_TSTRING ? "\"" : "",
                 lua_tostring(L, -1), lua_type(L, idx) == LUA_TSTRING ? "\"" : "");
        lua_pop(L, 1);
    }
}

static int l_expect_eq(lua_State *L)
{
    struct engine *e = E(L);
    luaL_checkany(L, 2);
    bool eq = lua_compare(L, 1, 2, LUA_OPEQ);
    if (!eq) {
        char a[128], b[128], buf[600];
        describe(L, 1, a, sizeof a);
        describe(L, 2, b, sizeof b);
        const char *msg = luaL_optstring(L, 3, NULL);
        snprintf(buf, sizeof buf, "%s: expect_eq failed: got %s, expected %s%s%s",
                 e->src, a, b, msg ? ": " : "", msg ? msg : "");
        eng_failure(e, buf);
    }
    lua_pushboolean(L, eq);
    return 1;
}

static int l_m2p(lua_State *L)
{
    struct engine *e = E(L);
    uint64_t m = check_u64(L, 1);
    if (m >= e->host->nr_frames)
        return lerror(L, "mfn %#" PRIx64 " out of range (host has %#" PRIx64 " frames)",
                          m, e->host->nr_frames);
    uint64_t g = get_gpfn_from_mfn(e->host, _mfn(m));
    if (g == INVALID_M2P_ENTRY)
        lua_pushnil(L);
    else if (g == SHARED_M2P_ENTRY)
        lua_pushstring(L, "SHARED"); /* a shared frame (mem sharing) */
    else
        lua_pushinteger(L, (lua_Integer)g);
    return 1;
}

static int l_hex(lua_State *L)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%#llx", (unsigned long long)luaL_checkinteger(L, 1));
    lua_pushstring(L, buf);
    return 1;
}

/* ---- domain methods ------------------------------------------------------------------- */

/* d:populate{ gfn = G, order = 0|9|18 }: one extent (issue 3). */
static int d_populate_extent(lua_State *L, struct engine *e, struct domain *d)
{
    /* Unknown keys are errors; the smallest is named, so the message does
     * not depend on the table's hash order. */
    const char *bad = NULL;
    lua_pushnil(L);
    while (lua_next(L, 2)) {
        lua_pop(L, 1);
        const char *k = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "?";
        if (strcmp(k, "gfn") && strcmp(k, "order") && (!bad || strcmp(k, bad) < 0))
            bad = k;
    }
    if (bad)
        return lerror(L, "populate{}: unknown key '%s' (gfn, order)", bad);
    lua_settop(L, 2);
    lua_getfield(L, 2, "gfn");   /* 3 */
    lua_getfield(L, 2, "order"); /* 4 */
    if (lua_isnil(L, 3))
        return lerror(L, "populate{}: gfn missing");
    gfn_t g = check_op_gfn(L, d, 3, "populate");
    lua_Integer order = luaL_optinteger(L, 4, 0);
    if (order != 0 && order != 9 && order != 18)
        return lerror(L, "populate{}: order must be 0, 9 (2 MiB) or 18 (1 GiB), not %d",
                      (int)order);
    for (uint64_t i = 1; i < (1ULL << order) && gfn_x(g) + i < d->max_gfn; i++)
        check_not_raw(L, d, gfn_add(g, i), "populate");
    lua_pushinteger(L, eng_populate_extent(e, d, g, (unsigned)order, NULL));
    return 1;
}

/* d:order(gfn): the order of the P2M entry mapping gfn (p2m_get_entry). */
static int d_order(lua_State *L)
{
    E(L);
    struct domain *d = check_domain(L, 1);
    gfn_t g = check_gfn(L, d, 2);
    unsigned order = 0;
    p2m_get_entry_order(d, g, NULL, NULL, &order);
    lua_pushinteger(L, order);
    return 1;
}

/* d:set_access(gfn, "rx") -> rc (p2m_set_mem_access). */
static int d_set_access(lua_State *L)
{
    struct engine *e = E(L);
    struct domain *d = check_domain(L, 1);
    gfn_t g = check_op_gfn(L, d, 2, "set_access");
    const char *an = luaL_checkstring(L, 3);
    int a = p2m_access_from_name(an);
    if (a < 0 || a == p2m_access_r_pw)
        return lerror(L, "unknown access type '%s' (n, r, w, rw, x, rx, wx, rwx, "
                      "rx2rw, n2rwx)", an);
    lua_pushinteger(L, eng_set_access(e, d, g, (p2m_access_t)a));
    return 1;
}

/* d:fail_p2m_update(n): the nth P2M update of d from now fails. */
static int d_fail_p2m_update(lua_State *L)
{
    struct engine *e = E(L);
    struct domain *d = check_domain(L, 1);
    lua_Integer n = luaL_optinteger(L, 2, 1);
    if (n < 0 || n > 1000000)
        return lerror(L, "fail_p2m_update: n must be in 0..1000000, not %d", (int)n);
    d->p2m_fail_in = (unsigned)n;
    char args[48];
    snprintf(args, sizeof args, "d=%u n=%u", d->id, d->p2m_fail_in);
    eng_record(e, "fail_p2m_update", args, "");
    return 0;
}

/* d:add_foreign(gfn, fd, fgfn) -> rc (p2m_add_foreign). */
static int d_add_foreign(lua_State *L)
{
    struct engine *e = E(L);
    struct domain *d = check_domain(L, 1);
    gfn_t g = check_op_gfn(L, d, 2, "add_foreign");
    struct domain *fd = check_domain(L, 3);
    gfn_t fg = check_op_gfn(L, fd, 4, "add_foreign");
    lua_pushinteger(L, eng_add_foreign(e, d, g, fd, fg));
    return 1;
}

/* d:set_mmio(gfn, mfn [, { access = "rwx", order = 0 }]) -> rc: a device
 * frame mapped p2m_mmio_direct (set_mmio_p2m_entry(), issue 3). */
static int d_set_mmio(lua_State *L)
{
    struct engine *e = E(L);
    struct domain *d = check_domain(L, 1);
    gfn_t g = check_op_gfn(L, d, 2, "set_mmio");
    uint64_t m = check_u64(L, 3);
    p2m_access_t a = p2m_access_rwx;
    if (!lua_isnoneornil(L, 4)) {
        luaL_checktype(L, 4, LUA_TTABLE);
        const char *bad = NULL; /* the smallest unknown key, hash-order free */
        lua_pushnil(L);
        while (lua_next(L, 4)) {
            lua_pop(L, 1);
            const char *k = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "?";
            if (strcmp(k, "access") && strcmp(k, "order") && (!bad || strcmp(k, bad) < 0))
                bad = k;
        }
        if (bad)
            return lerror(L, "set_mmio: unknown option '%s' (access, order)", bad);
        lua_getfield(L, 4, "order");
        if (!lua_isnil(L, -1) && luaL_checkinteger(L, -1) != 0)
            return lerror(L, "set_mmio: order %d: only 4 KiB (order 0) direct-MMIO "
                          "entries are modelled", (int)lua_tointeger(L, -1));
        lua_pop(L, 1);
        lua_getfield(L, 4, "access");
        if (!lua_isnil(L, -1)) {
            const char *an = luaL_checkstring(L, -1);
            int ai = p2m_access_from_name(an);
            if (ai < 0 || ai == p2m_access_r_pw)
                return lerror(L, "set_mmio: unknown access type '%s' (n, r, w, rw, x, "
                              "rx, wx, rwx, rx2rw, n2rwx)", an);
            a = (p2m_access_t)ai;
        }
        lua_pop(L, 1);
    }
    lua_pushinteger(L, eng_set_mmio(e, d, g, _mfn(m), a));
    return 1;
}

/* d:clear_mmio(gfn [, mfn]) -> rc (clear_mmio_p2m_entry()). */
static int d_clear_mmio(lua_State *L)
{
    struct engine *e = E(L);
    struct domain *d = check_domain(L, 1);
    gfn_t g = check_op_gfn(L, d, 2, "clear_mmio");
    mfn_t m = lua_isnoneornil(L, 3) ? INVALID_MFN : _mfn(check_u64(L, 3));
    if (lua_isnoneornil(L, 3) && gfn_x(g) < d->max_gfn)
        m = p2m_get_entry(d, g, NULL, NULL);
    lua_pushinteger(L, eng_clear_mmio(e, d, g, m));
    return 1;
}

/* d:grant_map(gfn, gd, ggfn [, "ro"|"rw"]) -> rc. */
static int d_grant_map(lua_State *L)
{
    struct engine *e = E(L);
    struct domain *d = check_domain(L, 1);
    gfn_t g = check_op_gfn(L, d, 2, "grant_map");
    struct domain *gd = check_domain(L, 3);
    gfn_t gg = check_op_gfn(L, gd, 4, "grant_map");
    const char *mode = luaL_optstring(L, 5, "rw");
    if (strcmp(mode, "rw") && strcmp(mode, "ro"))
        return lerror(L, "grant_map: mode must be \"rw\" or \"ro\", not '%s'", mode);
    lua_pushinteger(L, eng_grant_map(e, d, g, gd, gg, !strcmp(mode, "ro")));
    return 1;
}

/* d:grant_unmap(gfn) -> rc. */
static int d_grant_unmap(lua_State *L)
{
    struct engine *e = E(L);
    struct domain *d = check_domain(L, 1);
    gfn_t g = check_op_gfn(L, d, 2, "grant_unmap");
    lua_pushinteger(L, eng_grant_unmap(e, d, g));
    return 1;
}

/* d:pod_target(pages) -> rc: the PoD cache size. */
static int d_pod_target(lua_State *L)
{
    struct engine *e = E(L);
    struct domain *d = check_domain(L, 1);
    lua_Integer n = luaL_checkinteger(L, 2);
    if (n < 0 || (uint64_t)n > e->host->nr_frames)
        return lerror(L, "pod_target: pages must be in 0..%#" PRIx64 " (host frames), not %lld",
                      e->host->nr_frames, (long long)n);
    lua_pushinteger(L, eng_pod_target(e, d, (uint64_t)n));
    return 1;
}

/* d:populate_pod(gfn) -> rc: a PoD entry. */
static int d_populate_pod(lua_State *L)
{
    struct engine *e = E(L);
    struct domain *d = check_domain(L, 1);
    gfn_t g = check_op_gfn(L, d, 2, "populate_pod");
    lua_pushinteger(L, eng_pod_mark(e, d, g));
    return 1;
}

/* d:map_ioreq_server(on) -> rc. */
/* d:map_ioreq_server(on) (server 0, flags WRITE or 0) or
 * d:map_ioreq_server{ server = N, flags = F } (the DMOP's fields as
 * numbers: 2 = XEN_DMOP_IOREQ_MEM_ACCESS_WRITE, 1 = ..._READ, 0 = unmap). */
static int d_map_ioreq_server(lua_State *L)
{
    struct engine *e = E(L);
    struct domain *d = check_domain(L, 1);
    if (lua_type(L, 2) == LUA_TBOOLEAN) {
        lua_pushinteger(L, eng_ioreq_server(e, d, 0, lua_toboolean(L, 2)
                                                   ? XEN_DMOP_IOREQ_MEM_ACCESS_WRITE
                                                   : 0));
        return 1;
    }
    if (lua_type(L, 2) != LUA_TTABLE)
        return lerror(L, "map_ioreq_server: expected true/false or "
                      "{ server = N, flags = F }");
    const char *bad = NULL; /* the smallest unknown key, hash-order free */
    lua_pushnil(L);
    while (lua_next(L, 2)) {
        lua_pop(L, 1);
        const char *k = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "?";
        if (strcmp(k, "server") && strcmp(k, "flags") && (!bad || strcmp(k, bad) < 0))
            bad = k;
    }
    if (bad)
        return lerror(L, "map_ioreq_server{}: unknown key '%s' (server, flags)", bad);
    lua_getfield(L, 2, "server");
    lua_getfield(L, 2, "flags");
    lua_Integer srv = luaL_optinteger(L, -2, 0), fl = luaL_optinteger(L, -1, 0);
    if (srv < 0 || srv > 0xffff || fl < 0 || fl > 0xffffffff)
        return lerror(L, "map_ioreq_server{}: server 0..65535 and flags 0..2^32-1, "
                      "not %lld and %lld", (long long)srv, (long long)fl);
    lua_pushinteger(L, eng_ioreq_server(e, d, (unsigned)srv, (uint32_t)fl));
    return 1;
}

/* d:pod() -> {entries, cache}. */
static int d_pod(lua_State *L)
{
    E(L);
    struct domain *d = check_domain(L, 1);
    lua_createtable(L, 0, 2);
    set_field_int(L, "entries", d->pod.entry_count);
    set_field_int(L, "cache", d->pod.count);
    return 1;
}

/* d:access(gfn): the p2m_access_t of gfn's entry ("n" when nothing is
 * mapped, as ept_get_entry() answers). */
static int d_access(lua_State *L)
{
    E(L);
    struct domain *d = check_domain(L, 1);
    gfn_t g = check_gfn(L, d, 2);
    p2m_access_t a;
    p2m_get_entry(d, g, NULL, &a);
    lua_pushstring(L, p2m_access_name(a));
    return 1;
}

static int d_populate(lua_State *L)
{
    struct engine *e = E(L);
    struct domain *d = check_domain(L, 1);
    if (lua_istable(L, 2))
        return d_populate_extent(L, e, d);
    gfn_t g = check_op_gfn(L, d, 2, "populate");
    lua_Integer n = luaL_optinteger(L, 3, 1);
    if (n < 1 || gfn_x(g) + (uint64_t)n > d->max_gfn)
        return lerror(L, "populate count %d runs past the domain's gfns", (int)n);
    for (lua_Integer i = 0; i < n; i++)
        check_not_raw(L, d, gfn_add(g, (uint64_t)i), "populate");
    int rc = 0;
    for (lua_Integer i = 0; i < n && !rc; i++)
        rc = eng_populate(e, d, gfn_add(g, (uint64_t)i), NULL);
    lua_pushinteger(L, rc);
    return 1;
}

static int d_remove(lua_State *L)
{
    struct engine *e = E(L);
    struct domain *d = check_domain(L, 1);
    gfn_t g = check_op_gfn(L, d, 2, "remove");
    lua_pushinteger(L, eng_remove(e, d, g));
    return 1;
}

static int d_set_type(lua_State *L)
{
    struct engine *e = E(L);
    struct domain *d = check_domain(L, 1);
    gfn_t g = check_op_gfn(L, d, 2, "set_type");
    const char *tn = luaL_checkstring(L, 3);
    int t = p2m_type_from_name(tn);
    if (t < 0)
        return lerror(L, "unknown p2m type '%s'", tn);
    lua_pushinteger(L, eng_set_type(e, d, g, (p2m_type_t)t));
    return 1;
}

static int d_type(lua_State *L)
{
    E(L);
    struct domain *d = check_domain(L, 1);
    gfn_t g = check_gfn(L, d, 2);
    p2m_type_t t;
    p2m_access_t a;
    p2m_get_entry(d, g, &t, &a);
    lua_pushstring(L, p2m_type_name(t));
    return 1;
}

static int d_mfn(lua_State *L)
{
    E(L);
    struct domain *d = check_domain(L, 1);
    gfn_t g = check_gfn(L, d, 2);
    p2m_type_t t;
    p2m_access_t a;
    mfn_t m = p2m_get_entry(d, g, &t, &a);
    if (mfn_eq(m, INVALID_MFN))
        lua_pushnil(L);
    else
        lua_pushinteger(L, (lua_Integer)mfn_x(m));
    return 1;
}

static gpa_t check_gpa(lua_State *L, struct domain *d, int arg, unsigned width)
{
    uint64_t a = check_u64(L, arg);
    if ((a >> PAGE_SHIFT) >= d->max_gfn)
        lerror(L, "gpa %#" PRIx64 " out of range for domain '%s'", a, d->name);
    check_not_raw(L, d, _gfn(a >> PAGE_SHIFT), "write_phys/read_phys");
    if ((a & ~PAGE_MASK) + width > PAGE_SIZE)
        lerror(L, "a %u-byte access at gpa %#" PRIx64 " crosses a page", width, a);
    return _gpa(a);
}

static int d_write_phys(lua_State *L)
{
    struct engine *e = E(L);
    struct domain *d = check_domain(L, 1);
    unsigned w = check_width(L, 4);
    gpa_t a = check_gpa(L, d, 2, w);
    uint64_t v = check_u64(L, 3);
    lua_pushinteger(L, eng_copy_to_guest(e, d, a, v, w));
    return 1;
}

static int d_read_phys(lua_State *L)
{
    struct engine *e = E(L);
    struct domain *d = check_domain(L, 1);
    unsigned w = check_width(L, 3);
    gpa_t a = check_gpa(L, d, 2, w);
    uint64_t v;
    int rc = eng_copy_from_guest(e, d, a, w, &v);
    if (rc) {
        lua_pushnil(L);
        lua_pushinteger(L, rc);
        return 2;
    }
    lua_pushinteger(L, (lua_Integer)v);
    return 1;
}

static int d_logdirty_enable(lua_State *L)
{
    struct engine *e = E(L);
    struct domain *d = check_domain(L, 1);
    if (LS(L)->ept_raw[d->id])
        return lerror(L, "logdirty_enable: domain '%s' has raw EPT entries "
                         "(ept_set_raw); log-dirty over them is not supported",
                      d->name);
    lua_pushinteger(L, eng_logdirty_enable(e, d));
    return 1;
}

/* The two raw nested-table formats: EPT (Intel, p2m-ept.c) and NPT (AMD,
 * p2m-pt.c).  d:ept_set_raw/d:npt_set_raw and the getters share one body
 * (raw_set(), raw_get()); what differs is here. */
struct raw_fmt {
    const char *set, *get;     /* the Lua names, which start every error */
    bool npt;                  /* the format of domains with d->npt */
    const char *hap_set, *hap_get; /* why a domain of the other hap is refused */
    const char *tables;        /* what a gpa of 48 bits or more is beyond */
    bool refuse_shadow;        /* hap = "none" named as such (EPT only: an NPT
                                * shadow domain is refused by the hap check) */
    bool (*leaf)(unsigned level, uint64_t value);
    unsigned (*type)(uint64_t value);  /* the p2m type of a leaf */
    const char *type_bits;
    bool refuse_pod;           /* populate-on-demand leaves refused too
                                * (as npt_set_raw always did) */
    const char *keep;          /* what a raw value over a P2M table keeps */
    int (*read)(const struct domain *d, gpa_t gpa, unsigned level, uint64_t *out);
};

/* EPT: a level-2/3 entry is a leaf when it is present (any of R, W, X)
 * and has bit 7 (SDM Vol. 3C, EPT paging structures); the p2m type lives
 * in the software bits 57:52 (Xen's ept_entry_t sa_p2mt). */
static bool ept_raw_leaf(unsigned level, uint64_t v)
{
    return level == 1 || ((level == 2 || level == 3) && (v & 7) && (v & EPT_PS));
}
static unsigned ept_raw_type(uint64_t v)
{
    return (unsigned)((v & EPTE_P2MT_MASK) >> EPTE_P2MT_SHIFT);
}
/* NPT (long-mode page-table format, APM Vol. 2 15.25): PS makes a
 * level-2/3 leaf; the p2m type is in the available bits 58:52, as Xen's
 * p2m-pt.c keeps it there. */
static bool npt_raw_leaf(unsigned level, uint64_t v)
{
    return level == 1 || ((level == 2 || level == 3) && (v & PTE_PS));
}
static unsigned npt_raw_type(uint64_t v) { return (unsigned)((v >> 52) & 0x7F); }

static const struct raw_fmt raw_ept = {
    "ept_set_raw", "ept_get_raw", false,
    "\"npt\": it has no EPT", "\"npt\": it has no EPT", "EPT", true,
    ept_raw_leaf, ept_raw_type, "57:52", false,
    "R, W or X set, same address, no bit 7", p2m_ept_raw_get,
};
static const struct raw_fmt raw_npt = {
    "npt_set_raw", "npt_get_raw", true,
    "\"ept\" (see ept_set_raw)", "\"ept\" (see ept_get_raw)", "nested tables", false,
    npt_raw_leaf, npt_raw_type, "58:52", true,
    "P set, same address, no PS", p2m_npt_raw_get,
};

/* The checks both the setter and the getter make: the domain's hap, the
 * level, the gpa.  Returns only when they pass (lerror() does not). */
static void raw_args(lua_State *L, const struct raw_fmt *f, bool set,
                     const struct domain *d, uint64_t gpa, lua_Integer level)
{
    const char *op = set ? f->set : f->get;
    if (d->npt != f->npt)
        lerror(L, "%s: domain '%s' uses hap = %s", op, d->name,
               set ? f->hap_set : f->hap_get);
    if (level < 1 || level > 4)
        lerror(L, "%s: level must be 1 (PTE) .. 4 (PML4E), not %d", op, (int)level);
    if (gpa >> 48)
        lerror(L, "%s: gpa %#" PRIx64 " is beyond the 4-level %s (48 bits)", op, gpa,
               f->tables);
}

/* d:ept_set_raw / d:npt_set_raw (gpa, level, value) -> rc: the scenario
 * writes one entry of the domain's nested tables (eng_ept_set_raw()); the
 * gfns it covers are then the scenario's (hypervisor operations on them
 * are refused), and the oracle predicts the domain's accesses with its
 * own walker over the raw tables. */
static int raw_set(lua_State *L, const struct raw_fmt *f)
{
    struct engine *e = E(L);
    struct domain *d = check_domain(L, 1);
    uint64_t gpa = check_u64(L, 2);
    lua_Integer level = luaL_checkinteger(L, 3);
    uint64_t value = check_u64(L, 4);
    raw_args(L, f, true, d, gpa, level);
    if (d->ld.enabled)
        return lerror(L, "%s: log-dirty is on in domain '%s'; raw "
                         "entries and log-dirty do not mix", f->set, d->name);
    if (f->refuse_shadow && d->shadow)
        return lerror(L, "%s: domain '%s' has hap = \"none\" (shadow "
                         "paging): no EPT to write", f->set, d->name);
    /* Types the hypervisor's fault handler rewrites on the next access
     * (log-dirty, paging, and for NPT populate-on-demand). */
    unsigned t = f->type(value);
    if (f->leaf((unsigned)level, value) &&
        (t == p2m_ram_logdirty || t == p2m_ram_paging_out || t == p2m_ram_paged ||
         t == p2m_ram_paging_in || (f->refuse_pod && t == p2m_populate_on_demand)))
        return lerror(L, "%s: a raw leaf of type %s (bits %s) would "
                         "be rewritten by the hypervisor's fault handler; "
                         "not supported", f->set, p2m_type_name((p2m_type_t)t),
                      f->type_bits);
    /* Optional 5th argument flush (default true): false leaves out the
     * TLB flush that follows a hypervisor operation (the window between
     * Xen's write of the entry and its flush), so that cached entries
     * may go stale. */
    bool flush = true;
    if (!lua_isnoneornil(L, 5)) {
        if (!lua_isboolean(L, 5))
            return lerror(L, "%s: the 4th argument (flush) must be a boolean, "
                             "not a %s", f->set, luaL_typename(L, 5));
        flush = lua_toboolean(L, 5);
    }
    /* The oracle notes cached (PSC) entries only from its own walks of
     * raw tables, which start with the domain's first raw entry: before
     * it, it learns the entries the model cached from the tables as they
     * are before this write (eng_psc_seed()). */
    if (!flush && !LS(L)->ept_raw[d->id])
        (void)eng_psc_seed(e, d);
    e->skip_flush_once = !flush;
    int rc = eng_ept_set_raw(e, d, _gpa(gpa), (unsigned)level, value);
    e->skip_flush_once = false;
    if (rc == -EEXIST)
        return lerror(L, "%s: a large leaf above level %d maps gpa "
                         "%#" PRIx64 "; write that entry instead", f->set, (int)level, gpa);
    if (rc == -EBUSY)
        return lerror(L, "%s: the level-%d entry for gpa %#" PRIx64
                         " points at a P2M table; a raw value must keep it "
                         "(%s)", f->set, (int)level, gpa, f->keep);
    if (!rc) {
        struct lstate *ls = LS(L);
        uint64_t span = 1ULL << (9 * (level - 1)), lo = (gpa >> PAGE_SHIFT) & ~(span - 1);
        ls->ept_raw[d->id] = true;
        if (ls->nraw[d->id] < 32) {
            ls->raw[d->id][ls->nraw[d->id]].lo = lo;
            ls->raw[d->id][ls->nraw[d->id]++].hi = lo + span - 1;
        } else {
            ls->raw_all[d->id] = true;
        }
    }
    lua_pushinteger(L, rc);
    return 1;
}

/* d:ept_get_raw / d:npt_get_raw (gpa, level) -> the entry, or nil when no
 * table reaches that level. */
static int raw_get(lua_State *L, const struct raw_fmt *f)
{
    E(L);
    struct domain *d = check_domain(L, 1);
    uint64_t gpa = check_u64(L, 2);
    lua_Integer level = luaL_checkinteger(L, 3);
    raw_args(L, f, false, d, gpa, level);
    uint64_t v = 0;
    if (f->read(d, _gpa(gpa), (unsigned)level, &v))
        lua_pushnil(L);
    else
        lua_pushinteger(L, (lua_Integer)v);
    return 1;
}

static int d_ept_set_raw(lua_State *L) { return raw_set(L, &raw_ept); }
static int d_ept_get_raw(lua_State *L) { return raw_get(L, &raw_ept); }
static int d_npt_set_raw(lua_State *L) { return raw_set(L, &raw_npt); }
static int d_npt_get_raw(lua_State *L) { return raw_get(L, &raw_npt); }

/* d:hap() -> "ept" or "npt". */
static int d_hap(lua_State *L)
{
    E(L);
    struct domain *d = check_domain(L, 1);
    lua_pushstring(L, d->npt ? "npt" : "ept");
    return 1;
}

static int d_logdirty_disable(lua_State *L)
{
    struct engine *e = E(L);
    lua_pushinteger(L, eng_logdirty_disable(e, check_domain(L, 1)));
    return 1;
}

/*
 * A PEEK/CLEAN in progress: its page count and the two bitmaps (the sim's,
 * the oracle's expectation), kept in a userdata between a preempted call
 * (-ERESTART) and its continuations, in the registry under
 * "pagesim.ld_pending"[domid].  The Lua heap cap bounds its size.
 */
struct ld_pending {
    uint64_t pages;
    bool clean;
    uint8_t bits[]; /* bitmap, then expect: (pages + 7) / 8 bytes each */
};

#define LD_PENDING "pagesim.ld_pending"
/* peek/clean may ask this many pages past the domain's gfns. */
#define LOGDIRTY_PAGES_SLACK 0x10000

/* Pushes the registry's table of pending ops (creating it). */
static void ld_pending_table(lua_State *L)
{
    if (lua_getfield(L, LUA_REGISTRYINDEX, LD_PENDING) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_setfield(L, LUA_REGISTRYINDEX, LD_PENDING);
    }
}

/*
 * One PEEK/CLEAN call or continuation.  Results: the list of dirty gfns
 * and {dirty_count, fault_count, pages}; or nil, rc (-ERESTART: preempted,
 * continue with d:continue_dirty_op()).
 */
static int logdirty_call(lua_State *L, struct domain *d, bool clean,
                         uint64_t pages, bool preempt, bool resuming)
{
    struct engine *e = E(L);
    ld_pending_table(L);
    int tbl = lua_gettop(L);
    struct ld_pending *p = NULL;
    if (resuming) {
        lua_rawgeti(L, tbl, d->id);
        p = lua_touserdata(L, -1);
        if (p) {
            pages = p->pages;
            clean = p->clean;
        } else {
            pages = 0; /* nothing pending: the sim answers -EBUSY */
        }
    }
    size_t bytes = (size_t)((pages + 7) / 8);
    if (!p) {
        p = lua_newuserdatauv(L, sizeof(*p) + 2 * bytes + 2, 0);
        p->pages = pages;
        p->clean = clean;
        memset(p->bits, 0, 2 * bytes + 2);
    }
    int ud = lua_gettop(L);
    struct eng_ld_call c = { .clean = clean, .preempt = preempt,
                             .resuming = resuming, .pages = pages,
                             .bitmap = p->bits, .expect = p->bits + bytes + 1 };
    int rc = eng_logdirty_call(e, d, &c);
    /* -EBUSY leaves the pending op alone; anything else ends or replaces it. */
    if (rc != -EBUSY) {
        if (rc == -ERESTART)
            lua_pushvalue(L, ud);
        else
            lua_pushnil(L);
        lua_rawseti(L, tbl, d->id);
    }
    if (rc) {
        lua_pushnil(L);
        lua_pushinteger(L, rc);
        return 2;
    }
    lua_newtable(L);
    lua_Integer n = 0;
    for (uint64_t g = 0; g < pages; g++) {
        if (!p->bits[g / 8]) {
            g |= 7;
            continue;
        }
        if (p->bits[g / 8] >> (g % 8) & 1) {
            lua_pushinteger(L, (lua_Integer)g);
            lua_rawseti(L, -2, ++n);
        }
    }
    lua_createtable(L, 0, 3);
    set_field_int(L, "dirty_count", c.stats.dirty_count);
    set_field_int(L, "fault_count", c.stats.fault_count);
    set_field_int(L, "pages", c.pages);
    return 2;
}

/* peek_dirty([pages]) / clean_dirty([pages]), or with a table
 * { pages = N, preempt = bool }. */
static int logdirty_op(lua_State *L, bool clean)
{
    struct domain *d = check_domain(L, 1);
    lua_Integer pages = (lua_Integer)d->max_gfn;
    bool preempt = false;
    if (lua_istable(L, 2)) {
        lua_getfield(L, 2, "pages");
        pages = luaL_optinteger(L, -1, pages);
        lua_getfield(L, 2, "preempt");
        preempt = lua_toboolean(L, -1);
        lua_pop(L, 2);
    } else {
        pages = luaL_optinteger(L, 2, pages);
    }
    /* A little past the end, so truncation (bitmap mode) can be seen. */
    uint64_t lim = d->max_gfn + LOGDIRTY_PAGES_SLACK;
    if (pages < 0 || (uint64_t)pages > lim)
        return lerror(L, "page count %lld outside 0..%#llx (gfns + %#x)",
                      (long long)pages, (unsigned long long)lim,
                      LOGDIRTY_PAGES_SLACK);
    return logdirty_call(L, d, clean, (uint64_t)pages, preempt, false);
}

static int d_peek_dirty(lua_State *L) { return logdirty_op(L, false); }
static int d_clean_dirty(lua_State *L) { return logdirty_op(L, true); }

/* continue_dirty_op([{ preempt = bool }]): the continuation of the op that
 * returned -ERESTART (do_paging_domctl_cont). */
static int d_continue_dirty_op(lua_State *L)
{
    struct domain *d = check_domain(L, 1);
    bool preempt = false;
    if (lua_istable(L, 2)) {
        lua_getfield(L, 2, "preempt");
        preempt = lua_toboolean(L, -1);
        lua_pop(L, 1);
    } else if (!lua_isnoneornil(L, 2)) {
        return lerror(L, "continue_dirty_op takes an optional table { preempt = bool }");
    }
    return logdirty_call(L, d, false, 0, preempt, true);
}

/* is_dirty(gfn) -> bool: paging_mfn_is_dirty() by gfn (conservative after
 * failed allocations with logdirty_conservative). */
static int d_is_dirty(lua_State *L)
{
    struct engine *e = E(L);
    struct domain *d = check_domain(L, 1);
    gfn_t g = check_gfn(L, d, 2);
    lua_pushboolean(L, eng_is_dirty(e, d, g));
    return 1;
}

static int d_logdirty(lua_State *L)
{
    E(L);
    struct domain *d = check_domain(L, 1);
    lua_createtable(L, 0, 5);
    lua_pushboolean(L, d->ld.enabled);
    lua_setfield(L, -2, "enabled");
    set_field_int(L, "dirty_count", d->ld.dirty_count);
    set_field_int(L, "allocs", d->ld.allocs);
    set_field_int(L, "failed_allocs", d->ld.failed_allocs);
    set_field_int(L, "fault_count", d->ld.fault_count);
    lua_pushstring(L, d->ld.bitmap_mode ? "bitmap" : "radix");
    lua_setfield(L, -2, "mode");
    set_field_int(L, "bitmap_pages", d->ld.bitmap_size ? 1ULL << d->ld.bitmap_order : 0);
    lua_pushboolean(L, d->ld.preempt.active);
    lua_setfield(L, -2, "preempted");
    set_field_int(L, "done", d->ld.preempt.active ? d->ld.preempt.done : 0);
    return 1;
}

static int d_destroy(lua_State *L)
{
    struct engine *e = E(L);
    struct domain **dp = check_dom_ud(L, 1);
    if (!*dp)
        return lerror(L, "domain was already destroyed");
    /* A domain whose pages others still map (grant, p2m_add_foreign, tool
     * stack) would stay a zombie in Xen until they let go: not modelled. */
    for (uint64_t m = 0; m < e->host->nr_frames; m++)
        if (e->host->frames[m].use == PGU_GUEST &&
            e->host->frames[m].owner == (*dp)->id &&
            e->host->frames[m].count > e->host->frames[m].allocated)
            return lerror(L, "domain '%s': frame %#" PRIx64 " is still mapped by "
                          "another domain (grant, foreign): unmap it first",
                          (*dp)->name, m);
    struct pager *ap = LS(L)->auto_pager[(*dp)->id];
    if (ap && ap->d == *dp)
        LS(L)->auto_pager[(*dp)->id] = NULL;
    LS(L)->ept_raw[(*dp)->id] = false;
    LS(L)->nraw[(*dp)->id] = 0;
    LS(L)->raw_all[(*dp)->id] = false;
    eng_domain_destroy(e, *dp);
    *dp = NULL;
    return 0;
}

static struct vcpu **check_vcpu_ud(lua_State *L, int arg)
{
    struct vcpu **vp = luaL_checkudata(L, arg, MT_VCPU);
    if (!(*vp)->d)
        lerror(L, "the vcpu's domain was destroyed");
    return vp;
}

/* ---- page-table builder --------------------------------------------------------------- */

/* A guest page-table hierarchy kept in guest RAM.  Table pages are taken
 * from a pool of gfns the scenario populated; entries are written with
 * hvm_copy_to_guest_phys steps, as a guest kernel's stores would land. */
struct pagetable {
    int dom_ref;      /* registry ref to the domain userdata */
    gfn_t root;
    uint64_t next, end; /* pool [next, end) */
    enum mmu_mode mode; /* the format of the tables (default 4-level) */
};

/* Geometry of the builder's tables per mode (levels, entry size). */
static int pt_levels(const struct pagetable *pt)
{
    static const int n[] = { [MMU_MODE_32] = 2, [MMU_MODE_PAE] = 3,
                             [MMU_MODE_4L] = 4, [MMU_MODE_5L] = 5 };
    return n[pt->mode];
}

static unsigned pt_esize(const struct pagetable *pt)
{
    return pt->mode == MMU_MODE_32 ? 4 : 8;
}

static enum mmu_mode parse_mode(lua_State *L, const char *m);

static struct pagetable *check_pt(lua_State *L, int arg)
{
    return luaL_checkudata(L, arg, MT_PT);
}

static struct domain *pt_domain(lua_State *L, struct pagetable *pt)
{
    lua_rawgeti(L, LUA_REGISTRYINDEX, pt->dom_ref);
    struct domain *d = check_domain(L, -1);
    lua_pop(L, 1);
    return d;
}

static int d_pagetable(lua_State *L)
{
    E(L);
    struct domain *d = check_domain(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_getfield(L, 2, "root");
    gfn_t root = check_gfn(L, d, -1);
    lua_getfield(L, 2, "pool");
    lua_Integer pool = luaL_optinteger(L, -1, (lua_Integer)gfn_x(root) + 1);
    lua_getfield(L, 2, "pool_pages");
    lua_Integer npool = luaL_optinteger(L, -1, 64);
    lua_getfield(L, 2, "mode");
    enum mmu_mode mode = lua_isnil(L, -1) ? MMU_MODE_4L
                                          : parse_mode(L, luaL_checkstring(L, -1));
    if (mode == MMU_MODE_NONE)
        return lerror(L, "a page table needs a paging mode (32 pae 4 5)");
    if (pool < 0 || npool < 0 || (uint64_t)(pool + npool) > d->max_gfn)
        return lerror(L, "page-table pool %#x+%d outside the domain's gfns",
                          (int)pool, (int)npool);
    struct pagetable *pt = lua_newuserdatauv(L, sizeof(*pt), 0);
    lua_pushvalue(L, 1);
    pt->dom_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    pt->root = root;
    pt->next = (uint64_t)pool;
    pt->end = (uint64_t)(pool + npool);
    pt->mode = mode;
    luaL_setmetatable(L, MT_PT);
    return 1;
}

static int pt_gc(lua_State *L)
{
    struct pagetable *pt = check_pt(L, 1);
    luaL_unref(L, LUA_REGISTRYINDEX, pt->dom_ref);
    return 0;
}

static unsigned va_index(uint64_t va, int level)
{
    return (unsigned)(va >> (12 + 9 * (level - 1))) & 511;
}

/* Byte offset of va's entry in the table at 'level', in pt's format. */
static uint64_t pt_offset(const struct pagetable *pt, uint64_t va, int level)
{
    if (pt->mode == MMU_MODE_32)
        return 4ULL * ((va >> (12 + 10 * (level - 1))) & 1023);
    if (pt->mode == MMU_MODE_PAE && level == 3)
        return 8ULL * ((va >> 30) & 3);
    return 8ULL * va_index(va, level);
}

static uint64_t read_entry_w(lua_State *L, struct domain *d, gpa_t a,
                             unsigned w)
{
    /* A look at the frame, not a hypervisor copy: the builder must not
     * have side effects of its own (a copy from a paged-out gfn starts a
     * page-in, for one), and what it reads is not a scenario step. */
    uint64_t v = 0;
    p2m_type_t t;
    p2m_access_t acc;
    mfn_t m = p2m_get_entry(d, gpa_to_gfn(a), &t, &acc);
    if (mfn_eq(m, INVALID_MFN) || !p2m_is_ram(t))
        lerror(L, "page-table page at gpa %#" PRIx64 " is not guest RAM backed by a "
               "frame (type %s)", gpa_x(a), p2m_type_name(t));
    hostmem_read(d->host->mem, hpa_add(mfn_to_hpa(m), gpa_x(a) & ~PAGE_MASK), &v, w);
    return v;
}

static void write_entry_w(lua_State *L, struct engine *e, struct domain *d,
                          gpa_t a, uint64_t v, unsigned w)
{
    int rc = eng_copy_to_guest(e, d, a, v, w);
    if (rc)
        lerror(L, "writing the entry at gpa %#" PRIx64 " failed: %d", gpa_x(a), rc);
}

/* Walks to the table holding the level-'level' entry for va; creates
 * missing tables when 'create'.  Returns false if a level is missing. */
static bool pt_locate(lua_State *L, struct engine *e, struct pagetable *pt,
                      struct domain *d, uint64_t va, int level, bool create,
                      gpa_t *entry)
{
    gpa_t table = gfn_to_gpa(pt->root);
    unsigned w = pt_esize(pt);
    for (int l = pt_levels(pt); l > level; l--) {
        gpa_t ea = gpa_add(table, pt_offset(pt, va, l));
        uint64_t ent = read_entry_w(L, d, ea, w);
        if ((ent & PTE_P) && (ent & PTE_PS) && l <= 3
            && !(pt->mode == MMU_MODE_PAE && l == 3)) {
            if (!create)
                return false;
            lerror(L, "gva %#" PRIx64 " is mapped by a large page at level %d",
                   va, l);
        }
        if (!(ent & PTE_P)) {
            if (!create)
                return false;
            if (pt->next >= pt->end)
                lerror(L, "page-table pool exhausted (%d pages used)",
                           (int)(pt->end - pt->next));
            gfn_t g = _gfn(pt->next++);
            if (w == 4 && gfn_x(g) >= (1u << 20))
                lerror(L, "32-bit page tables need pool gfns below 4 GiB");
            ent = (gfn_x(g) << PAGE_SHIFT) | PTE_P | PTE_W | PTE_U;
            if (pt->mode == MMU_MODE_PAE && l == 3)
                ent = (gfn_x(g) << PAGE_SHIFT) | PTE_P; /* PDPTE: 2:1 rsvd */
            write_entry_w(L, e, d, ea, ent, w);
        }
        table = _gpa(ent & (w == 4 ? 0xFFFFF000ULL : PTE_ADDR_MASK));
    }
    *entry = gpa_add(table, pt_offset(pt, va, level));
    return true;
}

static uint64_t parse_flags(lua_State *L, const char *f)
{
    uint64_t v = PTE_P;
    for (; *f; f++) {
        switch (*f) {
        case 'w': v |= PTE_W; break;
        case 'u': v |= PTE_U; break;
        case 'n': v |= PTE_NX; break;
        case 'a': v |= PTE_A; break;
        case 'd': v |= PTE_D; break;
        case 'g': v |= 1ULL << 8; break;
        case 'r': case '-': break;
        default:
            lerror(L, "unknown page flag '%c' (use r w u n a d g)", *f);
        }
    }
    return v;
}

/* A gva the page table's format can map: below 4 GiB for 32-bit and PAE
 * tables, canonical (48 or 57 bits) for 4- and 5-level ones. */
static uint64_t check_pt_va(lua_State *L, int arg, const struct pagetable *pt)
{
    uint64_t va = check_u64(L, arg);
    if (pt->mode == MMU_MODE_32 || pt->mode == MMU_MODE_PAE) {
        if (va >> 32)
            lerror(L, "gva %#" PRIx64 " is above 4 GiB (32-bit/PAE tables)", va);
        return va;
    }
    unsigned b = pt->mode == MMU_MODE_5L ? 56 : 47;
    uint64_t top = va >> b;
    if (top != 0 && top != (~0ULL >> b))
        lerror(L, "gva %#" PRIx64 " is not canonical", va);
    return va;
}

static int pt_map(lua_State *L)
{
    struct engine *e = E(L);
    struct pagetable *pt = check_pt(L, 1);
    struct domain *d = pt_domain(L, pt);
    uint64_t va = check_pt_va(L, 2, pt);
    gfn_t g = check_gfn(L, d, 3);
    uint64_t flags = parse_flags(L, luaL_optstring(L, 4, "w"));
    int level = (int)luaL_optinteger(L, 5, 1);
    lua_Integer pkey = luaL_optinteger(L, 6, 0);
    int maxl = pt->mode == MMU_MODE_PAE || pt->mode == MMU_MODE_32 ? 2 : 3;
    if (level < 1 || level > maxl)
        return lerror(L, "a leaf can be at level 1..%d in this mode, not %d",
                      maxl, level);
    if (pkey < 0 || pkey > 15)
        return lerror(L, "protection key must be 0..15, not %d", (int)pkey);
    if (pkey && pt_esize(pt) == 4)
        return lerror(L, "32-bit entries have no protection key");
    if (pt->mode == MMU_MODE_32 && (flags & PTE_NX))
        return lerror(L, "32-bit entries have no NX bit");
    unsigned span = pt->mode == MMU_MODE_32 ? 10 : 9;
    uint64_t npages = 1ULL << (span * (level - 1));
    if (gfn_x(g) & (npages - 1))
        return lerror(L, "gfn %#" PRIx64 " is not aligned for a level-%d page",
                      gfn_x(g), level);
    if (pt_esize(pt) == 4 && gfn_x(g) >= (1u << 20))
        return lerror(L, "gfn %#" PRIx64 " does not fit a 32-bit entry", gfn_x(g));
    if (level > 1)
        flags |= PTE_PS;
    flags |= (uint64_t)pkey << 59;
    gpa_t ea;
    pt_locate(L, e, pt, d, va, level, true, &ea);
    write_entry_w(L, e, d, ea, (gfn_x(g) << PAGE_SHIFT) | flags, pt_esize(pt));
    return 0;
}

static int pt_unmap(lua_State *L)
{
    struct engine *e = E(L);
    struct pagetable *pt = check_pt(L, 1);
    struct domain *d = pt_domain(L, pt);
    uint64_t va = check_pt_va(L, 2, pt);
    gpa_t ea;
    if (pt_locate(L, e, pt, d, va, 1, false, &ea))
        write_entry_w(L, e, d, ea, 0, pt_esize(pt));
    return 0;
}

static int check_level(lua_State *L, int arg, const struct pagetable *pt)
{
    lua_Integer l = luaL_checkinteger(L, arg);
    if (l < 1 || l > pt_levels(pt))
        lerror(L, "paging level must be 1 (PTE) .. %d in this mode, not %d",
               pt_levels(pt), (int)l);
    return (int)l;
}

static int pt_entry(lua_State *L)
{
    struct engine *e = E(L);
    struct pagetable *pt = check_pt(L, 1);
    struct domain *d = pt_domain(L, pt);
    uint64_t va = check_pt_va(L, 2, pt);
    int level = check_level(L, 3, pt);
    gpa_t ea;
    if (!pt_locate(L, e, pt, d, va, level, false, &ea)) {
        lua_pushnil(L);
        return 1;
    }
    lua_pushinteger(L, (lua_Integer)read_entry_w(L, d, ea, pt_esize(pt)));
    return 1;
}

static int pt_set_entry(lua_State *L)
{
    struct engine *e = E(L);
    struct pagetable *pt = check_pt(L, 1);
    struct domain *d = pt_domain(L, pt);
    uint64_t va = check_pt_va(L, 2, pt);
    int level = check_level(L, 3, pt);
    uint64_t v = check_u64(L, 4);
    gpa_t ea;
    if (pt_esize(pt) == 4 && (v >> 32))
        return lerror(L, "value %#" PRIx64 " does not fit a 32-bit entry", v);
    if (!pt_locate(L, e, pt, d, va, level, true, &ea))
        return lerror(L, "no table at level %d for gva %#" PRIx64 " (map it first)",
                          level, va);
    write_entry_w(L, e, d, ea, v, pt_esize(pt));
    return 0;
}

static int pt_index(lua_State *L)
{
    struct pagetable *pt = check_pt(L, 1);
    const char *k = luaL_checkstring(L, 2);
    if (!strcmp(k, "root")) {
        lua_pushinteger(L, (lua_Integer)gfn_x(pt->root));
        return 1;
    }
    if (!strcmp(k, "cr3")) {
        lua_pushinteger(L, (lua_Integer)gpa_x(gfn_to_gpa(pt->root)));
        return 1;
    }
    luaL_getmetafield(L, 1, "methods");
    lua_getfield(L, -1, k);
    if (lua_isnil(L, -1))
        return lerror(L, "page table has no method or field '%s'", k);
    return 1;
}

/* ---- vCPUs ---------------------------------------------------------------------------- */

static enum mmu_mode parse_mode(lua_State *L, const char *m)
{
    if (!strcmp(m, "none"))
        return MMU_MODE_NONE;
    if (!strcmp(m, "32"))
        return MMU_MODE_32;
    if (!strcmp(m, "pae"))
        return MMU_MODE_PAE;
    if (!strcmp(m, "4"))
        return MMU_MODE_4L;
    if (!strcmp(m, "5"))
        return MMU_MODE_5L;
    lerror(L, "unknown paging mode '%s' (none 32 pae 4 5)", m);
    return MMU_MODE_4L;
}

/* Sets or clears 'bit' of *reg from a boolean. */
static void set_bit_from(lua_State *L, uint64_t *reg, uint64_t bit)
{
    if (!lua_isboolean(L, -1))
        lerror(L, "expected a boolean, got %s", luaL_typename(L, -1));
    *reg = lua_toboolean(L, -1) ? *reg | bit : *reg & ~bit;
}

/* The control bits for a paging mode: CR0.PG, CR4.PAE/LA57, EFER.LME/LMA. */
static void apply_mode(struct mmu_cpu *c, enum mmu_mode m)
{
    c->cr0 &= ~X86_CR0_PG;
    c->cr4 &= ~(X86_CR4_PAE | X86_CR4_LA57);
    c->efer &= ~(X86_EFER_LME | X86_EFER_LMA);
    if (m != MMU_MODE_NONE)
        c->cr0 |= X86_CR0_PG;
    if (m >= MMU_MODE_PAE)
        c->cr4 |= X86_CR4_PAE;
    if (m >= MMU_MODE_4L)
        c->efer |= X86_EFER_LME | X86_EFER_LMA;
    if (m == MMU_MODE_5L)
        c->cr4 |= X86_CR4_LA57;
}

/* Boolean vCPU settings: name -> (register, bit). */
static bool vcpu_flag(lua_State *L, struct vcpu *v, const char *k)
{
    static const struct { const char *n; int reg; uint64_t bit; } f[] = {
        { "pse", 4, X86_CR4_PSE },   { "pge", 4, X86_CR4_PGE },
        { "la57", 4, X86_CR4_LA57 }, { "smep", 4, X86_CR4_SMEP },
        { "smap", 4, X86_CR4_SMAP }, { "pke", 4, X86_CR4_PKE },
        { "pks", 4, X86_CR4_PKS },   { "ac", 1, X86_RFLAGS_AC },
        { "pg", 0, X86_CR0_PG },     { "pae", 4, X86_CR4_PAE },
        { "pcide", 4, X86_CR4_PCIDE },
    };
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        if (strcmp(k, f[i].n))
            continue;
        uint64_t *reg = f[i].reg == 0 ? &v->cpu.cr0
                        : f[i].reg == 4 ? &v->cpu.cr4 : &v->cpu.rflags;
        set_bit_from(L, reg, f[i].bit);
        return true;
    }
    return false;
}

static int setting_rank(const char *k)
{
    return !strcmp(k, "vpid") ? 0 : !strcmp(k, "tlb") ? 1 : 2;
}

static int setting_cmp(const void *a, const void *b)
{
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    int rx = setting_rank(x), ry = setting_rank(y);
    return rx != ry ? rx - ry : strcmp(x, y);
}

static void vcpu_apply(lua_State *L, struct vcpu *v, int t)
{
    uint64_t old_cr4 = v->cpu.cr4, old_efer = v->cpu.efer;
    uint64_t old_pg = v->cpu.cr0 & X86_CR0_PG;
    struct mmu_cpu old_cpu = v->cpu;
    /* Settings apply in a fixed order (vpid, tlb, then by name), never in
     * the table's hash order: Debian's Lua randomises string hashing, and
     * with TLBs the order is visible (MOV CR3 steps). */
    const char *keys[64];
    size_t nk = 0;
    lua_pushnil(L);
    while (lua_next(L, t)) {
        if (lua_type(L, -2) != LUA_TSTRING)
            lerror(L, "vcpu settings are name = value pairs");
        if (nk == sizeof keys / sizeof keys[0])
            lerror(L, "too many vcpu settings");
        keys[nk++] = lua_tostring(L, -2);
        lua_pop(L, 1);
    }
    qsort(keys, nk, sizeof keys[0], setting_cmp);
    for (size_t ki = 0; ki < nk; ki++) {
        const char *k = keys[ki];
        lua_getfield(L, t, k);
        if (!strcmp(k, "cr3")) {
            uint64_t cr3;
            if (lua_isuserdata(L, -1)) {
                struct pagetable *pt = check_pt(L, -1);
                cr3 = gpa_x(gfn_to_gpa(pt->root)) | (v->cpu.cr3 & 0xFFF);
            } else {
                cr3 = (uint64_t)luaL_checkinteger(L, -1);
            }
            if (v->tlb) { /* MOV CR3: flushes unless bit 63 (with PCIDE) */
                eng_tlb_op(E(L), v, "mov_cr3", 0, cr3, 0);
            } else {
                v->cpu.cr3 = cr3 & ~(1ULL << 63);
                eng_shadow_gl3e(E(L), v, NULL); /* shadow: sh_update_cr3() */
            }
        } else if (!strcmp(k, "pcid")) {
            lua_Integer p = luaL_checkinteger(L, -1);
            if (p < 0 || p > 0xFFF)
                lerror(L, "pcid must be 0..0xfff, not %d", (int)p);
            uint64_t cr3 = (v->cpu.cr3 & ~0xFFFULL) | (uint64_t)p;
            if (v->tlb) {
                eng_tlb_op(E(L), v, "mov_cr3", 0, cr3, 0);
            } else {
                v->cpu.cr3 = cr3;
                eng_shadow_gl3e(E(L), v, NULL);
            }
        } else if (!strcmp(k, "tlb")) {
            const struct cpu_profile *p = cpu_profile_by_name(luaL_checkstring(L, -1));
            if (!p)
                lerror(L, "unknown CPU profile '%s' (intel amd)", lua_tostring(L, -1));
            if (v->tlb)
                lerror(L, "this vcpu already has TLBs");
            if (v->d->pml_mode)
                lerror(L, "TLBs with PML dirty tracking are not modelled (a write "
                          "through a TLB entry would set no EPT D flag)");
            if (eng_vcpu_enable_tlb(E(L), v, p, v->vpid ? v->vpid : (uint16_t)(v->id + 1)))
                lerror(L, "cannot allocate TLBs");
        } else if (!strcmp(k, "vpid")) {
            lua_Integer p = luaL_checkinteger(L, -1);
            if (p < 0 || p > 0xFFFF)
                lerror(L, "vpid must be 0..0xffff, not %d", (int)p);
            v->vpid = (uint16_t)p;
        } else if (!strcmp(k, "cpl")) {
            lua_Integer c = luaL_checkinteger(L, -1);
            if (c < 0 || c > 3)
                lerror(L, "cpl must be 0..3, not %d", (int)c);
            v->cpu.cpl = (unsigned)c;
        } else if (!strcmp(k, "wp")) {
            v->cpu.cr0 = lua_toboolean(L, -1) ? v->cpu.cr0 | X86_CR0_WP
                                              : v->cpu.cr0 & ~X86_CR0_WP;
        } else if (!strcmp(k, "nxe")) {
            v->cpu.efer = lua_toboolean(L, -1) ? v->cpu.efer | X86_EFER_NXE
                                               : v->cpu.efer & ~X86_EFER_NXE;
        } else if (!strcmp(k, "cr0")) {
            v->cpu.cr0 = (uint64_t)luaL_checkinteger(L, -1);
        } else if (!strcmp(k, "cr4")) {
            v->cpu.cr4 = (uint64_t)luaL_checkinteger(L, -1);
        } else if (!strcmp(k, "efer")) {
            v->cpu.efer = (uint64_t)luaL_checkinteger(L, -1);
        } else if (!strcmp(k, "rflags")) {
            v->cpu.rflags = (uint64_t)luaL_checkinteger(L, -1);
        } else if (!strcmp(k, "pkru") || !strcmp(k, "pkrs")) {
            lua_Integer r = luaL_checkinteger(L, -1);
            if (r < 0 || r > 0xFFFFFFFFLL)
                lerror(L, "%s must be a 32-bit value", k);
            *(k[3] == 'u' ? &v->cpu.pkru : &v->cpu.pkrs) = (uint32_t)r;
        } else if (!strcmp(k, "maxphyaddr")) {
            lua_Integer m = luaL_checkinteger(L, -1);
            if (m < 32 || m > 52)
                lerror(L, "maxphyaddr must be 32..52, not %d", (int)m);
            v->cpu.maxphyaddr = (unsigned)m;
        } else if (!strcmp(k, "implicit")) {
            v->cpu.implicit = lua_toboolean(L, -1);
        } else if (!strcmp(k, "mbec")) {
            const struct cpu_profile *p = v->tlb ? tlb_profile(v->tlb)
                                                 : &cpu_profile_intel;
            if (lua_toboolean(L, -1) && !p->mbec)
                lerror(L, "the %s CPU profile has no mode-based execute control",
                       p->name);
            if (lua_toboolean(L, -1) && v->d && v->d->shadow)
                lerror(L, "mbec: domain '%s' has hap = \"none\" (shadow "
                          "paging): no EPT, no mode-based execute control",
                       v->d->name);
            v->mbec = lua_toboolean(L, -1);
        } else if (!strcmp(k, "mode")) {
            apply_mode(&v->cpu, parse_mode(L, luaL_checkstring(L, -1)));
        } else if (vcpu_flag(L, v, k)) {
            /* done */
        } else {
            lerror(L, "unknown vcpu setting '%s' (cr3 cpl wp nxe cr0 cr4 efer "
                      "rflags pkru pkrs maxphyaddr implicit mbec mode pse pge la57 "
                      "smep smap pke pks ac pg pae)", k);
        }
        lua_pop(L, 1);
    }
    /* MOV CR4 / EFER / CR0.PG changes that change paging flush the vCPU's
     * TLBs (a superset of the SDM's MOV-to-CR4 rule, allowed); in PAE
     * paging a MOV CR0/CR4 may load the PDPTEs and #GP (eng_mov_cr(),
     * which then puts CR0, CR4 and EFER back). */
    if (v->tlb && (v->cpu.cr4 != old_cr4 || v->cpu.efer != old_efer
                   || (v->cpu.cr0 & X86_CR0_PG) != old_pg
                   || ((v->cpu.cr0 ^ old_cpu.cr0) & (X86_CR0_CD | X86_CR0_NW))))
        eng_mov_cr(E(L), v, &old_cpu);
    else if (!v->tlb)
        eng_shadow_gl3e(E(L), v, &old_cpu); /* shadow, PAE: a mode change */
}

static int d_vcpu(lua_State *L)
{
    struct engine *e = E(L);
    struct domain *d = check_domain(L, 1);
    struct vcpu *v = eng_vcpu_create(e, d);
    if (!v)
        return lerror(L, "too many vcpus (at most %d)", ENG_MAX_VCPUS);
    if (lua_istable(L, 2))
        vcpu_apply(L, v, 2);
    struct vcpu **vp = lua_newuserdatauv(L, sizeof(*vp), 0);
    *vp = v;
    luaL_setmetatable(L, MT_VCPU);
    return 1;
}

static int v_set(lua_State *L)
{
    E(L);
    struct vcpu **vp = check_vcpu_ud(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    vcpu_apply(L, *vp, 2);
    return 0;
}

static void push_access(lua_State *L, const struct eng_access *a)
{
    lua_createtable(L, 0, 12);
    lua_pushstring(L, eng_final_name(a->final));
    lua_setfield(L, -2, "kind");
    lua_pushboolean(L, a->final == EF_OK);
    lua_setfield(L, -2, "ok");
    lua_pushboolean(L, a->final == EF_PF);
    lua_setfield(L, -2, "pf");
    lua_pushboolean(L, a->final == EF_MMIO);
    lua_setfield(L, -2, "mmio");
    lua_pushboolean(L, a->final == EF_CRASH);
    lua_setfield(L, -2, "crash");
    lua_pushboolean(L, a->final == EF_GP);
    lua_setfield(L, -2, "gp");
    lua_pushboolean(L, a->final == EF_PAUSED);
    lua_setfield(L, -2, "paused");
    lua_pushboolean(L, a->final == EF_BLOCKED);
    lua_setfield(L, -2, "blocked");
    lua_pushboolean(L, a->final == EF_DISCARD);
    lua_setfield(L, -2, "discarded");
    if (a->final == EF_OK || a->final == EF_MMIO) {
        set_field_int(L, "value", a->value);
        set_field_int(L, "gpa", gpa_x(a->gpa));
    }
    if (a->final == EF_OK) {
        set_field_int(L, "hpa", hpa_x(a->hpa));
        set_field_int(L, "mfn", mfn_x(hpa_to_mfn(a->hpa)));
        if (a->ept_shift) { /* a walk, not a TLB hit */
            set_field_int(L, "memtype", a->memtype);
            lua_pushboolean(L, a->ipat);
            lua_setfield(L, -2, "ipat");
            set_field_int(L, "ept_shift", a->ept_shift);
        }
    }
    if (a->final == EF_PF) {
        set_field_int(L, "ec", a->pf_ec);
        set_field_int(L, "cr2", gva_x(a->cr2));
    }
    set_field_int(L, "refs", a->refs);
    set_field_int(L, "total_refs", a->total_refs);
    if (a->tlb_level) {
        static const char *const ln[] = { "-", "l1", "stlb", "walk" };
        lua_pushstring(L, ln[a->tlb_level & 3]);
        lua_setfield(L, -2, "tlb");
        set_field_int(L, "cycles", a->cycles);
    }
    set_field_int(L, "nexits", a->nexits);
    lua_createtable(L, (int)a->nexits, 0);
    for (unsigned i = 0; i < a->nexits; i++) {
        lua_createtable(L, 0, 4);
        lua_pushstring(L, a->exits[i].kind == MMU_EPT_VIOLATION ? "ept_violation"
                          : a->exits[i].kind == MMU_PML_FULL    ? "pml_full"
                          : a->exits[i].kind == MMU_NPF         ? "npf"
                          : a->exits[i].kind == MMU_SHADOW_PF   ? "shadow_pf"
                                                                : "ept_misconfig");
        lua_setfield(L, -2, "kind");
        set_field_int(L, "qual", a->exits[i].qual);
        set_field_int(L, "gpa", gpa_x(a->exits[i].gpa));
        set_field_int(L, "gla", gva_x(a->exits[i].gla));
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    lua_setfield(L, -2, "exits");
}

static int do_access(lua_State *L, enum access_kind k)
{
    struct engine *e = E(L);
    struct vcpu *v = *check_vcpu_ud(L, 1);
    uint64_t va = check_u64(L, 2); /* non-canonical: the MMU gives #GP */
    uint64_t wv = 0;
    unsigned w;
    if (k == ACC_WRITE) {
        wv = check_u64(L, 3);
        w = check_width(L, 4);
    } else if (k == ACC_READ) {
        w = check_width(L, 3);
    } else {
        w = 1;
    }
    if ((va & ~PAGE_MASK) + w > PAGE_SIZE)
        return lerror(L, "a %u-byte access at gva %#" PRIx64 " crosses a page", w, va);
    struct eng_access a;
    eng_access(e, v, _gva(va), k, w, wv, &a);
    /* A pager left running serves the ring and the vCPU retries. */
    struct pager *ap = LS(L)->auto_pager[v->d->id];
    for (int round = 0; ap && ap->d == v->d && round < 4 &&
                        (a.final == EF_PAUSED || a.final == EF_BLOCKED); round++) {
        pager_serve(e, ap);
        eng_access(e, v, _gva(va), k, w, wv, &a);
    }
    push_access(L, &a);
    return 1;
}

static int v_tlbop(lua_State *L, const char *op)
{
    struct vcpu *v = *check_vcpu_ud(L, 1);
    struct engine *e = E(L);
    if (!v->tlb)
        return lerror(L, "%s: this vcpu has no TLBs (d:vcpu{ tlb = \"intel\" })", op);
    if (!strcmp(op, "invlpg")) {
        eng_tlb_op(e, v, op, 0, check_u64(L, 2), 0);
        return 0;
    }
    if (!strcmp(op, "invlpga")) { /* AMD: va, ASID (default: the vCPU's) */
        uint64_t va = check_u64(L, 2);
        lua_Integer asid = luaL_optinteger(L, 3, v->vpid);
        if (asid < 0 || asid > 0xFFFF)
            return lerror(L, "INVLPGA ASID must be 0..0xffff, not %d", (int)asid);
        eng_tlb_op(e, v, op, 0, va, (uint64_t)asid);
        return 0;
    }
    lua_Integer type = luaL_checkinteger(L, 2);
    if (!strcmp(op, "tlb_control")) { /* the VMCB field at VMRUN */
        if (type != 0 && type != 1 && type != 3 && type != 7)
            return lerror(L, "TLB_CONTROL must be 0, 1, 3 or 7 (APM 15.16), not %d",
                          (int)type);
        eng_tlb_op(e, v, op, (unsigned)type, v->vpid, 0);
        return 0;
    }
    if (!strcmp(op, "invept")) {
        if (type != 1 && type != 2)
            return lerror(L, "INVEPT type must be 1 (single) or 2 (all), not %d", (int)type);
        /* Optional domain: the EPTP the descriptor names (single-context
         * of another domain's EPT; default the vCPU's own). */
        if (!lua_isnoneornil(L, 3)) {
            struct domain *od = check_domain(L, 3);
            if (od->npt || od->shadow)
                return lerror(L, "INVEPT: domain '%s' has no EPT (hap = \"%s\")",
                              od->name, od->npt ? "npt" : "none");
            eng_tlb_op(e, v, op, (unsigned)type, mfn_x(od->ept_root), 1);
            return 0;
        }
        eng_tlb_op(e, v, op, (unsigned)type, 0, 0);
        return 0;
    }
    if (type < 0 || type > 3)
        return lerror(L, "%s type must be 0..3, not %d", op, (int)type);
    if (!strcmp(op, "invpcid")) {
        lua_Integer pcid = luaL_optinteger(L, 3, (lua_Integer)tlb_pcid_of(&v->cpu));
        eng_tlb_op(e, v, op, (unsigned)type, (uint64_t)pcid,
                   (uint64_t)luaL_optinteger(L, 4, 0));
    } else {
        lua_Integer vp = luaL_optinteger(L, 4, v->vpid);
        eng_tlb_op(e, v, op, (unsigned)type, (uint64_t)vp,
                   (uint64_t)luaL_optinteger(L, 3, 0));
    }
    return 0;
}

static int v_invlpg(lua_State *L) { return v_tlbop(L, "invlpg"); }
static int v_invpcid(lua_State *L) { return v_tlbop(L, "invpcid"); }
static int v_invvpid(lua_State *L) { return v_tlbop(L, "invvpid"); }
static int v_invept(lua_State *L) { return v_tlbop(L, "invept"); }
static int v_invlpga(lua_State *L) { return v_tlbop(L, "invlpga"); }
static int v_tlb_control(lua_State *L) { return v_tlbop(L, "tlb_control"); }

static int v_tlb_stats(lua_State *L)
{
    struct vcpu *v = *check_vcpu_ud(L, 1);
    if (!v->tlb)
        return lerror(L, "tlb_stats: this vcpu has no TLBs");
    struct tlb_stats st;
    tlb_stats(v->tlb, &st);
    lua_createtable(L, 0, 7);
    set_field_int(L, "l1_hits", st.l1_hits);
    set_field_int(L, "stlb_hits", st.stlb_hits);
    set_field_int(L, "walks", st.walks);
    set_field_int(L, "walk_refs", st.walk_refs);
    set_field_int(L, "psc_hits", st.psc_hits);
    set_field_int(L, "epsc_hits", st.epsc_hits);
    set_field_int(L, "cycles", v->cycles);
    return 1;
}

static int v_read(lua_State *L) { return do_access(L, ACC_READ); }
static int v_write(lua_State *L) { return do_access(L, ACC_WRITE); }
static int v_exec(lua_State *L) { return do_access(L, ACC_FETCH); }

static int v_index(lua_State *L)
{
    struct vcpu *v = *(struct vcpu **)luaL_checkudata(L, 1, MT_VCPU);
    const char *k = luaL_checkstring(L, 2);
    struct { const char *n; uint64_t v; } f[] = {
        { "id", v->id }, { "cr0", v->cpu.cr0 }, { "cr3", v->cpu.cr3 },
        { "cr4", v->cpu.cr4 }, { "efer", v->cpu.efer }, { "cpl", v->cpu.cpl },
        { "rflags", v->cpu.rflags }, { "pkru", v->cpu.pkru },
        { "pkrs", v->cpu.pkrs }, { "maxphyaddr", v->cpu.maxphyaddr },
        { "implicit", v->cpu.implicit }, { "vpid", v->vpid },
        { "pcid", v->cpu.cr3 & 0xFFF }, { "cycles", v->cycles },
        { "mbec", v->mbec },
    };
    if (!strcmp(k, "mode")) {
        static const char *const mn[] = { "none", "32", "pae", "4", "5" };
        lua_pushstring(L, mn[mmu_mode_of(&v->cpu)]);
        return 1;
    }
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        if (!strcmp(k, f[i].n)) {
            lua_pushinteger(L, (lua_Integer)f[i].v);
            return 1;
        }
    luaL_getmetafield(L, 1, "methods");
    lua_getfield(L, -1, k);
    if (lua_isnil(L, -1))
        return lerror(L, "vcpu has no method or field '%s'", k);
    return 1;
}

static int d_index(lua_State *L)
{
    struct domain **dp = check_dom_ud(L, 1);
    const char *k = luaL_checkstring(L, 2);
    if (*dp && !strcmp(k, "id")) {
        lua_pushinteger(L, (*dp)->id);
        return 1;
    }
    if (*dp && !strcmp(k, "name")) {
        lua_pushstring(L, (*dp)->name);
        return 1;
    }
    if (*dp && !strcmp(k, "gfns")) {
        lua_pushinteger(L, (lua_Integer)(*dp)->max_gfn);
        return 1;
    }
    luaL_getmetafield(L, 1, "methods");
    lua_getfield(L, -1, k);
    if (lua_isnil(L, -1))
        return lerror(L, "domain has no method or field '%s'", k);
    return 1;
}

/* ---- mem paging and the vm_event ring (engine-paging.c) --------------------------------- */

static int d_paging_enable(lua_State *L)
{
    struct engine *e = E(L);
    lua_pushinteger(L, eng_paging_enable(e, check_domain(L, 1)));
    return 1;
}

static int d_paging_disable(lua_State *L)
{
    struct engine *e = E(L);
    lua_pushinteger(L, eng_paging_disable(e, check_domain(L, 1)));
    return 1;
}

static int d_nominate(lua_State *L)
{
    struct engine *e = E(L);
    struct domain *d = check_domain(L, 1);
    lua_pushinteger(L, eng_nominate(e, d, check_op_gfn(L, d, 2, "nominate")));
    return 1;
}

static int d_evict(lua_State *L)
{
    struct engine *e = E(L);
    struct domain *d = check_domain(L, 1);
    lua_pushinteger(L, eng_evict(e, d, check_op_gfn(L, d, 2, "evict")));
    return 1;
}

/* prep(gfn [, buffer]): buffer is a string of at most 4096 bytes (the page
 * contents, zero-padded), or nil for xc_mem_paging_prep's NULL buffer. */
static int d_prep(lua_State *L)
{
    struct engine *e = E(L);
    struct domain *d = check_domain(L, 1);
    gfn_t g = check_op_gfn(L, d, 2, "prep");
    static uint8_t page[PAGE_SIZE];
    const void *buf = NULL;
    if (!lua_isnoneornil(L, 3)) {
        size_t len;
        const char *str = luaL_checklstring(L, 3, &len);
        if (len > PAGE_SIZE)
            return lerror(L, "prep buffer of %zu bytes is larger than a page", len);
        memset(page, 0, sizeof page);
        memcpy(page, str, len);
        buf = page;
    }
    lua_pushinteger(L, eng_prep(e, d, g, buf));
    return 1;
}

static void push_request(lua_State *L, const struct vm_event_req *r)
{
    lua_createtable(L, 0, 10);
    set_field_int(L, "gfn", r->gfn);
    lua_pushstring(L, p2m_type_name((p2m_type_t)r->p2mt));
    lua_setfield(L, -2, "type");
    set_field_int(L, "pflags", r->pflags);
    set_field_int(L, "flags", r->flags);
    lua_pushboolean(L, r->pflags & MEM_PAGING_DROP_PAGE);
    lua_setfield(L, -2, "drop");
    lua_pushboolean(L, r->pflags & MEM_PAGING_EVICT_FAIL);
    lua_setfield(L, -2, "evict_fail");
    lua_pushboolean(L, r->flags & VM_EVENT_FLAG_VCPU_PAUSED);
    lua_setfield(L, -2, "paused");
    lua_pushboolean(L, r->flags & VM_EVENT_FLAG_FOREIGN);
    lua_setfield(L, -2, "foreign");
    if (r->vcpu_id != VM_EVENT_NO_VCPU)
        set_field_int(L, "vcpu", r->vcpu_id);
}

/* get_request() -> request table, or nil, rc (-ENOENT: ring empty). */
static int d_get_request(lua_State *L)
{
    struct engine *e = E(L);
    struct domain *d = check_domain(L, 1);
    struct vm_event_req r;
    int rc = eng_get_request(e, d, &r);
    if (rc) {
        lua_pushnil(L);
        lua_pushinteger(L, rc);
        return 2;
    }
    push_request(L, &r);
    return 1;
}

/* resume(req): the response echoes a request (gfn, vcpu, flags, pflags),
 * as xenpaging does; fields may be overridden in the table. */
static int d_resume(lua_State *L)
{
    struct engine *e = E(L);
    struct domain *d = check_domain(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    struct vm_event_req r = { .vcpu_id = VM_EVENT_NO_VCPU };
    lua_getfield(L, 2, "gfn");
    r.gfn = (uint64_t)luaL_checkinteger(L, -1);
    lua_getfield(L, 2, "vcpu");
    if (!lua_isnil(L, -1)) {
        lua_Integer v = luaL_checkinteger(L, -1);
        if (v < 0 || v >= SIM_MAX_VCPUS)
            return lerror(L, "resume: vcpu %d out of range (0..%d)", (int)v,
                          SIM_MAX_VCPUS - 1);
        r.vcpu_id = (uint32_t)v;
    }
    lua_getfield(L, 2, "flags");
    r.flags = (uint32_t)luaL_optinteger(L, -1, 0);
    lua_getfield(L, 2, "pflags");
    r.pflags = (uint32_t)luaL_optinteger(L, -1, 0);
    lua_pop(L, 4);
    lua_pushinteger(L, eng_resume(e, d, &r));
    return 1;
}

static int d_paging(lua_State *L)
{
    E(L);
    struct domain *d = check_domain(L, 1);
    lua_createtable(L, 0, 6);
    lua_pushboolean(L, d->paging.ring_enabled);
    lua_setfield(L, -2, "enabled");
    set_field_int(L, "ring_size", d->paging.ring_size);
    set_field_int(L, "requests", d->paging.nreq);
    set_field_int(L, "waiting_drops", d->paging.pending_drops);
    lua_pushinteger(L, (lua_Integer)d->paging.paged_pages);
    lua_setfield(L, -2, "paged_pages");
    set_field_int(L, "lost", d->paging.lost);
    return 1;
}

/* map_foreign(gfn) -> mfn, or nil, rc: a foreign domain maps the page
 * (get_page), holding a reference until unmap_foreign(mfn). */
static int d_map_foreign(lua_State *L)
{
    struct engine *e = E(L);
    struct domain *d = check_domain(L, 1);
    mfn_t m;
    int rc = eng_foreign_map(e, d, check_op_gfn(L, d, 2, "map_foreign"), &m);
    if (rc) {
        lua_pushnil(L);
        lua_pushinteger(L, rc);
        return 2;
    }
    lua_pushinteger(L, (lua_Integer)mfn_x(m));
    return 1;
}

static int d_unmap_foreign(lua_State *L)
{
    struct engine *e = E(L);
    struct domain *d = check_domain(L, 1);
    uint64_t m = check_u64(L, 2);
    lua_pushinteger(L, eng_foreign_unmap(e, d, _mfn(m)));
    return 1;
}

/* page_contents(gfn) -> the 4096 bytes of the frame behind gfn (the
 * pager's foreign read before evict), or nil when the gfn has no frame. */
static int d_page_contents(lua_State *L)
{
    E(L);
    struct domain *d = check_domain(L, 1);
    gfn_t g = check_gfn(L, d, 2);
    mfn_t m = p2m_get_entry(d, g, NULL, NULL);
    static uint8_t page[PAGE_SIZE];
    if (!hostmem_mfn_valid(d->host->nr_frames, m) ||
        hostmem_read(d->host->mem, mfn_to_hpa(m), page, PAGE_SIZE)) {
        lua_pushnil(L);
        return 1;
    }
    lua_pushlstring(L, (const char *)page, PAGE_SIZE);
    return 1;
}

/* ---- the mem_access listener: monitor ring (engine-monitor.c) --------------------------- */

/* monitor_enable{ access_required = bool }: the optional table sets
 * access_required first (as a listener's xc_domain_set_access_required()
 * would); unknown keys are errors. */
static int d_monitor_enable(lua_State *L)
{
    struct engine *e = E(L);
    struct domain *d = check_domain(L, 1);
    if (!lua_isnoneornil(L, 2)) {
        luaL_checktype(L, 2, LUA_TTABLE);
        const char *bad = NULL;
        lua_pushnil(L);
        while (lua_next(L, 2)) {
            lua_pop(L, 1);
            const char *k = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "?";
            if (strcmp(k, "access_required") && (!bad || strcmp(k, bad) < 0))
                bad = k;
        }
        if (bad)
            return lerror(L, "monitor_enable{}: unknown key '%s' (access_required)", bad);
        lua_getfield(L, 2, "access_required");
        if (!lua_isnil(L, -1)) {
            luaL_checktype(L, -1, LUA_TBOOLEAN);
            eng_access_required(e, d, lua_toboolean(L, -1));
        }
        lua_pop(L, 1);
    }
    lua_pushinteger(L, eng_monitor_enable(e, d));
    return 1;
}

static int d_monitor_disable(lua_State *L)
{
    struct engine *e = E(L);
    lua_pushinteger(L, eng_monitor_disable(e, check_domain(L, 1)));
    return 1;
}

/* set_access_required(bool): XEN_DOMCTL_set_access_required. */
static int d_set_access_required(lua_State *L)
{
    struct engine *e = E(L);
    struct domain *d = check_domain(L, 1);
    luaL_checktype(L, 2, LUA_TBOOLEAN);
    eng_access_required(e, d, lua_toboolean(L, 2));
    return 0;
}

static void push_bool(lua_State *L, const char *k, bool b)
{
    lua_pushboolean(L, b);
    lua_setfield(L, -2, k);
}

static void push_ma_request(lua_State *L, const struct mem_access_req *q)
{
    lua_createtable(L, 0, 16);
    set_field_int(L, "gfn", q->gfn);
    set_field_int(L, "offset", q->offset);
    if (q->maflags & MEM_ACCESS_GLA_VALID)
        set_field_int(L, "gla", q->gla);
    push_bool(L, "r", q->maflags & MEM_ACCESS_R);
    push_bool(L, "w", q->maflags & MEM_ACCESS_W);
    push_bool(L, "x", q->maflags & MEM_ACCESS_X);
    push_bool(L, "gla_valid", q->maflags & MEM_ACCESS_GLA_VALID);
    push_bool(L, "fault_with_gla", q->maflags & MEM_ACCESS_FAULT_WITH_GLA);
    push_bool(L, "fault_in_gpt", q->maflags & MEM_ACCESS_FAULT_IN_GPT);
    lua_pushstring(L, p2m_access_name((p2m_access_t)q->access));
    lua_setfield(L, -2, "access");
    set_field_int(L, "maflags", q->maflags);
    set_field_int(L, "flags", q->flags);
    push_bool(L, "paused", q->flags & VM_EVENT_FLAG_VCPU_PAUSED);
    set_field_int(L, "vcpu", q->vcpu_id);
}

/* monitor_get() -> request table, or nil, rc. */
static int d_monitor_get(lua_State *L)
{
    struct engine *e = E(L);
    struct domain *d = check_domain(L, 1);
    struct mem_access_req q;
    int rc = eng_monitor_get(e, d, &q);
    if (rc) {
        lua_pushnil(L);
        lua_pushinteger(L, rc);
        return 2;
    }
    push_ma_request(L, &q);
    return 1;
}

/* monitor_respond(req [, { access = "rw" }]): the response echoes the
 * request's fields (gfn, vcpu, flags, maflags; any may be overridden in
 * the table, e.g. flags = 0 to leave the vCPU paused).  'access' is the
 * listener's XENMEM_access_op_set_access on req.gfn before it responds,
 * a step of its own. */
static int d_monitor_respond(lua_State *L)
{
    struct engine *e = E(L);
    struct domain *d = check_domain(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    struct mem_access_req q;
    memset(&q, 0, sizeof(q));
    lua_getfield(L, 2, "gfn");
    q.gfn = (uint64_t)luaL_checkinteger(L, -1);
    lua_getfield(L, 2, "vcpu");
    lua_Integer v = luaL_checkinteger(L, -1);
    if (v < 0 || v >= SIM_MAX_VCPUS)
        return lerror(L, "monitor_respond: vcpu %d out of range (0..%d)", (int)v,
                      SIM_MAX_VCPUS - 1);
    q.vcpu_id = (uint32_t)v;
    lua_getfield(L, 2, "flags");
    q.flags = (uint32_t)luaL_optinteger(L, -1, 0);
    lua_getfield(L, 2, "maflags");
    q.maflags = (uint32_t)luaL_optinteger(L, -1, 0);
    lua_getfield(L, 2, "offset");
    q.offset = (uint32_t)luaL_optinteger(L, -1, 0);
    lua_getfield(L, 2, "gla");
    q.gla = (uint64_t)luaL_optinteger(L, -1, 0);
    lua_getfield(L, 2, "access");
    const char *an = luaL_optstring(L, -1, "n");
    int ra = p2m_access_from_name(an);
    if (ra < 0)
        return lerror(L, "monitor_respond: request access '%s' unknown", an);
    q.access = (uint32_t)ra;
    lua_pop(L, 7);
    if (!lua_isnoneornil(L, 3)) {
        luaL_checktype(L, 3, LUA_TTABLE);
        const char *bad = NULL;
        lua_pushnil(L);
        while (lua_next(L, 3)) {
            lua_pop(L, 1);
            const char *k = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "?";
            if (strcmp(k, "access") && (!bad || strcmp(k, bad) < 0))
                bad = k;
        }
        if (bad)
            return lerror(L, "monitor_respond: unknown option '%s' (access; "
                          "emulation is not modelled)", bad);
        lua_getfield(L, 3, "access");
        if (!lua_isnil(L, -1)) {
            const char *nn = luaL_checkstring(L, -1);
            int a = p2m_access_from_name(nn);
            if (a < 0 || a == p2m_access_r_pw)
                return lerror(L, "monitor_respond: unknown access type '%s' (n, r, "
                              "w, rw, x, rx, wx, rwx, rx2rw, n2rwx)", nn);
            if (q.gfn >= d->max_gfn)
                return lerror(L, "monitor_respond: gfn %#llx out of range for "
                              "access", (unsigned long long)q.gfn);
            check_not_raw(L, d, _gfn(q.gfn), "monitor_respond");
            eng_set_access(e, d, _gfn(q.gfn), (p2m_access_t)a);
        }
        lua_pop(L, 1);
    }
    lua_pushinteger(L, eng_monitor_resume(e, d, &q));
    return 1;
}

/* monitor() -> the ring's state and counters. */
static int d_monitor(lua_State *L)
{
    E(L);
    struct domain *d = check_domain(L, 1);
    const struct vm_event_monitor *m = &d->monitor;
    lua_createtable(L, 0, 11);
    push_bool(L, "enabled", m->ring_enabled);
    push_bool(L, "access_required", m->access_required);
    set_field_int(L, "ring_size", m->ring_size);
    set_field_int(L, "requests", m->nreq);
    set_field_int(L, "taken", m->taken);
    set_field_int(L, "used", m->nreq + m->taken);
    set_field_int(L, "waiting", m->nwait);
    set_field_int(L, "blocked", m->blocked);
    set_field_int(L, "events", m->events);
    set_field_int(L, "black_eyes", m->black_eyes);
    set_field_int(L, "crashes", m->crashes);
    return 1;
}

static int v_state(lua_State *L)
{
    E(L);
    struct vcpu *v = *check_vcpu_ud(L, 1);
    static const char *const n[] = { "runnable", "paused", "waiting_slot",
                                     "paused_monitor" };
    unsigned s = vcpu_run_state(v->d, v->id);
    /* A runnable vCPU may still be held by the monitor ring. */
    if (s == VCPU_RUNNABLE && monitor_vcpu_state(v->d, v->id) == MON_WAIT_SLOT)
        lua_pushstring(L, "waiting_monitor_slot");
    else if (s == VCPU_RUNNABLE && monitor_vcpu_state(v->d, v->id) == MON_BLACK_EYE)
        lua_pushstring(L, "black_eye");
    else
        lua_pushstring(L, s < 4 ? n[s] : "?");
    return 1;
}

/* expect_divergence(pattern, name): divergences whose field matches the
 * glob pattern are the known finding 'name' (recorded, run stays green);
 * it is a failure if none occurs. */
static int l_expect_divergence(lua_State *L)
{
    struct engine *e = E(L);
    const char *pat = luaL_checkstring(L, 1);
    const char *name = luaL_checkstring(L, 2);
    if (strlen(pat) >= sizeof(e->expects[0].pattern) ||
        strlen(name) >= sizeof(e->expects[0].name))
        return lerror(L, "expect_divergence: pattern or name too long");
    if (eng_expect_divergence(e, pat, name))
        return lerror(L, "expect_divergence: at most %d per scenario",
                      ENG_MAX_EXPECTS);
    return 0;
}

/* ---- the simulated pager (pager.c) ------------------------------------------------------ */

struct pager_ud {
    struct pager *p;
    int dom_ref;
};

static struct pager_ud *check_pager(lua_State *L, int arg)
{
    struct pager_ud *u = luaL_checkudata(L, arg, MT_PAGER);
    lua_rawgeti(L, LUA_REGISTRYINDEX, u->dom_ref);
    struct domain **dp = luaL_checkudata(L, -1, MT_DOMAIN);
    lua_pop(L, 1);
    if (!*dp || !u->p || u->p->d != *dp)
        lerror(L, "the pager's domain was destroyed");
    return u;
}

/* d:pager{ mru_size =, skip_0x80 =, auto = } */
static int d_pager(lua_State *L)
{
    E(L);
    struct domain *d = check_domain(L, 1);
    lua_Integer mru = 16;
    bool skip = false, autorun = false;
    if (!lua_isnoneornil(L, 2)) {
        luaL_checktype(L, 2, LUA_TTABLE);
        lua_getfield(L, 2, "mru_size");
        mru = luaL_optinteger(L, -1, 16);
        lua_getfield(L, 2, "skip_0x80");
        skip = lua_toboolean(L, -1);
        lua_getfield(L, 2, "auto");
        autorun = lua_toboolean(L, -1);
        lua_pop(L, 3);
    }
    if (mru < 0 || mru > PAGER_MAX_MRU)
        return lerror(L, "pager mru_size must be in 0..%d, not %d", PAGER_MAX_MRU,
                      (int)mru);
    struct pager_ud *u = lua_newuserdatauv(L, sizeof(*u), 0);
    u->p = NULL;
    u->dom_ref = LUA_NOREF;
    luaL_setmetatable(L, MT_PAGER);
    u->p = pager_new(d, (unsigned)mru, skip);
    if (!u->p)
        return lerror(L, "out of memory");
    lua_pushvalue(L, 1);
    u->dom_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    if (autorun)
        LS(L)->auto_pager[d->id] = u->p;
    return 1;
}

static int pg_gc(lua_State *L)
{
    struct pager_ud *u = luaL_checkudata(L, 1, MT_PAGER);
    struct lstate *s = LS(L);
    for (unsigned i = 0; i < SIM_MAX_DOMAINS; i++)
        if (s->auto_pager[i] == u->p)
            s->auto_pager[i] = NULL;
    pager_free(u->p);
    u->p = NULL;
    if (u->dom_ref != LUA_NOREF)
        luaL_unref(L, LUA_REGISTRYINDEX, u->dom_ref);
    u->dom_ref = LUA_NOREF;
    return 0;
}

static int pg_evict(lua_State *L)
{
    struct engine *e = E(L);
    struct pager_ud *u = check_pager(L, 1);
    lua_Integer n = luaL_optinteger(L, 2, 1);
    if (n < 0)
        return lerror(L, "pager:evict(n): n must be >= 0");
    lua_pushinteger(L, pager_evict(e, u->p, (unsigned)n));
    return 1;
}

static int pg_serve(lua_State *L)
{
    struct engine *e = E(L);
    struct pager_ud *u = check_pager(L, 1);
    lua_pushinteger(L, pager_serve(e, u->p));
    return 1;
}

static int pg_set_mru_size(lua_State *L)
{
    E(L);
    struct pager_ud *u = check_pager(L, 1);
    lua_Integer n = luaL_checkinteger(L, 2);
    if (n < 0 || n > PAGER_MAX_MRU)
        return lerror(L, "pager mru_size must be in 0..%d, not %d", PAGER_MAX_MRU,
                      (int)n);
    pager_set_mru_size(u->p, (unsigned)n);
    return 0;
}

static int pg_auto(lua_State *L)
{
    E(L);
    struct pager_ud *u = check_pager(L, 1);
    LS(L)->auto_pager[u->p->d->id] = lua_toboolean(L, 2) ? u->p : NULL;
    return 0;
}

/* paged() -> ascending list of the gfns this pager has paged out. */
static int pg_paged(lua_State *L)
{
    E(L);
    struct pager_ud *u = check_pager(L, 1);
    lua_newtable(L);
    lua_Integer n = 0;
    for (uint64_t g = 0; g < u->p->max_gfn; g++)
        if (pager_is_paged(u->p, g)) {
            lua_pushinteger(L, (lua_Integer)g);
            lua_rawseti(L, -2, ++n);
        }
    return 1;
}

static int pg_stats(lua_State *L)
{
    E(L);
    struct pager_ud *u = check_pager(L, 1);
    lua_createtable(L, 0, 5);
    set_field_int(L, "evicted", u->p->evicted);
    set_field_int(L, "served", u->p->served);
    set_field_int(L, "dropped", u->p->dropped);
    set_field_int(L, "mru", u->p->mru_len);
    set_field_int(L, "mru_size", u->p->mru_size);
    return 1;
}

static int pg_index(lua_State *L)
{
    luaL_checkudata(L, 1, MT_PAGER);
    const char *k = luaL_checkstring(L, 2);
    luaL_getmetafield(L, 1, "methods");
    lua_getfield(L, -1, k);
    if (lua_isnil(L, -1))
        return lerror(L, "pager has no method '%s'", k);
    return 1;
}

/* d:set_mem_type(gfn, "ram_ro" | "ram_rw") -> rc */
static int d_set_mem_type(lua_State *L)
{
    struct engine *e = E(L);
    struct domain *d = check_domain(L, 1);
    gfn_t g = check_op_gfn(L, d, 2, "set_mem_type");
    const char *tn = luaL_checkstring(L, 3);
    int t = p2m_type_from_name(tn);
    if (t != p2m_ram_rw && t != p2m_ram_ro && t != p2m_ioreq_server)
        return lerror(L, "set_mem_type: type must be ram_rw, ram_ro or ioreq_server, not '%s'",
                      tn);
    lua_pushinteger(L, eng_set_mem_type(e, d, g, (p2m_type_t)t));
    return 1;
}

/* ---- allocator fault injection ---------------------------------------------------------- */

/* fail_alloc{ nth = N }: the Nth heap allocation from now fails;
 * fail_alloc{ domain = d, on = bool }: every allocation for d fails (or
 * not).  Returns the heap's counters. */
static int l_fail_alloc(lua_State *L)
{
    struct engine *e = E(L);
    struct host *h = e->host;
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_getfield(L, 1, "nth");
    if (!lua_isnil(L, -1)) {
        lua_Integer n = luaL_checkinteger(L, -1);
        if (n < 1)
            return lerror(L, "fail_alloc: nth must be >= 1, not %d", (int)n);
        h->fail_at = h->alloc_attempts + (uint64_t)n;
    }
    lua_getfield(L, 1, "domain");
    if (!lua_isnil(L, -1)) {
        struct domain *d = check_domain(L, -1);
        lua_getfield(L, 1, "on");
        bool on = lua_isnil(L, -1) || lua_toboolean(L, -1);
        lua_pop(L, 1);
        if (d->id >= 32)
            return lerror(L, "fail_alloc: domain id %u too large", d->id);
        h->fail_domains = on ? h->fail_domains | (1u << d->id)
                             : h->fail_domains & ~(1u << d->id);
    }
    lua_pop(L, 2);
    char args[96];
    snprintf(args, sizeof args, "fail_at=%" PRIu64 " domains=%#x", h->fail_at,
             h->fail_domains);
    eng_record(e, "fail_alloc", args, "");
    lua_createtable(L, 0, 4);
    set_field_int(L, "free", h->nr_free);
    set_field_int(L, "allocs", h->allocs);
    set_field_int(L, "attempts", h->alloc_attempts);
    set_field_int(L, "injected", h->injected_failures);
    return 1;
}

/* ---- memory sharing (engine-sharing.c) ---------------------------------------- */

/* The raw walker's overlay (EPT A/D, PML, raw entries) does not follow an
 * unshare's new leaf: such domains cannot share. */
static struct domain *check_sharing_domain(lua_State *L, int arg, const char *op)
{
    struct domain *d = check_domain(L, arg);
    if (d->ept_raw || d->ept_ad || d->pml_mode)
        lerror(L, "%s: domain '%s' uses raw EPT entries, EPT A/D or PML; "
                  "memory sharing is not supported there", op, d->name);
    return d;
}

/* d:sharing_enable([on]) -> rc: XEN_DOMCTL_MEM_SHARING_CONTROL. */
static int d_sharing_enable(lua_State *L)
{
    struct engine *e = E(L);
    struct domain *d = check_sharing_domain(L, 1, "sharing_enable");
    bool on = lua_isnoneornil(L, 2) ? true : lua_toboolean(L, 2);
    lua_pushinteger(L, eng_sharing_control(e, d, on));
    return 1;
}

/* d:share_nominate(gfn) -> handle, or nil, rc. */
static int d_share_nominate(lua_State *L)
{
    struct engine *e = E(L);
    struct domain *d = check_sharing_domain(L, 1, "share_nominate");
    uint64_t handle = 0;
    int rc = eng_share_nominate(e, d, check_op_gfn(L, d, 2, "share_nominate"),
                                &handle);
    if (rc) {
        lua_pushnil(L);
        lua_pushinteger(L, rc);
        return 2;
    }
    lua_pushinteger(L, (lua_Integer)handle);
    return 1;
}

/* d:share(gfn, handle, cd, cgfn, chandle) -> rc: d is the source. */
static int d_share(lua_State *L)
{
    struct engine *e = E(L);
    struct domain *d = check_sharing_domain(L, 1, "share");
    gfn_t g = check_op_gfn(L, d, 2, "share");
    uint64_t sh = check_u64(L, 3);
    struct domain *cd = check_sharing_domain(L, 4, "share");
    gfn_t cg = check_op_gfn(L, cd, 5, "share");
    uint64_t ch = check_u64(L, 6);
    lua_pushinteger(L, eng_share(e, d, g, sh, cd, cg, ch));
    return 1;
}

/* d:share_add_physmap(gfn, handle, cd, cgfn) -> rc. */
static int d_share_add_physmap(lua_State *L)
{
    struct engine *e = E(L);
    struct domain *d = check_sharing_domain(L, 1, "share_add_physmap");
    gfn_t g = check_op_gfn(L, d, 2, "share_add_physmap");
    uint64_t sh = check_u64(L, 3);
    struct domain *cd = check_sharing_domain(L, 4, "share_add_physmap");
    gfn_t cg = check_op_gfn(L, cd, 5, "share_add_physmap");
    lua_pushinteger(L, eng_share_add_physmap(e, d, g, sh, cd, cg));
    return 1;
}

/* d:sharing() -> {enabled, shr_pages, shared_mfns, saved_mfns}. */
static int d_sharing(lua_State *L)
{
    struct domain *d = check_domain(L, 1);
    lua_createtable(L, 0, 4);
    lua_pushinteger(L, (lua_Integer)d->host->shr_shared_mfns);
    lua_setfield(L, -2, "shared_mfns");
    lua_pushinteger(L, (lua_Integer)d->host->shr_saved_mfns);
    lua_setfield(L, -2, "saved_mfns");
    lua_pushboolean(L, d->sharing_enabled);
    lua_setfield(L, -2, "enabled");
    lua_pushinteger(L, (lua_Integer)d->shr_pages);
    lua_setfield(L, -2, "shr_pages");
    return 1;
}

/* shared_frame(mfn) -> {handle, sharers, owner = "dom_cow"}, or nil when
 * the frame is not shared. */
static int l_shared_frame(lua_State *L)
{
    struct engine *e = E(L);
    uint64_t m = check_u64(L, 1);
    if (m >= e->host->nr_frames)
        return lerror(L, "mfn %#" PRIx64 " out of range (host has %#" PRIx64 " frames)",
                      m, e->host->nr_frames);
    uint64_t h = mem_sharing_handle(e->host, _mfn(m));
    if (!h) {
        lua_pushnil(L);
        return 1;
    }
    lua_createtable(L, 0, 3);
    lua_pushinteger(L, (lua_Integer)h);
    lua_setfield(L, -2, "handle");
    lua_pushinteger(L, (lua_Integer)mem_sharing_sharers(e->host, _mfn(m)));
    lua_setfield(L, -2, "sharers");
    lua_pushstring(L, e->host->frames[m].owner == DOMID_COW ? "dom_cow" : "other");
    lua_setfield(L, -2, "owner");
    return 1;
}

static void new_class(lua_State *L, const char *name, const luaL_Reg *methods,
                      lua_CFunction index, lua_CFunction gc)
{
    luaL_newmetatable(L, name);
    lua_newtable(L);
    luaL_setfuncs(L, methods, 0);
    lua_setfield(L, -2, "methods");
    lua_pushcfunction(L, index);
    lua_setfield(L, -2, "__index");
    if (gc) {
        lua_pushcfunction(L, gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_pop(L, 1);
}

static void open_api(lua_State *L)
{
    static const luaL_Reg dom[] = {
        { "populate", d_populate }, { "remove", d_remove },
        { "set_type", d_set_type }, { "type", d_type }, { "mfn", d_mfn },
        { "write_phys", d_write_phys }, { "read_phys", d_read_phys },
        { "logdirty_enable", d_logdirty_enable },
        { "logdirty_disable", d_logdirty_disable },
        { "peek_dirty", d_peek_dirty }, { "clean_dirty", d_clean_dirty },
        { "continue_dirty_op", d_continue_dirty_op }, { "is_dirty", d_is_dirty },
        { "logdirty", d_logdirty }, { "destroy", d_destroy },
        { "vcpu", d_vcpu }, { "pagetable", d_pagetable },
        { "paging_enable", d_paging_enable },
        { "paging_disable", d_paging_disable }, { "nominate", d_nominate },
        { "evict", d_evict }, { "prep", d_prep },
        { "get_request", d_get_request }, { "resume", d_resume },
        { "paging", d_paging }, { "map_foreign", d_map_foreign },
        { "unmap_foreign", d_unmap_foreign },
        { "page_contents", d_page_contents }, { "pager", d_pager },
        { "set_mem_type", d_set_mem_type },
        { "order", d_order }, { "set_access", d_set_access },
        { "access", d_access }, { "fail_p2m_update", d_fail_p2m_update },
        { "add_foreign", d_add_foreign }, { "grant_map", d_grant_map },
        { "grant_unmap", d_grant_unmap }, { "pod_target", d_pod_target },
        { "populate_pod", d_populate_pod }, { "pod", d_pod },
        { "map_ioreq_server", d_map_ioreq_server },
        { "ept_set_raw", d_ept_set_raw }, { "ept_get_raw", d_ept_get_raw },
        { "set_mmio", d_set_mmio }, { "clear_mmio", d_clear_mmio },
        { "sharing_enable", d_sharing_enable },
        { "share_nominate", d_share_nominate }, { "share", d_share },
        { "share_add_physmap", d_share_add_physmap }, { "sharing", d_sharing },
        { "monitor_enable", d_monitor_enable },
        { "monitor_disable", d_monitor_disable },
        { "set_access_required", d_set_access_required },
        { "monitor_get", d_monitor_get }, { "monitor_respond", d_monitor_respond },
        { "monitor", d_monitor },
        { "npt_set_raw", d_npt_set_raw }, { "npt_get_raw", d_npt_get_raw },
        { "hap", d_hap },
        { NULL, NULL },
    };
    static const luaL_Reg vcpu[] = {
        { "read", v_read }, { "write", v_write }, { "exec", v_exec },
        { "set", v_set }, { "state", v_state }, { "invlpg", v_invlpg },
        { "invpcid", v_invpcid }, { "invvpid", v_invvpid }, { "invept", v_invept },
        { "tlb_stats", v_tlb_stats },
        { "invlpga", v_invlpga }, { "tlb_control", v_tlb_control }, { NULL, NULL },
    };
    static const luaL_Reg pt[] = {
        { "map", pt_map }, { "unmap", pt_unmap }, { "entry", pt_entry },
        { "set_entry", pt_set_entry }, { NULL, NULL },
    };
    new_class(L, MT_DOMAIN, dom, d_index, NULL);
    new_class(L, MT_VCPU, vcpu, v_index, NULL);
    new_class(L, MT_PT, pt, pt_index, pt_gc);
    static const luaL_Reg pgr[] = {
        { "evict", pg_evict }, { "serve", pg_serve },
        { "set_mru_size", pg_set_mru_size }, { "auto", pg_auto },
        { "paged", pg_paged }, { "stats", pg_stats }, { NULL, NULL },
    };
    new_class(L, MT_PAGER, pgr, pg_index, pg_gc);

    static const luaL_Reg globals[] = {
        { "host", l_host }, { "domain", l_domain }, { "expect", l_expect },
        { "expect_eq", l_expect_eq }, { "m2p", l_m2p }, { "hex", l_hex },
        { "log", l_log }, { "print", l_log }, { "pairs", det_pairs },
        { "next", det_next }, { "tostring", det_tostring },
        { "expect_divergence", l_expect_divergence },
        { "fail_alloc", l_fail_alloc }, { "fragment_heap", l_fragment_heap },
        { "heap", l_heap }, { "shared_frame", l_shared_frame }, { NULL, NULL },
    };
    lua_pushglobaltable(L);
    luaL_setfuncs(L, globals, 0);

    /* Named constants for expectations. */
    lua_createtable(L, 0, 5);
    set_field_int(L, "P", PFEC_P);
    set_field_int(L, "W", PFEC_W);
    set_field_int(L, "U", PFEC_U);
    set_field_int(L, "RSVD", PFEC_RSVD);
    set_field_int(L, "ID", PFEC_ID);
    set_field_int(L, "PK", PFEC_PK);
    lua_setfield(L, -2, "PF");
    lua_createtable(L, 0, 8);
    set_field_int(L, "R", EPTQ_READ);
    set_field_int(L, "W", EPTQ_WRITE);
    set_field_int(L, "X", EPTQ_FETCH);
    set_field_int(L, "READABLE", EPTQ_READABLE);
    set_field_int(L, "WRITABLE", EPTQ_WRITABLE);
    set_field_int(L, "EXECUTABLE", EPTQ_EXECUTABLE);
    set_field_int(L, "GLA_VALID", EPTQ_GLA_VALID);
    set_field_int(L, "GLA_XLATE", EPTQ_GLA_XLATE);
    set_field_int(L, "UEXECUTABLE", EPTQ_UEXECUTABLE);
    lua_setfield(L, -2, "EPTQ");
    /* EPT entry bits (SDM 29.3.2) and Xen's software fields. */
    lua_createtable(L, 0, 12);
    set_field_int(L, "R", EPT_R);
    set_field_int(L, "W", EPT_W);
    set_field_int(L, "X", EPT_X);
    set_field_int(L, "MT_SHIFT", EPTE_EMT_SHIFT);
    set_field_int(L, "IPAT", EPT_IPAT);
    set_field_int(L, "PS", EPT_PS);
    set_field_int(L, "A", EPT_A);
    set_field_int(L, "D", EPT_D);
    set_field_int(L, "XU", EPT_XU);
    set_field_int(L, "TYPE_SHIFT", EPTE_P2MT_SHIFT);
    set_field_int(L, "ADDR_MASK", EPT_ADDR_MASK);
    lua_setfield(L, -2, "EPTE");
    lua_createtable(L, 0, 5);
    set_field_int(L, "P", PTE_P);
    set_field_int(L, "W", PTE_W);
    set_field_int(L, "U", PTE_U);
    set_field_int(L, "A", PTE_A);
    set_field_int(L, "D", PTE_D);
    set_field_int(L, "NX", PTE_NX);
    set_field_int(L, "PS", PTE_PS);
    set_field_int(L, "G", 1ULL << 8);
    set_field_int(L, "PKEY_SHIFT", 59);
    lua_setfield(L, -2, "PTE");
    lua_pop(L, 1);
}

static void open_sandbox(lua_State *L)
{
    static const luaL_Reg libs[] = {
        { LUA_GNAME, luaopen_base }, { LUA_TABLIBNAME, luaopen_table },
        { LUA_STRLIBNAME, luaopen_string }, { LUA_MATHLIBNAME, luaopen_math },
        { LUA_UTF8LIBNAME, luaopen_utf8 }, { NULL, NULL },
    };
    for (const luaL_Reg *l = libs; l->func; l++) {
        luaL_requiref(L, l->name, l->func, 1);
        lua_pop(L, 1);
    }
    lua_pushglobaltable(L);
    static const char *const removed[] = { "dofile", "loadfile", "load",
                                           "collectgarbage", NULL };
    for (const char *const *n = removed; *n; n++) {
        lua_pushnil(L);
        lua_setfield(L, -2, *n);
    }
    lua_getfield(L, -1, "string");
    lua_pushnil(L);
    lua_setfield(L, -2, "dump");
    lua_pop(L, 1);
    lua_getfield(L, -1, "math");
    lua_pushcfunction(L, l_random);
    lua_setfield(L, -2, "random");
    lua_pushcfunction(L, l_randomseed);
    lua_setfield(L, -2, "randomseed");
    lua_pop(L, 2);
}

static void make_strict(lua_State *L)
{
    lua_pushglobaltable(L);
    lua_createtable(L, 0, 1);
    lua_pushcfunction(L, strict_index);
    lua_setfield(L, -2, "__index");
    lua_setmetatable(L, -2);
    lua_pop(L, 1);
}

static int msghandler(lua_State *L)
{
    const char *msg = lua_tostring(L, 1);
    if (!msg)
        msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    luaL_traceback(L, L, msg, 1);
    return 1;
}

/* ---- running a file ------------------------------------------------------------------ */

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Keeps the first line of a Lua error (the traceback follows). */
static void first_line(char *dst, size_t n, const char *msg)
{
    size_t len = strcspn(msg, "\n");
    if (len >= n)
        len = n - 1;
    memcpy(dst, msg, len);
    dst[len] = 0;
}

/* Runs the scenario in the file at path, or, when text is not NULL, the
 * scenario text under the chunk name path. */
static int run_chunk(const char *path, const char *text,
                     const struct run_opts *opts, struct run_result *res)
{
    memset(res, 0, sizeof(*res));
    double t0 = now_ms();
    int64_t run = -1;
    if (opts->rec) {
        run = rec_run_begin(opts->rec, path, opts->seed, opts->mutants);
        if (run < 0)
            fprintf(stderr, "pagesim: recording %s: %s\n", path,
                    rec_errmsg(opts->rec));
        else if (opts->npt) /* runs.hap: a replay re-runs it as NPT too */
            rec_run_hap(opts->rec, run, "npt");
    }
    struct recorder *rec = run < 0 ? NULL : opts->rec;

    struct lstate *s = calloc(1, sizeof(*s));
    if (!s || eng_init(&s->eng, opts->host_frames, opts->seed, rec, run)) {
        snprintf(res->status, sizeof res->status, "error");
        snprintf(res->message, sizeof res->message, "%s: out of memory", path);
        free(s);
        goto record;
    }
    s->eng.log = opts->log;
    s->eng.cov_sink = opts->cov_sink;
    s->eng.full_check_every = opts->full_check_every;
    s->eng.cov_ctx = opts->cov_ctx;
    s->eng.verbose = opts->verbose;
    s->eng.default_npt = opts->npt;
    s->eng.hook = opts->hook;
    s->mem_limit = opts->mem_limit ? opts->mem_limit : DEFAULT_MEMLIMIT;
    s->budget = opts->instr_budget ? opts->instr_budget : DEFAULT_BUDGET;

    lua_State *L = lua_newstate(l_alloc, s);
    if (!L) {
        snprintf(res->status, sizeof res->status, "error");
        snprintf(res->message, sizeof res->message, "%s: cannot create a Lua state", path);
        goto done;
    }
    *(struct lstate **)lua_getextraspace(L) = s;
    open_sandbox(L);
    open_api(L);
    make_strict(L);
    lua_sethook(L, count_hook, LUA_MASKCOUNT, HOOK_EVERY);

    lua_pushcfunction(L, msghandler);
    int rc;
    if (text) {
        char chunk[300];
        snprintf(chunk, sizeof chunk, "@%s", path);
        rc = luaL_loadbufferx(L, text, strlen(text), chunk, "t");
    } else {
        rc = luaL_loadfilex(L, path, "t");
    }
    if (rc == LUA_OK)
        rc = lua_pcall(L, 0, 0, -2);
    if (rc != LUA_OK) {
        const char *msg = lua_tostring(L, -1);
        snprintf(res->status, sizeof res->status, "error");
        first_line(res->message, sizeof res->message,
                   msg ? msg : (rc == LUA_ERRMEM ? "out of memory (Lua heap limit)"
                                                 : "unknown error"));
        if (rc == LUA_ERRMEM)
            snprintf(res->message, sizeof res->message,
                     "%s: Lua heap limit of %zu MiB exceeded", path, s->mem_limit >> 20);
        if (opts->verbose && msg && opts->log)
            fprintf(opts->log, "%s\n", msg);
    }
    if (rc == LUA_OK) {
        eng_finish_checks(&s->eng);
        eng_finish_expects(&s->eng);
    }
    lua_close(L);

done:
    res->steps = s->eng.step;
    res->failures = s->eng.failures;
    res->divergences = s->eng.divergences;
    eng_digest_hex(&s->eng, res->digest);
    eng_flush_coverage(&s->eng);
    if (rec) {
        char prof[128];
        eng_profiles(&s->eng, prof, sizeof prof);
        if (prof[0])
            rec_run_profile(rec, run, prof);
    }
    if (!res->status[0]) {
        const char *st = res->divergences ? "diverge" : res->failures ? "fail" : "pass";
        snprintf(res->status, sizeof res->status, "%s", st);
        snprintf(res->message, sizeof res->message, "%s", s->eng.first_problem);
    } else if (res->divergences) {
        /* As XTF ranks FAILURE above ERROR: a divergence is a finding about
         * the subject, and a scenario error after it is most likely its
         * consequence, so the run is reported as diverging. */
        char err[sizeof res->message];
        snprintf(err, sizeof err, "%s", res->message);
        snprintf(res->status, sizeof res->status, "diverge");
        snprintf(res->message, sizeof res->message, "%.400s (then: %.300s)",
                 s->eng.first_problem, err);
    }
    eng_fini(&s->eng);
    free(s);

record:
    res->duration_ms = now_ms() - t0;
    if (rec)
        rec_run_end(rec, run, res->status, res->digest, res->steps, res->failures,
                    res->divergences, res->message, res->duration_ms);
    return strcmp(res->status, "pass") != 0;
}

int lapi_run_file(const char *path, const struct run_opts *opts,
                  struct run_result *res)
{
    return run_chunk(path, NULL, opts, res);
}

int lapi_run_string(const char *name, const char *text,
                    const struct run_opts *opts, struct run_result *res)
{
    return run_chunk(name, text, opts, res);
}
