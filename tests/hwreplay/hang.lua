-- hw-replay: a guest that never finishes.  The fetched page holds
-- "jmp ." (eb fe): the model's fetch completes, the replay guest then spins
-- until the backend's time bound ends the replay with a clear error.
local d = domain{ name = "hang", gfns = 0x100, ram = 0x40 }
local pt = d:pagetable{ root = 0x10 }
pt:map(0x600000, 0x30, "wu")
d:write_phys(0x30000, 0xfeeb, 2)
local v = d:vcpu{ cr3 = pt, cpl = 3 }
expect(v:exec(0x600000).ok)
expect(v:read(0x600000).ok, "not replayed: the hang above ends the replay")
