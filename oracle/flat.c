/* SPDX-License-Identifier: MIT */
/*
 * oracle/flat.c - the flat model and the hypervisor operations it mirrors.
 *
 * Each oracle_op_* states Xen's behaviour for one operation directly on the
 * flat arrays (see oracle_priv.h for the model's invariants):
 *
 *   gfn state         populate            remove / set_type(mmio_dm|invalid)
 *   mmio_dm  ------------------------->  ram_rw       (log-dirty off)
 *            ------------------------->  ram_logdirty (log-dirty on), dirty
 *   ram_*    ------------------------->  mmio_dm, M2P INVALID, clean, freed
 *
 *   ram_rw --logdirty_enable / CLEAN--> ram_logdirty
 *   ram_logdirty --logdirty_disable / write fault (walk.c)--> ram_rw
 *
 * Dirty marks follow seed 001 (98fccdf0ac): additions mark dirty, removals
 * mark clean; hvm_copy_to_guest_phys() marks dirty without changing the type.
 */
#include <stdlib.h>
#include <string.h>

#include "oracle_priv.h"

struct oracle *oracle_new(uint64_t nr_frames)
{
    struct oracle *o = calloc(1, sizeof(*o));
    if (!o)
        return NULL;
    o->nr_frames = nr_frames;
    o->m2p = malloc((nr_frames ? nr_frames : 1) * sizeof(uint64_t));
    o->xrefs = calloc(nr_frames ? nr_frames : 1, sizeof(uint32_t));
    if (!o->m2p || !o->xrefs) {
        free(o->m2p);
        free(o->xrefs);
        free(o);
        return NULL;
    }
    /* Every frame starts free: Xen's INVALID_M2P_ENTRY. */
    for (uint64_t m = 0; m < nr_frames; m++)
        o->m2p[m] = INVALID_M2P_ENTRY;
    return o;
}

static void dom_free(struct oracle_dom *od)
{
    free(od->mfn);
    free(od->type);
    free(od->order);
    free(od->access);
    free(od->pod_cache);
    free(od->dirty);
    memset(od, 0, sizeof(*od));
}

void oracle_destroy(struct oracle *o)
{
    if (!o)
        return;
    for (unsigned i = 0; i < ORACLE_MAX_DOMS; i++)
        if (o->doms[i].live)
            dom_free(&o->doms[i]);
    free(o->m2p);
    free(o->xrefs);
    free(o);
}

struct oracle_dom *oracle_dom_find(const struct oracle *o, domid_t id)
{
    for (unsigned i = 0; i < ORACLE_MAX_DOMS; i++)
        if (o->doms[i].live && o->doms[i].id == id)
            return (struct oracle_dom *)&o->doms[i];
    return NULL;
}

static void m2p_set(struct oracle *o, uint64_t mfn, uint64_t gfn)
{
    if (mfn < o->nr_frames)
        o->m2p[mfn] = gfn;
}

/* ---- dirty bitmap ---------------------------------------------------------- */

void oracle_mark(struct oracle_dom *od, uint64_t gfn, bool dirty)
{
    /* set_pfn_logdirty(): nothing happens unless log-dirty is on. */
    if (!od->ld_enabled || gfn >= od->max_gfn)
        return;
    /* changed = dirty ? !test_and_set : test_and_clear; count follows. */
    uint8_t bit = (uint8_t)(1u << (gfn % 8));
    bool was = od->dirty[gfn / 8] & bit;
    if (dirty && !was) {
        od->dirty[gfn / 8] |= bit;
        od->dirty_count++;
    } else if (!dirty && was) {
        od->dirty[gfn / 8] &= (uint8_t)~bit;
        od->dirty_count--;
    }
}

bool oracle_test_dirty(const struct oracle_dom *od, uint64_t gfn)
{
    return gfn < od->max_gfn && (od->dirty[gfn / 8] >> (gfn % 8) & 1);
}

static void unmap_special(struct oracle *o, struct oracle_dom *od, uint64_t g);

/* ---- domains ------------------------------------------------------------------ */

