/* SPDX-License-Identifier: MIT */
/*
 * sim/engine/engine.c - steps one scenario through sim + model, mirrors each
 * step in the oracle, compares, records and digests (see engine.h).
 *
 * The trace digest is FNV-1a 64 over each step's canonical text record
 * "op\0args\0result\n" plus every divergence and failure.  Records contain
 * only simulated quantities (gfns, mfns, codes, counts), never addresses of
 * host objects, times or hash-order-dependent data, so the same scenario,
 * seed and mutant set always give the same digest.
 */
#include <fnmatch.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "fmt.h"
#include "pagesim/tlb.h"
#include "pagesim/mutant.h"

#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL

/* One byte of FNV-1a: h ^= byte, h *= prime.  The xor only reaches h's
 * low byte, so on x86-64 it is one `xorb mem, low8` instead of a
 * zero-extending load and a 64-bit xor: two instructions a byte instead
 * of three for the step texts, hashed at every step; the same value. */
static inline uint64_t fnv_byte(uint64_t h, const unsigned char *p)
{
#if defined(__GNUC__) && defined(__x86_64__)
    __asm__("xorb %1, %b0" : "+r"(h) : "m"(*p));
    return h * FNV_PRIME;
#else
    return (h ^ *p) * FNV_PRIME;
#endif
}

/* FNV_PRIME^n mod 2^64: FNV-1a over n zero bytes multiplies by it. */
static uint64_t fnv_prime_pow(uint64_t n)
{
    uint64_t r = 1, b = FNV_PRIME;
    for (; n; n >>= 1, b *= b)
        if (n & 1)
            r *= b;
    return r;
}

/* FNV-1a 64 of the bytes into the digest.  A zero byte only multiplies
 * by the prime, so a run of zero words (log-dirty bitmaps are mostly
 * zeros) is one multiplication by a power: the same digest, in time
 * proportional to the set words. */
static void digest_bytes(struct engine *e, const void *p, size_t n)
{
    const unsigned char *b = p;
    uint64_t h = e->digest, zeros = 0;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, b + i, sizeof w);
        if (!w) {
            zeros += 8;
            continue;
        }
        if (zeros) {
            h *= fnv_prime_pow(zeros);
            zeros = 0;
        }
        for (size_t j = i; j < i + 8; j++)
            h = fnv_byte(h, b + j);
    }
    if (zeros)
        h *= fnv_prime_pow(zeros);
    for (; i < n; i++)
        h = fnv_byte(h, b + i);
    e->digest = h;
}

/* digest_bytes() of s and its terminating NUL (s[len]), from and to h.  A
 * step text has no run of eight zero bytes for digest_bytes()'s shortcut,
 * so its bytes go straight through FNV-1a, eight to a loop turn: the same
 * digest, in about half the instructions (the texts of every step are
 * digested, recorded or not). */
static uint64_t fnv_str(uint64_t h, const char *s, size_t len)
{
    const unsigned char *b = (const unsigned char *)s;
    size_t n = len + 1, i = 0;
    for (; i + 8 <= n; i += 8) {
        h = fnv_byte(h, b + i);
        h = fnv_byte(h, b + i + 1);
        h = fnv_byte(h, b + i + 2);
        h = fnv_byte(h, b + i + 3);
        h = fnv_byte(h, b + i + 4);
        h = fnv_byte(h, b + i + 5);
        h = fnv_byte(h, b + i + 6);
        h = fnv_byte(h, b + i + 7);
    }
    for (; i < n; i++)
        h = fnv_byte(h, b + i);
    return h;
}

static void digest_str(struct engine *e, const char *s)
{
    e->digest = fnv_str(e->digest, s, strlen(s));
}

void eng_digest_hex(const struct engine *e, char out[17])
{
    snprintf(out, 17, "%016" PRIx64, e->digest);
}

/* xoshiro256** seeded through splitmix64, as Lua 5.4's own generator, but
 * with a seed that comes only from the command line. */
static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t eng_rand(struct engine *e)
{
    uint64_t *s = e->rng;
    uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return r;
}

const char *eng_final_name(enum eng_final f)
{
    static const char *const n[] = { "ok", "pf", "mmio", "crash", "gp", "paused",
                                     "blocked", "discard" };
    return (unsigned)f < sizeof n / sizeof n[0] ? n[f] : "?";
}

/* ---- recording ------------------------------------------------------------- */

