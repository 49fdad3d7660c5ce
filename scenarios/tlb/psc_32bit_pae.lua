-- PDE caches in 32-bit and PAE paging (SDM Vol. 3A 4.10.3.1: with 32-bit
-- and PAE paging a processor may cache PDEs -- each maps 4 MiB resp. 2 MiB
-- of linear space -- but no upper levels; the PAE PDPTEs are registers,
-- see pae_pdpte_registers.lua).  A walk under a cached PDE reads only the
-- PTE, at the cached page table's host address; after the guest rewrites
-- the PDE without invalidating, a page never accessed before may still be
-- translated through the old table, until INVLPG (of any address), MOV CR3
-- or a #PF for an address under it.  The oracle keeps the cached PDEs per
-- paging mode.  Mutants psc_invlpg_keep and psc_cr3_keep are caught here.

local d = domain{ name = "psc32", gfns = 0x1000, ram = 0x800 }
for g = 0x400, 0x4ff do d:write_phys(g * 4096, g) end
local PA = PTE.P | PTE.W | PTE.U | PTE.A | PTE.D

-- 32-bit: table A from the builder maps 0x00400000 + i*4K -> gfn 0x400 + i;
-- table B (gfn 0x40, 4-byte entries) maps the same pages -> gfn 0x480 + i.
local p32 = d:pagetable{ root = 0x10, pool = 0x11, pool_pages = 8, mode = "32" }
for i = 0, 15 do p32:map(0x00400000 + i * 4096, 0x400 + i, "wuad") end
local pdeA = p32:entry(0x00400000, 2) | PTE.A
p32:set_entry(0x00400000, 2, pdeA)
local PTB = 0x40
for i = 0, 15 do d:write_phys(PTB * 4096 + 4 * i, ((0x480 + i) << 12) | PA, 4) end
local pdeB = (PTB << 12) | PTE.P | PTE.W | PTE.U | PTE.A

local v = d:vcpu{ cr3 = p32, mode = "32", tlb = "intel", vpid = 1 }
local r = v:read(0x00400000, 4)
expect(r.ok and r.value == 0x400 and r.tlb == "walk")
expect_eq(r.refs, 2 * (4 + 1) + 4, "full 32-bit walk: 2 entries, 3 EPT walks")
r = v:read(0x00401000, 4)
expect_eq(r.value, 0x401)
expect_eq(r.refs, 1 + 4, "PDE cache hit: the PTE at its cached host address + the final EPT walk")
expect_eq(v:tlb_stats().psc_hits, 1)

p32:set_entry(0x00400000, 2, pdeB)
expect_eq(v:read(0x00402000, 4).value, 0x402, "stale PDE (table A) for a new page: allowed")
v:invlpg(0x00100000)
r = v:read(0x00403000, 4)
expect_eq(r.value, 0x483, "INVLPG of any address dropped the PDE cache: table B")
expect_eq(r.refs, 2 * (4 + 1) + 4)
-- Back to table A; MOV CR3 drops the cached PDE (table B).
p32:set_entry(0x00400000, 2, pdeA)
expect_eq(v:read(0x00404000, 4).value, 0x484, "stale: table B still cached")
v:set{ cr3 = p32 }
expect_eq(v:read(0x00405000, 4).value, 0x405, "MOV CR3: table A")
-- A #PF drops the cached PDE that would translate its address.
p32:set_entry(0x00400000, 2, pdeB)
d:write_phys(PTB * 4096 + 4 * 6, 0, 4)          -- table B: page 6 not present
expect_eq(v:read(0x00406000, 4).value, 0x406, "stale (table A)")
local PTA = (pdeA >> 12) & 0xFFFFF
d:write_phys(PTA * 4096 + 4 * 7, 0, 4)          -- table A: page 7 not present
expect(v:read(0x00407000, 4).pf, "#PF through the cached table A")
expect_eq(v:read(0x00408000, 4).value, 0x488, "the #PF dropped it: table B")

-- PAE: the PDE cache (2 MiB per PDE) next to the PDPTE registers.
local pae = d:pagetable{ root = 0x20, pool = 0x21, pool_pages = 8, mode = "pae" }
for i = 0, 15 do pae:map(0x40000000 + i * 4096, 0x400 + i, "wuad") end
local pdeA2 = pae:entry(0x40000000, 2) | PTE.A
pae:set_entry(0x40000000, 2, pdeA2)
local PTB2 = 0x41
for i = 0, 15 do d:write_phys(PTB2 * 4096 + 8 * i, ((0x490 + i) << 12) | PA) end
local pdeB2 = (PTB2 << 12) | PTE.P | PTE.W | PTE.U | PTE.A
v:set{ cr3 = pae, mode = "pae" }
r = v:read(0x40000000, 4)
expect(r.ok and r.value == 0x400)
expect_eq(r.refs, 2 * (4 + 1) + 4, "PAE: PDPTE from its register, PDE, PTE, final")
r = v:read(0x40001000, 4)
expect_eq(r.refs, 1 + 4, "PAE PDE cache hit")
pae:set_entry(0x40000000, 2, pdeB2)
expect_eq(v:read(0x40002000, 4).value, 0x402, "stale PAE PDE: allowed")
v:invpcid(1, 0)
expect_eq(v:read(0x40003000, 4).value, 0x493, "INVPCID 1 of PCID 0: table B")
-- A 32-bit PDE cached for the same numbers does not serve PAE: back in
-- 32-bit mode (a CR4 change flushes), then PAE again.
v:set{ cr3 = p32, mode = "32" }
expect_eq(v:read(0x00409000, 4).value, 0x489)
v:set{ cr3 = pae, mode = "pae" }
expect_eq(v:read(0x40004000, 4).value, 0x494)
