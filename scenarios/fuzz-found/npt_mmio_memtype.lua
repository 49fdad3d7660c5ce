-- Found by `pagesim fuzz` (the direct-MMIO operations in an NPT domain): a
-- guest access to an mmio_direct gfn of a domain{ hap = "npt" }.  The
-- oracle expected EPT's answer (UC with ignore-PAT, epte_get_entry_emt());
-- the model gave WB, the type of every NPT leaf.  Neither was AMD's: a
-- nested leaf's memory type comes from its PAT index (PWT bit 3, PCD bit
-- 4, PAT bit 7 / 12) through the host's PAT MSR (APM 15.25.8), which Xen
-- loads with XEN_MSR_PAT (entries WB, WT, UC-, UC, WC, WP, UC, UC), and
-- p2m-pt's p2m_type_to_flags() gives mmio_direct PCD: entry 2, UC- (PAT
-- encoding 7); RAM has none of the bits: WB.  NPT has no ignore-PAT bit.
-- The access result reports that host-side type (as it reports the EPT
-- leaf's for EPT); its combination with the guest's PAT is not modelled.
host{ frames = 256 }
local PWT, PCD, PAT = 0x8, 0x10, 0x80
local d = domain{ name = "amd", gfns = 0x100, ram = 0x40, hap = "npt" }
local pt = d:pagetable{ root = 0x10, pool = 0x11, pool_pages = 8 }
pt:map(0x400000, 0x30, "w")
pt:map(0x401000, 0x31, "w")
local v = d:vcpu{ cr3 = pt }
local r = v:read(0x400000)
expect(r.ok)
expect_eq(r.memtype, 6, "RAM: WB")
expect_eq(r.ipat, false)
expect_eq(d:set_mmio(0x31, 0x200), 0)
expect_eq(d:npt_get_raw(0x31000, 1) & (PWT | PCD | PAT), PCD, "p2m_type_to_flags(): PCD")
r = v:read(0x401000)
expect(r.ok)
expect_eq(r.hpa, 0x200000)
expect_eq(r.memtype, 7, "PAT entry 2 of XEN_MSR_PAT: UC-")
expect_eq(r.ipat, false, "no ignore-PAT under NPT")
expect_eq(v:write(0x401008, 5).memtype, 7)
-- Raw nested leaves: each PAT index through the host PAT.
local want = { [0] = 6, 4, 7, 0, 1, 5, 0, 0 }
local leaf = d:npt_get_raw(0x30000, 1) & ~(PWT | PCD | PAT)
for i = 0, 7 do
  local bits = ((i & 1) ~= 0 and PWT or 0) | ((i & 2) ~= 0 and PCD or 0) | ((i & 4) ~= 0 and PAT or 0)
  expect_eq(d:npt_set_raw(0x30000, 1, leaf | bits), 0)
  expect_eq(v:read(0x400000).memtype, want[i], "PAT index " .. i)
end
