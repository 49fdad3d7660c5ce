-- Balloon driver traffic: XENMEM_increase_reservation / populate_physmap
-- (guest_populate_page -> p2m_add_page) and XENMEM_decrease_reservation
-- (guest_remove_page -> p2m_remove_entry), with log-dirty on and with
-- paged-out gfns around (seed 002 patch 08/12's path through
-- guest_remove_page; seed 001's dirty/clean marks).
local ENOENT, EEXIST = -2, -17
local d = domain{ name = "guest", gfns = 0x200, ram = 0x40 }
local before = 0
for g = 0, 0x3f do if d:mfn(g) then before = before + 1 end end
expect_eq(before, 0x40)

-- Balloon out 16 pages, in again at other gfns.
for g = 0x20, 0x2f do expect_eq(d:remove(g), 0) end
for g = 0x20, 0x2f do expect_eq(d:mfn(g), nil) end
expect_eq(d:remove(0x20), ENOENT, "already ballooned out")
expect_eq(d:populate(0x100, 16), 0)
for g = 0x100, 0x10f do expect_eq(m2p(d:mfn(g)), g) end
expect_eq(d:populate(0x100), EEXIST, "already populated")

-- Under log-dirty: additions dirty, removals clean (seed 001).
expect_eq(d:logdirty_enable(), 0)
expect_eq(d:populate(0x20), 0)
expect_eq(d:type(0x20), "ram_logdirty")
expect_eq(d:remove(0x100), 0)
local dirty = d:peek_dirty(0x200)
expect_eq(#dirty, 1, "only the new page is dirty")
expect_eq(dirty[1], 0x20)
expect_eq(d:logdirty_disable(), 0)

-- A paged-out gfn is RAM: populate refuses it; removal of a nominated
-- (paging_out) gfn works like RAM and sends nothing to the pager.
expect_eq(d:paging_enable(), 0)
expect_eq(d:nominate(0x30), 0)
expect_eq(d:remove(0x30), 0)
expect_eq(d:type(0x30), "mmio_dm")
expect_eq(d:paging().requests, 0)
expect_eq(d:nominate(0x31), 0)
expect_eq(d:evict(0x31), 0)
expect_eq(d:populate(0x31), EEXIST, "a paged gfn still holds RAM")
