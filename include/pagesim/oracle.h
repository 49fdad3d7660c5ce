/* SPDX-License-Identifier: MIT */
/*
 * pagesim/oracle.h - the independent executable specification (oracle/).
 *
 * The oracle keeps its own flat model of every domain -- a gfn array of
 * (mfn, type), a flat M2P, a flat dirty bitmap -- updated from the stream of
 * operations the engine performs, with its own reading of Xen's rules.  For a
 * guest access it walks the guest page tables itself (uncached, reading host
 * memory as plain bytes) and translates guest-physical addresses through its
 * *flat* P2M, never through the EPT the sim core wrote.  So a wrong EPT entry
 * shows up as a disagreement, not as a shared mistake.
 *
 * The oracle shares no code with model/ or sim/: it uses their headers for
 * constants and to read state structs as data, and the single memory
 * primitive hostmem_frame_peek().  tests/unit/test_oracle.c checks the link
 * dependencies of oracle/ objects.
 *
 * Three services:
 *   oracle_op_*      mirror a hypervisor operation; returns the expected rc
 *   oracle_access    predicts the complete outcome of one guest access,
 *                    including the VM exits the hypervisor handles on the way
 *   oracle_compare   compares the sim's state (decoded independently) with
 *   oracle_invariants  the flat model, and checks invariants of the sim state
 */
#ifndef PAGESIM_ORACLE_H
#define PAGESIM_ORACLE_H

#include <stddef.h>
#include "pagesim/types.h"
#include "pagesim/sim.h"

struct oracle;

/* Called once per disagreement found. */
typedef void (*oracle_report_fn)(void *ctx, const char *field,
                                 const char *expected, const char *actual);

struct oracle *oracle_new(uint64_t nr_frames);
void oracle_destroy(struct oracle *o);

/* ---- operations (expected return codes) -------------------------------------- */

void oracle_op_domain_create(struct oracle *o, domid_t d, uint64_t max_gfn);
void oracle_op_domain_destroy(struct oracle *o, domid_t d);
/* populate: mfn is what the sim's allocator chose (allocation order is not
 * specified behaviour); ignored unless the expected rc is 0.  nomem says the
 * sim's heap was empty. */
int oracle_op_populate(struct oracle *o, domid_t d, gfn_t gfn, mfn_t mfn,
                       bool nomem);
int oracle_op_remove(struct oracle *o, domid_t d, gfn_t gfn);
/* The sim's heap failed (or did not fail) an allocation during the
 * operation being mirrored next: a superpage split it needed fails with
 * -ENOMEM (allocation order is not specified behaviour, the failure is the
 * sim's; the oracle predicts what a failed split leaves).  Reset by the
 * engine after the operation. */
void oracle_note_nomem(struct oracle *o, bool nomem);
/* The P2M update of the operation mirrored next was made to fail
 * (struct domain.p2m_fail_in reached 0): the 4 KiB set_entry of remove,
 * set_type, nominate, evict, set_access fails with -ENOMEM.  Reset with
 * oracle_note_nomem(o, false). */
void oracle_note_p2m_fail(struct oracle *o, bool failed);
/* populate of one extent of order 9 / 18 at gfn (mfn: the sim's first
 * frame, used when the expected rc is 0); order 0 is oracle_op_populate. */
int oracle_op_populate_extent(struct oracle *o, domid_t d, gfn_t gfn,
                              unsigned order, mfn_t mfn, bool nomem);
/* p2m_add_foreign(), grant map / unmap (sim.h): the frame another domain
 * maps is the oracle's own (its flat P2M of fd / gd); references counted
 * in the flat model like foreign tool-stack maps. */
int oracle_op_add_foreign(struct oracle *o, domid_t td, gfn_t gfn, domid_t fd,
                          gfn_t fgfn);
int oracle_op_grant_map(struct oracle *o, domid_t d, gfn_t gfn, domid_t gd,
                        gfn_t ggfn, bool readonly);
int oracle_op_grant_unmap(struct oracle *o, domid_t d, gfn_t gfn);
/* Populate-on-demand.  pod_target: the cache grows by the frames the sim
 * allocated (added[], in the order it appended them; which frames is the
 * allocator's business, nomem says it ran out) or shrinks from the head.
 * pod_mark: one empty gfn becomes a PoD entry. */
int oracle_op_pod_target(struct oracle *o, domid_t d, uint64_t pages,
                         const uint64_t *added, uint64_t nadded, bool nomem);
int oracle_op_pod_mark(struct oracle *o, domid_t d, gfn_t gfn);
/* XEN_DMOP_map_mem_type_to_ioreq_server by server 'server': flags WRITE
 * maps (the server claims writes), 0 unmaps (ioreq_server entries back to
 * ram_rw / ram_logdirty); see hvm_map_ioreq_server() for the errors. */
int oracle_op_ioreq_server(struct oracle *o, domid_t d, unsigned server,
                           uint32_t flags);
/* p2m_set_mem_access() of one gfn. */
int oracle_op_set_access(struct oracle *o, domid_t d, gfn_t gfn,
                         p2m_access_t a);
int oracle_op_set_type(struct oracle *o, domid_t d, gfn_t gfn, p2m_type_t t);
/* Direct MMIO (set_mmio_p2m_entry() / clear_mmio_p2m_entry()): the
 * expected rc of mapping the device frame mfn (outside the oracle's
 * nr_frames host RAM) at gfn with access a, and of clearing gfn's mapping
 * (the caller's mfn does not matter: Xen only warns); the flat model
 * follows. */