void oracle_op_domain_create(struct oracle *o, domid_t d, uint64_t max_gfn)
{
    struct oracle_dom *od = oracle_dom_find(o, d);
    if (od) /* an id reused without a destroy: start afresh */
        oracle_op_domain_destroy(o, d);
    for (unsigned i = 0; i < ORACLE_MAX_DOMS; i++) {
        od = &o->doms[i];
        if (od->live)
            continue;
        uint64_t n = max_gfn ? max_gfn : 1;
        od->mfn = malloc(n * sizeof(uint64_t));
        od->type = malloc(n);
        od->order = calloc(n, 1);
        od->access = malloc(n);
        od->dirty = calloc((n + 7) / 8, 1);
        if (!od->mfn || !od->type || !od->order || !od->access || !od->dirty) {
            dom_free(od);
            return;
        }
        /* An empty P2M reads as mmio_dm / INVALID_MFN (ept_get_entry). */
        for (uint64_t g = 0; g < n; g++) {
            od->mfn[g] = mfn_x(INVALID_MFN);
            od->type[g] = p2m_mmio_dm;
            od->access[g] = p2m_access_rwx; /* p2m->default_access */
        }
        od->live = true;
        od->id = d;
        od->max_gfn = max_gfn;
        od->dirty_count = 0;
        od->ld_enabled = false;
        od->ring = false;
        od->ld_failed = false;
        od->ring_size = od->nreq = od->ndrops = 0;
        od->paged_pages = 0;
        memset(od->vstate, 0, sizeof(od->vstate));
        memset(od->vpause, 0, sizeof(od->vpause));
        return;
    }
}

void oracle_op_domain_destroy(struct oracle *o, domid_t d)
{
    struct oracle_dom *od = oracle_dom_find(o, d);
    if (!od)
        return;
    /* domain_relinquish_resources(): every guest frame goes back to the heap,
     * and a freed frame's M2P entry is INVALID (seed 002 06/12). */
    for (uint64_t g = 0; g < od->max_gfn; g++)
        if (p2m_is_grant(od->type[g]) || od->type[g] == p2m_map_foreign)
            unmap_special(o, od, g); /* relinquish / gnttab release */
        else if (p2m_is_ram(od->type[g])) {
            m2p_set(o, od->mfn[g], INVALID_M2P_ENTRY);
            if (od->mfn[g] < o->nr_frames)
                o->xrefs[od->mfn[g]] = 0; /* freed whoever maps it */
        }
    dom_free(od);
}

/* ---- P2M operations ------------------------------------------------------------- */

/* p2m_remove_entry() + free: the gfn reads back as mmio_dm, its frame's
 * M2P becomes INVALID and the gfn is marked clean (seed 001). */
static void unmap_ram(struct oracle *o, struct oracle_dom *od, uint64_t g)
{
    m2p_set(o, od->mfn[g], INVALID_M2P_ENTRY);
    od->mfn[g] = mfn_x(INVALID_MFN);
    od->type[g] = p2m_mmio_dm;
    od->access[g] = p2m_access_rwx;
    oracle_mark(od, g, false);
}

void oracle_note_nomem(struct oracle *o, bool nomem)
{
    o->nomem = nomem;
    if (!nomem)
        o->p2m_fail = false;
}

void oracle_note_p2m_fail(struct oracle *o, bool failed)
{
    o->p2m_fail = failed;
}

int oracle_split(const struct oracle *o, struct oracle_dom *od, uint64_t g)
{
    /* An injected P2M update failure fails the (single) set_entry of the
     * operation, split or not. */
    if (o->p2m_fail)
        return -ENOMEM;
    if (g >= od->max_gfn || od->order[g] == 0)
        return 0;
    /* A superpage split allocates table pages: if the sim's heap failed
     * one, the operation fails and the superpage is intact. */
    if (o->nomem)
        return -ENOMEM;
    uint64_t n = 1ULL << od->order[g], base = g & ~(n - 1);
    memset(od->order + base, 0, n);
    return 0;
}

/* A RAM gfn loses its frame (remove, set_type): a superpage around it is
 * split first; if that fails, p2m_remove_entry() puts back the M2P entry
 * and the dirty mark it had just taken away (p2m.c:594-595), so the gfn
 * stays mapped and is dirty. */
