-- PAE PDPTE registers under EPT accessed/dirty flags (EPTP bit 6,
-- domain{ ept_ad = true }).  SDM Vol. 3C 29.3.5: with A/D on, the
-- processor's accesses to guest paging-structure entries count as writes
-- for EPT A/D -- so a walk sets D on the EPT leaf of every guest table it
-- reads (scenarios/ept/accessed_dirty.lua) -- but loads of the PDPTE
-- registers by MOV CR are the stated exception: they are reads.  So a
-- MOV CR3 / a paging-changing MOV CR0/CR4 in PAE mode sets A on each EPT
-- entry it uses to reach the PDPT, never D, and needs only EPT read
-- permission; walks then take the PDPTEs from the registers and leave the
-- PDPT's EPT leaf alone.  The oracle's raw EPT walker predicts the flags
-- the load sets (divergences mov_cr3.ept_entry@hpa..., mov_cr....);
-- mutants pae_ad_load_dirty (the load as a paging-structure write) and
-- pae_ad_no_ept_accessed (no A) are killed here.

local d = domain{ name = "paead", gfns = 0x1000, ram = 0x800, ept_ad = true }
for g = 0x400, 0x4ff do d:write_phys(g * 4096, g) end
local pae = d:pagetable{ root = 0x20, pool = 0x21, pool_pages = 16, mode = "pae" }
pae:map(0x40001000, 0x401, "wuad")
pae:map(0x40002000, 0x402, "wuad")
local PDPT = 0x20
local pd = pae:entry(0x40000000, 3) >> 12
local function ept(gfn) return d:ept_get_raw(gfn * 4096, 1) end
local AD = EPTE.A | EPTE.D

expect_eq(ept(PDPT) & AD, 0, "the PDPT's EPT leaf starts clean")
-- Entering PAE paging with TLBs (a MOV CR0 that sets PG) loads the PDPTEs.
local v = d:vcpu{ cr3 = pae, mode = "pae", tlb = "intel", vpid = 1 }
expect_eq(ept(PDPT) & AD, EPTE.A, "the load set A and not D: a read")
for level = 2, 4 do
    expect_eq(d:ept_get_raw(PDPT * 4096, level) & AD, EPTE.A,
              "A in the level-" .. level .. " EPT entry")
end

-- A walk: the PD and PT pages are read as paging-structure writes (D);
-- the PDPTE comes from its register, so the PDPT's leaf stays without D.
local r = v:read(0x40001000)
expect(r.ok and r.value == 0x401)
expect_eq(ept(pd) & AD, AD, "the PD read by the walk: an EPT write")
expect_eq(ept(PDPT) & AD, EPTE.A, "the walk did not touch the PDPT")
-- PDE and PTE (an EPT walk + read each), the final EPT walk, then the
-- write-backs: EPT A|D on the PD's and the PT's leaves (2), EPT A on the
-- data page's EPT PDE and leaf (2, another 2 MiB region), guest A into
-- the PDE (1).  No PDPTE reference.
expect_eq(r.refs, 2 * (4 + 1) + 4 + 2 + 2 + 1, "the PDPTE from its register")
expect_eq(v:read(0x40001000).tlb, "l1")

-- A PDPT edit without a load is not seen, as without A/D.
local PD2, PT2 = 0x30, 0x31
d:write_phys(PD2 * 4096, (PT2 << 12) | PTE.P | PTE.W | PTE.U | PTE.A)
d:write_phys(PT2 * 4096 + 8, (0x411 << 12) | PTE.P | PTE.W | PTE.U | PTE.A | PTE.D)
local pdpte1 = pae:entry(0x40000000, 3)
pae:set_entry(0x40000000, 3, (PD2 << 12) | PTE.P)
v:invlpg(0x40001000)
expect_eq(v:read(0x40001000).value, 0x401, "the register, not the edited PDPT")

-- The PDPT's leaf made clean again (and its A cleared) by the hypervisor:
-- the next MOV CR3 sets A again, still no D, and loads the edit.
expect_eq(d:ept_set_raw(PDPT * 4096, 1, ept(PDPT) & ~AD), 0)
v:set{ cr3 = pae }
expect_eq(ept(PDPT) & AD, EPTE.A, "MOV CR3's load: A, no D")
expect_eq(v:read(0x40001000).value, 0x411, "MOV CR3 loaded the edited PDPTE")
pae:set_entry(0x40000000, 3, pdpte1)

-- The PDPT behind a read-only EPT leaf: the load needs only R, so MOV CR3
-- completes (a walk's access to the same page would be an EPT write and
-- exit: see the vCPU without TLBs below).  MOV CR4 (PGE) loads too.
expect_eq(d:ept_set_raw(PDPT * 4096, 1, ept(PDPT) & ~(EPTE.W | AD)), 0)
v:set{ cr3 = pae }
expect_eq(v.cr3, PDPT * 4096, "the MOV CR3 completed")
expect_eq(ept(PDPT) & AD, EPTE.A)
local x = v:read(0x40002000)
expect(x.ok and x.value == 0x402 and x.nexits == 0, "walks use the registers")
v:set{ pge = true }
expect(v.cr4 & 0x80 ~= 0, "MOV CR4 (PGE) loaded without an exit")
-- A vCPU without TLBs has no registers: its walk reads the PDPT as a
-- paging-structure access, an EPT write under A/D, and the read-only leaf
-- makes it exit (bits 0 and 1: read and write).
local w = d:vcpu{ cr3 = pae, mode = "pae" }
local wx = w:read(0x40002000)
expect(wx.crash, "ram_rw: no fix-up for a write fault")
expect_eq(wx.exits[1].gpa >> 12, PDPT)
expect_eq(wx.exits[1].qual & (EPTQ.R | EPTQ.W), EPTQ.R | EPTQ.W)
