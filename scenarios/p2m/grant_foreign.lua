-- Special P2M types that map another domain's page (P2M_SPECIAL_TYPES):
--   grant_map_rw / grant_map_ro  create_grant_p2m_mapping() through
--       p2m_add_page(): EPT r w - / r - -, no M2P change, no dirty mark;
--       map_grant_ref() holds a page reference until the unmap;
--   map_foreign  p2m_add_foreign() (XENMAPSPACE_gmfn_foreign): EPT r w -;
--       the EPT write itself takes the page reference
--       (atomic_write_ept_entry()) and drops it when the entry goes.
-- Neither is executable (a fetch is an unhandled EPT violation: the domain
-- is crashed), neither is changed by log-dirty, and neither may be
-- replaced by set_type (-EPERM) or populate (-EINVAL).
local EINVAL, EEXIST, EBUSY, EPERM = -22, -17, -16, -1
local a = domain{ name = "granter", gfns = 0x100, ram = 0x40 }
local b = domain{ name = "grantee", gfns = 0x100, ram = 0x40 }
expect_eq(a:write_phys(0x20000, 0x1234), 0)

-- Grant map (rw) of a's gfn 0x20 at b's gfn 0x80.
expect_eq(b:grant_map(0x80, a, 0x20), 0)
expect_eq(b:type(0x80), "grant_map_rw")
expect_eq(b:mfn(0x80), a:mfn(0x20))
expect_eq(m2p(a:mfn(0x20)), 0x20, "the M2P still names the granter's gfn")
local pt = b:pagetable{ root = 0x10 }
pt:map(0x400000, 0x80, "w")
pt:map(0x401000, 0x81, "w")
pt:map(0x402000, 0x90, "w")
local v = b:vcpu{ cr3 = pt }
expect_eq(v:read(0x400000).value, 0x1234)
expect(v:write(0x400000, 0x5678).ok)
expect_eq(a:read_phys(0x20000), 0x5678, "the granter sees the write")
expect_eq(v:exec(0x400000).kind, "crash", "grant mappings are not executable")

-- Errors.
expect_eq(b:grant_map(0x80, a, 0x21), EEXIST, "b's gfn 0x80 holds a grant")
-- (a grant over RAM: scenarios/p2m/grant_foreign_over_ram.lua)
expect_eq(b:grant_map(0x82, a, 0x80), EINVAL, "nothing at a's gfn 0x80")
expect_eq(b:grant_map(0x82, b, 0x21), EINVAL, "not to oneself")
expect_eq(b:grant_unmap(0x10), EINVAL, "not a grant")
expect_eq(b:set_type(0x80, "mmio_dm"), EPERM)
expect_eq(b:populate(0x80), EINVAL)
-- (removing a granted page: scenarios/p2m/removed_while_mapped.lua)
expect(not pcall(a.destroy, a), "nor its domain destroyed")
expect_eq(a:paging_enable(), 0)
expect_eq(a:nominate(0x20), EBUSY, "the grant's reference blocks nominate")

-- Read-only grant.
expect_eq(b:grant_map(0x81, a, 0x21, "ro"), 0)
expect_eq(b:type(0x81), "grant_map_ro")
expect_eq(v:read(0x401000).value, 0)

-- Log-dirty leaves special types alone; an access type restricts them.
expect_eq(b:logdirty_enable(), 0)
expect_eq(b:type(0x80), "grant_map_rw")
expect_eq(b:set_access(0x80, "r"), 0)
local w = v:write(0x400000, 0x9abc)
expect(w.ok)
expect_eq(w.nexits, 1, "mem_access violation, then cleared")
expect_eq(b:access(0x80), "rwx")
expect_eq(b:logdirty_disable(), 0)

-- A failed P2M update (d:fail_p2m_update) changes nothing: no mapping,
-- no reference; an unmap that fails leaves the grant and the granter's M2P.
local ENOMEM = -12
b:fail_p2m_update(1)
expect_eq(b:grant_map(0x85, a, 0x25), ENOMEM)
expect_eq(b:type(0x85), "mmio_dm")
expect_eq(b:grant_map(0x85, a, 0x25), 0)
b:fail_p2m_update(1)
expect_eq(b:grant_unmap(0x85), ENOMEM)
expect_eq(b:type(0x85), "grant_map_rw")
expect_eq(m2p(a:mfn(0x25)), 0x25, "p2m_remove_entry() undoes only what it did")
expect_eq(b:grant_unmap(0x85), 0)

-- Unmap: the reference goes, nominate works again.
expect_eq(b:grant_unmap(0x80), 0)
expect_eq(b:type(0x80), "mmio_dm")
expect_eq(a:nominate(0x20), 0)

-- p2m_add_foreign: b maps a's gfn 0x22 at 0x90.
expect_eq(b:add_foreign(0x90, a, 0x22), 0)
expect_eq(b:type(0x90), "map_foreign")
expect(v:write(0x402000, 0x4242).ok)
expect_eq(a:read_phys(0x22000), 0x4242)
expect_eq(b:add_foreign(0x91, a, 0x20), EINVAL, "a paging_out page is not mapped")
expect_eq(b:add_foreign(0x90, a, 0x23), EEXIST)
expect_eq(a:nominate(0x22), EBUSY, "the foreign entry's reference")
expect_eq(b:remove(0x90), 0, "remove_from_physmap drops the entry and its reference")
expect_eq(b:type(0x90), "mmio_dm")
expect_eq(a:nominate(0x22), 0)

-- Teardown of the mapper releases what it still maps.
expect_eq(b:add_foreign(0x92, a, 0x24), 0)
b:destroy()
expect_eq(a:nominate(0x24), 0)
expect_eq(a:grant_unmap(0x30), EINVAL)
a:destroy()
