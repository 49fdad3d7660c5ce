/* SPDX-License-Identifier: MIT */
/*
 * sim/engine/engine.h - the engine that steps one scenario.
 *
 * Every operation a scenario asks for goes through here, in four beats:
 *   1. the sim core (and, for guest accesses, the model) performs it;
 *   2. the oracle mirrors it and says what it expected;
 *   3. the comparator checks result, then the whole state (oracle_compare)
 *      and the invariants (oracle_invariants); each disagreement becomes a
 *      divergence row;
 *   4. the step is recorded (SQLite, batched) and folded into the trace
 *      digest.
 * The engine owns the vCPUs (guest CPU state is not the hypervisor core's
 * business) and the run's deterministic random generator.  It knows nothing
 * about Lua: lapi.c calls it and sets eng->src to "file:line" before each
 * call so that steps, failures and divergences name the scenario line.
 */
#ifndef PAGESIM_ENGINE_H
#define PAGESIM_ENGINE_H

#include <stdio.h>

#include "pagesim/oracle.h"
#include "pagesim/recorder.h"
#include "pagesim/sim.h"

#define ENG_MAX_VCPUS 64
#define ENG_DEFAULT_FRAMES (1ULL << 16)

struct vcpu {
    struct domain *d;
    unsigned id;
    struct mmu_cpu cpu;
    /* Issue 4: optional TLBs (NULL: every access walks, the default), the
     * oracle's allowed-translation set mirroring them, the VPID, and the
     * simulated cycles of the cost model. */
    struct mmu_tlb *tlb;
    struct oracle_tlbset *tset;
    uint16_t vpid;
    uint64_t cycles;
    /* Mode-based execute control (SDM 29.3.3.1): EPT bit 10 grants
     * execute for user-mode linear addresses.  Only with a CPU profile
     * that has it (cpu_profile.mbec). */
    bool mbec;
    /* Shadow paging, PAE guest, vCPU without TLBs (with TLBs the PDPTE
     * registers of model/tlb.c hold it): Xen's copy of the guest's four
     * l3 entries taken at the last CR3 update (sh_update_cr3() into
     * v->arch.paging.shadow.gl3e), which the shadow walk uses; o_gl3e is
     * the oracle's own copy (eng_shadow_gl3e()). */
    bool gl3e_ok, o_gl3e_ok;
    uint64_t gl3e_cr3, gl3e[4], o_gl3e_cr3, o_gl3e[4];
};

/* Final outcome of one guest access, after the hypervisor handled any VM
 * exits on the way (the log-dirty write fault, say). */
enum eng_final { EF_OK = 0, EF_PF, EF_MMIO, EF_CRASH,
                 EF_GP,       /* #GP(0): non-canonical, or a reserved PAE PDPTE */
                 EF_PAUSED,   /* vCPU paused for the pager (or already was) */
                 EF_BLOCKED,  /* vCPU waits for a ring slot, or re-faults on a
                                 gfn being paged in */
                 EF_DISCARD,  /* write to ram_ro: emulated, dropped */
};

struct eng_exit {
    enum mmu_outcome kind; /* MMU_EPT_VIOLATION or MMU_EPT_MISCONFIG */
    uint64_t qual;
    gpa_t gpa;
    gva_t gla;
};

/* Exits one access may take before the engine calls it a livelock: an NPT
 * access after a deferred global type change takes one recalc #NPF per
 * distinct gfn of its walk (4 guest tables + the data page) besides as
 * many log-dirty write faults, so 8 was too few. */
#define ENG_MAX_EXITS 16

