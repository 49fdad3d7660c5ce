-- Log-dirty by write protection, as Xen's HAP does it without PML.
--
-- paging_log_dirty_enable() turns every p2m_ram_rw entry into
-- p2m_ram_logdirty, which the EPT backend maps without W.  A guest write
-- then takes an EPT violation; hvm_hap_nested_page_fault() marks the gfn
-- dirty in the radix tree, makes it p2m_ram_rw again and the write retries.
-- Setting a guest PTE's D bit is itself an EPT write (SDM 29.3.3.2), so the
-- page-table page gets dirty too.  CLEAN returns the bitmap and re-arms.

local d = domain{ name = "ld", gfns = 0x1000, ram = 0x100 }
local pt = d:pagetable{ root = 0x10 }
pt:map(0x200000, 0x80, "w")
pt:map(0x201000, 0x81, "w")
local v = d:vcpu{ cr3 = pt }
expect(v:read(0x200000).ok)       -- sets the A bits before tracking starts
local ptpage = pt:entry(0x200000, 2) >> 12

expect_eq(d:logdirty_enable(), 0)
expect_eq(d:logdirty_enable(), -22, "enabling twice is -EINVAL")
expect_eq(d:type(0x80), "ram_logdirty")
local dirty = d:peek_dirty()
expect_eq(#dirty, 0, "nothing dirty yet")

local w = v:write(0x200000, 0xfeed)
expect(w.ok)
-- Under NPT (pagesim run --hap npt) the enable only marked the nested
-- PML4E (Xen's deferred global type change): the walk first takes one
-- recalc #NPF (EXITINFO1 P|U) per distinct gfn it reads, the 4 guest
-- tables and the data page, each retried without further handling.
local rc = d:hap() == "npt" and 5 or 0
for i = 1, rc do expect_eq(w.exits[i].qual & 5, 5, "recalc #NPF: P|U") end
expect_eq(w.nexits, 2 + rc, "one exit for the data page, one for the PTE's D bit")
expect_eq(w.exits[1 + rc].qual & EPTQ.W, EPTQ.W)
expect_eq(w.exits[1 + rc].gpa >> 12, 0x80)
expect_eq(w.exits[2 + rc].qual & EPTQ.GLA_XLATE, 0, "the D-bit update is a walk access")
expect_eq(w.exits[2 + rc].gpa >> 12, ptpage)
expect_eq(d:type(0x80), "ram_rw", "the fault made the page writable")

dirty = d:peek_dirty()
expect_eq(#dirty, 2)
expect_eq(dirty[1], ptpage, "sorted by gfn: the PT page (below 0x80) first")
expect_eq(dirty[2], 0x80)

-- A read does not dirty anything; a second write to the same page is free.
expect(v:read(0x201000).ok)
expect_eq(v:write(0x200008, 1).nexits, 0)

local cleaned, stats = d:clean_dirty()
expect_eq(#cleaned, 2, "CLEAN returns what was dirty")
expect_eq(stats.dirty_count, 2)
expect_eq(#d:peek_dirty(), 0, "and clears it")
expect_eq(d:type(0x80), "ram_logdirty", "CLEAN re-arms write protection")
-- (NPT: CLEAN's global type change is deferred too: again one recalc
-- #NPF per gfn of the walk first)
expect_eq(v:write(0x200010, 2).nexits, 1 + rc, "D is already set: only the data page faults")
expect_eq(d:peek_dirty()[1], 0x80)

expect_eq(d:logdirty_disable(), 0)
expect_eq(d:type(0x81), "ram_rw")
expect_eq(d:logdirty().allocs, 0, "disable frees the radix tree")
