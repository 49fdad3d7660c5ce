-- Mode-based execute control (SDM Vol. 3C 29.3.3.1, 29.3.2): with MBEC,
-- EPT bit 2 grants execute for supervisor-mode linear addresses and bit 10
-- (XU) for user-mode ones (U/S = 1 at every guest level).  A CPU-profile
-- capability: the intel-skylake profile has it, amd-zen2 does not
-- (d:vcpu{ tlb = "amd", mbec = true } is an error).  The hypervisor writes
-- no XU bits (Xen does not use MBEC), so user-mode code needs a raw leaf.

local d = domain{ name = "mbec", gfns = 0x400, ram = 0x80 }
local pt = d:pagetable{ root = 0x10 }
pt:map(0x10000, 0x40, "wu")     -- a user-mode page
pt:map(0x11000, 0x41, "w")      -- a supervisor-mode page
local v = d:vcpu{ cr3 = pt, mbec = true }
expect_eq(v.mbec, 1)

local function leaf(g) return d:ept_get_raw(g * 4096, 1) end

-- The sim's leaves have X (bit 2) but no XU: supervisor code runs, user
-- code does not, and the qualification's bit 6 (AND of XU) is clear.
expect(v:exec(0x11000).ok, "supervisor address: bit 2")
local r = v:exec(0x10000)
expect(r.crash)
expect_eq(r.exits[1].qual, EPTQ.X | EPTQ.READABLE | EPTQ.WRITABLE | EPTQ.EXECUTABLE
                           | EPTQ.GLA_VALID | EPTQ.GLA_XLATE)
-- (The fetch is from a user-mode address even at CPL0: MBEC looks at the
-- address's U/S bits, not at the CPL.)
v:set{ cpl = 3 }
expect(v:exec(0x10000).crash)

-- XU counts as an AND over the whole EPT walk, like R/W/X: the sim's table
-- entries have bit 10 clear, so XU in the leaf alone is not enough.
expect_eq(d:ept_set_raw(0x40000, 1, leaf(0x40) | EPTE.XU), 0)
v:set{ cpl = 0 }
expect(v:exec(0x10000).crash, "XU only in the leaf")
for level = 2, 4 do
  expect_eq(d:ept_set_raw(0x40000, level, d:ept_get_raw(0x40000, level) | EPTE.XU), 0)
end
expect(v:exec(0x10000).ok, "XU at every level")

-- XU set, X clear: user-mode code runs, at any CPL; the supervisor page
-- with the same leaf bits would not.
expect_eq(d:ept_set_raw(0x40000, 1, (leaf(0x40) & ~EPTE.X) | EPTE.XU), 0)
v:set{ cpl = 3 }
expect(v:exec(0x10000).ok)
v:set{ cpl = 0 }
expect(v:exec(0x10000).ok)
expect_eq(d:ept_set_raw(0x41000, 1, (leaf(0x41) & ~EPTE.X) | EPTE.XU), 0)
local s = v:exec(0x11000)
expect_eq(s.exits[1].qual, EPTQ.X | EPTQ.READABLE | EPTQ.WRITABLE | EPTQ.UEXECUTABLE
                           | EPTQ.GLA_VALID | EPTQ.GLA_XLATE,
          "bit 5 (X) clear, bit 6 (XU) set")
-- Reads and writes do not care about XU.
expect(v:read(0x10000).ok)

-- Without MBEC bit 10 is ignored and bit 2 governs every fetch.
local w = d:vcpu{ cr3 = pt }
expect(w:exec(0x10000).crash, "X clear")
expect_eq(w:exec(0x10000).exits[1].qual & EPTQ.UEXECUTABLE, 0)