struct eng_access {
    enum eng_final final;
    uint64_t value;       /* reads: the value read (MMIO reads: all ones) */
    gpa_t gpa;
    hpa_t hpa;
    uint32_t pf_ec;
    gva_t cr2;
    unsigned refs;        /* memory references of the last attempt */
    unsigned total_refs;  /* ... of all attempts */
    unsigned nexits;
    struct eng_exit exits[ENG_MAX_EXITS];
    int tlb_level;        /* enum tlb_level of the last attempt; 0: no TLB */
    uint64_t cycles;      /* simulated cycles (with TLBs), VM exits included */
    /* EF_OK after a walk (not a TLB hit): the EPT leaf of the final gpa
     * (SDM 29.3.7): memory type, ignore-PAT, EPT page size (12/21/30). */
    unsigned memtype, ept_shift;
    bool ipat;
};

/* A divergence the scenario declared with expect_divergence(): a known
 * finding (an upstream misbehaviour the oracle does not share). */
#define ENG_MAX_EXPECTS 16
struct eng_expect {
    char pattern[96];  /* fnmatch() glob over the divergence field */
    char name[96];
    char src[256];     /* where it was declared */
    uint64_t hits;
};

/* One domain-coverage counter (kind, key) -> n; see eng_cover(). */
struct eng_cov {
    char kind[12];
    char key[84];
    uint64_t n;
};

struct engine {
    struct host *host;
    struct oracle *oracle;
    struct recorder *rec; /* NULL: not recording */
    int64_t run_id;
    char src[256];        /* "file:line" of the scenario call in progress */
    uint64_t step;
    uint64_t failures, divergences;
    uint64_t digest;      /* FNV-1a 64 over the canonical step records */
    uint64_t rng[4];      /* xoshiro256** state */
    struct vcpu *vcpus[ENG_MAX_VCPUS];
    unsigned nvcpus;
    FILE *log;            /* messages for the user (stdout) */
    bool verbose;
    bool default_npt;     /* domain{} without hap = is NPT (run --hap npt) */
    bool skip_flush_once; /* the next record_step() does not flush the TLBs
                           * (d:npt_set_raw/ept_set_raw with flush = false) */
    bool first_failure_printed;
    char first_problem[512]; /* first failure or divergence, for the summary */
    struct eng_cov *cov;     /* domain coverage of this run */
    size_t ncov, capcov;
    /* Optional second consumer of the coverage (the fuzzer). */
    void (*cov_sink)(void *ctx, const char *kind, const char *key, uint64_t n);
    void *cov_ctx;
    /* Optional observer of guest accesses (hw-replay): pre is called before
     * the model performs the access (guest memory as the access finds it),
     * post after it with the model's outcome.  NULL: none. */
    const struct eng_access_hook *hook;
    /* Known findings the scenario declared (expect_divergence). */
    struct eng_expect expects[ENG_MAX_EXPECTS];
    unsigned nexpects;
    unsigned ld_failed_seen[SIM_MAX_DOMAINS]; /* failed_allocs told the oracle */
    /* Every full_check_every-th state check decodes the whole sim state; the
     * others only what changed (oracle_check()).  0: ENG_FULL_CHECK_EVERY;
     * 1: all full. */
    unsigned full_check_every;
    uint64_t nchecks;
    /* Set by fuzz --native's world_setup() around its fixed scaffolding
     * (two domains, 128 populates each): the steps' state checks are left
     * to one check at its end, whose change logs then hold every step's
     * changes (eng_checks_resume()).  Each step's result is still compared
     * with the oracle's; only the state compare waits. */
    bool defer_checks;
    /* Last per-step sample written per domain slot (samples.c). */
    struct rec_sample last_sample[SIM_MAX_DOMAINS];
    bool sampled[SIM_MAX_DOMAINS];
};

/* The full check is a safety net behind the restricted ones, not part of
 * their proof: oracle_check() restricts or skips a check only where the
 * change logs (host memory's written and metadata logs, the oracle's gfn
 * and frame marks) show that nothing the skipped compares read changed,
 * and a restricted check that finds anything hands over to the full one.
 * What the net catches is a change log that missed a change (a sim
 * writer forgetting hostmem_meta_mark(): mutants check_skip_mark,
 * check_skip_gfn_mark), which eng_finish_checks() also catches at the end
 * of every run.  Every 64th check cost a sixth of the native fuzzer's
 * instructions; every 1024th keeps a few per fuzz program. */
