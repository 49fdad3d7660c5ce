-- Log-dirty under NPT: write protection only (SVM has no PML).
-- paging_log_dirty_enable() turns ram_rw into ram_logdirty, which p2m-pt
-- writes without RW (P|U|A|D); the first guest write takes a #NPF with
-- EXITINFO1 = P|W|U|final, svm_do_nested_pgfault() hands it on as a write
-- and hvm_hap_nested_page_fault() marks the gfn dirty and makes it ram_rw.
-- Setting the guest PTE's D bit is a nested write too, so the page-table
-- page is logged as well.
local P, RW, U, A, D = 1, 2, 4, 0x20, 0x40
local FINAL, GPT = 1 << 32, 1 << 33
local d = domain{ name = "amd", gfns = 0x100, ram = 0x40, hap = "npt" }
local pt = d:pagetable{ root = 0x10 }
pt:map(0x400000, 0x30, "w")
pt:map(0x401000, 0x31, "w")
local v = d:vcpu{ cr3 = pt }
expect(v:read(0x400000).ok)
expect(v:read(0x401000).ok)

expect_eq(d:logdirty_enable(), 0)
expect_eq(d:type(0x30), "ram_logdirty")
-- The change is deferred (p2m_pt_change_entry_type_global()): only the
-- PML4E lost U (the recalc marker); the leaf is still ram_rw's until a
-- walk through it is recalculated (see recalc.lua).
expect_eq(d:npt_get_raw(0x30000, 4) & U, 0, "PML4E marked")
expect_eq(d:npt_get_raw(0x30000, 1) & 0xfff, P | RW | U | A | D, "leaf not yet recalculated")

-- A read takes one recalc #NPF (P|U, no W) per gfn it walks and logs nothing.
local r = v:read(0x400000)
expect(r.ok)
expect(r.nexits >= 1)
for i = 1, r.nexits do expect_eq(r.exits[i].qual & 0xff, P | U, "recalc: present, user") end
expect_eq(#d:peek_dirty(0x40), 0)
expect_eq(d:npt_get_raw(0x30000, 1) & 0xfff, P | U | A | D, "logdirty leaf: no RW")
expect_eq((d:npt_get_raw(0x30000, 1) >> 52) & 0x7f, 2, "type ram_logdirty")
expect_eq(v:read(0x400000).nexits, 0, "the second read is free")

-- The first write: the guest leaf's D bit is a nested write to the PT page
-- (its own #NPF, on the walk), then the data page's #NPF; both fixed up.
local w = v:write(0x400000, 0x55)
expect(w.ok, "write retried after the fix-up")
expect(w.nexits >= 1)
local sawfinal = false
for i = 1, w.nexits do
    expect_eq(w.exits[i].kind, "npf")
    expect_eq(w.exits[i].qual & 0xff, P | RW | U, "present, write, user")
    if w.exits[i].qual & FINAL ~= 0 then
        sawfinal = true
        expect_eq(w.exits[i].gpa, 0x30000)
    else
        expect(w.exits[i].qual & GPT ~= 0)
    end
end
expect(sawfinal, "the data page faulted on its final gpa")
expect_eq(d:type(0x30), "ram_rw")
expect_eq(d:npt_get_raw(0x30000, 1) & RW, RW, "writable again")
expect(d:is_dirty(0x30))
-- The second write runs at full speed.
expect_eq(v:write(0x400008, 0x66).nexits, 0)

-- CLEAN returns the bitmap and re-arms the write protection.
local bits = d:clean_dirty(0x40)
local set = {}
for _, g in ipairs(bits) do set[g] = true end
expect(set[0x30], "data page logged")
expect_eq(d:type(0x30), "ram_logdirty", "CLEAN re-protects")
expect_eq(d:npt_get_raw(0x30000, 4) & U, 0, "(deferred: the PML4E is marked again)")
expect(v:write(0x401000, 1).ok)
expect(d:is_dirty(0x31))
expect(not d:is_dirty(0x32))
expect_eq(d:logdirty_disable(), 0)
expect_eq(d:type(0x31), "ram_rw")