int oracle_op_set_mmio(struct oracle *o, domid_t d, gfn_t gfn, mfn_t mfn,
                       p2m_access_t a);
int oracle_op_clear_mmio(struct oracle *o, domid_t d, gfn_t gfn);
int oracle_op_copy_to_guest(struct oracle *o, domid_t d, gpa_t gpa, size_t len);
int oracle_op_logdirty_enable(struct oracle *o, domid_t d);
int oracle_op_logdirty_disable(struct oracle *o, domid_t d);
/* PEEK / CLEAN of [0, pages): fills the expected bitmap (pages bits) and
 * dirty count before the op; a CLEAN clears the oracle's bitmap. */
int oracle_op_logdirty_op(struct oracle *o, domid_t d, bool clean,
                          uint64_t pages, uint8_t *bitmap,
                          uint64_t *dirty_count);

/* The sim could not allocate a radix-tree page for the dirty mark of gfn
 * (paging_new_log_dirty_page() failed): the mark is dropped, and every
 * PEEK/CLEAN fails with -ENOMEM until log-dirty is disabled
 * (xen-paging.md 3.3). */
void oracle_op_logdirty_mark_failed(struct oracle *o, domid_t d, gfn_t gfn);

/* ---- log-dirty completed (issue 3): modes, preemption, queries ---------------- */

/* The domain options: the flat bitmap of the pre-2007 design, and the 2007
 * seed's conservative "is dirty" answer after failed allocations. */
void oracle_op_logdirty_config(struct oracle *o, domid_t d, bool bitmap,
                               bool conservative);
/* Enable, looking at the heap as the enable finds it (h, read as data;
 * called before the sim acts): in bitmap mode the flat bitmap needs one
 * free aligned block of its order, and an injected failure denies it. */
int oracle_op_logdirty_enable_heap(struct oracle *o, domid_t d,
                                   const struct host *h);
/* One PEEK/CLEAN call, first or continuation (resuming).  bitmap holds
 * (pages + 7) / 8 bytes, zeroed by the caller before the first call and
 * kept across continuations; pages comes back as the expected sc->pages.
 * Returns the expected rc (-ERESTART when preempted, -EBUSY). */
struct oracle_ld_call {
    bool clean, preempt, resuming;
    uint64_t pages;
    uint8_t *bitmap;
    uint64_t dirty_count, fault_count;
};
int oracle_op_logdirty_call(struct oracle *o, domid_t d,
                            struct oracle_ld_call *c);
/* The expected answer of paging_gfn_is_dirty(). */
bool oracle_op_is_dirty(const struct oracle *o, domid_t d, gfn_t gfn);
/* Does a free aligned block of 2^order frames exist in h (page_info read
 * as data)? */
bool oracle_heap_has_block(const struct host *h, unsigned order);
/* The EPT as the hardware sees it: the root the sim allocated and EPTP
 * bit 6 (EPT A/D).  With A/D the oracle walks the sim's EPT with its own
 * raw walker (oracle/ept.c) for every access of the domain, because which
 * A flags are already set is a fact of the tables, not of the flat P2M;
 * the P2M itself is still compared with the flat model. */
/* The domain's P2M is in p2m-pt format and walked as AMD NPT (hap =
 * "npt"): exits are #NPF with EXITINFO1, no access types, no foreign
 * entries, the per-gfn check decodes nested page tables. */
void oracle_op_hap_config(struct oracle *o, domid_t d, bool npt);
/* The oracle's own table of the PTE flag bits (11:0 and 63) Xen's p2m-pt
 * p2m_type_to_flags() gives an NPT leaf of type t (xen-paging.md 1.4's
 * p2m-pt paragraph; ioreq_write: a server claims writes).  PS is not
 * included.  oracle/decode.c. */
uint64_t oracle_npt_type_flags(unsigned t, bool ioreq_write);
void oracle_op_ept_config(struct oracle *o, domid_t d, uint64_t root_mfn,
                          bool ad);
/* Shadow paging (domain{ hap = "none" }), right after the domain is
 * created: accesses are predicted with a one-dimensional walk -- every gpa
 * still through the flat P2M, but no nested references; a refusal is
 * OR_EXIT_SHADOW_PF handled like an EPT violation; guest A/D updates need
 * no P2M write permission and log their page-table frames dirty; mem
 * paging cannot be enabled (-ENODEV). */
void oracle_op_shadow(struct oracle *o, domid_t d);
/* Dirty tracking by PML (domain{ dirty_tracking = "pml" }, with EPT A/D):
 * from the next log-dirty enable, ram_logdirty stays writable and the
 * processor logs gpas whose EPT D flag it sets into each vCPU's 512-entry
 * log; a PML-full exit and every PEEK/CLEAN flush the logs into the dirty
 * bitmap (logdirty -> rw, mark).  The oracle keeps its own copy of each
 * log from its predictions.  oracle_op_pml_log(): the frame the sim chose
 * for vCPU vcpu's log (at enable, or for a vCPU created while on). */
void oracle_op_pml_config(struct oracle *o, domid_t d);
void oracle_op_pml_log(struct oracle *o, domid_t d, unsigned vcpu,
                       uint64_t log_hpa);

