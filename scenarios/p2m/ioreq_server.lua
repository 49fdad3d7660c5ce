-- p2m_ioreq_server: RAM pages whose writes an ioreq server (a device model
-- emulating, e.g., a GPU's page tables) wants to see.  The type is mapped
-- to one server with XEN_DMOP_map_mem_type_to_ioreq_server; with the write
-- flag the entries are EPT r - - (ept_p2m_type_to_flags(): w =
-- !(ioreq.flags & WRITE); never executable), reads go to RAM and a guest
-- write is an EPT violation that handle_mmio() forwards to the server.
-- XEN_DMOP_set_mem_type turns ram_rw into ioreq_server only while a server
-- is mapped (allow_p2m_type_change()), and back only to ram_rw.
-- Log-dirty cannot be enabled while such entries exist
-- (hap_enable_log_dirty(): -EBUSY); unmapping the server turns them all
-- back into ram_rw (a global type change).
local EINVAL, EBUSY = -22, -16
local d = domain{ name = "gpu", gfns = 0x100, ram = 0x40 }
local pt = d:pagetable{ root = 0x10 }
pt:map(0x400000, 0x30, "w")
pt:map(0x401000, 0x31, "w")
local v = d:vcpu{ cr3 = pt }
expect(v:write(0x400000, 0x1111).ok)
expect(v:write(0x401000, 0x2222).ok)

expect_eq(d:set_mem_type(0x30, "ioreq_server"), EINVAL, "no server mapped")
expect_eq(d:map_ioreq_server(false), EINVAL, "nothing to unmap")
expect_eq(d:map_ioreq_server(true), 0)
expect_eq(d:map_ioreq_server(true), EBUSY, "one server at a time")
expect_eq(d:set_mem_type(0x30, "ioreq_server"), 0)
expect_eq(d:set_mem_type(0x31, "ioreq_server"), 0)
expect_eq(d:type(0x30), "ioreq_server")
expect_eq(d:set_mem_type(0x30, "ram_ro"), EINVAL, "ioreq_server goes back only to ram_rw")
expect_eq(d:set_mem_type(0x80, "ioreq_server"), EINVAL, "no RAM there")

-- Reads from RAM; writes to the server (the page is unchanged).
local r = v:read(0x400000)
expect(r.ok)
expect_eq(r.value, 0x1111)
local w = v:write(0x400000, 0x3333)
expect_eq(w.kind, "mmio", "forwarded to the ioreq server")
expect_eq(w.nexits, 1)
expect_eq(v:read(0x400000).value, 0x1111)
expect_eq(v:exec(0x400000).kind, "crash", "ioreq_server pages are not executable")
-- The hypervisor's own copies write the RAM.
expect_eq(d:write_phys(0x30008, 0x44), 0)
expect_eq(v:read(0x400008).value, 0x44)

expect_eq(d:logdirty_enable(), EBUSY, "ioreq_server entries exist")
expect_eq(d:set_mem_type(0x30, "ram_rw"), 0)
expect_eq(d:logdirty_enable(), EBUSY, "gfn 0x31 still is one")

-- Unmapping the server: every ioreq_server entry becomes ram_rw.
expect_eq(d:map_ioreq_server(false), 0)
expect_eq(d:type(0x31), "ram_rw")
expect(v:write(0x401000, 0x5555).ok)
expect_eq(d:logdirty_enable(), 0)
expect_eq(d:logdirty_disable(), 0)
