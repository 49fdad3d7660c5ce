/* SPDX-License-Identifier: MIT */
/*
 * hw-replay/hwreplay.h - replaying recorded runs on real virtualisation
 * backends (KVM, QEMU TCG) and diffing against the model.
 *
 *   replay.c  `pagesim replay`: re-runs a recorded scenario in the model with
 *             an access hook, checks the digest against the recording, sends
 *             every guest access to a backend, compares, records hw_runs and
 *             hw_diffs.
 *   kvm.c     the KVM backend: one fresh VM per access (so guest page tables
 *             are never edited by the VMM while a VM lives), memslots over
 *             the domain's RAM gfns only, the stub (stub.S) at STUB_GPA.
 *   qemu.c    the QEMU TCG backend: one boot per access (qboot.S + stub).
 *   known.c   the one table of documented backend behaviours.
 *   cost.c    the model's prediction for a calibration loop.
 */
#ifndef PAGESIM_HWREPLAY_H
#define PAGESIM_HWREPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A domain's guest-physical memory as the access finds it: max_gfn pages at
 * ram (MAP_NORESERVE), present[] says which gfns are RAM (backed by a
 * memslot); the others are left out of the VM (MMIO / unpopulated). */
struct hw_mem {
    uint64_t max_gfn;
    uint8_t *ram;
    uint8_t *present; /* one byte per gfn */
    /* optional: when non-NULL the RAM memslots get KVM_MEM_LOG_DIRTY_PAGES
     * and after the access dirty[gfn] = 1 for each page KVM_GET_DIRTY_LOG
     * reports (data written, and paging-structure pages whose A/D bits the
     * walk set) */
    uint8_t *dirty;
    /* optional (KVM): when non-NULL, uffd[gfn] = 1 marks a paged-out gfn:
     * its page of ram is dropped (MADV_DONTNEED) and registered with
     * userfaultfd (missing mode) for the access; a pager thread answers each
     * fault with UFFDIO_COPY of the page's contents from ram as given (the
     * pager's saved copy), in the order the faults come; afterwards every
     * page holds what it held before or what the guest made of it. */
    uint8_t *uffd;
};

struct hw_access {
    uint64_t cr0, cr3, cr4, efer;
    unsigned cpl;
    unsigned kind;    /* 0 read, 1 write, 2 fetch (enum access_kind) */
    uint64_t gva;
    unsigned width;
    uint64_t wvalue;
    unsigned lcg;     /* loops only: 1 = pseudo-random page order */
    uint64_t rflags;  /* only AC (bit 18) is used: SMAP override at CPL0 */
    unsigned maxphyaddr; /* the vCPU's MAXPHYADDR (reserved address bits);
                            0: the backend's own */
    uint32_t pkru;    /* with CR4.PKE (QEMU): loaded with wrpkru */
    uint32_t pkrs;    /* with CR4.PKS (QEMU): IA32_PKRS, loaded with wrmsr */
};

/* The protection key the stub's own user pages (user code copy, user
 * stack) carry under CR4.PKE: the lowest key PKRU neither access- nor
 * write-disables, or -1 when there is none (the access is skipped). */
int hw_free_pkey(uint32_t pkru);

enum hw_outcome { HW_OK = 0, HW_PF, HW_MMIO, HW_SKIP, HW_ERROR };

struct hw_result {
    enum hw_outcome outcome;
    uint64_t value;        /* reads */
    uint32_t ec;           /* HW_PF */
    uint64_t cr2;
    uint64_t mmio_gpa;     /* first MMIO exit */
    unsigned mmio_exits;
    unsigned vector;       /* fetch: the exception the fetched bytes raised */
    char msg[256];         /* HW_SKIP / HW_ERROR: why */
    /* userfaultfd (hw_mem.uffd): the gfns faulted, in fault order (a page
     * faults once: UFFDIO_COPY maps it); uffd_n may exceed HW_UFFD_MAX */
    unsigned uffd_n;
    uint64_t uffd_gfn[16];
};
#define HW_UFFD_MAX 16

/* ---- KVM backend (kvm.c) ---- */
struct hw_kvm;
/* NULL with the reason in why when /dev/kvm cannot create a VM here. */
struct hw_kvm *hw_kvm_open(char *why, size_t n);
void hw_kvm_close(struct hw_kvm *k);
/* Runs one access in a fresh VM over mem (which afterwards holds the guest
 * memory as the backend left it).  timeout_ms bounds the guest. */
void hw_kvm_access(struct hw_kvm *k, struct hw_mem *mem,
                   const struct hw_access *a, unsigned timeout_ms,
                   struct hw_result *r);
/* Bare-KVM baseline for the benchmark: n CPL3 reads over 16 pages in one
 * VM (the guest loops, timed with its TSC), accesses per second or < 0. */
