-- PEEK/CLEAN preempted and resumed by continuation (XSA-97, c/s 95e6d82224;
-- xen-paging.md 3.4).  paging_log_dirty_op() asks hypercall_preempt_check()
-- after each L3 entry of the tree (one L2 node: 512 leaves x 32768 pfns =
-- 2^24 pfns) and each L4 entry; { preempt = true } makes every check say
-- yes.  A preempted op returns -ERESTART (85) with the domain left paused;
-- d:continue_dirty_op() resumes where it stopped.  Meanwhile every other
-- log-dirty op on the domain gets -EBUSY.
local ERESTART, EBUSY = -85, -16
local d = domain{ name = "guest", gfns = 0x400000, ram = 0x10 }
local pt = d:pagetable{ root = 0x8 }
pt:map(0x200000, 0x4, "w")
local v = d:vcpu{ cr3 = pt }
expect_eq(d:populate(0x3ffff0), 0)
expect_eq(d:logdirty_enable(), 0)
expect_eq(d:write_phys(0x3000, 1), 0)
expect_eq(d:write_phys(0x3ffff0000, 2), 0)

-- 0x400000 pfns are one L3 entry: one preemption, after it.
local list, rc = d:peek_dirty{ preempt = true }
expect_eq(list, nil)
expect_eq(rc, ERESTART)
local ld = d:logdirty()
expect(ld.preempted, "the op waits for its continuation")
expect_eq(ld.done, 0x400000, "pfns walked so far")
expect_eq(v:read(0x200000).kind, "paused", "the domain stays paused")
expect_eq(select(2, d:peek_dirty()), EBUSY, "a second caller")
expect_eq(select(2, d:clean_dirty()), EBUSY)
expect_eq(d:logdirty_disable(), EBUSY)
local got, st = d:continue_dirty_op()
local function has(list, g)
  for _, x in ipairs(list) do if x == g then return true end end
  return false
end
expect(has(got, 3) and has(got, 0x3ffff0), "both marks (and the page tables)")
expect_eq(st.dirty_count, #got)
expect_eq(d:logdirty().preempted, false)
expect_eq(v:read(0x200000).kind, "ok", "unpaused")
expect_eq(select(2, d:continue_dirty_op()), EBUSY, "nothing left to continue")

-- A CLEAN, preempted: a populate between the calls (the tool stack may
-- still do that) marks a gfn the walk already passed, so it stays dirty
-- although the CLEAN zeroes dirty_count at the end.
_, rc = d:clean_dirty{ preempt = true }
expect_eq(rc, ERESTART)
expect_eq(d:populate(0x20), 0)
got = d:continue_dirty_op()
expect(has(got, 3) and not has(got, 0x20), "the marks before the CLEAN")
local after, s2 = d:peek_dirty()
expect_eq(#after, 1)
expect_eq(after[1], 0x20, "the populate's mark survived")
expect_eq(s2.dirty_count, 0, "the count does not know")

-- A short request: still one preemption (the check follows the entry).
_, rc = d:peek_dirty{ pages = 0x40, preempt = true }
expect_eq(rc, ERESTART)
got, st = d:continue_dirty_op{ preempt = true }
expect_eq(#got, 1)
expect_eq(st.pages, 0x40)

-- A mark dropped while an op waits (the tree's first page cannot be had):
-- the continuation finds failed_allocs and returns -ENOMEM, which ends the
-- wait and unpauses the domain (paging_log_dirty_op()'s "out" path).
expect_eq(d:logdirty_disable(), 0)
expect_eq(d:logdirty_enable(), 0)
_, rc = d:peek_dirty{ preempt = true }
expect_eq(rc, ERESTART)
fail_alloc{ domain = d, on = true }
expect_eq(d:write_phys(0x3000, 9), 0)
fail_alloc{ domain = d, on = false }
expect_eq(d:logdirty().failed_allocs, 1)
expect_eq(select(2, d:continue_dirty_op()), -12)
expect_eq(d:logdirty().preempted, false)
expect_eq(v:read(0x200000).kind, "ok")
expect_eq(select(2, d:peek_dirty()), -12, "until disable and enable")
