/* SPDX-License-Identifier: MIT */
/*
 * sim/engine/samples.c - per-step domain state for the report's plots.
 *
 * After every recorded step the engine takes, for each live domain, the
 * figures the report plots over time (schema version 3, table samples):
 *   - Xen's log_dirty.dirty_count (d->arch.paging.log_dirty, paging.c);
 *   - the number of gfns in each mem-paging state, p2m_ram_paging_out,
 *     p2m_ram_paged and p2m_ram_paging_in (nominate(), evict(),
 *     p2m_mem_paging_populate() / prepare() in mem_paging.c);
 *   - the paging vm_event ring: requests waiting in it and its slots
 *     (vm_event_ring_available() in xen/common/vm_event.c).
 * A row is written only when one of them changed since the domain's last
 * row, so recording stays a few rows per state change and never one per
 * access (the "default level" of issue 7).
 *
 * The paging-state counts are taken from the oracle's flat P2M, an array
 * scan, instead of walking the sim's EPT for every gfn: the state
 * comparison after each step holds the two equal (a difference is a
 * divergence of its own).  Only a domain that has a paging ring, or had
 * gfns in a paging state at its last sample, is scanned: without a ring
 * nominate() refuses (-ENODEV), so no gfn can enter a paging state; and
 * not after operations that cannot change a paging state (below).
 */
#include <stdbool.h>
#include <string.h>

#include "engine.h"

/* Counts the paging states of d in the oracle's flat P2M.  Only gfns up to
 * max_mapped_pfn can hold any type but mmio_dm (p2m-ept.c). */
static void count_paging(const struct engine *e, const struct domain *d,
                         struct rec_sample *s)
{
    uint64_t end = d->max_mapped_pfn + 1;
    if (end > d->max_gfn)
        end = d->max_gfn;
    for (uint64_t g = 0; g < end; g++) {
        switch (oracle_p2m_type(e->oracle, d->id, _gfn(g))) {
        case p2m_ram_paging_out: s->paging_out++; break;
        case p2m_ram_paged: s->paged++; break;
        case p2m_ram_paging_in: s->paging_in++; break;
        default: break;
        }
    }
}

/* Operations that never change a gfn's paging state: their samples reuse
 * the last counts instead of scanning the P2M again (log-dirty enable and
 * disable retype ram_rw <-> ram_logdirty only; get_request only reads the
 * ring; the rest touch no P2M entry). */
static bool keeps_paging_states(const char *op)
{
    static const char *const keep[] = { "tlb", "log", "vcpu_create", "domain_create",
                                        "expect_divergence", "finding", "paging_enable",
                                        "get_request", "logdirty_enable",
                                        "logdirty_disable", "logdirty_peek",
                                        "logdirty_clean" };
    for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++)
        if (!strcmp(op, keep[i]))
            return true;
    return false;
}

void eng_sample_domains(struct engine *e, const char *op)
{
    if (!e->rec)
        return;
    bool rescan = !keeps_paging_states(op);
    for (unsigned i = 0; i < SIM_MAX_DOMAINS; i++) {
        const struct domain *d = e->host->domains[i];
        struct rec_sample s, *last = &e->last_sample[i];
        memset(&s, 0, sizeof(s));
        if (d) {
            s.domain = d->id;
            s.dirty = d->ld.dirty_count;
            s.ring_used = d->paging.ring_enabled ? d->paging.nreq : 0;
            s.ring_size = d->paging.ring_enabled ? d->paging.ring_size : 0;
            if (!rescan && e->sampled[i] && last->domain == d->id) {
                s.paging_out = last->paging_out;
                s.paged = last->paged;
                s.paging_in = last->paging_in;
            } else if (d->paging.ring_enabled || last->paging_out || last->paged ||
                       last->paging_in) {
                count_paging(e, d, &s);
            }
        } else if (!e->sampled[i]) {
            continue; /* never had a domain: nothing to say */
        } else {
            s.domain = last->domain; /* destroyed: everything back to 0 */
        }
        if (e->sampled[i] && !memcmp(&s, last, sizeof(s)))
            continue;
        /* A fresh domain with nothing to show yet gets no row either. */
        if (!e->sampled[i] && !s.dirty && !s.ring_size)
            continue;
        rec_sample(e->rec, e->run_id, e->step, &s);
        *last = s;
        e->sampled[i] = d != NULL;
    }
}
