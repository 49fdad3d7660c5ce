/* SPDX-License-Identifier: MIT */
/*
 * hw-replay/replay.c - `pagesim replay`: recorded runs on a hardware backend.
 *
 * For each recorded run: the scenario is re-run in the model (deterministic:
 * same scenario, seed and mutants give the same trace) with an access hook
 * (engine.hook).  Before the model performs a guest access the hook copies
 * the domain's RAM (gfns whose P2M type is RAM; MMIO and unpopulated gfns are
 * left out of the VM); after it, the same access runs on the backend over
 * that copy, and the comparator checks outcome, #PF error code and CR2, the
 * value read, the MMIO gpa, and then every 8-byte word of the domain's RAM
 * (so A/D bits written by the walk and the data written) against the model.
 * At the end the re-run digest must equal the recorded one, otherwise the
 * recording is stale and the replay says so.
 *
 * Results: one hw_runs row per replayed run, hw_diffs per difference (with
 * the known behaviour that explains it, if any), hw_skips per access the
 * backend cannot express.  The tables are created on first use
 * (CREATE TABLE IF NOT EXISTS); the recorded tables are only read.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>

#include <sqlite3.h>

#include "../sim/engine/engine.h"
#include "../sim/engine/lapi.h"
#include "hwreplay.h"
#include "pagesim/mutant.h"
#include "pagesim/tlb.h"

static const char usage[] =
    "usage: pagesim replay --db FILE (--run ID | --all) [--backend kvm|qemu]\n"
    "                      [--mutant NAME]... [--timeout MS] [--bench] [-v]\n"
    "       pagesim replay --calibrate [--db FILE] [--csv FILE] [--svg FILE]\n"
    "                      [--profile intel|amd] [--max-pages N]\n"
    "\n"
    "Re-runs recorded scenario runs in the model and replays every guest\n"
    "access on a hardware backend (a fresh KVM VM per access, running the\n"
    "stub of hw-replay/stub.S), then compares outcome, #PF error code, CR2,\n"
    "value read, MMIO gpa and the domain's memory afterwards (A/D bits);\n"
    "paged-out gfns are userfaultfd pages, whose fault order must match the\n"
    "model's populate requests (accesses paused for the pager are replayed\n"
    "with their retry).\n"
    "Differences go to the terminal and to the hw_runs/hw_diffs tables.\n"
    "\n"
    "  --db FILE       pagesim database holding the recorded runs (required)\n"
    "  --run ID        replay one run\n"
    "  --all           replay every run in the database\n"
    "  --backend B     kvm (default) or qemu (QEMU TCG, one boot per access)\n"
    "  --mutant NAME   re-run the model with a deliberate bug (the recorded\n"
    "                  digest is then not checked)\n"
    "  --timeout MS    bound per guest access (default 2000)\n"
    "  --bench         also time a bare KVM loop of CPL3 reads, print the ratio\n"
    "  --fresh-vm      a new KVM VM for every access (by default the VM of an\n"
    "                  access runs the next one when no guest memory changes)\n"
    "  -v, --verbose   print every compared access\n"
    "  --calibrate     KVM sweep: CPL3 reads/writes, sequential and pseudo-random,\n"
    "                  working sets 16 pages .. 1 GiB; ns per access measured\n"
    "                  beside the model's prediction for the same loop (memory\n"
    "                  references, TLB walks, cycles of its cost model)\n"
    "  --db FILE       with --calibrate: also store the sweep (hw_calibration)\n"
    "  --profile P     with --calibrate: the model's CPU profile (default: this\n"
    "                  host's vendor, /proc/cpuinfo)\n"
    "  --max-pages N   with --calibrate: only working sets up to N pages\n"
    "  --csv FILE      with --calibrate: also write the table as CSV\n"
    "  --svg FILE      with --calibrate: also draw it (SVG line chart)\n"
    "\n"
    "Exit status: 0 no unexplained difference; 1 differences, errors or a\n"
    "stale recording; 2 bad usage or database; 3 backend unavailable (SKIP).\n";

#define MAX_DIFF_PRINT 12
#define MAX_MEM_DIFFS 16

struct dom_mem {
    struct hw_mem m;
    size_t bytes;
    bool logdirty;        /* the model's log-dirty was on before the access */
    uint8_t *ld_before;   /* model dirty bitmap before the access, 1 bit/gfn */
    uint8_t *ld_after;
    /* mem paging (userfaultfd on KVM) */
    uint8_t *paging;      /* per gfn: a paging type (paging_out/paged/paging_in) */
    uint8_t *saved;       /* max_gfn pages: the pager's copy, i.e. each gfn's
                             contents when last seen with a frame and not
                             waiting for a page-in */
    uint8_t *uffd;        /* per gfn, for hw_mem.uffd */
};

/* An access the model paused for the pager (EF_PAUSED / EF_BLOCKED): it is
 * replayed once, when the vCPU retries it and it completes; the gfns that
 * were paged out meanwhile are userfaultfd pages then, and the order of
 * their faults must equal the model's populate requests gathered here. */
#define MAX_PEND 16
struct pend {
    bool used;
    unsigned dom, vcpu;
    struct hw_access a;
    char src[256];
    uint64_t step;
    unsigned ngfn;
    uint64_t gfn[HW_UFFD_MAX];   /* populate requests, in order */
    uint8_t *paged;              /* per gfn: paging at one of the attempts */
};

struct ctx {
    const char *backend;
    struct hw_kvm *kvm;
    struct hw_qemu *qemu;
    unsigned timeout_ms;
    bool verbose;
    sqlite3 *db;
    sqlite3_stmt *ins_diff, *ins_skip;
    int64_t hw_run;
    struct dom_mem dom[SIM_MAX_DOMAINS];
    /* per run */
    uint64_t accesses, compared, diffs, known, skipped, cpl0, cpl3, ld_checked;
    unsigned printed;
    bool stopped;          /* a guest error ended this replay */
    bool psc_walk;         /* the model's walk starts from a PSC entry */
    bool pdpte_stale;      /* PAE: the model's PDPTE register for the access
                            * differs from the PDPT entry in memory */
    char error[600];
    struct hw_access cur;
    double backend_s;
    struct pend pend[MAX_PEND];
    uint64_t paused, uffd_checked, uffd_faults;
    sqlite3_stmt *ins_uffd;
    unsigned ring_nreq;    /* requests on the paging ring before the access */
};

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void dom_mem_free(struct dom_mem *dm)
{
    if (dm->m.ram)
        munmap(dm->m.ram, dm->bytes);
    free(dm->m.present);
    free(dm->m.dirty);
    free(dm->ld_before);
    free(dm->ld_after);
    free(dm->paging);
    free(dm->uffd);
    if (dm->saved)
        munmap(dm->saved, dm->bytes);
    memset(dm, 0, sizeof *dm);
}

/* The model's log-dirty bitmap (PEEK: reads only). */
static int peek_dirty(struct domain *d, uint8_t *bm)
{
    uint64_t pages = d->max_gfn;
    struct log_dirty_stats st;
    memset(bm, 0, d->max_gfn / 8 + 1);
    /* With PML a PEEK first flushes the vCPUs' logs, which changes the
     * P2M: not a read.  Such domains are not replayed (hook_post). */
    if (d->pml_on)
        return -EBUSY;
    return paging_log_dirty_op(d, false, &pages, bm, &st);
}

static bool held(const struct ctx *c, unsigned dom, uint64_t g)
{
    for (unsigned i = 0; i < MAX_PEND; i++)
        if (c->pend[i].used && c->pend[i].dom == dom && c->pend[i].paged[g])
            return true;
    return false;
}

/* After an access: the pager's copy follows what the model made of the
 * frames (the access may have written a page that is paged out next). */
static void follow_saved(struct ctx *c, struct engine *e, struct domain *d)
{
    struct dom_mem *dm = &c->dom[d->id % SIM_MAX_DOMAINS];
    if (dm->m.max_gfn != d->max_gfn || !dm->saved)
        return;
    uint64_t top = d->max_mapped_pfn + 1 < d->max_gfn ? d->max_mapped_pfn + 1 : d->max_gfn;
    for (uint64_t g = 0; g < top; g++) {
        p2m_type_t t;
        p2m_access_t a;
        mfn_t m = p2m_get_entry(d, _gfn(g), &t, &a);
        if (!p2m_is_ram(t) || mfn_eq(m, INVALID_MFN) || held(c, d->id, g))
            continue;
        const uint8_t *f = hostmem_frame_peek(e->host->mem, m);
        if (f)
            memcpy(dm->saved + g * PAGE_SIZE, f, PAGE_SIZE);
    }
}

