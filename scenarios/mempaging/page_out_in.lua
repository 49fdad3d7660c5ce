-- Mem paging round trip (xen/arch/x86/mm/mem_paging.c, reference 2.2-2.3):
-- nominate -> evict -> guest touch (EPT violation -> populate -> request,
-- vCPU paused) -> prep with the saved contents -> resume (vCPU unpaused)
-- -> the access completes with the old data, M2P naming the gfn again.
local ENODEV, EBUSY, ENOENT, EINVAL = -19, -16, -2, -22

local d = domain{ name = "guest", gfns = 0x100, ram = 0x40 }
local pt = d:pagetable{ root = 0x10 }
pt:map(0x400000, 0x30, "wu")
local v = d:vcpu{ cr3 = pt }
expect(v:write(0x400000, 0x1234abcd).ok)

-- No ring yet: every paging op is -ENODEV.
expect_eq(d:nominate(0x30), ENODEV, "nominate without a ring")
expect_eq(d:evict(0x30), ENODEV)
expect_eq(d:prep(0x30), ENODEV)
expect_eq(d:paging_enable(), 0)
expect_eq(d:paging_enable(), EBUSY, "a second ring")
expect_eq(d:paging().ring_size, 8, "one page holds 8 vm_event requests")

-- Preconditions: -EBUSY for anything but pageable RAM.
expect_eq(d:nominate(0x80), EBUSY, "nothing mapped")
expect_eq(d:evict(0x30), EBUSY, "evict before nominate")
expect_eq(d:prep(0x30), ENOENT, "prep of ordinary RAM")

-- Page out gfn 0x30.
local old_mfn = d:mfn(0x30)
local saved = d:page_contents(0x30)
expect_eq(d:nominate(0x30), 0)
expect_eq(d:type(0x30), "ram_paging_out")
expect_eq(d:mfn(0x30), old_mfn, "nominate keeps the frame")
expect_eq(d:nominate(0x30), EBUSY, "already nominated")
expect_eq(d:prep(0x30), ENOENT, "prep of paging_out")
expect_eq(d:evict(0x30), 0)
expect_eq(d:type(0x30), "ram_paged")
expect_eq(d:mfn(0x30), nil, "evicted: no frame")
expect_eq(m2p(old_mfn), nil, "the freed frame names no gfn")
expect_eq(d:paging().paged_pages, 1)

-- The guest touches it: paused, one request with VCPU_PAUSED.
local r = v:read(0x400000)
expect_eq(r.kind, "paused", "the vCPU waits for the pager")
expect_eq(v:state(), "paused")
expect_eq(d:type(0x30), "ram_paging_in")
expect_eq(v:read(0x400000).kind, "paused", "a paused vCPU does not run")
expect_eq(d:paging().requests, 1)

-- The pager: prep without a buffer cannot work for an evicted page.
local req = d:get_request()
expect_eq(req.gfn, 0x30)
expect_eq(req.type, "ram_paged")
expect(req.paused and not req.drop and not req.evict_fail)
expect_eq(req.vcpu, 0)
expect_eq(d:prep(0x30), EINVAL, "no frame and no buffer")
expect_eq(d:prep(0x30, saved), 0)
expect_eq(d:type(0x30), "ram_rw")
expect_eq(d:paging().paged_pages, 0)
local new_mfn = d:mfn(0x30)
expect_eq(m2p(new_mfn), 0x30, "page-in updates the M2P (seed 002 07/12)")
expect_eq(v:state(), "paused", "prep alone does not unpause")
expect_eq(d:resume(req), 0)
expect_eq(v:state(), "runnable")
local r2 = v:read(0x400000)
expect(r2.ok, "the access completes after resume")
expect_eq(r2.value, 0x1234abcd, "contents restored from the pager's buffer")
expect_eq(d:get_request(), nil, "ring empty")

-- Nominated, then touched before evict (the race in the seed 004 docs):
-- populate turns paging_out into paging_in (EVICT_FAIL), evict fails.
expect_eq(d:nominate(0x30), 0)
expect_eq(v:read(0x400000).kind, "paused")
expect_eq(d:evict(0x30), EBUSY, "touched between nominate and evict")
local req2 = d:get_request()
expect(req2.evict_fail, "request flagged MEM_PAGING_EVICT_FAIL")
expect_eq(req2.type, "ram_paging_out")
expect_eq(d:prep(0x30), 0, "prep without buffer: the frame is still there")
expect_eq(d:resume(req2), 0)
expect(v:read(0x400000).ok)
expect_eq(d:paging().paged_pages, 0, "never evicted, never counted")
