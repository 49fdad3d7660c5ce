-- The mem_access listener: the vm_event monitor ring (issue 3).
-- An access the gfn's p2m_access_t forbids reaches p2m_mem_access_check()
-- from hvm_hap_nested_page_fault().  With a listener (monitor ring
-- enabled) it is a sync event: a VM_EVENT_REASON_MEM_ACCESS request naming
-- the gfn, offset, gla and r/w/x of the access goes on the ring and
-- monitor_traps() pauses the vCPU (VM_EVENT_FLAG_VCPU_PAUSED) until the
-- listener's response carrying that flag; the access restriction stays as
-- it is unless the listener changes it.  n2rwx becomes rwx and sends an
-- async event (no pause); rx2rw written becomes rw and sends nothing.
-- A ring slot is held from the put until Xen consumes the response.
local EBUSY, EINVAL, ENODEV, ENOENT = -16, -22, -19, -2
local PAUSED = 1 -- VM_EVENT_FLAG_VCPU_PAUSED

local d = domain{ name = "ma", gfns = 0x1000, ram = 0x40 }
local pt = d:pagetable{ root = 0x10 }
for i = 0, 15 do pt:map(0x400000 + i * 0x1000, 0x30 + i, "w") end
local v = d:vcpu{ cr3 = pt }
local function va(i) return 0x400000 + i * 0x1000 end
for i = 0, 15 do expect(v:write(va(i), 0x100 + i).ok) end

-- No ring yet.
local none, rc = d:monitor_get()
expect_eq(none, nil)
expect_eq(rc, ENODEV)
expect_eq(d:monitor_disable(), EINVAL, "no ring to disable")
expect_eq(d:monitor_enable(), 0)
expect_eq(d:monitor_enable(), EBUSY, "ring already there")
expect_eq(d:monitor().ring_size, 8, "__CONST_RING_SIZE(vm_event, 4096)")
none, rc = d:monitor_get()
expect_eq(rc, ENOENT, "ring empty")

-- A sync event: r forbids the write.
expect_eq(d:set_access(0x30, "r"), 0)
expect(v:read(va(0)).ok, "reads are allowed: no event")
local w = v:write(va(0) + 0x18, 0x200)
expect(w.paused, "the vCPU is paused for the listener")
expect_eq(w.nexits, 1)
expect_eq(v:state(), "paused_monitor")
expect_eq(d:access(0x30), "r", "the restriction stays: the listener decides")
expect(v:read(va(1)).paused, "a paused vCPU does not run")
local q = d:monitor_get()
expect_eq(q.gfn, 0x30)
expect_eq(q.offset, 0x18)
expect(q.w and not q.r and not q.x, "the violating access: a write")
expect(q.gla_valid and q.fault_with_gla and not q.fault_in_gpt)
expect_eq(q.gla, va(0) + 0x18)
expect_eq(q.access, "r")
expect(q.paused)
expect_eq(q.vcpu, 0)
expect_eq(d:monitor().requests, 0)
expect_eq(d:monitor().used, 1, "read but unanswered: the slot is still in use")
-- The listener lifts the restriction to rw and answers: the vCPU runs and
-- its write goes through.
expect_eq(d:monitor_respond(q, { access = "rw" }), 0)
expect_eq(d:access(0x30), "rw")
expect_eq(v:state(), "runnable")
expect_eq(d:monitor().used, 0)
expect_eq(d:monitor_respond(q), EINVAL, "no request read and unanswered")
w = v:write(va(0), 0x201)
expect(w.ok)
expect_eq(w.nexits, 0)

-- An execute violation of rw: x in the request.
local x = v:exec(va(0))
expect(x.paused)
q = d:monitor_get()
expect(q.x and not q.w)
expect_eq(q.access, "rw")
expect_eq(d:monitor_respond(q, { access = "rwx" }), 0)
expect(v:exec(va(0)).ok)

-- Answering without the access change: the vCPU re-executes, faults again
-- and sends a new request.
expect_eq(d:set_access(0x31, "n"), 0)
expect(v:read(va(1)).paused)
q = d:monitor_get()
expect(q.r)
expect_eq(q.access, "n")
expect_eq(d:monitor_respond(q), 0)
expect(v:read(va(1)).paused, "still n: a second event")
q = d:monitor_get()
expect_eq(d:monitor_respond(q, { access = "r" }), 0)
expect_eq(v:read(va(1)).value, 0x101)

-- rx2rw written: promoted to rw, no event, no pause.
expect_eq(d:set_access(0x32, "rx2rw"), 0)
w = v:write(va(2), 0x202)
expect(w.ok)
expect_eq(d:access(0x32), "rw")
expect_eq(d:monitor().used, 0, "rx2rw sends nothing")

-- n2rwx: promoted to rwx, an async event (no VCPU_PAUSED), the access
-- completes.
expect_eq(d:set_access(0x33, "n2rwx"), 0)
local r = v:read(va(3))
expect(r.ok)
expect_eq(r.value, 0x103)
expect_eq(d:access(0x33), "rwx")
q = d:monitor_get()
expect_eq(q.gfn, 0x33)
expect_eq(q.access, "n2rwx")
expect(not q.paused, "async: the vCPU was not paused")
expect_eq(d:monitor_respond(q), 0)
expect_eq(v:state(), "runnable")

-- A fault inside the guest's own page walk: the root table's gfn is
-- restricted, the request says so (MEM_ACCESS_FAULT_IN_GPT).
expect_eq(d:set_access(0x10, "n"), 0)
r = v:read(va(4))
expect(r.paused)
q = d:monitor_get()
expect_eq(q.gfn, 0x10)
expect(q.fault_in_gpt and not q.fault_with_gla)
expect_eq(d:monitor_respond(q, { access = "rwx" }), 0)
expect_eq(v:read(va(4)).value, 0x104)

-- A response without VM_EVENT_FLAG_VCPU_PAUSED frees the slot but leaves
-- the vCPU paused (vm_event_resume() unpauses only with the flag).
local d2 = domain{ name = "noflag", gfns = 0x100, ram = 0x40 }
local pt2 = d2:pagetable{ root = 0x10 }
pt2:map(0x400000, 0x30, "w")
pt2:map(0x401000, 0x31, "w")
local a0 = d2:vcpu{ cr3 = pt2 }
local a1 = d2:vcpu{ cr3 = pt2 }
expect_eq(d2:monitor_enable(), 0)
expect_eq(d2:set_access(0x30, "r"), 0)
expect(a0:write(0x400000, 1).paused)
q = d2:monitor_get()
expect_eq(d2:monitor_respond{ gfn = q.gfn, vcpu = q.vcpu, flags = 0 }, 0)
expect_eq(d2:monitor().used, 0)
expect_eq(a0:state(), "paused_monitor", "no VCPU_PAUSED: still paused")
-- vCPU 1's event, answered naming vCPU 0 with the flag: vCPU 0 runs,
-- vCPU 1 stays paused (the response names the vCPU, not the request).
expect_eq(d2:set_access(0x31, "r"), 0)
expect(a1:write(0x401000, 2).paused)
q = d2:monitor_get()
expect_eq(q.vcpu, 1)
expect_eq(d2:monitor_respond{ gfn = q.gfn, vcpu = 0, flags = PAUSED }, 0)
expect_eq(a0:state(), "runnable")
expect_eq(a1:state(), "paused_monitor")
-- Disabling the ring does not unpause it (its pause is the vCPU's
-- vm_event pause count, not the ring's).
expect_eq(d2:monitor_disable(), 0)
expect_eq(a1:state(), "paused_monitor")
expect(a1:read(0x401000).paused)
