-- PML log-dirty over a superpage the hypervisor mapped (d:populate with
-- order 9).  ept_p2m_type_to_flags() leaves a 4 KiB ram_logdirty leaf
-- writable under PML (its D flag reports the write) but write-protects a
-- superpage, so the first guest write into it is an EPT violation:
-- hvm_hap_nested_page_fault() marks the gfn dirty and changes its type
-- to ram_rw with a 4 KiB p2m_set_entry(), which splits the superpage
-- (ept_split_super_page(): 512 writable ram_logdirty 4 KiB leaves, the
-- written one then ram_rw); the vCPU re-executes the write, which walks
-- the new table, sets its A/D flags and logs the gpa.  The oracle follows
-- the re-executed walk through the split tables it predicts, and checks
-- the A/D flags of every entry the walk used, in the new tables too.

local d = domain{ name = "pmlsp", gfns = 0x1000, ram = 0x80, dirty_tracking = "pml" }
expect_eq(d:populate{ gfn = 0x200, order = 9 }, 0)
local pt = d:pagetable{ root = 0x10 }
pt:map(0x200000, 0x2ab, "w")
pt:map(0x201000, 0x2ac, "w")
pt:map(0x202000, 0x20, "w")          -- a 4 KiB page outside it
local v = d:vcpu{ cr3 = pt }
expect_eq(d:ept_get_raw(0x200000, 2) & EPTE.PS, EPTE.PS, "a 2 MiB leaf")

expect_eq(d:logdirty_enable(), 0)
expect_eq(d:type(0x2ab), "ram_logdirty")
expect_eq(d:ept_get_raw(0x200000, 2) & EPTE.W, 0, "the superpage is write-protected")

-- The first write: one exit, the split, the re-executed write.
local w = v:write(0x200000, 0x11)
expect(w.ok)
expect_eq(#w.exits, 1)
expect_eq(w.exits[1].kind, "ept_violation")
expect_eq(w.exits[1].gpa, 0x2ab000)
expect_eq(d:ept_get_raw(0x200000, 2) & EPTE.PS, 0, "split: a table now")
expect_eq(d:ept_get_raw(0x200000, 2) & EPTE.A, EPTE.A, "the walk through it set A")
expect_eq(d:type(0x2ab), "ram_rw")
expect_eq(d:ept_get_raw(0x2ab000, 1) & (EPTE.A | EPTE.D), EPTE.A | EPTE.D)
-- The other 511 stayed ram_logdirty, now 4 KiB leaves: writable under PML.
expect_eq(d:type(0x2ac), "ram_logdirty")
expect_eq(d:ept_get_raw(0x2ac000, 1) & EPTE.W, EPTE.W)

-- The second write into the old superpage: no exit, logged by PML.
local w2 = v:write(0x201000, 0x22)
expect(w2.ok)
expect_eq(#w2.exits, 0)
-- And a 4 KiB page outside it, the same way.
expect_eq(#v:write(0x202000, 0x33).exits, 0)

local dirty = {}
for _, g in ipairs(d:peek_dirty()) do dirty[g] = true end
expect(dirty[0x2ab], "the fault marked 0x2ab")
expect(dirty[0x2ac], "the log flushed at PEEK holds 0x2ac")
expect(dirty[0x20], "and 0x20")
expect_eq(d:type(0x2ac), "ram_rw", "the flush retyped what it marked")
expect_eq(v:read(0x201000).value, 0x22)
