-- EPT superpages (2 MiB and 1 GiB leaves, SDM Vol. 3C 29.3.2) combined
-- with EPT accessed/dirty flags (29.3.5) and mode-based execute control
-- (29.3.3.1).  A large leaf is the last entry of the EPT walk, so it is
-- where A (any access) and D (a write) go; the entries above get A only.
-- XU, like R/W/X, is an AND over every entry of the walk, the large leaf
-- included.  The oracle predicts each access with its own raw EPT walker
-- and checks every flag the model set.

local RWX = EPTE.R | EPTE.W | EPTE.X
local WB = 6
local AD = EPTE.A | EPTE.D

-- ---- EPT A/D over a 2 MiB and a 1 GiB leaf ----
local d = domain{ name = "bigad", gfns = 0x1000, ram = 0x100, ept_ad = true }
local pt = d:pagetable{ root = 0x10 }
local v = d:vcpu{ cr3 = pt }

-- gpa 0x400000..0x5fffff -> host 0x1000000.. (no RAM there: no table yet)
local leaf2m = 0x1000000 | EPTE.PS | (WB << EPTE.MT_SHIFT) | RWX
expect_eq(d:ept_set_raw(0x400000, 2, leaf2m), 0)
pt:map(0x200000, 0x4ab, "w")
pt:map(0x201000, 0x5ff, "w")
expect_eq(d:ept_get_raw(0x400000, 2) & AD, 0, "a fresh raw leaf has neither flag")

local r = v:read(0x200008)
expect(r.ok)
expect_eq(r.ept_shift, 21)
expect_eq(d:ept_get_raw(0x400000, 2) & AD, EPTE.A, "a read sets A in the 2 MiB leaf")
for level = 3, 4 do
  expect_eq(d:ept_get_raw(0x400000, level) & AD, EPTE.A,
            "A only in the level-" .. level .. " entry above it")
end

-- a write anywhere in the 2 MiB range dirties the one leaf
local w = v:write(0x201010, 0x55)
expect(w.ok)
expect_eq(w.hpa, 0x11ff010)
expect_eq(d:ept_get_raw(0x400000, 2) & AD, AD, "a write sets D in the 2 MiB leaf")
expect_eq(d:ept_get_raw(0x400000, 3) & EPTE.D, 0, "no D above the leaf")
local again = v:write(0x200010, 1)
expect(again.refs <= w.refs, "flags already set: no more write-backs ("
       .. again.refs .. " <= " .. w.refs .. ")")

-- A read-only 2 MiB leaf: with A/D on the walk is not affected (the
-- guest's page-table pages are elsewhere), but the write is a violation
-- and no D is set.
local ro = 0x1400000 | EPTE.PS | (WB << EPTE.MT_SHIFT) | EPTE.R | EPTE.X
expect_eq(d:ept_set_raw(0x800000, 2, ro), 0)
pt:map(0x202000, 0x812, "w")
local x = v:write(0x202000, 1)
expect(x.crash, "ram_rw by get_entry: Xen has no fix-up for the write")
expect_eq(x.exits[1].qual & (EPTQ.W | EPTQ.WRITABLE), EPTQ.W)
expect_eq(d:ept_get_raw(0x800000, 2) & EPTE.D, 0, "a failed write sets no D")

-- ---- a 1 GiB leaf, A/D on ----
local e = domain{ name = "gigad", gfns = 0x80000, ram = 0x100, ept_ad = true }
local ept_pt = e:pagetable{ root = 0x10 }
local u = e:vcpu{ cr3 = ept_pt }
-- gpa 1 GiB..2 GiB -> host 0..1 GiB (frames of the host: reads only)
local leaf1g = 0 | EPTE.PS | (WB << EPTE.MT_SHIFT) | RWX
expect_eq(e:ept_set_raw(0x40000000, 3, leaf1g), 0)
ept_pt:map(0x300000, 0x40000 + 0x20, "w")
local g = u:read(0x300000)
expect(g.ok)
expect_eq(g.ept_shift, 30)
expect_eq(e:ept_get_raw(0x40000000, 3) & AD, EPTE.A, "a read sets A in the 1 GiB leaf")
expect_eq(e:ept_get_raw(0x40000000, 4) & AD, EPTE.A)

-- ---- MBEC over a 2 MiB leaf ----
local m = domain{ name = "bigmbec", gfns = 0x1000, ram = 0x100 }
local mpt = m:pagetable{ root = 0x10 }
local mv = m:vcpu{ cr3 = mpt, mbec = true }
-- a user-mode page in the 2 MiB range (U/S = 1 at every guest level)
local sx = 0x1000000 | EPTE.PS | (WB << EPTE.MT_SHIFT) | RWX  -- X, no XU
expect_eq(m:ept_set_raw(0x400000, 2, sx), 0)
mpt:map(0x10000, 0x400, "wu")
mpt:map(0x11000, 0x401, "w")
expect(mv:exec(0x11000).ok, "supervisor address: bit 2 of the large leaf")
local f = mv:exec(0x10000)
expect(f.crash, "user address: the large leaf has no XU")
expect_eq(f.exits[1].qual & EPTQ.UEXECUTABLE, 0)
-- XU in the large leaf alone is not enough: the PDPTE and PML4E above
-- it are the sim's tables, bit 10 clear
expect_eq(m:ept_set_raw(0x400000, 2, sx | EPTE.XU), 0)
expect(mv:exec(0x10000).crash, "XU only in the 2 MiB leaf")
for level = 3, 4 do
  expect_eq(m:ept_set_raw(0x400000, level, m:ept_get_raw(0x400000, level) | EPTE.XU), 0)
end
expect(mv:exec(0x10000).ok, "XU at every level of the walk")
-- X clear, XU set: user code runs, supervisor code does not
expect_eq(m:ept_set_raw(0x400000, 2, (sx & ~EPTE.X) | EPTE.XU), 0)
expect(mv:exec(0x10000).ok)
local s = mv:exec(0x11000)
expect(s.crash)
expect_eq(s.exits[1].qual & (EPTQ.EXECUTABLE | EPTQ.UEXECUTABLE), EPTQ.UEXECUTABLE,
          "bit 5 (X) clear, bit 6 (XU) set, from the 2 MiB leaf")