static int unmap_ram_split(struct oracle *o, struct oracle_dom *od, uint64_t g)
{
    if (oracle_split(o, od, g)) {
        oracle_mark(od, g, true);
        return -ENOMEM;
    }
    unmap_ram(o, od, g);
    return 0;
}

int oracle_op_populate(struct oracle *o, domid_t d, gfn_t gfn, mfn_t mfn,
                       bool nomem)
{
    struct oracle_dom *od = oracle_dom_find(o, d);
    uint64_t g = gfn_x(gfn);
    if (!od)
        return -ESRCH;
    if (g >= od->max_gfn)
        return -EINVAL;
    if (p2m_is_ram(od->type[g]))
        return -EEXIST;
    /* p2m_add_page() refuses to replace a grant or foreign entry (Xen
     * also crashes the domain). */
    if (p2m_is_grant(od->type[g]) || od->type[g] == p2m_map_foreign)
        return -EINVAL;
    if (nomem)
        return -ENOMEM;
    if (od->type[g] == p2m_populate_on_demand)
        od->pod_entries--; /* p2m_add_page(): a PoD entry replaced */
    /* populate_physmap -> p2m_add_page(): the type follows the global
     * log-dirty state; the addition marks the gfn dirty (seed 001). */
    od->mfn[g] = mfn_x(mfn);
    od->type[g] = od->ld_enabled ? p2m_ram_logdirty : p2m_ram_rw;
    od->order[g] = 0;
    od->access[g] = p2m_access_rwx;
    m2p_set(o, mfn_x(mfn), g);
    oracle_mark(od, g, true);
    return 0;
}

int oracle_op_populate_extent(struct oracle *o, domid_t d, gfn_t gfn,
                              unsigned order, mfn_t mfn, bool nomem)
{
    struct oracle_dom *od = oracle_dom_find(o, d);
    uint64_t g = gfn_x(gfn);
    if (!od)
        return -ESRCH;
    if (order == 0)
        return oracle_op_populate(o, d, gfn, mfn, nomem);
    if (order != 9 && order != 18)
        return -EINVAL;
    uint64_t n = 1ULL << order;
    if ((g & (n - 1)) || g >= od->max_gfn || od->max_gfn - g < n)
        return -EINVAL;
    /* The harness refuses a range holding anything (sim.h). */
    for (uint64_t i = 0; i < n; i++)
        if (od->type[g + i] != p2m_mmio_dm ||
            od->mfn[g + i] != mfn_x(INVALID_MFN))
            return -EEXIST;
    if (nomem)
        return -ENOMEM;
    /* One entry of that order: 2^order consecutive frames from mfn, each
     * gfn RAM with its M2P entry and its dirty mark, as p2m_add_page()
     * leaves every page of the extent. */
    for (uint64_t i = 0; i < n; i++) {
        od->mfn[g + i] = mfn_x(mfn) + i;
        od->type[g + i] = od->ld_enabled ? p2m_ram_logdirty : p2m_ram_rw;
        od->order[g + i] = (uint8_t)order;
        od->access[g + i] = p2m_access_rwx;
        m2p_set(o, mfn_x(mfn) + i, g + i);
        oracle_mark(od, g + i, true);
    }
    return 0;
}

/* Another domain's RAM page that may be mapped (grant, foreign): RAM with
 * a frame, not paging, not shared; else INVALID. */
static uint64_t oracle_mappable(const struct oracle_dom *fd, uint64_t g)
{
    if (!fd || g >= fd->max_gfn || fd->mfn[g] == mfn_x(INVALID_MFN))
        return mfn_x(INVALID_MFN);
    unsigned t = fd->type[g];
    if (!p2m_is_ram(t) || t == p2m_ram_paging_out || t == p2m_ram_paged ||
        t == p2m_ram_paging_in || t == p2m_ram_shared)
        return mfn_x(INVALID_MFN);
    return fd->mfn[g];
}

static bool oracle_gfn_empty(const struct oracle_dom *od, uint64_t g)
{
    return od->type[g] == p2m_mmio_dm && od->mfn[g] == mfn_x(INVALID_MFN);
}

