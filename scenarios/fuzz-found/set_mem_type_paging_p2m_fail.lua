-- Found by `pagesim fuzz` (fail_p2m_update around set_mem_type):
-- XEN_DMOP_set_mem_type of a gfn in a paging state starts its page-in
-- (p2m_mem_paging_populate()) and answers -EAGAIN.  For a nominated
-- (ram_paging_out) or evicted (ram_paged) gfn the page-in first changes
-- the entry to ram_paging_in with p2m_set_entry(); when that update fails
-- the slot claimed on the ring is cancelled (vm_event_cancel_slot()): no
-- request reaches the pager and the type stays.  The sim did that; the
-- oracle expected the request and ram_paging_in.
local d = domain{ name = "d", gfns = 0x100, ram = 0x40 }
expect_eq(d:paging_enable(), 0)
for _, evict in ipairs{ false, true } do
  local g = evict and 0x31 or 0x30
  expect_eq(d:nominate(g), 0)
  if evict then expect_eq(d:evict(g), 0) end
  local before = evict and "ram_paged" or "ram_paging_out"
  d:fail_p2m_update(1)
  expect_eq(d:set_mem_type(g, "ram_ro"), -11, "-EAGAIN all the same")
  d:fail_p2m_update(0)
  expect_eq(d:type(g), before, "no page-in started")
  expect_eq(d:get_request(), nil, "no request: the slot was cancelled")
  -- Without the failure: the page-in request, and ram_paging_in.
  expect_eq(d:set_mem_type(g, "ram_ro"), -11)
  expect_eq(d:type(g), "ram_paging_in")
  local r = d:get_request()
  expect_eq(r.gfn, g)
end
