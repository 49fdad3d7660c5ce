-- PAE PDPTE registers loaded by MOV to CR0 / MOV to CR4 (SDM Vol. 3A
-- 4.4.1): when PAE paging is in use after the instruction and it modifies
-- CR0.CD, CR0.NW, CR0.PG, CR4.PAE, CR4.PGE, CR4.PSE or CR4.SMEP, the four
-- PDPTEs at CR3 are loaded; toggling SMAP, PKE, CR0.WP or EFER.NXE loads
-- nothing.  A present PDPTE with a reserved bit makes such a MOV a #GP(0):
-- CR0/CR4 keep their values and the registers what they held.  The model
-- (tlb_pae_cr_loads()) and the oracle (oracle_pae_cr_loads()) decide each
-- on their own (divergences mov_cr.pdpte_load, mov_cr.pdpte_gp); mutant
-- pae_cr_smap_load (SMAP and PKE toggles reload, as KVM did until 2020)
-- is caught here.
--
-- How a load shows: PDPTE 1 is pointed at another page directory in
-- memory; a read of 0x40001000 gives 0x401 through the old one, 0x411
-- through the new one, and only a load makes the walk see it.

local d = domain{ name = "paecr", gfns = 0x1000, ram = 0x800 }
for g = 0x400, 0x4ff do d:write_phys(g * 4096, g) end
local pae = d:pagetable{ root = 0x20, pool = 0x21, pool_pages = 16, mode = "pae" }
pae:map(0x40001000, 0x401, "wad")   -- supervisor pages: SMAP does not matter
pae:map(0x00001000, 0x402, "wad")
local PD2, PT2 = 0x30, 0x31
d:write_phys(PD2 * 4096, (PT2 << 12) | PTE.P | PTE.W | PTE.A)
d:write_phys(PT2 * 4096 + 8, (0x411 << 12) | PTE.P | PTE.W | PTE.A | PTE.D)
local pdpte_old = pae:entry(0x40000000, 3)
local pdpte_new = (PD2 << 12) | PTE.P

local v = d:vcpu{ cr3 = pae, mode = "pae", tlb = "intel", vpid = 1 }
expect_eq(v:read(0x40001000).value, 0x401)

-- Flip PDPTE 1 in memory, run 'change', read through it: did it load?
local flip = 0
local function loads(change)
  flip = 1 - flip
  pae:set_entry(0x40000000, 3, flip == 1 and pdpte_new or pdpte_old)
  v:set(change)
  -- A MOV CR0 that changes only CD/NW flushes nothing: drop the cached
  -- translation (INVLPG does not touch the PDPTE registers).
  v:invlpg(0x40001000)
  local r = v:read(0x40001000)
  expect(r.ok, "the read through PDPTE 1 completes")
  local want = flip == 1 and 0x411 or 0x401
  if r.value == want then return true end
  -- not loaded: put memory back as the registers have it
  flip = 1 - flip
  pae:set_entry(0x40000000, 3, flip == 1 and pdpte_new or pdpte_old)
  return false
end

-- The listed bits load, both ways.
expect(loads{ pge = true }, "CR4.PGE set loads")
expect(loads{ pge = false }, "CR4.PGE cleared loads")
expect(loads{ pse = true }, "CR4.PSE loads")
expect(loads{ smep = true }, "CR4.SMEP loads")
expect(loads{ smep = false }, "CR4.SMEP cleared loads")
expect(loads{ cr0 = v.cr0 | (1 << 30) }, "CR0.CD loads")
expect(loads{ cr0 = v.cr0 | (1 << 29) }, "CR0.NW loads")
expect(loads{ cr0 = v.cr0 & ~((1 << 30) | (1 << 29)) }, "CR0.CD/NW cleared loads")
-- Entering PAE paging loads: from no paging (MOV CR0 setting PG), from
-- 32-bit paging (MOV CR4 setting PAE), from 4-level paging (through PG=0).
v:set{ mode = "none" }
expect(loads{ mode = "pae" }, "CR0.PG set loads")
v:set{ pae = false }
expect_eq(v.mode, "32")
expect(loads{ pae = true }, "CR4.PAE set loads")
v:set{ mode = "4" }
expect(loads{ mode = "pae" }, "4-level -> PAE loads")

-- The other bits do not: the registers keep the PDPTE of the last load.
expect(not loads{ smap = true }, "CR4.SMAP does not load")
expect(not loads{ smap = false }, "nor clearing it")
expect(not loads{ pke = true }, "CR4.PKE does not load")
expect(not loads{ wp = false }, "CR0.WP does not load")
expect(not loads{ nxe = false }, "EFER.NXE (WRMSR) does not load")
v:set{ wp = true, pke = false }

-- #GP(0): a present PDPTE with a reserved bit (here bit 1, R/W, reserved
-- in a PAE PDPTE) when the MOV loads.  CR4 (or CR0) is unchanged, the
-- registers keep what they held, nothing is flushed.
v:set{ cr3 = pae }                               -- registers: memory now
local held = v:read(0x40001000).value
local bad = (PD2 << 12) | PTE.P | PTE.W
pae:set_entry(0x40000000, 3, bad)
local cr0, cr4, efer = v.cr0, v.cr4, v.efer
v:set{ pge = true }
expect_eq(v.cr4, cr4, "MOV CR4 (PGE) faulted: CR4 unchanged")
expect_eq(v:read(0x40001000).value, held, "the registers held before")
v:set{ cr0 = cr0 | (1 << 30) }
expect_eq(v.cr0, cr0, "MOV CR0 (CD) faulted: CR0 unchanged")
v:set{ mode = "none" }
cr4, efer = v.cr4, v.efer
v:set{ mode = "pae" }
expect_eq(v.mode, "none", "MOV CR0 setting PG faulted: paging stays off")
expect_eq(v.cr4, cr4, "the whole CR0/CR4/EFER change is undone")
expect_eq(v.efer, efer, "EFER as before")
v:set{ mode = "4" }
v:set{ mode = "pae" }
expect_eq(v.mode, "4", "4-level -> PAE faulted: still 4-level")
v:set{ mode = "pae" }
expect_eq(v.mode, "4", "and again, as long as the PDPTE is bad")
-- Back to PAE with a valid PDPTE; a MOV that does not load ignores a bad
-- one in memory.
pae:set_entry(0x40000000, 3, pdpte_old)
v:set{ mode = "pae" }
expect_eq(v.mode, "pae")
pae:set_entry(0x40000000, 3, bad)
v:set{ smap = true }
expect(v.cr4 & (1 << 21) ~= 0, "CR4.SMAP set: no load, no #GP")
expect_eq(v:read(0x40001000).value, 0x401, "through the register")
-- A not-present PDPTE with reserved bits is no fault.
pae:set_entry(0x40000000, 3, 0x1E6)
v:set{ pge = true }
expect(v.cr4 & (1 << 7) ~= 0, "loaded: PGE set")
expect(v:read(0x40001000).pf, "the not-present PDPTE was loaded")
pae:set_entry(0x40000000, 3, pdpte_old)
v:set{ cr3 = pae }
expect_eq(v:read(0x40001000).value, 0x401)
expect_eq(v:read(0x00001000).value, 0x402)