/* A special entry (grant, foreign) at g of od naming m, holding one
 * reference on m; no M2P change, no dirty mark (P2M_SPECIAL_TYPES). */
static void map_special(struct oracle *o, struct oracle_dom *od, uint64_t g,
                        uint64_t m, unsigned t)
{
    od->type[g] = (uint8_t)t;
    od->mfn[g] = m;
    od->order[g] = 0;
    od->access[g] = p2m_access_rwx;
    if (m < o->nr_frames)
        o->xrefs[m]++;
}

static void unmap_special(struct oracle *o, struct oracle_dom *od, uint64_t g)
{
    uint64_t m = od->mfn[g];
    if (m < o->nr_frames && o->xrefs[m])
        o->xrefs[m]--;
    od->type[g] = p2m_mmio_dm;
    od->mfn[g] = mfn_x(INVALID_MFN);
    od->access[g] = p2m_access_rwx;
}

int oracle_op_add_foreign(struct oracle *o, domid_t td, gfn_t gfn, domid_t fd,
                          gfn_t fgfn)
{
    struct oracle_dom *od = oracle_dom_find(o, td);
    const struct oracle_dom *fo = oracle_dom_find(o, fd);
    uint64_t g = gfn_x(gfn);
    if (!od)
        return -ESRCH;
    if (td == fd || g >= od->max_gfn)
        return -EINVAL;
    uint64_t m = oracle_mappable(fo, gfn_x(fgfn));
    if (m == mfn_x(INVALID_MFN))
        return -EINVAL;
    if (!oracle_gfn_empty(od, g))
        return -EEXIST;
    if (o->p2m_fail)
        return -ENOMEM;
    map_special(o, od, g, m, p2m_map_foreign);
    return 0;
}

int oracle_op_grant_map(struct oracle *o, domid_t d, gfn_t gfn, domid_t gd,
                        gfn_t ggfn, bool readonly)
{
    struct oracle_dom *od = oracle_dom_find(o, d);
    const struct oracle_dom *go = oracle_dom_find(o, gd);
    uint64_t g = gfn_x(gfn);
    if (!od)
        return -ESRCH;
    if (d == gd || g >= od->max_gfn)
        return -EINVAL;
    uint64_t m = oracle_mappable(go, gfn_x(ggfn));
    if (m == mfn_x(INVALID_MFN))
        return -EINVAL;
    if (!oracle_gfn_empty(od, g))
        return -EEXIST;
    if (o->p2m_fail)
        return -ENOMEM;
    map_special(o, od, g, m, readonly ? p2m_grant_map_ro : p2m_grant_map_rw);
    return 0;
}

int oracle_op_grant_unmap(struct oracle *o, domid_t d, gfn_t gfn)
{
    struct oracle_dom *od = oracle_dom_find(o, d);
    uint64_t g = gfn_x(gfn);
    if (!od)
        return -ESRCH;
    if (g >= od->max_gfn || !p2m_is_grant(od->type[g]))
        return -EINVAL;
    if (o->p2m_fail)
        return -ENOMEM;
    unmap_special(o, od, g);
    return 0;
}

/* ---- ioreq server ------------------------------------------------------------- */

int oracle_op_ioreq_server(struct oracle *o, domid_t d, bool map, bool write)
{
    struct oracle_dom *od = oracle_dom_find(o, d);
    if (!od)
        return -ESRCH;
    if (map) {
        if (od->ioreq_mapped)
            return -EBUSY;
        od->ioreq_mapped = true;
        od->ioreq_write = write;
        return 0;
    }
    if (!od->ioreq_mapped)
        return -EINVAL;
    od->ioreq_mapped = od->ioreq_write = false;
    for (uint64_t g = 0; g < od->max_gfn; g++)
        if (od->type[g] == p2m_ioreq_server)
            od->type[g] = od->ld_enabled ? p2m_ram_logdirty : p2m_ram_rw;
    return 0;
}

/* ---- populate-on-demand ------------------------------------------------------- */

