-- A write through two domains' page tables.
--
-- Two HVM domains map the same guest-virtual address to different guest
-- frames through their own 4-level tables; each P2M (an EPT in host memory)
-- backs those frames with different host frames.  A write in one domain must
-- land in its own frame only, and the 2D walk costs 24 memory references
-- (4 guest entries, each translated by a 4-level EPT walk, plus 4 for the
-- final gpa) plus one write-back per entry whose A/D bits change.

local a = domain{ name = "a", gfns = 0x400, ram = 0x40 }
local b = domain{ name = "b", gfns = 0x400, ram = 0x40 }

local pta = a:pagetable{ root = 0x10 }   -- tables from gfn 0x10 upward
local ptb = b:pagetable{ root = 0x20 }
pta:map(0x400000, 0x30, "wu")
ptb:map(0x400000, 0x31, "wu")

local va = a:vcpu{ cr3 = pta }
local vb = b:vcpu{ cr3 = ptb }

local r = va:write(0x400008, 0x1111)
expect(r.ok, "write in domain a completes")
expect_eq(r.gpa, 0x30008, "a's gva maps to gfn 0x30")
expect_eq(r.refs, 24 + 4, "2D walk + A on 4 entries (D rides on the PTE's write)")
expect_eq(r.nexits, 0)

local s = vb:read(0x400008)
expect(s.ok)
expect_eq(s.value, 0, "b does not see a's data")
expect_eq(s.gpa, 0x31008)
expect(s.mfn ~= r.mfn, "the two domains' frames differ")

expect(vb:write(0x400008, 0x2222).ok)
expect_eq(va:read(0x400008).value, 0x1111, "a still reads its own value")
expect_eq(a:read_phys(0x30008), 0x1111)
expect_eq(b:read_phys(0x31008), 0x2222)

-- Second access: A already set everywhere and D on the PTE: pure 2D walk.
local again = va:write(0x400010, 0x3333)
expect_eq(again.refs, 24)

-- The host frame really is the one the P2M names.
expect_eq(r.mfn, a:mfn(0x30))
expect_eq(m2p(r.mfn), 0x30, "M2P names a's gfn for a's frame")
expect_eq(m2p(s.mfn), 0x31, "M2P names b's gfn for b's frame")
