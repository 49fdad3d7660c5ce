-- Known finding, reference 2.4.2's accounting assumption in
-- mem_sharing.c (code reading of current upstream, not run on Xen):
-- mem_sharing_add_to_physmap() into a hole that is a paging_in gfn still
-- holding its frame (nominated, then a copy raised the populate request,
-- never evicted) frees that frame -- right -- and decrements
-- d->paged_pages, although the page was never counted (only evict()
-- counts).  The sim models upstream; the oracle states the intent: the
-- count is kept.
expect_divergence("d1.paged_pages",
                  "add_physmap counts down a page never paged out (ref 2.4.2)")

local a = domain{ name = "a", gfns = 0x100, ram = 0x40 }
local b = domain{ name = "b", gfns = 0x100, ram = 0x40 }
expect_eq(a:sharing_enable(), 0)
expect_eq(b:sharing_enable(), 0)
local sh = a:share_nominate(0x20)
local f = a:mfn(0x20)
expect_eq(b:paging_enable(), 0)
expect_eq(b:nominate(0x32), 0)
local _, rrc = b:read_phys(0x32000)
expect_eq(rrc, -11, "populate sent, retry")
expect_eq(b:type(0x32), "ram_paging_in")
local pf = b:mfn(0x32)
expect(pf ~= nil, "never evicted: the frame is still there")
expect_eq(b:paging().paged_pages, 0)
expect_eq(a:share_add_physmap(0x20, sh, b, 0x32), 0)
expect_eq(b:mfn(0x32), f)
expect_eq(m2p(pf), nil, "the paging_in frame was freed")
expect_eq(b:paging().paged_pages, -1, "upstream: counted down below zero")
expect_eq(b:get_request().gfn, 0x32, "the stale request is still on the ring")