#define ENG_FULL_CHECK_EVERY 1024

/* hw-replay's view of each guest access (see engine.hook). */
struct eng_access_hook {
    void *ctx;
    void (*pre)(void *ctx, struct engine *e, struct vcpu *v, gva_t va,
                enum access_kind k, unsigned width, uint64_t wvalue);
    void (*post)(void *ctx, struct engine *e, struct vcpu *v, gva_t va,
                 enum access_kind k, unsigned width, uint64_t wvalue,
                 const struct eng_access *out);
};

/* Creates an engine with a host of nr_frames (0: default) frames. */
int eng_init(struct engine *e, uint64_t nr_frames, uint64_t seed,
             struct recorder *rec, int64_t run_id);
void eng_fini(struct engine *e);
/* Re-creates the host with nr_frames; only before the first domain. */
int eng_set_host_frames(struct engine *e, uint64_t nr_frames);

/* Deterministic randomness (replaces Lua's math.random). */
uint64_t eng_rand(struct engine *e);

/* Domain and vCPU lifecycle.  NULL with errno-style *rc on failure. */
struct domain *eng_domain_create(struct engine *e, const char *name,
                                 uint64_t max_gfn, int *rc);
void eng_domain_destroy(struct engine *e, struct domain *d);
struct vcpu *eng_vcpu_create(struct engine *e, struct domain *d);

/* The CPU profiles the run's vCPUs use (their TLB profile, else the
 * default intel-skylake), comma-separated in vCPU order without repeats;
 * "" without vCPUs.  Recorded as runs.cpu_profile. */
void eng_profiles(const struct engine *e, char *buf, size_t len);

/* Hypervisor operations: each returns the sim's rc (0 or -errno). */
int eng_populate(struct engine *e, struct domain *d, gfn_t gfn, mfn_t *mfn);
int eng_remove(struct engine *e, struct domain *d, gfn_t gfn);
int eng_set_type(struct engine *e, struct domain *d, gfn_t gfn, p2m_type_t t);
int eng_copy_to_guest(struct engine *e, struct domain *d, gpa_t gpa,
                      uint64_t value, unsigned width);
int eng_copy_from_guest(struct engine *e, struct domain *d, gpa_t gpa,
                        unsigned width, uint64_t *value);
int eng_logdirty_enable(struct engine *e, struct domain *d);
int eng_logdirty_disable(struct engine *e, struct domain *d);
/* PEEK/CLEAN of [0, pages); bitmap has (pages + 7) / 8 bytes. */
int eng_logdirty_op(struct engine *e, struct domain *d, bool clean,
                    uint64_t pages, uint8_t *bitmap,
                    struct log_dirty_stats *stats);

/* One PEEK/CLEAN call, or its continuation (resuming), with preemption at
 * every check when 'preempt' (paging_log_dirty_op_ex).  bitmap and expect
 * (the oracle's; NULL: not compared) hold (pages + 7) / 8 bytes, zeroed
 * here on a first call and kept by the caller across continuations.
 * pages comes back as sc->pages.  Returns the sim's rc. */
struct eng_ld_call {
    bool clean, preempt, resuming;
    uint64_t pages;
    uint8_t *bitmap, *expect;
    struct log_dirty_stats stats;
};
int eng_logdirty_call(struct engine *e, struct domain *d, struct eng_ld_call *c);
/* Domain options (engine-logdirty.c): logdirty_mode "bitmap", the 2007
 * conservative "is dirty"; before log-dirty is first enabled. */
void eng_logdirty_config(struct engine *e, struct domain *d, bool bitmap,
                         bool conservative);
