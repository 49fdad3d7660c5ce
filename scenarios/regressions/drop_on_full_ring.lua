-- Seed 002, patch 08/12 ("xenpaging: drop paged pages in
-- guest_remove_page"): the one-way drop notice used mem_event_check_ring()
-- and was simply lost when the 2011 ring was full ("this is not an issue,
-- it just means this gfn will not be nominated again").  Upstream since
-- 3643a96119 claims a slot and the caller waits; nothing is lost.  Killed
-- mutant: mem_event_2011 (lost events; see also mempaging/ring_full.lua
-- for the vCPU that never resumes).
expect_divergence("d0.tot_pages", "paging_in removal leaks the frame (ref 2.4.2)")
expect_divergence("d0.paged_pages", "paging_in removal decrements paged_pages (ref 2.4.2)")

local d = domain{ name = "guest", gfns = 0x200, ram = 0x100 }
expect_eq(d:paging_enable(), 0)
local size = d:paging().ring_size
-- size + 1 gfns populated by hypervisor copies: the last finds no slot.
for g = 0x20, 0x20 + size do
  expect_eq(d:nominate(g), 0)
  expect_eq(d:write_phys(g * 4096, 1), -11)
end
expect_eq(d:paging().requests, size)
-- Removing populated gfns: drop notices queue behind the full ring.
for g = 0x20, 0x20 + size - 1 do expect_eq(d:remove(g), 0) end
expect_eq(d:paging().waiting_drops, size)
-- The pager drains: each consumed request lets one drop in.
local drops = 0
for _ = 1, 2 * size do
  local r = d:get_request()
  if r and r.drop then drops = drops + 1 end
end
expect_eq(drops, size, "every drop notice reached the pager")
expect_eq(d:paging().lost, 0)
