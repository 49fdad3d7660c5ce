-- Every guest paging mode (SDM Vol. 3A 4.3-4.5): 32-bit with 4 MiB pages
-- (CR4.PSE, PSE-36 off), PAE with its four PDPTEs, 4-level with 2 MiB and
-- 1 GiB pages, 5-level (LA57); paging off; canonical addresses (#GP, not
-- #PF); 24 references for a 4-level x 4-level walk, 29 for 5-level.

local d = domain{ name = "modes", gfns = 0x1000, ram = 0x800 }
for g = 0x400, 0x7ff do d:write_phys(g * 4096 + 0x88, g) end -- tag each page

-- 32-bit paging: 4-byte entries, 10-bit indices.
local p32 = d:pagetable{ root = 0x10, pool = 0x11, pool_pages = 16, mode = "32" }
p32:map(0x00401000, 0x401, "wu")
p32:map(0x00800000, 0x400, "w", 2)             -- a 4 MiB page (PS in the PDE)
local v = d:vcpu{ cr3 = p32, mode = "32", pse = true }
expect_eq(v.mode, "32")
local r = v:read(0x00401088, 4)
expect(r.ok and r.value == 0x401, "32-bit 4 KiB page")
expect_eq(r.refs, 2 + 2 * 4 + 4 + 2, "2 entries, 3 EPT walks, A on both")
r = v:read(0x00800000 + 0x5 * 4096 + 0x88, 4)
expect(r.ok and r.value == 0x405, "32-bit 4 MiB page")
expect_eq(r.gpa, 0x405088)
expect(p32:entry(0x00800000, 2) & PTE.A ~= 0, "A set in the 4 MiB PDE")
r = v:read(0x1234567800401088)
expect_eq(r.gpa, 0x401088, "the linear address is 32 bits: upper bits dropped")
expect_eq(v:read(0x1234567800000088).cr2, 0x88, "... and CR2 holds 32 bits")
v:set{ pse = false }                            -- PS ignored: PDE is a table
r = v:read(0x00800000)
expect(r.pf or r.ok, "without CR4.PSE the 4 MiB PDE is a table pointer")
v:set{ pse = true }
-- 4 MiB PDE: bits 21:13 reserved (PSE-36 off).
p32:set_entry(0x00800000, 2, 0x400000 | PTE.P | PTE.W | PTE.PS | (1 << 13))
expect_eq(v:read(0x00800000).ec, PF.P | PF.RSVD)
v:write(0x00800000, 1)

-- PAE paging: PDPTE (no U/W/A), 2 MiB pages; bit 63 is XD with NXE.
local pae = d:pagetable{ root = 0x20, pool = 0x21, pool_pages = 16, mode = "pae" }
pae:map(0x40001000, 0x402, "wu")
pae:map(0x80200000, 0x600, "wun", 2)            -- 2 MiB page
v:set{ cr3 = pae, mode = "pae", nxe = true }
expect_eq(v.mode, "pae")
r = v:read(0x40001088, 4)
expect(r.ok and r.value == 0x402, "PAE 4 KiB page")
expect_eq(pae:entry(0x40001000, 3) & PTE.A, 0, "PDPTEs have no A flag")
r = v:read(0x80200000 + 0x7 * 4096 + 0x88, 4)
expect(r.ok and r.value == 0x607, "PAE 2 MiB page")
expect_eq(v:exec(0x80200000).ec, PF.P | PF.ID, "XD in a 2 MiB PDE")
-- A PDPTE with reserved bits (bit 1): #GP, as its load would have given;
-- under AMD nested paging (make npt) nothing loads the PDPEs and the
-- walk's read finds the bit: #PF with P and RSVD.
pae:set_entry(0xC0000000, 3, 0x30000 | PTE.P | PTE.W)
if d:hap() == "npt" then
    expect_eq(v:read(0xC0000000).ec, PF.P | PF.RSVD, "NPT: reserved PDPE bits give #PF")
else
    expect(v:read(0xC0000000).gp, "reserved PDPTE bits give #GP")
end
-- 2 MiB PDE: bits 20:13 reserved; PAE entries: bits 62:52 reserved.
pae:set_entry(0x80200000, 2, 0x600000 | PTE.P | PTE.W | PTE.U | PTE.PS | (1 << 14))
expect_eq(v:read(0x80200000).ec, PF.P | PF.RSVD)
pae:set_entry(0x80200000, 2, 0x600000 | PTE.P | PTE.W | PTE.U | PTE.PS | (1 << 52))
expect_eq(v:write(0x80200000, 1).ec, PF.P | PF.W | PF.RSVD)

-- 4-level: 2 MiB and 1 GiB pages, canonical check, MAXPHYADDR.
local p4 = d:pagetable{ root = 0x30, pool = 0x31, pool_pages = 16 }
p4:map(0x200000, 0x600, "wu", 2)
p4:map(0x40000000, 0x0, "w", 3)                 -- 1 GiB page at gfn 0
p4:map(0x7000, 0x403, "w")
v:set{ cr3 = p4, mode = "4", maxphyaddr = 46 }
expect_eq(v.mode, "4")
r = v:read(0x7088, 4)
expect(r.ok and r.value == 0x403)
expect_eq(r.refs, 24 + 4, "4x4 2D walk = 24 refs, + 4 A-bit writes")
expect_eq(v:read(0x7088, 4).refs, 24, "a full 4-level x 4-level walk: 24")
r = v:read(0x200000 + 0x1ff * 4096 + 0x88, 4)
expect(r.ok and r.value == 0x7ff, "4-level 2 MiB page, last 4 KiB of it")
expect_eq(v:read(0x200088, 4).refs, 3 + 4 * 4, "2 MiB leaf: 3 entries + 4 EPT walks")
r = v:write(0x40000000 + 0x404 * 4096 + 0x10, 0x55)
expect(r.ok and r.gpa == 0x404010, "4-level 1 GiB page")
expect(p4:entry(0x40000000, 3) & PTE.D ~= 0, "D set in the 1 GiB PDPTE")
local gp = v:read(0x0000800000000000)
expect(gp.gp and gp.kind == "gp", "non-canonical: #GP, not #PF")
expect(v:read(0xffff800000000000).pf, "canonical upper half: walks (not present)")
-- Bits 51:MAXPHYADDR are reserved (46 here): bit 47 in a PTE.
p4:set_entry(0x7000, 1, (1 << 47) | 0x403000 | PTE.P | PTE.W)
expect_eq(v:read(0x7000).ec, PF.P | PF.RSVD)
v:set{ maxphyaddr = 48 }
expect(v:read(0x7000).mmio, "with MAXPHYADDR 48 bit 47 is an address bit")
v:set{ maxphyaddr = 46 }
p4:set_entry(0x7000, 1, 0x403000 | PTE.P | PTE.W)
-- PS in a PML4E is reserved; bit 63 is reserved with NXE=0.
v:set{ nxe = false }
p4:set_entry(0x7000, 1, 0x403000 | PTE.P | PTE.W | PTE.NX)
expect_eq(v:exec(0x7000).ec, PF.P | PF.RSVD, "XD reserved with NXE=0, no I/D")
v:set{ nxe = true }
expect_eq(v:exec(0x7000).ec, PF.P | PF.ID)
p4:set_entry(0x7000, 4, p4:entry(0x7000, 4) | PTE.PS)
expect_eq(v:read(0x7000).ec, PF.P | PF.RSVD, "PS in a PML4E")
-- 1 GiB leaf: bits 29:13 reserved.
p4:set_entry(0x40000000, 3, PTE.P | PTE.W | PTE.PS | (1 << 20))
expect_eq(v:read(0x40000000).ec, PF.P | PF.RSVD)

-- 5-level (LA57): 57-bit canonical addresses, 5 x 5 walk = 29 references.
local p5 = d:pagetable{ root = 0x40, pool = 0x41, pool_pages = 16, mode = "5" }
p5:map(0x00ff000000001000, 0x405, "w")
p5:map(0x00ff000000400000, 0x600, "w", 2)
v:set{ cr3 = p5, mode = "5" }
expect_eq(v.mode, "5")
r = v:read(0x00ff000000001088, 4)
expect(r.ok and r.value == 0x405, "5-level 4 KiB page at a 57-bit address")
expect_eq(v:read(0x00ff000000001088, 4).refs, 5 + 5 * 4 + 4, "5x4 2D walk")
expect(v:read(0x00ff000000400000 + 0x3088, 4).value == 0x603, "5-level 2 MiB page")
expect(v:read(0x0100000000000000).gp, "bit 56 != bits 63:57: #GP")
expect(v:read(0xff00000000000000).pf, "57-bit canonical upper half walks")
v:set{ mode = "4" }
expect(v:read(0x00ff000000001088).gp, "the same address is not 48-bit canonical")

-- Paging off: linear = guest-physical (32 bits), only the EPT translates.
v:set{ mode = "none" }
r = v:read(0x405088, 4)
expect(r.ok and r.value == 0x405 and r.refs == 4, "CR0.PG=0: one EPT walk")
