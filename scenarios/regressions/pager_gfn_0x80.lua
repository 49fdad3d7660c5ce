-- Seed 002, patch 09/12 ("xenpaging: prevent page-out of gfn 0x80"): a
-- workaround for hvmloader's hypercall page at gfn 0x80 being paged out
-- during BIOS start-up ("Bad GMFN 80 (MFN ffffffffff) to MSR 40000000").
-- Never applied upstream (reference 4.3): the real fix was populate in
-- wrmsr_hypervisor_regs (013e34f5a6) and the pager starting at
-- max_pages/2 (46a3d35ca3).  Here: the option keeps 0x80 in, without it
-- 0x80 is the very first victim.
local d = domain{ name = "guest", gfns = 0x100, ram = 0x100 }
expect_eq(d:paging_enable(), 0)
local plain = d:pager{ mru_size = 0 }
expect_eq(plain:evict(1), 1)
expect_eq(plain:paged()[1], 0x80, "max_pages/2 = 0x80 is the first victim")
expect_eq(d:type(0x80), "ram_paged")

local e = domain{ name = "guest2", gfns = 0x100, ram = 0x100 }
expect_eq(e:paging_enable(), 0)
local careful = e:pager{ mru_size = 0, skip_0x80 = true }
expect_eq(careful:evict(0x100), 0xfe, "everything but gfn 0 and 0x80")
expect_eq(e:type(0x80), "ram_rw")
expect_eq(e:type(0), "ram_rw")
expect_eq(e:paging().paged_pages, 0xfe)
-- A hypervisor write to the hypercall page then needs no page-in.
expect_eq(e:write_phys(0x80000, 0xc3), 0)
