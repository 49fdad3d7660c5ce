-- The NPT paging-structure cache (AMD nested paging, the AMD-like profile):
-- the nested walk of a gpa may start below a cached nPML4E/nPDPTE/nPDE,
-- tagged by the ASID (the vCPU's VPID tag) and nCR3, skipping those reads
-- (counted in refs as if made, not in the cost).  A nested upper-level
-- entry rewritten without a flush may still be used from the cache until
-- INVLPGA (every cached nested entry of the ASID: the nested entries are
-- indexed by gpa, which INVLPGA's linear address does not name), a VMRUN
-- with TLB_CONTROL 1, 3 or 7, or the hypervisor's flush after a P2M
-- change (here every hypervisor operation; d:npt_set_raw(..., false)
-- writes in the window before it).  The oracle keeps the cached entries a
-- CPU may hold and lets its own raw nested walks start from them; after
-- the invalidation only the fresh walk is accepted.  Mutants
-- npt_psc_keep_on_invlpga and npt_psc_keep_on_tlbctl are caught here.
local RW = 2
host{ frames = 0x4000 }

-- One domain per invalidation: the fresh walk ends in an unfixable #NPF
-- (a RAM gfn under a read-only nested PDE), which crashes the domain.
local function setup(name)
  local d = domain{ name = name, gfns = 0x1000, ram = 0x400, hap = "npt" }
  local pt = d:pagetable{ root = 0x10 }
  -- va 0x400000 + i pages -> gfn 0x200 + i: nested PDE 1 (gpa 2..4 MiB),
  -- apart from the guest tables' gfns under nested PDE 0.
  for i = 0, 15 do pt:map(0x400000 + i * 4096, 0x200 + i, "wad") end
  local v = d:vcpu{ cr3 = pt, tlb = "amd", vpid = 1 }
  -- The same nested PDE written back raw (with the flush): the oracle now
  -- walks the domain's nested tables itself.
  local npde = d:npt_get_raw(0x200000, 2)
  expect_eq(d:npt_set_raw(0x200000, 2, npde), 0)
  return d, v, npde
end

local d, v, npde = setup("amd1")
local r = v:write(0x400000, 0x11)
expect(r.ok and r.tlb == "walk")
local st0 = v:tlb_stats()
expect(st0.epsc_hits > 0, "later nested walks of the access start from cached entries")
r = v:read(0x401000)
expect(r.ok)
local st1 = v:tlb_stats()
expect(st1.epsc_hits >= st0.epsc_hits + 5, "every nested walk of the access hits the NPT PSC")
expect(st1.walk_refs - st0.walk_refs < r.refs, "the skipped nested reads are not costed")

-- The nested PDE made read-only without a flush: the cached one (R/W) may
-- still be used for a page never accessed before.
expect_eq(d:npt_set_raw(0x200000, 2, npde & ~RW, false), 0)
r = v:write(0x402000, 0x22)
expect(r.ok, "stale NPT PSC entry: the write goes through (allowed)")
-- INVLPGA of an unrelated page of another ASID leaves ASID 1's entries.
v:invlpga(0x9000, 2)
r = v:write(0x403000, 0x33)
expect(r.ok, "INVLPGA of ASID 2: ASID 1's cached nested PDE stays (allowed)")
-- INVLPGA of any address in ASID 1 drops its cached nested entries.
v:invlpga(0x9000, 1)
r = v:write(0x404000, 0x44)
expect(not r.ok, "after INVLPGA: the fresh nested walk meets the read-only PDE")
expect_eq(r.exits[1].kind, "npf")

-- TLB_CONTROL 7 (the ASID's non-global entries) drops them too; 0 not.
local d2, v2, npde2 = setup("amd2")
expect(v2:write(0x400000, 0x11).ok)
expect_eq(d2:npt_set_raw(0x200000, 2, npde2 & ~RW, false), 0)
v2:tlb_control(0)
expect(v2:write(0x401000, 0x22).ok, "TLB_CONTROL 0: nothing flushed (allowed)")
v2:tlb_control(7)
r = v2:write(0x402000, 0x33)
expect(not r.ok, "after TLB_CONTROL 7: the fresh nested walk")

-- The hypervisor's own flush (any hypervisor operation) drops them.
local d3, v3, npde3 = setup("amd3")
expect(v3:write(0x400000, 0x11).ok)
expect_eq(d3:npt_set_raw(0x200000, 2, npde3 & ~RW), 0)
r = v3:write(0x401000, 0x22)
expect(not r.ok, "the flush after npt_set_raw: the fresh nested walk")
