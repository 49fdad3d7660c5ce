/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_monitor.c - sim/monitor.c: p2m_mem_access_check() with
 * and without a listener, the monitor ring's slot accounting, the
 * VCPU_PAUSED rule of vm_event_resume(), the wait queue and the black eye
 * of vm_event_put_request(); and the Lua errors of the monitor API.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../sim/engine/lapi.h"
#include "pagesim/mutant.h"
#include "pagesim/sim.h"

static struct host *h;
static struct domain *d;

static void setup(void)
{
    pagesim_mutants = 0;
    h = host_new(256);
    cr_assert_not_null(h);
    d = domain_create(h, "d", 0x100);
    cr_assert_not_null(d);
    for (uint64_t g = 0; g < 0x20; g++)
        cr_assert_eq(guest_populate_page(d, _gfn(g), NULL), 0);
    d->nr_vcpus = 2;
}

static void teardown(void)
{
    host_destroy(h);
    pagesim_mutants = 0;
}

TestSuite(monitor, .init = setup, .fini = teardown);

static p2m_access_t access_of(uint64_t g)
{
    p2m_access_t a;
    p2m_get_entry(d, _gfn(g), NULL, &a);
    return a;
}

/* A guest write at gpa by vCPU v with the gla reported on the final
 * translation. */
static enum npf_result write_fault(unsigned v, uint64_t gpa, uint64_t gla)
{
    return hvm_hap_nested_page_fault_vcpu(d, v, _gpa(gpa),
                                          EPTQ_WRITE | EPTQ_READABLE |
                                              EPTQ_GLA_VALID | EPTQ_GLA_XLATE,
                                          _gva(gla));
}

Test(monitor, enable_disable_rcs)
{
    struct mem_access_req q;
    cr_assert_eq(vm_event_monitor_get(d, &q), -ENODEV);
    cr_assert_eq(vm_event_monitor_resume(d, &q), -ENODEV);
    cr_assert_eq(vm_event_monitor_disable(d), -EINVAL);
    cr_assert_eq(vm_event_monitor_enable(d), 0);
    cr_assert_eq(vm_event_monitor_enable(d), -EBUSY);
    cr_assert_eq(d->monitor.ring_size, VM_EVENT_RING_SLOTS);
    cr_assert_eq(vm_event_monitor_get(d, &q), -ENOENT);
    cr_assert_eq(vm_event_monitor_resume(d, &q), -EINVAL, "nothing taken");
    cr_assert_eq(vm_event_monitor_disable(d), 0);
}

Test(monitor, no_listener_clears_or_crashes)
{
    cr_assert_eq(p2m_set_mem_access(d, _gfn(3), p2m_access_r), 0);
    cr_assert_eq(write_fault(0, 0x3010, 0x1000), NPF_RETRY);
    cr_assert_eq(access_of(3), p2m_access_rwx);
    p2m_set_access_required(d, true);
    cr_assert_eq(p2m_set_mem_access(d, _gfn(4), p2m_access_r), 0);
    cr_assert_eq(write_fault(0, 0x4010, 0x1000), NPF_CRASH);
    cr_assert_eq(access_of(4), p2m_access_r);
    cr_assert_eq(d->monitor.crashes, 1);
}

Test(monitor, sync_event_pauses_until_flagged_response)
{
    cr_assert_eq(vm_event_monitor_enable(d), 0);
    cr_assert_eq(p2m_set_mem_access(d, _gfn(5), p2m_access_rx), 0);
    cr_assert_eq(write_fault(1, 0x5abc, 0x7000abc), NPF_PAUSED);
    cr_assert_eq(vcpu_run_state(d, 1), VCPU_PAUSED_MONITOR);
    cr_assert_eq(d->paging.pause_count[1], 1);
    cr_assert_eq(access_of(5), p2m_access_rx, "left to the listener");
    struct mem_access_req q;
    cr_assert_eq(vm_event_monitor_get(d, &q), 0);
    cr_assert_eq(q.gfn, 5);
    cr_assert_eq(q.offset, 0xabc);
    cr_assert_eq(q.gla, 0x7000abc);
    cr_assert_eq(q.maflags, MEM_ACCESS_W | MEM_ACCESS_GLA_VALID | MEM_ACCESS_FAULT_WITH_GLA);
    cr_assert_eq(q.flags, VM_EVENT_FLAG_VCPU_PAUSED);
    cr_assert_eq(q.access, p2m_access_rx);
    cr_assert_eq(q.vcpu_id, 1);
    cr_assert_eq(vm_event_monitor_used(d), 1, "slot held until the response");
    struct mem_access_req rsp = q;
    rsp.flags = 0;
    cr_assert_eq(vm_event_monitor_resume(d, &rsp), 0);
    cr_assert_eq(vm_event_monitor_used(d), 0);
    cr_assert_eq(vcpu_run_state(d, 1), VCPU_PAUSED_MONITOR, "no VCPU_PAUSED flag");
    /* A second event is impossible while paused; answer a fresh one from
     * vCPU 0 naming vCPU 1 with the flag. */
    cr_assert_eq(write_fault(0, 0x5000, 0), NPF_PAUSED);
    cr_assert_eq(vm_event_monitor_get(d, &q), 0);
    rsp = q;
    rsp.vcpu_id = 1;
    cr_assert_eq(vm_event_monitor_resume(d, &rsp), 0);
    cr_assert_eq(vcpu_run_state(d, 1), VCPU_RUNNABLE);
    cr_assert_eq(vcpu_run_state(d, 0), VCPU_PAUSED_MONITOR);
}

