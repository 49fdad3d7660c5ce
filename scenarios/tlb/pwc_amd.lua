-- The AMD page walk cache (AMD-like profile, tlb = "amd"): upper-level
-- guest entries (PML4E, PDPTE, PDE) are cached under their own
-- guest-physical address, not under the linear-address prefix of the
-- Intel paging-structure caches (SDM 4.10.3).  So:
--   * a walk of a linear address never walked before hits every cached
--     entry its walk reaches -- here two PML4 slots share one PDPT;
--   * a walk through another table misses even for a prefix walked
--     before (a second page table under the same PCID);
--   * a stale cached entry may be used until INVLPG (any address: all
--     upper-level entries go, APM vol. 2 5.5.2), MOV CR3, INVLPGA or
--     TLB_CONTROL 3/7 (APM 15.16) drops it, never after.
-- The oracle keeps the entries a CPU may hold keyed by entry address.
-- Mutants pwc_keep_on_invlpg, pwc_keyed_by_prefix, pwc_keep_on_invlpga
-- and pwc_keep_on_tlbctl are caught here.

local HI = 1 << 39                           -- PML4 slot 1
local d = domain{ name = "pwc", gfns = 0x400, ram = 0x200 }
for g = 0x40, 0x7f do d:write_phys(g * 4096, g) end
local pt = d:pagetable{ root = 0x10, pool = 0x11, pool_pages = 8 }
-- 0x200000 + i*4K -> gfn 0x40 + i through table A (the builder's).
for i = 0, 31 do pt:map(0x200000 + i * 4096, 0x40 + i, "wuad") end
local pdeA = pt:entry(0x200000, 2)
-- PML4 slot 1 points at the same PDPT as slot 0: HI + x walks through
-- the same PDPTE and PDE as x.
pt:set_entry(HI, 4, pt:entry(0, 4))
-- Table B at gfn 0x30, written by hand: page i -> gfn 0x60 + i.
local PTB = 0x30
for i = 0, 31 do
  d:write_phys(PTB * 4096 + 8 * i, ((0x60 + i) << 12) | PTE.P | PTE.W | PTE.U | PTE.A | PTE.D)
end
local pdeB = (PTB << 12) | PTE.P | PTE.W | PTE.U | PTE.A

local v = d:vcpu{ cr3 = pt, tlb = "amd", vpid = 1 }

-- A full 2D walk fills the PML4E, PDPTE and PDE under their addresses.
local r = v:read(0x200000)
expect(r.ok and r.value == 0x40 and r.tlb == "walk")
expect_eq(r.refs, 27, "full 2D walk: 4 x (EPT walk + entry) + the final EPT walk + 3 A flags")
-- Same prefix: the three upper entries hit; the page table's gpa is still
-- translated (the cache holds the entry, not a combined mapping).
r = v:read(0x201000)
expect_eq(r.value, 0x41)
expect_eq(r.refs, 9, "PTE: its table's EPT walk + the read; the final EPT walk")
expect_eq(v:tlb_stats().psc_hits, 1)

-- A linear address never walked, through PML4 slot 1: its PML4E misses,
-- the shared PDPTE and PDE hit (an Intel PSC would miss all three).
r = v:read(HI + 0x202000)
expect_eq(r.value, 0x42)
expect_eq(r.refs, 15, "PML4E read (and its A flag), PDPTE and PDE from the cache, PTE read")
expect_eq(v:tlb_stats().psc_hits, 2)

-- The guest points the shared PDE at table B without invalidating: a
-- page never accessed, under a prefix never walked with it, still goes
-- through the cached PDE (table A).
pt:set_entry(0x200000, 2, pdeB)
expect_eq(v:read(HI + 0x203000).value, 0x43, "stale PWC entry via the shared PD (allowed)")
-- INVLPG of an unrelated page drops every cached upper-level entry.
v:invlpg(0x1000)
expect_eq(v:read(HI + 0x204000).value, 0x64, "after INVLPG: table B")
expect_eq(v:read(0x205000).value, 0x65)

-- INVLPGA: another ASID's leaves this one's entries; its own drops them.
pt:set_entry(0x200000, 2, pdeA)
expect_eq(v:read(0x206000).value, 0x66, "stale: table B still cached")
v:invlpga(0x1000, 2)
expect_eq(v:read(0x207000).value, 0x67, "ASID 2's INVLPGA: still table B (allowed)")
v:invlpga(0x1000)
expect_eq(v:read(0x208000).value, 0x48, "INVLPGA: table A")

-- TLB_CONTROL 7 (the ASID's non-global entries) drops them too: upper-
-- level entries are never global.
pt:set_entry(0x200000, 2, pdeB)
expect_eq(v:read(0x209000).value, 0x49, "stale: table A still cached")
v:tlb_control(7)
expect_eq(v:read(0x20a000).value, 0x6a, "TLB_CONTROL 7: table B")

-- Keyed by address, not prefix: a second page table (own PML4, PDPT, PD,
-- PT) mapping the same addresses elsewhere, loaded with the no-flush bit
-- under the same PCID.  The PCID's cached entries stay, but none sits
-- at an address the new walk reaches: a fresh walk (an Intel PSC, keyed
-- by prefix, could have used the old tables' entries).
local pt2 = d:pagetable{ root = 0x20, pool = 0x21, pool_pages = 8 }
for i = 0, 31 do pt2:map(0x200000 + i * 4096, 0x70 - i % 16, "wuad") end
v:set{ pcide = true, pcid = 1 }
pt:set_entry(0x200000, 2, pdeA)
expect_eq(v:read(0x20b000).value, 0x4b)
v:set{ cr3 = pt2.cr3 | 1 | (1 << 63) }
r = v:read(0x20c000)
expect_eq(r.value, 0x70 - 12, "the second table's walk: no entry of the first")
expect_eq(r.refs, 27, "a full walk (setting 3 A flags)")
v:set{ cr3 = pt.cr3 | 1 | (1 << 63) }
expect_eq(v:read(0x20d000).value, 0x4d, "back: the first tables' entries")
-- MOV CR3 without the no-flush bit drops the PCID's entries.
pt:set_entry(0x200000, 2, pdeB)
v:set{ cr3 = pt.cr3 | 1 }
expect_eq(v:read(0x20e000).value, 0x6e, "MOV CR3: table B")
