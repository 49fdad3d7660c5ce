-- p2m_ioreq_server with several ioreq servers and the DMOP's flags
-- (XEN_DMOP_map_mem_type_to_ioreq_server: hvm_map_mem_type_to_ioreq_server()
-- -> p2m_set_ioreq_server()).
--   * Only write forwarding exists: flags must be
--     XEN_DMOP_IOREQ_MEM_ACCESS_WRITE (2) to map; flags 0 is the unmap; a
--     READ flag (1), alone or with WRITE, is refused (-EINVAL).  So an
--     ioreq_server entry always lacks EPT w while it exists: the "server
--     without the write flag" of ept_p2m_type_to_flags() cannot be set up.
--   * The type belongs to one server at a time (p2m->ioreq.server): a
--     second server's map is -EBUSY, its unmap -EINVAL (not the mapped
--     one); a server id the device model does not run is -ENOENT.
--   * The unmap turns every ioreq_server entry back into ram_rw, after
--     which another server may take the type.
local EINVAL, EBUSY, ENOENT = -22, -16, -2
local READ, WRITE = 1, 2
local d = domain{ name = "vgpu", gfns = 0x100, ram = 0x40 }
local pt = d:pagetable{ root = 0x10 }
pt:map(0x400000, 0x30, "w")
local v = d:vcpu{ cr3 = pt }
expect(v:write(0x400000, 0x1111).ok)

expect_eq(d:map_ioreq_server{ server = 1, flags = READ }, EINVAL, "reads cannot be claimed")
expect_eq(d:map_ioreq_server{ server = 1, flags = READ + WRITE }, EINVAL)
expect_eq(d:map_ioreq_server{ server = 1, flags = 4 }, EINVAL)
expect_eq(d:map_ioreq_server{ server = 8, flags = WRITE }, ENOENT, "servers 0..7 exist")
expect_eq(d:map_ioreq_server{ server = 1, flags = 0 }, EINVAL, "nothing mapped to unmap")

-- Server 1 takes the type; server 2 can neither map nor unmap it.
expect_eq(d:map_ioreq_server{ server = 1, flags = WRITE }, 0)
expect_eq(d:map_ioreq_server{ server = 2, flags = WRITE }, EBUSY, "one server at a time")
expect_eq(d:map_ioreq_server{ server = 1, flags = WRITE }, EBUSY, "already mapped")
expect_eq(d:map_ioreq_server(false), EINVAL, "server 0 is not the mapped one")
expect_eq(d:map_ioreq_server{ server = 2, flags = 0 }, EINVAL)
expect_eq(d:set_mem_type(0x30, "ioreq_server"), 0)
local w = v:write(0x400000, 0x2222)
expect_eq(w.kind, "mmio", "server 1 sees the write")
expect_eq(v:read(0x400000).value, 0x1111)

-- Server 1 lets go: the entry is RAM again; server 2 maps, server 0 too
-- only after it.
expect_eq(d:map_ioreq_server{ server = 1, flags = 0 }, 0)
expect_eq(d:type(0x30), "ram_rw")
expect(v:write(0x400000, 0x3333).ok)
expect_eq(d:map_ioreq_server{ server = 2, flags = WRITE }, 0)
expect_eq(d:map_ioreq_server(true), EBUSY)
expect_eq(d:set_mem_type(0x30, "ioreq_server"), 0)
expect_eq(v:write(0x400000, 0x4444).kind, "mmio")
expect_eq(d:map_ioreq_server{ server = 2 }, 0, "flags default to 0: the unmap")
expect_eq(d:map_ioreq_server(true), 0)
expect_eq(d:map_ioreq_server(false), 0)
expect_eq(v:read(0x400000).value, 0x3333)
