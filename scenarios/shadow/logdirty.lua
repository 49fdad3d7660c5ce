-- Log-dirty under shadow paging.  Xen's shadow code write-protects the
-- shadow entries of frames not yet dirty (_sh_propagate()); a guest write
-- to such a frame is a #PF the hypervisor intercepts (sh_page_fault()),
-- which marks the frame dirty and lets the write through.  Here the clean
-- state is the P2M's ram_logdirty type, as for HAP, and the intercepted
-- #PF runs the same handler (mark + make writable + retry).  The
-- difference from EPT: guest A/D updates are done by the hypervisor
-- itself (guest_walk_tables() builds the shadow), never faulting, and it
-- logs each page-table frame it changed dirty.

local function setup(hap)
  local d = domain{ name = "ld_" .. hap, gfns = 0x1000, ram = 0x100, hap = hap }
  local pt = d:pagetable{ root = 0x10 }
  pt:map(0x200000, 0x80, "w")
  pt:map(0x201000, 0x81, "w")
  local v = d:vcpu{ cr3 = pt }
  expect(v:read(0x200000).ok)       -- A bits set before tracking starts
  expect_eq(d:logdirty_enable(), 0)
  return d, pt, v
end

local s, spt, sv = setup("none")
local e, ept, ev = setup("ept")
local ptpage = spt:entry(0x200000, 2) >> 12
expect_eq(s:type(0x80), "ram_logdirty")

local w = sv:write(0x200000, 0xfeed)
expect(w.ok)
expect_eq(w.nexits, 1, "one intercepted #PF: the data page; D is the hypervisor's write")
expect_eq(w.exits[1].kind, "shadow_pf")
expect_eq(w.exits[1].qual, EPTQ.W | EPTQ.GLA_VALID | EPTQ.GLA_XLATE,
          "a write to the final gpa, no EPT permission bits")
expect_eq(w.exits[1].gpa, 0x80000)
expect_eq(w.exits[1].gla, 0x200000)
expect_eq(w.refs, 4 + 1, "the retry: 4 entries, D written back")
expect_eq(s:type(0x80), "ram_rw", "the handler made the page writable")
local dirty = s:peek_dirty()
expect_eq(#dirty, 2, "the data page and the PT page the hypervisor set D in")
expect_eq(dirty[1], ptpage)
expect_eq(dirty[2], 0x80)
expect_eq(s:read_phys(0x80000), 0xfeed)

-- Under EPT the D-bit update is itself an exit; the bitmap is the same.
local ew = ev:write(0x200000, 0xfeed)
expect_eq(ew.nexits, 2)
expect_eq(ew.exits[1].kind, "ept_violation")
local edirty = e:peek_dirty()
expect_eq(#edirty, 2)
expect_eq(edirty[1], ptpage)
expect_eq(edirty[2], 0x80)

-- Reads never fault; a second write to the page is free.
expect_eq(sv:read(0x201000).nexits, 0)
expect_eq(sv:write(0x200008, 1).nexits, 0)

-- CLEAN blows the write access away again.
local cleaned = s:clean_dirty()
expect_eq(#cleaned, 2)
expect_eq(s:type(0x80), "ram_logdirty")
local w2 = sv:write(0x200010, 2)
expect_eq(w2.nexits, 1, "clean again: one intercepted #PF")
expect_eq(s:peek_dirty()[1], 0x80)
expect_eq(#s:peek_dirty(), 1, "D already set: the PT page stays clean")

-- A first access through a fresh PT page: the A bits the hypervisor sets
-- dirty the PT pages, even for a read.
spt:map(0x400000, 0x82, "w")
local newpt = spt:entry(0x400000, 2) >> 12
sv:set{ cr3 = spt }                  -- MOV CR3: the new mapping is seen
s:clean_dirty()                       -- the map itself wrote PT pages
local r = sv:read(0x400000)
expect(r.ok)
expect_eq(r.nexits, 0)
local d3 = s:peek_dirty()
local seen = false
for _, g in ipairs(d3) do if g == newpt then seen = true end end
expect(seen, "the new PT page got A bits, so it is dirty")
expect_eq(s:logdirty_disable(), 0)
