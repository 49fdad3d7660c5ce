-- Seed 002, patch 07/12 ("xenpaging: update machine_to_phys_mapping[]
-- during page-in"): the page-in path installed the new frame in the P2M
-- but left its M2P entry INVALID.  Upstream prepare() and
-- p2m_mem_paging_resume() both call set_gpfn_from_mfn().  Killed mutant:
-- pagein_no_m2p.
local d = domain{ name = "guest", gfns = 0x100, ram = 0x20 }
expect_eq(d:paging_enable(), 0)
for g = 0x10, 0x13 do
  expect_eq(d:nominate(g), 0)
  expect_eq(d:evict(g), 0)
end
expect_eq(d:paging().paged_pages, 4)
-- Load directly from paged (prep with a buffer, no populate first: 6643f18e76).
for g = 0x10, 0x13 do
  expect_eq(d:prep(g, string.pack("<I8", g)), 0)
  expect_eq(m2p(d:mfn(g)), g, "the paged-in frame names its gfn")
  expect_eq(d:read_phys(g * 4096), g)
end
expect_eq(d:paging().paged_pages, 0)
