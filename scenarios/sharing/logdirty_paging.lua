-- Memory sharing with log-dirty and mem paging.
--   A ram_logdirty page is sharable (P2M_SHARABLE_TYPES: rw, logdirty);
--   the global log-dirty changes leave ram_shared alone (not a changeable
--   type); the write that unshares marks the gfn dirty (paging_mark_dirty
--   after the M2P names the gfn again) and leaves it ram_rw.
--   Shared pages are not pageable: mem paging's nominate answers -EBUSY.
--   A hypervisor write (write_phys) unshares too; a read does not.
--   set_mem_type refuses a shared gfn (-EINVAL), populate finds RAM there.
local EBUSY, EINVAL, EEXIST, E2BIG = -16, -22, -17, -7
local a = domain{ name = "a", gfns = 0x100, ram = 0x40 }
local b = domain{ name = "b", gfns = 0x100, ram = 0x40 }
local pa = a:pagetable{ root = 0x10 }
pa:map(0x400000, 0x30, "w")
local va = a:vcpu{ cr3 = pa }
expect(va:read(0x400000).ok) -- A bits set before sharing the data page
expect_eq(a:sharing_enable(), 0)
expect_eq(b:sharing_enable(), 0)
expect_eq(a:write_phys(0x30000, 0x1234), 0)
expect_eq(b:write_phys(0x31000, 0x1234), 0)

expect_eq(a:logdirty_enable(), 0)
expect_eq(a:type(0x30), "ram_logdirty")
local sh = a:share_nominate(0x30)
expect(sh ~= nil, "ram_logdirty is sharable")
local f = a:mfn(0x30)
expect_eq(a:share(0x30, sh, b, 0x31, b:share_nominate(0x31)), 0)
expect_eq(a:peek_dirty()[1], nil, "nominate and share mark nothing")

-- CLEAN re-arms rw -> logdirty: the shared entry stays shared.
a:clean_dirty()
expect_eq(a:type(0x30), "ram_shared")
expect_eq(a:populate(0x30), EEXIST)
expect_eq(a:set_mem_type(0x30, "ram_ro"), EINVAL, "not a type set_mem_type changes")

-- Mem paging refuses a shared page.
expect_eq(a:paging_enable(), 0)
expect_eq(a:nominate(0x30), EBUSY, "ram_shared is not pageable")

-- A guest write unshares and is logged.
local w = va:write(0x400008, 0x99)
expect(w.ok)
expect_eq(w.nexits, 2, "the PTE's D-bit update (log-dirty) + the shared data page")
expect_eq(a:type(0x30), "ram_rw")
local dirty = {}
for _, g in ipairs(a:peek_dirty()) do dirty[g] = true end
expect(dirty[0x30], "the unsharing write marks the gfn")
expect_eq(b:read_phys(0x31008), 0, "b's copy untouched")
expect_eq(shared_frame(f).sharers, 1)

-- A foreign reference on a page: nominate refuses (-E2BIG).
local m = b:map_foreign(0x32)
local _, rc = b:share_nominate(0x32)
expect_eq(rc, E2BIG, "an extra reference")
expect_eq(b:unmap_foreign(m), 0)

-- A hypervisor write to b's shared gfn unshares (last sharer: no copy).
expect_eq(b:read_phys(0x31000), 0x1234, "reads do not unshare")
expect_eq(b:type(0x31), "ram_shared")
expect_eq(b:write_phys(0x31010, 0x42), 0)
expect_eq(b:type(0x31), "ram_rw")
expect_eq(b:mfn(0x31), f, "the last sharer keeps the frame")
expect_eq(b:read_phys(0x31000), 0x1234)
expect_eq(shared_frame(f), nil)

-- Disable: nothing shared is touched.
local sh3 = a:share_nominate(0x33)
expect_eq(a:logdirty_disable(), 0)
expect_eq(a:type(0x33), "ram_shared")
expect_eq(a:share_nominate(0x33), sh3)