static void note_problem(struct engine *e, const char *fmt, ...)
{
    if (e->first_problem[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->first_problem, sizeof(e->first_problem), fmt, ap);
    va_end(ap);
}

static void flush_all_tlbs(struct engine *e, const char *op);

/* record_step() of args and result whose lengths the caller knows (the
 * formatters of fmt.h end at them): the three texts digested in a row. */
static void record_step_n(struct engine *e, const char *op, const char *args,
                          size_t args_len, const char *result,
                          size_t result_len)
{
    flush_all_tlbs(e, op);
    e->step++;
    uint64_t h = fnv_str(e->digest, op, strlen(op));
    h = fnv_str(h, args, args_len);
    e->digest = fnv_str(h, result, result_len);
    if (e->rec) {
        rec_step(e->rec, e->run_id, e->step, e->src, op, args, result);
        eng_sample_domains(e, op);
    }
    if (e->verbose && e->log)
        fprintf(e->log, "    %4" PRIu64 " %-16s %-40s -> %s\n", e->step, op,
                args, result);
}

static void record_step(struct engine *e, const char *op, const char *args,
                        const char *result)
{
    record_step_n(e, op, args, strlen(args), result, strlen(result));
}

/* The comparator's sink: one call per disagreement. */
static void divergence(void *ctx, const char *field, const char *expected,
                       const char *actual)
{
    struct engine *e = ctx;
    for (unsigned i = 0; i < e->nexpects; i++) {
        struct eng_expect *x = &e->expects[i];
        if (fnmatch(x->pattern, field, 0))
            continue;
        /* A known finding: visible in the trace and the database, but the
         * run stays green. */
        x->hits++;
        char args[256], res[256];
        snprintf(args, sizeof args, "%s: %s", x->name, field);
        snprintf(res, sizeof res, "oracle %s, model %s", expected, actual);
        digest_str(e, "finding");
        digest_str(e, args);
        digest_str(e, res);
        /* Its own row in steps (a step number of its own, like vmexit
         * rows). */
        e->step++;
        if (e->rec)
            rec_step(e->rec, e->run_id, e->step, e->src, "finding", args, res);
        return;
    }
    e->divergences++;
    digest_str(e, "divergence");
    digest_str(e, field);
    digest_str(e, expected);
    digest_str(e, actual);
    note_problem(e, "%s: divergence in %s: expected %s, got %s", e->src, field,
                 expected, actual);
    if (e->rec)
        rec_divergence(e->rec, e->run_id, e->step, e->src, field, expected,
                       actual);
    if (e->log && e->divergences <= 5)
        fprintf(e->log, "    %s: step %" PRIu64 ": DIVERGENCE %s: expected %s, model %s\n",
                e->src, e->step, field, expected, actual);
}

void eng_failure(struct engine *e, const char *msg)
{
    e->failures++;
    digest_str(e, "failure");
    digest_str(e, msg);
    note_problem(e, "%s", msg);
    if (e->rec)
        rec_failure(e->rec, e->run_id, e->step, e->src, msg);
    if (e->log && e->failures <= 10)
        fprintf(e->log, "    %s\n", msg);
}

void eng_note(struct engine *e, const char *msg)
{
    record_step(e, "log", msg, "");
}

static void check_rc(struct engine *e, const char *what, int expected, int actual)
{
    if (expected != actual) {
        char a[32], b[32], f[64];
        snprintf(a, sizeof a, "%d", expected);
        snprintf(b, sizeof b, "%d", actual);
        snprintf(f, sizeof f, "%s.rc", what);
        divergence(e, f, a, b);
    }
}

static void check_u64(struct engine *e, const char *field, uint64_t expected,
                      uint64_t actual)
{
    if (expected != actual) {
        char a[32], b[32];
        snprintf(a, sizeof a, "%#" PRIx64, expected);
        snprintf(b, sizeof b, "%#" PRIx64, actual);
        divergence(e, field, a, b);
    }
}

/* After every step: the whole state against the flat model, then the
 * invariants of the sim state on its own. */
static void check_state(struct engine *e)
{
    /* Allocation failures are the environment's doing (fault injection or
     * an exhausted heap): tell the oracle which log-dirty marks they cost,
     * it predicts the consequences.  (The slots past dom_end are empty.) */
    for (unsigned i = 0; i < e->host->dom_end; i++) {
        const struct domain *d = e->host->domains[i];
        if (!d)
            continue;
        if (d->ld.failed_allocs < e->ld_failed_seen[i])
            e->ld_failed_seen[i] = 0; /* reset by disable */
        for (unsigned n = e->ld_failed_seen[i]; n < d->ld.failed_allocs; n++)
            oracle_op_logdirty_mark_failed(
                e->oracle, d->id,
                _gfn(d->ld.failed_gfn[n % LOGDIRTY_FAILED_GFNS]));
        e->ld_failed_seen[i] = d->ld.failed_allocs;
    }
    /* Deferred (world_setup()): the change logs below keep accumulating
     * until eng_checks_resume() checks them all at once. */
    if (e->defer_checks)
        return;
    /* The checks decode only what changed since the previous step
     * (oracle_check(); same reports as the full checks), and every
     * full_check_every-th check decodes everything again. */
    unsigned every = e->full_check_every ? e->full_check_every : ENG_FULL_CHECK_EVERY;
    bool full = every == 1 || e->nchecks % every == 0;
    e->nchecks++;
    /* Host memory's change logs (model/hostmem.c) tell the checks which
     * frames' bytes and which frames' metadata changed since the previous
     * check, in time proportional to the changes; they restart for the
     * next step. */
    size_t nw, nm;
    const uint64_t *w = hostmem_written_list(e->host->mem, &nw);
    const uint64_t *m = hostmem_meta_list(e->host->mem, &nm);
    oracle_check_skip_gfns(e->oracle, MUTANT(MUT_CHECK_SKIP_GFN_MARK));
    oracle_check(e->oracle, e->host, full, w, nw, hostmem_written_lines(e->host->mem),
                 m, nm, divergence, e);
    hostmem_written_clear(e->host->mem);
    hostmem_meta_clear(e->host->mem);
}

void eng_finish_checks(struct engine *e)
{
    /* The end of a run: the last check again, in full; oracle.incremental
     * if it disagrees. */
    oracle_check_verify(e->oracle, e->host, divergence, e);
}

/* ---- domain coverage ------------------------------------------------------------ */

void eng_cover(struct engine *e, const char *kind, const char *fmt, ...)
{
    /* Counted only for a consumer (the database, the fuzzer's feedback):
     * without one, formatting the key was a few percent of every step. */
    if (!eng_covering(e))
        return;
    char key[sizeof(e->cov->key)];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(key, sizeof key, fmt, ap);
    va_end(ap);
    for (size_t i = 0; i < e->ncov; i++)
        if (!strcmp(e->cov[i].key, key) && !strcmp(e->cov[i].kind, kind)) {
            e->cov[i].n++;
            return;
        }
    if (e->ncov == e->capcov) {
        size_t cap = e->capcov ? 2 * e->capcov : 64;
        struct eng_cov *c = realloc(e->cov, cap * sizeof(*c));
        if (!c)
            return;
        e->cov = c;
        e->capcov = cap;
    }
    struct eng_cov *c = &e->cov[e->ncov++];
    snprintf(c->kind, sizeof c->kind, "%s", kind);
    snprintf(c->key, sizeof c->key, "%s", key);
    c->n = 1;
}

static int cov_cmp(const void *a, const void *b)
{
    const struct eng_cov *x = a, *y = b;
    int c = strcmp(x->kind, y->kind);
    return c ? c : strcmp(x->key, y->key);
}

void eng_flush_coverage(struct engine *e)
{
    if (!e->ncov)
        return;
    qsort(e->cov, e->ncov, sizeof(*e->cov), cov_cmp);
    for (size_t i = 0; i < e->ncov; i++) {
        if (e->rec)
            rec_coverage(e->rec, e->run_id, e->cov[i].kind, e->cov[i].key, e->cov[i].n);
        if (e->cov_sink)
            e->cov_sink(e->cov_ctx, e->cov[i].kind, e->cov[i].key, e->cov[i].n);
    }
}

static const char *type_at(const struct domain *d, gfn_t gfn)
{
    p2m_type_t t;
    p2m_access_t a;
    if (gfn_x(gfn) >= d->max_gfn)
        return "out_of_range";
    p2m_get_entry(d, gfn, &t, &a);
    return p2m_type_name(t);
}

static const char *npf_result_name(enum npf_result r)
{
    static const char *const n[] = { "retry", "mmio", "crash", "paused", "wait_slot",
                                     "spin", "discard" };
    return (unsigned)r < sizeof n / sizeof n[0] ? n[r] : "?";
}

/* (op, type before -> type after) or (op, type before, error). */
static void cover_p2m(struct engine *e, const char *op, const char *before,
                      const struct domain *d, gfn_t gfn, int rc)
{
    if (!eng_covering(e))
        return; /* before is NULL then; type_at() is a P2M walk */
    if (rc)
        eng_cover(e, "p2m", "%s:%s:rc=%d", op, before, rc);
    else
        eng_cover(e, "p2m", "%s:%s->%s", op, before, type_at(d, gfn));
}

/* ---- lifecycle ------------------------------------------------------------------ */

int eng_init(struct engine *e, uint64_t nr_frames, uint64_t seed,
             struct recorder *rec, int64_t run_id)
{
    memset(e, 0, sizeof(*e));
    if (!nr_frames)
        nr_frames = ENG_DEFAULT_FRAMES;
    e->host = host_new(nr_frames);
    e->oracle = oracle_new(nr_frames);
    if (!e->host || !e->oracle) {
        eng_fini(e);
        return -ENOMEM;
    }
    e->rec = rec;
    e->run_id = run_id;
    e->digest = FNV_OFFSET;
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        e->rng[i] = splitmix64(&x);
    snprintf(e->src, sizeof(e->src), "?");
    return 0;
}

void eng_fini(struct engine *e)
{
    for (unsigned i = 0; i < e->nvcpus; i++) {
        tlb_destroy(e->vcpus[i]->tlb);
        oracle_tlbset_destroy(e->vcpus[i]->tset);
        free(e->vcpus[i]);
    }
    e->nvcpus = 0;
    if (e->host)
        host_destroy(e->host);
    if (e->oracle)
        oracle_destroy(e->oracle);
    e->host = NULL;
    e->oracle = NULL;
    free(e->cov);
    e->cov = NULL;
    e->ncov = e->capcov = 0;
}

int eng_set_host_frames(struct engine *e, uint64_t nr_frames)
{
    for (unsigned i = 0; i < SIM_MAX_DOMAINS; i++)
        if (e->host->domains[i])
            return -EBUSY;
    struct host *h = host_new(nr_frames);
    struct oracle *o = oracle_new(nr_frames);
    if (!h || !o) {
        if (h)
            host_destroy(h);
        if (o)
            oracle_destroy(o);
        return -ENOMEM;
    }
    host_destroy(e->host);
    oracle_destroy(e->oracle);
    e->host = h;
    e->oracle = o;
    char args[64];
    snprintf(args, sizeof args, "frames=%" PRIu64, nr_frames);
    record_step(e, "host", args, "rc=0");
    return 0;
}

struct domain *eng_domain_create(struct engine *e, const char *name,
                                 uint64_t max_gfn, int *rc)
{
    struct domain *d = domain_create(e->host, name, max_gfn);
    char args[96], res[64];
    snprintf(args, sizeof args, "name=%s gfns=%#" PRIx64, name, max_gfn);
    if (d) {
        oracle_op_domain_create(e->oracle, d->id, max_gfn);
        oracle_op_ept_config(e->oracle, d->id, mfn_x(d->ept_root), d->ept_ad);
        snprintf(res, sizeof res, "d=%u", d->id);
        *rc = 0;
    } else {
        snprintf(res, sizeof res, "rc=%d", -ENOMEM);
        *rc = -ENOMEM;
    }
    record_step(e, "domain_create", args, res);
    check_state(e);
    return d;
}

void eng_domain_destroy(struct engine *e, struct domain *d)
{
    char args[32];
    domid_t id = d->id;
    snprintf(args, sizeof args, "d=%u", id);
    for (unsigned i = 0; i < e->nvcpus; i++)
        if (e->vcpus[i] && e->vcpus[i]->d == d)
            e->vcpus[i]->d = NULL;
    domain_destroy(d);
    oracle_op_domain_destroy(e->oracle, id);
    record_step(e, "domain_destroy", args, "rc=0");
    check_state(e);
}

struct vcpu *eng_vcpu_create(struct engine *e, struct domain *d)
{
    if (e->nvcpus >= ENG_MAX_VCPUS)
        return NULL;
    struct vcpu *v = calloc(1, sizeof(*v));
    if (!v)
        return NULL;
    unsigned id = 0;
    for (unsigned i = 0; i < e->nvcpus; i++)
        if (e->vcpus[i]->d == d)
            id++;
    v->d = d;
    v->id = id;
    if (id + 1 > d->nr_vcpus)
        d->nr_vcpus = id + 1;
    oracle_op_vcpu_created(e->oracle, d->id, id);
    /* vmx_vcpu_initialise(): a vCPU created while PML is on gets its log
     * at once (a full heap: it runs without, as the log-less vCPU of an
     * enable that could not allocate would not exist in Xen). */
    if (d->pml_on && !pml_vcpu_enable(d, id))
        oracle_op_pml_log(e->oracle, d->id, id, hpa_x(d->pml[id].log));
    /* 64-bit mode with paging, as a guest kernel leaves it. */
    v->cpu.cr0 = X86_CR0_PG | X86_CR0_WP | 1 /* PE */;
    v->cpu.cr4 = X86_CR4_PAE;
    v->cpu.efer = X86_EFER_LME | X86_EFER_LMA | X86_EFER_NXE;
    /* The default CPU profile (recorded in the step): its MAXPHYADDR. */
    v->cpu.maxphyaddr = cpu_profile_intel.maxphyaddr;
    e->vcpus[e->nvcpus++] = v;
    char args[64], res[32];
    snprintf(args, sizeof args, "d=%u profile=%s", d->id, cpu_profile_intel.name);
    snprintf(res, sizeof res, "v=%u", id);
    record_step(e, "vcpu_create", args, res);
    return v;
}

/* Is name one of the comma-separated words of list? */
static bool list_has(const char *list, const char *name)
{
    size_t l = strlen(name);
    for (const char *p = list; *p;) {
        if (!strncmp(p, name, l) && (p[l] == ',' || p[l] == '\0'))
            return true;
        const char *c = strchr(p, ',');
        if (!c)
            break;
        p = c + 1;
    }
    return false;
}

void eng_profiles(const struct engine *e, char *buf, size_t len)
{
    size_t n = 0;
    buf[0] = '\0';
    for (unsigned i = 0; i < e->nvcpus; i++) {
        const struct vcpu *v = e->vcpus[i];
        const char *name = v->tlb ? tlb_profile(v->tlb)->name : cpu_profile_intel.name;
        size_t l = strlen(name);
        if (list_has(buf, name) || n + l + 2 > len)
            continue;
        n += (size_t)snprintf(buf + n, len - n, "%s%s", n ? "," : "", name);
    }
}

/* ---- the EPT as hardware (issue 4) ----------------------------------------------------- */

int eng_ept_config(struct engine *e, struct domain *d, bool ad, bool pml)
{
    /* EPTP bit 6 is part of the VMCS Xen builds for the domain's vCPUs
     * (vmx_domain_update_eptp()); here it is set once, before the first
     * access, so no TLB holds translations of the other setting.  PML
     * needs it (Xen enables PML only with EPT A/D). */
    d->ept_ad = ad || pml;
    d->pml_mode = pml;
    oracle_op_ept_config(e->oracle, d->id, mfn_x(d->ept_root), d->ept_ad);
    if (pml)
        oracle_op_pml_config(e->oracle, d->id);
    char args[64];
    snprintf(args, sizeof args, "d=%u ad=%d pml=%d", d->id, d->ept_ad, pml);
    record_step(e, "ept_config", args, "rc=0");
    return 0;
}

int eng_hap_config(struct engine *e, struct domain *d, bool npt)
{
    /* p2m_initialise() chooses the P2M format with the domain, before
     * anything is mapped (domain{ hap = } calls this at once). */
    int rc = p2m_set_hap(d, npt);
    if (!rc)
        oracle_op_hap_config(e->oracle, d->id, npt);
    char args[48], res[16];
    snprintf(args, sizeof args, "d=%u hap=%s", d->id, npt ? "npt" : "ept");
    snprintf(res, sizeof res, "rc=%d", rc);
    record_step(e, "hap_config", args, res);
    return rc;
}

void eng_shadow_config(struct engine *e, struct domain *d)
{
    /* Xen decides paging_mode_hap()/shadow at domain creation (the
     * XEN_DOMCTL_CDF_hap flag); before anything is mapped or run. */
    d->shadow = true;
    oracle_op_shadow(e->oracle, d->id);
    char args[32];
    snprintf(args, sizeof args, "d=%u hap=none", d->id);
    record_step(e, "hap_config", args, "rc=0");
}

int eng_ept_set_raw(struct engine *e, struct domain *d, gpa_t gpa,
                    unsigned level, uint64_t value)
{
    int rc = d->npt ? p2m_npt_raw_set(d, gpa, level, value)
                    : p2m_ept_raw_set(d, gpa, level, value);
    if (!rc && d->npt) {
        /* An NPT leaf as p2m_pt_get_entry() reads it: level 1, or PS at
         * level 2/3; a type other than p2m_invalid (an entry without any
         * flag is p2m_invalid). */
        bool leaf = level == 1 || ((level == 2 || level == 3) && (value & PTE_PS));
        bool any = (value & 0xFFFULL) || (value >> 52);
        bool valid = any && ((value >> 52) & 0x7F) != p2m_invalid;
        oracle_op_ept_raw(e->oracle, d->id, gfn_x(gpa_to_gfn(gpa)), level,
                          leaf && valid);
    } else if (!rc) {
        /* A leaf as ept_get_entry() reads it: level 1, or a present PDE /
         * PDPTE with bit 7; valid if non-zero (bit 63 aside) and not
         * p2m_invalid (is_epte_valid()). */
        bool leaf = level == 1 || ((level == 2 || level == 3) && (value & 7)
                                   && (value & EPT_PS));
        unsigned t = (unsigned)((value & EPTE_P2MT_MASK) >> EPTE_P2MT_SHIFT);
        bool valid = (value & ~(1ULL << 63)) && t != p2m_invalid;
        oracle_op_ept_raw(e->oracle, d->id, gfn_x(gpa_to_gfn(gpa)), level,
                          leaf && valid);
    }
    char args[96], res[24];
    snprintf(args, sizeof args, "d=%u gpa=%#" PRIx64 " level=%u val=%#" PRIx64,
             d->id, gpa_x(gpa), level, value);
    snprintf(res, sizeof res, "rc=%d", rc);
    record_step(e, d->npt ? "npt_set_raw" : "ept_set_raw", args, res);
    check_state(e);
    return rc;
}

/* The step texts of the most frequent steps are formatted with fmt.h's
 * put_*() (the same bytes as "%u", "%d" and "%#" PRIx64). */

/* snprintf(dst, len, "%s", src) without the printf machinery. */
static void cut_copy(char *dst, size_t len, const char *src)
{
    size_t n = strlen(src);
    if (n >= len)
        n = len - 1;
    memcpy(dst, src, n);
    dst[n] = 0;
}

unsigned eng_psc_seed(struct engine *e, struct domain *d)
{
    uint64_t root = mfn_x(d->ept_root);
    unsigned added = 0;
    for (unsigned i = 0; i < e->nvcpus; i++) {
        struct vcpu *v = e->vcpus[i];
        if (v->d != d || !v->tlb || !v->tset || d->shadow)
            continue;
        if (d->npt) {
            struct tlb_npsc_ent me[ORACLE_MAX_NPSC_START];
            unsigned nm = tlb_npsc_list(v->tlb, root, v->vpid, me, ORACLE_MAX_NPSC_START);
            for (unsigned j = 0; j < nm; j++) {
                struct oracle_npsc q = { (unsigned)me[j].level, me[j].gpa_prefix,
                                         me[j].table_hpa, (me[j].rights & PTE_U) != 0,
                                         (me[j].rights & PTE_W) != 0,
                                         (me[j].rights & PTE_NX) != 0 };
                if (oracle_npt_entry_current(e->host->mem, e->host->nr_frames, root, &q)) {
                    oracle_tlbset_npsc_add(v->tset, v->vpid, root, &q);
                    added++;
                }
            }
            continue;
        }
        struct tlb_epsc_ent me[ORACLE_MAX_EPSC_START];
        unsigned nm = tlb_epsc_list(v->tlb, root, me, ORACLE_MAX_EPSC_START);
        for (unsigned j = 0; j < nm; j++) {
            struct oracle_epsc q = { (unsigned)me[j].level, me[j].gpa_prefix,
                                     me[j].table_hpa,
                                     (unsigned)(me[j].rights & 7)
                                         | ((me[j].rights & EPT_XU) ? 8u : 0u) };
            if (oracle_ept_entry_current(e->host->mem, e->host->nr_frames, root, 4, &q)) {
                oracle_tlbset_epsc_add(v->tset, root, &q);
                added++;
            }
        }
    }
    return added;
}

/* ---- hypervisor operations --------------------------------------------------------- */

int eng_populate(struct engine *e, struct domain *d, gfn_t gfn, mfn_t *out)
{
    mfn_t m = INVALID_MFN;
    const char *before = eng_covering(e) ? type_at(d, gfn) : NULL;
    int rc = guest_populate_page(d, gfn, &m);
    cover_p2m(e, "populate", before, d, gfn, rc);
    int erc = oracle_op_populate(e->oracle, d->id, gfn, rc ? INVALID_MFN : m,
                                 rc == -ENOMEM);
    /* "d=%u gfn=%#" PRIx64 and "rc=%d mfn=%#" PRIx64 (see put_dec()) */
    char args[64], res[64];
    *put_hex(put_str(put_dec(put_str(args, "d="), d->id, false), " gfn="), gfn_x(gfn)) = 0;
    *put_hex(put_str(put_int(put_str(res, "rc="), rc), " mfn="),
             rc ? UINT64_MAX : mfn_x(m)) = 0;
    record_step(e, "populate", args, res);
    check_rc(e, "populate", erc, rc);
    check_state(e);
    if (out)
        *out = rc ? INVALID_MFN : m;
    return rc;
}

int eng_remove(struct engine *e, struct domain *d, gfn_t gfn)
{
    const char *before = eng_covering(e) ? type_at(d, gfn) : NULL;
    struct eng_p2m_note nm = eng_p2m_nomem_begin(e, d);
    eng_alloc_hint(e, d); /* a shared gfn is unshared first */
    int rc = guest_remove_page(d, gfn);
    eng_p2m_nomem_end(e, nm, rc);
    cover_p2m(e, "remove", before, d, gfn, rc);
    int erc = oracle_op_remove(e->oracle, d->id, gfn);
    eng_p2m_nomem_reset(e);
    char extra[48];
    *put_hex(put_str(extra, "gfn="), gfn_x(gfn)) = 0; /* "gfn=%#" PRIx64 */
    eng_step_rc(e, "remove", d, extra, erc, rc);
    return rc;
}

int eng_set_type(struct engine *e, struct domain *d, gfn_t gfn, p2m_type_t t)
{
    const char *before = eng_covering(e) ? type_at(d, gfn) : NULL;
    struct eng_p2m_note nm = eng_p2m_nomem_begin(e, d);
    eng_alloc_hint(e, d); /* a shared gfn is unshared first */
    int rc = p2m_set_type(d, gfn, t);
    eng_p2m_nomem_end(e, nm, rc);
    cover_p2m(e, "set_type", before, d, gfn, rc);
    int erc = oracle_op_set_type(e->oracle, d->id, gfn, t);
    eng_p2m_nomem_reset(e);
    char extra[80]; /* "gfn=%#" PRIx64 " type=%s" */
    *put_str(put_str(put_hex(put_str(extra, "gfn="), gfn_x(gfn)), " type="),
             p2m_type_name(t)) = 0;
    eng_step_rc(e, "set_type", d, extra, erc, rc);
    return rc;
}

int eng_copy_to_guest(struct engine *e, struct domain *d, gpa_t gpa,
                      uint64_t value, unsigned width)
{
    eng_alloc_hint(e, d); /* a shared page is unshared first */
    int rc = hvm_copy_to_guest_phys(d, gpa, &value, width);
    if (eng_covering(e))
        eng_cover(e, "p2m", "copy_to_guest:%s:rc=%d", type_at(d, gpa_to_gfn(gpa)), rc);
    int erc = oracle_op_copy_to_guest(e->oracle, d->id, gpa, width);
    /* "gpa=%#" PRIx64 " w=%u val=%#" PRIx64 (put_dec(); at most 56 bytes) */
    char extra[96];
    *put_hex(put_str(put_dec(put_str(put_hex(put_str(extra, "gpa="), gpa_x(gpa)), " w="),
                             width, false), " val="), value) = 0;
    eng_step_rc(e, "copy_to_guest", d, extra, erc, rc);
    return rc;
}

int eng_copy_from_guest(struct engine *e, struct domain *d, gpa_t gpa,
                        unsigned width, uint64_t *value)
{
    *value = 0;
    int rc = hvm_copy_from_guest_phys(d, value, gpa, width);
    /* "d=%u gpa=%#" PRIx64 " w=%u" and "rc=%d val=%#" PRIx64 (put_dec();
     * at most 46 and 33 bytes) */
    char args[64], res[64];
    *put_dec(put_str(put_hex(put_str(put_dec(put_str(args, "d="), d->id, false), " gpa="),
                             gpa_x(gpa)), " w="), width, false) = 0;
    *put_hex(put_str(put_int(put_str(res, "rc="), rc), " val="), *value) = 0;
    int erc = oracle_op_copy_from_guest(e->oracle, d->id, gpa, width);
    record_step(e, "copy_from_guest", args, res);
    check_rc(e, "copy_from_guest", erc, rc);
    check_state(e);
    return rc;
}

int eng_logdirty_enable(struct engine *e, struct domain *d)
{
    /* The oracle sees the heap as the enable finds it: logdirty_mode
     * "bitmap" needs a free block of the bitmap's order. */
    int erc = oracle_op_logdirty_enable_heap(e->oracle, d->id, e->host);
    int rc = paging_log_dirty_enable(d);
    eng_cover(e, "logdirty", "enable:rc=%d", rc);
    /* With PML: where the sim put each vCPU's log (allocation order is
     * not specified behaviour, the log's contents are). */
    for (unsigned v = 0; d->pml_on && v < d->nr_vcpus; v++)
        oracle_op_pml_log(e->oracle, d->id, v, hpa_x(d->pml[v].log));
    eng_step_rc(e, "logdirty_enable", d, "", erc, rc);
    return rc;
}

int eng_logdirty_disable(struct engine *e, struct domain *d)
{
    int rc = paging_log_dirty_disable(d);
    eng_cover(e, "logdirty", "disable:rc=%d", rc);
    int erc = oracle_op_logdirty_disable(e->oracle, d->id);
    eng_step_rc(e, "logdirty_disable", d, "", erc, rc);
    return rc;
}

int eng_logdirty_op(struct engine *e, struct domain *d, bool clean,
                    uint64_t pages, uint8_t *bitmap,
                    struct log_dirty_stats *stats)
{
    size_t bytes = (pages + 7) / 8;
    struct eng_ld_call c = { .clean = clean, .pages = pages, .bitmap = bitmap,
                             .expect = calloc(bytes ? bytes : 1, 1) };
    int rc = eng_logdirty_call(e, d, &c);
    *stats = c.stats;
    free(c.expect);
    return rc;
}

int eng_logdirty_call(struct engine *e, struct domain *d, struct eng_ld_call *c)
{
    size_t bytes = (c->pages + 7) / 8;
    uint64_t want = c->pages, got_pages = c->pages;
    memset(&c->stats, 0, sizeof(c->stats));
    if (!c->resuming) {
        memset(c->bitmap, 0, bytes);
        memset(c->expect, 0, bytes);
    }
    /* The oracle reads its bitmap before the op changes it. */
    struct oracle_ld_call oc = { .clean = c->clean, .preempt = c->preempt,
                                 .resuming = c->resuming, .pages = want,
                                 .bitmap = c->expect };
    int erc = oracle_op_logdirty_call(e->oracle, d->id, &oc);
    int rc = paging_log_dirty_op_ex(d, c->clean, &got_pages, c->bitmap,
                                    &c->stats, c->preempt, c->resuming);
    c->pages = rc ? want : got_pages;
    const char *opname = c->resuming ? "logdirty_continue"
                         : c->clean  ? "logdirty_clean" : "logdirty_peek";
    eng_cover(e, "logdirty", "%s:rc=%d", c->resuming ? "continue"
              : c->clean ? "clean" : "peek", rc);
    char args[80], res[96];
    uint64_t ndirty = 0;
    size_t i = 0;
    /* 64 bits at a time: a 2^24-gfn domain's bitmap is 2 MiB */
    for (; i + 8 <= bytes; i += 8) {
        uint64_t w;
        memcpy(&w, c->bitmap + i, sizeof w);
        if (w)
            ndirty += (uint64_t)__builtin_popcountll(w);
    }
    for (; i < bytes; i++)
        ndirty += (uint64_t)__builtin_popcount(c->bitmap[i]);
    /* "d=%u pages=%#" PRIx64 "%s%s" and "rc=%d pages=%#" PRIx64 " dirty=%"
     * PRIu64 " dirty_count=%" PRIu64 (put_dec()), cut where snprintf()
     * would cut them */
    char wide[160];
    char *a = put_hex(put_str(put_dec(put_str(wide, "d="), d->id, false), " pages="), want);
    *put_str(put_str(a, c->preempt ? " preempt" : ""),
             c->resuming && c->clean ? " clean" : "") = 0;
    cut_copy(args, sizeof args, wide);
    a = put_dec(put_str(put_hex(put_str(put_int(put_str(wide, "rc="), rc), " pages="),
                                c->pages), " dirty="), ndirty, false);
    *put_dec(put_str(a, " dirty_count="), c->stats.dirty_count, false) = 0;
    cut_copy(res, sizeof res, wide);
    /* The bitmap's content is part of the trace. */
    digest_bytes(e, c->bitmap, bytes);
    record_step(e, opname, args, res);
    check_rc(e, opname, erc, rc);
    if (rc == erc && (!rc || rc == -ERESTART || rc == -ENOMEM))
        check_u64(e, "logdirty.dirty_count", oc.dirty_count, c->stats.dirty_count);
    if (!rc && !erc) {
        check_u64(e, "logdirty.pages", oc.pages, c->pages);
        for (uint64_t g = 0; g < want; g++) {
            /* 64 gfns at a time while both bitmaps agree */
            if (!(g & 63) && (g + 64) / 8 <= bytes &&
                !memcmp(c->expect + g / 8, c->bitmap + g / 8, 8)) {
                g += 63;
                continue;
            }
            if (c->expect[g / 8] == c->bitmap[g / 8]) {
                g |= 7; /* the whole byte agrees */
                continue;
            }
            bool x = c->expect[g / 8] >> (g % 8) & 1, a = c->bitmap[g / 8] >> (g % 8) & 1;
            if (x != a) {
                char f[64];
                snprintf(f, sizeof f, "logdirty.bitmap[%#" PRIx64 "]", g);
                divergence(e, f, x ? "dirty" : "clean", a ? "dirty" : "clean");
            }
        }
    }
    check_state(e);
    return rc;
}

/* ---- TLBs (issue 4) ------------------------------------------------------------------ */

/* After a hypervisor operation the P2M may have changed: Xen's
 * ept_sync_domain() flushes (INVEPT) -- here every vCPU with TLBs, and the
 * oracle's sets with them.  Guest copies, accesses and notes do not. */
static void flush_all_tlbs(struct engine *e, const char *op)
{
    static const char *const keep[] = { "read", "write", "exec",
                                        "copy_to_guest", "copy_from_guest",
                                        "log", "vcpu_create", "tlb" };
    /* Nothing to flush and no skip pending: the names need not be
     * compared (most steps of hypervisor-only runs). */
    bool any = e->skip_flush_once;
    for (unsigned i = 0; i < e->nvcpus && !any; i++)
        any = e->vcpus[i]->tlb != NULL;
    if (!any)
        return;
    for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++)
        if (!strcmp(op, keep[i]))
            return;
    if (e->skip_flush_once) { /* a raw write in the window before the flush */
        e->skip_flush_once = false;
        return;
    }
    for (unsigned i = 0; i < e->nvcpus; i++) {
        struct vcpu *v = e->vcpus[i];
        if (!v->tlb)
            continue;
        tlb_invept(v->tlb, 2, 0);
        oracle_tlbset_invept(v->tset, 2, 0);
    }
}

