/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_pager.c - the simulated xenpaging's victim policy
 * (sim/engine/pager.c): scan from max_pages/2 with wrap, gfn 0 and
 * optionally 0x80 excluded, paged-out and MRU gfns skipped.
 */
#include <criterion/criterion.h>

#include "../../sim/engine/pager.h"

static struct host *h;
static struct domain *d;

static void setup(void)
{
    h = host_new(64);
    cr_assert_not_null(h);
    d = domain_create(h, "d", 0x100);
    cr_assert_not_null(d);
}

static void teardown(void)
{
    host_destroy(h);
}

TestSuite(pager, .init = setup, .fini = teardown);

Test(pager, scan_starts_at_half_and_skips_0x80)
{
    struct pager *p = pager_new(d, 4, true);
    cr_assert_eq(pager_choose_victim(p), 0x81);
    cr_assert_eq(pager_choose_victim(p), 0x82);
    pager_free(p);
    p = pager_new(d, 4, false);
    cr_assert_eq(pager_choose_victim(p), 0x80);
    pager_free(p);
}

Test(pager, wraps_and_never_picks_gfn_0)
{
    struct pager *p = pager_new(d, 0, false);
    for (unsigned i = 0; i < 0x80; i++)
        pager_choose_victim(p);
    cr_assert_eq(pager_choose_victim(p), 1, "wrapped past 0xff, skipped 0");
    pager_free(p);
}

Test(pager, mru_entries_are_skipped_and_fall_off)
{
    struct pager *p = pager_new(d, 2, false);
    pager_notify_paged_in(p, 0x80);
    pager_notify_paged_in(p, 0x81);
    cr_assert_eq(pager_choose_victim(p), 0x82);
    pager_notify_paged_in(p, 0x83); /* 0x80 falls off */
    p->cursor = 0x80;
    cr_assert_eq(pager_choose_victim(p), 0x80);
    pager_set_mru_size(p, 1); /* keeps 0x83 only */
    p->cursor = 0x81;
    cr_assert_eq(pager_choose_victim(p), 0x81);
    cr_assert_eq(pager_choose_victim(p), 0x82);
    cr_assert_eq(pager_choose_victim(p), 0x84);
    pager_free(p);
}