/* paging_gfn_is_dirty() checked against the oracle. */
bool eng_is_dirty(struct engine *e, struct domain *d, gfn_t gfn);
/* heap_fragment(every) as a step; returns the frames taken. */
uint64_t eng_fragment_heap(struct engine *e, uint64_t every);

/* A guest access by v.  width is 1, 2, 4 or 8 and must not cross a page
 * (checked by the caller). */
void eng_access(struct engine *e, struct vcpu *v, gva_t va, enum access_kind k,
                unsigned width, uint64_t wvalue, struct eng_access *out);

/* Issue 4: the EPT as hardware.  eng_ept_config() sets EPTP bit 6 (EPT
 * A/D flags) of d's EPT, and with pml dirty tracking by page-modification
 * logging (which implies A/D), before its first access.  eng_ept_set_raw()
 * writes a raw EPT entry (p2m_ept_raw_set()) and tells the oracle which
 * gfns it covers; no TLB is flushed (the scenario invalidates with
 * v:invept like a hypervisor would).  Both return the sim's rc. */
int eng_ept_config(struct engine *e, struct domain *d, bool ad, bool pml);
/* Issue 4: domain hap = "none" -- shadow paging (d->shadow), set right
 * after the domain is created: the model walks one-dimensionally, P2M
 * refusals are shadow #PFs handled like EPT violations, the oracle
 * predicts the same (oracle_op_shadow()). */
void eng_shadow_config(struct engine *e, struct domain *d);
int eng_ept_set_raw(struct engine *e, struct domain *d, gpa_t gpa,
                    unsigned level, uint64_t value);
/* Before a domain's first raw entry written without the flush
 * (d:ept_set_raw / d:npt_set_raw(..., false)): until then the oracle
 * predicted d from its flat P2M and noted no EPT / NPT PSC entry, so the
 * entries d's vCPUs' models cached are checked against the tables now
 * (oracle_ept_entry_current(), oracle_npt_entry_current()) and those a
 * walk would cache are added to their allowed sets; the others stay
 * unknown (a walk from one then diverges).  Returns how many were added. */
unsigned eng_psc_seed(struct engine *e, struct domain *d);
/* NPT (hap = "npt"): d's P2M in p2m-pt format, its vCPUs walking it as AMD
 * nested paging (#NPF exits); on an empty P2M only (p2m_set_hap()), and
 * told to the oracle.  The sim's rc. */
int eng_hap_config(struct engine *e, struct domain *d, bool npt);

/* Issue 4: TLBs.  Enables the TLBs of v with CPU profile p and VPID vpid
 * (0 on success).  Then eng_tlb_op performs one invalidation on the model
 * and mirrors it in the oracle's allowed set:
 *   "invlpg" (va), "mov_cr3" (a = new CR3 value, bit 63 = no flush; also
 *   sets v's CR3), "invpcid" (type, a = pcid, b = va), "invvpid" (type,
 *   a = vpid, b = va), "invept" (type: 1 this domain's EPTP, 2 all),
 *   "flush" (everything of v: MOV CR4 that changes paging).
 * Every hypervisor operation other than guest copies flushes the TLBs of
 * every vCPU (Xen flushes after P2M changes: ept_sync_domain). */
struct cpu_profile;
int eng_vcpu_enable_tlb(struct engine *e, struct vcpu *v,
                        const struct cpu_profile *p, uint16_t vpid);
void eng_tlb_op(struct engine *e, struct vcpu *v, const char *op,
                unsigned type, uint64_t a, uint64_t b);
/* A MOV to CR0/CR4 (v:set{} changed CR0, CR4 or EFER; 'old' holds the
 * values before): PAE PDPTE load per SDM 4.4.1, TLB flush; true when the
 * load was a #GP(0) and the registers were put back to 'old'. */