/* The oracle's view of a vCPU's translation state. */
static struct oracle_cpu oracle_cpu_of(const struct vcpu *v)
{
    struct oracle_cpu oc = { .cr0 = v->cpu.cr0, .cr3 = v->cpu.cr3,
                             .cr4 = v->cpu.cr4, .efer = v->cpu.efer,
                             .cpl = v->cpu.cpl };
    oc.rflags = v->cpu.rflags;
    oc.pkru = v->cpu.pkru;
    oc.pkrs = v->cpu.pkrs;
    oc.maxphyaddr = v->cpu.maxphyaddr;
    oc.implicit = v->cpu.implicit;
    oc.mbec = v->mbec;
    return oc;
}

/* SDM 4.4.1: in PAE mode a MOV CR3, or a MOV CR0/CR4 that changes paging,
 * loads the four PDPTE registers, which walks then use until the next
 * load: the model's (tlb_pae_load()) and, read on its own, the oracle's.
 * Only vCPUs with TLBs keep them (without, every walk reads the PDPT).
 * 'what' names the instruction ("mov_cr3", "mov_cr") in divergences;
 * can_fault says it is one (not the TLBs being switched on).
 * - A present PDPTE with a reserved bit makes the load a #GP(0): both
 *   sides keep their registers and true is returned for the caller to
 *   undo the instruction (MOV CR3: CR3 unchanged; MOV CR0/CR4: CR0, CR4
 *   and EFER).
 * - A PDPTE the EPT does not let the load read (SDM 29.3.3.2) is an EPT
 *   violation VM exit without a guest-linear address (Table 28-7 bit 7
 *   clear): the hypervisor handles it (ept_handle_violation() ->
 *   hvm_hap_nested_page_fault(), gla invalid) and, when it fixed the
 *   entry up, the guest re-executes the MOV; otherwise the MOV does not
 *   complete (domain crashed -- a misconfiguration, no P2M entry, or
 *   mmio_dm, whose emulated MOV ends in vmx_load_pdptrs() crashing the
 *   domain for want of a RAM page -- or the vCPU paused / asleep for a
 *   listener or the pager): true, undone like the #GP.  The oracle
 *   predicts the exits and their handling (oracle_pae_load_mov()); kind,
 *   qualification and gpa of each are compared.  Under EPT A/D the load
 *   sets EPT accessed flags (a read: no dirty flag, SDM 29.3.5), compared
 *   with the oracle's prediction; under NPT nothing is loaded (the PDPEs
 *   are read per walk, tlb_pae_load()).  Under shadow paging
 *   (the hypervisor reads the PDPTEs itself) and when the TLBs are
 *   switched on, an untranslatable PDPTE just leaves the registers
 *   unloaded.  res (if not NULL) gets the step's result words. */
