-- What a shared gfn refuses, and what still works on it.
--   Not pageable: evict -EBUSY (and -ENODEV without a ring), prep -ENOENT.
--   Not mappable by other domains: grant_map / add_foreign -EINVAL
--   (the harness's mappable frame is RAM of the granting domain; a shared
--   frame is dom_cow's), nor by the tool stack's foreign map (get_page()
--   against the domain fails: -EINVAL; Xen would unshare for a writable
--   mapping, not modelled); unmap_foreign of a shared frame: -EINVAL (its
--   references are its sharers').
--   set_access keeps the type (p2m_set_mem_access() rewrites the entry);
--   set_type unshares first, then replaces the page.
local a = domain{ name = "a", gfns = 0x100, ram = 0x40 }
local b = domain{ name = "b", gfns = 0x100, ram = 0x40 }
expect_eq(a:sharing_enable(), 0)
local sh = a:share_nominate(0x20)
expect(sh ~= nil)
local m, rc = a:map_foreign(0x20)
expect_eq(m, nil)
expect_eq(rc, -22)
expect_eq(a:evict(0x20), -19, "no paging ring")
expect_eq(a:paging_enable(), 0)
expect_eq(a:evict(0x20), -16)
expect_eq(a:prep(0x20), -2)
expect_eq(b:grant_map(0x90, a, 0x20), -22)
expect_eq(b:add_foreign(0x91, a, 0x20), -22)
expect_eq(a:set_access(0x20, "r"), 0)
expect_eq(a:access(0x20), "r")
expect_eq(a:type(0x20), "ram_shared")
local f = a:mfn(0x20)
expect_eq(a:set_type(0x20, "mmio_dm"), 0)
expect_eq(m2p(f), nil, "the last sharer's page was freed")
local sh2 = a:share_nominate(0x21)
expect(sh2 > sh)
expect_eq(a:unmap_foreign(a:mfn(0x21)), -22)

-- nominate is p2m_change_type_one(): the default access again.
expect_eq(a:set_access(0x22, "rx"), 0)
local sh3 = a:share_nominate(0x22)
expect(sh3 ~= nil)
expect_eq(a:access(0x22), "rwx")
