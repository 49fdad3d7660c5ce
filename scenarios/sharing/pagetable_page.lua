-- A shared guest page-table page.  The processor's accessed/dirty-flag
-- updates are writes to the paging-structure page (an EPT write access,
-- SDM 28.3.3.2): on a ram_shared (r-x) page they take an EPT violation,
-- hvm_hap_nested_page_fault() unshares the page and the walk is re-done
-- on the copy, which must hold the same entries.  One access can unshare
-- twice: the page-table page (its A/D update) and then the data page.
local a = domain{ name = "a", gfns = 0x100, ram = 0x40 }
local b = domain{ name = "b", gfns = 0x100, ram = 0x40 }
local pt = a:pagetable{ root = 0x10 }
pt:map(0x400000, 0x30, "w")
pt:map(0x401000, 0x31, "w")
local v = a:vcpu{ cr3 = pt }
expect_eq(a:sharing_enable(), 0)
expect_eq(b:sharing_enable(), 0)

-- The leaf table (the page the PDE points at) is shared with b's hole
-- 0x80, so a's copy will not be the last sharer.
local pde = pt:entry(0x400000, 2)
local ptg = (pde & 0xFFFFFFFFF000) >> 12
local sh = a:share_nominate(ptg)
expect(sh ~= nil)
local f = a:mfn(ptg)
expect_eq(a:share_add_physmap(ptg, sh, b, 0x80), 0)

-- A read sets the PTE's A bit: an EPT write violation on the shared
-- table page, unshared, then the walk completes on the copy.
local r = v:read(0x400000)
expect(r.ok)
expect_eq(r.nexits, 1, "the A-bit update faults once")
expect_eq(a:type(ptg), "ram_rw")
expect(a:mfn(ptg) ~= f, "a copy of the table page")
expect_eq(shared_frame(f).sharers, 1)
expect(pt:entry(0x400000, 1) & PTE.A ~= 0)
expect_eq(b:read_phys(0x80000 + 8 * ((0x400000 >> 12) & 511)) & PTE.A, 0,
          "b's mapping of the old table is untouched")

-- Both the table page and the data page shared: one write, two unshares.
local sh2 = a:share_nominate(ptg)
local f2 = a:mfn(ptg)
expect_eq(a:share_add_physmap(ptg, sh2, b, 0x81), 0)
local shd = a:share_nominate(0x31)
local fd = a:mfn(0x31)
expect_eq(a:share_add_physmap(0x31, shd, b, 0x82), 0)
local w = v:write(0x401000, 0x77)
expect(w.ok)
expect_eq(w.nexits, 2, "table page (A/D) and data page")
expect_eq(a:type(ptg), "ram_rw")
expect_eq(a:type(0x31), "ram_rw")
expect(a:mfn(0x31) ~= fd)
expect_eq(b:read_phys(0x82000), 0, "b's page keeps the old contents")
expect_eq(v:read(0x401000).value, 0x77)
expect_eq(shared_frame(f2).sharers, 1)
