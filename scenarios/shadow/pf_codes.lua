-- Guest #PF error codes under shadow paging are the native ones (SDM Vol.
-- 3A 4.7): the hypervisor's sh_page_fault() finds the fault in the guest's
-- own tables and injects it unchanged.  The same tables and accesses run
-- in an EPT domain and a shadow domain; every outcome, error code and CR2
-- must agree, and a faulting walk costs the guest entries it read (one per
-- level) under shadow against five per level under EPT.

local flags = { "", "w", "u", "wu", "n", "wn", "un", "wun" }
local function setup(hap)
  local d = domain{ name = "pf_" .. hap, gfns = 0x200, ram = 0x100, hap = hap }
  local pt = d:pagetable{ root = 0x10 }
  for i, f in ipairs(flags) do pt:map(0x1000 * i, 0x40 + i, f) end
  return d, pt, d:vcpu{ cr3 = pt }
end
local _, _, sv = setup("none")
local _, _, ev = setup("ept")

-- Not present at the PML4E, then the eight pages.  (Reserved-bit faults,
-- also with EFER.NXE=0 and XD set, are compared in tests/unit/
-- test_shadow.c: QEMU 7.2, a hardware-replay backend, reports them
-- without P, and sets A on faulting walks, which would flood its expected
-- differences.)
local vas = { 0x8000000000 }
for i = 1, #flags do vas[#vas + 1] = 0x1000 * i end
local n, faults = 0, 0
-- (CPL, CR0.WP, EFER.NXE, CR4.SMEP): few enough for hardware replay.
local cfgs = { { 0, false, true, false }, { 0, true, true, true },
               { 3, false, true, false }, { 3, true, true, true } }
for _, c in ipairs(cfgs) do
  local cfg = { cpl = c[1], wp = c[2], nxe = c[3], smep = c[4] }
  sv:set(cfg)
  ev:set(cfg)
  for _, va in ipairs(vas) do
    for _, op in ipairs({ "read", "write", "exec" }) do
      local s = op == "write" and sv:write(va, 1) or sv[op](sv, va)
      local e = op == "write" and ev:write(va, 1) or ev[op](ev, va)
      local what = string.format("%s %#x cpl=%d wp=%s nxe=%s smep=%s", op, va,
                                 c[1], c[2], c[3], c[4])
      expect_eq(s.kind, e.kind, what)
      expect_eq(s.nexits, 0, what)
      if e.pf then
        faults = faults + 1
        expect_eq(s.ec, e.ec, what .. ": error code")
        expect_eq(s.cr2, e.cr2, what .. ": CR2")
        expect_eq(e.refs, 5 * s.refs, what .. ": 1D vs 2D references")
      end
      n = n + 1
    end
  end
end
expect_eq(n, 4 * 9 * 3)
expect(faults > 40 and n - faults > 40, "both faults and successes are compared")
log(string.format("%d accesses, %d #PFs identical under EPT and shadow", n, faults))

