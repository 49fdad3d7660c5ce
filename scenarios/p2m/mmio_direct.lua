-- Direct MMIO: a device frame (an mfn outside host RAM) mapped into a
-- guest as p2m_mmio_direct, as XEN_DOMCTL_memory_mapping does for a
-- passed-through device's BAR (map_mmio_regions() -> set_mmio_p2m_entry()
-- -> set_typed_p2m_entry()), and taken away again
-- (clear_mmio_p2m_entry()).
--   EPT: r w x (ept_p2m_type_to_flags(): w unless the frame is in
--   mmio_ro_ranges, none here; x as RAM), memory type UC with ignore-PAT
--   (epte_get_entry_emt() for a frame that is not RAM: !mfn_valid()).
--   No page_info, no M2P entry, no reference, no dirty logging: guest
--   accesses reach the device without an exit; no device is attached
--   here, so reads float high (all ones) and writes go nowhere.
local EINVAL, EPERM = -22, -1
host{ frames = 0x1000 }
local d = domain{ name = "passthrough", gfns = 0x200, ram = 0x40 }
local o = domain{ name = "other", gfns = 0x200, ram = 0x40 }
local BAR = 0x80000 -- a device frame: host RAM is frames 0..0xfff

expect_eq(d:set_mmio(0x100, BAR), 0)
expect_eq(d:type(0x100), "mmio_direct")
expect_eq(d:mfn(0x100), BAR)
expect_eq(d:access(0x100), "rwx")
expect_eq(m2p(0x1000 - 1), nil, "no M2P entry for device frames (and none changed)")

local pt = d:pagetable{ root = 0x10 }
pt:map(0x600000, 0x100, "w")
pt:map(0x601000, 0x101, "w")
pt:map(0x602000, 0x20, "w")
local v = d:vcpu{ cr3 = pt }
local r = v:read(0x600000)
expect(r.ok, "no exit: the EPT maps the device frame")
expect_eq(r.nexits, 0)
expect_eq(r.hpa, BAR * 4096)
expect_eq(r.value, 0xffffffffffffffff, "no device attached: reads float high")
expect_eq(r.memtype, 0, "UC")
expect(r.ipat, "ignore PAT: the guest cannot make device memory cacheable")
expect(v:write(0x600008, 0x1234).ok)
expect_eq(v:read(0x600008, 4).value, 0xffffffff, "the write went to the device")
expect(v:exec(0x600010).ok, "mmio_direct is executable (option ROMs)")

-- No dirty logging: log-dirty's global change leaves mmio_direct alone and
-- a write through it marks nothing.
expect_eq(d:logdirty_enable(), 0)
expect_eq(d:type(0x100), "mmio_direct")
local w = v:write(0x600000, 7)
expect(w.ok)
expect_eq(w.nexits, 0)
expect(v:write(0x602000, 7).ok, "a RAM write is logged")
expect_eq(d:is_dirty(0x100), false, "the device frame's gfn is never logged")
expect_eq(d:is_dirty(0x20), true)
expect_eq(d:logdirty_disable(), 0)

-- Hypervisor copies, balloon and paging do not apply to device frames.
expect_eq(d:write_phys(0x100000, 1), -14, "-EFAULT: not RAM")
expect_eq(d:remove(0x100), EPERM, "guest_remove_page(): not the guest's to give back")
expect_eq(d:set_type(0x100, "mmio_dm"), EPERM, "special entries are kept")
expect_eq(d:populate(0x100), EINVAL, "p2m_add_page() does not replace it")
expect_eq(d:paging_enable(), 0)
expect_eq(d:nominate(0x100), -16, "-EBUSY: not pageable")
expect_eq(o:grant_map(0x90, d, 0x100), EINVAL, "nothing to grant")
expect_eq(select(2, d:map_foreign(0x100)), EINVAL)

-- The access type restricts it as any entry; the same mapping again only
-- changes the access (upstream since the XSA-378 follow-up).
expect_eq(d:set_mmio(0x100, BAR, { access = "r" }), 0)
expect_eq(d:access(0x100), "r")
local wr = v:write(0x600000, 1)
expect_eq(wr.nexits, 1, "mem_access violation, cleared (no listener)")
expect_eq(d:access(0x100), "rwx")
expect_eq(d:set_mmio(0x100, BAR), 0, "identical mapping: nothing to do")

-- Errors: another frame over it, host RAM, beyond paddr_bits, grant and
-- foreign entries (Xen also crashes the domain there).
expect_eq(d:set_mmio(0x100, BAR + 1), EPERM)
expect_eq(d:mfn(0x100), BAR)
expect_eq(d:set_mmio(0x101, 0x20), EPERM, "a host RAM frame is not I/O memory")
expect_eq(d:set_mmio(0x101, 1 << 34), EINVAL, "beyond the host's 46 address bits")
expect_eq(o:grant_map(0x80, d, 0x21), 0)
expect_eq(o:set_mmio(0x80, BAR), EPERM)
expect_eq(o:add_foreign(0x81, d, 0x22), 0)
expect_eq(o:set_mmio(0x81, BAR), EPERM)

-- Over RAM: the page leaves the P2M (M2P INVALID, marked clean) and is
-- released; over an unmapped gfn and a PoD entry.
local ram = d:mfn(0x30)
expect_eq(d:logdirty_enable(), 0)
expect_eq(d:write_phys(0x30000, 5), 0)
expect_eq(d:set_mmio(0x30, BAR + 2), 0)
expect_eq(m2p(ram), nil)
expect_eq(d:is_dirty(0x30), false, "set_typed_p2m_entry() marks the gfn clean")
expect_eq(d:logdirty_disable(), 0)
expect_eq(d:populate_pod(0x120), 0)
expect_eq(d:set_mmio(0x120, BAR + 3), 0)
expect_eq(d:pod().entries, 0)
expect_eq(d:set_mmio(0x101, BAR + 4), 0)
expect_eq(v:read(0x601000).hpa, (BAR + 4) * 4096)

-- Clear: only a mmio_direct entry; a different frame is only warned about
-- (and cleared all the same).
expect_eq(d:clear_mmio(0x20), EINVAL, "RAM is not cleared this way")
expect_eq(d:clear_mmio(0x150), EINVAL, "nothing mapped")
expect_eq(d:clear_mmio(0x101, BAR + 99), 0, "Xen warns, and clears")
expect_eq(d:type(0x101), "mmio_dm")
expect_eq(v:read(0x601000).kind, "mmio", "an unmapped gfn goes to the device model")
expect_eq(d:clear_mmio(0x100), 0)
expect_eq(d:clear_mmio(0x100), EINVAL)
expect_eq(d:type(0x100), "mmio_dm")
expect_eq(d:set_mmio(0x100, BAR), 0, "and mapped again")

-- Teardown: device frames are nobody's to free.
o:destroy()
d:destroy()