static bool pae_load_as(struct engine *e, struct vcpu *v, bool can_fault,
                        const char *what, char *res, size_t rlen)
{
    static const enum eng_final fmap[] = { [OR_OK] = EF_OK, [OR_PF] = EF_PF,
                                           [OR_MMIO] = EF_MMIO, [OR_CRASH] = EF_CRASH,
                                           [OR_GP] = EF_GP, [OR_PAUSED] = EF_PAUSED,
                                           [OR_BLOCKED] = EF_BLOCKED,
                                           [OR_DISCARD] = EF_DISCARD };
    if (res && rlen)
        res[0] = 0;
    if (!v->tlb || !v->d || !v->tset)
        return false;
    struct domain *d = v->d;
    struct mmu_ept pept = { .root = d->ept_root, .ad = d->ept_ad, .mbec = v->mbec,
                            .npt = d->npt, .shadow = d->shadow };
    bool exits = can_fault && !d->shadow;
    /* The oracle first: its prediction includes the handler's effects. */
    struct oracle_cpu oc = oracle_cpu_of(v);
    uint64_t regs[4] = { 0 };
    bool ogp = false, ok;
    struct oracle_expect ox;
    oracle_set_vcpu(e->oracle, v->id);
    if (exits) {
        ok = oracle_pae_load_mov(e->oracle, d->id, &oc, e->host->mem, regs, &ogp, &ox);
    } else {
        ok = oracle_pae_load_x(e->oracle, d->id, &oc, e->host->mem, regs, &ogp, &ox);
        ox.final = ogp ? OR_GP : OR_OK;
    }
    /* The model: load; an exit goes to the handler, a fix-up re-executes. */
    enum eng_final mf = EF_OK;
    struct eng_exit mx[ENG_MAX_EXITS];
    unsigned nmx = 0;
    bool mgp = false;
    for (;;) {
        (void)tlb_pae_load(v->tlb, e->host->mem, &v->cpu, &pept);
        mgp = tlb_pae_gp(v->tlb);
        enum mmu_outcome kind;
        uint64_t qual, gpa;
        if (!tlb_pae_exit(v->tlb, &kind, &qual, &gpa)) {
            mf = mgp ? EF_GP : EF_OK;
            break;
        }
        if (!exits) {
            tlb_pae_clear(v->tlb); /* unloaded: walks read the PDPT */
            break;
        }
        if (nmx == ENG_MAX_EXITS) {
            mf = EF_CRASH; /* every attempt exits: a livelock */
            break;
        }
        mx[nmx++] = (struct eng_exit){ .kind = kind, .qual = qual, .gpa = _gpa(gpa),
                                       .gla = _gva(0) };
        const struct cpu_profile *p = tlb_profile(v->tlb);
        v->cycles += p->lat_vmexit;
        eng_cover(e, "ept_qual", "%#" PRIx64, qual);
        if (kind != MMU_EPT_VIOLATION) {
            mf = EF_CRASH; /* ept_handle_misconfig() fails: domain_crash() */
            eng_cover(e, "npf", "misconfig->crash");
            break;
        }
        const char *t = type_at(d, gpa_to_gfn(_gpa(gpa)));
        enum npf_result npf = hvm_hap_nested_page_fault_vcpu(d, v->id, _gpa(gpa),
                                                             qual, _gva(0));
        eng_cover(e, "npf", "%s:pdpte_load->%s", t, npf_result_name(npf));
        if (npf == NPF_RETRY)
            continue;
        mf = npf == NPF_PAUSED                           ? EF_PAUSED
             : npf == NPF_WAIT_SLOT || npf == NPF_SPIN ? EF_BLOCKED
                                                       : EF_CRASH;
        break;
    }
    char f[64];
    if (mgp != ogp) {
        snprintf(f, sizeof f, "%s.pdpte_gp", what);
        divergence(e, f, ogp ? "#GP" : "no fault", mgp ? "#GP" : "no fault");
    } else if (fmap[ox.final] != mf) {
        snprintf(f, sizeof f, "%s.pdpte_load", what);
        divergence(e, f, eng_final_name(fmap[ox.final]), eng_final_name(mf));
    }
    snprintf(f, sizeof f, "%s.pdpte_exits", what);
    check_u64(e, f, ox.nexits, nmx);
    /* The EPT accessed flags the load set (EPT A/D, SDM 29.3.5: a read,
     * so no dirty flag), as the oracle's raw walker predicted them. */
    for (unsigned i = 0; i < ox.nept; i++) {
        uint64_t got = 0;
        hostmem_read64(e->host->mem, ox.ept[i].hpa, &got);
        snprintf(f, sizeof f, "%s.ept_entry@hpa%#" PRIx64, what, hpa_x(ox.ept[i].hpa));
        check_u64(e, f, ox.ept[i].value, got);
    }
    for (unsigned i = 0; i < nmx && i < ox.nexits; i++) {
        int kind = mx[i].kind == MMU_EPT_VIOLATION ? OR_EXIT_EPT_VIOLATION
                                                   : OR_EXIT_EPT_MISCONFIG;
        snprintf(f, sizeof f, "%s.pdpte_exit[%u].kind", what, i);
        check_u64(e, f, (uint64_t)ox.exits[i].kind, (uint64_t)kind);
        snprintf(f, sizeof f, "%s.pdpte_exit[%u].qual", what, i);
        check_u64(e, f, ox.exits[i].qual, mx[i].qual);
        snprintf(f, sizeof f, "%s.pdpte_exit[%u].gpa", what, i);
        check_u64(e, f, gpa_x(ox.exits[i].gpa), gpa_x(mx[i].gpa));
    }
    bool done = ox.final == OR_OK;
    if (done || !can_fault)
        oracle_tlbset_pae_set(v->tset, ok, v->cpu.cr3, regs);
    if (mgp && !can_fault)
        tlb_pae_clear(v->tlb);
    for (unsigned i = 0; i < nmx; i++) {
        char xa[96];
        snprintf(xa, sizeof xa, "%s qual=%#" PRIx64 " gpa=%#" PRIx64 " (pdpte load)",
                 mx[i].kind == MMU_EPT_VIOLATION ? "ept_violation" : "ept_misconfig",
                 mx[i].qual, gpa_x(mx[i].gpa));
        digest_str(e, xa);
        if (e->rec)
            rec_step(e->rec, e->run_id, ++e->step, e->src, "vmexit", xa, "");
    }
    if (res && rlen) {
        if (mf == EF_GP)
            snprintf(res, rlen, "#GP");
        else if (nmx)
            snprintf(res, rlen, "%s after %u exit%s", mf == EF_OK ? "loaded"
                     : eng_final_name(mf), nmx, nmx == 1 ? "" : "s");
    }
    if (nmx)
        check_state(e);
    return can_fault && mf != EF_OK;
}