/* A scenario wrote the raw EPT entry for gfn at level (1..4); leaf_valid:
 * it is a leaf Xen's ept_get_entry() reads as a mapping (raising
 * max_mapped_pfn over its range).  From now on the gfns under that entry
 * are "raw": their accesses are predicted by the raw walker, the
 * hypervisor's handling of their exits reads the type from the raw leaf,
 * and compare leaves their P2M entries alone. */
void oracle_op_ept_raw(struct oracle *o, domid_t d, uint64_t gfn,
                       unsigned level, bool leaf_valid);

/* Flat-model queries (for tests and the engine's messages). */
p2m_type_t oracle_p2m_type(const struct oracle *o, domid_t d, gfn_t gfn);
mfn_t oracle_p2m_mfn(const struct oracle *o, domid_t d, gfn_t gfn);
unsigned oracle_p2m_order(const struct oracle *o, domid_t d, gfn_t gfn);
p2m_access_t oracle_p2m_access(const struct oracle *o, domid_t d, gfn_t gfn);
bool oracle_is_dirty(const struct oracle *o, domid_t d, gfn_t gfn);

/* ---- guest accesses ------------------------------------------------------------ */

struct oracle_cpu {
    uint64_t cr0, cr3, cr4, efer;
    unsigned cpl;
    uint64_t rflags;     /* AC, bit 18 */
    uint32_t pkru, pkrs;
    unsigned maxphyaddr; /* 0 means 52 */
    bool implicit;       /* implicit supervisor accesses */
    bool mbec;           /* the vCPU runs with mode-based execute control */
    /* PAE paging: walks take the PDPTEs from these registers (SDM 4.4.1)
     * instead of the PDPT in memory (pae_regs false: read per walk). */
    bool pae_regs;
    uint64_t pdpte[4];
};

/* The four PDPTEs a PAE-mode MOV CR3 loads for cpu->cr3, read through the
 * oracle's own EPT view; false if one cannot be translated (or not PAE),
 * or with *gp set if a present one has a reserved bit (SDM 4.4.1: the
 * load is a #GP(0), nothing loaded). */
bool oracle_pae_load(struct oracle *o, domid_t d, const struct oracle_cpu *cpu,
                     const struct hostmem *mem, uint64_t out[4], bool *gp);

struct oracle_expect;
/* oracle_pae_load(), and (x not NULL) x->ept[] / x->nept get the EPT
 * entries whose accessed flags the load set (EPT A/D: the load is a read,
 * SDM 29.3.5); the rest of *x is zeroed.  Under AMD nested paging nothing
 * is loaded (no PDPTE registers: each walk reads the PDPEs). */
bool oracle_pae_load_x(struct oracle *o, domid_t d, const struct oracle_cpu *cpu,
                       const struct hostmem *mem, uint64_t out[4], bool *gp,
                       struct oracle_expect *x);
/* The PDPTE load of a MOV CR3 / MOV CR0/CR4 (SDM 4.4.1, 29.3.3.2) as the
 * instruction: like oracle_pae_load(), but a PDPTE the EPT does not let
 * it read is an EPT violation (misconfiguration) VM exit without a
 * guest-linear address, handled by the hypervisor as
 * hvm_hap_nested_page_fault() would; x->exits lists them, x->final is
 * OR_OK (the MOV completes: loaded when true is returned), OR_GP, or
 * OR_CRASH / OR_PAUSED / OR_BLOCKED (it does not). */
bool oracle_pae_load_mov(struct oracle *o, domid_t d, const struct oracle_cpu *cpu,
                         const struct hostmem *mem, uint64_t out[4], bool *gp,
                         struct oracle_expect *x);

/* Whether a MOV to CR0/CR4 from 'before' to 'after' loads the PDPTE
 * registers (SDM 4.4.1), decided by the oracle on its own. */
bool oracle_pae_cr_loads(const struct oracle_cpu *before, const struct oracle_cpu *after);

enum oracle_final {
    OR_OK = 0,  /* the access completed */
    OR_PF,      /* #PF delivered to the guest */
    OR_MMIO,    /* forwarded to the device model (mmio_dm gfn) */
    OR_CRASH,   /* the hypervisor could not handle the exit */
    OR_GP,      /* #GP(0): non-canonical, or a reserved PAE PDPTE */
    OR_PAUSED,  /* the vCPU is paused for the pager (vm_event pause) */
    OR_BLOCKED, /* the vCPU waits: for a ring slot, or re-faults on a
                   paging_in gfn until prep */
    OR_DISCARD, /* a write to ram_ro: emulated and dropped */
};

enum oracle_exit_kind { OR_EXIT_EPT_VIOLATION = 1, OR_EXIT_EPT_MISCONFIG = 2,
                        OR_EXIT_PML_FULL = 3,
                        OR_EXIT_NPF = 4, /* #VMEXIT(NPF), qual = EXITINFO1 */
                        /* shadow paging: a #PF the hypervisor intercepts
                         * because the P2M refuses (qual: kind bits 0-2,
                         * bit 7, bit 8 for the final gpa) */
                        OR_EXIT_SHADOW_PF = 5 };

struct oracle_exit {
    int kind;          /* enum oracle_exit_kind */
    uint64_t qual;     /* exit qualification (violations) */
    gpa_t gpa;
    gva_t gla;
};

#define ORACLE_MAX_EXITS 16 /* = ENG_MAX_EXITS (sim/engine/engine.h) */
#define ORACLE_MAX_AD 8
#define ORACLE_MAX_EPT_AD 640 /* a PML flush can retype 512 leaves */

