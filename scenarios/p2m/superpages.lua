-- 2 MiB and 1 GiB P2M entries (issue 3).  populate_physmap with an extent
-- order of 9 / 18 gives one EPT leaf of that size (ept_set_entry() with
-- order 9 / 18: a PDE / PDPTE with the sp bit); p2m_get_entry() reports the
-- order.  A 4 KiB change inside -- remove, set_type, nominate, set_access,
-- the log-dirty write fault -- goes through ept_split_super_page(): the
-- superpage becomes 512 entries (a 1 GiB one 512 x 512: upstream splits
-- every part down to the target), the other parts keep type, access and
-- their frames.  The split takes a table page from the heap; when that
-- allocation fails the operation returns -ENOMEM and the superpage stays.
local EINVAL, EEXIST, ENOMEM = -22, -17, -12
host{ frames = 0x90000 }
local d = domain{ name = "big", gfns = 0x80000, ram = 0x20 }

-- Arguments: alignment, range, occupancy.
expect_eq(d:populate{ gfn = 0x201, order = 9 }, EINVAL, "misaligned")
expect_eq(d:populate{ gfn = 0x4fe00, order = 18 }, EINVAL, "misaligned 1 GiB")
expect_eq(d:populate{ gfn = 0x7fe00, order = 18 }, EINVAL, "past the last gfn")
expect_eq(d:populate{ gfn = 0, order = 9 }, EEXIST, "gfns 0..0x1f hold RAM")

-- A 2 MiB extent at gfn 0x200: one entry, 512 consecutive frames.
expect_eq(d:populate{ gfn = 0x200, order = 9 }, 0)
expect_eq(d:order(0x200), 9)
expect_eq(d:order(0x3ff), 9)
local base = d:mfn(0x200)
expect_eq(base % 512, 0, "frames aligned to the extent")
expect_eq(d:mfn(0x3ff), base + 0x1ff)
expect_eq(m2p(base + 0x123), 0x323)
expect_eq(d:type(0x380), "ram_rw")

-- Guest access through the 2 MiB EPT leaf: 3 EPT references, not 4.
local pt = d:pagetable{ root = 0x10 }
pt:map(0x400000, 0x240, "w")
pt:map(0x401000, 0x8, "w")
local v = d:vcpu{ cr3 = pt }
expect(v:write(0x400000, 0xabcd).ok)
expect(v:write(0x401000, 0xabcd).ok)
local big, small = v:read(0x400000), v:read(0x401000)
expect_eq(small.refs - big.refs, 1, "a 2 MiB EPT leaf saves one reference")
expect_eq(d:read_phys(0x240000), 0xabcd)

-- A failed split: the heap refuses the table page -> -ENOMEM, intact.
fail_alloc{ nth = 1 }
expect_eq(d:remove(0x2a0), ENOMEM, "the split could not get its table")
expect_eq(d:order(0x2a0), 9)
expect_eq(d:mfn(0x2a0), base + 0xa0)
fail_alloc{ nth = 1 }
expect_eq(d:set_access(0x2a0, "r"), ENOMEM)
expect_eq(d:access(0x2a0), "rwx")

-- The split that works: the other 511 parts keep type and frames.
expect_eq(d:remove(0x2a0), 0)
expect_eq(d:type(0x2a0), "mmio_dm")
expect_eq(d:order(0x2a1), 0)
expect_eq(d:order(0x200), 0)
expect_eq(d:mfn(0x2a1), base + 0xa1)
expect_eq(d:type(0x3ff), "ram_rw")
expect_eq(v:read(0x400000).value, 0xabcd, "data survives the split")
expect_eq(v:read(0x400000).refs, small.refs, "now a 4 KiB walk")

-- Log-dirty over a superpage: the global change retypes the 2 MiB entry
-- whole (ram_logdirty, still order 9); the write fault's change_type_one
-- is order 0 and splits it: one gfn rw and dirty, 511 still logdirty.
expect_eq(d:populate{ gfn = 0x400, order = 9 }, 0)
expect_eq(d:logdirty_enable(), 0)
expect_eq(d:type(0x400), "ram_logdirty")
expect_eq(d:order(0x400), 9)
pt:map(0x402000, 0x480, "w")
local w = v:write(0x402000, 0x77)
expect(w.ok)
expect_eq(w.nexits, 2, "log-dirty write faults: the PTE's D bit, the data")
local hit = false
for i = 1, w.nexits do hit = hit or w.exits[i].gpa == 0x480000 end
expect(hit, "one of them at gpa 0x480000")
expect_eq(d:type(0x480), "ram_rw")
expect_eq(d:type(0x481), "ram_logdirty")
expect_eq(d:order(0x481), 0)
local dirty = d:peek_dirty(0x600)
local seen = false
for _, g in ipairs(dirty) do seen = seen or g == 0x480 end
expect(seen, "gfn 0x480 logged dirty")
expect_eq(d:logdirty_disable(), 0)
expect_eq(d:type(0x481), "ram_rw")

-- populate under log-dirty gives a ram_logdirty superpage.
expect_eq(d:logdirty_enable(), 0)
expect_eq(d:populate{ gfn = 0x600, order = 9 }, 0)
expect_eq(d:type(0x7ff), "ram_logdirty")
expect_eq(d:order(0x7ff), 9)
expect_eq(d:logdirty_disable(), 0)

-- A 1 GiB extent: one PDPTE leaf; a 4 KiB change splits all of it.
expect_eq(d:populate{ gfn = 0x40000, order = 18 }, 0)
expect_eq(d:order(0x40000), 18)
expect_eq(d:order(0x4ffff), 18)
local gb = d:mfn(0x40000)
expect_eq(gb % 0x40000, 0)
pt:map(0x403000, 0x41234, "w")
expect(v:read(0x403000).ok) -- sets the PTE's A bit
local g1 = v:read(0x403000)
expect(g1.ok)
expect_eq(small.refs - g1.refs, 2, "a 1 GiB EPT leaf saves two references")
expect_eq(d:set_type(0x40001, "mmio_dm"), 0)
expect_eq(d:order(0x40000), 0)
expect_eq(d:order(0x4ffff), 0)
expect_eq(d:mfn(0x4ffff), gb + 0xffff)
expect_eq(d:type(0x40001), "mmio_dm")
d:destroy()
