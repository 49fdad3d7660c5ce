/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_check.c - host memory's change log (model/hostmem.c)
 * and the state checks that rely on it (oracle_check() in oracle/check.c).
 *
 * 1. The log holds exactly the frames whose bytes changed: a store of the
 *    bytes already there is no change, a store that changes them is, once
 *    per frame; hostmem_frame() (a pointer the caller may write through)
 *    and zeroing a frame that held something are changes.
 * 2. A step that changes nothing but an EPT table's bytes
 *    (scenarios/ept/table_write_by_guest.lua: a guest store through a raw
 *    mmio_direct leaf onto the domain's own table): the incremental checks
 *    report what the full checks report; with the log losing writes
 *    (mutant check_skip_mark) they miss it and the end-of-run guard
 *    (oracle_check_verify) reports oracle.incremental.
 * 3. The per-domain half restricted to the gfns that changed: a gfn only
 *    the oracle changed (its op marks it) is compared at once; with the
 *    restricted checks dropping the changed gfns (oracle_check_skip_gfns,
 *    mutant check_skip_gfn_mark) the change is missed and the guard
 *    reports it; the counts the restricted checks carry follow populate
 *    and remove exactly (a full check every step agrees, step by step).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../sim/engine/lapi.h"
#include "pagesim/hostmem.h"
#include "pagesim/mutant.h"
#include "pagesim/oracle.h"

static void reset(void) { pagesim_mutants = 0; }

TestSuite(check, .fini = reset);

static bool logged(const struct hostmem *hm, uint64_t m)
{
    size_t n;
    const uint64_t *l = hostmem_written_list(hm, &n);
    unsigned seen = 0;
    for (size_t i = 0; i < n; i++)
        seen += l[i] == m;
    cr_assert_leq(seen, 1u, "frame %#lx logged %u times", (unsigned long)m, seen);
    cr_assert_eq(seen == 1, hostmem_written(hm, _mfn(m)), "list and bits disagree");
    return seen == 1;
}

static size_t nlogged(const struct hostmem *hm)
{
    size_t n;
    hostmem_written_list(hm, &n);
    return n;
}

Test(check, hostmem_logs_exactly_the_changed_frames)
{
    struct hostmem *hm = hostmem_new(4096);
    cr_assert_not_null(hm);
    cr_assert_eq(nlogged(hm), 0u);
    /* zeros over an unbacked frame: it read as zeros already */
    cr_assert_eq(hostmem_write64(hm, _hpa(0x5000), 0), 0);
    cr_assert(!logged(hm, 5));
    cr_assert_eq(hostmem_write64(hm, _hpa(0x5008), 0x1234), 0);
    cr_assert(logged(hm, 5));
    cr_assert_eq(hostmem_write64(hm, _hpa(0x5010), 0x99), 0);
    cr_assert_eq(nlogged(hm), 1u, "once per frame");
    hostmem_written_clear(hm);
    cr_assert_eq(nlogged(hm), 0u);
    cr_assert(!logged(hm, 5));
    /* the same bytes again: no change */
    cr_assert_eq(hostmem_write64(hm, _hpa(0x5008), 0x1234), 0);
    uint8_t b = 0x99;
    cr_assert_eq(hostmem_write(hm, _hpa(0x5010), &b, 1), 0);
    cr_assert(!logged(hm, 5));
    /* one byte changed */
    b = 0x98;
    cr_assert_eq(hostmem_write(hm, _hpa(0x5010), &b, 1), 0);
    cr_assert(logged(hm, 5));
    hostmem_written_clear(hm);
    /* a frame handed out for writing counts as written */
    cr_assert_not_null(hostmem_frame(hm, _mfn(0x700)));
    cr_assert(logged(hm, 0x700));
    hostmem_written_clear(hm);
    /* zeroing: a change if the frame held something, none otherwise */
    cr_assert_eq(hostmem_zero_frame(hm, _mfn(5)), 0);
    cr_assert(logged(hm, 5));
    cr_assert_eq(hostmem_zero_frame(hm, _mfn(6)), 0);
    cr_assert(!logged(hm, 6));
    /* out of range: refused, nothing logged */
    cr_assert_eq(hostmem_write64(hm, _hpa(4096ULL << PAGE_SHIFT), 1), -1);
    cr_assert_eq(nlogged(hm), 1u);
    hostmem_destroy(hm);
}

/* The lines of frame m in the change log's line list (0: not logged). */
static uint64_t lines_of(const struct hostmem *hm, uint64_t m)
{
    size_t n;
    const uint64_t *l = hostmem_written_list(hm, &n);
    const uint64_t *w = hostmem_written_lines(hm);
    for (size_t i = 0; i < n; i++)
        if (l[i] == m)
            return w[i];
    return 0;
}

Test(check, hostmem_logs_the_written_lines)
{
    struct hostmem *hm = hostmem_new(4096);
    cr_assert_not_null(hm);
    /* entry 9 is in line 1; a second frame between two writes to the
     * first keeps each frame's lines apart */
    cr_assert_eq(hostmem_write64(hm, _hpa(0x5048), 7), 0);
    cr_assert_eq(hostmem_write64(hm, _hpa(0x6ff8), 7), 0);
    cr_assert_eq(hostmem_write64(hm, _hpa(0x5200), 7), 0);
    cr_assert_eq(lines_of(hm, 5), UINT64_C(1) << 1 | UINT64_C(1) << 8);
    cr_assert_eq(lines_of(hm, 6), UINT64_C(1) << 63);
    /* a rewrite of the same bytes adds no line; a range across a line
     * boundary adds both */
    cr_assert_eq(hostmem_write64(hm, _hpa(0x5400), 0), 0);
    uint8_t b[4] = { 1, 2, 3, 4 };
    cr_assert_eq(hostmem_write(hm, _hpa(0x507e), b, sizeof b), 0);
    cr_assert_eq(lines_of(hm, 5), UINT64_C(1) << 1 | UINT64_C(1) << 2 | UINT64_C(1) << 8);
    /* after a clear, a frame starts from no lines */
    hostmem_written_clear(hm);
    cr_assert_eq(hostmem_write64(hm, _hpa(0x5ff8), 1), 0);
    cr_assert_eq(lines_of(hm, 5), UINT64_C(1) << 63);
    /* a whole frame: zeroed, or handed out for writes through a pointer */
    hostmem_written_clear(hm);
    cr_assert_eq(hostmem_zero_frame(hm, _mfn(5)), 0);
    cr_assert_not_null(hostmem_frame(hm, _mfn(9)));
    cr_assert_eq(lines_of(hm, 5), ~UINT64_C(0));
    cr_assert_eq(lines_of(hm, 9), ~UINT64_C(0));
    /* a full page in one write */
    hostmem_written_clear(hm);
    uint8_t pg[PAGE_SIZE];
    memset(pg, 0x5a, sizeof pg);
    cr_assert_eq(hostmem_write(hm, _hpa(0x7000), pg, sizeof pg), 0);
    cr_assert_eq(lines_of(hm, 7), ~UINT64_C(0));
    hostmem_destroy(hm);
}

Test(check, hostmem_log_loses_writes_under_check_skip_mark)
{
    struct hostmem *hm = hostmem_new(64);
    pagesim_mutants = MUT_CHECK_SKIP_MARK;
    cr_assert_eq(hostmem_write64(hm, _hpa(0x3008), 7), 0);
    cr_assert(!logged(hm, 3), "the mutant drops the mark");
    pagesim_mutants = 0;
    cr_assert_eq(hostmem_write64(hm, _hpa(0x3008), 8), 0);
    cr_assert(logged(hm, 3));
    hostmem_destroy(hm);
}

struct outcome {
    struct run_result r;
    char *log;
    size_t loglen;
};

static void run(const char *path, unsigned every, struct outcome *o)
{
    memset(o, 0, sizeof(*o));
    FILE *log = open_memstream(&o->log, &o->loglen);
    cr_assert_not_null(log);
    struct run_opts opts = { .seed = 1, .log = log, .full_check_every = every };
    lapi_run_file(path, &opts, &o->r);
    fclose(log);
}

#define SCEN "scenarios/ept/table_write_by_guest.lua"
#define INCREMENTAL_ONLY 1000000000u /* no full decode after the first */

Test(check, a_table_only_change_is_seen_and_a_lost_mark_is_reported)
{
    if (access(SCEN, R_OK))
        cr_skip_test("run from the repository root (" SCEN " missing)");
    struct outcome full, inc;
    run(SCEN, 1, &full);
    run(SCEN, INCREMENTAL_ONLY, &inc);
    /* the declared divergences occur (status pass), both ways alike */
    cr_assert_str_eq(full.r.status, "pass", "%s", full.r.message);
    cr_assert_str_eq(inc.r.status, "pass", "incremental: %s", inc.r.message);
    cr_assert_str_eq(full.log, inc.log);
    cr_assert_str_eq(full.r.digest, inc.r.digest);
    cr_assert_not_null(strstr(full.log, "4 divergences matching d0.p2m"), "%s", full.log);
    cr_assert_null(strstr(inc.log, "oracle.incremental"));
    free(full.log);
    free(inc.log);

    /* Losing the log's marks: the incremental checks miss the store, and
     * the guard at the end of the run says so. */
    pagesim_mutants = MUT_CHECK_SKIP_MARK;
    run(SCEN, INCREMENTAL_ONLY, &inc);
    cr_assert_str_eq(inc.r.status, "diverge", "%s", inc.r.message);
    cr_assert_null(strstr(inc.log, "4 divergences matching d0.p2m"), "the store was missed");
    cr_assert_not_null(strstr(inc.log, "oracle.incremental"), "%s", inc.log);
    free(inc.log);
    /* every check in full: the lost marks do not matter */
    run(SCEN, 1, &full);
    cr_assert_str_eq(full.r.status, "pass", "%s", full.r.message);
    free(full.log);
}

/* ---- a sim write that bypasses the marks ------------------------------------ */

#include "../../sim/engine/engine.h"

/* An engine with one domain of 0x40 gfns, 0x10 of them populated, every
 * step checked (nothing to report); the log goes to *buf. */
static struct domain *small_world(struct engine *e, char **buf, size_t *len,
                                  mfn_t *m)
{
    cr_assert_eq(eng_init(e, 512, 1, NULL, 0), 0);
    e->log = open_memstream(buf, len);
    e->full_check_every = INCREMENTAL_ONLY;
    int rc = 0;
    struct domain *d = eng_domain_create(e, "d", 0x40, &rc);
    cr_assert_not_null(d, "rc %d", rc);
    for (uint64_t g = 0; g < 0x10; g++)
        cr_assert_eq(eng_populate(e, d, _gfn(g), g == 5 ? m : NULL), 0);
    eng_check_state(e);
    cr_assert_eq(e->divergences, 0u);
    return d;
}

Test(check, a_metadata_change_without_mark_is_missed_then_reported)
{
    struct engine e;
    char *buf = NULL;
    size_t len = 0;
    mfn_t m;
    small_world(&e, &buf, &len, &m);
    /* what a sim function forgetting hostmem_meta_mark() would do: the
     * M2P of gfn 5's frame names another gfn */
    e.host->m2p[mfn_x(m)] = 0x33;
    eng_check_state(&e);
    cr_assert_eq(e.divergences, 0u, "the unmarked change is not re-checked");
    eng_finish_checks(&e);
    fflush(e.log);
    cr_assert_gt(e.divergences, 0u);
    cr_assert_not_null(strstr(buf, "oracle.incremental"), "%s", buf);
    fclose(e.log);
    e.log = NULL;
    eng_fini(&e);
    free(buf);
}

Test(check, a_marked_metadata_change_is_reported_at_once)
{
    struct engine e;
    char *buf = NULL;
    size_t len = 0;
    mfn_t m;
    small_world(&e, &buf, &len, &m);
    hostmem_meta_mark(e.host->mem, mfn_x(m));
    e.host->m2p[mfn_x(m)] = 0x33;
    eng_check_state(&e);
    fflush(e.log);
    cr_assert_gt(e.divergences, 0u);
    cr_assert_not_null(strstr(buf, "m2p[0x"), "%s", buf);
    uint64_t n = e.divergences;
    eng_finish_checks(&e); /* the last check ran in full: nothing to add */
    cr_assert_eq(e.divergences, n);
    cr_assert_null(strstr(buf, "oracle.incremental"), "%s", buf);
    fclose(e.log);
    e.log = NULL;
    eng_fini(&e);
    free(buf);
}

/* ---- the per-domain half: gfns the oracle changed ------------------------- */

/* A change of gfn 7's access type in the oracle's flat model alone (the
 * sim's entry stays rwx): no frame's state changes, only the per-domain
 * compare of gfn 7 can see it. */
static void oracle_only_change(struct engine *e, struct domain *d)
{
    cr_assert_eq(oracle_op_set_access(e->oracle, d->id, _gfn(7), p2m_access_r), 0);
}

Test(check, a_gfn_the_oracle_changed_is_compared_at_once)
{
    struct engine e;
    char *buf = NULL;
    size_t len = 0;
    mfn_t m;
    struct domain *d = small_world(&e, &buf, &len, &m);
    oracle_only_change(&e, d);
    eng_check_state(&e);
    fflush(e.log);
    cr_assert_gt(e.divergences, 0u);
    cr_assert_not_null(strstr(buf, "d0.p2m[0x7].access"), "%s", buf);
    uint64_t n = e.divergences;
    eng_finish_checks(&e);
    cr_assert_eq(e.divergences, n);
    cr_assert_null(strstr(buf, "oracle.incremental"), "%s", buf);
    fclose(e.log);
    e.log = NULL;
    eng_fini(&e);
    free(buf);
}

Test(check, a_dropped_gfn_mark_is_missed_then_reported)
{
    struct engine e;
    char *buf = NULL;
    size_t len = 0;
    mfn_t m;
    struct domain *d = small_world(&e, &buf, &len, &m);
    pagesim_mutants = MUT_CHECK_SKIP_GFN_MARK;
    oracle_only_change(&e, d);
    eng_check_state(&e);
    cr_assert_eq(e.divergences, 0u, "the restricted check dropped gfn 7");
    eng_finish_checks(&e);
    fflush(e.log);
    cr_assert_gt(e.divergences, 0u);
    cr_assert_not_null(strstr(buf, "oracle.incremental"), "%s", buf);
    fclose(e.log);
    e.log = NULL;
    eng_fini(&e);
    free(buf);
}

/* Populate, remove and retype gfns step by step with restricted checks
 * (the counts carried, tot_pages compared against them) and with a full
 * check every step: the same (no) reports, and the guard agrees. */
Test(check, restricted_counts_follow_populate_and_remove)
{
    for (unsigned every = 1; every <= 2; every++) {
        struct engine e;
        char *buf = NULL;
        size_t len = 0;
        mfn_t m;
        struct domain *d = small_world(&e, &buf, &len, &m);
        e.full_check_every = every == 1 ? 1 : INCREMENTAL_ONLY;
        struct oracle_check_stats st0, st;
        oracle_check_stats(e.oracle, &st0);
        for (uint64_t g = 0x10; g < 0x20; g++) {
            cr_assert_eq(eng_populate(&e, d, _gfn(g), NULL), 0);
            eng_check_state(&e);
        }
        for (uint64_t g = 0x4; g < 0x18; g += 3) {
            cr_assert_eq(eng_remove(&e, d, _gfn(g)), 0);
            eng_check_state(&e);
        }
        for (uint64_t g = 0x18; g < 0x1c; g++) {
            cr_assert_eq(eng_set_access(&e, d, _gfn(g), p2m_access_rx), 0);
            eng_check_state(&e);
        }
        oracle_check_stats(e.oracle, &st);
        st.restricted -= st0.restricted;
        st.full -= st0.full;
        eng_finish_checks(&e);
        fflush(e.log);
        cr_assert_eq(e.divergences, 0u, "every %u: %s", every, buf);
        cr_assert_eq(d->tot_pages, 0x20u - 7u);
        /* restricted: every step after the first full check concluded
         * clean on the changed gfns with the carried counts (a count
         * off by one would report tot_pages and run the check in full) */
        if (every == 1)
            cr_assert_eq(st.restricted, 0u, "restricted %lu full %lu skipped %lu", (unsigned long)st.restricted, (unsigned long)st.full, (unsigned long)st.skipped);
        else
            cr_assert(st.full == 0 && st.restricted >= 0x10u + 7u + 4u,
                      "restricted %lu full %lu",
                         (unsigned long)st.restricted, (unsigned long)st.full);
        fclose(e.log);
        e.log = NULL;
        eng_fini(&e);
        free(buf);
    }
}

/* ---- the memo of the reused checks: what it leaves out, what it keeps ------ */

/*
 * oracle_check() reuses a clean check when nothing it reads changed; for
 * the domain structs it compares a serialisation (memo_inputs()) that
 * leaves out what no check reads: ring slots holding no request, the
 * monitor wait queues past nwait, d->pml_pg[], d->pml[] and the oracle's
 * pml_log[]/pml_idx[] while PML is off, od->vpause[], d->p2m_fail_in.
 * 4. Changes there alone: the check is reused and the full check at the
 *    end agrees (nothing the checks read changed).
 * 5. A change of a field it keeps, made behind every mark, is reported
 *    at the very check after it (no reuse): the wait queue up to nwait,
 *    the PML index while PML is on, a pause count, a paused vCPU state,
 *    a black-eyed vCPU of the oracle.
 */
#include "../../oracle/oracle_priv.h"

/* Checks until one is reused (the memo is current), at most a few. */
static void settle(struct engine *e)
{
    struct oracle_check_stats a, b;
    oracle_check_stats(e->oracle, &a);
    for (unsigned i = 0; i < 4; i++) {
        eng_check_state(e);
        oracle_check_stats(e->oracle, &b);
        if (b.skipped > a.skipped)
            return;
    }
    cr_assert_fail("no check was reused (skipped %lu)", (unsigned long)b.skipped);
}

static uint64_t reused(const struct engine *e)
{
    struct oracle_check_stats st;
    oracle_check_stats(e->oracle, &st);
    return st.skipped;
}

Test(check, the_memo_leaves_out_what_no_check_reads)
{
    struct engine e;
    char *buf = NULL;
    size_t len = 0;
    mfn_t m;
    struct domain *d = small_world(&e, &buf, &len, &m);
    struct oracle_dom *od = oracle_dom_find(e.oracle, d->id);
    cr_assert_not_null(od);
    settle(&e);
    uint64_t n = reused(&e);
    d->p2m_fail_in = 5;
    d->pml_pg[3] = _mfn(0x77);
    d->pml[2].index = 9;           /* PML off */
    od->pml_idx[2] = 4;
    /* (the writers of the paging and monitor parts bump their change
     * counters, so the memo serialises those parts again) */
    dom_monitor_w(d)->waitq[10] = 9; /* nwait 0 */
    od_monitor_w(od)->mon_waitq[10] = 3;
    od_paging_w(od)->vpause[4] = 2;
    eng_check_state(&e);
    cr_assert_eq(reused(&e), n + 1, "the check was reused");
    eng_finish_checks(&e);
    fflush(e.log);
    cr_assert_eq(e.divergences, 0u, "%s", buf);
    d->p2m_fail_in = 0;
    fclose(e.log);
    e.log = NULL;
    eng_fini(&e);
    free(buf);
}

/* A world set up by setup() (NULL: none; a state the checks find
 * consistent), settled, poke() run on it, one check: its log must hold
 * want. */
static void poked(void (*setup)(struct domain *, struct oracle_dom *),
                  void (*poke)(struct domain *, struct oracle_dom *), const char *want)
{
    struct engine e;
    char *buf = NULL;
    size_t len = 0;
    mfn_t m;
    struct domain *d = small_world(&e, &buf, &len, &m);
    struct oracle_dom *od = oracle_dom_find(e.oracle, d->id);
    cr_assert_not_null(od);
    if (setup)
        setup(d, od);
    settle(&e);
    cr_assert_eq(e.divergences, 0u, "%s: the set-up state: %s", want, buf);
    poke(d, od);
    eng_check_state(&e);
    fflush(e.log);
    cr_assert_gt(e.divergences, 0u, "%s: not reported at once", want);
    cr_assert_not_null(strstr(buf, want), "%s: %s", want, buf);
    fclose(e.log);
    e.log = NULL;
    eng_fini(&e);
    free(buf);
}

/* One vCPU waiting for a monitor slot on both sides, PML on on both
 * sides with a vCPU's log index alike. */
static void waitq_setup(struct domain *d, struct oracle_dom *od)
{
    dom_monitor_w(d)->nwait = od_monitor_w(od)->mon_nwait = 1;
    d->monitor.waitq[0] = od->mon_waitq[0] = 4;
}

static void waitq_poke(struct domain *d, struct oracle_dom *od)
{
    dom_monitor_w(d)->waitq[0] = 6; /* nwait stays */
}

static void pml_setup(struct domain *d, struct oracle_dom *od)
{
    d->pml_on = od->pml_on = true;
    od->pml_log[2] = 0x5000;
    od->pml_idx[2] = d->pml[2].index = 511;
}

static void pml_poke(struct domain *d, struct oracle_dom *od)
{
    d->pml[2].index = 17;
}

static void pause_count_poke(struct domain *d, struct oracle_dom *od)
{
    dom_paging_w(d)->pause_count[3] = 1;
}

static void paused_state_poke(struct domain *d, struct oracle_dom *od)
{
    dom_paging_w(d)->vcpu_state[5] = VCPU_PAUSED_MONITOR;
}

static void black_eye_poke(struct domain *d, struct oracle_dom *od)
{
    od_monitor_w(od)->mon_state[9] = MON_BLACK_EYE;
}

Test(check, the_memo_keeps_what_the_checks_read)
{
    poked(waitq_setup, waitq_poke, "d0.monitor.waitq[0]");
    poked(pml_setup, pml_poke, "d0.v2.pml_index");
    poked(NULL, pause_count_poke, "I7 d0.v3");
    poked(NULL, paused_state_poke, "I7 d0.v5");
    poked(NULL, black_eye_poke, "d0.monitor.blocked");
}

/*
 * 6. The memo's change counters (sim.h dom_paging_w(), oracle_priv.h
 *    od_monitor_w()): a write to a paging or monitor part that bypasses
 *    them -- a writer that forgot its bump -- leaves the counters saying
 *    "unchanged", so the next check is reused and misses it; the next
 *    full check serialises the parts anyway and reports
 *    oracle.memo.<part> (besides what the change itself breaks), and so
 *    does the end-of-run repeat.
 */
static void unbumped(void (*poke)(struct domain *, struct oracle_dom *), bool periodic,
                     const char *want)
{
    struct engine e;
    char *buf = NULL;
    size_t len = 0;
    mfn_t m;
    struct domain *d = small_world(&e, &buf, &len, &m);
    struct oracle_dom *od = oracle_dom_find(e.oracle, d->id);
    cr_assert_not_null(od);
    settle(&e);
    uint64_t n = reused(&e);
    poke(d, od);
    eng_check_state(&e);
    fflush(e.log);
    cr_assert_eq(reused(&e), n + 1, "%s: the check was reused", want);
    cr_assert_eq(e.divergences, 0u, "%s: missed at first: %s", want, buf);
    if (periodic) {
        e.full_check_every = 1; /* the next check is a periodic full one */
        eng_check_state(&e);
    } else
        eng_finish_checks(&e);
    fflush(e.log);
    cr_assert_not_null(strstr(buf, want), "%s: %s", want, buf);
    fclose(e.log);
    e.log = NULL;
    eng_fini(&e);
    free(buf);
}

static void pause_count_unbumped(struct domain *d, struct oracle_dom *od)
{
    d->paging.pause_count[3] = 1;
}

static void black_eye_unbumped(struct domain *d, struct oracle_dom *od)
{
    od->mon_state[9] = MON_BLACK_EYE;
}

static void oracle_paging_unbumped(struct domain *d, struct oracle_dom *od)
{
    od->paged_pages = 7;
}

Test(check, a_write_that_skips_the_change_counter_is_reported_by_the_cross_check)
{
    unbumped(pause_count_unbumped, true, "oracle.memo.paging");
    unbumped(black_eye_unbumped, true, "oracle.memo.monitor");
    unbumped(oracle_paging_unbumped, false, "oracle.memo.paging");
    unbumped(black_eye_unbumped, false, "oracle.memo.monitor");
}

/*
 * 7. The per-domain compares of a restricted check: a domain's paging /
 *    monitor compare is skipped while both sides' change counters stand
 *    where the last clean check left them (oracle/check.c cgen_keep()).
 *    A step that changes the P2M (a restricted check) and, behind the
 *    counters, the oracle's paged_pages: the restricted check misses it,
 *    the next full check reports the difference and oracle.memo.paging.
 *    With the bump, the very check after the step reports it.
 */
static uint64_t restricted_n(const struct engine *e)
{
    struct oracle_check_stats st;
    oracle_check_stats(e->oracle, &st);
    return st.restricted;
}

static void paging_behind_restricted(bool bump)
{
    struct engine e;
    char *buf = NULL;
    size_t len = 0;
    mfn_t m;
    struct domain *d = small_world(&e, &buf, &len, &m);
    struct oracle_dom *od = oracle_dom_find(e.oracle, d->id);
    cr_assert_not_null(od);
    settle(&e);
    /* a step (each is checked) that changes the P2M: a clean restricted
     * check, which keeps the counters */
    uint64_t n = restricted_n(&e);
    cr_assert_eq(eng_populate(&e, d, _gfn(0x20), NULL), 0);
    cr_assert_eq(restricted_n(&e), n + 1);
    /* the oracle's paged_pages behind (or with) the counter, then such a
     * step again */
    (bump ? od_paging_w(od) : od)->paged_pages = 7;
    cr_assert_eq(eng_populate(&e, d, _gfn(0x21), NULL), 0);
    fflush(e.log);
    if (bump) { /* reported by the very step's check */
        cr_assert_gt(e.divergences, 0u);
        cr_assert_not_null(strstr(buf, "d0.paged_pages"), "%s", buf);
    } else {
        cr_assert_eq(restricted_n(&e), n + 2, "the check was restricted: %s", buf);
        cr_assert_eq(e.divergences, 0u, "missed at first: %s", buf);
        e.full_check_every = 1; /* the next check is a periodic full one */
        eng_check_state(&e);
        fflush(e.log);
        cr_assert_not_null(strstr(buf, "d0.paged_pages"), "%s", buf);
        cr_assert_not_null(strstr(buf, "oracle.memo.paging"), "%s", buf);
    }
    fclose(e.log);
    e.log = NULL;
    eng_fini(&e);
    free(buf);
}

Test(check, a_restricted_check_skips_an_unmoved_paging_compare)
{
    paging_behind_restricted(true);
    paging_behind_restricted(false);
}
