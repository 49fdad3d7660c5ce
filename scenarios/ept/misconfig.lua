-- EPT misconfigurations (SDM Vol. 3C 29.3.3.1) and violation
-- qualifications (Table 28-7), on raw 4 KiB leaves: the scenario rewrites
-- the permission or memory-type bits of the sim's own leaves, keeping type
-- and frame, as a buggy hypervisor could.  A misconfiguration is a VM exit
-- without qualification; Xen's ept_handle_misconfig() finds no pending
-- recalculation and crashes the domain.

local d = domain{ name = "mc", gfns = 0x400, ram = 0x80 }
local pt = d:pagetable{ root = 0x10 }
local v = d:vcpu{ cr3 = pt }
local RWX = EPTE.R | EPTE.W | EPTE.X

local function leaf(g) return d:ept_get_raw(g * 4096, 1) end
local function with(g, clear, set)
  expect_eq(d:ept_set_raw(g * 4096, 1, (leaf(g) & ~clear) | set), 0)
end

-- W without R.
pt:map(0x10000, 0x40, "w")
with(0x40, RWX, EPTE.W)
local r = v:read(0x10000)
expect(r.crash)
expect_eq(r.exits[1].kind, "ept_misconfig")
expect_eq(r.exits[1].gpa, 0x40000)
expect_eq(r.exits[1].qual, 0)
expect(v:write(0x10000, 1).crash, "any access: the entry is bad, not the access")

-- W and X without R: still a misconfiguration.
with(0x40, RWX, EPTE.W | EPTE.X)
expect_eq(v:exec(0x10000).exits[1].kind, "ept_misconfig")

-- Reserved memory types 2, 3 and 7 in a leaf.
pt:map(0x11000, 0x41, "w")
for _, mt in ipairs({ 2, 3, 7 }) do
  with(0x41, 7 << EPTE.MT_SHIFT, mt << EPTE.MT_SHIFT)
  local x = v:read(0x11008)
  expect_eq(x.exits[1].kind, "ept_misconfig", "memory type " .. mt)
end
-- Memory types 0 (UC), 1 (WC), 4 (WT), 5 (WP) are fine and carried through.
for _, mt in ipairs({ 0, 1, 4, 5 }) do
  with(0x41, 7 << EPTE.MT_SHIFT, mt << EPTE.MT_SHIFT)
  local x = v:read(0x11008)
  expect(x.ok)
  expect_eq(x.memtype, mt)
end

-- Violations: each R/W/X combination of a leaf against each access kind.
-- Bits 0-2 name the access, bits 3-5 the leaf's rights, bit 7 a valid
-- linear address, bit 8 the final translation (not a walk access).
pt:map(0x12000, 0x42, "wu")
local kinds = { { "read", EPTQ.R, EPTE.R }, { "write", EPTQ.W, EPTE.W },
                { "exec", EPTQ.X, EPTE.X } }
for perm = 0, 7 do
  if not (perm & EPTE.W ~= 0 and perm & EPTE.R == 0) then -- not misconfig
    with(0x42, RWX, perm)
    for _, k in ipairs(kinds) do
      local x = k[1] == "read" and v:read(0x12010)
                or k[1] == "write" and v:write(0x12010, 5) or v:exec(0x12010)
      if perm & k[3] ~= 0 then
        expect(x.ok, k[1] .. " with rights " .. perm)
      else
        expect_eq(x.exits[1].kind, "ept_violation")
        expect_eq(x.exits[1].qual, k[2] | (perm << 3) | EPTQ.GLA_VALID | EPTQ.GLA_XLATE,
                  k[1] .. " with rights " .. perm)
        expect_eq(x.exits[1].gpa, 0x42010)
        expect_eq(x.exits[1].gla, 0x12010)
      end
    end
  end
end

-- A guest page-table page without R: the walk's read exits, bit 8 clear.
local ptp = pt:entry(0x12000, 2) >> 12
with(ptp, RWX, EPTE.X)
local y = v:read(0x12010)
expect_eq(y.exits[1].qual, EPTQ.R | EPTQ.EXECUTABLE | EPTQ.GLA_VALID)
expect_eq(y.exits[1].gpa >> 12, ptp)
-- Readable but not writable: the walk succeeds, the A/D update (an EPT
-- write to the page-table page) exits, again with bit 8 clear.
with(ptp, RWX, EPTE.R | EPTE.X)
pt:map(0x13000, 0x43, "w")   -- a fresh PTE in that page: A is clear
local z = v:read(0x13000)
expect_eq(z.exits[1].qual, EPTQ.W | EPTQ.READABLE | EPTQ.EXECUTABLE | EPTQ.GLA_VALID)
