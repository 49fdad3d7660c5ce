-- Shadow paging (domain{ hap = "none" }, Xen's xen/arch/x86/mm/shadow/):
-- without nested paging the processor walks shadow tables that map
-- guest-linear addresses straight to host-physical ones; the hypervisor
-- built them from the guest's tables composed with its P2M.  So a walk is
-- one-dimensional: a full 4-level walk reads 4 entries, not 24, and lands
-- on the same frame the P2M gives.  Guest A/D bits are set as natively
-- (the hypervisor sets them when it builds the shadow entries).

local function setup(hap)
  local d = domain{ name = "ram_" .. hap, gfns = 0x400, ram = 0x400, hap = hap }
  local pt = d:pagetable{ root = 0x10 }
  pt:map(0x7000, 0x20, "w")
  pt:map(0x200000, 0x200, "w", 2)   -- a 2 MiB page (gfns 0x200..0x3ff)
  return d, pt, d:vcpu{ cr3 = pt }
end

local s, spt, sv = setup("none")
local e, ept, ev = setup("ept")

for level = 1, 4 do
  expect_eq(spt:entry(0x7000, level) & PTE.A, 0, "A starts clear")
end
local r = sv:read(0x7000)
expect(r.ok)
expect_eq(r.nexits, 0, "RAM needs no hypervisor intervention")
expect_eq(r.refs, 4 + 4, "4 guest entries read + 4 A write-backs, no nested refs")
expect_eq(r.mfn, s:mfn(0x20), "lands on the P2M's frame")
for level = 1, 4 do
  expect(spt:entry(0x7000, level) & PTE.A ~= 0, "A set at level " .. level)
end
expect_eq(spt:entry(0x7000, 1) & PTE.D, 0, "a read leaves D clear")

local er = ev:read(0x7000)
expect_eq(er.refs, 24 + 4, "the same walk under EPT is 2D")

local w = sv:write(0x7008, 0x1234)
expect(w.ok)
expect_eq(w.refs, 4 + 1, "one write-back: D in the PTE")
expect(spt:entry(0x7000, 1) & PTE.D ~= 0, "a write sets D")
expect_eq(s:read_phys(0x20008), 0x1234, "the write reached the guest frame")
expect_eq(sv:read(0x7008).refs, 4, "A/D already set: a full walk costs 4")
expect_eq(ev:read(0x7008).refs, 24)

-- A 2 MiB guest page: 3 entries.
local l = sv:write(0x2ff000, 7)
expect(l.ok)
expect_eq(l.gpa, 0x2ff000)
expect_eq(l.refs, 3 + 1, "PML4E, PDPTE, PDE read; A and D of the PDE in one write-back")
expect_eq(sv:read(0x2ff000).refs, 3)
expect_eq(ev:read(0x2ff000).refs, 3 + 3 * 4 + 4 + 1, "under EPT: 2D, and its own A write-back")

-- The same contents through both.
expect_eq(ev:write(0x7008, 0x1234).ok, true)
expect_eq(sv:read(0x7008).value, ev:read(0x7008).value)
