-- EPT paging-structure caches (Intel EPT, SDM Vol. 3C 29.4: cached EPT
-- PML4E/PDPTE/PDE entries are "guest-physical mappings", tagged by the
-- EPTP alone, holding the next EPT table's address and the R/W/X ANDed
-- down to them).  Each EPT walk of a TLB miss starts below the deepest
-- cached entry for its gpa, so an EPT PDE rewritten without INVEPT may
-- still be used from the cache: allowed until an INVEPT of that EPTP
-- (single-context) or of all contexts -- and the hypervisor's own flush
-- after a P2M change (here every hypervisor operation;
-- d:ept_set_raw(..., false) writes in the window before it).  INVVPID
-- names linear and combined mappings only, and a single-context INVEPT
-- of another EPTP names other mappings: both leave the entry.  The oracle
-- keeps the entries a CPU may hold and lets its own raw EPT walks start
-- from them; after the invalidation only the fresh walk is accepted.
-- Mutants epsc_keep_on_invept_single, epsc_keep_on_invept_all and
-- epsc_own_rights are caught here.
local W = 2
host{ frames = 0x4000 }

-- One domain per invalidation: the fresh walk ends in an EPT violation
-- the hypervisor cannot fix (a RAM gfn under a read-only EPT PDE), which
-- crashes the domain.
local function setup(name)
  local d = domain{ name = name, gfns = 0x1000, ram = 0x400, hap = "ept" }
  local pt = d:pagetable{ root = 0x10 }
  -- va 0x400000 + i pages -> gfn 0x200 + i: EPT PDE 1 (gpa 2..4 MiB),
  -- apart from the guest tables' gfns under EPT PDE 0.
  for i = 0, 15 do pt:map(0x400000 + i * 4096, 0x200 + i, "wad") end
  local v = d:vcpu{ cr3 = pt, tlb = "intel", vpid = 1 }
  -- The same EPT PDE written back raw (with the flush): the oracle now
  -- walks the domain's EPT itself (and learns what a walk caches).
  local epde = d:ept_get_raw(0x200000, 2)
  expect_eq(d:ept_set_raw(0x200000, 2, epde), 0)
  return d, v, epde
end

local d, v, epde = setup("ept1")
local other = domain{ name = "other", gfns = 0x100, ram = 0x10, hap = "ept" }
local r = v:write(0x400000, 0x11)
expect(r.ok and r.tlb == "walk")
local st0 = v:tlb_stats()
r = v:read(0x401000)
expect(r.ok and r.value == 0)
local st1 = v:tlb_stats()
-- Under the cached guest PDE (a combined mapping) one guest read, then
-- the final gpa's EPT walk from the cached EPT PDE.
expect_eq(st1.epsc_hits - st0.epsc_hits, 1, "the EPT walk started from a cached EPT PDE")
expect_eq(r.refs, 1 + 4, "the skipped EPT reads are counted in refs as if made")
expect_eq(st1.walk_refs - st0.walk_refs, 2, "but not made: the guest PTE and the EPT PTE")

-- The EPT PDE made read-only without a flush: the cached one (R/W/X) may
-- still be used for a page never accessed before.
expect_eq(d:ept_set_raw(0x200000, 2, epde & ~W, false), 0)
r = v:write(0x402000, 0x22)
expect(r.ok, "stale EPT PSC entry: the write goes through (allowed)")
expect_eq(v:read(0x402000).value, 0x22)
-- INVVPID (single context) drops linear and combined mappings only: the
-- TLB entry for 0x402000 goes, the guest-physical mapping stays.
v:invvpid(1)
r = v:write(0x403000, 0x33)
expect(r.ok and r.tlb == "walk", "INVVPID: the cached EPT PDE stays (allowed)")
-- A single-context INVEPT of another domain's EPTP leaves this one's.
v:invept(1, other)
r = v:write(0x404000, 0x44)
expect(r.ok, "INVEPT of another EPTP: the cached EPT PDE stays (allowed)")
-- A single-context INVEPT of the vCPU's own EPTP drops it.
v:invept(1)
r = v:write(0x405000, 0x55)
expect(not r.ok, "after INVEPT 1: the fresh EPT walk meets the read-only PDE")
expect_eq(r.exits[1] and r.exits[1].kind, "ept_violation")
expect_eq(r.kind, "crash")

-- An all-context INVEPT drops it too.
local d2, v2, epde2 = setup("ept2")
expect(v2:write(0x400000, 0x11).ok)
expect_eq(d2:ept_set_raw(0x200000, 2, epde2 & ~W, false), 0)
expect(v2:write(0x401000, 0x22).ok, "stale (allowed)")
v2:invept(2)
r = v2:write(0x402000, 0x33)
expect(not r.ok, "after INVEPT 2: the fresh EPT walk")
expect_eq(r.exits[1] and r.exits[1].kind, "ept_violation")

-- The hypervisor's own flush (any hypervisor operation) drops it.
local d3, v3, epde3 = setup("ept3")
expect(v3:write(0x400000, 0x11).ok)
expect_eq(d3:ept_set_raw(0x200000, 2, epde3 & ~W), 0)
r = v3:write(0x401000, 0x22)
expect(not r.ok, "the flush after ept_set_raw: the fresh EPT walk")

-- A cached entry holds the rights ANDed from the top: under an EPT PDPTE
-- made read-only (flushed), a read caches the EPT PDE as read/execute,
-- and a write to another page starting from that entry must fault.
local d4, v4 = setup("ept4")
expect(v4:write(0x400000, 0x11).ok) -- the guest tables' A flags set
local epdpte = d4:ept_get_raw(0x200000, 3)
expect_eq(d4:ept_set_raw(0x200000, 3, epdpte & ~W), 0)
r = v4:read(0x400000)
expect(r.ok)
local st4 = v4:tlb_stats()
r = v4:write(0x401000, 0x22)
expect(not r.ok, "the cached EPT PDE carries the PDPTE's read-only right")
expect(v4:tlb_stats().epsc_hits > st4.epsc_hits, "the walk started from the cache")
expect_eq(r.exits[1] and r.exits[1].kind, "ept_violation")

-- A domain's first raw entry written without the flush: the entries its
-- vCPU cached while the oracle still predicted from its flat P2M are
-- taken into the allowed set as the tables were before the write
-- (eng_psc_seed()), so the stale use is accepted here too.
local d5 = domain{ name = "ept5", gfns = 0x1000, ram = 0x400, hap = "ept" }
local pt5 = d5:pagetable{ root = 0x10 }
for i = 0, 3 do pt5:map(0x400000 + i * 4096, 0x200 + i, "wad") end
local v5 = d5:vcpu{ cr3 = pt5, tlb = "intel", vpid = 1 }
expect(v5:write(0x400000, 0x11).ok)
expect_eq(d5:ept_set_raw(0x200000, 2, d5:ept_get_raw(0x200000, 2) & ~W, false), 0)
expect(v5:write(0x401000, 0x22).ok, "stale from before the first raw entry (allowed)")
v5:invept(1)
r = v5:write(0x402000, 0x33)
expect(not r.ok, "after INVEPT 1: the fresh EPT walk")
