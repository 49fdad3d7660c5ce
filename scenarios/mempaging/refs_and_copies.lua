-- Page references and hypervisor accesses to paged-out gfns
-- (mem_paging.c nominate()/evict() reference checks; __hvm_copy()'s
-- HVMTRANS_gfn_paged_out, reference 4.3): a foreign mapping blocks
-- nominate; copies and foreign maps of a paged gfn populate as a foreign
-- request and answer "retry" (-EAGAIN / -ENOENT), never crash.
local EBUSY, ENOENT, EAGAIN = -16, -2, -11

local d = domain{ name = "guest", gfns = 0x100, ram = 0x40 }
expect_eq(d:paging_enable(), 0)
expect_eq(d:write_phys(0x20010, 0x5555), 0)

-- A foreign domain maps gfn 0x20: an extra reference.
local m = d:map_foreign(0x20)
expect_eq(m, d:mfn(0x20))
expect_eq(d:nominate(0x20), EBUSY, "a mapped page is not pageable")
expect_eq(d:unmap_foreign(m), 0)
expect_eq(d:unmap_foreign(m), -22, "no reference left to drop")
expect_eq(d:nominate(0x20), 0, "unmapped: nominate works")

-- Foreign map of a paging_out gfn: populate (foreign, no pause), -ENOENT.
local _, rc = d:map_foreign(0x20)
expect_eq(rc, ENOENT)
expect_eq(d:type(0x20), "ram_paging_in")
local req = d:get_request()
expect(req.foreign and not req.paused and req.evict_fail)
expect_eq(req.vcpu, nil, "no vCPU of the domain asked")
expect_eq(d:evict(0x20), EBUSY)
expect_eq(d:prep(0x20), 0)
expect_eq(d:read_phys(0x20010), 0x5555, "never evicted: contents kept")

-- Evict, then the hypervisor copies: -EAGAIN, populate sent once.
expect_eq(d:nominate(0x21), 0)
expect_eq(d:evict(0x21), 0)
expect_eq(d:write_phys(0x21000, 1), EAGAIN, "copy to a paged gfn: retry")
expect_eq(d:type(0x21), "ram_paging_in")
local v, rc2 = d:read_phys(0x21000)
expect_eq(v, nil)
expect_eq(rc2, EAGAIN, "copy from a paging_in gfn: retry")
expect_eq(d:paging().requests, 1, "a foreign caller on paging_in sends nothing")
local r = d:get_request()
expect_eq(r.type, "ram_paged")
expect_eq(d:prep(0x21, string.rep("\x11", 8)), 0)
expect_eq(d:read_phys(0x21000), 0x1111111111111111)
expect_eq(d:write_phys(0x21000, 2), 0, "paged in: the copy works")

-- Resume for a request nobody is paused on changes nothing and is fine.
expect_eq(d:resume(r), 0)
