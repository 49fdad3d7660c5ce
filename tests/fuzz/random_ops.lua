-- Random state transitions for the short fuzz (tests/run-fuzz.sh).
-- Everything is drawn from math.random, i.e. from the run's --seed, so a
-- failing seed is its own reproducer:  pagesim run -v --seed N this-file.
-- The page-table pool (gfns 0x10..0x3f) is never removed; data pages
-- (0x40..0x5f) and the rest are fair game.  No expects: the oracle checks
-- every step, and a divergence fails the run.

local doms, pts, vcpus = {}, {}, {}
for i = 1, 2 do
  local d = domain{ name = "f" .. i, gfns = 0x100, ram = 0x60 }
  doms[i] = d
  pts[i] = d:pagetable{ root = 0x10, pool = 0x11, pool_pages = 0x2f }
  vcpus[i] = d:vcpu{ cr3 = pts[i] }
end

local flags = { "", "w", "u", "wu", "wun", "un", "wa", "wud" }
local function va_of(n) return 0x400000 + n * 0x1000 end

for step = 1, 200 do
  local i = math.random(1, 2)
  local d, pt, v = doms[i], pts[i], vcpus[i]
  local op = math.random(1, 14)
  if op <= 2 then
    pt:map(va_of(math.random(0, 15)), math.random(0x40, 0x6f), flags[math.random(#flags)])
  elseif op == 3 then
    pt:unmap(va_of(math.random(0, 15)))
  elseif op == 4 then
    d:populate(math.random(0x40, 0x7f))
  elseif op == 5 then
    d:remove(math.random(0x40, 0x7f))
  elseif op == 6 then
    d:set_type(math.random(0x40, 0x7f), "mmio_dm")
  elseif op == 7 then
    if d:logdirty().enabled then d:logdirty_disable() else d:logdirty_enable() end
  elseif op == 8 then
    if math.random(2) == 1 then d:peek_dirty() else d:clean_dirty() end
  elseif op == 9 then
    v:set{ cpl = math.random(0, 1) * 3, wp = math.random(2) == 1, nxe = math.random(2) == 1 }
  elseif op <= 11 then
    v:read(va_of(math.random(0, 15)) + 8 * math.random(0, 511))
  elseif op <= 13 then
    v:write(va_of(math.random(0, 15)) + 8 * math.random(0, 511), step)
  else
    v:exec(va_of(math.random(0, 15)))
  end
end