/* AMD nested paging: an NPT paging-structure-cache entry a CPU may hold
 * (the nested entry at level 2 nPDE .. 4 nPML4E covering gpa_prefix =
 * gpa >> (12 + 9 * (level - 1)), the next nested table's host address,
 * and the rights down to it: U/S, R/W ANDed, XD ORed). */
struct oracle_npsc {
    unsigned level;
    uint64_t gpa_prefix, table_hpa;
    bool u, w, nx;
};
#define ORACLE_MAX_NPSC 16
#define ORACLE_MAX_NPSC_START 128 /* oracle_set_npsc_starts() */

/* An AMD page-walk-cache entry (a CPU profile whose upper-level cache is
 * keyed by the entry's address): the guest non-leaf entry at level (2
 * PDE .. 5 PML5E) at guest-physical address gpa, with the value it held
 * (accessed flag set) when a walk cached it. */
struct oracle_pwc {
    unsigned level;
    uint64_t gpa, val;
};
#define ORACLE_MAX_PWC_START 128 /* oracle_set_pwc_entries() */
/* Intel EPT: an EPT paging-structure-cache entry a CPU may hold (a
 * "guest-physical mapping", SDM Vol. 3C 29.4.1 / 28.3.1): the EPT entry at
 * level 2 (EPT PDE) .. 5 (EPT PML5E) covering gpa_prefix =
 * gpa >> (12 + 9 * (level - 1)), the next EPT table's host address, and
 * the rights ANDed down to it: bits 2:0 R/W/X, bit 3 bit 10 (user-execute,
 * with MBEC only). */
struct oracle_epsc {
    unsigned level;
    uint64_t gpa_prefix, table_hpa;
    unsigned rights;
};
#define ORACLE_MAX_EPSC 24
#define ORACLE_MAX_EPSC_START 128 /* oracle_set_epsc_starts() */

struct oracle_expect {
    enum oracle_final final;
    unsigned nexits;                  /* VM exits before the final outcome */
    struct oracle_exit exits[ORACLE_MAX_EXITS];
    /* OR_OK / OR_MMIO */
    gpa_t gpa;
    hpa_t hpa;                        /* OR_OK only */
    uint64_t value;                   /* OR_OK reads: the value read */
    /* OR_PF */
    uint32_t pf_ec;
    gva_t cr2;
    /* memory references of the last (successful or faulting) attempt.
     * refs_valid is set only for OR_OK and OR_PF: an attempt that ends in an
     * EPT exit stops wherever the sim's lazily built EPT stops, which the
     * flat model does not know, so no refs are predicted for it. */
    unsigned refs;
    bool refs_valid;
    /* OR_OK: what the translation grants, for the TLB allowed set: U/S
     * and R/W ANDed, XD (counting), the leaf's D after the access, global
     * (G with CR4.PGE), the key, the guest page size (12/21/22/30). */
    bool r_user, r_write, r_nx, r_dirty, r_global;
    unsigned r_pkey, r_shift;
    /* guest paging-structure entries after the access (A/D bits), OR_OK */
    unsigned nad;
    struct { hpa_t hpa; uint64_t value; } ad[ORACLE_MAX_AD];
    /* OR_OK: the EPT leaf of the final gpa (SDM 29.3.7): memory type,
     * ignore-PAT, page size (12, 21, 30). */
    unsigned memtype, ept_shift;
    bool ipat;
    /* Domains whose EPT the oracle walks raw (EPT A/D, raw entries, MBEC):
     * every EPT entry whose A/D flags this access set, with its value
     * afterwards, in any outcome (the walks that succeeded before an exit
     * have set theirs). */
    unsigned nept;
    struct {
        hpa_t hpa;
        uint64_t value;
        /* An entry of a table the hypervisor made during the access (a
         * superpage split by a fix-up, ept_split_super_page()): vlevel
         * != 0, and the entry is gfn vgfn's at that level in the sim's
         * tables afterwards (hpa is the oracle's stand-in, beyond host
         * memory: where the sim puts the table is the heap's choice). */
        uint64_t vgfn;
        unsigned vlevel;
        bool addr_unknown; /* a pointer to such a table: bits 51:12 unknown */
    } ept[ORACLE_MAX_EPT_AD];
    /* OR_OK in IA-32e modes: the non-leaf entries the walk used, each as
     * the paging-structure-cache entry a CPU may now hold (SDM 4.10.3):
     * its level (2 PDE .. 5 PML5E), the next table's gpa and hpa, and the
     * rights down to it (U/S, R/W ANDed, XD ORed). */
    unsigned npsc;
    struct oracle_psc {
        unsigned level;
        uint64_t table_gpa, table_hpa;
        bool u, w, nx;
    } psc[4];
    /* AMD nested paging (raw nested walks): the NPT PSC entries of every
     * nested walk of the access that succeeded, under nCR3 frame
     * npsc_root (oracle_tlbset_note() keeps them). */
    unsigned nnpsc;
    uint64_t npsc_root;
    struct oracle_npsc npsc_used[ORACLE_MAX_NPSC];
    /* OR_OK: the non-leaf guest entries the walk used (read or taken
     * from the page walk cache), each as the AMD page-walk-cache entry a
     * CPU may now hold under the entry's own gpa (oracle_tlbset_note()). */
    unsigned npwc;
    struct oracle_pwc pwc[4];
    /* Intel EPT (raw EPT walks): the EPT PSC entries of every EPT walk of
     * the access that succeeded, under EPTP root frame epsc_root
     * (oracle_tlbset_note() keeps them, even when the access then
     * faults). */
    unsigned nepsc;
    uint64_t epsc_root;
    struct oracle_epsc epsc_used[ORACLE_MAX_EPSC];
};

