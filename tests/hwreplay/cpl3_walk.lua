-- hw-replay: user-mode (CPL3) accesses, which KVM on these hosts runs
-- natively on the CPU (shadow paging), not in its emulator: reads and
-- writes setting A/D, widths 1/2/4/8, protection faults (U/S, R/W, NX) and
-- not-present faults, in a second address-space layout (two PDPTs).
local d = domain{ name = "u", gfns = 0x200, ram = 0x80 }
local pt = d:pagetable{ root = 0x10 }
pt:map(0x400000, 0x40, "wu")          -- user data
pt:map(0x401000, 0x41, "u")           -- user read-only
pt:map(0x402000, 0x42, "w")           -- supervisor
pt:map(0x403000, 0x43, "wun")         -- user, no-execute
pt:map(0x7f0000000000, 0x44, "wu")    -- far away: other PML4 slot
local v = d:vcpu{ cr3 = pt, cpl = 3, wp = true, nxe = true }
d:write_phys(0x41008, 0x1122334455667788)

expect(v:write(0x400010, 0xdeadbeef, 4).ok)
expect_eq(v:read(0x400010, 4).value, 0xdeadbeef)
expect_eq(v:read(0x400011, 1).value, 0xbe)
expect_eq(v:read(0x401008, 2).value, 0x7788)
expect_eq(v:read(0x401008).value, 0x1122334455667788)
expect_eq(v:write(0x401000, 1).ec, PF.P | PF.W | PF.U)
expect_eq(v:read(0x402000).ec, PF.P | PF.U)
expect_eq(v:write(0x402000, 1).ec, PF.P | PF.W | PF.U)
expect_eq(v:exec(0x403000).ec, PF.P | PF.U | PF.ID)
expect_eq(v:read(0x404000).ec, PF.U)
expect_eq(v:write(0x500000, 1).ec, PF.W | PF.U)
expect(v:write(0x7f0000000ff8, 0x55, 8).ok)
expect_eq(v:read(0x7f0000000ff8).value, 0x55)
-- a user fetch that succeeds (the page holds zeros: the stub's poisoned
-- registers make the decoded instruction fault, after the fetch)
expect(v:exec(0x400800).ok)
-- the same pages from CPL0
v:set{ cpl = 0 }
expect(v:read(0x402000).ok)
expect_eq(v:write(0x401000, 1).ec, PF.P | PF.W)