static bool pae_load(struct engine *e, struct vcpu *v, bool can_fault, char *res,
                     size_t rlen)
{
    return pae_load_as(e, v, can_fault, "mov_cr3", res, rlen);
}

int eng_vcpu_enable_tlb(struct engine *e, struct vcpu *v,
                        const struct cpu_profile *p, uint16_t vpid)
{
    if (v->tlb)
        return -EEXIST;
    v->tlb = tlb_new(p);
    v->tset = oracle_tlbset_new();
    if (!v->tlb || !v->tset) {
        tlb_destroy(v->tlb);
        oracle_tlbset_destroy(v->tset);
        v->tlb = NULL;
        v->tset = NULL;
        return -ENOMEM;
    }
    v->vpid = vpid;
    v->cpu.maxphyaddr = p->maxphyaddr; /* the profile's; a later setting wins */
    char args[96];
    snprintf(args, sizeof args, "d=%u v=%u profile=%s vpid=%u maxphyaddr=%u",
             v->d ? v->d->id : 0, v->id, p->name, vpid, p->maxphyaddr);
    record_step(e, "tlb", args, "enabled");
    pae_load(e, v, false, NULL, 0); /* as loaded when the vCPU entered PAE paging */
    return 0;
}

void eng_tlb_op(struct engine *e, struct vcpu *v, const char *op,
                unsigned type, uint64_t a, uint64_t b)
{
    uint16_t pcid = tlb_pcid_of(&v->cpu);
    uint64_t eptp = v->d ? mfn_x(v->d->ept_root) : 0;
    char res[64] = ""; /* the instruction's result: "#GP", its exits */
    if (!strcmp(op, "invlpg")) {
        tlb_invlpg(v->tlb, v->vpid, pcid, a);
        if (v->tset)
            oracle_tlbset_invlpg(v->tset, v->vpid, pcid, a);
    } else if (!strcmp(op, "mov_cr3")) {
        bool nf = (a >> 63) && (v->cpu.cr4 & X86_CR4_PCIDE);
        uint64_t old_cr3 = v->cpu.cr3;
        v->cpu.cr3 = a & ~(1ULL << 63);
        /* A PDPTE load that faults (#GP(0), SDM 4.4.1) undoes the MOV:
         * CR3 keeps its value, nothing is flushed. */
        if (pae_load(e, v, true, res, sizeof res)) {
            v->cpu.cr3 = old_cr3;
        } else {
            uint16_t np = tlb_pcid_of(&v->cpu);
            tlb_mov_cr3(v->tlb, v->vpid, np, nf);
            if (v->tset)
                oracle_tlbset_mov_cr3(v->tset, v->vpid, np, nf);
        }
    } else if (!strcmp(op, "invpcid")) {
        tlb_invpcid(v->tlb, v->vpid, type, (uint16_t)a, b);
        if (v->tset)
            oracle_tlbset_invpcid(v->tset, v->vpid, type, (uint16_t)a, b);
    } else if (!strcmp(op, "invvpid")) {
        tlb_invvpid(v->tlb, type, (uint16_t)a, b);
        if (v->tset)
            oracle_tlbset_invvpid(v->tset, type, (uint16_t)a, b);
    } else if (!strcmp(op, "invlpga")) {
        tlb_invlpga(v->tlb, (uint16_t)b, a);
        if (v->tset)
            oracle_tlbset_invlpga(v->tset, (uint16_t)b, a);
    } else if (!strcmp(op, "tlb_control")) {
        tlb_svm_flush(v->tlb, type, (uint16_t)a);
        if (v->tset)
            oracle_tlbset_tlb_control(v->tset, type, (uint16_t)a);
    } else if (!strcmp(op, "invept")) {
        /* b = 1: the descriptor names EPTP root a (v:invept(1, d) of
         * another domain), else the vCPU's own. */
        uint64_t ip = b ? a : eptp;
        tlb_invept(v->tlb, type, ip);
        if (v->tset)
            oracle_tlbset_invept(v->tset, type, ip);
    } else if (!strcmp(op, "flush")) {
        tlb_invvpid(v->tlb, 1, v->vpid, 0);
        if (v->tset)
            oracle_tlbset_invvpid(v->tset, 1, v->vpid, 0);
        pae_load(e, v, false, NULL, 0);
    }
    char args[128];
    snprintf(args, sizeof args, "v=%u %s type=%u a=%#" PRIx64 " b=%#" PRIx64,
             v->id, op, type, a, b);
    record_step(e, "tlb", args, res);
}

/* v:set{} changed CR0, CR4 or EFER of a vCPU with TLBs: a MOV to CR0/CR4
 * (WRMSR for EFER).  SDM 4.4.1: when PAE paging follows and the MOV
 * modifies one of the listed bits, it loads the PDPTE registers -- the
 * model decides which (tlb_pae_cr_loads()), the oracle on its own
 * (oracle_pae_cr_loads()), compared as mov_cr.pdpte_load -- and a present
 * PDPTE with a reserved bit makes it a #GP(0): the instruction does not
 * happen, so CR0, CR4 and EFER keep their old values, nothing is flushed
 * and the registers stay as loaded before (compared as mov_cr.pdpte_gp).
 * Otherwise the TLBs are flushed when paging changed (CR4, EFER or
 * CR0.PG: a superset of the SDM's MOV-to-CR4 rule, allowed).  A MOV that
 * does not load leaves the registers alone. */
bool eng_mov_cr(struct engine *e, struct vcpu *v, const struct mmu_cpu *old)
{
    if (!v->tlb)
        return false;
    struct oracle_cpu ob = oracle_cpu_of(v), oa = ob;
    ob.cr0 = old->cr0;
    ob.cr4 = old->cr4;
    ob.efer = old->efer;
    bool mload = tlb_pae_cr_loads(old, &v->cpu);
    bool oload = oracle_pae_cr_loads(&ob, &oa);
    if (mload != oload)
        divergence(e, "mov_cr.pdpte_load", oload ? "loads the PDPTEs" : "no load",
                   mload ? "loads the PDPTEs" : "no load");
    char res[64] = "";
    bool gp = mload && pae_load_as(e, v, true, "mov_cr", res, sizeof res);
    char args[160];
    snprintf(args, sizeof args, "v=%u mov_cr cr0=%#" PRIx64 " cr4=%#" PRIx64
             " efer=%#" PRIx64, v->id, v->cpu.cr0, v->cpu.cr4, v->cpu.efer);
    if (gp) {
        v->cpu.cr0 = old->cr0;
        v->cpu.cr4 = old->cr4;
        v->cpu.efer = old->efer;
    } else if (v->cpu.cr4 != old->cr4 || v->cpu.efer != old->efer
               || ((v->cpu.cr0 ^ old->cr0) & X86_CR0_PG)) {
        tlb_invvpid(v->tlb, 1, v->vpid, 0);
        if (v->tset)
            oracle_tlbset_invvpid(v->tset, 1, v->vpid, 0);
    }
    record_step(e, "tlb", args, res[0] ? res : mload ? "pdptes loaded" : "");
    return gp;
}

/* Xen's shadow code for a PAE guest (xen/arch/x86/mm/shadow/multi.c):
 * sh_update_cr3() -- run for the intercepted MOV CR3 and, through
 * paging_update_paging_modes(), for paging-mode changes -- copies the
 * guest's four l3 entries at CR3[31:5] into v->arch.paging.shadow.gl3e
 * and builds the shadow's top level from that copy; sh_walk_guest_tables()
 * walks from it too.  So an l3e rewritten in memory takes effect at the
 * next CR3 update only.  Here for vCPUs without TLBs (with TLBs the PDPTE
 * registers hold the copy: pae_load_as()).  The copy is read through the
 * P2M as Xen maps the guest frame (shadow_translate(): no cost); a gfn
 * without usable RAM leaves it unloaded (each walk reads the PDPT, as
 * before).  Entries are copied whatever they hold: a reserved bit is
 * found by the walk (#GP, as for the registers).  Which MOV CR0/CR4
 * refreshes it is the SDM's list (tlb_pae_cr_loads(); the oracle's
 * oracle_pae_cr_loads() on its own, divergence mov_cr.pdpte_load). */