Test(monitor, promotions)
{
    cr_assert_eq(vm_event_monitor_enable(d), 0);
    cr_assert_eq(p2m_set_mem_access(d, _gfn(6), p2m_access_rx2rw), 0);
    cr_assert_eq(write_fault(0, 0x6000, 0), NPF_RETRY);
    cr_assert_eq(access_of(6), p2m_access_rw);
    cr_assert_eq(vm_event_monitor_used(d), 0, "rx2rw: no event");
    cr_assert_eq(p2m_set_mem_access(d, _gfn(7), p2m_access_n2rwx), 0);
    cr_assert_eq(hvm_hap_nested_page_fault_vcpu(d, 0, _gpa(0x7000), EPTQ_READ, _gva(0)),
                 NPF_RETRY);
    cr_assert_eq(access_of(7), p2m_access_rwx);
    struct mem_access_req q;
    cr_assert_eq(vm_event_monitor_get(d, &q), 0);
    cr_assert_eq(q.flags, 0, "async");
    cr_assert_eq(q.maflags, MEM_ACCESS_R, "no gla reported");
    cr_assert_eq(vcpu_run_state(d, 0), VCPU_RUNNABLE);
}

Test(monitor, black_eye_and_round_robin_wake)
{
    d->nr_vcpus = 3;
    cr_assert_eq(vm_event_monitor_enable(d), 0);
    for (uint64_t g = 0; g < 8; g++)
        cr_assert_eq(p2m_set_mem_access(d, _gfn(g), p2m_access_n2rwx), 0);
    /* 8 slots, 3 vCPUs: the put leaving 2 free black-eyes. */
    for (unsigned i = 0; i < 5; i++)
        cr_assert_eq(hvm_hap_nested_page_fault_vcpu(d, i % 3, _gpa(i << 12), EPTQ_READ,
                                                    _gva(0)),
                     NPF_RETRY, "put %u", i);
    cr_assert_eq(hvm_hap_nested_page_fault_vcpu(d, 2, _gpa(5 << 12), EPTQ_READ, _gva(0)),
                 NPF_PAUSED);
    cr_assert_eq(monitor_vcpu_state(d, 2), MON_BLACK_EYE);
    cr_assert_eq(hvm_hap_nested_page_fault_vcpu(d, 0, _gpa(6 << 12), EPTQ_READ, _gva(0)),
                 NPF_PAUSED);
    cr_assert_eq(monitor_vcpu_state(d, 0), MON_BLACK_EYE);
    cr_assert_eq(hvm_hap_nested_page_fault_vcpu(d, 1, _gpa(7 << 12), EPTQ_READ, _gva(0)),
                 NPF_PAUSED);
    cr_assert_eq(d->monitor.blocked, 3);
    cr_assert_eq(vm_event_monitor_used(d), 8);
    /* One response: one free slot, one vCPU woken, the first after
     * last_vcpu_wake_up (0): vCPU 1. */
    struct mem_access_req q;
    cr_assert_eq(vm_event_monitor_get(d, &q), 0);
    cr_assert_eq(vm_event_monitor_resume(d, &q), 0);
    cr_assert_eq(monitor_vcpu_state(d, 1), MON_NONE);
    cr_assert_eq(monitor_vcpu_state(d, 2), MON_BLACK_EYE);
    cr_assert_eq(monitor_vcpu_state(d, 0), MON_BLACK_EYE);
    cr_assert_eq(d->monitor.last_vcpu_wake_up, 1);
    /* The next response leaves 2 free (vCPU 1 has not used its slot yet):
     * vCPU 2 (after 1), then vCPU 0. */
    cr_assert_eq(vm_event_monitor_get(d, &q), 0);
    cr_assert_eq(vm_event_monitor_resume(d, &q), 0);
    cr_assert_eq(monitor_vcpu_state(d, 2), MON_NONE);
    cr_assert_eq(monitor_vcpu_state(d, 0), MON_NONE);
    cr_assert_eq(d->monitor.last_vcpu_wake_up, 0);
    cr_assert_eq(d->monitor.blocked, 0);
    /* Black-eye vCPU 0 again, then disable unblocks it. */
    cr_assert_eq(p2m_set_mem_access(d, _gfn(0x10), p2m_access_n2rwx), 0);
    cr_assert_eq(hvm_hap_nested_page_fault_vcpu(d, 0, _gpa(0x10000), EPTQ_READ, _gva(0)),
                 NPF_PAUSED);
    cr_assert_eq(monitor_vcpu_state(d, 0), MON_BLACK_EYE);
    /* Disable unblocks the rest. */
    cr_assert_eq(vm_event_monitor_disable(d), 0);
    cr_assert_eq(monitor_vcpu_state(d, 0), MON_NONE);
}

