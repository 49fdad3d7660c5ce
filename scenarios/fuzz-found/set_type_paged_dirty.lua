-- Found by `pagesim fuzz --native` (its mix used to steer around it; with
-- the steer gone, seeds 2-6 reproduce the old sim's behaviour in 16-108
-- programs): set_type(g, 'mmio_dm') or set_mmio over a gfn that is paged
-- out (ram_paged) or being paged in without a frame yet (ram_paging_in),
-- whose log-dirty bit is set.  The fuzzer's shortest form: a balloon
-- populate under log-dirty (each gfn marked dirty), the pager evicting
-- one of the gfns, then set_type / set_mmio of it.
--
-- Xen's set_typed_p2m_entry() handles every RAM type alike: for each page
-- it ASSERTs the old frame is valid (compiled out of release builds),
-- invalidates that frame's M2P entry and marks the gfn clean with
-- paging_mark_pfn_clean() (seed 001: a gfn leaving the P2M is no longer
-- dirty).  A paged gfn has no frame, but its gfn is cleaned all the same.
-- The oracle predicted that; the sim cleaned only gfns with a frame (its
-- p2m_remove_page() path) and left the bit set, so PEEK/CLEAN went on
-- listing a gfn that is no RAM any more.  Both log-dirty forms: the radix
-- tree (domain a) and the flat bitmap (domain b).
host{ frames = 128 }
local a = domain{ name = "a", gfns = 0x20, ram = 8 }
local b = domain{ name = "b", gfns = 0x20, ram = 8, logdirty_mode = "bitmap" }

for _, d in ipairs{ a, b } do
  expect_eq(d:paging_enable(), 0)
  expect_eq(d:logdirty_enable(), 0)
  -- populate under log-dirty: ram_logdirty, each gfn marked dirty
  expect_eq(d:populate(0x10, 4), 0)
  for g = 0x10, 0x13 do expect(d:is_dirty(g)) end
  -- paged out: ram_paged, no frame, still dirty (evict leaves the bit)
  for g = 0x10, 0x12 do
    expect_eq(d:nominate(g), 0)
    expect_eq(d:evict(g), 0)
    expect_eq(d:type(g), "ram_paged")
    expect(d:is_dirty(g))
  end
  -- 0x12: a hypervisor read pages it in as a foreign caller (-EAGAIN):
  -- ram_paging_in, a request on the ring, still no frame
  d:read_phys(0x12000)
  expect_eq(d:type(0x12), "ram_paging_in")

  -- set_type over ram_paged: the entry goes and so does the dirty bit
  local before = d:logdirty().dirty_count
  expect_eq(d:set_type(0x10, "mmio_dm"), 0)
  expect_eq(d:type(0x10), "mmio_dm")
  expect_eq(d:is_dirty(0x10), false)
  expect_eq(d:logdirty().dirty_count, before - 1)
  -- set_mmio over ram_paged: the same
  expect_eq(d:set_mmio(0x11, 0x400), 0)
  expect_eq(d:type(0x11), "mmio_direct")
  expect_eq(d:is_dirty(0x11), false)
  -- a failed P2M update leaves the gfn paged and dirty (re-marked, as
  -- p2m_remove_page() re-marks a gfn with a frame): -ENOMEM
  expect_eq(d:nominate(0x13), 0)
  expect_eq(d:evict(0x13), 0)
  d:fail_p2m_update(1)
  expect_eq(d:set_type(0x13, "mmio_dm"), -12)
  d:fail_p2m_update(0)
  expect_eq(d:type(0x13), "ram_paged")
  expect(d:is_dirty(0x13))
  expect_eq(d:logdirty().dirty_count, before - 2)
  -- set_type over a frame-less ram_paging_in gfn: cleaned too
  expect_eq(d:set_type(0x12, "mmio_dm"), 0)
  expect_eq(d:is_dirty(0x12), false)
  expect_eq(d:logdirty().dirty_count, before - 3)
  -- a gfn with a frame is cleaned as before (p2m_remove_page())
  expect_eq(d:populate(0x14), 0)
  expect(d:is_dirty(0x14))
  expect_eq(d:set_type(0x14, "mmio_dm"), 0)
  expect_eq(d:is_dirty(0x14), false)
  -- PEEK lists none of them
  for _, g in ipairs(d:peek_dirty()) do
    expect(g < 0x10 or g > 0x14 or g == 0x13, "gfn " .. g .. " still listed dirty")
  end
  -- the page-in request for 0x12 is still on the ring; the pager's
  -- prep answers -ENOENT now (not ram_paged / ram_paging_in)
  local r = d:get_request()
  expect(r)
  expect_eq(r.gfn, 0x12)
  expect_eq(d:prep(0x12), -2)
  expect_eq(d:type(0x12), "mmio_dm")
end
