-- TLBs and invalidation under shadow paging.  The processor caches the
-- shadow translations like native ones; the guest's own edits are seen
-- after INVLPG or MOV CR3 as natively.  A P2M change makes Xen drop the
-- shadows it built from the old entry (sh_remove_all_mappings(), or
-- shadow_blow_tables() for global changes) and flush the TLBs: modelled,
-- as for EPT, by flushing every vCPU's TLBs and paging-structure caches
-- after any hypervisor operation.  A walk costs the guest entries only.

local d = domain{ name = "shtlb", gfns = 0x400, ram = 0x200, hap = "none" }
for g = 0x40, 0x4f do d:write_phys(g * 4096, g) end
local pt = d:pagetable{ root = 0x10 }
pt:map(0x1000, 0x40, "wuad")
pt:map(0x2000, 0x41, "wuad")
local v = d:vcpu{ cr3 = pt, tlb = "intel", vpid = 1 }

local r = v:read(0x1000)
expect(r.ok and r.value == 0x40 and r.tlb == "walk")
expect_eq(r.refs, 4 + 3, "a 1D walk + A on the 3 tables")
r = v:read(0x1000)
expect(r.tlb == "l1" and r.refs == 0)
local w = v:read(0x2000)
expect_eq(w.tlb, "walk")
expect_eq(w.refs, 1, "the PDE is in the paging-structure cache: only the PTE is read")

-- A guest edit without invalidation may stay stale; INVLPG ends it.
pt:map(0x1000, 0x42, "wuad")
expect_eq(v:read(0x1000).value, 0x40, "stale until invalidated (allowed)")
v:invlpg(0x1000)
expect_eq(v:read(0x1000).value, 0x42)

-- A P2M change (the frame behind gfn 0x42 goes away) flushes: the next
-- access is intercepted and emulated as MMIO, never the old frame.
expect_eq(d:remove(0x42), 0)
local m = v:read(0x1000)
expect_eq(m.kind, "mmio")
expect_eq(m.exits[1].kind, "shadow_pf")

-- Log-dirty: enabling it write-protects every shadow entry (a P2M change,
-- so a flush); the first write to a cached translation faults.
expect(v:write(0x2000, 5).ok)
expect_eq(d:logdirty_enable(), 0)
local lw = v:write(0x2000, 6)
expect(lw.ok)
expect_eq(lw.nexits, 1, "the flushed, write-protected entry faults once")
expect_eq(d:peek_dirty()[1], 0x41)
expect_eq(v:write(0x2008, 7).nexits, 0)
expect_eq(d:logdirty_disable(), 0)
