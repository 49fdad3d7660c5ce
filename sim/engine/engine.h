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
};

/* Final outcome of one guest access, after the hypervisor handled any VM
 * exits on the way (the log-dirty write fault, say). */
enum eng_final { EF_OK = 0, EF_PF, EF_MMIO, EF_CRASH, EF_GP };

struct eng_exit {
    enum mmu_outcome kind; /* MMU_EPT_VIOLATION or MMU_EPT_MISCONFIG */
    uint64_t qual;
    gpa_t gpa;
    gva_t gla;
};

#define ENG_MAX_EXITS 8

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
    bool first_failure_printed;
    char first_problem[512]; /* first failure or divergence, for the summary */
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

/* A guest access by v.  width is 1, 2, 4 or 8 and must not cross a page
 * (checked by the caller). */
void eng_access(struct engine *e, struct vcpu *v, gva_t va, enum access_kind k,
                unsigned width, uint64_t wvalue, struct eng_access *out);

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

/* A failed expect() in the scenario. */
void eng_failure(struct engine *e, const char *msg);
/* A note recorded as a step (scenario log()). */
void eng_note(struct engine *e, const char *msg);

/* Digest as 16 hex digits. */
void eng_digest_hex(const struct engine *e, char out[17]);

const char *eng_final_name(enum eng_final f);

#endif /* PAGESIM_ENGINE_H */
