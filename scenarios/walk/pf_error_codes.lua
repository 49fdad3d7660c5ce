-- #PF error codes and CR2 (SDM Vol. 3A 4.7) for not-present entries and
-- protection violations, including CR0.WP for supervisor writes and NX
-- with EFER.NXE.

local d = domain{ name = "pf", gfns = 0x200, ram = 0x80 }
local pt = d:pagetable{ root = 0x10 }
pt:map(0x1000, 0x40, "u")        -- user, read-only
pt:map(0x2000, 0x41, "w")        -- supervisor, writable
pt:map(0x3000, 0x42, "wun")      -- user, writable, no-execute
local v = d:vcpu{ cr3 = pt, cpl = 0, wp = true, nxe = true }

-- Not present (nothing mapped at 0x5000 in an existing PT; nothing at all
-- at 0x40000000, whose PDPTE is missing).
local r = v:read(0x5008)
expect(r.pf, "read of an unmapped page faults")
expect_eq(r.ec, 0, "not present, read, supervisor")
expect_eq(r.cr2, 0x5008, "CR2 holds the faulting linear address")
expect_eq(v:write(0x40000000, 1).ec, PF.W)
v:set{ cpl = 3 }
expect_eq(v:read(0x5000).ec, PF.U)
expect_eq(v:exec(0x5000).ec, PF.U | PF.ID, "fetches report I/D with NXE=1")

-- Protection: user write to a read-only page, user read of a supervisor page.
expect_eq(v:write(0x1000, 7).ec, PF.P | PF.W | PF.U)
expect_eq(v:read(0x2000).ec, PF.P | PF.U)
expect(v:read(0x1000).ok, "user read of a user page is fine")

-- Supervisor write to a read-only page: faults only with CR0.WP=1.
v:set{ cpl = 0 }
local w = v:write(0x1010, 5)
expect_eq(w.ec, PF.P | PF.W)
expect_eq(w.cr2, 0x1010)
v:set{ wp = false }
expect(v:write(0x1010, 5).ok, "CR0.WP=0: supervisor writes ignore R/W")
expect_eq(d:read_phys(0x40010), 5)
v:set{ wp = true }

-- NX: counts only with EFER.NXE=1.
expect_eq(v:exec(0x3000).ec, PF.P | PF.ID)
v:set{ nxe = false }
-- With EFER.NXE=0 bit 63 is a reserved bit (SDM 4.5): RSVD, not NX.
expect_eq(v:exec(0x3000).ec, PF.P | PF.RSVD, "XD is reserved while EFER.NXE=0")
