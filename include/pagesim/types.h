/* SPDX-License-Identifier: MIT */
/*
 * pagesim/types.h - typed address spaces.
 *
 * Every address space pagesim deals with gets its own one-member struct, in
 * the spirit of Xen's TYPE_SAFE() (xen/include/xen/typesafe.h): _gfn(n)
 * builds, gfn_x(g) reads.  Xen enforces this only in debug builds; we do it
 * always, so passing a gfn where an mfn is meant is a compile error.
 *
 *   gva_t  guest-virtual (linear) address, what a guest instruction uses
 *   gpa_t  guest-physical address, output of the guest's own paging
 *   gfn_t  guest frame number (gpa >> 12), the P2M's index
 *   mfn_t  machine frame number, a frame of host physical memory
 *   hpa_t  host-physical address (mfn << 12 | offset)
 */
#ifndef PAGESIM_TYPES_H
#define PAGESIM_TYPES_H

#include <stdbool.h>
#include <stdint.h>

#define PAGE_SHIFT 12
#define PAGE_SIZE (1ULL << PAGE_SHIFT)
#define PAGE_MASK (~(PAGE_SIZE - 1))

#define PAGESIM_TYPE_SAFE(type_, name_)                                        \
    typedef struct { type_ name_; } name_##_t;                                 \
    static inline name_##_t _##name_(type_ n) { return (name_##_t){ n }; }     \
    static inline type_ name_##_x(name_##_t v) { return v.name_; }             \
    static inline bool name_##_eq(name_##_t a, name_##_t b)                    \
    { return a.name_ == b.name_; }

PAGESIM_TYPE_SAFE(uint64_t, gva)
PAGESIM_TYPE_SAFE(uint64_t, gpa)
PAGESIM_TYPE_SAFE(uint64_t, gfn)
PAGESIM_TYPE_SAFE(uint64_t, mfn)
PAGESIM_TYPE_SAFE(uint64_t, hpa)

/* Like Xen's INVALID_MFN / INVALID_GFN: all ones. */
#define INVALID_MFN _mfn(~0ULL)
#define INVALID_GFN _gfn(~0ULL)
/* Xen's INVALID_M2P_ENTRY: what machine_to_phys_mapping[] holds for a frame
 * that backs no gfn. */
#define INVALID_M2P_ENTRY (~0ULL)

static inline gfn_t gfn_add(gfn_t g, uint64_t n) { return _gfn(gfn_x(g) + n); }
static inline mfn_t mfn_add(mfn_t m, uint64_t n) { return _mfn(mfn_x(m) + n); }
static inline gfn_t gpa_to_gfn(gpa_t a) { return _gfn(gpa_x(a) >> PAGE_SHIFT); }
static inline gpa_t gfn_to_gpa(gfn_t g) { return _gpa(gfn_x(g) << PAGE_SHIFT); }
static inline mfn_t hpa_to_mfn(hpa_t a) { return _mfn(hpa_x(a) >> PAGE_SHIFT); }
static inline hpa_t mfn_to_hpa(mfn_t m) { return _hpa(mfn_x(m) << PAGE_SHIFT); }
static inline hpa_t hpa_add(hpa_t a, uint64_t n) { return _hpa(hpa_x(a) + n); }
static inline gpa_t gpa_add(gpa_t a, uint64_t n) { return _gpa(gpa_x(a) + n); }

typedef uint16_t domid_t;
#define DOMID_INVALID ((domid_t)0x7FF4)   /* Xen's DOMID_INVALID */
#define DOMID_XEN ((domid_t)0x7FF2)       /* Xen's DOMID_XEN: the hypervisor's own frames */

/* Kind of a guest memory access. */
enum access_kind {
    ACC_READ = 0,
    ACC_WRITE = 1,
    ACC_FETCH = 2,
};

#endif /* PAGESIM_TYPES_H */