/* The NPT PSC entries the next oracle_access()/oracle_access_psc()'s raw
 * nested walks may start from (those of the model's cache that the TLB
 * set allows, oracle_tlbset_npsc_allows()); used by that access only. */
void oracle_set_npsc_starts(struct oracle *o, const struct oracle_npsc *s,
                            unsigned n);
/* The page-walk-cache entries the next oracle_access()/oracle_access_psc()
 * walk uses (those of the model's cache that the TLB set allows,
 * oracle_tlbset_pwc_allows()): a guest entry at a listed (level, gpa) is
 * taken from the list, with no reference and no EPT walk; used by that
 * access only. */
void oracle_set_pwc_entries(struct oracle *o, const struct oracle_pwc *s,
                            unsigned n);
/* The same for Intel EPT: the EPT PSC entries the next access's raw EPT
 * walks may start from (oracle_tlbset_epsc_allows()); that access only. */
void oracle_set_epsc_starts(struct oracle *o, const struct oracle_epsc *s,
                            unsigned n);

/* Predicts the access and applies its side effects to the flat model
 * (dirty marks and logdirty -> rw from write faults).  Must be called before
 * the model performs the access: it reads guest page tables from mem.
 * width is 1, 2, 4 or 8 and the access does not cross a page. */
void oracle_access(struct oracle *o, domid_t d, const struct oracle_cpu *cpu,
                   const struct hostmem *mem, gva_t va, enum access_kind k,
                   unsigned width, struct oracle_expect *out);
/* The same for a walk that starts from a paging-structure-cache entry
 * (start: one the TLB set allows, see oracle_tlbset_psc_allows; NULL: a
 * full walk): the entries down to start->level are not read, their rights
 * are start's, and the entry below is read at start->table_hpa without an
 * EPT walk (a combined mapping, SDM 28.4.1): one reference. */
void oracle_access_psc(struct oracle *o, domid_t d, const struct oracle_cpu *cpu,
                       const struct hostmem *mem, gva_t va, enum access_kind k,
                       unsigned width, const struct oracle_psc *start,
                       struct oracle_expect *out);

/* ---- mem paging (oracle/paging.c) ------------------------------------------------ */

/* The vCPU (of the domain) whose access oracle_access() predicts next. */
void oracle_set_vcpu(struct oracle *o, uint32_t vcpu);
/* Ring slots come from the sim: the interface's request size fixes them. */
int oracle_op_paging_enable(struct oracle *o, domid_t d, unsigned slots);
int oracle_op_paging_disable(struct oracle *o, domid_t d);
int oracle_op_nominate(struct oracle *o, domid_t d, gfn_t gfn);
int oracle_op_evict(struct oracle *o, domid_t d, gfn_t gfn);
/* prep: mfn is what the sim allocated (used only when a frame is needed);
 * nomem says the sim's heap was empty. */
int oracle_op_prep(struct oracle *o, domid_t d, gfn_t gfn, bool buffer,
                   mfn_t mfn, bool nomem);
/* RING_GET_REQUEST: 0 with *out, -ENODEV, -ENOENT. */
int oracle_op_get_request(struct oracle *o, domid_t d, struct vm_event_req *out);
int oracle_op_resume(struct oracle *o, domid_t d, const struct vm_event_req *rsp);
/* A foreign mapping of gfn (mfn: what the sim returned) / its unmap. */
int oracle_op_foreign_map(struct oracle *o, domid_t d, gfn_t gfn);
int oracle_op_foreign_unmap(struct oracle *o, domid_t d, mfn_t mfn);
int oracle_op_set_mem_type(struct oracle *o, domid_t d, gfn_t gfn, p2m_type_t t);
int oracle_op_copy_from_guest(struct oracle *o, domid_t d, gpa_t gpa,
                              size_t len);

/* ---- memory sharing (oracle/sharing.c) ----------------------------------------- */

/* XEN_DOMCTL_MEM_SHARING_CONTROL. */
int oracle_op_sharing_control(struct oracle *o, domid_t d, bool enable);
/* XENMEM_sharing_op_nominate_gfn: expected rc and *handle (the oracle
 * numbers handles itself); mem: host memory, whose frame contents the
 * oracle remembers (a shared frame must never change). */
int oracle_op_share_nominate(struct oracle *o, domid_t d, gfn_t gfn,
                             const struct hostmem *mem, uint64_t *handle);
/* XENMEM_sharing_op_share / _add_physmap: expected rc. */
int oracle_op_share(struct oracle *o, domid_t sd, gfn_t sgfn, uint64_t sh,
                    domid_t cd, gfn_t cgfn, uint64_t ch);
int oracle_op_share_add_physmap(struct oracle *o, domid_t sd, gfn_t sgfn,
                                uint64_t sh, domid_t cd, gfn_t cgfn);
/* The frames the sim's heap will hand out to the next n allocation
 * attempts of the operation or access mirrored next (INVALID_MFN for an
 * attempt that fails): what an unshare's copy gets. */
