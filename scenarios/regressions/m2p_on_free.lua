-- Seed 002, patch 06/12 ("update machine_to_phys_mapping[] during page
-- deallocation", committed as c/s 22706 inside free_heap_pages): a frame
-- going back to the heap must stop naming its old gfn in the M2P, or the
-- next domain to get it inherits a stale gfn that guest_physmap_add_entry()
-- then acts on.  Here domain a is destroyed (its frames freed without
-- per-gfn P2M removal, as relinquish_memory does) and b reuses the frames.

local a = domain{ name = "a", gfns = 0x100, ram = 0x20 }
local frames = {}
for g = 0, 0x1f do
  frames[g] = a:mfn(g)
  expect_eq(m2p(frames[g]), g)
end
a:destroy()
for g = 0, 0x1f do
  expect_eq(m2p(frames[g]), nil, "a freed frame names no gfn")
end

-- b gets frames back from the heap (most recently freed first).
local b = domain{ name = "b", gfns = 0x100, ram = 0 }
expect_eq(b:populate(0x80, 0x20), 0)
local reused = 0
local old = {}
for _, m in pairs(frames) do old[m] = true end
for g = 0x80, 0x9f do
  local m = b:mfn(g)
  expect_eq(m2p(m), g, "b's frame names b's gfn")
  if old[m] then reused = reused + 1 end
end
expect(reused > 0, "b really reuses a's frames")

-- A physmap add of a reused frame must not touch b's other gfns: remove
-- and re-add one page; everything else stays mapped.
expect_eq(b:remove(0x85), 0)
expect_eq(b:populate(0x85), 0)
for g = 0x80, 0x9f do expect(b:mfn(g) ~= nil) end
