-- Seed 004 (the mem paging documentation: a page must not be in use when
-- it is nominated; the race between nominate and evict) and upstream
-- nominate()/evict() reference checks (reference 2.2): a page a foreign
-- domain maps cannot be nominated (-EBUSY), and a page touched between
-- nominate and evict is not evicted (-EBUSY).  Killed mutant:
-- nominate_ignore_refs.
local d = domain{ name = "guest", gfns = 0x100, ram = 0x20 }
expect_eq(d:paging_enable(), 0)
local m = d:map_foreign(0x10)
expect(m ~= nil)
expect_eq(d:nominate(0x10), -16, "mapped by a foreign domain")
expect_eq(d:type(0x10), "ram_rw")
expect_eq(d:unmap_foreign(m), 0)
expect_eq(d:nominate(0x10), 0)
-- Touched again (a copy) between nominate and evict.
expect_eq(d:read_phys(0x10000), nil)
expect_eq(d:evict(0x10), -16, "repopulated before evict")
local r = d:get_request()
expect(r.evict_fail, "MEM_PAGING_EVICT_FAIL tells the pager")
expect_eq(d:prep(0x10), 0)
expect_eq(d:type(0x10), "ram_rw")