void oracle_note_alloc_hint(struct oracle *o, const uint64_t *frames,
                            unsigned n);
/* ---- the monitor ring for mem_access (oracle/monitor.c) --------------------------- */

/* vCPU id of domain d was created (the black eye compares free slots with
 * the domain's vCPU count). */
void oracle_op_vcpu_created(struct oracle *o, domid_t d, unsigned id);
int oracle_op_monitor_enable(struct oracle *o, domid_t d, unsigned slots);
int oracle_op_monitor_disable(struct oracle *o, domid_t d);
void oracle_op_access_required(struct oracle *o, domid_t d, bool on);
/* The listener reads the oldest unread request: 0, -ENODEV, -ENOENT. */
int oracle_op_monitor_get(struct oracle *o, domid_t d, struct mem_access_req *out);
/* A response: 0, -ENODEV, -EINVAL (nothing read and unanswered). */
int oracle_op_monitor_resume(struct oracle *o, domid_t d,
                             const struct mem_access_req *rsp);

/* ---- TLB allowed outcomes (issue 4) ----------------------------------------------- */

/* The set of translations the architecture still allows a CPU to use from
 * its TLBs: every successful translation the oracle predicted (tagged by
 * VPID, PCID, EPTP, with its rights), minus what each invalidation must
 * remove (SDM 4.10.4, 28.4.3) and what a #PF removes for its page.  A model
 * access satisfied from a TLB must match one of them (rights re-checked
 * under the current CPU state); a model walk must match the fresh
 * prediction.  Own code: nothing shared with model/tlb.c. */
struct oracle_tlbset;

struct oracle_tlbset *oracle_tlbset_new(void);
void oracle_tlbset_destroy(struct oracle_tlbset *s);
/* After oracle_access(): remember an OR_OK (fresh) translation. */
void oracle_tlbset_note(struct oracle_tlbset *s, const struct oracle_cpu *cpu,
                        uint16_t vpid, uint64_t eptp, gva_t va,
                        const struct oracle_expect *x);
/* A #PF was delivered for va: its entries are gone. */
void oracle_tlbset_pf(struct oracle_tlbset *s, const struct oracle_cpu *cpu,
                      uint16_t vpid, gva_t va);
/* Is a TLB-hit outcome allowed?  ok: the access completed at hpa; else a
 * #PF with error code ec. */
bool oracle_tlbset_allows(struct oracle_tlbset *s, const struct oracle_cpu *cpu,
                          uint16_t vpid, uint64_t eptp, gva_t va,
                          enum access_kind k, bool ok, hpa_t hpa, uint32_t ec);
void oracle_tlbset_invlpg(struct oracle_tlbset *s, uint16_t vpid,
                          uint16_t pcid, uint64_t va);
void oracle_tlbset_mov_cr3(struct oracle_tlbset *s, uint16_t vpid,
                           uint16_t pcid, bool noflush);
void oracle_tlbset_invpcid(struct oracle_tlbset *s, uint16_t vpid,
                           unsigned type, uint16_t pcid, uint64_t va);
/* AMD SVM: INVLPGA of va in asid; TLB_CONTROL (1, 3, 7) at VMRUN. */
void oracle_tlbset_invlpga(struct oracle_tlbset *s, uint16_t asid, uint64_t va);
void oracle_tlbset_tlb_control(struct oracle_tlbset *s, unsigned ctl, uint16_t asid);
void oracle_tlbset_invvpid(struct oracle_tlbset *s, unsigned type,
                           uint16_t vpid, uint64_t va);
void oracle_tlbset_invept(struct oracle_tlbset *s, unsigned type,
                          uint64_t eptp);
size_t oracle_tlbset_size(const struct oracle_tlbset *s);
/* The PAE PDPTE registers the CPU must be using (SDM 4.4.1): set at each
 * load (valid false: none loaded, walks read the PDPT), given back while
 * CR3 is still cr3. */
void oracle_tlbset_pae_set(struct oracle_tlbset *s, bool valid, uint64_t cr3,
                           const uint64_t pdpte[4]);
bool oracle_tlbset_pae_get(const struct oracle_tlbset *s, uint64_t cr3,
                           uint64_t out[4]);
/* Paging-structure caches (SDM 4.10.3): oracle_tlbset_note() also keeps
 * the PSC entries of each predicted walk (x->psc), the invalidations and
 * #PFs above remove them with the SDM's scope (INVLPG, MOV CR3 and
 * INVPCID 0/1: every entry of the PCID; INVPCID 2/3: of the VPID; INVVPID
 * 0: the entries that would translate the address, 1/3: of the VPID, 2:
 * all but VPID 0; INVEPT: of the EPTP / all; #PF: those that would
 * translate the address, current PCID).  Is a walk from this cached
 * entry allowed? */
bool oracle_tlbset_psc_allows(struct oracle_tlbset *s,
                              const struct oracle_cpu *cpu, uint16_t vpid,
                              uint64_t eptp, gva_t va,
                              const struct oracle_psc *p);
size_t oracle_tlbset_psc_size(const struct oracle_tlbset *s);
/* NPT paging-structure caches (AMD nested paging): oracle_tlbset_note()
 * keeps x->npsc_used under (asid = the vpid tag, x->npsc_root); INVLPGA
 * and TLB_CONTROL 3/7 drop the ASID's, TLB_CONTROL 1 and INVEPT 2 all,
 * INVEPT 1 those of its root.  Is p (under root, asid) one of them? */
