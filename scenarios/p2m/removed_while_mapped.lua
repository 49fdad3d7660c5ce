-- A RAM page its domain gives up (set_type to mmio_dm, remove) while the
-- tool stack or another domain still holds a reference on it.
--
-- Found by `pagesim fuzz --seed 1 --mutant mem_event_2011` as a baseline
-- finding (it failed without the mutant too): the sim freed the page at
-- once, so the tool stack's unmap_foreign failed with -EINVAL and the heap
-- handed the frame out again while it was still mapped.  Xen's
-- guest_remove_page() drops only the allocation reference
-- (test_and_clear_bit(_PGC_allocated) + put_page()); the page stays its
-- owner's (tot_pages, not on the free lists) with its M2P entry INVALID
-- (p2m_remove_entry()), and the holder's last put_page() frees it
-- (free_domheap_page()).  Mutant free_referenced brings the immediate free
-- back.
local EINVAL = -22
local a = domain{ name = "owner", gfns = 0x100, ram = 0x40 }
local b = domain{ name = "mapper", gfns = 0x100, ram = 0x40 }

-- 1. The fuzzer's reproducer: a tool-stack foreign map, then set_type.
expect_eq(a:write_phys(0x21000, 0xc0ffee), 0)
local m = a:map_foreign(0x21)
local free0 = heap().free
expect_eq(a:set_type(0x21, "mmio_dm"), 0)
expect_eq(a:type(0x21), "mmio_dm")
expect_eq(m2p(m), nil, "p2m_remove_entry() cleared the M2P entry")
expect_eq(heap().free, free0, "the mapped page is not back on the heap")
expect_eq(a:unmap_foreign(m), 0, "the tool stack's put_page()")
expect_eq(heap().free, free0 + 1, "its last reference freed the page")
expect_eq(a:unmap_foreign(m), EINVAL, "no reference left to drop")
expect_eq(a:populate(0x21), 0)
expect_eq(a:mfn(0x21), m, "LIFO heap: the freed frame is the next one out")
expect_eq(a:read_phys(0x21000), 0, "scrubbed when freed")

-- 2. Two tool-stack references and decrease_reservation: the first unmap
--    leaves the page, the second frees it.
local m2 = a:map_foreign(0x22)
expect_eq(a:map_foreign(0x22), m2)
expect_eq(a:remove(0x22), 0)
local free1 = heap().free
expect_eq(a:unmap_foreign(m2), 0)
expect_eq(heap().free, free1, "one reference still held")
expect_eq(a:populate(0x22), 0)
expect(a:mfn(0x22) ~= m2, "the held page is not handed out again")
expect_eq(a:unmap_foreign(m2), 0)
expect_eq(heap().free, free1, "freed by the last put (the populate took another)")
expect_eq(a:remove(0x22), 0)
expect_eq(heap().free, free1 + 1)

-- 3. A grant: the granter removes the page, the grantee keeps using it
--    until it unmaps.
expect_eq(a:write_phys(0x23000, 0x5151), 0)
expect_eq(b:grant_map(0x80, a, 0x23), 0)
local gm = b:mfn(0x80)
expect_eq(a:remove(0x23), 0)
expect_eq(a:type(0x23), "mmio_dm")
expect_eq(b:type(0x80), "grant_map_rw")
local pt = b:pagetable{ root = 0x10 }
pt:map(0x400000, 0x80, "w")
pt:map(0x401000, 0x90, "w")
local v = b:vcpu{ cr3 = pt }
expect_eq(v:read(0x400000).value, 0x5151, "the page is alive behind the grant")
expect(v:write(0x400000, 0x6262).ok)
expect_eq(v:read(0x400000).value, 0x6262)
expect(not pcall(a.destroy, a), "its owner cannot go while it is mapped")
local free2 = heap().free
expect_eq(b:grant_unmap(0x80), 0)
expect_eq(heap().free, free2 + 1, "gnttab's put_page() was the last")
expect_eq(m2p(gm), nil)

-- 4. p2m_add_foreign: the owner turns the gfn into mmio_dm, the mapping
--    domain's entry still holds the page; XENMEM_remove_from_physmap of
--    that entry frees it.
expect_eq(a:write_phys(0x24000, 0x7373), 0)
expect_eq(b:add_foreign(0x90, a, 0x24), 0)
expect_eq(a:set_type(0x24, "mmio_dm"), 0)
expect_eq(v:read(0x401000).value, 0x7373)
local free3 = heap().free
expect_eq(b:remove(0x90), 0)
expect_eq(b:type(0x90), "mmio_dm")
expect_eq(heap().free, free3 + 1)

-- 5. Nothing held any more: the owner can be destroyed.
a:destroy()
