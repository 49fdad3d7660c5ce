-- Accessed/dirty bits (SDM Vol. 3A 4.8): a read sets A in all four entries
-- used, a write also sets D in the PTE; a fault sets nothing.  The bits are
-- written back to guest memory, one memory reference per entry changed.

local d = domain{ name = "ad", gfns = 0x100, ram = 0x40 }
local pt = d:pagetable{ root = 0x08 }
pt:map(0x7000, 0x20, "w")
pt:map(0x8000, 0x21, "")
local v = d:vcpu{ cr3 = pt }

for level = 1, 4 do
  expect_eq(pt:entry(0x7000, level) & PTE.A, 0, "A starts clear")
end
local r = v:read(0x7000)
expect(r.ok)
expect_eq(r.refs, 24 + 4, "four A write-backs")
for level = 1, 4 do
  expect(pt:entry(0x7000, level) & PTE.A ~= 0, "read sets A at level " .. level)
end
expect_eq(pt:entry(0x7000, 1) & PTE.D, 0, "read leaves D clear")

local w = v:write(0x7000, 0xabcd)
expect_eq(w.refs, 24 + 1, "one write-back: D in the PTE")
expect(pt:entry(0x7000, 1) & PTE.D ~= 0, "write sets D")

-- A faulting write (read-only page, CR0.WP=1) sets neither A nor D.
local f = v:write(0x8000, 1)
expect(f.pf)
expect_eq(pt:entry(0x8000, 1) & (PTE.A | PTE.D), 0, "no A/D on a faulting access")