bool oracle_tlbset_npsc_allows(const struct oracle_tlbset *s, uint16_t asid,
                               uint64_t root, const struct oracle_npsc *p);
size_t oracle_tlbset_npsc_size(const struct oracle_tlbset *s);
/* The AMD page walk cache: every x->pwc entry of a successful walk is
 * kept under (vpid, PCID, eptp, paging mode, level, gpa, value) until an
 * invalidation the APM requires drops it (INVLPG, MOV CR3, INVPCID,
 * INVVPID types 1-3, INVLPGA, TLB_CONTROL, INVEPT: every entry of the
 * context, as for the PSC entries; a #PF and INVVPID type 0 none, their
 * SDM scope -- the entries that would translate one address -- naming no
 * entry address).  allows: is p, for a walk of this vCPU now, among them? */
bool oracle_tlbset_pwc_allows(const struct oracle_tlbset *s,
                              const struct oracle_cpu *cpu, uint16_t vpid,
                              uint64_t eptp, const struct oracle_pwc *p);
size_t oracle_tlbset_pwc_size(const struct oracle_tlbset *s);
/* EPT paging-structure caches (guest-physical mappings, SDM Vol. 3C
 * 29.4): oracle_tlbset_note() keeps x->epsc_used under EPTP root frame
 * x->epsc_root; INVEPT 1 drops those of its EPTP, INVEPT 2 (and the
 * engine's flush after a hypervisor operation) and TLB_CONTROL 1 all;
 * INVVPID, INVLPG, INVPCID, MOV CR3 and #PF leave them (they name linear
 * and combined mappings only).  Is p (under EPTP root eptp) one of them? */
bool oracle_tlbset_epsc_allows(const struct oracle_tlbset *s, uint64_t eptp,
                               const struct oracle_epsc *p);
size_t oracle_tlbset_epsc_size(const struct oracle_tlbset *s);
/* Add an entry a CPU may hold (one oracle_ept_entry_current() /
 * oracle_npt_entry_current() found equal to memory): eng_psc_seed(), when
 * a domain's first raw entry is written without the flush, so that the
 * entries the model cached while the oracle still predicted from its flat
 * P2M (no raw walks, nothing noted) are known. */
void oracle_tlbset_epsc_add(struct oracle_tlbset *s, uint64_t eptp,
                            const struct oracle_epsc *p);
void oracle_tlbset_npsc_add(struct oracle_tlbset *s, uint16_t asid,
                            uint64_t root, const struct oracle_npsc *p);

/* ---- raw EPT (issue 4) ------------------------------------------------------------ */

/* The oracle's own reading of one EPT walk over raw tables in host memory
 * (docs/translation-rules.md "EPT walk"), for the EPT matrix and tools: 4-
 * or 5-level, 2 MiB / 1 GiB leaves, misconfigurations, exit qualification
 * bits 0-5, 8 (7 is always set), memory type and ignore-PAT, and the EPT A/D
 * updates (EPTP bit 6).  Memory is not modified: the entries as they should
 * be after the walk are listed in upd[]. */
struct oracle_eptp {
    uint64_t root_mfn;
    unsigned levels;     /* 4 or 5 */
    bool ad;             /* EPTP bit 6 */
    unsigned maxphyaddr; /* 0 means 52 */
    bool mbec;           /* mode-based execute control (bit 10 = user X) */
    bool user_la;        /* this access's linear address is user-mode */
    bool pml;            /* page-modification logging (with ad) */
    uint64_t pml_log;    /* hpa of the 4 KiB log */
    unsigned pml_index;  /* the PML index before the access */
    /* EPT PSC entries the walk may start from (the deepest one covering
     * the gpa, as the model's lookup picks it): the entries down to its
     * level are not read (nor their A flags set), the rights start as the
     * entry's, and the skipped reads count in refs as if made. */
    const struct oracle_epsc *starts;
    unsigned nstarts;
};

enum oracle_ept_outcome { OE_OK = 0, OE_VIOLATION, OE_MISCONFIG,
                          OE_PML_FULL };

struct oracle_ept_result {
    enum oracle_ept_outcome outcome;
    uint64_t qual;       /* OE_VIOLATION */
    uint64_t hpa;        /* OE_OK */
    unsigned memtype;    /* OE_OK */
    bool ipat;           /* OE_OK */
    unsigned shift;      /* OE_OK: 12, 21, 30 */
    unsigned refs;       /* entries read + entries written (A/D) */
    unsigned nupd;       /* OE_OK with ad: entries used, root first */
    struct { uint64_t hpa, value; } upd[5];
    bool pml_logged;     /* OE_OK: a log entry was written ... */
    uint64_t pml_hpa, pml_value; /* ... here, with this gpa */
    unsigned pml_index;  /* the index after the access */
    unsigned rights;     /* OE_OK: AND of R/W/X over the walk (bits 2:0)
                          * and, with MBEC, 8 for the AND of bit 10 */
    /* NPT, OE_OK: the non-leaf nested entries read (the NPT PSC entries
     * a CPU may now hold). */
    unsigned nnpsc;
    struct oracle_npsc npsc[3];
    /* EPT, OE_OK: the non-leaf EPT entries read (the EPT PSC entries a
     * CPU may now hold). */
    unsigned nepsc;
    struct oracle_epsc epsc[4];
};