void eng_shadow_gl3e(struct engine *e, struct vcpu *v, const struct mmu_cpu *old)
{
    if (v->tlb || !v->d || !v->d->shadow)
        return;
    struct domain *d = v->d;
    bool mload = true, oload = true;
    if (old) {
        struct oracle_cpu ob = oracle_cpu_of(v), oa = ob;
        ob.cr0 = old->cr0;
        ob.cr4 = old->cr4;
        ob.efer = old->efer;
        mload = tlb_pae_cr_loads(old, &v->cpu);
        oload = oracle_pae_cr_loads(&ob, &oa);
        if (mload != oload)
            divergence(e, "mov_cr.pdpte_load", oload ? "loads the PDPTEs" : "no load",
                       mload ? "loads the PDPTEs" : "no load");
    } else if (mmu_mode_of(&v->cpu) != MMU_MODE_PAE) {
        return;
    }
    uint64_t pdpt = v->cpu.cr3 & 0xFFFFFFE0ULL;
    if (mload) {
        struct mmu_ept p2m = { .root = d->ept_root, .shadow = true };
        bool ok = true;
        for (unsigned i = 0; i < 4 && ok; i++) {
            struct mmu_result r = { .outcome = MMU_OK };
            ept_translate(e->host->mem, &p2m, _gpa(pdpt + 8 * i), ACC_READ, false,
                          _gva(0), &r);
            ok = r.outcome == MMU_OK;
            v->gl3e[i] = 0;
            if (ok)
                (void)hostmem_read64(e->host->mem, r.hpa, &v->gl3e[i]);
        }
        v->gl3e_ok = ok;
        v->gl3e_cr3 = v->cpu.cr3;
    }
    if (oload) {
        /* The oracle's read of the same four entries (a reserved bit
         * makes it answer #GP for a MOV, but the copy holds them all). */
        struct oracle_cpu oc = oracle_cpu_of(v);
        bool gp = false;
        oracle_set_vcpu(e->oracle, v->id);
        v->o_gl3e_ok = oracle_pae_load_x(e->oracle, d->id, &oc, e->host->mem,
                                         v->o_gl3e, &gp, NULL) || gp;
        v->o_gl3e_cr3 = v->cpu.cr3;
    }
}

/* ---- guest accesses --------------------------------------------------------------- */

static uint64_t width_mask(unsigned width)
{
    return width >= 8 ? ~0ULL : (1ULL << (8 * width)) - 1;
}

/* An access that exits on its final gpa and is then emulated (handle_mmio()
 * for mmio_dm, the discarded write to ram_ro) is walked again by Xen's
 * emulator: hvmemul_linear_to_phys() -> paging_gva_to_gfn() ->
 * guest_walk_tables(), which sets the guest A (and, for a write, D) bits of
 * a successful walk through its own mapping and paging_mark_dirty()s every
 * paging-structure frame it changed.  So after the emulated access the
 * guest sees its tables as if the access had completed.  An exit during
 * the walk itself (a paging structure in MMIO) is not re-walked. */
static void emulator_walk(struct engine *e, struct vcpu *v, gva_t va,
                          enum access_kind k, const struct mmu_result *exit)
{
    /* An exit on the final gpa: EPT qualification bit 8, or #NPF
     * EXITINFO1 bit 32 under NPT. */
    bool final = v->d->npt ? (exit->exit_qual & NPF_FINAL) != 0
                           : (exit->exit_qual & EPTQ_GLA_XLATE) != 0;
    if (!final || MUTANT(MUT_EMUL_NO_AD))
        return;
    struct mmu_ept em = { .root = v->d->ept_root, .emulator = true,
                          .npt = v->d->npt, .npt_nxe = v->d->npt };
    struct mmu_result r;
    mmu_translate(e->host->mem, &v->cpu, &em, va, k, &r);
    if (r.outcome != MMU_OK)
        return;
    for (unsigned i = 0; i < r.nad_gpa; i++)
        paging_mark_pfn_dirty(v->d, gpa_to_gfn(_gpa(r.ad_gpa[i])));
    eng_cover(e, "emulate", "walk ad=%u", r.nad_gpa);
}

/* Runs the access through the model, letting the hypervisor handle VM exits
 * (hvm_hap_nested_page_fault) and retrying, as a vCPU would. */
static void model_access(struct engine *e, struct vcpu *v, gva_t va,
                         enum access_kind k, unsigned width, uint64_t wvalue,
                         struct eng_access *out)
{
    struct domain *d = v->d;
    struct mmu_ept ept = { .root = d->ept_root, .ad = d->ept_ad, .mbec = v->mbec,
                           .npt = d->npt, .npt_nxe = d->npt,
                           .shadow = d->shadow };
    /* PML is on only while log-dirty is, and only for vCPUs with a log. */
    if (d->pml_on && v->id < SIM_MAX_VCPUS && !mfn_eq(d->pml_pg[v->id], INVALID_MFN))
        ept.pml = &d->pml[v->id];
    memset(out, 0, sizeof(*out));
    /* A domain paused by a preempted log-dirty op does not run. */
    if (domain_paused_logdirty(d)) {
        out->final = EF_PAUSED;
        return;
    }
    /* A vCPU paused for the pager or asleep on the ring does not run. */
    switch (vcpu_run_state(d, v->id)) {
    case VCPU_PAUSED_PAGER:
    case VCPU_PAUSED_MONITOR:
        out->final = EF_PAUSED;
        return;
    case VCPU_WAIT_SLOT:
        out->final = EF_BLOCKED;
        return;
    default:
        break;
    }
    /* Nor one asleep on, or black-eyed by, the monitor ring. */
    switch (monitor_vcpu_state(d, v->id)) {
    case MON_WAIT_SLOT:
        out->final = EF_BLOCKED;
        return;
    case MON_BLACK_EYE:
        out->final = EF_PAUSED;
        return;
    default:
        break;
    }
    out->final = EF_CRASH; /* if every attempt exits: a livelock */
    for (unsigned attempt = 0; attempt < ENG_MAX_EXITS; attempt++) {
        struct mmu_result r;
        bool walked = true; /* a TLB hit reports no EPT leaf */
        if (v->tlb) {
            struct tlb_result tr;
            tlb_access(v->tlb, e->host->mem, &v->cpu, &ept, v->vpid, va, k,
                       &r, &tr);
            out->tlb_level = (int)tr.level;
            walked = tr.level == TLB_WALK;
            out->cycles += tr.cycles;
            v->cycles += tr.cycles;
        } else {
            /* Shadow paging, PAE: the walk starts from the hypervisor's
             * copy of the guest l3es (eng_shadow_gl3e()). */
            struct mmu_cpu sc = v->cpu;
            if (v->gl3e_ok && v->gl3e_cr3 == v->cpu.cr3
                && mmu_mode_of(&v->cpu) == MMU_MODE_PAE
                && !MUTANT(MUT_SHADOW_PAE_REREAD_L3E))
                sc.pdpte = v->gl3e;
            mmu_translate(e->host->mem, &sc, &ept, va, k, &r);
        }
        out->refs = r.refs;
        out->total_refs += r.refs;
        if (r.outcome == MMU_OK) {
            /* Shadow paging: the guest A/D bits the hypervisor set while
             * building the shadow entries (guest_walk_tables() from
             * sh_page_fault()) log their page-table frames dirty. */
            if (d->shadow && walked && !MUTANT(MUT_SHADOW_LD_NO_MARK))
                for (unsigned i = 0; i < r.nad_gpa; i++)
                    paging_mark_pfn_dirty(d, gpa_to_gfn(_gpa(r.ad_gpa[i])));
            out->final = EF_OK;
            out->gpa = r.gpa;
            out->hpa = r.hpa;
            if (walked) {
                out->memtype = r.ept_memtype;
                out->ipat = r.ept_ipat;
                out->ept_shift = r.ept_shift;
            }
            if ((hpa_x(r.hpa) >> PAGE_SHIFT) >= e->host->nr_frames) {
                /* A device frame of a p2m_mmio_direct entry, outside host
                 * RAM: no device model is attached, so writes go nowhere
                 * and reads float high (all ones); no dirty logging. */
                out->value = k == ACC_WRITE ? 0 : width_mask(width);
            } else if (k == ACC_WRITE) {
                hostmem_write(e->host->mem, r.hpa, &wvalue, width);
            } else {
                uint64_t val = 0;
                hostmem_read(e->host->mem, r.hpa, &val, width);
                out->value = val;
            }
            return;
        }
        if (r.outcome == MMU_GP) {
            out->final = EF_GP; /* #GP(0) to the guest, no exit */
            return;
        }
        if (r.outcome == MMU_PF) {
            out->final = EF_PF;
            out->pf_ec = r.pf_ec;
            out->cr2 = r.cr2;
            return;
        }
        if (v->tlb) {
            const struct cpu_profile *p = tlb_profile(v->tlb);
            out->cycles += p->lat_vmexit;
            v->cycles += p->lat_vmexit;
        }
        struct eng_exit *x = &out->exits[out->nexits++];
        x->kind = r.outcome;
        x->qual = r.exit_qual;
        x->gpa = r.exit_gpa;
        x->gla = r.exit_gla;
        if (r.outcome == MMU_PML_FULL) {
            /* EXIT_REASON_PML_FULL: vmx_vcpu_flush_pml_buffer(), then the
             * guest re-executes the access. */
            eng_cover(e, "npf", "pml_full->flush");
            pml_vcpu_flush(d, v->id);
            continue;
        }
        if (r.outcome == MMU_EPT_MISCONFIG) {
            eng_cover(e, "npf", "misconfig->crash");
            /* No p2m recalculation in the skeleton: Xen's
             * ept_handle_misconfig() would fail and crash the domain. */
            return;
        }
        uint64_t qual = r.exit_qual;
        if (r.outcome == MMU_NPF) {
            /* svm_do_nested_pgfault(): the npfec Xen hands to
             * hvm_hap_nested_page_fault() from EXITINFO1 (APM 15.25.6):
             * every #NPF counts as a read, bit 1 (W) a write, bit 4 (I/D)
             * a fetch; bit 32 (final gpa) gives a linear address, bit 33
             * (guest page table) none.  Expressed as the EPT qualification
             * bits hvm.c reads. */
            eng_cover(e, "npf_info", "%#" PRIx64, r.exit_qual);
            /* svm_vmexit_handler(): a #NPF with P set first resolves the
             * deferred global type change on the gpa's path
             * (p2m_pt_handle_deferred_changes()); when that changed
             * anything the fault was a recalculation: retry. */
            if ((r.exit_qual & PFEC_P) &&
                p2m_pt_handle_deferred_changes(d, r.exit_gpa) > 0) {
                eng_cover(e, "npf", "recalc->retry");
                continue;
            }
            qual = EPTQ_READ;
            if ((r.exit_qual & PFEC_W) && !MUTANT(MUT_NPF_IGNORE_W))
                qual |= EPTQ_WRITE;
            if (r.exit_qual & PFEC_ID)
                qual |= EPTQ_FETCH;
            if (r.exit_qual & NPF_FINAL)
                qual |= EPTQ_GLA_VALID | EPTQ_GLA_XLATE;
        } else {
            /* Under shadow paging a P2M refusal is a #PF intercepted by
             * the hypervisor: sh_page_fault() resolves the gfn and does
             * what hvm_hap_nested_page_fault() does for an EPT violation
             * (PoD populate, log-dirty mark and make writable, MMIO
             * emulation, discarded write to ram_ro), so the same handler
             * runs. */
            eng_cover(e, r.outcome == MMU_SHADOW_PF ? "shadow_qual" : "ept_qual",
                      "%#" PRIx64, r.exit_qual);
        }
        const char *t = type_at(d, gpa_to_gfn(r.exit_gpa));
        enum npf_result npf = hvm_hap_nested_page_fault_vcpu(d, v->id, r.exit_gpa,
                                                             qual, r.exit_gla);
        eng_cover(e, "npf", "%s:%s->%s", t,
                  qual & EPTQ_WRITE ? "write" : qual & EPTQ_FETCH ? "fetch" : "read",
                  npf_result_name(npf));
        switch (npf) {
        case NPF_PAUSED:
            out->final = EF_PAUSED;
            return;
        case NPF_WAIT_SLOT:
        case NPF_SPIN:
            out->final = EF_BLOCKED;
            return;
        case NPF_DISCARD:
            emulator_walk(e, v, va, k, &r);
            out->final = EF_DISCARD;
            out->gpa = r.exit_gpa;
            return;
        case NPF_RETRY:
            continue;
        case NPF_MMIO:
            emulator_walk(e, v, va, k, &r);
            /* No device model is attached: reads float high. */
            out->final = EF_MMIO;
            out->gpa = r.exit_gpa;
            out->value = k == ACC_READ ? width_mask(width) : 0;
            return;
        case NPF_CRASH:
            return;
        }
    }
}

