-- ram_ro, mmio_dm, ioreq_server and PoD under NPT.  ram_ro is P|U|A|D
-- (no RW): a guest write takes a #NPF (P|W|U|final) that Xen emulates and
-- discards (p2m_is_discard_write()).  mmio_dm is not present: any access
-- exits to the device model.  A write-claiming ioreq server's pages lose
-- RW (and are NX).  A PoD entry is not present; its first touch populates
-- it from the PoD cache (p2m_pod_demand_populate()) and the access retries.
local P, RW, U, A, D = 1, 2, 4, 0x20, 0x40
local NX, FINAL = 1 << 63, 1 << 32
local d = domain{ name = "amd", gfns = 0x100, ram = 0x40, hap = "npt" }
local pt = d:pagetable{ root = 0x10 }
pt:map(0x400000, 0x30, "wu")
pt:map(0x401000, 0x80, "w")
pt:map(0x402000, 0x31, "w")
pt:map(0x403000, 0x90, "w")
local v = d:vcpu{ cr3 = pt }
expect(v:write(0x400000, 0x1111).ok)
expect(v:write(0x402000, 0x2222).ok)

expect_eq(d:set_mem_type(0x30, "ram_ro"), 0)
expect_eq(d:npt_get_raw(0x30000, 1) & (0xfff | NX), P | U | A | D, "ram_ro: r-x")
local w = v:write(0x400000, 0x9999)
expect_eq(w.kind, "discard")
expect_eq(w.nexits, 1)
expect_eq(w.exits[1].qual, P | RW | U | FINAL)
expect_eq(v:read(0x400000).value, 0x1111, "memory unchanged")
expect(v:exec(0x400000).ok, "ram_ro executes")

-- mmio_dm: reads and writes go to the (absent) device model.
expect_eq(d:set_type(0x80, "mmio_dm"), 0)
local r = v:read(0x401000)
expect_eq(r.kind, "mmio")
expect_eq(r.exits[1].qual, U | FINAL)
expect_eq(r.exits[1].gpa, 0x80000)
expect_eq(v:write(0x401000, 3).kind, "mmio")
local x = v:exec(0x401000)
expect_eq(x.exits[1].qual, U | 0x10 | FINAL, "a fetch: I/D (bit 4)")

-- ioreq server claiming writes: the page is P|U|A|D|NX.
expect_eq(d:map_ioreq_server(true, true), 0)
expect_eq(d:set_mem_type(0x31, "ioreq_server"), 0)
expect_eq(d:npt_get_raw(0x31000, 1) & (0xfff | NX), P | U | A | D | NX)
expect_eq(v:read(0x402000).value, 0x2222, "reads run on")
expect_eq(v:write(0x402000, 5).kind, "mmio", "writes go to the server")
local f = v:exec(0x402000)
expect_eq(f.kind, "crash", "a fetch from an NX ioreq page is not handled")
expect_eq(f.exits[1].qual, P | U | 0x10 | FINAL)
