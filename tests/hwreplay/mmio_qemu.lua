-- hw-replay: MMIO on QEMU TCG.  The QEMU machine (-M pc -m 256 -nodefaults)
-- has RAM from 0 to 256 MiB (ROMs at 0xc0000-0xfffff) and nothing from
-- there to the IOAPIC at 0xfec00000, so a domain's MMIO gfns at 256 MiB and
-- above are holes on QEMU too: the model's EPT violations on them (mmio_dm
-- exits, emulated: the emulator's walk sets A/D; reads float high) are
-- compared with what QEMU does (reads, writes of widths 1-8, CPL0 and CPL3,
-- 4 KiB and 2 MiB leaves).  The one below 256 MiB is skipped on QEMU.
local d = domain{ name = "mmio", gfns = 0x20000, ram = 0x80 }  -- 512 MiB, 512 KiB RAM
local pt = d:pagetable{ root = 0x10 }
pt:map(0x400000, 0x10000, "wu")       -- MMIO at 256 MiB
pt:map(0x401000, 0x18fff, "w")        -- MMIO, supervisor
pt:map(0x600000, 0x1f000, "wu", 2)    -- MMIO 2 MiB leaf
pt:map(0x402000, 0x40, "wu")          -- RAM
pt:map(0x403000, 0x800, "wu")         -- MMIO below 256 MiB: RAM on QEMU
local v = d:vcpu{ cr3 = pt, cpl = 0 }
expect(v:read(0x400010, 4).mmio)
expect(v:write(0x400020, 0x1234, 2).mmio)
expect(v:read(0x401ff8).mmio)
expect(v:write(0x401000, 0x55, 1).mmio)
expect(v:read(0x602008, 1).mmio)
expect(v:write(0x7ff000, 7).mmio)
expect(v:read(0x402000).ok)
expect(v:read(0x403000).mmio)
v:set{ cpl = 3 }
expect(v:read(0x400008, 8).mmio)
expect(v:write(0x400000, 0xdeadbeef, 4).mmio)
expect_eq(v:read(0x401000).ec, PF.P | PF.U, "a supervisor MMIO page from CPL3: #PF first")
