-- p2m_ram_ro (HVMOP_set_mem_type / XEN_DMOP_set_mem_type, hvm/dm.c
-- set_mem_type()): read-only RAM is readable and executable, EPT r-x; a
-- guest write takes an EPT violation that Xen emulates and discards
-- (p2m_is_discard_write() -> handle_mmio_with_translation), so the vCPU
-- goes on and memory is unchanged; hypervisor copies to it are discarded
-- too.  set_mem_type on a paged-out gfn populates and answers -EAGAIN.
local EINVAL, EAGAIN = -22, -11
local d = domain{ name = "guest", gfns = 0x100, ram = 0x40 }
local pt = d:pagetable{ root = 0x10 }
pt:map(0x400000, 0x30, "wu")
local v = d:vcpu{ cr3 = pt }
expect(v:write(0x400000, 0x1111).ok)

expect_eq(d:set_mem_type(0x30, "ram_ro"), 0)
expect_eq(d:type(0x30), "ram_ro")
local w = v:write(0x400000, 0x2222)
expect_eq(w.kind, "discard", "write to ram_ro is emulated and dropped")
expect_eq(w.nexits, 1)
expect_eq(v:read(0x400000).value, 0x1111, "memory unchanged")
expect_eq(d:write_phys(0x30000, 0x3333), 0, "hypervisor copy: discarded")
expect_eq(d:read_phys(0x30000), 0x1111)

-- Not for holes; back to rw.
expect_eq(d:set_mem_type(0x80, "ram_ro"), EINVAL, "no RAM at gfn 0x80")
expect_eq(d:set_mem_type(0x30, "ram_rw"), 0)
expect(v:write(0x400000, 0x4444).ok)
expect_eq(v:read(0x400000).value, 0x4444)

-- Under log-dirty: ram_ro pages are not logged; back to rw gives logdirty.
expect_eq(d:logdirty_enable(), 0)
expect_eq(d:set_mem_type(0x31, "ram_ro"), 0)
expect_eq(d:write_phys(0x31000, 1), 0)
expect_eq(#d:peek_dirty(0x40), 0, "a discarded write dirties nothing")
expect_eq(d:set_mem_type(0x31, "ram_rw"), 0)
expect_eq(d:type(0x31), "ram_logdirty")
expect_eq(d:logdirty_disable(), 0)

-- A paged-out gfn: populate, retry.
expect_eq(d:paging_enable(), 0)
expect_eq(d:nominate(0x32), 0)
expect_eq(d:evict(0x32), 0)
expect_eq(d:set_mem_type(0x32, "ram_ro"), EAGAIN)
expect_eq(d:type(0x32), "ram_paging_in")
expect_eq(d:get_request().gfn, 0x32)
