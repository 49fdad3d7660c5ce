-- PAE PDPTE registers (SDM Vol. 3A 4.4.1): with PAE paging the four PDPTEs
-- are loaded into registers by MOV CR3 (and by a MOV CR0/CR4 that changes
-- paging), and walks use the registers, not the PDPT in memory.  A PDPT
-- edit is not seen until the next load -- INVLPG, INVPCID, INVVPID and
-- INVEPT do not reload them -- and walks make no reference for the PDPTE.
-- The oracle loads its own copy at the same instructions and predicts the
-- walk from it.  Mutant pae_pdpte_reread (PDPTEs read on every walk) is
-- caught here.

local d = domain{ name = "pae", gfns = 0x1000, ram = 0x800 }
for g = 0x400, 0x4ff do d:write_phys(g * 4096, g) end
local pae = d:pagetable{ root = 0x20, pool = 0x21, pool_pages = 16, mode = "pae" }
pae:map(0x40001000, 0x401, "wuad")
pae:map(0x40002000, 0x402, "wuad")
-- A second page directory, written by hand at gfn 0x30 with its page table
-- at gfn 0x31: 0x40001000 -> gfn 0x411, 0x40002000 -> gfn 0x412.
local PD2, PT2 = 0x30, 0x31
d:write_phys(PD2 * 4096, (PT2 << 12) | PTE.P | PTE.W | PTE.U | PTE.A)
d:write_phys(PT2 * 4096 + 8, (0x411 << 12) | PTE.P | PTE.W | PTE.U | PTE.A | PTE.D)
d:write_phys(PT2 * 4096 + 16, (0x412 << 12) | PTE.P | PTE.W | PTE.U | PTE.A | PTE.D)
local pdpte1 = pae:entry(0x40000000, 3)

local v = d:vcpu{ cr3 = pae, mode = "pae", tlb = "intel", vpid = 1 }
expect_eq(v.mode, "pae")
expect_eq(pae:entry(0x40000000, 2) & PTE.A, 0, "the builder's PDE has no A yet")
local r = v:read(0x40001000)
expect(r.ok and r.value == 0x401, "PAE 4 KiB page")
-- No PDPT reference: the PDE (EPT walk + read), the PTE (EPT walk + read),
-- the final EPT walk, and A written into the PDE.
expect_eq(r.refs, 2 * (4 + 1) + 4 + 1, "the PDPTE comes from its register")

-- The guest points PDPTE 1 at the second directory; no MOV CR3 yet: the
-- register still holds the first one, whatever else is invalidated.
pae:set_entry(0x40000000, 3, (PD2 << 12) | PTE.P)
v:invlpg(0x40001000)
r = v:read(0x40001000)
expect(r.ok and r.value == 0x401, "PDPT edited without MOV CR3: the register is used")
v:invvpid(1, 1)
expect_eq(v:read(0x40001000).value, 0x401, "INVVPID does not reload the PDPTEs")
v:invept(2)
expect_eq(v:read(0x40002000).value, 0x402, "nor does INVEPT")

-- MOV CR3 (same value) loads the new PDPTE.
v:set{ cr3 = pae }
r = v:read(0x40001000)
expect(r.ok and r.value == 0x411, "MOV CR3 loaded the edited PDPTE")

-- A not-present PDPTE in the register: #PF until reloaded, whatever memory
-- holds.
pae:set_entry(0x40000000, 3, 0)
v:set{ cr3 = pae }
expect(v:read(0x40002000).pf, "a not-present PDPTE was loaded")
pae:set_entry(0x40000000, 3, pdpte1)
r = v:read(0x40002000)
expect(r.pf, "still #PF: the register holds the not-present PDPTE")
-- A MOV CR4 that changes paging (here CR4.PGE) loads them too.
v:set{ pge = true }
r = v:read(0x40002000)
expect(r.ok and r.value == 0x402, "MOV CR4 (PGE) reloaded the PDPTEs")

-- Reserved bits in a present PDPTE: the load itself is a #GP(0) (SDM
-- 4.4.1): the MOV CR3 does not happen -- CR3 and the registers keep their
-- values -- so the walks go on through the registers loaded before.  The
-- oracle checks the #GP on its own (divergence mov_cr3.pdpte_gp; mutant
-- pae_load_no_gp loads the registers anyway).
local PDPT2 = 0x34   -- a second PDPT (32 bytes at gfn 0x34): PDPTE 1 has bit 1
d:write_phys(PDPT2 * 4096 + 8, (PD2 << 12) | PTE.P | PTE.W)
local cr3_before = v.cr3
v:set{ cr3 = PDPT2 << 12 }
expect_eq(v.cr3, cr3_before, "MOV CR3 faulted: CR3 unchanged")
r = v:read(0x40001000)
expect(r.ok and r.value == 0x401, "the registers of the old CR3 still translate")
-- The same PDPTE made valid: the MOV CR3 now loads it.
d:write_phys(PDPT2 * 4096 + 8, (PD2 << 12) | PTE.P)
v:set{ cr3 = PDPT2 << 12 }
expect_eq(v.cr3, PDPT2 << 12, "loaded")
expect_eq(v:read(0x40001000).value, 0x411, "through the second PDPT")
v:set{ cr3 = pae }
-- A not-present PDPTE with reserved bits is no fault (only P=1 ones are
-- checked).
d:write_phys(PDPT2 * 4096 + 16, 0x1E6)
v:set{ cr3 = PDPT2 << 12 }
expect_eq(v.cr3, PDPT2 << 12, "reserved bits of a not-present PDPTE are ignored")
v:set{ cr3 = pae }
-- A MOV CR4 that reloads them faults the same way (SDM 4.4.1): CR4 keeps
-- PGE and the registers the PDPTEs loaded before (more in
-- scenarios/walk/pae_mov_cr.lua).
pae:set_entry(0x40000000, 3, (PD2 << 12) | PTE.P | PTE.W)
local cr4_before = v.cr4
v:set{ pge = false }
expect_eq(v.cr4, cr4_before, "MOV CR4 faulted: CR4 unchanged")
expect_eq(v:read(0x40001000).value, 0x401, "the registers loaded before")
pae:set_entry(0x40000000, 3, pdpte1)
v:set{ cr3 = pae }
expect_eq(v:read(0x40001000).value, 0x401)

-- A vCPU without TLBs keeps no registers: it reads the PDPT on every walk
-- (as if it had just been loaded).
local w = d:vcpu{ cr3 = pae, mode = "pae" }
pae:set_entry(0x40000000, 3, (PD2 << 12) | PTE.P)
r = w:read(0x40001000)
expect(r.ok and r.value == 0x411, "no TLBs: the PDPT is read per walk")
expect_eq(r.refs, 3 * (4 + 1) + 4, "with its reference (A already set)")
expect_eq(v:read(0x40001000).value, 0x401, "the TLB vCPU still uses its register")
