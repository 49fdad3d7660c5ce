-- Why the radix tree exists (seed 000, c/s 16393, 2007): before it,
-- log-dirty kept one flat bitmap of max_gpfn+1 bits, allocated at enable
-- with xmalloc_array(), i.e. one higher-order allocation of contiguous
-- pages.  On a fragmented heap that allocation fails and log-dirty (live
-- migration) cannot start, while the radix tree only ever asks for single
-- pages, lazily, and starts fine.
local ENOMEM = -12
host{ frames = 0x4000 }
-- A 4 GiB guest: the flat bitmap is 2^20 bits = 128 KiB = 32 pages, order 5.
local r = domain{ name = "radix", gfns = 0x100000, ram = 0x40 }
local b = domain{ name = "bitmap", gfns = 0x100000, ram = 0x40,
                  logdirty_mode = "bitmap" }
expect_eq(b:logdirty().mode, "bitmap")
expect(heap().max_order >= 5, "a fresh heap has large free blocks")

-- Unfragmented: the bitmap mode works and logs like the tree.
expect_eq(b:logdirty_enable(), 0)
expect_eq(b:logdirty().bitmap_pages, 32, "one order-5 block")
expect_eq(b:write_phys(0x5000, 1), 0)
expect_eq(b:write_phys(0x3f000, 2), 0)
local dirty, st = b:peek_dirty()
expect_eq(#dirty, 2)
expect_eq(dirty[1], 5)
expect_eq(dirty[2], 0x3f)
expect_eq(st.dirty_count, 2)
expect_eq(#b:clean_dirty(), 2)
expect_eq(#b:peek_dirty(), 0, "CLEAN cleared the bitmap")
expect_eq(b:logdirty_disable(), 0)
expect_eq(b:logdirty().bitmap_pages, 0, "the block went back to the heap")

-- Break the heap: only every other frame stays free.
local h = fragment_heap{ every = 2 }
expect_eq(h.max_order, 0, "no two adjacent free frames")
expect(h.free > 0x1000, "plenty of free memory, all in single frames")

-- The flat bitmap cannot be had: enable fails, log-dirty stays off.
expect_eq(b:logdirty_enable(), ENOMEM)
expect_eq(b:logdirty().enabled, false)
expect(heap().order_failures >= 1)
local _, rc = b:peek_dirty()
expect_eq(rc, -22, "PEEK on a domain not in log-dirty mode")

-- The radix tree needs single pages only: enable and marking work.
expect_eq(r:logdirty_enable(), 0)
expect_eq(r:write_phys(0x5000, 1), 0)
expect_eq(r:write_phys(0x3e000, 2), 0)    -- gfn 0x3e: same leaf
expect_eq(r:write_phys(0x3f000, 3), 0)
dirty = r:peek_dirty()
expect_eq(#dirty, 3)
expect_eq(r:logdirty().allocs, 4, "top, L3, L2 node and one leaf: four single pages")
expect_eq(r:logdirty_disable(), 0)
