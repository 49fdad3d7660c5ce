-- NPT (hap = "npt"): the P2M in Xen's p2m-pt format (sim/p2m-pt.c) walked
-- as AMD nested paging (model/npt.c).  RAM gets P|RW|U|A|D (P2M_BASE_FLAGS
-- + RW, no NX), the type in PTE bits 58:52, table entries P|RW|U|A|D.
-- A 4-level guest over 4-level nested tables costs 24 references, as a 2D
-- EPT walk does; A and D are preset, so the walk writes nothing back.
local P, RW, U, A, D, PS = 1, 2, 4, 0x20, 0x40, 0x80
local NX = 1 << 63
local d = domain{ name = "amd", gfns = 0x400, ram = 0x40, hap = "npt" }
expect_eq(d:hap(), "npt")
local pt = d:pagetable{ root = 0x10 }
pt:map(0x400000, 0x20, "wu")
pt:map(0x401000, 0x21, "w")
local v = d:vcpu{ cr3 = pt }

local w = v:write(0x400000, 0x1234)
expect(w.ok, "RAM write through the nested tables")
expect_eq(w.nexits, 0)
expect_eq(w.hpa, d:mfn(0x20) * 4096)
expect_eq(v:read(0x400000).value, 0x1234)
expect_eq(v:read(0x400000).refs, 24, "4-level guest x 4-level NPT: 24 references")
expect_eq(v:read(0x401000).ept_shift, 12)

-- The leaf and the tables as p2m_type_to_flags() / p2m_next_level() write them.
local leaf = d:npt_get_raw(0x20000, 1)
expect_eq(leaf & 0xfff, P | RW | U | A | D, "ram_rw leaf flags")
expect_eq(leaf & NX, 0, "RAM is executable")
expect_eq((leaf >> 52) & 0x7f, 0, "type ram_rw in bits 58:52")
expect_eq((leaf >> 12) & 0xffffffffff, d:mfn(0x20))
for lvl = 2, 4 do
    expect_eq(d:npt_get_raw(0x20000, lvl) & 0xfff, P | RW | U | A | D,
              "table entry flags at level " .. lvl)
end
expect_eq(d:npt_get_raw(0x20000, 1), leaf, "no A/D written back (preset)")

-- Fetches: RAM executes; a guest NX mapping still faults in the guest.
expect(v:exec(0x400000).ok)
-- An empty gfn is not present: a read goes to the device model (mmio_dm),
-- with EXITINFO1 = U | final-gpa (bit 32), P clear.
pt:map(0x402000, 0x300, "w")
local r = v:read(0x402000)
expect_eq(r.kind, "mmio")
expect_eq(r.nexits, 1)
expect_eq(r.exits[1].kind, "npf")
expect_eq(r.exits[1].qual, U | (1 << 32), "EXITINFO1: U, final gpa, not present")
expect_eq(r.exits[1].gpa, 0x300000)
expect_eq(r.value, 0xffffffffffffffff, "no device model: reads float high")
-- A write there: W too.
local wr = v:write(0x402000, 1)
expect_eq(wr.exits[1].qual, RW | U | (1 << 32))
-- A guest page table in an empty gfn: the #NPF is on the walk (bit 33).
pt:set_entry(0x403000, 2, 0x301000 | 7)
local g = v:read(0x403000)
expect_eq(g.exits[1].qual, U | (1 << 33), "EXITINFO1 bit 33: guest page-table access")
expect_eq(g.exits[1].gpa, 0x301018, "EXITINFO2: the PTE's gpa")

-- No mem_access and no foreign entries on p2m-pt.
expect_eq(d:set_access(0x20, "r"), -22, "mem_access needs EPT")
expect_eq(d:access(0x20), "rwx", "p2m-pt answers rwx")
local other = domain{ name = "other", gfns = 0x100, ram = 0x10 }
expect_eq(other:hap(), "ept")
expect_eq(d:add_foreign(0x200, other, 0x5), -22, "foreign entries only on EPT")
expect_eq(d:type(0x200), "mmio_dm")
