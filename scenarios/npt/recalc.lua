-- The deferred global type change of p2m-pt (Xen's
-- p2m_pt_change_entry_type_global(), do_recalc(),
-- p2m_pt_handle_deferred_changes()).  Log-dirty enable, CLEAN and disable
-- change every ram_rw / ram_logdirty gfn at once in the P2M's answers, but
-- in the nested tables they only clear U (the recalc marker) in each
-- present PML4E.  Nested accesses are user accesses, so a walk through a
-- marked entry to a present leaf takes a #NPF with P|U in EXITINFO1 (W for
-- a write, bit 32 final gpa / bit 33 guest table); the hypervisor then
-- recalculates that gfn's path -- the marker moves one table down at each
-- level (every present entry there gets it) and the leaf is rewritten with
-- the type log-dirty now gives it -- and the guest retries: a hypervisor
-- intervention that fixes nothing else.  A write to a recalculated
-- ram_logdirty page then takes the ordinary log-dirty fault.
local P, RW, U, A, D, PS = 1, 2, 4, 0x20, 0x40, 0x80
local FINAL, GPT = 1 << 32, 1 << 33
host{ frames = 0x4000 }
local d = domain{ name = "amd", gfns = 0x400, ram = 0x40, hap = "npt" }
expect_eq(d:populate{ gfn = 0x200, order = 9 }, 0)
local pt = d:pagetable{ root = 0x10 }
pt:map(0x400000, 0x30, "w")
pt:map(0x401000, 0x31, "w")
pt:map(0x402000, 0x240, "w")
pt:map(0x403000, 0x241, "w")
pt:map(0x404000, 0x100, "w")   -- a hole: mmio_dm, not present
local v = d:vcpu{ cr3 = pt }
for va = 0x400000, 0x403000, 0x1000 do expect(v:write(va, va).ok) end
-- (every guest A and D bit is now set: the walks below write none)

expect_eq(d:logdirty_enable(), 0)
-- The P2M answers with the new type at once (p2m_pt_get_entry()
-- recalculates under a marker) ...
expect_eq(d:type(0x30), "ram_logdirty")
expect_eq(d:type(0x240), "ram_logdirty")
-- ... but the tables only carry the marker: PML4E without U, leaves as
-- they were (ram_rw, writable).
expect_eq(d:npt_get_raw(0x30000, 4) & (P | U), P, "PML4E marked")
expect_eq(d:npt_get_raw(0x30000, 3) & U, U, "PDPTE not yet")
expect_eq(d:npt_get_raw(0x30000, 1) & 0xfff, P | RW | U | A | D, "leaf still ram_rw's")
expect_eq((d:npt_get_raw(0x30000, 1) >> 52) & 0x7f, 0, "stored type ram_rw (0)")

-- A read: one recalc #NPF per gfn the walk reads, in walk order (the four
-- guest tables, then the data page), each P|U without W; then it runs.
local r = v:read(0x400000)
expect(r.ok)
expect_eq(r.value, 0x400000)
expect_eq(r.nexits, 5, "4 guest tables + the data page")
for i = 1, 4 do
    expect_eq(r.exits[i].kind, "npf")
    expect_eq(r.exits[i].qual, P | U | GPT, "recalc on a guest table")
end
expect_eq(r.exits[5].qual, P | U | FINAL, "recalc on the final gpa")
expect_eq(r.exits[5].gpa, 0x30000)
expect_eq(#d:peek_dirty(0x400), 0, "a recalculation logs nothing")
-- The path is clean now, the leaf ram_logdirty's (no RW); the marker went
-- down to every other present entry: the neighbour PTE is marked, still
-- writable in the table but not to the guest.
expect_eq(d:npt_get_raw(0x30000, 4) & U, U, "PML4E unmarked")
expect_eq(d:npt_get_raw(0x30000, 3) & U, U)
expect_eq(d:npt_get_raw(0x30000, 2) & U, U)
expect_eq(d:npt_get_raw(0x30000, 1) & 0xfff, P | U | A | D, "recalculated: ram_logdirty")
expect_eq((d:npt_get_raw(0x30000, 1) >> 52) & 0x7f, 2)
expect_eq(d:npt_get_raw(0x31000, 1) & 0xfff, P | RW | A | D, "neighbour: marked, not yet")
expect_eq(v:read(0x400000).nexits, 0, "nothing pending on the path any more")

-- A write to the neighbour: the recalc #NPF (P|W|U), then, the page being
-- ram_logdirty now, the log-dirty fault (P|W|U) that marks it dirty.
local w = v:write(0x401000, 0x77)
expect(w.ok)
expect_eq(w.nexits, 2)
expect_eq(w.exits[1].qual, P | RW | U | FINAL, "recalc")
expect_eq(w.exits[2].qual, P | RW | U | FINAL, "log-dirty write fault")
expect(d:is_dirty(0x31))
expect_eq(d:type(0x31), "ram_rw")
expect_eq(d:npt_get_raw(0x31000, 1) & 0xfff, P | RW | U | A | D)

-- A 2 MiB leaf is recalculated whole: one #NPF for the first gfn, none
-- for another gfn of the same superpage.
r = v:read(0x402000)
expect_eq(r.nexits, 1, "the tables' paths are clean; the superpage's is not")
expect_eq(r.exits[1].gpa, 0x240000)
expect_eq(d:npt_get_raw(0x240000, 2) & 0xfff, P | U | A | D | PS, "2 MiB ram_logdirty")
expect_eq(v:read(0x403000).nexits, 0, "same leaf: already recalculated")

-- A hole under a marker: the walk stops at the not-present leaf, so the
-- #NPF has P clear and goes to the device model; no recalculation.
r = v:read(0x404000)
expect_eq(r.kind, "mmio")
expect_eq(r.nexits, 1)
expect_eq(r.exits[1].qual, U | FINAL, "not present")

-- p2m_pt_set_entry() recalculates the gfn's path first: a type change of
-- a marked gfn leaves the new leaf unmarked (and its neighbours marked).
expect_eq(d:clean_dirty(0x400) ~= nil, true)
expect_eq(d:npt_get_raw(0x30000, 4) & U, 0, "CLEAN marks the PML4E again")
expect_eq(d:set_mem_type(0x32, "ram_ro"), 0)
expect_eq(d:npt_get_raw(0x32000, 1) & 0xfff, P | U | A | D, "ram_ro, unmarked")
expect_eq(d:npt_get_raw(0x30000, 4) & U, U, "the set_entry cleared the path")
expect_eq(d:npt_get_raw(0x30000, 1) & U, 0, "the neighbour got the marker")

-- Disable: marked again; the recalculation now gives ram_rw, and a write
-- needs no log-dirty fault after it.
expect_eq(d:logdirty_disable(), 0)
expect_eq(d:type(0x30), "ram_rw")
w = v:write(0x400000, 0x99)
expect(w.ok)
expect_eq(w.nexits, 5, "recalc only: 4 tables + data")
expect_eq(d:npt_get_raw(0x30000, 1) & 0xfff, P | RW | U | A | D, "ram_rw again")
expect_eq(v:write(0x400000, 0x9a).nexits, 0)