int oracle_op_pod_target(struct oracle *o, domid_t d, uint64_t pages,
                         const uint64_t *added, uint64_t nadded, bool nomem)
{
    struct oracle_dom *od = oracle_dom_find(o, d);
    if (!od)
        return -ESRCH;
    if (pages < od->pod_count) {
        /* Shrinking frees from the head (p2m_pod_cache_get()). */
        uint64_t drop = od->pod_count - pages;
        memmove(od->pod_cache, od->pod_cache + drop, pages * sizeof(uint64_t));
        od->pod_count = pages;
        return 0;
    }
    uint64_t want = pages - od->pod_count;
    if (nadded > want)
        nadded = want;
    uint64_t *nc = realloc(od->pod_cache, (od->pod_count + nadded + 1) * sizeof(uint64_t));
    if (!nc)
        return -ENOMEM;
    od->pod_cache = nc;
    for (uint64_t i = 0; i < nadded; i++)
        od->pod_cache[od->pod_count++] = added[i];
    /* Short of the target only when the heap ran out. */
    return nadded < want ? (nomem ? -ENOMEM : -EIO) : 0;
}

int oracle_op_pod_mark(struct oracle *o, domid_t d, gfn_t gfn)
{
    struct oracle_dom *od = oracle_dom_find(o, d);
    uint64_t g = gfn_x(gfn);
    if (!od)
        return -ESRCH;
    if (g >= od->max_gfn)
        return -EINVAL;
    if (!oracle_gfn_empty(od, g))
        return -EEXIST;
    if (o->p2m_fail)
        return -ENOMEM;
    od->type[g] = p2m_populate_on_demand;
    od->access[g] = p2m_access_rwx;
    od->pod_entries++;
    return 0;
}

bool oracle_pod_populate(struct oracle *o, struct oracle_dom *od, uint64_t g)
{
    if (!od->pod_count)
        return false;
    uint64_t m = od->pod_cache[0];
    memmove(od->pod_cache, od->pod_cache + 1, (od->pod_count - 1) * sizeof(uint64_t));
    od->pod_count--;
    od->pod_entries--;
    od->mfn[g] = m;
    od->type[g] = od->ld_enabled ? p2m_ram_logdirty : p2m_ram_rw;
    od->access[g] = p2m_access_rwx;
    m2p_set(o, m, g);
    oracle_mark(od, g, true);
    return true;
}

int oracle_op_set_access(struct oracle *o, domid_t d, gfn_t gfn,
                         p2m_access_t a)
{
    struct oracle_dom *od = oracle_dom_find(o, d);
    uint64_t g = gfn_x(gfn);
    if (!od)
        return -ESRCH;
    /* r_pw needs EPT paging-write, which this host lacks. */
    if (g >= od->max_gfn || (unsigned)a > p2m_access_n2rwx)
        return -EINVAL;
    if (oracle_split(o, od, g))
        return -ENOMEM;
    /* An entry without frame is not stored (reads as nothing mapped), so
     * it keeps no access; anything else keeps its type and frame. */
    if (od->type[g] == p2m_mmio_dm && od->mfn[g] == mfn_x(INVALID_MFN))
        return 0;
    od->access[g] = (uint8_t)a;
    return 0;
}

int oracle_op_remove(struct oracle *o, domid_t d, gfn_t gfn)
{
    struct oracle_dom *od = oracle_dom_find(o, d);
    uint64_t g = gfn_x(gfn);
    if (!od)
        return -ESRCH;
    if (g >= od->max_gfn)
        return -EINVAL;
    /* guest_remove_page(): paged-out gfns (oracle/paging.c); nothing to
     * release at a non-RAM gfn. */
    int prc = oracle_remove_paging(o, od, g);
    if (prc != 1)
        return prc;
    /* p2m_pod_decrease_reservation(): a PoD entry just goes. */
    if (od->type[g] == p2m_populate_on_demand) {
        if (o->p2m_fail)
            return -ENOMEM;
        od->type[g] = p2m_mmio_dm;
        od->pod_entries--;
        return 0;
    }
    /* A foreign mapping is removed with its reference. */
    if (od->type[g] == p2m_map_foreign) {
        if (o->p2m_fail)
            return -ENOMEM;
        unmap_special(o, od, g);
        return 0;
    }
    if (!p2m_is_ram(od->type[g]))
        return -ENOENT;
    return unmap_ram_split(o, od, g);
}

