-- hw-replay: 32-bit paging (with 4 MiB pages) and PAE paging, replayed on
-- QEMU TCG by hw-replay/stub32.S (kvm-pvm here pages only in long mode:
-- those accesses are SKIPs on KVM).  CPL3 and CPL0 reads and writes of
-- widths 1/2/4/8 setting A/D (4 KiB, 4 MiB and 2 MiB leaves), U/S, R/W
-- with CR0.WP, XD (PAE with EFER.NXE), SMEP/SMAP, not-present faults and
-- fetches.  The top 4 MiB (32-bit PDE 1023) and PAE PDPTE 3 stay free: the
-- stub lives there.
local d = domain{ name = "legacy", gfns = 0x1000, ram = 0x800 }
for g = 0x400, 0x4ff do d:write_phys(g * 4096 + 0x40, 0x1000000000 + g) end

-- 32-bit paging
local p32 = d:pagetable{ root = 0x10, pool = 0x11, pool_pages = 16, mode = "32" }
p32:map(0x00400000, 0x400, "wu")          -- user data
p32:map(0x00401000, 0x401, "u")           -- user read-only
p32:map(0x00402000, 0x402, "w")           -- supervisor
p32:map(0x00c00000, 0x400, "wu", 2)       -- 4 MiB user page
p32:map(0x80000000, 0x403, "w")           -- upper half, supervisor
local v = d:vcpu{ cr3 = p32, mode = "32", pse = true, cpl = 3, wp = true }
expect(v:write(0x00400010, 0xdeadbeef, 4).ok)
expect_eq(v:read(0x00400010, 4).value, 0xdeadbeef)
expect_eq(v:read(0x00400011, 1).value, 0xbe)
expect_eq(v:read(0x00401040, 2).value, 0x0401)
expect_eq(v:read(0x00401040).value, 0x1000000401, "8-byte read in 32-bit mode")
expect_eq(v:write(0x00401000, 1).ec, PF.P | PF.W | PF.U)
expect_eq(v:read(0x00402000).ec, PF.P | PF.U)
expect_eq(v:read(0x00403000).ec, PF.U, "not present")
expect(v:write(0x00c00000 + 0x3 * 4096 + 8, 0x77, 8).ok, "4 MiB page: D in the PDE")
expect(p32:entry(0x00c00000, 2) & PTE.D ~= 0)
expect_eq(v:read(0x00c03008).value, 0x77)
expect(v:exec(0x00400800).ok, "user fetch (zeros: the stub's registers fault after it)")
expect_eq(v:exec(0x00402000).ec, PF.P | PF.U, "no I/D bit: no NX in 32-bit paging, SMEP off")
v:set{ cpl = 0 }
expect(v:read(0x80000000).ok)
expect_eq(v:write(0x00401000, 1).ec, PF.P | PF.W, "CR0.WP=1")
v:set{ wp = false }
expect(v:write(0x00401000, 2, 1).ok, "CR0.WP=0: supervisor writes a read-only page")
v:set{ wp = true, smap = true }
expect_eq(v:read(0x00400000).ec, PF.P, "SMAP in 32-bit paging")
v:set{ ac = true }
expect(v:read(0x00400000).ok, "EFLAGS.AC lifts SMAP")
v:set{ ac = false, smap = false, smep = true }
expect_eq(v:exec(0x00400800).ec, PF.P | PF.ID, "SMEP")
v:set{ smep = false }

-- PAE paging, XD with EFER.NXE
local pae = d:pagetable{ root = 0x20, pool = 0x21, pool_pages = 16, mode = "pae" }
pae:map(0x00400000, 0x410, "wu")
pae:map(0x00401000, 0x411, "wun")         -- user, no-execute
pae:map(0x40000000, 0x412, "u")           -- PDPTE 1: user read-only
pae:map(0x80200000, 0x600, "wu", 2)       -- PDPTE 2: 2 MiB user page
v:set{ cr3 = pae, mode = "pae", nxe = true, cpl = 3 }
expect(v:write(0x00400020, 0x1234, 2).ok)
expect_eq(v:read(0x00400020, 2).value, 0x1234)
expect_eq(v:exec(0x00401000).ec, PF.P | PF.U | PF.ID, "XD")
expect_eq(v:write(0x40000000, 1).ec, PF.P | PF.W | PF.U)
expect_eq(v:read(0x40000040).value, 0x1000000412)
expect(v:write(0x80200000 + 0x5 * 4096, 0x99, 4).ok, "2 MiB page: D in the PDE")
expect_eq(v:read(0x80205000, 4).value, 0x99)
expect_eq(v:read(0x80400000).ec, PF.U, "not present PDE")
expect_eq(v:read(0x00000000).ec, PF.U, "not present PTE")
expect(v:exec(0x00400800).ok)
v:set{ cpl = 0 }
expect_eq(v:write(0x40000000, 1, 4).ec, PF.P | PF.W)
v:set{ smep = true }
expect_eq(v:exec(0x00400800).ec, PF.P | PF.ID, "SMEP in PAE paging")
