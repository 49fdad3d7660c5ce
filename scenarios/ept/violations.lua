-- EPT violations and their exit qualification (SDM Vol. 3C Table 28-7).
-- A gfn with no RAM behind it reads as p2m_mmio_dm (Xen's ept_get_entry
-- default), so the violation goes to the device model: an MMIO exit.

local d = domain{ name = "ept", gfns = 0x400, ram = 0x40 }
local pt = d:pagetable{ root = 0x10 }
pt:map(0x10000, 0x30, "w")       -- RAM
pt:map(0x11000, 0x300, "w")      -- a hole: gfn 0x300 was never populated
local v = d:vcpu{ cr3 = pt }

expect_eq(d:type(0x300), "mmio_dm")
local r = v:read(0x11010)
expect(r.mmio, "access to a hole goes to the device model")
expect_eq(r.gpa, 0x300010)
expect_eq(r.nexits, 1)
local q = r.exits[1].qual
expect_eq(q, EPTQ.R | EPTQ.GLA_VALID | EPTQ.GLA_XLATE,
          "read of the final gpa, nothing permitted, linear address valid")
expect_eq(r.exits[1].gla, 0x11010)

-- Xen then emulates the access (handle_mmio), and its emulator walks the
-- guest tables again (guest_walk_tables) and sets A as a completed access
-- would: the guest sees A at every level, and no D yet.
expect(pt:entry(0x11000, 1) & PTE.A ~= 0, "A set by the emulator's walk")
expect(pt:entry(0x11000, 4) & PTE.A ~= 0, "A in the PML4E too")
expect_eq(pt:entry(0x11000, 1) & PTE.D, 0, "a read sets no D")

local w = v:write(0x11010, 1)
expect_eq(w.exits[1].qual, EPTQ.W | EPTQ.GLA_VALID | EPTQ.GLA_XLATE)
expect(pt:entry(0x11000, 1) & PTE.D ~= 0, "the emulated write sets D")
-- With log-dirty on, the emulator logs the page-table page it changed
-- (paging_mark_dirty() of the PTE's frame), though no EPT exit did.
pt:set_entry(0x11000, 1, pt:entry(0x11000, 1) & ~PTE.D)
expect_eq(d:logdirty_enable(), 0)
v:write(0x11010, 2)
local ptgfn = pt:entry(0x11000, 2) >> 12
local dirty = d:peek_dirty()
expect(#dirty == 1 and dirty[1] == ptgfn, "the PT page is logged dirty by the emulator")
expect_eq(d:logdirty_disable(), 0)

-- Turning RAM into mmio_dm removes the page: accesses now exit.
expect(v:read(0x10000).ok)
expect_eq(d:set_type(0x30, "mmio_dm"), 0)
expect_eq(d:mfn(0x30), nil)
expect(v:read(0x10000).mmio)

-- A guest page table in a hole: the walk's own reference exits, with bit 8
-- clear (a paging-structure access, not the final translation).
pt:map(0x20000, 0x31, "w")       -- allocates a new PT page from the pool
local ptpage = pt:entry(0x20000, 2) >> 12
expect_eq(d:remove(ptpage), 0, "remove the PT page's RAM")
local x = v:read(0x20000)
expect(x.mmio)
expect_eq(x.exits[1].qual & EPTQ.GLA_XLATE, 0, "bit 8 = 0: walk access")
expect_eq(x.exits[1].qual & EPTQ.R, EPTQ.R, "paging-structure reads are reads")
expect_eq(x.gpa >> 12, ptpage)
