-- Mem paging under NPT: a nominated gfn becomes ram_paging_out and an
-- evicted one ram_paged, which p2m-pt writes not present (only NX and the
-- type).  The guest's touch takes a #NPF with EXITINFO1 P clear;
-- hvm_hap_nested_page_fault() finds ram_paged, p2m_mem_paging_populate()
-- puts a request on the ring and pauses the vCPU until prep + resume.
local U, NX, FINAL, GPT = 4, 1 << 63, 1 << 32, 1 << 33
local d = domain{ name = "amd", gfns = 0x100, ram = 0x40, hap = "npt" }
local pt = d:pagetable{ root = 0x10 }
pt:map(0x400000, 0x30, "wu")
local v = d:vcpu{ cr3 = pt }
expect(v:write(0x400000, 0x1234abcd).ok)
local saved = d:page_contents(0x30)

expect_eq(d:paging_enable(), 0)
expect_eq(d:nominate(0x30), 0)
local e = d:npt_get_raw(0x30000, 1)
expect_eq(e & 1, 0, "paging_out: not present")
expect_eq(e & NX, NX)
expect_eq((e >> 52) & 0x7f, 9, "type ram_paging_out kept in bits 58:52")
expect_eq(d:evict(0x30), 0)
expect_eq(d:type(0x30), "ram_paged")
expect_eq(d:mfn(0x30), nil, "evicted: INVALID_MFN in the entry")
expect_eq((d:npt_get_raw(0x30000, 1) >> 12) & 0xffffffffff, 0xffffffffff)

-- The touch: #NPF (not present, read, final gpa), populate, paused.
local r = v:read(0x400000)
expect_eq(r.kind, "paused")
expect_eq(r.nexits, 1)
expect_eq(r.exits[1].kind, "npf")
expect_eq(r.exits[1].qual, U | FINAL)
expect_eq(d:type(0x30), "ram_paging_in")
local req = d:get_request()
expect_eq(req.gfn, 0x30)
expect_eq(req.type, "ram_paged")
expect(req.paused)
expect_eq(d:prep(0x30, saved), 0)
expect_eq(d:type(0x30), "ram_rw")
expect_eq(d:resume(req), 0)
local r2 = v:read(0x400000)
expect(r2.ok, "the access completes after resume")
expect_eq(r2.value, 0x1234abcd)

-- A write to a paged-out gfn under log-dirty: populated, then the
-- write-protected page faults again and is logged.
expect_eq(d:logdirty_enable(), 0)
expect_eq(d:nominate(0x30), 0)
expect_eq(d:evict(0x30), 0)
local w = v:write(0x400000, 7)
expect_eq(w.kind, "paused")
-- (first the recalc #NPFs of the enable's deferred type change on the
-- guest tables' gfns: P|U, bit 33; the evicted gfn's walk then faults
-- not present, no recalculation)
for i = 1, w.nexits - 1 do expect_eq(w.exits[i].qual, 1 | U | GPT, "recalc") end
expect_eq(w.exits[w.nexits].qual, 2 | U | FINAL, "a write, not present")
req = d:get_request()
expect_eq(d:prep(0x30, saved), 0)
expect_eq(d:type(0x30), "ram_logdirty", "prep under log-dirty")
expect_eq(d:resume(req), 0)
w = v:write(0x400000, 7)
expect(w.ok)
expect_eq(w.exits[1].qual & 0xff, 1 | 2 | U, "now present but not writable")
expect(d:is_dirty(0x30))
expect_eq(v:read(0x400000).value, 7)
