-- p2m access types (p2m_access_t, xen/mem_access.h) set with
-- p2m_set_mem_access() (XENMEM_access_op_set_access).  The EPT permissions
-- are the type's, then restricted by the access (ept_p2m_type_to_flags();
-- the oracle compares r/w/x per gfn for every (type, access)).  An access
-- the restriction forbids is an EPT violation that hvm_hap_nested_page_fault()
-- hands to p2m_mem_access_check() before looking at the type:
--   rx2rw + write  -> promoted to rw, the fault handled on as usual;
--   n2rwx          -> becomes rwx;
--   anything else  -> with no vm_event monitor ring and access_required
--                     off (the defaults), the restriction is cleared to rwx;
-- and the vCPU re-executes the access.  Each of these is a 4 KiB
-- set_entry: a superpage is split.
local EINVAL = -22
local d = domain{ name = "acc", gfns = 0x1000, ram = 0x40 }
local pt = d:pagetable{ root = 0x10 }
for i = 0, 7 do pt:map(0x400000 + i * 0x1000, 0x30 + i, "w") end
local v = d:vcpu{ cr3 = pt }
for i = 0, 7 do expect(v:write(0x400000 + i * 0x1000, 0x100 + i).ok) end
local function va(i) return 0x400000 + i * 0x1000 end

-- Every access type is stored in the entry and read back.
for _, a in ipairs{ "n", "r", "w", "rw", "x", "rx", "wx", "rwx", "rx2rw", "n2rwx" } do
  expect_eq(d:set_access(0x38, a), 0)
  expect_eq(d:access(0x38), a)
end
expect_eq(d:set_access(0x38, "rwx"), 0)
expect_eq(d:access(0x800), "n", "nothing mapped: get_entry answers n")
expect_eq(d:set_access(0x800, "r"), 0, "accepted, but no entry to hold it")
expect_eq(d:access(0x800), "n")

-- r: reads go through untouched; a write violates, is cleared to rwx.
expect_eq(d:set_access(0x30, "r"), 0)
local r = v:read(va(0))
expect(r.ok)
expect_eq(r.nexits, 0)
local w = v:write(va(0), 0x200)
expect(w.ok)
expect_eq(w.nexits, 1, "one mem_access violation")
expect_eq(w.exits[1].gpa, 0x30000)
expect_eq(d:access(0x30), "rwx", "no listener: restriction lifted")
expect_eq(v:read(va(0)).value, 0x200)

-- n: even a read violates.
expect_eq(d:set_access(0x31, "n"), 0)
r = v:read(va(1))
expect(r.ok)
expect_eq(r.nexits, 1)
expect_eq(r.value, 0x101)
expect_eq(d:access(0x31), "rwx")

-- rx2rw: a write promotes to rw (no sync event); a fetch then violates rw.
expect_eq(d:set_access(0x32, "rx2rw"), 0)
w = v:write(va(2), 0x202)
expect(w.ok)
expect_eq(w.nexits, 1)
expect_eq(d:access(0x32), "rw", "rx2rw promoted")
local x = v:exec(va(2))
expect_eq(x.nexits, 1, "rw forbids execute")
expect_eq(d:access(0x32), "rwx")

-- n2rwx: any access makes it rwx.
expect_eq(d:set_access(0x33, "n2rwx"), 0)
expect_eq(v:read(va(3)).nexits, 1)
expect_eq(d:access(0x33), "rwx")

-- x: a read violates.
expect_eq(d:set_access(0x34, "x"), 0)
expect_eq(v:read(va(4)).nexits, 1, "x forbids read")
expect_eq(d:access(0x34), "rwx")

-- w, wx on a writable type leave w without r: per SDM 29.3.3.1 an EPT
-- misconfiguration, not a violation.  ept_p2m_type_to_flags() does not
-- prevent it and ept_handle_misconfig() has nothing to recalculate, so the
-- guest's next access crashes the domain (a consequence read from the
-- code, not run on Xen).
for i, a in ipairs{ "w", "wx" } do
  expect_eq(d:set_access(0x34 + i, a), 0)
  local c = v:read(va(4 + i))
  expect_eq(c.kind, "crash", a .. ": misconfiguration")
  expect_eq(c.exits[1].kind, "ept_misconfig")
  expect_eq(d:access(0x34 + i), a, "nothing was changed")
  expect_eq(d:set_access(0x34 + i, "rwx"), 0)
end

-- Under log-dirty: rx on a ram_logdirty page.  The write first violates
-- the access (cleared to rwx), then faults again on the type (logged,
-- made ram_rw): two exits.
expect_eq(d:logdirty_enable(), 0)
expect_eq(d:set_access(0x37, "rx"), 0)
w = v:write(va(7), 0x207)
expect(w.ok)
expect_eq(w.nexits, 2, "access violation, then the log-dirty fault")
expect_eq(d:type(0x37), "ram_rw")
-- rx2rw on a ram_logdirty page: promoted to rw, the same exit is then
-- the log-dirty fault, whose p2m_change_type_one() writes the entry with
-- the default access: rwx, not rw.
expect_eq(d:set_access(0x36, "rx2rw"), 0)
w = v:write(va(6), 0x206)
expect_eq(w.nexits, 1)
expect_eq(d:type(0x36), "ram_rw")
expect_eq(d:access(0x36), "rwx", "change_type_one uses default_access")
local dirty = d:peek_dirty(0x40)
expect_eq(#dirty, 2)
expect_eq(d:logdirty_disable(), 0)

-- A read-only type stays read-only under rwx; restricting never adds.
expect_eq(d:set_mem_type(0x35, "ram_ro"), 0)
expect_eq(d:set_access(0x35, "rw"), 0)
expect_eq(v:write(va(5), 1).kind, "discard", "ram_ro: no violation, discarded")

-- A superpage: setting the access of one part splits it.

expect_eq(d:populate{ gfn = 0x200, order = 9 }, 0)
expect_eq(d:set_access(0x210, "r"), 0)
expect_eq(d:order(0x210), 0)
expect_eq(d:access(0x211), "rwx", "the other parts keep their access")
expect_eq(d:access(0x210), "r")
