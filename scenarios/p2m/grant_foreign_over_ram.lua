-- Grant and foreign mappings placed at gfns that already hold the
-- mapping domain's own RAM (or a PoD entry).
--   * grant (create_grant_p2m_mapping() -> p2m_add_page()): the RAM page
--     only leaves the P2M -- its M2P entry becomes INVALID and the gfn is
--     marked clean -- but p2m_add_page() does not free it: it stays the
--     domain's (tot_pages), unmapped, until teardown (upstream as it is);
--   * foreign (p2m_add_foreign()): "normal domain memory is freed, to
--     avoid leaking memory": guest_remove_page() first, so the page goes
--     back to the heap (or, when the tool stack still maps it, lives on
--     until that reference goes), then the foreign entry;
--   * a PoD entry is replaced and counted off either way.
-- Special entries and the paging types are still refused (-EEXIST).
local EEXIST = -17
local a = domain{ name = "granter", gfns = 0x100, ram = 0x40 }
local b = domain{ name = "mapper", gfns = 0x100, ram = 0x40 }
expect_eq(a:write_phys(0x20000, 0xa0a0), 0)
expect_eq(a:write_phys(0x21000, 0xa1a1), 0)
expect_eq(b:write_phys(0x30000, 0xb0b0), 0)
expect_eq(b:write_phys(0x31000, 0xb1b1), 0)

-- Grant over RAM: b's page at 0x30 leaves the P2M but not b.
expect_eq(b:logdirty_enable(), 0)
expect_eq(b:write_phys(0x30008, 1), 0)
local old = b:mfn(0x30)
local free0 = heap().free
expect_eq(b:grant_map(0x30, a, 0x20), 0)
expect_eq(b:type(0x30), "grant_map_rw")
expect_eq(b:mfn(0x30), a:mfn(0x20))
expect_eq(m2p(old), nil, "the replaced page's M2P entry is INVALID")
expect_eq(b:is_dirty(0x30), false, "p2m_remove_entry() marked the gfn clean")
expect_eq(heap().free, free0, "the replaced page is not freed")
expect_eq(b:logdirty_disable(), 0)
free0 = heap().free -- (the disable freed the log-dirty tree's pages)
local pt = b:pagetable{ root = 0x10 }
pt:map(0x400000, 0x30, "w")
pt:map(0x401000, 0x31, "w")
local v = b:vcpu{ cr3 = pt }
expect_eq(v:read(0x400000).value, 0xa0a0, "the granted page is seen there now")
expect_eq(b:grant_unmap(0x30), 0)
expect_eq(b:type(0x30), "mmio_dm", "the old page does not come back")
expect_eq(heap().free, free0, "and is still b's")

-- Foreign over RAM: b's page at 0x31 is given back first.
local old2 = b:mfn(0x31)
expect_eq(b:add_foreign(0x31, a, 0x21), 0)
expect_eq(b:type(0x31), "map_foreign")
expect_eq(heap().free, free0 + 1, "guest_remove_page() freed the replaced page")
expect_eq(m2p(old2), nil)
expect_eq(v:read(0x401000).value, 0xa1a1)
expect_eq(b:remove(0x31), 0)

-- ... unless the tool stack maps that page: then it lives on until unmapped.
local held = b:map_foreign(0x32)
expect_eq(b:add_foreign(0x32, a, 0x22), 0)
local free1 = heap().free
expect_eq(b:unmap_foreign(held), 0)
expect_eq(heap().free, free1 + 1)
expect_eq(b:remove(0x32), 0)

-- Over a PoD entry.
expect_eq(b:populate_pod(0x90), 0)
expect_eq(b:populate_pod(0x91), 0)
expect_eq(b:grant_map(0x90, a, 0x23, "ro"), 0)
expect_eq(b:add_foreign(0x91, a, 0x24), 0)
expect_eq(b:pod().entries, 0)

-- Still refused: special entries and paging types.
expect_eq(b:grant_map(0x90, a, 0x25), EEXIST, "a grant is there")
expect_eq(b:add_foreign(0x91, a, 0x25), EEXIST, "a foreign entry is there")
expect_eq(b:paging_enable(), 0)
expect_eq(b:nominate(0x33), 0)
expect_eq(b:grant_map(0x33, a, 0x25), EEXIST, "paging_out")
expect_eq(b:add_foreign(0x33, a, 0x25), EEXIST)
expect_eq(b:evict(0x33), 0)
expect_eq(b:grant_map(0x33, a, 0x25), EEXIST, "paged")

-- Teardown frees the page the grant replaced along with b's others.
expect_eq(b:grant_unmap(0x90), 0)
expect_eq(b:remove(0x91), 0)
b:destroy()
a:destroy()
