-- Seed 002, patch 10/12 ("xenpaging: handle HVMCOPY_gfn_paged_out in
-- copy_from/to_user"): a hypervisor copy to or from a paged-out gfn must
-- start the page-in and ask the caller to retry, never fail hard or crash.
-- Upstream: __hvm_copy() populates and returns HVMTRANS_gfn_paged_out
-- (reference 4.3); here -EAGAIN.
local d = domain{ name = "guest", gfns = 0x100, ram = 0x20 }
expect_eq(d:paging_enable(), 0)
expect_eq(d:write_phys(0x5008, 0xfeed), 0)
local saved = d:page_contents(5)
expect_eq(d:nominate(5), 0)
expect_eq(d:evict(5), 0)
local v, rc = d:read_phys(0x5008)
expect_eq(rc, -11, "read: retry")
expect_eq(d:write_phys(0x5008, 1), -11, "write: retry")
expect_eq(d:paging().requests, 1, "one populate request")
local r = d:get_request()
expect(r.foreign)
expect_eq(d:prep(5, saved), 0)
expect_eq(d:read_phys(0x5008), 0xfeed, "after page-in the retry succeeds")
-- Without a ring the gfn stays paged and copies keep answering retry.
expect_eq(d:nominate(6), 0)
expect_eq(d:evict(6), 0)
expect_eq(d:paging_disable(), 0)
expect_eq(d:write_phys(0x6000, 1), -11)
expect_eq(d:type(6), "ram_paged")