static void compare_access(struct engine *e, const struct domain *d,
                           const struct oracle_expect *x,
                           const struct eng_access *a, enum access_kind k,
                           unsigned width, uint64_t wvalue)
{
    static const enum eng_final map[] = { [OR_OK] = EF_OK, [OR_PF] = EF_PF,
                                          [OR_MMIO] = EF_MMIO, [OR_CRASH] = EF_CRASH,
                                          [OR_GP] = EF_GP,
                                          [OR_PAUSED] = EF_PAUSED,
                                          [OR_BLOCKED] = EF_BLOCKED,
                                          [OR_DISCARD] = EF_DISCARD };
    if (map[x->final] != a->final) {
        divergence(e, "access.outcome", eng_final_name(map[x->final]),
                   eng_final_name(a->final));
        return;
    }
    check_u64(e, "access.exits", x->nexits, a->nexits);
    for (unsigned i = 0; i < x->nexits && i < a->nexits; i++) {
        char f[48];
        int kind = a->exits[i].kind == MMU_EPT_VIOLATION ? OR_EXIT_EPT_VIOLATION
                   : a->exits[i].kind == MMU_PML_FULL    ? OR_EXIT_PML_FULL
                   : a->exits[i].kind == MMU_NPF         ? OR_EXIT_NPF
                   : a->exits[i].kind == MMU_SHADOW_PF   ? OR_EXIT_SHADOW_PF
                                                         : OR_EXIT_EPT_MISCONFIG;
        snprintf(f, sizeof f, "access.exit[%u].kind", i);
        check_u64(e, f, (uint64_t)x->exits[i].kind, (uint64_t)kind);
        snprintf(f, sizeof f, "access.exit[%u].qual", i);
        check_u64(e, f, x->exits[i].qual, a->exits[i].qual);
        snprintf(f, sizeof f, "access.exit[%u].gpa", i);
        check_u64(e, f, gpa_x(x->exits[i].gpa), gpa_x(a->exits[i].gpa));
        snprintf(f, sizeof f, "access.exit[%u].gla", i);
        check_u64(e, f, gva_x(x->exits[i].gla), gva_x(a->exits[i].gla));
    }
    /* EPT A/D flags the access set (raw walks only; any outcome). */
    for (unsigned i = 0; i < x->nept; i++) {
        uint64_t got = 0, want = x->ept[i].value;
        char f[64];
        if (x->ept[i].vlevel) {
            /* In a table a split made during the access: the entry the
             * sim's tables now have for that gfn at that level. */
            if (p2m_ept_raw_get(d, _gpa(x->ept[i].vgfn << PAGE_SHIFT),
                                x->ept[i].vlevel, &got))
                got = 0;
            snprintf(f, sizeof f, "ept_entry@gfn%#" PRIx64 ".level%u",
                     x->ept[i].vgfn, x->ept[i].vlevel);
        } else {
            hostmem_read64(e->host->mem, x->ept[i].hpa, &got);
            snprintf(f, sizeof f, "ept_entry@hpa%#" PRIx64, hpa_x(x->ept[i].hpa));
        }
        if (x->ept[i].addr_unknown) {
            /* A pointer to such a table: where it is is the heap's. */
            want &= ~EPT_ADDR_MASK;
            got &= ~EPT_ADDR_MASK;
        }
        check_u64(e, f, want, got);
    }
    switch (a->final) {
    case EF_OK:
        check_u64(e, "access.gpa", gpa_x(x->gpa), gpa_x(a->gpa));
        check_u64(e, "access.hpa", hpa_x(x->hpa), hpa_x(a->hpa));
        check_u64(e, "access.memtype", x->memtype, a->memtype);
        check_u64(e, "access.ipat", x->ipat, a->ipat);
        check_u64(e, "access.ept_shift", x->ept_shift, a->ept_shift);
        if (x->refs_valid)
            check_u64(e, "access.refs", x->refs, a->refs);
        if (k != ACC_WRITE) {
            check_u64(e, "access.value", x->value, a->value);
        } else if ((hpa_x(x->hpa) >> PAGE_SHIFT) < e->host->nr_frames) {
            /* (a device frame keeps nothing to compare) */
            uint64_t got = 0;
            hostmem_read(e->host->mem, x->hpa, &got, width);
            check_u64(e, "memory.written", wvalue & width_mask(width), got);
        }
        for (unsigned i = 0; i < x->nad; i++) {
            uint64_t got = 0;
            char f[48];
            hostmem_read64(e->host->mem, x->ad[i].hpa, &got);
            snprintf(f, sizeof f, "guest_pte@hpa%#" PRIx64, hpa_x(x->ad[i].hpa));
            check_u64(e, f, x->ad[i].value, got);
        }
        break;
    case EF_PF:
        check_u64(e, "access.pf_ec", x->pf_ec, a->pf_ec);
        check_u64(e, "access.cr2", gva_x(x->cr2), gva_x(a->cr2));
        if (x->refs_valid)
            check_u64(e, "access.refs", x->refs, a->refs);
        break;
    case EF_MMIO:
    case EF_DISCARD:
        check_u64(e, "access.gpa", gpa_x(x->gpa), gpa_x(a->gpa));
        /* The emulator's walk (emulator_walk()) set these. */
        for (unsigned i = 0; i < x->nad; i++) {
            uint64_t got = 0;
            char f[48];
            hostmem_read64(e->host->mem, x->ad[i].hpa, &got);
            snprintf(f, sizeof f, "guest_pte@hpa%#" PRIx64, hpa_x(x->ad[i].hpa));
            check_u64(e, f, x->ad[i].value, got);
        }
        break;
    case EF_CRASH:
    case EF_GP:
    case EF_PAUSED:
    case EF_BLOCKED:
        break;
    }
}