Test(monitor, no_black_eye_mutant)
{
    pagesim_mutants = MUT_VM_EVENT_NO_BLACK_EYE;
    d->nr_vcpus = 8;
    cr_assert_eq(vm_event_monitor_enable(d), 0);
    cr_assert_eq(p2m_set_mem_access(d, _gfn(1), p2m_access_n2rwx), 0);
    cr_assert_eq(hvm_hap_nested_page_fault_vcpu(d, 0, _gpa(0x1000), EPTQ_READ, _gva(0)),
                 NPF_RETRY);
    cr_assert_eq(monitor_vcpu_state(d, 0), MON_NONE);
    pagesim_mutants = 0;
    cr_assert_eq(p2m_set_mem_access(d, _gfn(2), p2m_access_n2rwx), 0);
    cr_assert_eq(hvm_hap_nested_page_fault_vcpu(d, 1, _gpa(0x2000), EPTQ_READ, _gva(0)),
                 NPF_PAUSED, "8 vCPUs, 6 free: black eye");
}

Test(monitor, full_ring_waits_then_puts)
{
    d->nr_vcpus = 1;
    cr_assert_eq(vm_event_monitor_enable(d), 0);
    /* One vCPU fills the ring with async events; the eighth put leaves
     * no slot free and black-eyes it. */
    for (uint64_t g = 0; g < 8; g++)
        cr_assert_eq(p2m_set_mem_access(d, _gfn(g), p2m_access_n2rwx), 0);
    for (unsigned i = 0; i < 8; i++) {
        enum npf_result r = hvm_hap_nested_page_fault_vcpu(d, 0, _gpa((uint64_t)i << 12),
                                                           EPTQ_READ, _gva(0));
        cr_assert_eq(r, i == 7 ? NPF_PAUSED : NPF_RETRY, "event %u", i);
    }
    cr_assert_eq(vm_event_monitor_used(d), 8);
    cr_assert_eq(monitor_vcpu_state(d, 0), MON_BLACK_EYE);
    /* Lift the black eye by hand (as another vCPU would find the ring):
     * a violation now finds the ring full and sleeps with its request. */
    dom_monitor_w(d)->vstate[0] = MON_NONE;
    d->monitor.blocked = 0;
    cr_assert_eq(p2m_set_mem_access(d, _gfn(9), p2m_access_r), 0);
    cr_assert_eq(write_fault(0, 0x9000, 0x9000), NPF_WAIT_SLOT);
    cr_assert_eq(monitor_vcpu_state(d, 0), MON_WAIT_SLOT);
    cr_assert_eq(vm_event_monitor_disable(d), -EBUSY);
    struct mem_access_req q;
    cr_assert_eq(vm_event_monitor_get(d, &q), 0);
    cr_assert_eq(vm_event_monitor_resume(d, &q), 0);
    cr_assert_eq(monitor_vcpu_state(d, 0), MON_NONE);
    cr_assert_eq(vcpu_run_state(d, 0), VCPU_PAUSED_MONITOR, "its sync request went in");
    cr_assert_eq(vm_event_monitor_used(d), 8);
}

/* ---- Lua errors ----------------------------------------------------------------- */

static void lua_error_case(const char *body, const char *want)
{
    char text[1024];
    snprintf(text, sizeof text,
             "local d = domain{ name = 'a', gfns = 0x40, ram = 4 }\n%s\n", body);
    struct run_opts o = { .seed = 1 };
    struct run_result r;
    lapi_run_string("m.lua", text, &o, &r);
    cr_assert_str_eq(r.status, "error", "%s: %s", body, r.message);
    cr_assert(strstr(r.message, "m.lua:2:") && strstr(r.message, want), "%s: %s", body,
              r.message);
}

Test(monitor, lua_errors)
{
    lua_error_case("d:monitor_enable{ access_requird = true }", "unknown key 'access_requird'");
    lua_error_case("d:monitor_enable{ access_required = 1 }", "boolean expected");
    lua_error_case("d:set_access_required('yes')", "boolean expected");
    lua_error_case("d:monitor_respond{ gfn = 1, vcpu = 64 }", "vcpu 64 out of range");
    lua_error_case("d:monitor_respond({ gfn = 1, vcpu = 0 }, { emulate = true })",
                   "unknown option 'emulate'");
    lua_error_case("d:monitor_respond({ gfn = 1, vcpu = 0 }, { access = 'rwxx' })",
                   "unknown access type 'rwxx'");
    lua_error_case("d:monitor_respond({ gfn = 0x1000, vcpu = 0 }, { access = 'rw' })",
                   "out of range");
}
