-- EPT accessed and dirty flags (SDM Vol. 3C 29.3.5), on with EPTP bit 6
-- (domain{ ept_ad = true }).  The processor sets A in every EPT entry a
-- translation uses and D in the leaf for a write.  Guest paging-structure
-- accesses count as writes with A/D on, so the EPT leaves of the guest's
-- page-table pages get D even when the guest only reads, and their EPT
-- violations report bits 0 and 1 (read and write).  The oracle walks the
-- sim's EPT with its own raw walker and checks every A/D flag it set.

local d = domain{ name = "ad", gfns = 0x400, ram = 0x80, ept_ad = true }
local pt = d:pagetable{ root = 0x10 }
pt:map(0x400000, 0x40, "w")
pt:map(0x401000, 0x41, "w")
local v = d:vcpu{ cr3 = pt }

local function ept(gfn) return d:ept_get_raw(gfn * 4096, 1) end
local AD = EPTE.A | EPTE.D

expect_eq(ept(0x40) & AD, 0, "fresh leaves have neither flag")
local r = v:read(0x400000)
expect(r.ok)
expect_eq(ept(0x40) & AD, EPTE.A, "a read sets A only")
expect_eq(ept(0x10) & AD, AD, "the PML4 page: its reference was an EPT write")
local pdpt = pt:entry(0x400000, 4) >> 12
local pd = pt:entry(0x400000, 3) >> 12
local ptp = pt:entry(0x400000, 2) >> 12
for _, g in ipairs({ pdpt, pd, ptp }) do
  expect_eq(ept(g) & AD, AD, "paging-structure page " .. hex(g) .. " is dirty")
end
for level = 2, 4 do
  expect_eq(d:ept_get_raw(0x40000, level) & EPTE.A, EPTE.A,
            "A in the level-" .. level .. " entry")
  expect_eq(d:ept_get_raw(0x40000, level) & EPTE.D, 0, "no D above the leaf")
end

local w = v:write(0x401000, 7)
expect(w.ok)
expect_eq(ept(0x41) & AD, AD, "a write sets D")
local again = v:read(0x400000)
expect(again.refs < r.refs, "flags already set cost no write-backs: "
       .. again.refs .. " < " .. r.refs)

-- A guest page table behind a read-only EPT leaf: with A/D on, even a
-- read walks it as a write, so the walk itself exits; qualification bits
-- 0 and 1 are both set, bit 8 is clear (not the final translation).
expect_eq(d:ept_set_raw(ptp * 4096, 1, ept(ptp) & ~EPTE.W), 0)
local x = v:read(0x400000)
expect(x.crash, "ram_rw: Xen's handler has no fix-up for a write fault")
expect_eq(x.exits[1].qual, EPTQ.R | EPTQ.W | EPTQ.READABLE | EPTQ.EXECUTABLE
                           | EPTQ.GLA_VALID)
expect_eq(x.exits[1].gpa >> 12, ptp)
expect_eq(x.exits[1].gla, 0x400000)
