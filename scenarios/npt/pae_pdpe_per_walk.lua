-- A legacy-PAE guest under AMD nested paging (hap = "npt") has no PDPTE
-- registers.  VMX keeps four (SDM 4.4.1: loaded by MOV CR3 and by a MOV
-- CR0/CR4 that changes paging, checked for reserved bits then, used by
-- every walk until the next load; scenarios/tlb/pae_pdpte_registers.lua).
-- Under nested paging the VMCB holds no PDPTEs and the guest walk reads
-- the PDPE from the guest's PDPT through the nested tables each time, as
-- for any other level (KVM cannot cache them on SVM for that reason: its
-- nested-NPT walker reads them from memory per walk; Bochs does the same).
-- So, side by side with the same tables in an EPT domain:
--   * a PDPT edit without MOV CR3 is seen by the next walk (after the TLB
--     entry is gone) under NPT, not under EPT;
--   * a walk under NPT reads the PDPE (a reference and its nested walk);
--   * a present PDPE with a reserved bit is no #GP at MOV CR3 under NPT
--     (nothing is loaded or checked): the walk through it faults, a #PF
--     with P and RSVD, as for a reserved bit at any other level.
-- The oracle keeps no registers for NPT domains (mutant
-- npt_pae_pdpte_cached, registers under NPT as under VMX, is killed here).

local function world(name, hap)
    local args = { name = name, gfns = 0x1000, ram = 0x800 }
    if hap then args.hap = hap end
    local d = domain(args)
    for g = 0x400, 0x4ff do d:write_phys(g * 4096, g) end
    local pae = d:pagetable{ root = 0x20, pool = 0x21, pool_pages = 16, mode = "pae" }
    pae:map(0x40001000, 0x401, "wuad")
    pae:map(0x40002000, 0x402, "wuad")
    -- A second page directory at gfn 0x30, its page table at 0x31:
    -- 0x40001000 -> gfn 0x411.
    d:write_phys(0x30 * 4096, (0x31 << 12) | PTE.P | PTE.W | PTE.U | PTE.A)
    d:write_phys(0x31 * 4096 + 8, (0x411 << 12) | PTE.P | PTE.W | PTE.U | PTE.A | PTE.D)
    return d, pae
end

local de, pe = world("intel", nil)
local dn, pn = world("amd", "npt")
local ve = de:vcpu{ cr3 = pe, mode = "pae", tlb = "intel", vpid = 1 }
local vn = dn:vcpu{ cr3 = pn, mode = "pae", tlb = "amd", vpid = 2 }

local re, rn = ve:read(0x40001000), vn:read(0x40001000)
expect(re.ok and re.value == 0x401 and rn.ok and rn.value == 0x401)
-- The EPT walk: PDE and PTE through the EPT (4 + 1 each), the final EPT
-- walk, A into the PDE: 15.  The NPT walk reads the PDPE as well.
expect_eq(re.refs, 2 * (4 + 1) + 4 + 1)
expect(rn.refs > re.refs, "the NPT walk reads the PDPE too: "
       .. rn.refs .. " > " .. re.refs)

-- PDPTE 1 rewritten in memory, no MOV CR3; the TLB entry dropped.
local pdpte1 = pe:entry(0x40000000, 3)
pe:set_entry(0x40000000, 3, (0x30 << 12) | PTE.P)
pn:set_entry(0x40000000, 3, (0x30 << 12) | PTE.P)
ve:invlpg(0x40001000)
vn:invlpg(0x40001000)
expect_eq(ve:read(0x40001000).value, 0x401, "EPT: the PDPTE register")
expect_eq(vn:read(0x40001000).value, 0x411, "NPT: the walk read the edited PDPE")
-- Only the MOV CR3 brings the Intel vCPU there.
ve:set{ cr3 = pe }
expect_eq(ve:read(0x40001000).value, 0x411, "EPT: after MOV CR3")
pe:set_entry(0x40000000, 3, pdpte1)
pn:set_entry(0x40000000, 3, pdpte1)
ve:set{ cr3 = pe }
vn:invlpg(0x40001000)
expect_eq(vn:read(0x40001000).value, 0x401, "NPT: back, again without MOV CR3")

-- A reserved bit (bit 1) in a present PDPE of another PDPT at gfn 0x34.
for _, d in ipairs{ de, dn } do
    d:write_phys(0x34 * 4096, pdpte1)
    d:write_phys(0x34 * 4096 + 8, (0x30 << 12) | PTE.P | PTE.W)
end
local cr3e = ve.cr3
ve:set{ cr3 = 0x34 << 12 }
expect_eq(ve.cr3, cr3e, "EPT: the load is a #GP(0), CR3 unchanged")
vn:set{ cr3 = 0x34 << 12 }
expect_eq(vn.cr3, 0x34 << 12, "NPT: MOV CR3 loads and checks nothing")
local g = vn:read(0x40001000)
expect_eq(g.kind, "pf", "the walk through the reserved PDPE")
expect_eq(g.ec, PF.P | PF.RSVD, "P and RSVD, as at any level")
-- The PDPE repaired in memory: the next walk uses it, no MOV CR3.
dn:write_phys(0x34 * 4096 + 8, (0x30 << 12) | PTE.P)
local ok = vn:read(0x40001000)
expect(ok.ok and ok.value == 0x411, "NPT: the repaired PDPE, read by the walk")
