-- Log-dirty by page-modification logging (SDM Vol. 3C 29.3.6) against
-- log-dirty by write protection, on the same guest and the same writes.
-- domain{ dirty_tracking = "pml" } (which turns on EPT A/D): enabling
-- log-dirty leaves RAM writable with the EPT D flags clear
-- (ept_p2m_type_to_flags() with vmx_domain_pml_enabled()); the processor
-- logs each gpa whose D flag it sets into the vCPU's 512-entry log; a full
-- log is a VM exit whose handler (vmx_vcpu_flush_pml_buffer()) marks the
-- logged gfns dirty, and every PEEK/CLEAN flushes the logs first
-- (p2m_flush_hardware_cached_dirty()).  The oracle keeps its own copy of
-- the log and its own dirty bitmap; both modes must agree with it.

local NPAGES = 600                       -- more than one log's worth
local BASE = 0x400000

local function guest(mode)
  local d = domain{ name = mode, gfns = 0x1000, ram = 0x400, dirty_tracking = mode }
  local pt = d:pagetable{ root = 0x10, pool = 0x11, pool_pages = 16 }
  for i = 0, NPAGES - 1 do pt:map(BASE + i * 4096, 0x100 + i, "wad") end
  return d, d:vcpu{ cr3 = pt }
end

local function dirty_set(list)
  local s = {}
  for _, g in ipairs(list) do s[g] = true end
  return s
end

local results = {}
for _, mode in ipairs({ "wp", "pml" }) do
  local d, v = guest(mode)
  expect_eq(d:logdirty_enable(), 0)
  expect_eq(d:type(0x100), "ram_logdirty")
  local exits, full = 0, 0
  for i = 0, NPAGES - 1 do
    local w = v:write(BASE + i * 4096 + 8, i)
    expect(w.ok, mode .. " write " .. i)
    exits = exits + w.nexits
    for _, x in ipairs(w.exits) do
      if x.kind == "pml_full" then full = full + 1 end
    end
  end
  if mode == "wp" then
    -- One EPT violation per data page, plus one per page-table page whose
    -- upper-level entries got their first A flag (the builder presets A/D
    -- only in the leaves).
    expect(exits >= NPAGES and exits <= NPAGES + 4, "write protection: "
           .. exits .. " EPT violations")
    expect_eq(d:type(0x100), "ram_rw", "the fault handler made it writable")
  else
    expect_eq(full, 1, "PML: one log-full exit, no violations")
    expect_eq(exits, 1)
    expect_eq(d:type(0x100), "ram_rw", "flushed by the log-full exit")
    expect_eq(d:type(0x100 + NPAGES - 1), "ram_logdirty",
              "logged since, not yet flushed: still ram_logdirty")
  end
  local peek = d:peek_dirty()
  results[mode] = dirty_set(peek)
  for i = 0, NPAGES - 1 do
    expect(results[mode][0x100 + i], mode .. ": gfn " .. hex(0x100 + i) .. " dirty")
  end
  -- CLEAN re-arms; a second round of writes to a few pages is logged again
  -- (PML: their D flags were cleared by the re-arm).
  d:clean_dirty()
  expect_eq(#d:peek_dirty(), 0)
  for i = 0, 9 do expect(v:write(BASE + i * 4096, 1).ok) end
  local again = d:peek_dirty()
  -- PML: with EPT A/D every walk of a page-table page is an EPT write, so
  -- the four pages of this walk (PML4, PDPT, PD, PT) are dirty too.
  expect_eq(#again, mode == "wp" and 10 or 14,
            mode .. ": the pages written after CLEAN")
  expect_eq(d:logdirty_disable(), 0)
  expect_eq(d:type(0x100), "ram_rw")
end

-- Both modes saw the same guest writes: PML reports every gfn write
-- protection does, and in addition only page-table pages (gfns 0x10..0x20:
-- the root and the builder's pool), which PML walks dirty as EPT writes.
for g in pairs(results.wp) do
  expect(results.pml[g], "PML misses " .. hex(g))
end
local extra = 0
for g in pairs(results.pml) do
  if not results.wp[g] then
    extra = extra + 1
    expect(g >= 0x10 and g <= 0x20, "PML-only dirty gfn " .. hex(g) .. " is a page table")
  end
end
expect(extra > 0, "PML dirties the walked page tables")
