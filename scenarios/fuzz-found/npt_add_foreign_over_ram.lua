-- Found by `pagesim fuzz` (seed 1, program 374): p2m_add_foreign() at a
-- gfn that holds the NPT domain's own RAM page.  Xen gives that page back
-- first (guest_remove_page()) and only then writes the foreign entry,
-- which p2m_pt_set_entry() refuses on NPT (foreign types are EPT-only
-- there): -EINVAL, with the RAM page already gone and the gfn empty.  The
-- oracle used to refuse before the removal and expected the page still
-- mapped.
host{ frames = 128 }
local d = domain{ name = "d", gfns = 0x40, ram = 0x20, hap = "npt" }
local e = domain{ name = "e", gfns = 0x40, ram = 0x20 }
expect_eq(d:populate(0x30), 0)
expect_eq(d:type(0x30), "ram_rw")
local free = heap().free
expect_eq(d:add_foreign(0x30, e, 0x1), -22, "p2m_pt_set_entry(): no foreign entries on NPT")
expect_eq(d:type(0x30), "mmio_dm", "the RAM page was given back before the refusal")
expect_eq(heap().free, free + 1, "guest_remove_page() freed it")
-- An empty gfn: refused, nothing changes.
expect_eq(d:add_foreign(0x31, e, 0x1), -22)
expect_eq(d:type(0x31), "mmio_dm")
