-- Log-dirty by PML together with a p2m access restriction: Xen's
-- ept_p2m_type_to_flags() first makes a 4 KiB ram_logdirty leaf writable
-- (PML logs the first write instead of faulting) and only then applies the
-- access type, so an access without w still write-protects the leaf.
-- Found by `pagesim fuzz` (the sim used to OR the w bit in after the
-- access restriction, leaving an 'x' page writable: '-wx' for '--x').
-- The oracle compares every leaf's permissions after each step.

local d = domain{ name = "pmlacc", gfns = 0x100, ram = 0x80, dirty_tracking = "pml" }
local pt = d:pagetable{ root = 0x10, pool = 0x11, pool_pages = 8 }
pt:map(0x400000, 0x41, "wad")
local v = d:vcpu{ cr3 = pt }

expect_eq(d:logdirty_enable(), 0)
expect_eq(d:type(0x41), "ram_logdirty")
expect_eq(d:set_access(0x41, "x"), 0)
expect_eq(d:access(0x41), "x")
-- The write is an access violation (no listener: the access goes back to
-- rwx and the write completes), never a silent PML-logged write.
local w = v:write(0x400008, 7)
expect(w.ok, "write completes once the restriction is cleared")
expect(w.nexits >= 1, "the x-only leaf faulted: " .. w.nexits .. " exits")
expect_eq(d:access(0x41), "rwx")
-- A restriction that keeps w: the leaf stays writable under PML.
expect_eq(d:set_access(0x41, "rw"), 0)
local w2 = v:write(0x400010, 9)
expect(w2.ok)
expect_eq(w2.nexits, 0, "rw under PML: logged, no exit")
