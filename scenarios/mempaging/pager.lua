-- The simulated xenpaging (tools/xenpaging policy_default.c; seed 002
-- patches 01/12, 02/12 and 09/12): victims from max_pages/2 upward,
-- never gfn 0 (and optionally not 0x80), not the recently paged-in ones
-- (an MRU list sized at run time); page-in requests served with the saved
-- contents; drop notices forget the gfn.  Every hypervisor call it makes
-- is a checked engine step.
expect_divergence("d0.tot_pages", "paging_in removal leaks the frame (ref 2.4.2)")
expect_divergence("d0.paged_pages", "paging_in removal decrements paged_pages (ref 2.4.2)")

local d = domain{ name = "guest", gfns = 0x100, ram = 0x100 }
local pt = d:pagetable{ root = 0x10 }
pt:map(0x400000, 0x80, "wu")
pt:map(0x401000, 0x81, "wu")
local v = d:vcpu{ cr3 = pt }
expect(v:write(0x400000, 0x80).ok)
expect(v:write(0x401000, 0x81).ok)
expect_eq(d:paging_enable(), 0)

-- Step by step: four victims starting at max_pages/2 = 0x80, 0x80 skipped.
local p = d:pager{ mru_size = 2, skip_0x80 = true }
expect_eq(p:evict(4), 4)
local paged = p:paged()
expect_eq(#paged, 4)
expect_eq(paged[1], 0x81, "scan starts at max_pages/2, 0x80 excluded")
expect_eq(paged[4], 0x84)
expect_eq(d:type(0x80), "ram_rw")
expect_eq(d:paging().paged_pages, 4)

-- The guest touches 0x81: paused; the pager serves, the vCPU resumes.
expect_eq(v:read(0x401000).kind, "paused")
expect_eq(p:serve(), 1)
local r = v:read(0x401000)
expect(r.ok)
expect_eq(r.value, 0x81, "contents restored")
expect_eq(p:stats().mru, 1)

-- 0x81 is in the MRU list: the next victims skip it (cursor wrapped on).
expect_eq(p:evict(2), 2)
expect(not d:type(0x81):find("paged"), "recently paged-in gfn not chosen")

-- Drop notice: a populated-but-not-evicted gfn ballooned out.
expect_eq(d:write_phys(0x20000, 1), 0)
expect_eq(d:nominate(0x90), 0)
expect_eq(d:write_phys(0x90000, 1), -11)
expect_eq(d:remove(0x90), 0)
expect_eq(p:serve(), 2, "one page-in request, one drop")
expect_eq(p:stats().dropped, 1)

-- Left running: the access is served automatically.
p:set_mru_size(0)
p:auto(true)
expect_eq(p:evict(1), 1)
local last = p:paged()
local victim = last[#last]
expect(victim ~= nil)
pt:map(0x402000, victim, "wu")
local a = v:read(0x402000)
expect(a.ok, "auto pager: paused access served and retried")
expect_eq(d:paging().requests, 0)

-- gfn 0 is never chosen: evict everything that is left.
local n = p:evict(0x200)
expect(n > 0)
expect_eq(d:type(0), "ram_rw", "gfn 0 is never paged out")
expect_eq(d:type(0x80), "ram_rw", "0x80 excluded (seed 002 09/12)")
