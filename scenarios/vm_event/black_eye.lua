-- The vm_event "black eye" and vCPUs waiting for a monitor ring slot
-- (xen/common/vm_event.c, reference 4.2).
-- vm_event_put_request(): after putting a request, a producer that is a
-- vCPU of the target domain and holds no vm_event pause is paused
-- (vm_event_mark_and_pause()) when fewer slots are free than the domain
-- has vCPUs, so that every vCPU can still claim a slot.  On the monitor
-- ring that is the async n2rwx event (sync events pause their vCPU
-- first).  A freed slot wakes the vCPUs asleep on the wait queue first
-- (vm_event_wake_queued()), else one black-eyed vCPU per free slot, round
-- robin after the last one woken (vm_event_wake_blocked()).  A vCPU that
-- finds the ring full sleeps (vm_event_wait_slot()) and puts its request
-- when woken.
local EBUSY = -16
local PAUSED = 1

-- Two vCPUs, 8 slots: a black eye once fewer than 2 slots are free.
local d = domain{ name = "be", gfns = 0x100, ram = 0x40 }
local pt = d:pagetable{ root = 0x10 }
for i = 0, 15 do pt:map(0x400000 + i * 0x1000, 0x30 + i, "w") end
local v0 = d:vcpu{ cr3 = pt }
local v1 = d:vcpu{ cr3 = pt }
local function va(i) return 0x400000 + i * 0x1000 end
for i = 0, 15 do expect(v0:write(va(i), 0x100 + i).ok) end
expect_eq(d:monitor_enable(), 0)
for i = 0, 6 do expect_eq(d:set_access(0x30 + i, "n2rwx"), 0) end

-- Six async events leave 2 free slots: v0 runs on.
for i = 0, 5 do
  local r = v0:read(va(i))
  expect(r.ok, "async event " .. i)
  expect_eq(r.value, 0x100 + i)
end
expect_eq(d:monitor().used, 6)
expect_eq(v0:state(), "runnable")
-- The seventh leaves 1 free slot (< 2 vCPUs): v0 is black-eyed on the way
-- out; its access was handled (the gfn is rwx) but it does not run on.
local r = v0:read(va(6))
expect(r.paused, "black eye")
expect_eq(v0:state(), "black_eye")
expect_eq(d:access(0x36), "rwx")
expect_eq(d:monitor().blocked, 1)
expect_eq(d:monitor().black_eyes, 1)
expect(v0:read(va(7)).paused, "a black-eyed vCPU does not run")

-- v1's sync event takes the last slot; a sync producer is vm_event-paused
-- and gets no black eye.
expect_eq(d:set_access(0x38, "r"), 0)
expect(v1:write(va(8), 1).paused)
expect_eq(v1:state(), "paused_monitor")
expect_eq(d:monitor().used, 8)
expect_eq(d:monitor().black_eyes, 1)

-- The listener reads everything, and answers v1's request first.
local reqs = {}
for i = 1, 8 do reqs[i] = d:monitor_get() end
expect_eq(reqs[7].gfn, 0x36)
expect_eq(reqs[8].vcpu, 1)
expect_eq(d:monitor_respond(reqs[8], { access = "rw" }), 0)
-- One slot free: v1 unpaused by the response, v0 woken by the free slot.
expect_eq(v1:state(), "runnable")
expect_eq(v0:state(), "runnable")
expect_eq(d:monitor().blocked, 0)
expect_eq(d:monitor().used, 7)

-- v1 takes the free slot with a sync event; v0 then finds the ring full
-- and sleeps for a slot.
expect_eq(d:set_access(0x39, "r"), 0)
expect(v1:write(va(9), 2).paused)
expect_eq(d:set_access(0x3a, "r"), 0)
local b = v0:write(va(10), 3)
expect(b.blocked, "ring full: v0 waits for a slot")
expect_eq(v0:state(), "waiting_monitor_slot")
expect_eq(d:monitor().waiting, 1)
expect(v0:read(va(0)).blocked, "a sleeping vCPU does not run")
expect_eq(d:monitor_disable(), EBUSY, "a vCPU sleeps on the ring")

-- Answering an async request frees a slot: v0 wakes and puts its request
-- (sync: it is now paused for it).
expect_eq(d:monitor_respond(reqs[1]), 0)
expect_eq(v0:state(), "paused_monitor")
expect_eq(d:monitor().waiting, 0)
expect_eq(d:monitor().used, 8)
local q9 = d:monitor_get()
expect_eq(q9.vcpu, 1)
expect_eq(q9.gfn, 0x39)
local q10 = d:monitor_get()
expect_eq(q10.vcpu, 0)
expect_eq(q10.gfn, 0x3a)
expect(q10.paused and q10.w)
expect_eq(q10.gla, va(10))

-- Drain: answer everything, both vCPUs run and complete their writes.
for i = 2, 7 do expect_eq(d:monitor_respond(reqs[i]), 0) end
expect_eq(d:monitor_respond(q9, { access = "rw" }), 0)
expect_eq(d:monitor_respond(q10, { access = "rw" }), 0)
expect_eq(d:monitor().used, 0)
expect(v0:write(va(10), 3).ok)
expect(v1:write(va(9), 2).ok)

-- Four vCPUs: the fifth async event leaves 3 free (< 4): black eye.
-- Disabling the ring unblocks a black-eyed vCPU.
local e = domain{ name = "be4", gfns = 0x100, ram = 0x40 }
local pe = e:pagetable{ root = 0x10 }
for i = 0, 7 do pe:map(0x400000 + i * 0x1000, 0x30 + i, "w") end
local w = { e:vcpu{ cr3 = pe }, e:vcpu{ cr3 = pe }, e:vcpu{ cr3 = pe }, e:vcpu{ cr3 = pe } }
expect_eq(e:monitor_enable(), 0)
for i = 0, 4 do expect_eq(e:set_access(0x30 + i, "n2rwx"), 0) end
for i = 0, 3 do expect(w[i + 1]:read(va(i)).ok) end
expect(w[1]:read(va(4)).paused, "5 used, 3 free < 4 vCPUs")
expect_eq(w[1]:state(), "black_eye")
expect_eq(e:monitor_disable(), 0)
expect_eq(w[1]:state(), "runnable")
expect(w[1]:read(va(4)).ok)
