-- Random stale-translation stress (seeded): two vCPUs with TLBs (Intel and
-- AMD profiles, VPIDs 1 and 2) share a guest's page tables; the guest
-- rewrites PTEs without invalidating, then sometimes invalidates (INVLPG,
-- MOV CR3 with and without the no-flush bit, INVPCID, INVVPID, INVEPT);
-- the hypervisor changes the P2M (log-dirty on/off, which flushes).  Every
-- access is checked by the oracle: walks exactly, TLB hits against the set
-- of translations still allowed.

local d = domain{ name = "stale", gfns = 0x400, ram = 0x300 }
local pt = d:pagetable{ root = 0x10, pool = 0x11, pool_pages = 32 }
local pages = 24
for i = 0, pages - 1 do pt:map(0x100000 + i * 4096, 0x100 + i, "wu") end
pt:map(0x400000, 0x200, "wug", 2)             -- a global 2 MiB page
local v1 = d:vcpu{ cr3 = pt, tlb = "intel", vpid = 1, pge = true, pcide = true }
local v2 = d:vcpu{ cr3 = pt, tlb = "amd", vpid = 2, pge = true }
local vs = { v1, v2 }
local hits, walks = 0, 0

local function va_of(i)
  if i == pages then return 0x400000 + math.random(0, 3) * 4096 end
  return 0x100000 + i * 4096
end

for step = 1, 600 do
  local v = vs[math.random(1, 2)]
  local op = math.random(1, 100)
  if op <= 70 then
    local va = va_of(math.random(0, pages)) + 8 * math.random(0, 511)
    v:set{ cpl = math.random(0, 1) * 3 }
    local k = math.random(1, 3)
    local r
    if k == 1 then r = v:read(va) elseif k == 2 then r = v:write(va, step) else r = v:exec(va) end
    if r.tlb == "walk" then walks = walks + 1 else hits = hits + 1 end
  elseif op <= 80 then
    local i = math.random(0, pages - 1)
    local flags = ({ "wu", "u", "w", "wun", "wug" })[math.random(1, 5)]
    pt:map(0x100000 + i * 4096, 0x100 + math.random(0, 0x7f), flags)
  elseif op <= 85 then
    v:invlpg(va_of(math.random(0, pages)))
  elseif op <= 88 then
    local nf = math.random(0, 1) == 1
    v:set{ cr3 = pt.cr3 | math.random(0, 3) | (nf and (1 << 63) or 0) }
  elseif op <= 90 then
    v:invpcid(math.random(0, 3), math.random(0, 3), va_of(math.random(0, pages)))
  elseif op <= 92 then
    v:invvpid(math.random(0, 3), va_of(math.random(0, pages)), math.random(1, 2))
  elseif op <= 93 then
    v:invept(math.random(1, 2))
  elseif op <= 94 then
    if d:logdirty().enabled then d:logdirty_disable() else d:logdirty_enable() end
  else
    v:set{ wp = math.random(0, 1) == 1 }
  end
end
log(string.format("hits %d walks %d", hits, walks))
expect(hits > 100 and walks > 100, "both paths exercised")
