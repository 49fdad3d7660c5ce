-- Known finding, reference 2.4.3 (code reading of current upstream):
-- evict() (mem_paging.c) drops the page's allocation reference, and after
-- p2m_set_entry(gfn, INVALID_MFN, 4K, p2m_ram_paged) it counts paged_pages
-- and frees the page whatever that update returned: there is no unwinding.
-- When the update fails, the gfn is still p2m_ram_paging_out and still
-- maps the frame that was just freed (and that the next allocation hands
-- to someone else), and paged_pages counts a page that was never paged.
-- The sim models upstream; the oracle states the intent (the error, and
-- nothing changed).
--
-- Reachability: nominate() already writes a 4 KiB entry, splitting a
-- superpage (scenarios/p2m/superpages.lua shows a failed split failing the
-- nominate cleanly), so evict's update of an existing 4 KiB leaf needs no
-- EPT allocation.  Upstream's remaining failure sources of ept_set_entry()
-- -- IOMMU map/unmap with non-shared tables, altp2m propagation -- are not
-- modelled; d:fail_p2m_update(n) stands for them.
-- Patterns are fnmatch() globs over the divergence field ("?" stands for
-- the brackets around the gfn / mfn).
expect_divergence("d0.paged_pages", "paged_pages counted for a page never paged (ref 2.4.3)")
expect_divergence("m2p?0x*", "the frame is freed while still mapped (ref 2.4.3)")
expect_divergence("frame?0x*", "the frame is freed while still mapped (ref 2.4.3)")
expect_divergence("d0.tot_pages", "the frame is freed while still mapped (ref 2.4.3)")
expect_divergence("I*", "P2M names a free frame (ref 2.4.3)")

local ENOMEM = -12
local d = domain{ name = "guest", gfns = 0x100, ram = 0x20 }
expect_eq(d:paging_enable(), 0)
expect_eq(d:nominate(0x10), 0)
local frame = d:mfn(0x10)
d:fail_p2m_update(1)
expect_eq(d:evict(0x10), ENOMEM, "the P2M update failed")
local t, m = d:type(0x10), d:mfn(0x10)
log("after the failed evict: type " .. t .. ", mfn " .. hex(m))
expect_eq(d:type(0x10), "ram_paging_out", "upstream: the entry is unchanged")
expect_eq(d:mfn(0x10), frame, "... and names the frame")
expect_eq(d:paging().paged_pages, 1, "upstream: counted anyway")
expect_eq(m2p(frame), nil, "upstream: the frame was freed")
