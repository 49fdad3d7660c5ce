-- 2 MiB and 1 GiB EPT leaves (SDM Vol. 3C 29.3.2), written raw with
-- d:ept_set_raw: Xen's p2m-ept writes them for superpage mappings (the
-- sim's too: d:populate{ order = 9 | 18 }, scenarios/p2m/superpages.lua);
-- here the scenario writes them raw, with bits the hypervisor would not.  The memory type (bits 5:3) and ignore-PAT (bit 6) of the leaf are
-- carried through to the access (SDM 29.3.7).  The oracle predicts these
-- accesses with its own raw EPT walker.

local d = domain{ name = "big", gfns = 0x1000, ram = 0x100 }
local pt = d:pagetable{ root = 0x10 }
local v = d:vcpu{ cr3 = pt }

local RWX = EPTE.R | EPTE.W | EPTE.X
local WB, UC = 6, 0

-- A 2 MiB leaf in the PDE for gpa 0x400000..0x5fffff (no RAM there, so no
-- page table below it yet), mapping host 0x1000000..0x11fffff.
local leaf2m = 0x1000000 | EPTE.PS | (WB << EPTE.MT_SHIFT) | RWX
expect_eq(d:ept_set_raw(0x400000, 2, leaf2m), 0)
expect_eq(d:ept_get_raw(0x400000, 2), leaf2m)
expect_eq(d:ept_get_raw(0x400000, 1), nil, "no table below a large leaf")
expect_eq(d:type(0x4ab), "ram_rw", "get_entry reads the large leaf's type")
expect_eq(d:mfn(0x4ab), 0x10ab, "and its frame plus the offset")

pt:map(0x200000, 0x4ab, "w")
local w = v:write(0x200008, 0x1122334455667788)
expect(w.ok)
expect_eq(w.gpa, 0x4ab008)
expect_eq(w.hpa, 0x10ab008, "frame = leaf address + gpa bits 20:12")
expect_eq(w.ept_shift, 21)
expect_eq(w.memtype, WB)
expect_eq(w.ipat, false)
local r = v:read(0x200008, 8)
expect_eq(r.value, 0x1122334455667788)

-- Memory type UC with ignore-PAT, on a second 2 MiB leaf.
local uc = 0x1200000 | EPTE.PS | EPTE.IPAT | (UC << EPTE.MT_SHIFT) | RWX
expect_eq(d:ept_set_raw(0x600000, 2, uc), 0)
pt:map(0x201000, 0x600, "w")
r = v:read(0x201000)
expect(r.ok)
expect_eq(r.memtype, UC)
expect_eq(r.ipat, true)
expect_eq(r.hpa, 0x1200000)

-- A read-only 2 MiB leaf: a write is an EPT violation whose qualification
-- reports the leaf's rights; get_entry says ram_rw, so Xen's handler has
-- no fix-up and the domain is crashed.
expect_eq(d:ept_set_raw(0x800000, 2, 0x1400000 | EPTE.PS | (WB << EPTE.MT_SHIFT) | EPTE.R | EPTE.X), 0)
pt:map(0x202000, 0x812, "w")
w = v:write(0x202010, 1)
expect(w.crash)
expect_eq(w.exits[1].kind, "ept_violation")
expect_eq(w.exits[1].qual, EPTQ.W | EPTQ.READABLE | EPTQ.EXECUTABLE
                           | EPTQ.GLA_VALID | EPTQ.GLA_XLATE)
expect_eq(w.exits[1].gpa, 0x812010)
expect_eq(w.exits[1].gla, 0x202010)
expect(v:read(0x202010).ok, "reads are allowed")

-- A 1 GiB leaf in the PDPTE for gpa 1 GiB..2 GiB aliasing host memory from
-- 0: reading through it at gpa 1 GiB + hpa sees the frame behind gfn 5.
expect_eq(d:write_phys(0x5008, 0xabcdef), 0)
local leaf1g = 0 | EPTE.PS | (WB << EPTE.MT_SHIFT) | EPTE.R
expect_eq(d:ept_set_raw(0x40000000, 3, leaf1g), 0)
local alias = 0x40000000 + d:mfn(5) * 4096
pt:set_entry(0x203000, 1, alias | PTE.P | PTE.W)  -- beyond the domain's gfns
r = v:read(0x203008, 4)
expect(r.ok)
expect_eq(r.value, 0xabcdef)
expect_eq(r.ept_shift, 30)
expect_eq(r.hpa, d:mfn(5) * 4096 + 8)
w = v:write(0x203008, 0)
expect(w.crash, "the 1 GiB alias is read-only")
expect_eq(w.exits[1].qual, EPTQ.W | EPTQ.READABLE | EPTQ.GLA_VALID | EPTQ.GLA_XLATE)

-- Large-leaf address bits below the page size are reserved: a 2 MiB leaf
-- with bit 12 set is an EPT misconfiguration (SDM 29.3.3.1).
expect_eq(d:ept_set_raw(0xa00000, 2, 0x1601000 | EPTE.PS | (WB << EPTE.MT_SHIFT) | RWX), 0)
pt:map(0x204000, 0xa00, "w")
r = v:read(0x204000)
expect(r.crash)
expect_eq(r.exits[1].kind, "ept_misconfig")
expect_eq(r.exits[1].gpa, 0xa00000)
