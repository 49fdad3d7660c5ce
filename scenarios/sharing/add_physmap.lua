-- XENMEM_sharing_op_add_physmap (mem_sharing_add_to_physmap()): a hole of
-- the client domain maps a shared frame as one more sharer, without a
-- page of its own.  A hole is what p2m_is_hole() says: nothing mapped,
-- or a gfn paged out / being paged in; plugging a paged-out gfn takes it
-- out of paged_pages (a paging_in gfn that still holds its frame:
-- scenarios/findings/share_add_physmap_count.lua).
local a = domain{ name = "a", gfns = 0x100, ram = 0x40 }
local b = domain{ name = "b", gfns = 0x100, ram = 0x40 }
expect_eq(a:sharing_enable(), 0)
expect_eq(b:sharing_enable(), 0)
expect_eq(a:write_phys(0x20000, 0xabcd), 0)
local sh = a:share_nominate(0x20)
local f = a:mfn(0x20)

-- Into an empty gfn.
expect_eq(a:share_add_physmap(0x20, sh, b, 0x90), 0)
expect_eq(b:type(0x90), "ram_shared")
expect_eq(b:read_phys(0x90000), 0xabcd)
expect_eq(shared_frame(f).sharers, 2)
expect_eq(b:sharing().shr_pages, 1)

-- Into a paged-out gfn: paged_pages goes down.
expect_eq(b:paging_enable(), 0)
expect_eq(b:nominate(0x30), 0)
expect_eq(b:evict(0x30), 0)
expect_eq(b:paging().paged_pages, 1)
expect_eq(a:share_add_physmap(0x20, sh, b, 0x30), 0)
expect_eq(b:type(0x30), "ram_shared")
expect_eq(b:paging().paged_pages, 0)
expect_eq(shared_frame(f).sharers, 3)

-- A gfn being paged out (it still has its frame) is no hole.
expect_eq(b:nominate(0x31), 0)
expect_eq(a:share_add_physmap(0x20, sh, b, 0x31), -9, "C_HANDLE_INVALID")

-- Sharing a domain's own frame at another of its gfns.
expect_eq(a:share_add_physmap(0x20, sh, a, 0x91), 0)
expect_eq(a:mfn(0x91), f)
expect_eq(a:sharing().shr_pages, 2)

-- Writes through each alias unshare only that alias.
expect_eq(a:write_phys(0x91000, 1), 0)
expect(a:mfn(0x91) ~= f)
expect_eq(a:read_phys(0x20000), 0xabcd)
expect_eq(b:read_phys(0x30000), 0xabcd)
expect_eq(shared_frame(f).sharers, 3)
