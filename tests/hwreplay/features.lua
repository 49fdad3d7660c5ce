-- hw-replay: features the backend lacks are skipped with the reason (kvm-here.md
-- section 1: CR4.PCIDE and LA57 are rejected by KVM_SET_SREGS here, wrpkru
-- fails), never counted as passes.
local d = domain{ name = "f", gfns = 0x100, ram = 0x40 }
local pt = d:pagetable{ root = 0x10 }
pt:map(0x400000, 0x30, "wu")
local v = d:vcpu{ cr3 = pt }
expect(v:read(0x400000).ok)
v:set{ cr4 = 0x20 | (1 << 17) }
v:read(0x400000)
v:set{ cr4 = 0x20 | (1 << 22) }
v:read(0x400000)
v:set{ cr4 = 0x20 | (1 << 12) }
v:read(0x400000)
