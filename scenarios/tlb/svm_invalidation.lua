-- AMD SVM TLB invalidations (APM Vol. 2, 15.16), on a vCPU with the
-- AMD-like profile's TLBs; the ASID is the vCPU's VPID tag.
--   INVLPGA(va, asid): the translations of va's page in that ASID (any
--     PCID, global ones and a large page's entry covering va included) and
--     the ASID's cached upper-level entries;
--   TLB_CONTROL at VMRUN: 0 nothing, 1 the entire TLB, 3 every entry of
--     the guest's ASID, 7 its non-global entries.
-- Between a PTE rewrite and the invalidation the stale translation may be
-- used (the oracle's allowed set keeps it); after, only the fresh one.
-- Mutants tlb_control3_keep_global and invlpga_4k_only are caught here.

local d = domain{ name = "svm", gfns = 0x800, ram = 0x600 }
for g = 0x40, 0x4f do d:write_phys(g * 4096, g) end
d:write_phys(0x203 * 4096, 0x203)
d:write_phys(0x403 * 4096, 0x403)
local pt = d:pagetable{ root = 0x10 }
pt:map(0x1000, 0x40, "wad")
pt:map(0x2000, 0x41, "wadg")                  -- a global page
pt:map(0x200000, 0x200, "wad", 2)             -- a 2 MiB page
local v = d:vcpu{ cr3 = pt, tlb = "amd", vpid = 1, pge = true }

-- INVLPGA in the vCPU's ASID.
expect_eq(v:read(0x1000).value, 0x40)
pt:map(0x1000, 0x42, "wad")
expect_eq(v:read(0x1000).value, 0x40, "stale until invalidated (allowed)")
v:invlpga(0x1000)
expect_eq(v:read(0x1000).value, 0x42, "INVLPGA: the fresh translation")
-- INVLPGA of another ASID leaves this one's entries.
pt:map(0x1000, 0x43, "wad")
v:invlpga(0x1000, 2)
expect_eq(v:read(0x1000).value, 0x42, "ASID 2's INVLPGA: still stale")
v:invlpga(0x1000, 1)
expect_eq(v:read(0x1000).value, 0x43)

-- A 2 MiB page: INVLPGA of any address inside it drops its entry.
expect_eq(v:read(0x203000).value, 0x203)
pt:map(0x200000, 0x400, "wad", 2)
expect_eq(v:read(0x203000).value, 0x203, "stale 2 MiB entry (allowed)")
v:invlpga(0x205000)
expect_eq(v:read(0x203000).value, 0x403, "INVLPGA inside the large page")

-- TLB_CONTROL 7 keeps global entries, 3 does not.
expect_eq(v:read(0x2000).value, 0x41)
pt:map(0x2000, 0x44, "wadg")
pt:map(0x1000, 0x45, "wad")
v:tlb_control(7)
expect_eq(v:read(0x1000).value, 0x45, "TLB_CONTROL 7: non-global flushed")
expect_eq(v:read(0x2000).value, 0x41, "the global entry stays (allowed)")
v:tlb_control(3)
expect_eq(v:read(0x2000).value, 0x44, "TLB_CONTROL 3: globals too")

-- TLB_CONTROL 0 flushes nothing, 1 everything.
expect_eq(v:read(0x1000).value, 0x45, "cached again")
pt:map(0x1000, 0x46, "wad")
v:tlb_control(0)
expect_eq(v:read(0x1000).value, 0x45, "TLB_CONTROL 0: still the cached one")
v:tlb_control(1)
expect_eq(v:read(0x1000).value, 0x46, "TLB_CONTROL 1: everything")

-- Bad input.
local ok, err = pcall(v.tlb_control, v, 2)
expect(not ok and err:find("TLB_CONTROL must be 0, 1, 3 or 7"), "reserved value refused")
ok, err = pcall(v.invlpga, v, 0x1000, 0x10000)
expect(not ok and err:find("ASID"), "ASID out of range refused")
local w = d:vcpu{ cr3 = pt }
ok, err = pcall(w.invlpga, w, 0x1000)
expect(not ok and err:find("no TLBs"), "a vCPU without TLBs has none to flush")
