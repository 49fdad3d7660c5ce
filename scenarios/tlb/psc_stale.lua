-- Paging-structure caches (SDM Vol. 3A 4.10.3, 4.10.4.1; Vol. 3C 28.4): a
-- walk may start from a cached PDE (a combined mapping: the page table's
-- host address and the rights above it) and skip the upper levels, also
-- after the guest rewrote that PDE without invalidating.  The oracle keeps
-- the PSC entries a CPU may hold and accepts such a walk until the
-- invalidation the SDM requires: INVLPG of *any* address drops every PSC
-- entry of the current PCID; MOV CR3 without the no-flush bit drops those
-- of the new PCID; with it (PCIDE=1) nothing; INVPCID 1 those of its PCID.
-- Mutants psc_invlpg_keep and psc_cr3_keep are caught here.

local d = domain{ name = "psc", gfns = 0x400, ram = 0x200 }
for g = 0x40, 0x5f do d:write_phys(g * 4096, g) end
local pt = d:pagetable{ root = 0x10, pool = 0x11, pool_pages = 8 }
-- 2 MiB region at 0x200000, page i -> gfn 0x40 + i through the builder's
-- page table (call it A) ...
for i = 0, 15 do pt:map(0x200000 + i * 4096, 0x40 + i, "wuad") end
local pdeA = pt:entry(0x200000, 2)
-- ... and a second page table B at gfn 0x30, written by hand: page i ->
-- gfn 0x50 + i.
local PTB = 0x30
for i = 0, 15 do
  d:write_phys(PTB * 4096 + 8 * i, ((0x50 + i) << 12) | PTE.P | PTE.W | PTE.U | PTE.A | PTE.D)
end
local pdeB = (PTB << 12) | PTE.P | PTE.W | PTE.U | PTE.A

local v = d:vcpu{ cr3 = pt, tlb = "intel", vpid = 1 }

local r = v:read(0x200000)
expect(r.ok and r.value == 0x40 and r.tlb == "walk")
r = v:read(0x201000)
expect_eq(r.value, 0x41)
expect_eq(r.refs, 1 + 4, "PDE cache hit: the PTE read at its cached host address + the final EPT walk")
local st = v:tlb_stats()
expect_eq(st.psc_hits, 1)
expect(st.epsc_hits >= 1, "the final gpa's EPT walk started from a cached EPT PDE")

-- The guest points the PDE at table B and does not invalidate: the cached
-- PDE (table A) may still be used for a page never accessed before.
pt:set_entry(0x200000, 2, pdeB)
r = v:read(0x202000)
expect_eq(r.value, 0x42, "stale PDE cache entry: table A (allowed)")

-- INVLPG of an unrelated page drops every PSC entry of the PCID; the TLB
-- entry for 0x202000 may stay.
v:invlpg(0x1000)
r = v:read(0x203000)
expect_eq(r.value, 0x53, "after INVLPG(any address): a full walk through table B")
expect_eq(r.refs, 24, "full 2D walk (A already set)")

-- MOV CR3 (no PCIDE) drops the PSCs: cache table B's PDE, point it back at
-- A, reload CR3.
r = v:read(0x204000)
expect_eq(r.value, 0x54)
pt:set_entry(0x200000, 2, pdeA)
expect_eq(v:read(0x205000).value, 0x55, "stale: table B still cached")
v:set{ cr3 = pt }
expect_eq(v:read(0x206000).value, 0x46, "MOV CR3 flushed the PSCs: table A")

-- PCIDs: MOV CR3 with the no-flush bit keeps PCID 1's PSC entries;
-- INVPCID type 1 drops them.
v:set{ pcide = true, pcid = 1 }
expect_eq(v:read(0x207000).value, 0x47)
pt:set_entry(0x200000, 2, pdeB)
v:set{ cr3 = pt.cr3 | 1 | (1 << 63) }
expect_eq(v:read(0x208000).value, 0x48, "no-flush MOV CR3: cached table A kept (allowed)")
v:invpcid(1, 1)
expect_eq(v:read(0x209000).value, 0x59, "INVPCID 1: table B")

-- A #PF drops the PSC entries that would translate its address.
pt:set_entry(0x200000, 2, pdeA)
d:write_phys(0x10 * 4096, 0)                 -- PML4E 0 gone (no INVLPG)
r = v:read(0x20a000)
expect(r.ok and r.value == 0x5a, "cached PDE (table B) skips the missing PML4E (allowed)")
v:set{ cr3 = pt.cr3 | 1 }                     -- flush PCID 1
r = v:read(0x20b000)
expect(r.pf, "a full walk meets the missing PML4E")
