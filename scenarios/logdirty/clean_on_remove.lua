-- Seed 001 (Xen 98fccdf0ac "update log-dirty bitmap when manipulating
-- P2M"): a page removed from the P2M is no longer dirty at its old gfn;
-- p2m_remove_page() calls paging_mark_pfn_clean(), which never allocates
-- radix-tree nodes.

local d = domain{ name = "rm", gfns = 0x10000, ram = 0x40 }
local pt = d:pagetable{ root = 0x10 }
pt:map(0x600000, 0x30, "w")
local v = d:vcpu{ cr3 = pt }
expect(v:read(0x600000).ok)

expect_eq(d:logdirty_enable(), 0)
expect(v:write(0x600000, 0xdead).ok)
expect_eq(d:logdirty().dirty_count, 2, "data page + PT page")

expect_eq(d:remove(0x30), 0)
local dirty = d:peek_dirty()
for _, g in ipairs(dirty) do
  expect(g ~= 0x30, "a removed gfn is not reported dirty")
end
expect_eq(d:logdirty().dirty_count, 1, "the clean mark decremented dirty_count")

-- A clean mark on a gfn whose radix-tree leaf does not exist allocates
-- nothing (gfn 0x9000 lives in another L2 slot).
local before = d:logdirty().allocs
expect_eq(d:populate(0x9000), 0)     -- dirty on add: allocates a leaf
expect_eq(d:logdirty().allocs, before + 1)
expect_eq(d:remove(0x9000), 0)
expect_eq(d:logdirty().allocs, before + 1, "clean marks never free or allocate")
expect_eq(d:remove(0x9000), -2, "removing a hole is -ENOENT")
