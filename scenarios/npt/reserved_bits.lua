-- Raw nested entries (d:npt_set_raw) and the reserved-bit #NPF.  The
-- oracle then predicts the domain's accesses with its own NPT walker over
-- the raw tables (oracle/npt.c).  A 2 MiB leaf with one of bits 20:13 set
-- is reserved (APM 15.25.5 / the long-mode rules): the nested walk stops
-- there with a #NPF whose EXITINFO1 has P and RSVD.  Xen's SVM handler
-- (p2m_pt_handle_deferred_changes(), nothing to recalculate, then
-- hvm_hap_nested_page_fault()) goes by the P2M type of the entry: mmio_dm
-- goes to the device model; a RAM type is not fixed by anything, so the
-- access can never complete (Xen re-executes it forever; here the domain
-- is crashed, as for any unhandled nested fault).
local P, RW, U, A, D, PS = 1, 2, 4, 0x20, 0x40, 0x80
local RSVD, FINAL = 8, 1 << 32
local MMIO_DM = 4 << 52
host{ frames = 0x4000 }
local d = domain{ name = "amd", gfns = 0x1000, ram = 0x40, hap = "npt" }
local pt = d:pagetable{ root = 0x10 }
pt:map(0x400000, 0x20, "w")
pt:map(0x600000, 0x400, "w")  -- gpa 0x400000: PDE 2 of the first GiB
pt:map(0x800000, 0x600, "w")  -- gpa 0x600000: PDE 3
pt:map(0xa00000, 0x801, "w")  -- gpa 0x801000: PDE 4
local v = d:vcpu{ cr3 = pt }
expect(v:write(0x400000, 0x77).ok)

-- A valid raw 2 MiB RAM leaf at gpa 0x400000 (host frames 0x1000..),
-- written without A/D: the walk sets them (the oracle predicts the image).
expect_eq(d:npt_set_raw(0x400000, 2, 0x1000000 | P | RW | U | PS), 0)
local r = v:write(0x600008, 0x1234)
expect(r.ok, "through the raw leaf")
expect_eq(r.hpa, 0x1000008)
expect_eq(r.ept_shift, 21)
expect_eq(d:npt_get_raw(0x400000, 2) & (A | D), A | D, "nested A/D set by the walk")
expect_eq(v:read(0x400000).value, 0x77, "ordinary gfns walk on")

-- Bit 13 in a 2 MiB leaf: reserved.  RAM type: unhandled.
expect_eq(d:npt_set_raw(0x400000, 2, 0x1000000 | 0x2000 | P | RW | U | A | D | PS), 0)
local f = v:read(0x600000)
expect_eq(f.nexits, 1)
expect_eq(f.exits[1].kind, "npf")
expect_eq(f.exits[1].qual, P | RSVD | U | FINAL, "EXITINFO1: P, RSVD, U, final gpa")
expect_eq(f.exits[1].gpa, 0x400000)
expect_eq(f.kind, "crash")

-- The same with type mmio_dm (bits 58:52): the device model gets it.
local d2 = domain{ name = "amd2", gfns = 0x1000, ram = 0x40, hap = "npt" }
local pt2 = d2:pagetable{ root = 0x10 }
pt2:map(0x800000, 0x600, "w")
local v2 = d2:vcpu{ cr3 = pt2 }
expect_eq(d2:npt_set_raw(0x600000, 2, MMIO_DM | 0x1000000 | 0x2000 | P | RW | U | A | D | PS), 0)
local m = v2:write(0x800010, 5)
expect_eq(m.exits[1].qual, P | RW | RSVD | U | FINAL)
expect_eq(m.kind, "mmio")
expect_eq(m.gpa, 0x600010)

-- A not-present raw PTE: a plain #NPF (P clear), mmio_dm by default.
expect_eq(d2:npt_set_raw(0x801000, 1, 0), 0)
pt2:map(0xa00000, 0x801, "w")
local n = v2:read(0xa00000)
expect_eq(n.exits[1].qual, U | FINAL)
expect_eq(n.kind, "mmio")

-- The raw gfns are the scenario's: hypervisor operations on them are
-- refused by the Lua API (as for d:ept_set_raw); d2 has no EPT.
expect_eq(d2:hap(), "npt")
