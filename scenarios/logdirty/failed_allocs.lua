-- Allocation failures while logging dirty pages (xen-paging.md 3.3): when
-- paging_new_log_dirty_page() cannot get a page, failed_allocs counts it
-- and the dirty mark is silently dropped; from then on every PEEK/CLEAN
-- fails with -ENOMEM until log-dirty is disabled (which frees the tree and
-- resets failed_allocs) and enabled again.  Failures are injected with
-- fail_alloc{}; the oracle is told which mark each one cost.
local ENOMEM = -12
local d = domain{ name = "guest", gfns = 0x10000, ram = 0x20 }
-- The EPT tables for gfn 0x8000 exist before log-dirty starts, so that a
-- later populate there allocates exactly: the frame, then one leaf.
expect_eq(d:populate(0x8000), 0)
expect_eq(d:remove(0x8000), 0)
expect_eq(d:logdirty_enable(), 0)
expect_eq(d:write_phys(0x1000, 1), 0)       -- builds the first tree path
expect_eq(d:logdirty().failed_allocs, 0)
local dirty = d:peek_dirty(0x40)
expect_eq(#dirty, 1)

-- gfn 0x8000 is the first pfn of the second leaf (32768 pfns per leaf).
fail_alloc{ nth = 1 }
expect_eq(d:populate(0x8000), ENOMEM, "the frame itself cannot be had")
fail_alloc{ nth = 2 }                        -- frame ok, then the leaf fails
expect_eq(d:populate(0x8000), 0)
expect_eq(d:logdirty().failed_allocs, 1, "counted")
local _, rc = d:peek_dirty()
expect_eq(rc, ENOMEM, "PEEK fails after a dropped mark")
local _, rc2 = d:clean_dirty()
expect_eq(rc2, ENOMEM, "so does CLEAN")

-- Marks that need no allocation still work; the log stays unusable.
expect_eq(d:write_phys(0x2000, 2), 0)
expect_eq(select(2, d:peek_dirty()), ENOMEM)

-- The way out: disable (frees the tree, resets failed_allocs), enable.
expect_eq(d:logdirty_disable(), 0)
expect_eq(d:logdirty().failed_allocs, 0)
expect_eq(d:logdirty_enable(), 0)
expect_eq(#d:peek_dirty(), 0)

-- Every allocation of the domain failing: writes still complete (the
-- log-dirty fault makes the page writable), the marks are lost.
fail_alloc{ domain = d, on = true }
local pt_ok = d:write_phys(0x3000, 3)
expect_eq(pt_ok, 0)
expect(d:logdirty().failed_allocs > 0)
fail_alloc{ domain = d, on = false }
expect_eq(select(2, d:clean_dirty()), ENOMEM)
expect_eq(d:logdirty_disable(), 0)
expect_eq(d:logdirty_enable(), 0)
expect_eq(d:write_phys(0x3000, 3), 0)
expect_eq(d:peek_dirty(0x10)[1], 3)