int oracle_op_set_type(struct oracle *o, domid_t d, gfn_t gfn, p2m_type_t t)
{
    struct oracle_dom *od = oracle_dom_find(o, d);
    uint64_t g = gfn_x(gfn);
    if (!od)
        return -ESRCH;
    /* The skeleton's p2m_set_type() handles only the frame-less types. */
    if (t != p2m_mmio_dm && t != p2m_invalid)
        return -EINVAL;
    if (g >= od->max_gfn)
        return -EINVAL;
    /* Grant, foreign (and mmio_direct) entries are not replaced. */
    unsigned ot = od->type[g];
    if (p2m_is_grant(ot) || ot == p2m_map_foreign || ot == p2m_mmio_direct)
        return -EPERM;
    /* set_typed_p2m_entry(): a RAM page there is removed and freed; either
     * type then reads back as mmio_dm (no mfn: is_epte_valid() false). */
    if (p2m_is_ram(od->type[g]) && unmap_ram_split(o, od, g))
        return -ENOMEM;
    if (od->type[g] == p2m_populate_on_demand)
        od->pod_entries--;
    od->type[g] = p2m_mmio_dm;
    od->mfn[g] = mfn_x(INVALID_MFN);
    return 0;
}

int oracle_op_copy_to_guest(struct oracle *o, domid_t d, gpa_t gpa, size_t len)
{
    struct oracle_dom *od = oracle_dom_find(o, d);
    uint64_t g = gpa_x(gpa) >> PAGE_SHIFT;
    if (!od)
        return -ESRCH;
    /* hvm_copy_to_guest_phys(): one page, RAM the guest could write after a
     * fault (rw or logdirty), no EPT permission check. */
    if ((gpa_x(gpa) & ~PAGE_MASK) + len > PAGE_SIZE)
        return -EFAULT;
    /* A paged-out gfn: populate as a foreign caller, the copy retries. */
    if (g < od->max_gfn && (od->type[g] == p2m_ram_paging_out ||
                            od->type[g] == p2m_ram_paged ||
                            od->type[g] == p2m_ram_paging_in)) {
        oracle_populate(od, g, VM_EVENT_NO_VCPU);
        return -EAGAIN;
    }
    /* get_page_from_gfn(P2M_ALLOC) populates a PoD entry first. */
    if (g < od->max_gfn && od->type[g] == p2m_populate_on_demand &&
        !oracle_pod_populate(o, od, g))
        return -EFAULT;
    /* Read-only RAM: __hvm_copy() discards the write (no mark). */
    if (g < od->max_gfn && od->type[g] == p2m_ram_ro &&
        od->mfn[g] != mfn_x(INVALID_MFN))
        return 0;
    if (g >= od->max_gfn ||
        !(p2m_is_pageable(od->type[g]) || od->type[g] == p2m_ioreq_server) ||
        od->mfn[g] == mfn_x(INVALID_MFN))
        return -EFAULT;
    /* The hypervisor wrote the page: paging_mark_dirty(); the type stays. */
    oracle_mark(od, g, true);
    return 0;
}

/* ---- log-dirty ------------------------------------------------------------------- */

static void retype_all(struct oracle_dom *od, p2m_type_t ot, p2m_type_t nt)
{
    for (uint64_t g = 0; g < od->max_gfn; g++)
        if (od->type[g] == ot)
            od->type[g] = (uint8_t)nt;
}

int oracle_op_logdirty_enable(struct oracle *o, domid_t d)
{
    struct oracle_dom *od = oracle_dom_find(o, d);
    if (!od || od->ld_enabled)
        return -EINVAL;
    /* Refused while p2m_ioreq_server entries exist (ioreq.entry_count). */
    for (uint64_t g = 0; g < od->max_gfn; g++)
        if (od->type[g] == p2m_ioreq_server)
            return -EBUSY;
    /* hap_enable_log_dirty(): global rw -> logdirty (no PML here).  The
     * tree starts empty; dirty_count is not touched. */
    od->ld_enabled = true;
    memset(od->dirty, 0, (od->max_gfn + 7) / 8);
    retype_all(od, p2m_ram_rw, p2m_ram_logdirty);
    return 0;
}

