-- hw-replay: mem paging under userfaultfd (issue 5).  Paged-out gfns are
-- dropped pages under userfaultfd on KVM; the order of the faults must be
-- the order of the model's populate requests (p2m_mem_paging_populate()):
-- a CPL3 read whose leaf page table AND data page are paged out (two
-- pauses, two requests: table first), a CPL3 write to a paged-out page, and
-- a CPL0 read of a nominated (paging_out) page that is touched before evict.
local d = domain{ name = "uffd", gfns = 0x100, ram = 0x80 }
local pt = d:pagetable{ root = 0x10 }
pt:map(0x400000, 0x30, "wu")
pt:map(0x401000, 0x31, "wu")
pt:map(0x402000, 0x32, "wu")
local v = d:vcpu{ cr3 = pt, cpl = 3, wp = true, nxe = true }
expect(v:write(0x400008, 0x1111111111111111).ok)
expect(v:write(0x401010, 0x2222, 2).ok)
expect(v:write(0x402000, 0x33).ok)
expect_eq(d:paging_enable(), 0)

-- the leaf table of 0x400000 (gfn from the PDE) and the data page
local ptg = (pt:entry(0x400000, 2) >> 12) & 0xfffffffff
local function page_out(g)
    local c = d:page_contents(g)
    expect_eq(d:nominate(g), 0)
    expect_eq(d:evict(g), 0)
    return c
end
local saved_pt = page_out(ptg)
local saved_30 = page_out(0x30)

-- CPL3 read: pauses on the table, then on the data page
expect_eq(v:read(0x400008).kind, "paused")
local r1 = d:get_request()
expect_eq(r1.gfn, ptg, "the walk needs the leaf table first")
expect_eq(d:prep(ptg, saved_pt), 0)
expect_eq(d:resume(r1), 0)
expect_eq(v:read(0x400008).kind, "paused")
local r2 = d:get_request()
expect_eq(r2.gfn, 0x30)
expect_eq(d:prep(0x30, saved_30), 0)
expect_eq(d:resume(r2), 0)
expect_eq(v:read(0x400008).value, 0x1111111111111111, "paged back in")

-- CPL3 write to a paged-out page
local saved_31 = page_out(0x31)
expect_eq(v:write(0x401018, 0x4444).kind, "paused")
local r3 = d:get_request()
expect_eq(d:prep(0x31, saved_31), 0)
expect_eq(d:resume(r3), 0)
expect(v:write(0x401018, 0x4444).ok)
expect_eq(v:read(0x401010, 2).value, 0x2222, "the rest of the page came back")

-- CPL0 read of a nominated page touched before evict (EVICT_FAIL)
v:set{ cpl = 0 }
expect_eq(d:nominate(0x32), 0)
expect_eq(v:read(0x402000).kind, "paused")
local r4 = d:get_request()
expect(r4.evict_fail)
expect_eq(d:prep(0x32), 0)
expect_eq(d:resume(r4), 0)
expect_eq(v:read(0x402000).value, 0x33)