/* The domain's RAM as the access finds it. */
static int snapshot(struct ctx *c, struct engine *e, struct domain *d)
{
    struct dom_mem *dm = &c->dom[d->id % SIM_MAX_DOMAINS];
    if (dm->m.max_gfn != d->max_gfn) {
        dom_mem_free(dm);
        dm->bytes = d->max_gfn * PAGE_SIZE;
        dm->m.ram = mmap(NULL, dm->bytes, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        dm->m.present = calloc(d->max_gfn, 1);
        dm->m.dirty = calloc(d->max_gfn, 1);
        dm->ld_before = calloc(d->max_gfn / 8 + 1, 1);
        dm->ld_after = calloc(d->max_gfn / 8 + 1, 1);
        dm->paging = calloc(d->max_gfn, 1);
        dm->uffd = calloc(d->max_gfn, 1);
        dm->saved = mmap(NULL, dm->bytes, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (dm->saved == MAP_FAILED)
            dm->saved = NULL;
        if (dm->m.ram == MAP_FAILED || !dm->m.present || !dm->m.dirty ||
            !dm->ld_before || !dm->ld_after || !dm->paging || !dm->uffd || !dm->saved) {
            if (dm->m.ram == MAP_FAILED)
                dm->m.ram = NULL;
            dom_mem_free(dm);
            return -1;
        }
        dm->m.max_gfn = d->max_gfn;
    }
    uint64_t top = d->max_mapped_pfn + 1 < d->max_gfn ? d->max_mapped_pfn + 1 : d->max_gfn;
    memset(dm->m.present, 0, d->max_gfn);
    memset(dm->paging, 0, d->max_gfn);
    for (uint64_t g = 0; g < top; g++) {
        p2m_type_t t;
        p2m_access_t a;
        mfn_t m = p2m_get_entry(d, _gfn(g), &t, &a);
        dm->paging[g] = p2m_is_paging(t) ? 1 : 0;
        /* RAM, and the other domains' pages mapped by grant or
         * p2m_add_foreign (issue 3): guest-visible memory too; a
         * populate-on-demand gfn is what its first touch makes it, a
         * fresh zeroed page from the PoD cache. */
        if (t == p2m_populate_on_demand) {
            dm->m.present[g] = 1;
            memset(dm->m.ram + g * PAGE_SIZE, 0, PAGE_SIZE);
            continue;
        }
        if (!(p2m_is_ram(t) || p2m_is_grant(t) || t == p2m_map_foreign) ||
            mfn_eq(m, INVALID_MFN))
            continue;
        dm->m.present[g] = 1;
        const uint8_t *f = hostmem_frame_peek(e->host->mem, m);
        if (f)
            memcpy(dm->m.ram + g * PAGE_SIZE, f, PAGE_SIZE);
        else
            memset(dm->m.ram + g * PAGE_SIZE, 0, PAGE_SIZE);
        /* The pager's copy follows the frame until the gfn waits for a
         * page-in (a pending access holds it): then it is what the pager
         * saved at eviction, independent of what the model restores. */
        if (!held(c, d->id, g))
            memcpy(dm->saved + g * PAGE_SIZE, dm->m.ram + g * PAGE_SIZE, PAGE_SIZE);
    }
    dm->logdirty = d->ld.enabled && peek_dirty(d, dm->ld_before) == 0;
    return 0;
}

static const char *const kname[] = { "read", "write", "exec", "loop", "loop",
                                     "implicit-read" };

static void access_text(const struct hw_access *a, unsigned dom, char *buf, size_t n)
{
    int k = snprintf(buf, n, "%s d=%u gva=%#" PRIx64 " w=%u cpl=%u", kname[a->kind % 6],
                     dom, a->gva, a->width, a->cpl);
    if (a->kind == 1)
        snprintf(buf + k, n - (size_t)k, " val=%#" PRIx64, a->wvalue);
}

static void diff(struct ctx *c, struct engine *e, unsigned dom, int model_final,
                 const struct eng_access *out, const struct hw_result *r,
                 const char *field, uint64_t mv, uint64_t hv, const char *mtext,
                 const char *htext)
{
    struct hw_diff_view v = { c->backend, &c->cur, model_final, out->pf_ec, r,
                              field, mv, hv, c->pdpte_stale };
    const struct hw_known *k = hw_known_match(&v);
    char acc[128], ms[64], hs[300];
    access_text(&c->cur, dom, acc, sizeof acc);
    if (mtext)
        snprintf(ms, sizeof ms, "%s", mtext);
    else
        snprintf(ms, sizeof ms, "%#" PRIx64, mv);
    if (htext)
        snprintf(hs, sizeof hs, "%s", htext);
    else
        snprintf(hs, sizeof hs, "%#" PRIx64, hv);
    if (k)
        c->known++;
    else
        c->diffs++;
    if (c->printed++ < MAX_DIFF_PRINT)
        printf("    %s step %" PRIu64 ": %s: %s: model %s, %s %s%s%s%s\n", e->src,
               e->step + 1, acc, field, ms, c->backend, hs, k ? "  [known: " : "",
               k ? k->id : "", k ? "]" : "");
    if (c->ins_diff) {
        sqlite3_stmt *s = c->ins_diff;
        sqlite3_reset(s);
        sqlite3_bind_int64(s, 1, c->hw_run);
        sqlite3_bind_int64(s, 2, (int64_t)(e->step + 1));
        sqlite3_bind_text(s, 3, e->src, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(s, 4, acc, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(s, 5, field, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(s, 6, ms, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(s, 7, hs, -1, SQLITE_TRANSIENT);
        if (k)
            sqlite3_bind_text(s, 8, k->id, -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(s, 8);
        sqlite3_step(s);
    }
}

static void skip_at(struct ctx *c, const char *src, uint64_t step, const char *acc,
                    const char *why)
{
    c->skipped++;
    if (c->verbose)
        printf("    %s step %" PRIu64 ": %s: SKIP: %s\n", src, step, acc, why);
    if (c->ins_skip) {
        sqlite3_stmt *s = c->ins_skip;
        sqlite3_reset(s);
        sqlite3_bind_int64(s, 1, c->hw_run);
        sqlite3_bind_int64(s, 2, (int64_t)step);
        sqlite3_bind_text(s, 3, src, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(s, 4, acc, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(s, 5, why, -1, SQLITE_TRANSIENT);
        sqlite3_step(s);
    }
}

/* ---- the guest's 4-/5-level walk, by hand --------------------------------- */

/* How guest_walk() ended. */
enum gw_end {
    GW_UNREADABLE,  /* an entry could not be read (read() said no) */
    GW_NOT_PRESENT, /* an entry without P */
    GW_LEAF,        /* a 1 GiB / 2 MiB leaf (PS at level 3 or 2) */
    GW_STOPPED,     /* the visitor ended the walk */
    GW_TABLE,       /* past the bottom level: next is the frame it points at */
};

struct gw_ops {
    /* the 8-byte entry at gpa; false: it cannot be read, the walk ends */
    bool (*read)(void *ctx, uint64_t gpa, uint64_t *entry);
    /* each present entry, before the walk looks at PS; true ends the walk */
    bool (*visit)(void *ctx, int level, uint64_t entry);
};

/* The walk of va from cr3 (SDM 4.5: 4 or 5 levels, 9 index bits a level)
 * down to level bottom, reading with ops->read, stopping where the CPU's
 * walk would (no P, a large leaf) or where ops->visit says.  *level and
 * *entry: the last entry read; *next: the frame the last present entry
 * points at (the next table, or a leaf's page).  The replay's checks
 * below (paging-structure caches, reserved bits, QEMU's holes) are
 * visitors of this one walk. */
static enum gw_end guest_walk(uint64_t cr3, bool la57, uint64_t va, int bottom,
                              const struct gw_ops *ops, void *ctx, int *level,
                              uint64_t *entry, uint64_t *next)
{
    uint64_t t = cr3 & PTE_ADDR_MASK;
    *next = t;
    for (int l = la57 ? 5 : 4; l >= bottom; l--) {
        uint64_t en = 0;
        *level = l;
        if (!ops->read(ctx, t + 8 * ((va >> (12 + 9 * (l - 1))) & 511), &en))
            return GW_UNREADABLE;
        *entry = en;
        if (!(en & PTE_P))
            return GW_NOT_PRESENT;
        if (ops->visit && ops->visit(ctx, l, en))
            return GW_STOPPED;
        t = en & PTE_ADDR_MASK;
        *next = t;
        if ((l == 3 || l == 2) && (en & PTE_PS))
            return GW_LEAF;
    }
    return GW_TABLE;
}

/* Does a paging-structure-cache entry still say what the guest tables say
 * (the same next table and rights down to its level)?  Read through the
 * domain's EPT in host memory, as the model's walk reads (no A/D; EPT
 * without A/D writes nothing on a read). */
struct psc_walk {
    struct engine *e;
    struct mmu_ept ept;
    uint64_t va, rights, nx;
};

static bool psc_read(void *ctx, uint64_t gpa, uint64_t *entry)
{
    struct psc_walk *w = ctx;
    struct mmu_result r = { .outcome = MMU_OK };
    ept_translate(w->e->host->mem, &w->ept, _gpa(gpa), ACC_READ, true, _gva(w->va), &r);
    if (r.outcome != MMU_OK)
        return false;
    hostmem_read64(w->e->host->mem, r.hpa, entry);  /* a failed read leaves 0: no P */
    return true;
}

static bool psc_visit(void *ctx, int level, uint64_t entry)
{
    struct psc_walk *w = ctx;
    w->rights &= entry;
    w->nx |= entry & PTE_NX;
    return false;
}

static bool psc_fresh(struct engine *e, struct vcpu *v,
                      const struct mmu_psc_start *ps, uint64_t va)
{
    static const struct gw_ops ops = { psc_read, psc_visit };
    struct psc_walk w = { e, { .root = v->d->ept_root }, va, PTE_U | PTE_W, 0 };
    int level;
    uint64_t entry, table;
    return guest_walk(v->cpu.cr3, v->cpu.cr4 & X86_CR4_LA57, va, ps->level, &ops, &w,
                      &level, &entry, &table) == GW_TABLE &&
           table == ps->table_gpa && ((w.rights & (PTE_U | PTE_W)) | w.nx) == ps->rights;
}

/* AMD page walk cache (model/tlb.c): does any entry the vCPU's next walk
 * could take from it differ from the guest entry now at its gpa (through
 * the EPT, as psc_read())?  Conservative: the walk need not reach it. */
static bool pwc_stale(struct engine *e, struct vcpu *v, const struct mmu_ept *ept)
{
    struct tlb_pwc_ent l[128];
    unsigned n = tlb_pwc_list(v->tlb, &v->cpu, ept, v->vpid, l, 128);
    bool e4 = !(v->cpu.cr4 & X86_CR4_PAE); /* 32-bit paging: 4-byte entries */
    for (unsigned i = 0; i < n; i++) {
        struct mmu_result r = { .outcome = MMU_OK };
        ept_translate(e->host->mem, ept, _gpa(l[i].gpa), ACC_READ, true, _gva(0), &r);
        uint64_t m = 0;
        if (r.outcome != MMU_OK
            || hostmem_read(e->host->mem, r.hpa, &m, e4 ? 4 : 8) < 0
            || (m | PTE_A) != l[i].val)
            return true;
    }
    return false;
}

static void skip(struct ctx *c, struct engine *e, unsigned dom, const char *why)
{
    char acc[128];
    access_text(&c->cur, dom, acc, sizeof acc);
    skip_at(c, e->src, e->step + 1, acc, why);
}

/* ---- accesses paused for the pager -------------------------------------- */

static struct pend *pend_find(struct ctx *c, unsigned dom, unsigned vcpu)
{
    for (unsigned i = 0; i < MAX_PEND; i++)
        if (c->pend[i].used && c->pend[i].dom == dom && c->pend[i].vcpu == vcpu)
            return &c->pend[i];
    return NULL;
}

static void pend_free(struct pend *p)
{
    free(p->paged);
    memset(p, 0, sizeof *p);
}

/* A paused access never retried as such: a skip, with its first step. */
static void pend_drop(struct ctx *c, struct pend *p, const char *why)
{
    char acc[128];
    access_text(&p->a, p->dom, acc, sizeof acc);
    skip_at(c, p->src, p->step, acc, why);
    pend_free(p);
}

static bool same_access(const struct hw_access *x, const struct hw_access *y)
{
    return x->kind == y->kind && x->gva == y->gva && x->width == y->width &&
           x->wvalue == y->wvalue && x->cpl == y->cpl && x->cr3 == y->cr3;
}

/* The model paused (or blocked) the vCPU: note the populate request (the
 * gfn of the EPT violation that sent it) and the gfns paged out now. */
static void pend_note(struct ctx *c, struct engine *e, struct vcpu *v,
                      const struct eng_access *out)
{
    struct domain *d = v->d;
    struct pend *p = pend_find(c, d->id, v->id);
    if (!p) {
        for (unsigned i = 0; i < MAX_PEND && !p; i++)
            if (!c->pend[i].used)
                p = &c->pend[i];
        if (!p || !(p->paged = calloc(d->max_gfn, 1))) {
            skip(c, e, d->id, "too many vCPUs waiting for the pager at once");
            return;
        }
        p->used = true;
        p->dom = d->id;
        p->vcpu = v->id;
        p->a = c->cur;
        snprintf(p->src, sizeof p->src, "%s", e->src);
        p->step = e->step + 1;
    }
    c->paused++;
    const struct dom_mem *dm = &c->dom[d->id % SIM_MAX_DOMAINS];
    for (uint64_t g = 0; g < d->max_gfn && g < dm->m.max_gfn; g++)
        p->paged[g] |= dm->paging[g];
    /* The populate requests this attempt put on the paging ring (the
     * pager does not run during an access, so they follow the ones that
     * were there): the vCPU's own, in ring order. */
    const struct mem_paging *mp = &d->paging;
    for (unsigned i = c->ring_nreq; mp->ring_size && i < mp->nreq; i++) {
        const struct vm_event_req *rq = &mp->req[(mp->req_cons + i) % mp->ring_size];
        if (rq->vcpu_id != v->id || (rq->pflags & MEM_PAGING_DROP_PAGE))
            continue;
        if (p->ngfn < HW_UFFD_MAX)
            p->gfn[p->ngfn] = rq->gfn;
        p->ngfn++;
    }
    if (c->verbose) {
        char acc[128];
        access_text(&c->cur, d->id, acc, sizeof acc);
        printf("    %s step %" PRIu64 ": %s: model %s: replayed when the vCPU retries it\n",
               e->src, e->step + 1, acc, eng_final_name(out->final));
    }
}

static void gfn_list(const uint64_t *g, unsigned n, char *buf, size_t len)
{
    size_t k = 0;
    buf[0] = 0;
    for (unsigned i = 0; i < n && i < HW_UFFD_MAX && k + 24 < len; i++)
        k += (size_t)snprintf(buf + k, len - k, "%s%#" PRIx64, i ? "," : "", g[i]);
    if (n > HW_UFFD_MAX)
        snprintf(buf + k, len - k, ",...(%u)", n);
    if (!n)
        snprintf(buf, len, "none");
}

static void hook_pre(void *ctx, struct engine *e, struct vcpu *v, gva_t va,
                     enum access_kind k, unsigned width, uint64_t wvalue)
{
    struct ctx *c = ctx;
    c->cur = (struct hw_access){ v->cpu.cr0, v->cpu.cr3, v->cpu.cr4, v->cpu.efer,
                                 v->cpu.cpl, (unsigned)k, gva_x(va), width, wvalue, 0,
                                 v->cpu.rflags, v->cpu.maxphyaddr, v->cpu.pkru,
                                 v->cpu.pkrs };
    /* Will the model walk from a paging-structure-cache entry (asked before
     * the access changes the caches)? */
    struct mmu_ept ept = { .root = v->d->ept_root, .npt = v->d->npt,
                           .npt_nxe = v->d->npt };
    struct mmu_psc_start ps;
    c->psc_walk = v->tlb && !tlb_probe(v->tlb, &v->cpu, &ept, v->vpid, va, k)
                  && tlb_psc_probe(v->tlb, &v->cpu, &ept, v->vpid, va, &ps)
                  && !psc_fresh(e, v, &ps, gva_x(va));
    /* ... or from a page-walk-cache entry the guest has changed since. */
    if (v->tlb && !c->psc_walk && tlb_profile(v->tlb)->pwc && !v->d->npt
        && !tlb_probe(v->tlb, &v->cpu, &ept, v->vpid, va, k))
        c->psc_walk = pwc_stale(e, v, &ept);
    c->ring_nreq = v->d->paging.nreq;
    if (!c->stopped && snapshot(c, e, v->d) < 0) {
        c->stopped = true;
        snprintf(c->error, sizeof c->error, "out of memory for the domain's RAM copy");
    }
    /* PAE: the model walks from the PDPTE registers the last MOV CR3 (or
     * paging-changing MOV CR0/CR4) loaded (SDM 4.4.1, tlb_pae_regs()); a
     * backend that keeps none reads the PDPT in memory, which the guest may
     * have edited since.  Noted for known.c (qemu-no-pae-pdpte-registers). */
    c->pdpte_stale = false;
    uint64_t regs[4];
    if (!c->stopped && v->tlb && hw_legacy_paging(&c->cur) && (c->cur.cr4 & X86_CR4_PAE) &&
        tlb_pae_regs(v->tlb, &v->cpu, regs)) {
        const struct hw_mem *m = &c->dom[v->d->id % SIM_MAX_DOMAINS].m;
        unsigned i = (unsigned)(c->cur.gva >> 30) & 3;
        uint64_t slot = (c->cur.cr3 & 0xffffffe0ULL) + 8 * i, mem = 0;
        if ((slot >> PAGE_SHIFT) < m->max_gfn && m->present[slot >> PAGE_SHIFT])
            memcpy(&mem, m->ram + slot, 8);
        c->pdpte_stale = mem != regs[i];
    }
}

/* The PC's legacy holes (VGA window, option/BIOS ROMs) under QEMU. */
static bool qemu_hole(uint64_t gfn) { return gfn >= 0xa0 && gfn < 0x100; }

/* Unassigned guest-physical memory of the QEMU machine (`info mtree -f` of
 * `-M pc -m 256 -nodefaults`: pc.ram covers 0 to 256 MiB but for the
 * ROMs at 0xc0000-0xfffff; then nothing until the IOAPIC at 0xfec00000).
 * A domain's MMIO gfn there is a hole on both sides: replayed; one below
 * 256 MiB is RAM on QEMU: skipped. */
static bool qemu_unassigned(uint64_t gpa)
{
    return gpa >= (uint64_t)QEMU_RAM_MB << 20 && gpa < 0xfec00000ULL;
}

/* The walk over the domain's RAM copy: a table outside RAM cannot be
 * read; with holes, neither can one in QEMU's PC hole (hole is set). */
struct ram_walk {
    const struct hw_mem *m;
    uint64_t mask;   /* path_has_bits() */
    bool holes, hole; /* path_hits_hole() */
};

static bool ram_read(void *ctx, uint64_t gpa, uint64_t *entry)
{
    struct ram_walk *w = ctx;
    uint64_t g = gpa >> PAGE_SHIFT;
    if (w->holes && qemu_hole(g)) {
        w->hole = true;
        return false;
    }
    if (g >= w->m->max_gfn || !w->m->present[g])
        return false;
    memcpy(entry, w->m->ram + gpa, 8);
    return true;
}

/* Does the 4-level walk of a (over the RAM copy) touch a hole gfn? */
static bool path_hits_hole(const struct hw_mem *m, const struct hw_access *a)
{
    if (hw_legacy_paging(a)) {   /* 32-bit / PAE */
        uint64_t p[8];
        unsigned n = hw_legacy_path(m, a, p, false);
        for (unsigned i = 0; i < n; i++)
            if (qemu_hole(p[i] >> PAGE_SHIFT))
                return true;
        return false;
    }
    static const struct gw_ops ops = { ram_read, NULL };
    struct ram_walk w = { m, 0, true, false };
    int level;
    uint64_t entry, frame;
    switch (guest_walk(a->cr3, a->cr4 & X86_CR4_LA57, a->gva, 1, &ops, &w, &level, &entry,
                       &frame)) {
    case GW_LEAF: {  /* 1 GiB / 2 MiB page: the 4 KiB frame of the gva in it */
        uint64_t size = 1ULL << (12 + 9 * (level - 1));
        return qemu_hole(((frame & ~(size - 1)) | (a->gva & (size - 1))) >> PAGE_SHIFT);
    }
    case GW_TABLE:   /* the final page */
        return qemu_hole(frame >> PAGE_SHIFT);
    default:
        return w.hole;
    }
}

static bool has_bits_visit(void *ctx, int level, uint64_t entry)
{
    return (entry & ((struct ram_walk *)ctx)->mask) != 0;
}

/* Does any entry of the 4- or 5-level walk of a (over the RAM copy) have
 * a bit of mask set?  (Stops where the walk would.) */
static bool path_has_bits(const struct hw_mem *m, const struct hw_access *a, uint64_t mask)
{
    static const struct gw_ops ops = { ram_read, has_bits_visit };
    struct ram_walk w = { m, mask, false, false };
    int level;
    uint64_t entry, frame;
    return guest_walk(a->cr3, a->cr4 & X86_CR4_LA57, a->gva, 1, &ops, &w, &level, &entry,
                      &frame) == GW_STOPPED;
}

/* The host CPU's MAXPHYADDR (CPUID 0x80000008 EAX[7:0]).  kvm.c gives the
 * guest the run's MAXPHYADDR in its CPUID; with shadow paging KVM checks
 * reserved address bits against that, which was verified here for a run's
 * 48 on a 46-bit host (bit 47 is an address bit: MMIO, as in the model).
 * A guest value below the host's is not verified (under TDP it needs
 * allow_smaller_maxphyaddr, which this KVM does not offer). */
static unsigned host_maxphyaddr(void)
{
    unsigned eax, ebx, ecx, edx;
    __asm__ volatile("cpuid" : "=a"(eax), "=b"(ebx), "=c"(ecx), "=d"(edx)
                     : "a"(0x80000008u), "c"(0));
    return eax & 0xff;
}

/* An access whose walk has a bit set between a recorded MAXPHYADDR below
 * the KVM host's and the host's: reserved for the model, maybe not for KVM,
 * so it is skipped.  Accesses whose entries stay below both boundaries,
 * and runs whose MAXPHYADDR is at least the host's, replay. */
static const char *maxphyaddr_skip(const struct ctx *c, const struct hw_mem *m,
                                   const struct hw_access *a, unsigned model_pa)
{
    static char why[256];
    if (!c->kvm)
        return NULL; /* QEMU TCG: -cpu max,phys-bits = the run's, host-independent */
    unsigned host = host_maxphyaddr(), rec = model_pa ? model_pa : 52;
    if (rec >= host || !host)
        return NULL;
    unsigned lo = host < rec ? host : rec, hi = host < rec ? rec : host;
    uint64_t mask = ((hi >= 64 ? 0 : 1ULL << hi) - 1) & ~((1ULL << lo) - 1);
    if (!path_has_bits(m, a, mask))
        return NULL;
    snprintf(why, sizeof why,
             "a paging entry sets bits %u-%u: the run's MAXPHYADDR is %u, this KVM "
             "host's is %u (CPUID 0x80000008), so they are reserved on one side only",
             lo, hi - 1, rec, host);
    return why;
}

/* A feature the backend (or the stub) lacks: the reason, or NULL. */
static const char *feature_skip(const struct ctx *c, const struct hw_mem *m,
                                const struct hw_access *a)
{
    if (!(a->cr0 & X86_CR0_PG))
        return "paging off (CR0.PG=0) is not replayed: the stubs run with paging";
    /* 32-bit and PAE paging: stub32.S on QEMU TCG.  kvm-pvm here keeps
     * CR0.PG clear when EFER.LME is (from KVM_SET_SREGS or a guest MOV to
     * CR0) and shuts the vCPU down; dmesg: "kvm-pvm supports paging only in
     * long mode" (probed on this host, README "Hardware replay"). */
    if (hw_legacy_paging(a) && c->kvm)
        return a->cr4 & X86_CR4_PAE
                   ? "PAE paging: kvm-pvm here supports paging only in long mode "
                     "(CR0.PG with EFER.LME=0 shuts the vCPU down)"
                   : "32-bit paging: kvm-pvm here supports paging only in long mode "
                     "(CR0.PG with EFER.LME=0 shuts the vCPU down)";
    if (!hw_legacy_paging(a) && (!(a->cr4 & X86_CR4_PAE) || !(a->efer & X86_EFER_LMA)))
        return "IA-32e mode without CR4.PAE or EFER.LMA is not a paging mode the stubs run";
    if ((a->cr4 & (1ULL << 12)) && c->kvm)
        return "CR4.LA57: KVM here rejects it in KVM_SET_SREGS (kvm-here.md s1)";
    /* QEMU TCG (-cpu max) has PCID and PKU: the stub loads CR4.PCIDE with
     * the recorded CR3 (PCID in bits 11:0) and PKRU with wrpkru. */
    if ((a->cr4 & (1ULL << 17)) && c->kvm)
        return "CR4.PCIDE: KVM here rejects it in KVM_SET_SREGS (kvm-here.md s1)";
    if ((a->cr4 & (1ULL << 22)) && c->kvm)
        return "CR4.PKE: PKRU cannot be loaded, wrpkru ends in INTERNAL_ERROR "
               "under KVM here (kvm-here.md s1)";
    /* CR4.PKS: QEMU TCG has PKS (-cpu max,+pks); the stub loads IA32_PKRS
     * and its own supervisor pages carry a key PKRS leaves open. */
    if ((a->cr4 & (1ULL << 24)) && c->kvm)
        return "CR4.PKS: KVM here does not offer PKS (KVM_GET_SUPPORTED_CPUID leaf 7 "
               "ECX bit 31 clear, kvm-here.md s1)";
    if ((a->cr4 & (1ULL << 24)) && hw_free_pkey(a->pkrs) < 0)
        return "CR4.PKS: the recorded PKRS restricts all 16 keys, so the stub's own "
               "supervisor pages would fault";
    if ((a->cr4 & (1ULL << 24)) && hw_legacy_paging(a))
        return "CR4.PKS outside IA-32e mode (no keys there): not replayed";
    if ((a->cr4 & (1ULL << 22)) && hw_free_pkey(a->pkru) < 0)
        return "CR4.PKE: the recorded PKRU restricts all 16 keys, so the stub's own user "
               "pages (user stack) would fault";
    /* 1 GiB pages on KVM are replayed, not skipped: every difference they
     * cause is the known behaviour kvm-no-1g-pages (known.c). */
    (void)m;
    return NULL;
}

static uint64_t wmask(unsigned w) { return w >= 8 ? ~0ULL : (1ULL << (8 * w)) - 1; }

static void hook_post(void *ctx, struct engine *e, struct vcpu *v, gva_t va,
                      enum access_kind k, unsigned width, uint64_t wvalue,
                      const struct eng_access *out)
{
    struct ctx *c = ctx;
    struct domain *d = v->d;
    unsigned dom = d->id;
    c->accesses++;
    follow_saved(c, e, d);
    if (c->stopped) {
        skip(c, e, dom, "an earlier guest error ended this replay");
        return;
    }
    struct pend *pd = pend_find(c, dom, v->id);
    if (pd && !same_access(&pd->a, &c->cur)) {
        pend_drop(c, pd, "the model paused this access for the pager and the vCPU "
                         "did not retry it");
        pd = NULL;
    }
    /* Paused, asleep or black-eyed for the mem_access listener (the
     * monitor ring, sim/monitor.c): no vm_event listener on the hardware
     * side; the vCPU's retry after the response is a fresh access. */
    if ((out->final == EF_PAUSED || out->final == EF_BLOCKED) &&
        (vcpu_run_state(d, v->id) == VCPU_PAUSED_MONITOR ||
         monitor_vcpu_state(d, v->id) != MON_NONE)) {
        skip(c, e, dom, "the model held this vCPU for the mem_access listener "
                        "(vm_event monitor ring): no hardware counterpart");
        return;
    }
    if (out->final == EF_PAUSED || out->final == EF_BLOCKED) {
        pend_note(c, e, v, out);
        return;
    }
    if (out->final == EF_CRASH) {
        skip(c, e, dom, "the model crashed the domain (EPT misconfiguration, "
                        "livelock, or a mem_access violation with access_required "
                        "and no listener): no hardware counterpart");
        return;
    }
    /* p2m_mmio_direct (issue 3): the access reached a device frame beyond
     * host RAM, which the replay VM has no device for. */
    if (out->final == EF_OK && (hpa_x(out->hpa) >> PAGE_SHIFT) >= e->host->nr_frames) {
        skip(c, e, dom, "a direct-MMIO device frame (p2m_mmio_direct beyond host RAM): "
                        "no device behind it on the backend");
        return;
    }
    /* Known behaviour kvm-no-tlb-staleness: KVM's shadow MMU here is a
     * perfectly coherent TLB, so an access the model answered from its TLB
     * (possibly with a translation the guest has since changed, which the
     * architecture allows until invalidated) has no hardware counterpart. */
    if (out->tlb_level == TLB_L1 || out->tlb_level == TLB_STLB) {
        skip(c, e, dom, "the model answered from its TLB; KVM here keeps no stale "
                        "translations (known: kvm-no-tlb-staleness)");
        return;
    }
    /* The same for a walk that skipped levels through a paging-structure
     * cache entry the guest has changed since (allowed until invalidated). */
    if (c->psc_walk) {
        skip(c, e, dom, "the model walked from a stale paging-structure-cache entry; "
                        "KVM here keeps none (known: kvm-no-tlb-staleness)");
        return;
    }
    if (out->final == EF_DISCARD) {
        skip(c, e, dom, "a write the model discarded (p2m_ram_ro): ram_ro gfns are "
                        "not yet mirrored as read-only memslots");
        return;
    }
    if (out->final == EF_MMIO) {
        p2m_type_t it;
        p2m_get_entry(d, gpa_to_gfn(out->gpa), &it, NULL);
        if (it == p2m_ioreq_server) {
            skip(c, e, dom, "a write the model forwarded to the ioreq server "
                            "(p2m_ioreq_server): not yet mirrored as read-only memslots");
            return;
        }
    }
    if (c->cur.cpl != 0 && c->cur.cpl != 3) {
        skip(c, e, dom, "CPL 1/2 accesses are not replayed");
        return;
    }
    /* The backends run the guest under their own EPT/NPT: raw EPT entries,
     * MBEC and PML (whose dirty marks wait for a flush) have no
     * counterpart there.  EPT A/D alone changes nothing the guest or the
     * dirty log can see, so those domains are replayed. */
    if (d->ept_raw || d->pml_mode || v->mbec) {
        skip(c, e, dom, "raw EPT entries, MBEC or PML dirty tracking: the "
                        "backend's EPT is its own (not mirrored)");
        return;
    }
    struct hw_mem *m = &c->dom[dom % SIM_MAX_DOMAINS].m;
    const char *why = feature_skip(c, m, &c->cur);
    if (!why)
        why = maxphyaddr_skip(c, m, &c->cur, v->cpu.maxphyaddr);
    if (why) {
        skip(c, e, dom, why);
        return;
    }
    /* The stub lives in PML4 slot 511 of the scenario's own 4-level root;
     * its pages are supervisor pages (but for the user copy of the access
     * code and the user stack), so SMEP and SMAP do not hit it and the
     * recorded EFLAGS.AC is loaded for CPL0 accesses; on QEMU also PCID
     * and PKRU (the stub's user pages get a key PKRU leaves open).  Other
     * paging modes (32-bit, PAE, 5-level), supervisor keys (PKRS) and
     * implicit supervisor accesses are not replayed yet. */
    /* Implicit supervisor accesses (SDM 4.6: e.g. descriptor-table reads;
     * supervisor whatever the CPL, SMAP regardless of EFLAGS.AC): the stub
     * makes the CPU read a descriptor at the gva -- LAR through an LDT
     * based there (kind 5), which reads 8 bytes and never writes. */
    if (v->cpu.implicit) {
        const char *iw = NULL;
        if (k != ACC_READ)
            iw = "implicit supervisor writes and fetches are not replayed (the stub "
                 "reproduces descriptor-table reads, with LAR)";
        else if (hw_legacy_paging(&c->cur))
            iw = "implicit supervisor reads in 32-bit/PAE paging are not replayed "
                 "(stub32.S has no LDT path)";
        else if (c->kvm)   /* probed with smep_smap_pk.lua, README */
            iw = "implicit supervisor reads on KVM here: at CPL0 its instruction emulator "
                 "has no LAR (INTERNAL_ERROR); at CPL3 kvm-pvm runs LAR natively on its "
                 "own descriptor tables, and an LDT read of a user page under SMAP "
                 "completed without the #PF the SDM requires";
        else if ((c->cur.gva & 0xfff) > 0xff8)
            iw = "an implicit read crossing a page: LAR reads the 8-byte descriptor, "
                 "which would touch the next page";
        if (iw) {
            skip(c, e, dom, iw);
            return;
        }
        c->cur.kind = 5;
    }
    struct hw_result r;
    /* MMIO on QEMU: only at gpas unassigned on the QEMU machine too
     * (qemu_unassigned()).  QEMU has no exits to count, so what is compared
     * is that the access completes without #PF, the value a read gives
     * (the model's reads float high, no device model), the A/D bits of the
     * walk and that no RAM changed -- not the gpa. */
    bool qmmio = c->qemu && out->final == EF_MMIO;
    if (qmmio && !qemu_unassigned(gpa_x(out->gpa))) {
        skip(c, e, dom, "MMIO below 256 MiB: the QEMU backend's RAM covers it, only "
                        "gpas from 256 MiB to the IOAPIC (0xfec00000) are unassigned there");
        return;
    }
    if (c->qemu && path_hits_hole(m, &c->cur)) {
        skip(c, e, dom, "the walk touches gfns 0xa0-0xff, the PC's VGA/BIOS hole "
                        "under QEMU");
        return;
    }
    /* Paged-out gfns (KVM): userfaultfd pages served with the pager's copy.
     * The ones a paused attempt found paged out count even though the
     * model has paged them in since (that is the retry this is). */
    struct dom_mem *dmu = &c->dom[dom % SIM_MAX_DOMAINS];
    bool uffd = false;
    if (c->kvm) {
        for (uint64_t g = 0; g < m->max_gfn; g++) {
            dmu->uffd[g] = m->present[g] && (dmu->paging[g] || (pd && pd->paged[g]));
            uffd |= dmu->uffd[g];
        }
        char uwhy[256];
        if (uffd && hw_kvm_uffd_ok(c->kvm, uwhy, sizeof uwhy) < 0) {
            char why[300];
            snprintf(why, sizeof why, "paged-out gfns need userfaultfd: %s", uwhy);
            skip(c, e, dom, why);
            if (pd)
                pend_free(pd);
            return;
        }
        for (uint64_t g = 0; uffd && g < m->max_gfn; g++)
            if (dmu->uffd[g])
                memcpy(m->ram + g * PAGE_SIZE, dmu->saved + g * PAGE_SIZE, PAGE_SIZE);
        m->uffd = uffd ? dmu->uffd : NULL;
    }
    double t0 = now_s();
    if (c->qemu)
        hw_qemu_access(c->qemu, m, &c->cur, c->timeout_ms, &r);
    else
        hw_kvm_access(c->kvm, m, &c->cur, c->timeout_ms, &r);
    c->backend_s += now_s() - t0;
    m->uffd = NULL;
    if (qmmio && r.outcome == HW_OK) {
        r.outcome = HW_MMIO;             /* completed in the hole */
        r.mmio_gpa = gpa_x(out->gpa);    /* not observable on QEMU: not compared */
    }
    if (uffd && r.outcome != HW_SKIP && r.outcome != HW_ERROR) {
        /* the order of userfaultfd faults == the model's populate requests */
        uint64_t none[1] = { 0 };
        const uint64_t *mg = pd ? pd->gfn : none;
        unsigned mn = pd ? pd->ngfn : 0;
        bool same = mn == r.uffd_n;
        for (unsigned i = 0; same && i < mn && i < HW_UFFD_MAX; i++)
            same = mg[i] == r.uffd_gfn[i];
        char ms[200], hs[200];
        gfn_list(mg, mn, ms, sizeof ms);
        gfn_list(r.uffd_gfn, r.uffd_n, hs, sizeof hs);
        c->uffd_checked++;
        c->uffd_faults += r.uffd_n;
        if (c->ins_uffd) {
            char acc[128];
            access_text(&c->cur, dom, acc, sizeof acc);
            sqlite3_stmt *s = c->ins_uffd;
            sqlite3_reset(s);
            sqlite3_bind_int64(s, 1, c->hw_run);
            sqlite3_bind_int64(s, 2, (int64_t)(e->step + 1));
            sqlite3_bind_text(s, 3, e->src, -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(s, 4, acc, -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(s, 5, ms, -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(s, 6, hs, -1, SQLITE_TRANSIENT);
            sqlite3_step(s);
        }
        if (c->verbose)
            printf("    %s step %" PRIu64 ": populate requests %s, userfaultfd faults %s\n",
                   e->src, e->step + 1, ms, hs);
        if (!same)
            diff(c, e, dom, (int)out->final, out, &r, "uffd_order", mn, r.uffd_n, ms, hs);
    }
    if (pd)
        pend_free(pd);
    if (r.outcome == HW_SKIP) {
        skip(c, e, dom, r.msg);
        return;
    }
    c->compared++;
    if (c->cur.cpl == 3)
        c->cpl3++;
    else
        c->cpl0++;
    int mf = (int)out->final;
    static const char *const on[] = { "ok", "pf", "mmio", "skip", "error" };
    if (c->verbose) {
        char acc[128];
        access_text(&c->cur, dom, acc, sizeof acc);
        printf("    %s step %" PRIu64 ": %s: model %s, %s %s ec=%#x cr2=%#" PRIx64
               " val=%#" PRIx64 "\n", e->src, e->step + 1, acc, eng_final_name(out->final),
               c->backend, on[r.outcome], r.ec, r.cr2, r.value);
    }
    /* A non-canonical address: the model's #GP is the stub's vector 13. */
    if (r.outcome == HW_ERROR && mf == EF_GP && strstr(r.msg, "exception 13 "))
        return;
    if (r.outcome == HW_ERROR) {
        diff(c, e, dom, mf, out, &r, "error", 0, 0, eng_final_name(out->final), r.msg);
        if (!strstr(r.msg, "INTERNAL_ERROR") || k != ACC_FETCH) {
            c->stopped = true;
            snprintf(c->error, sizeof c->error, "%s step %" PRIu64 ": %s", e->src,
                     e->step + 1, r.msg);
        }
        return;
    }
    int hf = r.outcome == HW_OK ? EF_OK : r.outcome == HW_PF ? EF_PF : EF_MMIO;
    if (hf != mf) {
        char ht[96];
        if (r.outcome == HW_PF)
            snprintf(ht, sizeof ht, "pf ec=%#x cr2=%#" PRIx64, r.ec, r.cr2);
        else if (r.outcome == HW_MMIO)
            snprintf(ht, sizeof ht, "mmio gpa=%#" PRIx64, r.mmio_gpa);
        else
            snprintf(ht, sizeof ht, "ok");
        char mt[64];
        if (mf == EF_PF)
            snprintf(mt, sizeof mt, "pf ec=%#x cr2=%#" PRIx64, out->pf_ec, gva_x(out->cr2));
        else
            snprintf(mt, sizeof mt, "%s", eng_final_name(out->final));
        diff(c, e, dom, mf, out, &r, "outcome", (uint64_t)mf, (uint64_t)hf, mt, ht);
    } else if (hf == EF_PF) {
        if (out->pf_ec != r.ec)
            diff(c, e, dom, mf, out, &r, "pf_ec", out->pf_ec, r.ec, NULL, NULL);
        if (gva_x(out->cr2) != r.cr2)
            diff(c, e, dom, mf, out, &r, "cr2", gva_x(out->cr2), r.cr2, NULL, NULL);
    } else if (hf == EF_MMIO) {
        if (qmmio) {
            if (k == ACC_READ && (out->value & wmask(width)) != (r.value & wmask(width)))
                diff(c, e, dom, mf, out, &r, "mmio_value", out->value & wmask(width),
                     r.value & wmask(width), NULL, NULL);
        } else if ((gpa_x(out->gpa) & ~7ULL) != (r.mmio_gpa & ~7ULL))
            diff(c, e, dom, mf, out, &r, "mmio_gpa", gpa_x(out->gpa), r.mmio_gpa,
                 NULL, NULL);
    } else if (k == ACC_READ && !v->cpu.implicit &&   /* LAR gives access rights */
               (out->value & wmask(width)) != (r.value & wmask(width))) {
        diff(c, e, dom, mf, out, &r, "value", out->value & wmask(width),
             r.value & wmask(width), NULL, NULL);
    }
    (void)va;
    (void)wvalue;
    /* The domain's memory afterwards: A/D bits and data, word by word. */
    unsigned nmem = 0;
    uint64_t top = d->max_mapped_pfn + 1 < d->max_gfn ? d->max_mapped_pfn + 1 : d->max_gfn;
    for (uint64_t g = 0; g < top; g++) {
        if (!m->present[g] || (c->qemu && qemu_hole(g)))
            continue;
        p2m_type_t t;
        p2m_access_t pa;
        mfn_t mf2 = p2m_get_entry(d, _gfn(g), &t, &pa);
        static const uint8_t zero[PAGE_SIZE];
        const uint8_t *f = hostmem_frame_peek(e->host->mem, mf2);
        if (!f)
            f = zero;
        const uint8_t *h = m->ram + g * PAGE_SIZE;
        if (!memcmp(f, h, PAGE_SIZE))
            continue;
        for (unsigned o = 0; o < PAGE_SIZE; o += 8) {
            uint64_t a, b;
            memcpy(&a, f + o, 8);
            memcpy(&b, h + o, 8);
            if (a == b)
                continue;
            if (nmem++ >= MAX_MEM_DIFFS)
                continue;
            uint64_t x = a ^ b;
            char field[64];
            const char *what = "mem";
            if (!(x & ~(PTE_A | PTE_D)))
                what = x == PTE_A ? "pte.A" : x == PTE_D ? "pte.D" : "pte.AD";
            snprintf(field, sizeof field, "%s@gpa=%#" PRIx64, what, (uint64_t)(g * PAGE_SIZE + o));
            diff(c, e, dom, mf, out, &r, field, a, b, NULL, NULL);
        }
    }
    /* Log-dirty: for every gfn clean in the model's bitmap before the access,
     * KVM's dirty log (fresh VM: every page this access wrote) must agree
     * with whether the model marked it. */
    struct dom_mem *dm = &c->dom[dom % SIM_MAX_DOMAINS];
    if (c->kvm && dm->logdirty && peek_dirty(d, dm->ld_after) == 0) {
        c->ld_checked++;
        for (uint64_t g = 0; g < top; g++) {
            if (!m->present[g] || (dm->ld_before[g / 8] >> (g % 8) & 1))
                continue;
            /* Xen's log-dirty tracks the domain's own RAM: writes through
             * grant and foreign entries (EPT-writable, not logged in the
             * mapping domain) are KVM memslot writes but no model marks. */
            p2m_type_t lt;
            p2m_get_entry(d, _gfn(g), &lt, NULL);
            if (p2m_is_grant(lt) || lt == p2m_map_foreign)
                continue;
            bool md = dm->ld_after[g / 8] >> (g % 8) & 1, kd = m->dirty[g];
            if (md != kd) {
                char field[64];
                snprintf(field, sizeof field, "logdirty@gfn=%#" PRIx64, g);
                diff(c, e, dom, mf, out, &r, field, md, kd, md ? "dirty" : "clean",
                     kd ? "dirty" : "clean");
            }
        }
    }
    if (nmem > MAX_MEM_DIFFS) {
        char n[32];
        snprintf(n, sizeof n, "%u more words", nmem - MAX_MEM_DIFFS);
        diff(c, e, dom, mf, out, &r, "mem.more", 0, 0, "", n);
    }
}

/* ---- database ---------------------------------------------------------------- */

static const char hw_schema[] =
    "CREATE TABLE IF NOT EXISTS hw_runs (\n"
    "    id          INTEGER PRIMARY KEY,\n"
    "    run_id      INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n"
    "    backend     TEXT NOT NULL,\n"
    "    status      TEXT NOT NULL CHECK (status IN ('running', 'pass', 'diff',\n"
    "                                    'error', 'stale')),\n"
    "    accesses    INTEGER, compared INTEGER, diffs INTEGER, known INTEGER,\n"
    "    skipped     INTEGER, cpl0 INTEGER, cpl3 INTEGER,\n"
    "    mutants     TEXT, digest TEXT, message TEXT,\n"
    "    started_at  TEXT, duration_ms REAL);\n"
    "CREATE TABLE IF NOT EXISTS hw_diffs (\n"
    "    id        INTEGER PRIMARY KEY,\n"
    "    hw_run_id INTEGER NOT NULL REFERENCES hw_runs(id) ON DELETE CASCADE,\n"
    "    step INTEGER, src TEXT, access TEXT, field TEXT NOT NULL,\n"
    "    model TEXT, hw TEXT,\n"
    "    known TEXT);  -- id of the known behaviour (hw-replay/known.c) or NULL\n"
    "CREATE TABLE IF NOT EXISTS hw_skips (\n"
    "    id        INTEGER PRIMARY KEY,\n"
    "    hw_run_id INTEGER NOT NULL REFERENCES hw_runs(id) ON DELETE CASCADE,\n"
    "    step INTEGER, src TEXT, access TEXT, reason TEXT NOT NULL);\n"
    "CREATE TABLE IF NOT EXISTS hw_uffd (  -- paged-out gfns (KVM, userfaultfd)\n"
    "    id        INTEGER PRIMARY KEY,\n"
    "    hw_run_id INTEGER NOT NULL REFERENCES hw_runs(id) ON DELETE CASCADE,\n"
    "    step INTEGER, src TEXT, access TEXT,\n"
    "    populate TEXT,   -- the model's populate requests (gfns, in order)\n"
    "    faults TEXT);    -- the userfaultfd faults (gfns, in order)\n"
    "CREATE INDEX IF NOT EXISTS hw_diffs_run ON hw_diffs(hw_run_id);\n";

static int open_db(const char *path, sqlite3 **out)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "pagesim replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    sqlite3 *db;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        fprintf(stderr, "pagesim replay: %s: %s\n", path, sqlite3_errmsg(db));
        sqlite3_close(db);
        return -1;
    }
    sqlite3_busy_timeout(db, 5000);
    sqlite3_stmt *s;
    int64_t app = 0, uv = 0;
    if (sqlite3_prepare_v2(db, "PRAGMA application_id", -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
        app = sqlite3_column_int64(s, 0);
    else {
        fprintf(stderr, "pagesim replay: %s: not a database (%s)\n", path, sqlite3_errmsg(db));
        sqlite3_finalize(s);
        sqlite3_close(db);
        return -1;
    }
    sqlite3_finalize(s);
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
        uv = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    if (app != 0x50475331 || uv != RECORDER_SCHEMA_VERSION) {
        fprintf(stderr, "pagesim replay: %s: not a pagesim database of schema version %d "
                "(application_id %#" PRIx64 ", user_version %" PRId64 ")\n", path,
                RECORDER_SCHEMA_VERSION, app, uv);
        sqlite3_close(db);
        return -1;
    }
    char *err = NULL;
    if (sqlite3_exec(db, hw_schema, NULL, NULL, &err) != SQLITE_OK) {
        fprintf(stderr, "pagesim replay: %s: cannot create the hw tables: %s\n", path, err);
        sqlite3_free(err);
        sqlite3_close(db);
        return -1;
    }
    *out = db;
    return 0;
}

struct recorded {
    int64_t id;
    char *scenario, *digest, *mutants;
    uint64_t seed;
    bool npt; /* runs.hap = 'npt': recorded with pagesim run --hap npt */
};

static int load_runs(sqlite3 *db, int64_t only, struct recorded **out, size_t *n)
{
    sqlite3_stmt *s;
    const char *q = only > 0
        ? "SELECT id, scenario, seed, COALESCE(digest,''), COALESCE(mutants,''), "
          "COALESCE(hap,'') FROM runs WHERE id = ?"
        : "SELECT id, scenario, seed, COALESCE(digest,''), COALESCE(mutants,''), "
          "COALESCE(hap,'') FROM runs ORDER BY id";
    if (sqlite3_prepare_v2(db, q, -1, &s, NULL) != SQLITE_OK)
        return -1;
    if (only > 0)
        sqlite3_bind_int64(s, 1, only);
    size_t cap = 0;
    *out = NULL;
    *n = 0;
    while (sqlite3_step(s) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? 2 * cap : 16;
            struct recorded *p = realloc(*out, cap * sizeof **out);
            if (!p)
                break;
            *out = p;
        }
        struct recorded *r = &(*out)[(*n)++];
        r->id = sqlite3_column_int64(s, 0);
        r->scenario = strdup((const char *)sqlite3_column_text(s, 1));
        r->seed = (uint64_t)sqlite3_column_int64(s, 2);
        r->digest = strdup((const char *)sqlite3_column_text(s, 3));
        r->mutants = strdup((const char *)sqlite3_column_text(s, 4));
        r->npt = !strcmp((const char *)sqlite3_column_text(s, 5), "npt");
    }
    sqlite3_finalize(s);
    return 0;
}

static mutset_t parse_mutants(const char *list, char *bad, size_t n)
{
    mutset_t bits = 0;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", list);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        mutset_t b = mutant_from_name(t);
        if (!b)
            snprintf(bad, n, "%s", t);
        bits |= b;
    }
    return bits;
}

/* The calibration sweep (issue 5): CPL3 loops measured on KVM (native,
 * on KVM's shadow pages) beside what the model predicts for the same loop
 * (cost.c: its TLBs and cycle cost model with the profile of this host's
 * CPU, a 2D walk of guest tables over EPT per TLB miss).  The model knows
 * nothing of the nesting here (kvm-here.md: this Linux is itself a guest),
 * nor of data caches: the gap between the columns is what calibration is
 * for. */
#define CAL_SIZES 5
#define CAL_SERIES 4
static const uint64_t cal_sizes[CAL_SIZES] = { 16, 256, 4096, 65536, 262144 };
static const char *const cal_sname[CAL_SIZES] = { "64K", "1M", "16M", "256M", "1G" };

/* An SVG line chart of the sweep: x = working set, y = ns/access (log10),
 * one solid polyline per pattern measured, a dashed one predicted. */
static void write_svg(const char *path, const double ns[CAL_SIZES][CAL_SERIES],
                      const double pred[CAL_SIZES][CAL_SERIES], const char *profile)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "pagesim replay: %s: %s\n", path, strerror(errno));
        return;
    }
    static const char *const series[] = { "seq read", "seq write", "rand read", "rand write" };
    static const char *const color[] = { "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e" };
    const double W = 680, H = 420, L = 60, R = 190, T = 30, B = 50;
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
            "font-family=\"sans-serif\" font-size=\"12\">\n", W, H);
    fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
    fprintf(f, "<text x=\"%.0f\" y=\"18\">CPL3 cost per access (ns, log scale) vs working set: "
            "KVM measured (solid), model %s predicted (dashed)</text>\n", L, profile);
    /* y: 0.1 ns .. 1000 ns, log10 */
    double y0 = log10(0.1), y1 = log10(1000.0);
#define YP(v) (T + (H - T - B) * (1 - (log10(v) - y0) / (y1 - y0)))
#define XP(i) (L + (W - L - R) * (i) / (CAL_SIZES - 1.0))
    for (double v = 0.1; v <= 1000; v *= 10) {
        fprintf(f, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>"
                "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n",
                L, W - R, YP(v), YP(v), L - 5, YP(v) + 4, v);
    }
    for (int i = 0; i < CAL_SIZES; i++)
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n", XP(i),
                H - B + 20, cal_sname[i]);
    for (int p = 0; p < 2; p++) {
        const double (*v)[CAL_SERIES] = p ? pred : ns;
        for (int s = 0; s < CAL_SERIES; s++) {
            fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s points=\"",
                    color[s], p ? " stroke-dasharray=\"6,4\"" : "");
            for (int i = 0; i < CAL_SIZES; i++)
                if (v[i][s] > 0)
                    fprintf(f, "%.1f,%.1f ", XP(i), YP(v[i][s] < 0.1 ? 0.1 : v[i][s]));
            fprintf(f, "\"/>\n<text x=\"%.1f\" y=\"%.1f\" fill=\"%s\">%s %s</text>\n",
                    W - R + 10, T + 20.0 + 18 * (s + 4 * p), color[s], series[s],
                    p ? "(model)" : "(KVM)");
        }
    }
#undef XP
#undef YP
    fprintf(f, "</svg>\n");
    fclose(f);
}

/* The profile of this host's CPU: by vendor (kvm-here.md: "AMD EPYC"). */
static const struct cpu_profile *host_profile(void)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[256];
    const struct cpu_profile *p = &cpu_profile_intel;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "vendor_id", 9)) {
            if (strstr(line, "AuthenticAMD"))
                p = &cpu_profile_amd;
            break;
        }
    if (f)
        fclose(f);
    return p;
}

static const char cal_schema[] =
    "CREATE TABLE IF NOT EXISTS hw_calibration (\n"
    "    id INTEGER PRIMARY KEY,\n"
    "    started_at TEXT, profile TEXT, tsc_ghz REAL,\n"
    "    pages INTEGER, bytes INTEGER, pattern TEXT, op TEXT, accesses INTEGER,\n"
    "    ns_measured REAL,         -- KVM, CPL3, TSC-timed\n"
    "    model_refs REAL,          -- paging-structure references per access\n"
    "    model_walks REAL,         -- TLB misses per access\n"
    "    model_cycles REAL,        -- the cost model's cycles per access\n"
    "    ns_predicted REAL);       -- model_cycles at the TSC clock\n";

static int calibrate(const char *csv, const char *svg, const char *dbpath, const char *prof,
                     uint64_t max_pages)
{
    double table[CAL_SIZES][CAL_SERIES] = { { 0 } }, pred[CAL_SIZES][CAL_SERIES] = { { 0 } };
    const struct cpu_profile *p = prof ? cpu_profile_by_name(prof) : host_profile();
    if (!p) {
        fprintf(stderr, "pagesim replay: --profile: unknown CPU profile '%s' (intel, amd)\n",
                prof);
        return 2;
    }
    sqlite3 *db = NULL;
    sqlite3_stmt *ins = NULL;
    if (dbpath) {
        char *err = NULL;
        if (open_db(dbpath, &db) < 0)
            return 2;
        if (sqlite3_exec(db, cal_schema, NULL, NULL, &err) != SQLITE_OK) {
            fprintf(stderr, "pagesim replay: %s: %s\n", dbpath, err);
            sqlite3_free(err);
            sqlite3_close(db);
            return 2;
        }
        sqlite3_prepare_v2(db, "INSERT INTO hw_calibration (started_at, profile, tsc_ghz, "
                           "pages, bytes, pattern, op, accesses, ns_measured, model_refs, "
                           "model_walks, model_cycles, ns_predicted) VALUES "
                           "(strftime('%Y-%m-%dT%H:%M:%fZ','now'),?,?,?,?,?,?,?,?,?,?,?,?)",
                           -1, &ins, NULL);
    }
    char why[256];
    struct hw_kvm *k = hw_kvm_open(why, sizeof why);
    if (!k) {
        printf("hw-replay: SKIP kvm: %s\n", why);
        sqlite3_close(db);
        return 3;
    }
    FILE *f = NULL;
    if (csv && !(f = fopen(csv, "w"))) {
        fprintf(stderr, "pagesim replay: %s: %s\n", csv, strerror(errno));
        hw_kvm_close(k);
        sqlite3_finalize(ins);
        sqlite3_close(db);
        return 2;
    }
    if (f)
        fprintf(f, "pages,bytes,pattern,op,accesses,ns_per_access,model_refs_per_access,"
                "model_walks_per_access,model_cycles_per_access,predicted_ns_per_access\n");
    double tpn = hw_tsc_per_ns();
    printf("calibration on KVM, CPL3 (TSC %.3f GHz), beside the model with profile %s "
           "(4-level guest over 4-level EPT, TLBs and PT-line cache; cycles at the TSC clock)\n",
           tpn, p->name);
    printf("%-6s %-5s %-5s %10s %11s %11s %10s %11s %12s  %s\n", "wset", "order", "op",
           "accesses", "ns/access", "model refs", "walks", "cycles", "predicted ns",
           "measured/predicted");
    int rc = 0;
    if (db)
        sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
    for (unsigned i = 0; i < CAL_SIZES && cal_sizes[i] <= max_pages; i++) {
        for (unsigned lcg = 0; lcg < 2; lcg++) {
            for (unsigned w = 0; w < 2; w++) {
                uint64_t n = 4u << 20;
                char err[256];
                const char *on = lcg ? "rand" : "seq", *op = w ? "write" : "read";
                uint64_t cyc = hw_kvm_loop(k, cal_sizes[i], n, w, lcg, err, sizeof err);
                if (!cyc) {
                    printf("%-6s %-5s %-5s ERROR %s\n", cal_sname[i], on, op, err);
                    rc = 1;
                    continue;
                }
                struct hw_cost mc;
                if (hw_model_cost(p, cal_sizes[i], 1u << 20, w, lcg, &mc, err, sizeof err)) {
                    printf("%-6s %-5s %-5s ERROR model: %s\n", cal_sname[i], on, op, err);
                    rc = 1;
                    continue;
                }
                double ns = (double)cyc / tpn / (double)n, pns = mc.cycles / tpn;
                table[i][lcg * 2 + w] = ns;
                pred[i][lcg * 2 + w] = pns;
                printf("%-6s %-5s %-5s %10" PRIu64 " %11.3f %11.2f %10.3f %11.1f %12.3f  %.2f\n",
                       cal_sname[i], on, op, n, ns, mc.refs, mc.walks, mc.cycles, pns,
                       pns > 0 ? ns / pns : 0);
                if (f)
                    fprintf(f, "%" PRIu64 ",%" PRIu64 ",%s,%s,%" PRIu64 ",%.4f,%.3f,%.4f,%.2f,%.4f\n",
                            cal_sizes[i], cal_sizes[i] * 4096, on, op, n, ns, mc.refs,
                            mc.walks, mc.cycles, pns);
                if (ins) {
                    sqlite3_reset(ins);
                    sqlite3_bind_text(ins, 1, p->name, -1, SQLITE_STATIC);
                    sqlite3_bind_double(ins, 2, tpn);
                    sqlite3_bind_int64(ins, 3, (int64_t)cal_sizes[i]);
                    sqlite3_bind_int64(ins, 4, (int64_t)(cal_sizes[i] * 4096));
                    sqlite3_bind_text(ins, 5, on, -1, SQLITE_STATIC);
                    sqlite3_bind_text(ins, 6, op, -1, SQLITE_STATIC);
                    sqlite3_bind_int64(ins, 7, (int64_t)n);
                    sqlite3_bind_double(ins, 8, ns);
                    sqlite3_bind_double(ins, 9, mc.refs);
                    sqlite3_bind_double(ins, 10, mc.walks);
                    sqlite3_bind_double(ins, 11, mc.cycles);
                    sqlite3_bind_double(ins, 12, pns);
                    if (sqlite3_step(ins) != SQLITE_DONE) {
                        fprintf(stderr, "pagesim replay: %s: %s\n", dbpath, sqlite3_errmsg(db));
                        rc = 1;
                    }
                }
            }
        }
    }
    if (db)
        sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    if (f)
        fclose(f);
    if (svg)
        write_svg(svg, (const double (*)[CAL_SERIES])table,
                  (const double (*)[CAL_SERIES])pred, p->name);
    sqlite3_finalize(ins);
    sqlite3_close(db);
    hw_kvm_close(k);
    return rc;
}

int hw_replay_main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "db", required_argument, 0, 'd' }, { "run", required_argument, 0, 'r' },
        { "all", no_argument, 0, 'a' }, { "backend", required_argument, 0, 'b' },
        { "mutant", required_argument, 0, 'm' }, { "timeout", required_argument, 0, 't' },
        { "bench", no_argument, 0, 'B' }, { "verbose", no_argument, 0, 'v' },
        { "help", no_argument, 0, 'h' }, { "calibrate", no_argument, 0, 'C' },
        { "csv", required_argument, 0, 'c' }, { "svg", required_argument, 0, 'S' },
        { "profile", required_argument, 0, 'P' }, { "max-pages", required_argument, 0, 'M' },
        { "fresh-vm", no_argument, 0, 'F' },
        { 0, 0, 0, 0 },
    };
    const char *dbpath = NULL, *backend = "kvm", *csv = NULL, *svg = NULL, *prof = NULL;
    uint64_t max_pages = 262144;
    bool calib = false;
    int64_t only = 0;
    bool all = false, verbose = false, bench = false, fresh_vm = false;
    unsigned timeout_ms = 2000;
    mutset_t extra_mutants = 0;
    char extra_names[256] = "";
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
        switch (c) {
        case 'd': dbpath = optarg; break;
        case 'r': {
            char *end;
            errno = 0;
            long long v = strtoll(optarg, &end, 10);
            if (errno || *end || v <= 0) {
                fprintf(stderr, "pagesim replay: --run: '%s' is not a run id\n", optarg);
                return 2;
            }
            only = v;
            break;
        }
        case 'a': all = true; break;
        case 'b': backend = optarg; break;
        case 'm': {
            mutset_t b = mutant_from_name(optarg);
            if (!b) {
                fprintf(stderr, "pagesim replay: unknown mutant '%s' (see 'pagesim mutants')\n",
                        optarg);
                return 2;
            }
            extra_mutants |= b;
            size_t n = strlen(extra_names);
            snprintf(extra_names + n, sizeof extra_names - n, "%s%s", n ? "," : "", optarg);
            break;
        }
        case 't': timeout_ms = (unsigned)strtoul(optarg, NULL, 10);
            if (!timeout_ms) {
                fprintf(stderr, "pagesim replay: --timeout: '%s' is not a positive number\n", optarg);
                return 2;
            }
            break;
        case 'B': bench = true; break;
        case 'C': calib = true; break;
        case 'c': csv = optarg; break;
        case 'S': svg = optarg; break;
        case 'P': prof = optarg; break;
        case 'F': fresh_vm = true; break;
        case 'M': {
            char *end;
            errno = 0;
            unsigned long long v = strtoull(optarg, &end, 0);
            if (errno || *end || v < 16) {
                fprintf(stderr, "pagesim replay: --max-pages: '%s' is not a number >= 16\n",
                        optarg);
                return 2;
            }
            max_pages = v;
            break;
        }
        case 'v': verbose = true; break;
        case 'h': fputs(usage, stdout); return 0;
        default: fputs(usage, stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "pagesim replay: unexpected argument '%s'\n%s", argv[optind], usage);
        return 2;
    }
    if (calib)
        return calibrate(csv, svg, dbpath, prof, max_pages);
    if (!dbpath || (!all && !only) || (all && only)) {
        fprintf(stderr, "pagesim replay: need --db FILE and one of --run ID or --all\n%s", usage);
        return 2;
    }
    if (strcmp(backend, "kvm") && strcmp(backend, "qemu")) {
        fprintf(stderr, "pagesim replay: unknown backend '%s' (kvm or qemu)\n", backend);
        return 2;
    }
    sqlite3 *db;
    if (open_db(dbpath, &db) < 0)
        return 2;
    struct recorded *runs;
    size_t nruns;
    if (load_runs(db, only, &runs, &nruns) < 0) {
        fprintf(stderr, "pagesim replay: %s: %s\n", dbpath, sqlite3_errmsg(db));
        sqlite3_close(db);
        return 2;
    }
    if (only && !nruns) {
        fprintf(stderr, "pagesim replay: %s: no run with id %" PRId64 "\n", dbpath, only);
        sqlite3_close(db);
        free(runs);
        return 2;
    }
    struct ctx cx;
    memset(&cx, 0, sizeof cx);
    cx.backend = backend;
    cx.timeout_ms = timeout_ms;
    cx.verbose = verbose;
    cx.db = db;
    int rc = 0;
    char why[256];
    if (!strcmp(backend, "qemu"))
        cx.qemu = hw_qemu_open(why, sizeof why);
    else if ((cx.kvm = hw_kvm_open(why, sizeof why)))
        hw_kvm_set_reuse(cx.kvm, !fresh_vm);
    if (!cx.kvm && !cx.qemu) {
        printf("hw-replay: SKIP %s: %s\n", backend, why);
        rc = 3;
        goto done;
    }
    if (cx.qemu && timeout_ms == 2000)
        timeout_ms = cx.timeout_ms = 10000; /* a boot, not a VM entry */
    sqlite3_prepare_v2(db, "INSERT INTO hw_diffs (hw_run_id, step, src, access, field, "
                       "model, hw, known) VALUES (?,?,?,?,?,?,?,?)", -1, &cx.ins_diff, NULL);
    sqlite3_prepare_v2(db, "INSERT INTO hw_skips (hw_run_id, step, src, access, reason) "
                       "VALUES (?,?,?,?,?)", -1, &cx.ins_skip, NULL);
    sqlite3_prepare_v2(db, "INSERT INTO hw_uffd (hw_run_id, step, src, access, populate, "
                       "faults) VALUES (?,?,?,?,?,?)", -1, &cx.ins_uffd, NULL);
    struct eng_access_hook hook = { &cx, hook_pre, hook_post };
    uint64_t tot_acc = 0, tot_cmp = 0, tot_diff = 0, tot_known = 0, tot_skip = 0;
    unsigned npass = 0, ndiff = 0, nerr = 0, nstale = 0;
    double tot_backend = 0;
    for (size_t i = 0; i < nruns; i++) {
        struct recorded *rr = &runs[i];
        char bad[64] = "";
        mutset_t rec_mut = parse_mutants(rr->mutants, bad, sizeof bad);
        char mutants[512];
        snprintf(mutants, sizeof mutants, "%s%s%s", rr->mutants,
                 rr->mutants[0] && extra_names[0] ? "," : "", extra_names);
        cx.accesses = cx.compared = cx.diffs = cx.known = cx.skipped = cx.cpl0 = cx.cpl3 = cx.ld_checked = 0;
        cx.printed = 0;
        cx.paused = cx.uffd_checked = cx.uffd_faults = 0;
        cx.stopped = false;
        cx.error[0] = 0;
        cx.backend_s = 0;
        sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
        sqlite3_stmt *s;
        sqlite3_prepare_v2(db, "INSERT INTO hw_runs (run_id, backend, status, mutants, "
                           "started_at) VALUES (?, ?, 'running', ?, "
                           "strftime('%Y-%m-%dT%H:%M:%fZ','now'))", -1, &s, NULL);
        sqlite3_bind_int64(s, 1, rr->id);
        sqlite3_bind_text(s, 2, backend, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, mutants, -1, SQLITE_STATIC);
        sqlite3_step(s);
        sqlite3_finalize(s);
        cx.hw_run = sqlite3_last_insert_rowid(db);
        const char *status;
        char msg[700] = "";
        double t0 = now_s();
        struct stat st;
        struct run_result res;
        memset(&res, 0, sizeof res);
        if (bad[0]) {
            status = "error";
            snprintf(msg, sizeof msg, "recorded mutant '%s' is unknown to this pagesim", bad);
        } else if (stat(rr->scenario, &st) != 0) {
            status = "error";
            snprintf(msg, sizeof msg, "scenario %s: %s (replay from the directory it "
                     "was recorded in)", rr->scenario, strerror(errno));
        } else {
            pagesim_mutants = rec_mut | extra_mutants;
            /* The run's --hap override (runs.hap, schema version 4): without
             * it an NPT run would be re-run as EPT and found stale. */
            struct run_opts ro = { .seed = rr->seed, .hook = &hook, .npt = rr->npt };
            lapi_run_file(rr->scenario, &ro, &res);
            pagesim_mutants = 0;
            for (unsigned p = 0; p < MAX_PEND; p++)
                if (cx.pend[p].used)
                    pend_drop(&cx, &cx.pend[p], "the model paused this access for the "
                              "pager and the run ended before the vCPU retried it");
            if (cx.error[0]) {
                status = "error";
                snprintf(msg, sizeof msg, "%s", cx.error);
            } else if (!extra_mutants && strcmp(res.digest, rr->digest)) {
                status = "stale";
                snprintf(msg, sizeof msg, "recording is stale: recorded digest %s, the "
                         "model re-run gives %s (model or scenario changed; re-record "
                         "with pagesim run)", rr->digest, res.digest);
            } else if (cx.diffs) {
                status = "diff";
            } else {
                status = "pass";
            }
        }
        double ms = (now_s() - t0) * 1e3;
        sqlite3_prepare_v2(db, "UPDATE hw_runs SET status=?, accesses=?, compared=?, "
                           "diffs=?, known=?, skipped=?, cpl0=?, cpl3=?, digest=?, "
                           "message=?, duration_ms=? WHERE id=?", -1, &s, NULL);
        sqlite3_bind_text(s, 1, status, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 2, (int64_t)cx.accesses);
        sqlite3_bind_int64(s, 3, (int64_t)cx.compared);
        sqlite3_bind_int64(s, 4, (int64_t)cx.diffs);
        sqlite3_bind_int64(s, 5, (int64_t)cx.known);
        sqlite3_bind_int64(s, 6, (int64_t)cx.skipped);
        sqlite3_bind_int64(s, 7, (int64_t)cx.cpl0);
        sqlite3_bind_int64(s, 8, (int64_t)cx.cpl3);
        sqlite3_bind_text(s, 9, res.digest, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 10, msg, -1, SQLITE_STATIC);
        sqlite3_bind_double(s, 11, ms);
        sqlite3_bind_int64(s, 12, cx.hw_run);
        sqlite3_step(s);
        sqlite3_finalize(s);
        sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
        char pg[160] = "";
        if (cx.paused || cx.uffd_checked)
            snprintf(pg, sizeof pg, "; %" PRIu64 " paused for the pager (replayed on "
                     "retry), %" PRIu64 " with userfaultfd (%" PRIu64 " faults)",
                     cx.paused, cx.uffd_checked, cx.uffd_faults);
        printf("%-5s %s run %" PRId64 " %s: %" PRIu64 " accesses, %" PRIu64
               " compared (cpl0 %" PRIu64 ", cpl3 %" PRIu64 ", %" PRIu64 " with the "
               "dirty log), %" PRIu64 " diffs, %" PRIu64 " known, %" PRIu64 " skipped%s%s%s\n",
               !strcmp(status, "pass") ? "PASS" : !strcmp(status, "diff") ? "DIFF"
               : !strcmp(status, "stale") ? "STALE" : "ERROR", backend, rr->id, rr->scenario,
               cx.accesses, cx.compared, cx.cpl0, cx.cpl3, cx.ld_checked, cx.diffs, cx.known, cx.skipped,
               extra_names[0] ? "; mutants " : "", extra_names, pg);
        if (msg[0])
            printf("    %s\n", msg);
        if (!strcmp(status, "pass")) npass++;
        else if (!strcmp(status, "diff")) ndiff++;
        else if (!strcmp(status, "stale")) nstale++;
        else nerr++;
        tot_acc += cx.accesses;
        tot_cmp += cx.compared;
        tot_diff += cx.diffs;
        tot_known += cx.known;
        tot_skip += cx.skipped;
        tot_backend += cx.backend_s;
    }
    printf("hw-replay %s: %zu runs: %u pass, %u diff, %u error, %u stale; %" PRIu64
           " accesses, %" PRIu64 " compared, %" PRIu64 " diffs, %" PRIu64 " known, %"
           PRIu64 " skipped\n", backend, nruns, npass, ndiff, nerr, nstale, tot_acc, tot_cmp,
           tot_diff, tot_known, tot_skip);
    if (tot_known || verbose) {
        printf("known behaviours of %s (hw-replay/known.c):\n", backend);
        for (unsigned i = 0; i < hw_known_count; i++)
            if (!strcmp(hw_known_table[i].backend, backend))
                printf("  %-34s %s [%s]\n", hw_known_table[i].id, hw_known_table[i].what,
                       hw_known_table[i].source);
    }
    if (bench && tot_cmp && cx.kvm) {
        double replay_rate = tot_cmp / tot_backend;
        double bare = hw_kvm_bare_rate(cx.kvm, 20000000);
        uint64_t nfresh, nreused;
        hw_kvm_counts(cx.kvm, &nfresh, &nreused);
        printf("bench: replay %.0f accesses/s (%" PRIu64 " fresh VMs, %" PRIu64 " reused), "
               "bare KVM CPL3 loop %.0f accesses/s, ratio 1:%.0f\n", replay_rate, nfresh,
               nreused, bare, bare > 0 ? bare / replay_rate : 0);
    }
    rc = (ndiff || nerr || nstale) ? 1 : 0;
done:
    sqlite3_finalize(cx.ins_diff);
    sqlite3_finalize(cx.ins_skip);
    sqlite3_finalize(cx.ins_uffd);
    for (unsigned i = 0; i < SIM_MAX_DOMAINS; i++)
        dom_mem_free(&cx.dom[i]);
    hw_kvm_close(cx.kvm);
    hw_qemu_close(cx.qemu);
    for (size_t i = 0; i < nruns; i++) {
        free(runs[i].scenario);
        free(runs[i].digest);
        free(runs[i].mutants);
    }
    free(runs);
    sqlite3_close(db);
    return rc;
}
