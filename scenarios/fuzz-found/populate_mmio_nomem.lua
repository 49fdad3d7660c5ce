-- Found by `pagesim fuzz` (seed 2, the direct-MMIO operations): populate
-- of a gfn that holds a direct-MMIO entry while the domain's allocations
-- fail.  Xen's populate_physmap() allocates the page first
-- (alloc_domheap_pages()) and only then hands it to
-- guest_physmap_add_page(), whose p2m_add_page() refuses to replace a
-- special entry: so the failed allocation answers first (-ENOMEM) and the
-- entry is never looked at; with the allocation working, the refusal is
-- -EINVAL and the page goes back to the heap.  The oracle used to expect
-- -EINVAL in both cases.
host{ frames = 64 }
local d = domain{ name = "d", gfns = 0x10, ram = 0x4 }
expect_eq(d:set_mmio(0x8, 0x100), 0)
local free = heap().free
fail_alloc{ domain = d, on = true }
expect_eq(d:populate(0x8), -12, "the allocation fails first")
fail_alloc{ domain = d, on = false }
expect_eq(d:type(0x8), "mmio_direct")
expect_eq(d:mfn(0x8), 0x100)
expect_eq(d:populate(0x8), -22, "p2m_add_page(): a special entry is not replaced")
expect_eq(d:type(0x8), "mmio_direct")
expect_eq(heap().free, free, "the page allocated for it is freed again")
-- A grant or foreign entry is refused the same way, after the allocation.
local e = domain{ name = "e", gfns = 0x10, ram = 0x4 }
expect_eq(d:add_foreign(0x9, e, 0x1), 0)
fail_alloc{ domain = d, on = true }
expect_eq(d:populate(0x9), -12)
fail_alloc{ domain = d, on = false }
expect_eq(d:populate(0x9), -22)
expect_eq(d:type(0x9), "map_foreign")