int oracle_op_logdirty_disable(struct oracle *o, domid_t d)
{
    struct oracle_dom *od = oracle_dom_find(o, d);
    if (!od || !od->ld_enabled)
        return -EINVAL;
    /* hap_disable_log_dirty() + paging_free_log_dirty_bitmap(): the tree
     * goes, dirty_count stays (only CLEAN zeroes it). */
    od->ld_enabled = false;
    od->ld_failed = false; /* failed_allocs reset with the tree */
    retype_all(od, p2m_ram_logdirty, p2m_ram_rw);
    memset(od->dirty, 0, (od->max_gfn + 7) / 8);
    return 0;
}

int oracle_op_logdirty_op(struct oracle *o, domid_t d, bool clean,
                          uint64_t pages, uint8_t *bitmap,
                          uint64_t *dirty_count)
{
    struct oracle_dom *od = oracle_dom_find(o, d);
    if (!od || !od->ld_enabled)
        return -EINVAL;
    /* A dropped mark makes the log unusable until disable (3.3). */
    if (od->ld_failed)
        return -ENOMEM;
    /* paging_log_dirty_op(): stats and bitmap as before the op; gfns the
     * domain cannot have are clean (missing tree nodes are zero-filled). */
    if (dirty_count)
        *dirty_count = od->dirty_count;
    if (bitmap) {
        memset(bitmap, 0, (pages + 7) / 8);
        for (uint64_t g = 0; g < pages && g < od->max_gfn; g++)
            if (oracle_test_dirty(od, g))
                bitmap[g / 8] |= (uint8_t)(1u << (g % 8));
    }
    if (clean) {
        /* CLEAN clears every leaf, then hap_clean_dirty_bitmap() re-arms:
         * global rw -> logdirty. */
        memset(od->dirty, 0, (od->max_gfn + 7) / 8);
        od->dirty_count = 0;
        retype_all(od, p2m_ram_rw, p2m_ram_logdirty);
    }
    return 0;
}

void oracle_op_logdirty_mark_failed(struct oracle *o, domid_t d, gfn_t gfn)
{
    struct oracle_dom *od = oracle_dom_find(o, d);
    if (!od || !od->ld_enabled)
        return;
    /* The mark needed a new tree page, so the gfn was clean before this
     * step: whatever the oracle marked for it in this step is undone. */
    oracle_mark(od, gfn_x(gfn), false);
    od->ld_failed = true;
}

/* ---- queries ------------------------------------------------------------------------ */

p2m_type_t oracle_p2m_type(const struct oracle *o, domid_t d, gfn_t gfn)
{
    const struct oracle_dom *od = oracle_dom_find(o, d);
    if (!od || gfn_x(gfn) >= od->max_gfn)
        return p2m_mmio_dm;
    return (p2m_type_t)od->type[gfn_x(gfn)];
}

mfn_t oracle_p2m_mfn(const struct oracle *o, domid_t d, gfn_t gfn)
{
    const struct oracle_dom *od = oracle_dom_find(o, d);
    if (!od || gfn_x(gfn) >= od->max_gfn)
        return INVALID_MFN;
    return _mfn(od->mfn[gfn_x(gfn)]);
}

unsigned oracle_p2m_order(const struct oracle *o, domid_t d, gfn_t gfn)
{
    const struct oracle_dom *od = oracle_dom_find(o, d);
    return od && gfn_x(gfn) < od->max_gfn ? od->order[gfn_x(gfn)] : 0;
}

p2m_access_t oracle_p2m_access(const struct oracle *o, domid_t d, gfn_t gfn)
{
    const struct oracle_dom *od = oracle_dom_find(o, d);
    return od && gfn_x(gfn) < od->max_gfn
               ? (p2m_access_t)od->access[gfn_x(gfn)]
               : p2m_access_n;
}

bool oracle_is_dirty(const struct oracle *o, domid_t d, gfn_t gfn)
{
    const struct oracle_dom *od = oracle_dom_find(o, d);
    return od && oracle_test_dirty(od, gfn_x(gfn));
}