double hw_kvm_bare_rate(struct hw_kvm *k, unsigned n);
/* Calibration: n CPL3 accesses over npages (power of two, <= 262144),
 * sequential or pseudo-random; TSC cycles of the timed loop, 0 on error. */
uint64_t hw_kvm_loop(struct hw_kvm *k, uint64_t npages, uint64_t n, bool write, bool lcg,
                     char *err, size_t errlen);
double hw_tsc_per_ns(void);
/* Keep the VM of an access for the next one when the VMM would change no
 * guest memory (same RAM, memslots, root and CPUID, and RAM exactly as KVM
 * left it): only registers and the stub's parameters are set again.  Off
 * by default; counts of fresh and reused VMs. */
void hw_kvm_set_reuse(struct hw_kvm *k, bool on);
void hw_kvm_counts(const struct hw_kvm *k, uint64_t *fresh, uint64_t *reused);
/* Can this process use userfaultfd on KVM guest memory?  0, or -1 with the
 * reason in why (checked once by hw_kvm_open; the reason is kept). */
int hw_kvm_uffd_ok(const struct hw_kvm *k, char *why, size_t n);

/* shared by the backends (kvm.c): the stub region (STUB_PAGES pages at s,
 * guest-physical gpa) and the decoding of its results block (stub32: the
 * block of stub32.S, QEMU's 32-bit/PAE replay) */
void hw_build_stub(uint8_t *s, uint64_t gpa, const struct hw_access *a, bool qemu,
                   const uint64_t *dump, unsigned ndump);
void hw_decode_result(const uint8_t *res, const struct hw_access *a, bool stub32,
                      struct hw_result *r);

/* ---- the model's prediction for a calibration loop (cost.c) ---- */
struct cpu_profile;
struct hw_cost {
    double cycles;  /* simulated cycles per access (model/tlb.c cost model) */
    double refs;    /* paging-structure references per access (2D walks) */
    double walks;   /* walks per access (TLB misses) */
};
/* The loop hw_kvm_loop() runs (n accesses over npages, a power of two up
 * to 262144, after a warm-up pass) through the model's TLBs with profile
 * p, 4-level guest over 4-level EPT.  0, or -1 with the reason in err. */
int hw_model_cost(const struct cpu_profile *p, uint64_t npages, uint64_t n, bool write,
                  bool lcg, struct hw_cost *out, char *err, size_t errlen);

/* ---- QEMU TCG backend (qemu.c) ---- */
/* its -m: RAM from 0 to 256 MiB (but for the ROMs at 0xc0000-0xfffff),
 * unassigned from there to the IOAPIC at 0xfec00000 (info mtree -f) */
#define QEMU_RAM_MB 256
struct hw_qemu;
/* NULL with the reason in why when qemu-system-x86_64 is not usable. */
struct hw_qemu *hw_qemu_open(char *why, size_t n);
void hw_qemu_close(struct hw_qemu *q);
/* Boots qemu with qboot.S + the stub for one access over mem (RAM gfns
 * below QEMU_MAX_RAM); afterwards mem holds the pages the access can
 * change (its walk's paging-structure pages and the target page) as the
 * stub dumped them.  No MMIO: the PC's holes make gfns 0xa0-0xff unusable (SKIP). */
void hw_qemu_access(struct hw_qemu *q, struct hw_mem *mem,
                    const struct hw_access *a, unsigned timeout_ms,
                    struct hw_result *r);

/* 32-bit or PAE paging (CR0.PG without EFER.LME): replayed by stub32.S,
 * on QEMU only (kvm-pvm here pages only in long mode). */
bool hw_legacy_paging(const struct hw_access *a);
/* The gpas the 32-bit/PAE walk of a reads (tables, then the final page),
 * from the RAM copy; see qemu.c. */
unsigned hw_legacy_path(const struct hw_mem *m, const struct hw_access *a, uint64_t *out,
                        bool present_only);

/* ---- known behaviours (known.c) ---- */
struct hw_known {
    const char *backend;   /* "kvm", "qemu" */
    const char *id;
    const char *what;      /* one line */
    const char *source;    /* where it is documented */
};
extern const struct hw_known hw_known_table[];
extern const unsigned hw_known_count;

/* A difference as the comparator sees it. */
struct hw_diff_view {
    const char *backend;
    const struct hw_access *a;
    int model_final;       /* enum eng_final */
    uint32_t model_ec;
    const struct hw_result *r;
    const char *field;     /* "outcome", "pf_ec", "mem" ... */
    uint64_t model_val, hw_val;
    bool pdpte_stale;      /* PAE: the model's PDPTE register for the access
                            * is not what the PDPT in memory holds */
};
/* The known behaviour that explains d, or NULL. */
const struct hw_known *hw_known_match(const struct hw_diff_view *d);

/* ---- the command (replay.c) ---- */
int hw_replay_main(int argc, char **argv);

#endif