void oracle_ept_xlate(const struct hostmem *mem, uint64_t nr_frames,
                     const struct oracle_eptp *p, uint64_t gpa,
                     enum access_kind k, bool paging_access,
                     struct oracle_ept_result *out);

/* The oracle's own AMD nested-paging walk over raw tables
 * (docs/translation-rules.md "NPT walk"): OE_OK or OE_VIOLATION, which
 * here means #VMEXIT(NPF) with qual = EXITINFO1; upd[] as for EPT (nested
 * A/D, always on). */
struct oracle_nptp {
    uint64_t root_mfn;   /* nCR3 */
    bool nxe;            /* host EFER.NXE */
    unsigned maxphyaddr; /* 0 means 52 */
    /* NPT PSC entries the walk may start from (the deepest one covering
     * the gpa): its entries down to that level are not read, their rights
     * are the entry's, and their reads count in refs as if made. */
    const struct oracle_npsc *starts;
    unsigned nstarts;
};

/* Is p what a walk of the raw tables in memory would cache now (the EPT
 * / nested entry at its level present, no leaf, the same next table and
 * the same rights ANDed from the root)? */
bool oracle_ept_entry_current(const struct hostmem *mem, uint64_t nr_frames,
                              uint64_t root_mfn, unsigned levels,
                              const struct oracle_epsc *p);
bool oracle_npt_entry_current(const struct hostmem *mem, uint64_t nr_frames,
                              uint64_t root_mfn, const struct oracle_npsc *p);

void oracle_npt_xlate(const struct hostmem *mem, uint64_t nr_frames,
                      const struct oracle_nptp *p, uint64_t gpa,
                      enum access_kind k, bool paging_access,
                      struct oracle_ept_result *out);

/* ---- state checks ---------------------------------------------------------------- */

/* Compares the sim's state with the flat model: every domain's P2M (decoded
 * from the EPT in host memory, including the permission bits each type must
 * have), the M2P, and the log-dirty bitmap (decoded from the radix tree).
 * Returns the number of disagreements reported. */
unsigned oracle_compare(const struct oracle *o, const struct host *h,
                        oracle_report_fn report, void *ctx);

/* Invariants of the sim's state alone:
 *   I1 P2M -> M2P: every RAM gfn with a valid mfn has m2p[mfn] == gfn
 *   I2 M2P -> P2M: every guest frame with m2p[mfn] = gfn is mapped at gfn by
 *      its owner
 *   I3 dirty_count is at least the number of bits set in the radix tree
 *      (equal from a CLEAN until the next disable: Xen's disable frees the
 *      tree but keeps dirty_count; oracle_compare checks the exact value)
 *   I4 ld.allocs equals the number of frames the radix tree references, and
 *      the heap's PGU_LOGDIRTY frames of the domain
 *   I7 the paging ring holds at most ring_size requests; a vCPU is paused
 *      for the pager iff its pause count is non-zero; a paged gfn has no
 *      frame, a paging_out gfn has one
 * Returns the number of violations reported. */
unsigned oracle_invariants(const struct host *h, oracle_report_fn report,
                           void *ctx);

/* oracle_compare() then oracle_invariants().  With full false, a check is
 * skipped (0, no report) when the previous one reported nothing and nothing
 * it read has changed since: the frames its walks read (written: the
 * frames host memory's change log holds since the previous oracle_check(),
 * hostmem_written_list(); nwritten SIZE_MAX: unknown, any may have
 * changed) and the M2P, frame, domain and flat-model state (the oracle
 * keeps a copy); the reports are exactly those of the full checks
 * (oracle/check.c explains why).  meta: the frames whose page_info, M2P
 * entry or sharing handle the sim changed (hostmem_meta_list(); SIZE_MAX
 * unknown); the per-frame checks re-check those frames (and the ones the
 * oracle's own ops marked) only.  wlines: parallel to written, the 64-byte
 * lines of each frame written since the previous call
 * (hostmem_written_lines(); NULL: any); a restricted check diffs only
 * those lines of a written EPT table against its copy.  The caller clears
 * both logs after each call.  Returns the number of reports. */
unsigned oracle_check(struct oracle *o, const struct host *h, bool full,
                      const uint64_t *written, size_t nwritten,
                      const uint64_t *wlines,
                      const uint64_t *meta, size_t nmeta,
                      oracle_report_fn report, void *ctx);
/* A broken change tracker on purpose, for the mutation tests (the engine
 * sets it under mutant check_skip_gfn_mark): with on, restricted
 * oracle_check()s re-compare none of the gfns under changed EPT entries
 * or written by the oracle's ops, so they miss a change only those gfns
 * show and oracle_check_verify() must say so. */
void oracle_check_skip_gfns(struct oracle *o, bool on);
/* How oracle_check() has decided so far: checks skipped (nothing read
 * changed), restricted to the changed frames and gfns (concluded clean),
 * and run in full. */
struct oracle_check_stats {
    uint64_t skipped, restricted, full;
};
void oracle_check_stats(const struct oracle *o, struct oracle_check_stats *out);
/* After an oracle_check() that was skipped or restricted to the changed
 * frames, and no change since: the full checks again; if their reports
 * differ, one report "oracle.incremental" (a fault of the change tracking
 * itself: a missed mark).  Returns 0 when they agree or the last check ran
 * in full. */
unsigned oracle_check_verify(struct oracle *o, const struct host *h,
                             oracle_report_fn report, void *ctx);

#endif /* PAGESIM_ORACLE_H */
