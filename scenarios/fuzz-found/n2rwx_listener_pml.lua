-- Found by `pagesim fuzz` (seed 4): in a domain that logs dirty pages by
-- PML (dirty_tracking = "pml", log-dirty off) or has EPT A/D flags, with
-- the monitor ring attached, a guest read of an n2rwx gfn.
-- p2m_mem_access_check(): n2rwx is promoted to rwx (the leaf rewritten by
-- p2m->set_entry()), an async mem_access event goes to the ring (the vCPU
-- is not paused), and the fault handler goes on as for RAM: the access is
-- re-executed and succeeds.  The sim did that; the oracle, whose own EPT
-- walker reads the sim's tables in these domains (EPT A/D), re-executed
-- against the leaf as it was before the promotion and predicted a crash.
-- The same holds for rx2rw on a write (promoted to rw, no event).
for _, how in ipairs{ { dirty_tracking = "pml" }, { ept_ad = true } } do
  local d = domain{ name = "d", gfns = 0x40, ram = 0x30,
                    dirty_tracking = how.dirty_tracking, ept_ad = how.ept_ad }
  local pt = d:pagetable{ root = 0x10, pool = 0x11, pool_pages = 8 }
  pt:map(0x400000, 0x28, "w")
  pt:map(0x401000, 0x29, "w")
  local v = d:vcpu{ cr3 = pt }
  expect_eq(d:monitor_enable(), 0)
  expect_eq(d:set_access(0x28, "n2rwx"), 0)
  local r = v:read(0x400000)
  expect(r.ok, "async event, the read completes")
  expect_eq(d:access(0x28), "rwx", "promoted")
  local q = d:monitor_get()
  expect_eq(q.gfn, 0x28)
  expect_eq(d:monitor_get(), nil, "one event")
  expect_eq(d:set_access(0x29, "rx2rw"), 0)
  expect(v:write(0x401000, 7).ok, "rx2rw: promoted on the write")
  expect_eq(d:access(0x29), "rw")
  expect_eq(v:read(0x401000).value, 7)
  d:destroy()
end
