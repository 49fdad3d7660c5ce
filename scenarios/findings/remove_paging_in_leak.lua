-- Known finding, reference 2.4.2 (code reading of current upstream): a
-- gfn that was nominated and then touched (paging_in, frame still there,
-- never evicted) and is then ballooned out: guest_remove_page() removes
-- the P2M entry but never drops the page's allocation reference, so the
-- frame stays allocated to the domain until teardown, and
-- p2m_mem_paging_drop_page() decrements paged_pages for a page that was
-- never counted.  The oracle states the intent: frame freed, count kept.
expect_divergence("d0.tot_pages", "frame leaked on removal (ref 2.4.2)")
expect_divergence("d0.paged_pages", "paged_pages decremented for a page never counted (ref 2.4.2)")

local d = domain{ name = "guest", gfns = 0x100, ram = 0x20 }
expect_eq(d:paging_enable(), 0)
expect_eq(d:nominate(0x10), 0)
expect_eq(d:write_phys(0x10000, 1), -11, "populate: paging_in, frame kept")
local m = d:mfn(0x10)
expect(m ~= nil)
expect_eq(d:remove(0x10), 0)
expect_eq(d:type(0x10), "mmio_dm")
expect_eq(m2p(m), nil)
expect_eq(d:paging().paged_pages, -1, "upstream: atomic_dec below zero")
local r1 = d:get_request()
local r2 = d:get_request()
expect(r2 and r2.drop, "the pager is told")
