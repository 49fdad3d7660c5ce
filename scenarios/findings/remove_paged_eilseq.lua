-- Known finding, reference 2.4.1 (code reading of current upstream):
-- guest_remove_page() of a paged-out gfn reaches p2m_remove_entry(), which
-- refuses a RAM entry without a valid frame with -EILSEQ, so
-- p2m_mem_paging_drop_page() is never reached: the gfn stays paged, the
-- pager is never told, paged_pages stays up.  The sim models upstream; the
-- oracle states the intent (removed, drop notice, paged_pages - 1).
-- Patterns are fnmatch() globs over the divergence field ("[" opens a
-- character class, hence "?" around the gfn).
expect_divergence("remove.rc", "remove of a paged gfn fails with -EILSEQ (ref 2.4.1)")
expect_divergence("d0.p2m?0x10?.*", "paged gfn stays mapped after remove (ref 2.4.1)")
expect_divergence("d0.paged_pages", "paged_pages not decremented (ref 2.4.1)")
expect_divergence("d0.ring.*", "the pager gets no drop notice (ref 2.4.1)")

local d = domain{ name = "guest", gfns = 0x100, ram = 0x20 }
expect_eq(d:paging_enable(), 0)
expect_eq(d:nominate(0x10), 0)
expect_eq(d:evict(0x10), 0)
local rc = d:remove(0x10)
log("remove of a paged gfn: " .. rc)
expect_eq(rc, -84, "upstream: -EILSEQ")
