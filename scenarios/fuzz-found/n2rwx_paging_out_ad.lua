-- Found by `pagesim fuzz` (seeds 3 and 5, 200,000 operations; the
-- reproducers shrank to `fresh(1, nil, 'ad') doms[1]:nominate(0x45)
-- burst(1, 0x45, 8)`): in a domain with EPT A/D flags, a guest read of a
-- gfn that is nominated for paging (ram_paging_out, EPT r=w=x=0) and has
-- access n2rwx, with the monitor ring attached.
-- hvm_hap_nested_page_fault(): p2m_mem_access_check() promotes n2rwx to
-- rwx (the leaf rewritten, an async event on the monitor ring) and the
-- handler goes on; the gfn is a paging type, so p2m_mem_paging_populate()
-- rewrites the leaf once more as ram_paging_in (same frame, rwx access),
-- puts a request on the paging ring and pauses the vCPU.  The sim did
-- that.  The oracle, whose raw EPT walker reads through an overlay of the
-- entries the access rewrote (EPT A/D domains), kept the leaf of the
-- promotion (type ram_paging_out) and compared it with the sim's table:
-- ept_entry@hpa...: expected type 9, got 11.  The same with rx2rw on a
-- write, where the promotion is a retry and the populate comes in the
-- next attempt of the same access.
local d = domain{ name = "d", gfns = 0x40, ram = 0x30, ept_ad = true }
local pt = d:pagetable{ root = 0x10, pool = 0x11, pool_pages = 8 }
pt:map(0x400000, 0x28, "w")
pt:map(0x401000, 0x29, "w")
local v = d:vcpu{ cr3 = pt }
expect_eq(d:paging_enable(), 0)
expect_eq(d:monitor_enable(), 0)

-- n2rwx: the promotion and the populate in one exit
expect_eq(d:nominate(0x28), 0)
expect_eq(d:set_access(0x28, "n2rwx"), 0)
local r = v:read(0x400000)
expect(r.paused, "paused for the pager")
expect_eq(d:type(0x28), "ram_paging_in")
expect_eq(d:access(0x28), "rwx", "promoted")
local q = d:monitor_get()
expect_eq(q.gfn, 0x28)
local req = d:get_request()
expect_eq(req.gfn, 0x28)
expect(req.evict_fail, "populated while still paging_out")
expect_eq(d:resume(req), 0)
expect_eq(d:type(0x28), "ram_rw")
expect(v:read(0x400000).ok)

-- rx2rw on a write: promoted (retry), then populated in the next attempt
expect_eq(d:nominate(0x29), 0)
expect_eq(d:set_access(0x29, "rx2rw"), 0)
r = v:write(0x401000, 7)
expect(r.paused, "paused for the pager")
expect_eq(d:type(0x29), "ram_paging_in")
expect_eq(d:access(0x29), "rw")
req = d:get_request()
expect_eq(req.gfn, 0x29)
expect_eq(d:resume(req), 0)
expect(v:write(0x401000, 7).ok)
expect_eq(v:read(0x401000).value, 7)
