-- Hypervisor interventions under shadow paging.  Where the P2M refuses an
-- access there is no shadow entry (or only a read-only one), so the
-- processor raises a #PF that Xen intercepts (sh_page_fault()); it finds
-- the gfn by walking the guest tables and does what
-- hvm_hap_nested_page_fault() does under EPT: populate-on-demand, emulate
-- MMIO (mmio_dm: no device model, reads float high), emulate and drop a
-- write to ram_ro.  The guest never sees these #PFs.  Mem paging needs
-- HAP (vm_event_domctl(): "Only HAP is supported"): -ENODEV.

local ENODEV = -19
local d = domain{ name = "sh", gfns = 0x200, ram = 0x80, hap = "none" }
local pt = d:pagetable{ root = 0x10 }
pt:map(0x400000, 0x30, "w")          -- RAM, to become ram_ro
pt:map(0x401000, 0x150, "w")         -- a hole: mmio_dm
pt:map(0x402000, 0x100, "w")         -- populate-on-demand
local v = d:vcpu{ cr3 = pt }
expect(v:write(0x400000, 0x1111).ok)

-- ram_ro: the write is intercepted, emulated and dropped.
expect_eq(d:set_mem_type(0x30, "ram_ro"), 0)
local w = v:write(0x400000, 0x2222)
expect_eq(w.kind, "discard")
expect_eq(w.nexits, 1)
expect_eq(w.exits[1].kind, "shadow_pf")
expect_eq(w.exits[1].qual, EPTQ.W | EPTQ.GLA_VALID | EPTQ.GLA_XLATE)
expect_eq(w.exits[1].gpa, 0x30000)
local r = v:read(0x400000)
expect(r.ok and r.nexits == 0, "reads of ram_ro need no intervention")
expect_eq(r.value, 0x1111, "memory unchanged")

-- mmio_dm: emulated; no device model, so a read floats high.  The
-- emulator's own walk sets the guest A/D bits.
local m = v:read(0x401000, 4)
expect_eq(m.kind, "mmio")
expect_eq(m.exits[1].kind, "shadow_pf")
expect_eq(m.exits[1].qual, EPTQ.R | EPTQ.GLA_VALID | EPTQ.GLA_XLATE)
expect_eq(m.exits[1].gpa, 0x150000)
expect_eq(m.value, 0xffffffff)
expect(pt:entry(0x401000, 1) & PTE.A ~= 0, "the emulator set A")

-- (A paging structure in a hole, refused during the walk itself, is in
-- tests/unit/test_shadow.c: KVM has no counterpart for hardware replay.)

-- Populate-on-demand: the first touch populates from the cache.
expect_eq(d:populate_pod(0x100), 0)
expect_eq(d:pod_target(1), 0)
local p = v:write(0x402000, 0x77)
expect(p.ok)
expect_eq(p.nexits, 1, "one intercepted #PF populates")
expect_eq(p.exits[1].kind, "shadow_pf")
expect_eq(d:type(0x100), "ram_rw")
expect_eq(v:read(0x402000).value, 0x77)

-- No mem paging without HAP; it works on an EPT domain.
expect_eq(d:paging_enable(), ENODEV)
local e = domain{ name = "ept", gfns = 0x100, ram = 0x40 }
expect_eq(e:paging_enable(), 0)
