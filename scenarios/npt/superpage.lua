-- Superpages in p2m-pt: a 2 MiB / 1 GiB populate writes one PDE / PDPTE
-- leaf with PS.  A 4 KiB change inside is split by p2m_next_level() one
-- level at a time along the path: a 1 GiB leaf becomes 512 2 MiB leaves
-- of which only the one holding the gfn becomes 512 4 KiB leaves; the
-- parts inherit the superpage's flags.  A failed table allocation leaves
-- the superpage intact (-ENOMEM).
local ENOMEM = -12
local P, RW, U, A, D, PS = 1, 2, 4, 0x20, 0x40, 0x80
host{ frames = 0x90000 }
local d = domain{ name = "big", gfns = 0x80000, ram = 0x20, hap = "npt" }

expect_eq(d:populate{ gfn = 0x200, order = 9 }, 0)
expect_eq(d:order(0x2a0), 9)
local pde = d:npt_get_raw(0x200000, 2)
expect_eq(pde & 0xfff, P | RW | U | A | D | PS, "2 MiB ram_rw leaf")
expect_eq(d:npt_get_raw(0x200000, 1), nil, "no PT below a 2 MiB leaf")

-- Guest access through it: 3 nested references instead of 4.
local pt = d:pagetable{ root = 0x10 }
pt:map(0x400000, 0x240, "w")
pt:map(0x401000, 0x8, "w")
local v = d:vcpu{ cr3 = pt }
expect(v:write(0x400000, 0xabcd).ok)
expect(v:write(0x401000, 0xabcd).ok)
local big, small = v:read(0x400000), v:read(0x401000)
expect_eq(small.refs - big.refs, 1, "a 2 MiB nested leaf saves one reference")
expect_eq(big.ept_shift, 21)

-- A failed split: intact.
local base = d:mfn(0x200)
fail_alloc{ nth = 1 }
expect_eq(d:remove(0x2a0), ENOMEM)
expect_eq(d:order(0x2a0), 9)
-- The split that works: the other 511 parts keep the flags and frames.
expect_eq(d:remove(0x2a0), 0)
expect_eq(d:type(0x2a0), "mmio_dm")
expect_eq(d:order(0x2a1), 0)
expect_eq(d:mfn(0x2a1), base + 0xa1)
expect_eq(d:npt_get_raw(0x2a1000, 1) & 0xfff, P | RW | U | A | D, "PS gone at the PTE level")
expect_eq(d:npt_get_raw(0x2a0000, 1), 0, "the removed gfn: empty")
expect_eq(v:read(0x400000).value, 0xabcd, "data survives the split")
expect_eq(v:read(0x400000).ept_shift, 12)

-- 1 GiB: only the 2 MiB part on the path goes down to 4 KiB.
expect_eq(d:populate{ gfn = 0x40000, order = 18 }, 0)
expect_eq(d:order(0x40000), 18)
expect_eq(d:npt_get_raw(0x40000000, 3) & PS, PS)
local gbase = d:mfn(0x40000)
expect_eq(d:set_mem_type(0x40401, "ram_ro"), 0)
expect_eq(d:type(0x40401), "ram_ro")
expect_eq(d:order(0x40401), 0)
expect_eq(d:order(0x40400), 0, "same 2 MiB part: 4 KiB leaves")
expect_eq(d:order(0x40000), 9, "another part: still a 2 MiB leaf")
expect_eq(d:order(0x7fe00), 9)
expect_eq(d:mfn(0x7fe05), gbase + 0x3fe05)
expect_eq(d:npt_get_raw(0x40401000, 1) & 0xfff, P | U | A | D, "ram_ro: no RW")

-- Log-dirty over the superpages: the global change retypes whole leaves;
-- the write fault changes one 4 KiB entry (order 0), splitting the 2 MiB.
expect_eq(d:logdirty_enable(), 0)
expect_eq(d:type(0x40000), "ram_logdirty")
expect_eq(d:order(0x40000), 9)
pt:map(0x402000, 0x40003, "w")
expect(v:write(0x402000, 5).ok)
expect_eq(d:type(0x40003), "ram_rw")
expect_eq(d:order(0x40003), 0)
expect_eq(d:type(0x40004), "ram_logdirty")
expect(d:is_dirty(0x40003))