bool eng_mov_cr(struct engine *e, struct vcpu *v, const struct mmu_cpu *old);
/* A CR3 update (old == NULL: MOV CR3) or a CR0/CR4/EFER change (old: the
 * state before) of a vCPU without TLBs in a shadow-paging domain: Xen's
 * sh_update_cr3() copies the PAE guest's l3 entries (the model's copy
 * and, decided and read on its own, the oracle's).  Nothing otherwise. */
void eng_shadow_gl3e(struct engine *e, struct vcpu *v, const struct mmu_cpu *old);

/* A failed expect() in the scenario. */
void eng_failure(struct engine *e, const char *msg);
/* A note recorded as a step (scenario log()). */
void eng_note(struct engine *e, const char *msg);

/* Domain coverage: counts (kind, printf key), e.g. ("p2m",
 * "populate:mmio_dm->ram_rw").  Not part of the digest. */
void eng_cover(struct engine *e, const char *kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Whether eng_cover() counts anything (a database or a coverage sink):
 * without one, an op need not look up the P2M type its coverage key
 * names ("before" states), which is a P2M walk per op. */
static inline bool eng_covering(const struct engine *e)
{
    return e->rec || e->cov_sink;
}
/* Records each domain's dirty count, paging-state populations and ring
 * occupancy when they changed (samples.c); called for every step op. */
void eng_sample_domains(struct engine *e, const char *op);
/* Writes the run's coverage (sorted) to the recorder. */
void eng_flush_coverage(struct engine *e);

/* Digest as 16 hex digits. */
void eng_digest_hex(const struct engine *e, char out[17]);

const char *eng_final_name(enum eng_final f);

/* ---- expected divergences (known findings) ---------------------------------------- */

/* Declares that divergences whose field matches pattern are the finding
 * 'name': they are recorded as "finding" steps instead of divergences.
 * -ENOSPC when too many are declared. */
int eng_expect_divergence(struct engine *e, const char *pattern, const char *name);
/* At the end of a run: an expected divergence that never occurred is a
 * failure; the findings seen are logged. */
void eng_finish_expects(struct engine *e);
/* End of a run: the last incremental state check repeated in full
 * (oracle_check_verify()). */
void eng_finish_checks(struct engine *e);

/* ---- mem paging (engine-paging.c) --------------------------------------------------- */

/* Building blocks for engine-paging.c (defined in engine.c). */
void eng_record(struct engine *e, const char *op, const char *args,
                const char *result);
void eng_check_rc(struct engine *e, const char *what, int expected, int actual);
void eng_check_state(struct engine *e);
/* The end of a defer_checks stretch: one state check of everything the
 * deferred steps changed (attributed to the last of them). */
void eng_checks_resume(struct engine *e);
/* The common tail of an operation whose result is a return code: records
 * "op d=N extra" -> "rc=RC", compares rc with the oracle's erc, then the
 * whole state. */
void eng_step_rc(struct engine *e, const char *op, const struct domain *d,
                 const char *extra, int erc, int rc);
void eng_divergence(struct engine *e, const char *field, const char *expected,
                    const char *actual);

int eng_paging_enable(struct engine *e, struct domain *d);
int eng_paging_disable(struct engine *e, struct domain *d);
int eng_nominate(struct engine *e, struct domain *d, gfn_t gfn);
int eng_evict(struct engine *e, struct domain *d, gfn_t gfn);
/* buf: PAGE_SIZE bytes or NULL. */
int eng_prep(struct engine *e, struct domain *d, gfn_t gfn, const void *buf);
int eng_get_request(struct engine *e, struct domain *d, struct vm_event_req *out);
int eng_resume(struct engine *e, struct domain *d, const struct vm_event_req *rsp);
int eng_foreign_map(struct engine *e, struct domain *d, gfn_t gfn, mfn_t *mfn);
int eng_set_mem_type(struct engine *e, struct domain *d, gfn_t gfn, p2m_type_t t);
int eng_foreign_unmap(struct engine *e, struct domain *d, mfn_t mfn);

/* ---- the mem_access listener's monitor ring (engine-monitor.c) --------------------- */

int eng_monitor_enable(struct engine *e, struct domain *d);
int eng_monitor_disable(struct engine *e, struct domain *d);
void eng_access_required(struct engine *e, struct domain *d, bool on);
int eng_monitor_get(struct engine *e, struct domain *d, struct mem_access_req *out);
int eng_monitor_resume(struct engine *e, struct domain *d,
                       const struct mem_access_req *rsp);
void eng_monitor_req_text(const struct mem_access_req *q, char *buf, size_t n);

/* ---- P2M superpages and access types (engine-p2m.c) ------------------------------- */

/* Around a sim operation that may split a superpage: begin before it, end
 * after it (tells the oracle whether an allocation failed), reset after
 * the oracle has mirrored it. */
struct eng_p2m_note {
    uint64_t injected;   /* host->injected_failures before */
    unsigned fail_in;    /* d->p2m_fail_in before */
    const struct domain *d;
};
struct eng_p2m_note eng_p2m_nomem_begin(struct engine *e, const struct domain *d);
void eng_p2m_nomem_end(struct engine *e, struct eng_p2m_note before, int rc);
void eng_p2m_nomem_reset(struct engine *e);
/* XENMEM_populate_physmap of one extent of order 0, 9 or 18. */
int eng_populate_extent(struct engine *e, struct domain *d, gfn_t gfn,
                        unsigned order, mfn_t *mfn);
/* p2m_set_mem_access() of one gfn. */
int eng_set_access(struct engine *e, struct domain *d, gfn_t gfn,
                   p2m_access_t a);
/* p2m_add_foreign(), grant map / unmap. */
/* set_mmio_p2m_entry() / clear_mmio_p2m_entry() of one gfn (issue 3). */
int eng_set_mmio(struct engine *e, struct domain *d, gfn_t gfn, mfn_t mfn,
                 p2m_access_t a);
int eng_clear_mmio(struct engine *e, struct domain *d, gfn_t gfn, mfn_t mfn);
int eng_add_foreign(struct engine *e, struct domain *td, gfn_t gfn,
                    struct domain *fd, gfn_t fgfn);
int eng_grant_map(struct engine *e, struct domain *d, gfn_t gfn,
                  struct domain *gd, gfn_t ggfn, bool readonly);
int eng_grant_unmap(struct engine *e, struct domain *d, gfn_t gfn);
/* Populate-on-demand: the cache size, one PoD entry. */
int eng_pod_target(struct engine *e, struct domain *d, uint64_t pages);
int eng_pod_mark(struct engine *e, struct domain *d, gfn_t gfn);
/* XEN_DMOP_map_mem_type_to_ioreq_server: map with the write flag, or unmap. */
int eng_ioreq_server(struct engine *e, struct domain *d, unsigned server,
                     uint32_t flags);

/* ---- memory sharing (engine-sharing.c) -------------------------------------------- */

/* Tells the oracle which frames the heap will hand out to d's next
 * allocation attempts (what an unshare's copy gets): before an access,
 * remove, set_type or hypervisor write, any of which may unshare. */
void eng_alloc_hint(struct engine *e, const struct domain *d);
int eng_sharing_control(struct engine *e, struct domain *d, bool enable);
/* XENMEM_sharing_op_nominate_gfn: rc, *handle (0 on error). */
int eng_share_nominate(struct engine *e, struct domain *d, gfn_t gfn,
                       uint64_t *handle);
int eng_share(struct engine *e, struct domain *sd, gfn_t sgfn, uint64_t sh,
              struct domain *cd, gfn_t cgfn, uint64_t ch);
int eng_share_add_physmap(struct engine *e, struct domain *sd, gfn_t sgfn,
                          uint64_t sh, struct domain *cd, gfn_t cgfn);

#endif /* PAGESIM_ENGINE_H */
