-- logdirty_mode "bitmap" (the design before c/s 16393, seed 000) on its own:
-- bitmap_size = (max_gpfn + BITS_PER_LONG) & ~(BITS_PER_LONG - 1) bits, so
-- a domain of 0x1001 gfns (max gpfn 0x1000) gets 0x1040 bits; PEEK/CLEAN cut
-- sc->pages down to that (the radix tree does not); CLEAN zeroes the counts.
-- The oracle's flat dirty set must agree with both modes.
local b = domain{ name = "flat", gfns = 0x1001, ram = 0x20, logdirty_mode = "bitmap" }
local r = domain{ name = "tree", gfns = 0x1001, ram = 0x20 }
expect_eq(b:populate(0x1000), 0)
expect_eq(r:populate(0x1000), 0)
for _, d in ipairs{ b, r } do
  expect_eq(d:logdirty_enable(), 0)
  expect_eq(d:logdirty_enable(), -22, "already on")
  expect_eq(d:write_phys(0x1000000, 7), 0)   -- gfn 0x1000, the last one
  expect_eq(d:write_phys(0x3000, 7), 0)
  expect_eq(d:is_dirty(0x1000), true)
  expect_eq(d:is_dirty(0x4), false)
end
local ask = 0x1001 + 0x100
local db, sb = b:peek_dirty(ask)
local dr, sr = r:peek_dirty(ask)
expect_eq(sb.pages, 0x1040, "bitmap: cut to bitmap_size")
expect_eq(sr.pages, ask, "tree: as asked")
expect_eq(#db, 2)
expect_eq(db[2], 0x1000)
expect_eq(#dr, 2)
-- A partial CLEAN (gfns 0-7) clears only the byte it copied in the bitmap,
-- but the whole leaf (gfns 0-0x7fff) in the tree; both zero dirty_count.
expect_eq(b:clean_dirty(8)[1], 3)
local left, s2 = b:peek_dirty()
expect_eq(#left, 1, "gfn 0x1000 is still dirty in the bitmap")
expect_eq(s2.dirty_count, 0, "though the count says none")
expect_eq(r:clean_dirty(8)[1], 3)
expect_eq(#r:peek_dirty(), 0, "the tree's one leaf was cleared")
-- Removal marks clean (seed 001); here the count goes below the bits'
-- history: 0 - 1 wraps, as Xen's unsigned long would, and PEEK reports
-- min(count, UINT32_MAX).
expect_eq(b:remove(0x1000), 0)
expect_eq(b:is_dirty(0x1000), false)
local none, s3 = b:peek_dirty()
expect_eq(#none, 0)
expect_eq(s3.dirty_count, 0xffffffff, "the 32-bit stats field saturates")
expect_eq(b:logdirty_disable(), 0)
expect_eq(b:logdirty().allocs, 0)
