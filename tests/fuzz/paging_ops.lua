-- Random mem paging traffic for the short fuzz (tests/run-fuzz.sh): the
-- pager and the scenario nominate, evict, populate (by guest accesses,
-- hypervisor copies and foreign maps), prep, resume and drain the ring,
-- with log-dirty toggling, balloon traffic and injected allocation
-- failures on the side.  Page-table
-- pages (gfns 0x10..0x3f) can be paged out too, so guest walks hit paged
-- gfns.  Removal is only tried on gfns not of a paged type (ram_paged /
-- ram_paging_in removal is a known upstream finding, see
-- scenarios/findings/).  No expects: the oracle checks every step.

local doms, pts, vcpus, pagers, held = {}, {}, {}, {}, {}
for i = 1, 2 do
  local d = domain{ name = "p" .. i, gfns = 0x100, ram = 0x80 }
  doms[i] = d
  pts[i] = d:pagetable{ root = 0x10, pool = 0x11, pool_pages = 0x2f }
  vcpus[i] = { d:vcpu{ cr3 = pts[i] }, d:vcpu{ cr3 = pts[i] } }
  d:paging_enable()
  pagers[i] = d:pager{ mru_size = math.random(0, 8) }
  held[i] = {}
end
for i = 1, 2 do
  for n = 0, 7 do pts[i]:map(0x400000 + n * 0x1000, 0x40 + n * 3, "wu") end
end

local function va(n) return 0x400000 + n * 0x1000 + 8 * math.random(0, 511) end

for step = 1, 250 do
  local i = math.random(1, 2)
  local d, p = doms[i], pagers[i]
  local v = vcpus[i][math.random(1, 2)]
  local g = math.random(0x10, 0x7f)
  local op = math.random(1, 22)
  if op <= 2 then
    d:nominate(g)
  elseif op <= 3 then
    d:evict(g)
  elseif op <= 5 then
    p:evict(math.random(1, 4))
  elseif op <= 7 then
    p:serve()
  elseif op == 8 then
    local r = d:get_request()
    if r and not r.drop then
      d:prep(r.gfn, math.random(2) == 1 and "x" or nil)
      d:resume(r)
    end
  elseif op == 9 then
    d:write_phys(g * 4096 + 8 * math.random(0, 511), step)
  elseif op == 10 then
    d:read_phys(g * 4096)
  elseif op == 11 then
    local m = d:map_foreign(g)
    if m then table.insert(held[i], m) end
  elseif op == 12 then
    local m = table.remove(held[i])
    if m then d:unmap_foreign(m) end
  elseif op == 13 then
    local t = d:type(g)
    if g >= 0x40 and t ~= "ram_paged" and t ~= "ram_paging_in" then
      local mfn = d:mfn(g)
      local mapped = false
      for _, m in ipairs(held[i]) do if m == mfn then mapped = true end end
      if not mapped then d:remove(g) end
    end
  elseif op == 14 then
    if g >= 0x40 then d:populate(g) end
  elseif op == 15 then
    if d:logdirty().enabled then d:logdirty_disable() else d:logdirty_enable() end
  elseif op <= 18 then
    v:read(va(math.random(0, 7)))
  elseif op <= 20 then
    v:write(va(math.random(0, 7)), step)
  elseif op == 21 then
    fail_alloc{ nth = math.random(1, 4) }   -- one of the next allocations fails
  else
    d:set_mem_type(g, math.random(2) == 1 and "ram_ro" or "ram_rw")
  end
end
-- Drain: the pager serves until every vCPU runs again.
for i = 1, 2 do
  for _ = 1, 4 do pagers[i]:serve() end
end
