-- Seed 002, patch 02/12 ("xenpaging: specify policy mru_size at
-- runtime"): the MRU list of recently paged-in gfns protects them from
-- being paged out again at once; its size is set at run time.  With a
-- list of 4, the four gfns just paged in survive the next eviction sweep;
-- with 0 they are evicted again (thrashing).
local d = domain{ name = "guest", gfns = 0x40, ram = 0x40 }
expect_eq(d:paging_enable(), 0)
local p = d:pager{ mru_size = 4 }
expect_eq(p:evict(4), 4)
local first = p:paged()
-- The tool stack pages them back in (xenpaging's own page-in on exit).
for _, g in ipairs(first) do
  expect_eq(d:read_phys(g * 4096), nil)        -- populate as foreign
end
expect_eq(p:serve(), 4)
expect_eq(p:stats().mru, 4)
expect_eq(p:evict(0x40), 0x40 - 1 - 4, "all but gfn 0 and the MRU four")
for _, g in ipairs(first) do expect_eq(d:type(g), "ram_rw") end
-- Shrink the list at run time: the oldest fall off and become victims.
p:set_mru_size(1)
expect_eq(p:stats().mru, 1)
expect_eq(p:evict(0x40), 3)
