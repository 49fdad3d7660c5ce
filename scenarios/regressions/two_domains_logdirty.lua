-- Log-dirty state is per domain: tracking one domain's writes must not
-- mark, protect or allocate anything in another domain sharing the heap.

local a = domain{ name = "a", gfns = 0x200, ram = 0x40 }
local b = domain{ name = "b", gfns = 0x200, ram = 0x40 }
local pta, ptb = a:pagetable{ root = 0x10 }, b:pagetable{ root = 0x10 }
pta:map(0x1000, 0x30, "w")
ptb:map(0x1000, 0x30, "w")
local va, vb = a:vcpu{ cr3 = pta }, b:vcpu{ cr3 = ptb }

expect_eq(a:logdirty_enable(), 0)
expect_eq(b:type(0x30), "ram_rw", "b is not write-protected")
local wb = vb:write(0x1000, 1)
expect_eq(wb.nexits, 0, "b's writes take no log-dirty faults")
local wa = va:write(0x1000, 2)
expect(wa.nexits >= 1, "a's first write to a page faults")
local d = a:peek_dirty()
expect(#d >= 1)
expect_eq(b:logdirty().allocs, 0)
expect_eq(b:logdirty().enabled, false)

-- Random writes: a's dirty set is exactly the pages written (plus tables).
local written = {}
for page = 0, 7 do
  pta:map(0x100000 + page * 0x1000, 0x31 + page, "w")
end
a:clean_dirty()
for i = 1, 16 do
  local page = math.random(0, 7)
  written[0x31 + page] = true
  expect(va:write(0x100000 + page * 0x1000, i).ok)
end
local dirty = {}
for _, g in ipairs(a:peek_dirty()) do dirty[g] = true end
for g in pairs(written) do expect(dirty[g], "written gfn " .. hex(g) .. " is dirty") end
