-- "Is this page dirty?" after a dropped mark (xen-paging.md 3.3 (5); seed
-- 000, shadow/private.h sh_mfn_is_dirty()).  Upstream's
-- paging_mfn_is_dirty() reads the tree and says "clean" where the mark was
-- dropped; the 2007 seed, knowing the log is bogus once an allocation has
-- failed, answers "dirty" for every page (domain option
-- logdirty_conservative), so its caller keeps the page writable.  Both
-- domains lose the same mark; only the answer differs.
local ENOMEM = -12
local up = domain{ name = "upstream", gfns = 0x10000, ram = 0x20 }
local old = domain{ name = "seed2007", gfns = 0x10000, ram = 0x20,
                    logdirty_conservative = true }
for _, d in ipairs{ up, old } do
  -- EPT tables for gfn 0x8000 exist, so the later populate needs exactly
  -- the frame and then a new leaf (gfn 0x8000 starts the second leaf).
  expect_eq(d:populate(0x8000), 0)
  expect_eq(d:remove(0x8000), 0)
  expect_eq(d:logdirty_enable(), 0)
  expect_eq(d:write_phys(0x1000, 1), 0)
  expect_eq(d:is_dirty(1), true)
  expect_eq(d:is_dirty(2), false, "no failure yet: both read the tree")
  fail_alloc{ nth = 2 }                     -- the frame, then the leaf fails
  expect_eq(d:populate(0x8000), 0)
  expect_eq(d:logdirty().failed_allocs, 1)
  expect_eq(select(2, d:peek_dirty()), ENOMEM)
end
expect_eq(up:is_dirty(0x8000), false, "upstream: the dropped mark reads clean")
expect_eq(up:is_dirty(2), false)
expect_eq(old:is_dirty(0x8000), true, "2007: conservative, dirty")
expect_eq(old:is_dirty(2), true, "every page, once the log is bogus")
-- disable + enable is the way out for both.
for _, d in ipairs{ up, old } do
  expect_eq(d:logdirty_disable(), 0)
  expect_eq(d:logdirty_enable(), 0)
  expect_eq(d:is_dirty(2), false)
end
