-- TLBs (SDM Vol. 3A 4.10, Vol. 3C 28.4): a vCPU with the Intel profile's
-- TLBs keeps using a translation after the guest rewrites its PTE, until
-- the invalidation the SDM requires; the oracle accepts exactly the
-- translations not yet invalidated.  PCIDs with the MOV CR3 no-flush bit,
-- global pages, INVPCID types, INVVPID, INVEPT, the #PF that invalidates,
-- and the hypervisor's flush after P2M changes.

local d = domain{ name = "tlb", gfns = 0x400, ram = 0x200 }
for g = 0x40, 0x4f do d:write_phys(g * 4096, g) end
local pt = d:pagetable{ root = 0x10 }
pt:map(0x1000, 0x40, "wuad")
pt:map(0x2000, 0x41, "wuadg")                -- a global page
local v = d:vcpu{ cr3 = pt, tlb = "intel", vpid = 1, pge = true }

local r = v:read(0x1000)
expect(r.ok and r.value == 0x40 and r.tlb == "walk")
expect_eq(r.refs, 24 + 3, "first access: the full 2D walk + A on 3 tables")
r = v:read(0x1000)
expect(r.tlb == "l1" and r.refs == 0 and r.value == 0x40, "then an L1 hit")
expect_eq(r.cycles, 1)

-- The guest remaps the page without INVLPG: the stale translation stays.
pt:map(0x1000, 0x42, "wuad")
expect_eq(v:read(0x1000).value, 0x40, "stale until invalidated (allowed)")
v:invlpg(0x1000)
r = v:read(0x1000)
expect(r.value == 0x42 and r.tlb == "walk", "INVLPG: the fresh translation")

-- A #PF invalidates: make it read-only, write (stale rights say RW).
pt:map(0x1000, 0x42, "uad")
expect(v:write(0x1000, 1).ok, "stale writable entry may be used")
v:invlpg(0x1000)
local w = v:write(0x1000, 1)
expect(w.pf and w.ec == PF.P | PF.W, "after INVLPG the R/O PTE faults")
d:write_phys(0x42 * 4096, 0x42)

-- Rights are re-checked on hits: SMAP applies to a cached user page.
v:read(0x2000)
v:set{ smap = true }                          -- MOV CR4: flushes (allowed)
v:read(0x2000, 8)
v:set{ ac = true }
r = v:read(0x2000)
expect(r.ok, "EFLAGS.AC=1")
expect_eq(v:read(0x2000).tlb, "l1")
v:set{ ac = false }
r = v:read(0x2000)
expect(r.pf and r.ec == PF.P, "SMAP from a cached entry")
v:set{ smap = false }

-- PCIDs: two address spaces, switches with and without the no-flush bit.
local pt2 = d:pagetable{ root = 0x20, pool = 0x21, pool_pages = 16 }
pt2:map(0x1000, 0x44, "wuad")
pt2:map(0x2000, 0x41, "wuadg")
v:set{ pcide = true, pcid = 1 }
expect_eq(v:read(0x1000).value, 0x42)
v:set{ cr3 = pt2.cr3 | 2 }                    -- PCID 2, flush PCID 2
expect_eq(v:read(0x1000).value, 0x44)
pt:map(0x1000, 0x45, "wuad")                  -- PCID 1's space changes
v:set{ cr3 = pt.cr3 | 1 | (1 << 63) }          -- back to PCID 1, no flush
expect_eq(v:read(0x1000).value, 0x42, "no-flush: PCID 1 entries kept")
v:set{ cr3 = pt.cr3 | 1 }                     -- same, flushing
expect_eq(v:read(0x1000).value, 0x45, "MOV CR3 without bit 63 flushes")

-- Globals survive MOV CR3 and match every PCID; INVPCID 3 keeps them,
-- INVPCID 2 drops them.
expect_eq(v:read(0x2000).value, 0x41)
pt:map(0x2000, 0x46, "wuadg")
pt2:map(0x2000, 0x46, "wuadg")
v:set{ cr3 = pt.cr3 | 1 }
expect_eq(v:read(0x2000).value, 0x41, "global entry survives MOV CR3")
v:set{ cr3 = pt2.cr3 | 2 }
expect_eq(v:read(0x2000).value, 0x41, "... and serves PCID 2")
v:invpcid(3)
expect_eq(v:read(0x2000).value, 0x41, "INVPCID 3 keeps globals")
v:invpcid(2)
expect_eq(v:read(0x2000).value, 0x46, "INVPCID 2 drops them")
-- INVPCID 0: one address of one PCID; INVPCID 1: one PCID.
v:read(0x1000)
pt2:map(0x1000, 0x47, "wuad")
v:invpcid(0, 1, 0x1000)                        -- another PCID: no effect
expect_eq(v:read(0x1000).value, 0x44)
v:invpcid(0, 2, 0x1000)
expect_eq(v:read(0x1000).value, 0x47)
pt2:map(0x1000, 0x48, "wuad")
v:invpcid(1, 2)
expect_eq(v:read(0x1000).value, 0x48, "INVPCID 1: the whole PCID")

-- INVVPID: another VPID's entries are not touched; this one's are.
pt2:map(0x1000, 0x49, "wuad")
v:invvpid(1, 0, 7)
expect_eq(v:read(0x1000).value, 0x48, "INVVPID of VPID 7 leaves VPID 1")
v:invvpid(0, 0x1000)
expect_eq(v:read(0x1000).value, 0x49, "INVVPID 0: the address")
pt2:map(0x1000, 0x4a, "wuad")
v:invept(1)
expect_eq(v:read(0x1000).value, 0x4a, "INVEPT single context")

-- The hypervisor flushes after P2M changes (here: log-dirty enable makes
-- the page read-only in the EPT; the cached writable mapping must go, so
-- the write faults to Xen and gets logged).
v:write(0x1000, 5)
expect_eq(d:logdirty_enable(), 0)
w = v:write(0x1000, 6)
expect(w.ok and w.nexits >= 1 and w.tlb == "walk", "flushed by the P2M change")
local found = false
for _, g in ipairs(d:peek_dirty()) do if g == 0x4a then found = true end end
expect(found, "the write was logged")
local st = v:tlb_stats()
expect(st.walks > 0 and st.l1_hits > 0 and st.cycles > 0)
