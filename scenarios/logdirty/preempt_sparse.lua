-- Preemption across L3 entries of the log-dirty tree, on a sparse 128 GiB
-- guest: 2^25 gfns are two L3 entries (2^24 pfns each: an L2 node of 512
-- leaves of 32768 pfns), with a handful of pages populated on both sides
-- of 2^24.  paging_log_dirty_op() stops after each L3 entry when
-- hypercall_preempt_check() says so ({ preempt = true } on a call: every
-- check says yes) and its continuation resumes at preempt.log_dirty.{i4,
-- i3, done}; the pages already reported stay where they are in the
-- caller's bitmap, the next ones follow.  No vCPU here: only tool-stack
-- operations.
local ERESTART, EBUSY = -85, -16
local L3 = 0x1000000
local d = domain{ name = "big", gfns = 2 * L3, ram = 0x10 }
for _, g in ipairs{ L3, L3 + 1, 0x1234567, 2 * L3 - 1 } do
  expect_eq(d:populate(g), 0)
end
expect_eq(d:logdirty_enable(), 0)
local function w(g) expect_eq(d:write_phys(g * 4096, g), 0) end
w(3); w(L3 + 1); w(0x1234567); w(2 * L3 - 1)

-- PEEK: preempted after the first L3 entry, then after the second.
local list, rc = d:peek_dirty{ preempt = true }
expect_eq(rc, ERESTART)
expect_eq(d:logdirty().done, L3, "one L3 entry walked")
expect_eq(select(2, d:clean_dirty()), EBUSY)
list, rc = d:continue_dirty_op{ preempt = true }
expect_eq(rc, ERESTART)
expect_eq(d:logdirty().done, 2 * L3)
local st
list, st = d:continue_dirty_op()
expect_eq(#list, 4)
expect_eq(list[1], 3)
expect_eq(list[2], L3 + 1)
expect_eq(list[3], 0x1234567)
expect_eq(list[4], 2 * L3 - 1)
expect_eq(st.pages, 2 * L3)
expect_eq(st.dirty_count, 4)

-- CLEAN: between the two halves the tool stack populates one gfn in each
-- half; the one already walked stays dirty, the other is reported and
-- cleaned by the second half of the walk.
_, rc = d:clean_dirty{ preempt = true }
expect_eq(rc, ERESTART)
expect_eq(d:populate(0x40), 0)
expect_eq(d:populate(L3 + 0x40), 0)
list = d:continue_dirty_op()
expect_eq(#list, 5, "four marks, plus the one populated ahead of the walk")
expect_eq(list[3], L3 + 0x40)
list = d:peek_dirty()
expect_eq(#list, 1)
expect_eq(list[1], 0x40)
-- The tree: top, one L3 node, an L2 node per half, and four leaves (gfn 3;
-- L3 + 1; 0x1234567; 2 * L3 - 1).  CLEAN freed none of them.
expect_eq(d:logdirty().allocs, 8)
