-- mem_access without a listener (p2m_mem_access_check(), no monitor ring):
-- with p2m->access_required (XEN_DOMCTL_set_access_required) a violation
-- crashes the domain ("Memory access permissions failure, no vm_event
-- listener"); without it the gfn's access is reset to rwx and the vCPU
-- re-executes.  n2rwx is promoted to rwx before the listener check, so it
-- too crashes a domain that requires a listener.  rx2rw on a write is
-- promoted and returns before the check: never a crash.
local d = domain{ name = "req", gfns = 0x100, ram = 0x40 }
local pt = d:pagetable{ root = 0x10 }
for i = 0, 7 do pt:map(0x400000 + i * 0x1000, 0x30 + i, "w") end
local v = d:vcpu{ cr3 = pt }
local function va(i) return 0x400000 + i * 0x1000 end
for i = 0, 7 do expect(v:write(va(i), 0x100 + i).ok) end

-- Not required: cleared to rwx, the write goes through.
expect_eq(d:set_access(0x30, "r"), 0)
local w = v:write(va(0), 0x200)
expect(w.ok)
expect_eq(w.nexits, 1)
expect_eq(d:access(0x30), "rwx")
expect_eq(d:monitor().access_required, false)

-- Required, no listener: domain_crash().
d:set_access_required(true)
expect_eq(d:monitor().access_required, true)
expect_eq(d:set_access(0x31, "r"), 0)
local c = v:write(va(1), 0x201)
expect_eq(c.kind, "crash")
expect_eq(c.nexits, 1)
expect_eq(d:access(0x31), "r", "nothing cleared")
expect_eq(d:monitor().crashes, 1)
expect_eq(v:read(va(1)).value, 0x101, "the write never happened")

-- n2rwx: promoted first, then the crash.
expect_eq(d:set_access(0x32, "n2rwx"), 0)
expect_eq(v:read(va(2)).kind, "crash")
expect_eq(d:access(0x32), "rwx")
expect_eq(d:monitor().crashes, 2)

-- rx2rw on a write: promoted, no listener check.
expect_eq(d:set_access(0x33, "rx2rw"), 0)
expect(v:write(va(3), 0x203).ok)
expect_eq(d:access(0x33), "rw")

-- With a listener the requirement is met: a sync event, no crash.
expect_eq(d:monitor_enable{ access_required = true }, 0)
expect(v:write(va(1), 0x201).paused)
local q = d:monitor_get()
expect_eq(q.gfn, 0x31)
expect_eq(d:monitor_respond(q, { access = "rw" }), 0)
expect(v:write(va(1), 0x201).ok)

-- The listener goes away: required again crashes; not required resets.
expect_eq(d:monitor_disable(), 0)
expect_eq(d:set_access(0x34, "rx"), 0)
expect_eq(v:write(va(4), 0x204).kind, "crash")
d:set_access_required(false)
expect(v:write(va(4), 0x204).ok)
expect_eq(d:access(0x34), "rwx")
