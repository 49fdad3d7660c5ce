/* SPDX-License-Identifier: MIT */
/*
 * sim/engine/engine-logdirty.c - the log-dirty and allocator operations of
 * issue 3 that are not PEEK/CLEAN (those are eng_logdirty_call() in
 * engine.c): the domain's log-dirty options, the "is dirty" query, and the
 * deliberate fragmentation of the host heap.  Each is one checked step:
 * perform (sim), mirror (oracle), compare, record.
 */
#include <inttypes.h>
#include <stdio.h>

#include "engine.h"
#include "fmt.h"

void eng_logdirty_config(struct engine *e, struct domain *d, bool bitmap,
                         bool conservative)
{
    d->ld.bitmap_mode = bitmap;
    d->ld.conservative = conservative;
    oracle_op_logdirty_config(e->oracle, d->id, bitmap, conservative);
    char args[96];
    snprintf(args, sizeof args, "d=%u mode=%s conservative=%d", d->id,
             bitmap ? "bitmap" : "radix", conservative);
    eng_record(e, "logdirty_config", args, "rc=0");
    eng_check_state(e);
}

bool eng_is_dirty(struct engine *e, struct domain *d, gfn_t gfn)
{
    bool a = paging_gfn_is_dirty(d, gfn);
    bool x = oracle_op_is_dirty(e->oracle, d->id, gfn);
    char args[64]; /* "d=%u gfn=%#" PRIx64 */
    *put_hex(put_str(put_dec(put_str(args, "d="), d->id, false), " gfn="), gfn_x(gfn)) = 0;
    eng_record(e, "is_dirty", args, a ? "dirty" : "clean");
    eng_cover(e, "logdirty", "is_dirty:%s%s", a ? "dirty" : "clean",
              d->ld.failed_allocs ? ":failed_allocs" : "");
    if (a != x)
        eng_divergence(e, "logdirty.is_dirty", x ? "dirty" : "clean",
                       a ? "dirty" : "clean");
    eng_check_state(e);
    return a;
}

uint64_t eng_fragment_heap(struct engine *e, uint64_t every)
{
    uint64_t taken = heap_fragment(e->host, every);
    int order = heap_max_free_order(e->host);
    char args[48], res[64];
    snprintf(args, sizeof args, "every=%" PRIu64, every);
    snprintf(res, sizeof res, "taken=%" PRIu64 " max_order=%d", taken, order);
    eng_record(e, "fragment_heap", args, res);
    /* No order > 0 block may be left when every frame between the kept
     * ones was taken (the oracle's own scan of page_info). */
    if (every >= 2 && oracle_heap_has_block(e->host, 1))
        eng_divergence(e, "heap.fragmented", "no free order-1 block",
                       "an order-1 block is free");
    eng_check_state(e);
    return taken;
}
