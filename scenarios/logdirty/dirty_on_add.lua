-- Seed 001: additions to a HVM guest's P2M mark the gfn dirty
-- (p2m_add_page -> paging_mark_pfn_dirty), so a migration does not miss a
-- page that appeared (ballooned in) during a log-dirty round.  The new
-- page arrives as p2m_ram_logdirty while tracking is on.

local d = domain{ name = "add", gfns = 0x800, ram = 0x20 }
expect_eq(d:logdirty_enable(), 0)
expect_eq(#d:peek_dirty(), 0)
expect_eq(d:logdirty().allocs, 0, "the radix tree is allocated lazily")

expect_eq(d:populate(0x400, 4), 0)
local dirty = d:peek_dirty()
expect_eq(#dirty, 4)
for i, g in ipairs(dirty) do expect_eq(g, 0x400 + i - 1) end
expect_eq(d:type(0x401), "ram_logdirty")
expect_eq(d:logdirty().allocs, 4, "top, L3, L2 node and one leaf")

expect_eq(d:populate(0x400), -17, "populating RAM again is -EEXIST")

-- Without log-dirty, additions mark nothing.
local e = domain{ name = "plain", gfns = 0x100, ram = 0 }
expect_eq(e:populate(0x10), 0)
expect_eq(e:type(0x10), "ram_rw")
local none, rc = e:peek_dirty()
expect_eq(none, nil)
expect_eq(rc, -22, "peek with log-dirty off is -EINVAL")
