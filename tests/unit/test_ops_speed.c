/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_ops_speed.c - the cheaper op paths of issue 6 keep their
 * results: fmt.h's put_*() write what snprintf() writes, the step-text
 * digest is FNV-1a over the same bytes, the pager's shared zero page puts
 * an unbacked frame back as zeros and a written one byte for byte, and
 * coverage keys (with their P2M "before" types) are still counted when a
 * database or sink consumes them.
 */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "../../sim/engine/engine.h"
#include "../../sim/engine/fmt.h"
#include "../../sim/engine/pager.h"

Test(ops_speed, put_matches_snprintf)
{
    static const uint64_t u[] = { 0, 1, 9, 10, 15, 16, 255, 256, 0x3f, 0x100000,
                                  0xfffffffffULL, UINT32_MAX, UINT64_MAX - 1,
                                  UINT64_MAX };
    static const int s[] = { 0, 1, -1, 9, -9, 10, -10, -12, INT_MAX, INT_MIN };
    char a[64], b[64];
    for (size_t i = 0; i < sizeof u / sizeof u[0]; i++) {
        *put_hex(put_str(a, "gfn="), u[i]) = 0;
        snprintf(b, sizeof b, "gfn=%#" PRIx64, u[i]);
        cr_assert_str_eq(a, b);
        *put_dec(a, u[i], false) = 0;
        snprintf(b, sizeof b, "%" PRIu64, u[i]);
        cr_assert_str_eq(a, b);
    }
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++) {
        *put_int(put_str(a, "rc="), s[i]) = 0;
        snprintf(b, sizeof b, "rc=%d", s[i]);
        cr_assert_str_eq(a, b);
    }
    *put_hex(a, 0xdeadbeefu) = 0;
    snprintf(b, sizeof b, "%#x", 0xdeadbeefu);
    cr_assert_str_eq(a, b);
}

/* FNV-1a of one byte run, as the trace digest is defined. */
static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ULL;
    return h;
}

/* eng_note() records the step ("log", msg, ""): each text and its NUL
 * goes into the digest; lengths 0..40 cover the eight-byte turns and the
 * tail. */
Test(ops_speed, step_text_digest_is_fnv1a_of_the_bytes)
{
    static struct engine e;
    cr_assert_eq(eng_init(&e, 64, 1, NULL, -1), 0);
    char msg[48];
    for (unsigned n = 0; n <= 40; n++) {
        for (unsigned i = 0; i < n; i++)
            msg[i] = (char)('a' + (i * 7 + n) % 26);
        msg[n] = 0;
        uint64_t want = fnv(e.digest, "log", 4);
        want = fnv(want, msg, n + 1);
        want = fnv(want, "", 1);
        eng_note(&e, msg);
        cr_assert_eq(e.digest, want, "message of %u bytes", n);
    }
    eng_fini(&e);
}

/* One gfn populated and never written (an unbacked frame), one written:
 * evicted by the pager and paged back in, each reads what it held. */
Test(ops_speed, pager_round_trip_of_unbacked_and_written_frames)
{
    static struct engine e;
    cr_assert_eq(eng_init(&e, 256, 1, NULL, -1), 0);
    int rc;
    struct domain *d = eng_domain_create(&e, "d", 0x10, &rc);
    cr_assert_not_null(d);
    for (uint64_t g = 1; g <= 2; g++)
        cr_assert_eq(eng_populate(&e, d, _gfn(g), NULL), 0);
    cr_assert_eq(eng_copy_to_guest(&e, d, _gpa(2 * 4096 + 16), 0x1122334455667788ULL, 8), 0);
    cr_assert_eq(eng_paging_enable(&e, d), 0);
    struct pager *p = pager_new(d, 0, false);
    cr_assert_not_null(p);
    p->cursor = 1;
    cr_assert_eq(pager_evict(&e, p, 2), 2);
    cr_assert(pager_is_paged(p, 1) && pager_is_paged(p, 2));
    /* a guest read of each raises its page-in request; the pager serves */
    uint64_t v = 1;
    eng_copy_from_guest(&e, d, _gpa(1 * 4096), 8, &v);
    eng_copy_from_guest(&e, d, _gpa(2 * 4096 + 16), 8, &v);
    cr_assert_geq(pager_serve(&e, p), 2);
    cr_assert(!pager_is_paged(p, 1) && !pager_is_paged(p, 2));
    v = 1;
    cr_assert_eq(eng_copy_from_guest(&e, d, _gpa(1 * 4096 + 8), 8, &v), 0);
    cr_assert_eq(v, 0, "the unbacked frame comes back as zeros");
    cr_assert_eq(eng_copy_from_guest(&e, d, _gpa(2 * 4096 + 16), 8, &v), 0);
    cr_assert_eq(v, 0x1122334455667788ULL, "the written frame comes back");
    cr_assert_eq(e.divergences + e.failures, 0);
    /* evicted again and freed while out: the shared page is not freed */
    p->cursor = 1;
    cr_assert_eq(pager_evict(&e, p, 1), 1);
    pager_free(p);
    eng_fini(&e);
}

static unsigned sink_hits;
static char sink_seen[64];
static void sink(void *ctx, const char *kind, const char *key, uint64_t n)
{
    (void)ctx;
    (void)n;
    if (!strcmp(kind, "p2m") && !strncmp(key, "populate:", 9)) {
        sink_hits++;
        snprintf(sink_seen, sizeof sink_seen, "%s", key);
    }
}

/* With a coverage sink the populate key names the type before and after
 * (the lookups eng_covering() saves without one). */
Test(ops_speed, coverage_keys_with_a_consumer)
{
    static struct engine e;
    cr_assert_eq(eng_init(&e, 64, 1, NULL, -1), 0);
    cr_assert(!eng_covering(&e));
    e.cov_sink = sink;
    cr_assert(eng_covering(&e));
    int rc;
    struct domain *d = eng_domain_create(&e, "d", 0x10, &rc);
    cr_assert_not_null(d);
    cr_assert_eq(eng_populate(&e, d, _gfn(3), NULL), 0);
    eng_flush_coverage(&e); /* hands the counts to the sink */
    eng_fini(&e);
    cr_assert_eq(sink_hits, 1);
    cr_assert_str_eq(sink_seen, "populate:mmio_dm->ram_rw");
}
