-- The vm_event ring full of one-way drop events, then a guest access to a
-- paged-out page (seed 002 patch 08/12; fixed upstream by 3643a96119
-- "Do not lose guest events").  The ring has 8 slots (reference 4.1).
-- The vCPU sleeps for a slot; the pager consuming the drop events frees
-- slots, which wakes it (vm_event_wake), and the retried access pages in.
-- With the 2011 ring (mutant mem_event_2011) drops are lost when the ring
-- is full and only a response wakes the vCPU: it never resumes, and the
-- oracle reports "d0.v0.state ... (vCPU stuck)".
-- Upstream's only drop events come from removing a paging_in gfn that
-- kept its frame, and that path leaks the frame and decrements paged_pages
-- for a page never counted (reference 2.4.2): a known finding.
expect_divergence("d0.tot_pages", "paging_in removal leaks the frame (ref 2.4.2)")
expect_divergence("d0.paged_pages", "paging_in removal decrements paged_pages (ref 2.4.2)")

local d = domain{ name = "guest", gfns = 0x200, ram = 0x100 }
local pt = d:pagetable{ root = 0x10 }
pt:map(0x400000, 0x30, "wu")
local v = d:vcpu{ cr3 = pt }
expect(v:write(0x400000, 0x77).ok)
expect_eq(d:paging_enable(), 0)
local size = d:paging().ring_size

-- Page out gfn 0x30 for the guest to touch later.
local saved = d:page_contents(0x30)
expect_eq(d:nominate(0x30), 0)
expect_eq(d:evict(0x30), 0)

-- Drop events need a paging_in gfn that still has its frame: nominate,
-- let a hypervisor copy populate it (one request), then the guest
-- balloons it out (one drop event).  size/2 such gfns fill the ring
-- exactly.  (Drop notices beyond a full ring: regressions/drop_on_full_ring.)
local k = size // 2
for g = 0x40, 0x40 + k - 1 do
  expect_eq(d:nominate(g), 0)
  expect_eq(d:write_phys(g * 4096, 1), -11, "copy to paging_out: retry")
end
for g = 0x40, 0x40 + k - 1 do expect_eq(d:remove(g), 0) end
expect_eq(d:paging().requests, size, "ring full")
local g = 0x40 + k
expect_eq(d:nominate(g), 0)
expect_eq(d:map_foreign(g), nil, "ring full: a foreign populate sends nothing")
expect_eq(d:type(g), "ram_paging_out")

-- The guest touches the evicted page: the ring is full, it sleeps.
local r = v:read(0x400000)
expect_eq(r.kind, "blocked", "no slot: the vCPU waits")
expect_eq(v:state(), "waiting_slot")

-- The pager drains the ring (drop events need no response).
local n = 0
while d:get_request() do n = n + 1 end
expect(n >= size, "the pager consumed every event")
expect_eq(v:state(), "runnable", "a freed slot wakes the vCPU")

-- The retried access pages in through the pager.
expect_eq(v:read(0x400000).kind, "paused")
local req = d:get_request()
expect(req ~= nil and req.gfn == 0x30, "the page-in request")
if req then
  expect_eq(d:prep(0x30, saved), 0)
  expect_eq(d:resume(req), 0)
end
local ok = v:read(0x400000)
expect(ok.ok, "the vCPU resumed")
expect_eq(ok.value, 0x77)