void eng_access(struct engine *e, struct vcpu *v, gva_t va, enum access_kind k,
                unsigned width, uint64_t wvalue, struct eng_access *out)
{
    static const char *const kname[] = { "read", "write", "exec" };
    struct oracle_cpu oc = oracle_cpu_of(v);
    /* PAE: the PDPTE registers the oracle says were loaded; the model's
     * must be the same values. */
    if (v->tset && mmu_mode_of(&v->cpu) == MMU_MODE_PAE) {
        uint64_t mr[4];
        oc.pae_regs = oracle_tlbset_pae_get(v->tset, v->cpu.cr3, oc.pdpte);
        bool mh = tlb_pae_regs(v->tlb, &v->cpu, mr);
        if (mh != oc.pae_regs || (mh && memcmp(mr, oc.pdpte, sizeof(mr)))) {
            char exp[96], got[96];
            snprintf(exp, sizeof exp, oc.pae_regs ? "loaded %#" PRIx64 " %#" PRIx64
                     " %#" PRIx64 " %#" PRIx64 : "none loaded", oc.pdpte[0],
                     oc.pdpte[1], oc.pdpte[2], oc.pdpte[3]);
            snprintf(got, sizeof got, mh ? "loaded %#" PRIx64 " %#" PRIx64
                     " %#" PRIx64 " %#" PRIx64 : "none loaded", mr[0], mr[1],
                     mr[2], mr[3]);
            divergence(e, "access.pdpte_regs", exp, got);
        }
    } else if (v->d->shadow && mmu_mode_of(&v->cpu) == MMU_MODE_PAE) {
        /* No TLBs, shadow paging: the oracle's copy of the guest l3es
         * (eng_shadow_gl3e()); the model's must hold the same. */
        oc.pae_regs = v->o_gl3e_ok && v->o_gl3e_cr3 == v->cpu.cr3;
        memcpy(oc.pdpte, v->o_gl3e, sizeof(oc.pdpte));
        bool mh = v->gl3e_ok && v->gl3e_cr3 == v->cpu.cr3;
        if (mh != oc.pae_regs || (mh && memcmp(v->gl3e, oc.pdpte, sizeof(oc.pdpte)))) {
            char exp[96], got[96];
            snprintf(exp, sizeof exp, oc.pae_regs ? "copied %#" PRIx64 " %#" PRIx64
                     " %#" PRIx64 " %#" PRIx64 : "none copied", oc.pdpte[0],
                     oc.pdpte[1], oc.pdpte[2], oc.pdpte[3]);
            snprintf(got, sizeof got, mh ? "copied %#" PRIx64 " %#" PRIx64
                     " %#" PRIx64 " %#" PRIx64 : "none copied", v->gl3e[0],
                     v->gl3e[1], v->gl3e[2], v->gl3e[3]);
            divergence(e, "access.gl3e", exp, got);
        }
    }
    struct oracle_expect x;
    memset(&x, 0, sizeof(x));
    oracle_set_vcpu(e->oracle, v->id);
    eng_alloc_hint(e, v->d); /* a write to a shared page unshares it */
    if (e->hook && e->hook->pre)
        e->hook->pre(e->hook->ctx, e, v, va, k, width, wvalue);
    uint64_t eptp = mfn_x(v->d->ept_root);
    struct mmu_ept pept = { .root = v->d->ept_root, .ad = v->d->ept_ad, .mbec = v->mbec,
                            .npt = v->d->npt, .npt_nxe = v->d->npt,
                            .shadow = v->d->shadow };
    bool hit = v->tlb && tlb_probe(v->tlb, &v->cpu, &pept, v->vpid, va, k);
    bool checked = false;
    if (hit) {
        /* Satisfied from a TLB: no memory is touched by the translation,
         * so the model goes first; the oracle accepts any translation
         * still allowed (its set), else it must be the fresh one. */
        model_access(e, v, va, k, width, wvalue, out);
        bool ok = out->final == EF_OK;
        if ((ok || out->final == EF_PF)
            && oracle_tlbset_allows(v->tset, &oc, v->vpid, eptp, va, k, ok,
                                    out->hpa, out->pf_ec)) {
            checked = true;
        } else {
            oracle_access(e->oracle, v->d->id, &oc, e->host->mem, va, k,
                          width, &x);
            bool fresh = (ok && x.final == OR_OK && hpa_x(x.hpa) == hpa_x(out->hpa))
                         || (out->final == EF_PF && x.final == OR_PF
                             && x.pf_ec == out->pf_ec);
            if (!fresh) {
                char exp[64], got[64];
                snprintf(exp, sizeof exp, "%s hpa=%#" PRIx64 " ec=%#x",
                         eng_final_name(x.final == OR_OK ? EF_OK : x.final == OR_PF
                                        ? EF_PF : EF_CRASH),
                         hpa_x(x.hpa), x.pf_ec);
                snprintf(got, sizeof got, "%s hpa=%#" PRIx64 " ec=%#x (TLB hit)",
                         eng_final_name(out->final), hpa_x(out->hpa), out->pf_ec);
                divergence(e, "access.tlb_stale", exp, got);
            }
            oracle_tlbset_note(v->tset, &oc, v->vpid, eptp, va, &x);
            checked = true;
        }
        if (out->final == EF_PF)
            oracle_tlbset_pf(v->tset, &oc, v->vpid, va);
    } else {
        /* The oracle reads the guest tables before the model sets A/D.  A
         * walk that will start from a paging-structure-cache entry is
         * predicted from the same entry, if the oracle's set still allows
         * it (SDM 4.10.3: cached upper levels may be stale until
         * invalidated, never after). */
        struct mmu_psc_start ps;
        struct oracle_psc op, *opp = NULL;
        if (v->tlb && tlb_psc_probe(v->tlb, &v->cpu, &pept, v->vpid, va, &ps)) {
            op = (struct oracle_psc){ (unsigned)ps.level, ps.table_gpa,
                                      ps.table_hpa, (ps.rights & PTE_U) != 0,
                                      (ps.rights & PTE_W) != 0,
                                      (ps.rights & PTE_NX) != 0 };
            if (oracle_tlbset_psc_allows(v->tset, &oc, v->vpid, eptp, va, &op)) {
                opp = &op;
            } else {
                char got[96];
                snprintf(got, sizeof got, "level %d entry -> table gpa %#" PRIx64,
                         ps.level, ps.table_gpa);
                divergence(e, "access.psc_stale", "no such cached entry", got);
            }
        }
        /* AMD nested paging: the model's NPT PSC entries (tagged by
         * nCR3 and the ASID) that the oracle's set still allows are the
         * starts the oracle's raw nested walks may use; one it does not
         * allow is never given, so a model walking from it differs from
         * the fresh prediction (APM 15.16: cached nested entries may be
         * stale until INVLPGA / TLB_CONTROL / the hypervisor's flush). */
        if (v->tlb && v->d->npt) {
            struct tlb_npsc_ent me[ORACLE_MAX_NPSC_START];
            struct oracle_npsc os[ORACLE_MAX_NPSC_START];
            unsigned nm = tlb_npsc_list(v->tlb, eptp, v->vpid, me, ORACLE_MAX_NPSC_START);
            unsigned no = 0;
            for (unsigned i = 0; i < nm; i++) {
                struct oracle_npsc q = { (unsigned)me[i].level, me[i].gpa_prefix,
                                         me[i].table_hpa, (me[i].rights & PTE_U) != 0,
                                         (me[i].rights & PTE_W) != 0,
                                         (me[i].rights & PTE_NX) != 0 };
                if (oracle_tlbset_npsc_allows(v->tset, v->vpid, eptp, &q))
                    os[no++] = q;
            }
            oracle_set_npsc_starts(e->oracle, os, no);
        }
        /* AMD page walk cache: the model's entries for this vCPU's walk
         * (keyed by the guest entry's gpa) that the oracle's set still
         * allows are the ones the oracle's walk uses; one it does not
         * allow is never given, so a model walking through it differs
         * from the prediction (APM vol. 2 5.5.2, 15.16). */
        if (v->tlb && tlb_profile(v->tlb)->pwc && !v->d->npt) {
            struct tlb_pwc_ent mw[ORACLE_MAX_PWC_START];
            struct oracle_pwc ow[ORACLE_MAX_PWC_START];
            unsigned nm = tlb_pwc_list(v->tlb, &v->cpu, &pept, v->vpid, mw,
                                       ORACLE_MAX_PWC_START);
            unsigned no = 0;
            for (unsigned i = 0; i < nm; i++) {
                struct oracle_pwc q = { (unsigned)mw[i].level, mw[i].gpa, mw[i].val };
                if (oracle_tlbset_pwc_allows(v->tset, &oc, v->vpid, eptp, &q))
                    ow[no++] = q;
            }
            oracle_set_pwc_entries(e->oracle, ow, no);
        }
        /* Intel EPT likewise: the model's EPT PSC entries (guest-physical
         * mappings, tagged by the EPTP) that the oracle's set allows are
         * the starts of the oracle's raw EPT walks; a stale one the set
         * no longer holds (an INVEPT of its EPTP or of all contexts came
         * since, SDM 29.4.3.1) is never given, so a model walking from it
         * differs from the fresh prediction. */
        if (v->tlb && !v->d->npt && !v->d->shadow
            && oracle_tlbset_epsc_size(v->tset)) { /* else none is allowed */
            struct tlb_epsc_ent me[ORACLE_MAX_EPSC_START];
            struct oracle_epsc os[ORACLE_MAX_EPSC_START];
            unsigned nm = tlb_epsc_list(v->tlb, eptp, me, ORACLE_MAX_EPSC_START);
            unsigned no = 0;
            for (unsigned i = 0; i < nm; i++) {
                struct oracle_epsc q = { (unsigned)me[i].level, me[i].gpa_prefix,
                                         me[i].table_hpa,
                                         (unsigned)(me[i].rights & 7)
                                             | ((me[i].rights & EPT_XU) ? 8u : 0u) };
                if (oracle_tlbset_epsc_allows(v->tset, eptp, &q))
                    os[no++] = q;
            }
            oracle_set_epsc_starts(e->oracle, os, no);
        }
        oracle_access_psc(e->oracle, v->d->id, &oc, e->host->mem, va, k, width,
                          opp, &x);
        model_access(e, v, va, k, width, wvalue, out);
        if (v->tset) {
            oracle_tlbset_note(v->tset, &oc, v->vpid, eptp, va, &x);
            if (out->final == EF_PF)
                oracle_tlbset_pf(v->tset, &oc, v->vpid, va);
        }
    }
    eng_cover(e, "outcome", "%s:%s", kname[k], eng_final_name(out->final));
    if (out->final == EF_PF)
        eng_cover(e, "pf_ec", "%#x", out->pf_ec);
    if (e->hook && e->hook->post)
        e->hook->post(e->hook->ctx, e, v, va, k, width, wvalue, out);

    char args[128], res[160];
    int n = snprintf(args, sizeof args, "d=%u v=%u gva=%#" PRIx64 " w=%u cpl=%u",
                     v->d->id, v->id, gva_x(va), width, v->cpu.cpl);
    if (k == ACC_WRITE)
        snprintf(args + n, sizeof args - n, " val=%#" PRIx64, wvalue);
    switch (out->final) {
    case EF_OK:
        snprintf(res, sizeof res, "ok gpa=%#" PRIx64 " hpa=%#" PRIx64
                 " val=%#" PRIx64 " refs=%u exits=%u", gpa_x(out->gpa),
                 hpa_x(out->hpa), out->value, out->refs, out->nexits);
        break;
    case EF_PF:
        snprintf(res, sizeof res, "pf ec=%#x cr2=%#" PRIx64 " refs=%u exits=%u",
                 out->pf_ec, gva_x(out->cr2), out->refs, out->nexits);
        break;
    case EF_MMIO:
        snprintf(res, sizeof res, "mmio gpa=%#" PRIx64 " exits=%u",
                 gpa_x(out->gpa), out->nexits);
        break;
    case EF_CRASH:
        snprintf(res, sizeof res, "crash exits=%u", out->nexits);
        break;
    case EF_GP:
    case EF_PAUSED:
    case EF_BLOCKED:
        snprintf(res, sizeof res, "%s exits=%u", eng_final_name(out->final),
                 out->nexits);
        break;
    case EF_DISCARD:
        snprintf(res, sizeof res, "discard gpa=%#" PRIx64 " exits=%u",
                 gpa_x(out->gpa), out->nexits);
        break;
    }
    if (v->tlb) {
        static const char *const ln[] = { "-", "l1", "stlb", "walk" };
        size_t l = strlen(res);
        snprintf(res + l, sizeof res - l, " tlb=%s cyc=%" PRIu64,
                 ln[out->tlb_level & 3], out->cycles);
    }
    record_step(e, kname[k], args, res);
    for (unsigned i = 0; i < out->nexits; i++) {
        char xa[96];
        snprintf(xa, sizeof xa, "%s qual=%#" PRIx64 " gpa=%#" PRIx64,
                 out->exits[i].kind == MMU_EPT_VIOLATION ? "ept_violation"
                 : out->exits[i].kind == MMU_SHADOW_PF   ? "shadow_pf"
                                                         : "ept_misconfig",
                 out->exits[i].qual, gpa_x(out->exits[i].gpa));
        digest_str(e, xa);
        if (e->rec)
            rec_step(e->rec, e->run_id, ++e->step, e->src, "vmexit", xa, "");
    }
    if (!checked)
        compare_access(e, v->d, &x, out, k, width, wvalue);
    check_state(e);
}

/* ---- expected divergences and building blocks ------------------------------------------ */

int eng_expect_divergence(struct engine *e, const char *pattern, const char *name)
{
    if (e->nexpects >= ENG_MAX_EXPECTS)
        return -ENOSPC;
    struct eng_expect *x = &e->expects[e->nexpects++];
    snprintf(x->pattern, sizeof x->pattern, "%s", pattern);
    snprintf(x->name, sizeof x->name, "%s", name);
    snprintf(x->src, sizeof x->src, "%s", e->src);
    x->hits = 0;
    char args[256];
    snprintf(args, sizeof args, "%s: %s", name, pattern);
    record_step(e, "expect_divergence", args, "");
    return 0;
}

void eng_finish_expects(struct engine *e)
{
    for (unsigned i = 0; i < e->nexpects; i++) {
        struct eng_expect *x = &e->expects[i];
        char buf[512];
        if (!x->hits) {
            snprintf(buf, sizeof buf,
                     "%s: expected divergence '%s' (%s) did not occur",
                     x->src, x->name, x->pattern);
            eng_failure(e, buf);
        } else if (e->log) {
            fprintf(e->log, "    known finding '%s': %" PRIu64
                    " divergences matching %s (declared at %s)\n",
                    x->name, x->hits, x->pattern, x->src);
        }
    }
}

void eng_record(struct engine *e, const char *op, const char *args,
                const char *result)
{
    record_step(e, op, args, result);
}

void eng_check_rc(struct engine *e, const char *what, int expected, int actual)
{
    check_rc(e, what, expected, actual);
}

void eng_step_rc(struct engine *e, const char *op, const struct domain *d,
                 const char *extra, int erc, int rc)
{
    /* snprintf(args, 160, "d=%u%s%s", id, extra[0] ? " " : "", extra) */
    char args[160], res[32];
    char *o = put_str(put_dec(put_str(args, "d="), d->id, false), extra[0] ? " " : "");
    size_t room = sizeof args - 1 - (size_t)(o - args), n = strlen(extra);
    memcpy(o, extra, n < room ? n : room);
    o += n < room ? n : room;
    *o = 0;
    char *r = put_int(put_str(res, "rc="), rc);
    *r = 0;
    record_step_n(e, op, args, (size_t)(o - args), res, (size_t)(r - res));
    check_rc(e, op, erc, rc);
    check_state(e);
}

void eng_check_state(struct engine *e)
{
    check_state(e);
}

void eng_checks_resume(struct engine *e)
{
    e->defer_checks = false;
    check_state(e);
}

void eng_divergence(struct engine *e, const char *field, const char *expected,
                    const char *actual)
{
    divergence(e, field, expected, actual);
}
