-- Populate-on-demand (xen/arch/x86/mm/p2m-pod.c), order 0: a PoD entry
-- (p2m_populate_on_demand, no frame, EPT not present) is backed on first
-- use by the page at the head of the domain's PoD cache
-- (p2m_pod_demand_populate(): mapped ram_rw, M2P set, gfn marked dirty).
-- The first use is a guest EPT violation (get_gfn_type_access() with
-- P2M_ALLOC populates, then the access is re-executed) or a hypervisor
-- copy.  The cache is a FIFO (pod.single: added at the tail, taken from
-- the head); its pages belong to the domain.  Out of PoD memory the domain
-- is crashed.  decrease_reservation of a PoD gfn just drops the entry.
local EINVAL, EEXIST, EFAULT = -22, -17, -14
local d = domain{ name = "pod", gfns = 0x200, ram = 0x40 }
local pt = d:pagetable{ root = 0x10 }
for i = 0, 5 do pt:map(0x400000 + i * 0x1000, 0x100 + i, "w") end
local v = d:vcpu{ cr3 = pt }
local function va(i) return 0x400000 + i * 0x1000 end

for g = 0x100, 0x105 do expect_eq(d:populate_pod(g), 0) end
expect_eq(d:populate_pod(0x20), EEXIST, "RAM there")
d:fail_p2m_update(1)
expect_eq(d:populate_pod(0x106), -12, "the P2M update failed: no entry")
expect_eq(d:type(0x106), "mmio_dm")
expect_eq(d:populate_pod(0x100), EEXIST, "already PoD")
expect_eq(d:type(0x100), "populate_on_demand")
expect_eq(d:mfn(0x100), nil)
expect_eq(d:pod().entries, 6)

-- An empty cache: the first touch crashes the domain.
local c = v:read(va(5))
expect_eq(c.kind, "crash", "out of PoD memory")
expect_eq(d:type(0x105), "populate_on_demand")

-- Fill the cache: three pages.
expect_eq(d:pod_target(3), 0)
expect_eq(d:pod().cache, 3)
local r = v:read(va(0))
expect(r.ok)
expect_eq(r.nexits, 1, "one EPT violation populates")
expect_eq(r.value, 0, "a fresh page")
expect_eq(d:type(0x100), "ram_rw")
expect_eq(m2p(d:mfn(0x100)), 0x100)
expect_eq(d:pod().entries, 5)
expect_eq(d:pod().cache, 2)
expect_eq(v:read(va(0)).nexits, 0, "populated once")

-- A hypervisor copy populates too.
expect_eq(d:write_phys(0x101008, 0x55), 0)
expect_eq(d:type(0x101), "ram_rw")
expect_eq(v:read(va(1) + 8).value, 0x55)

-- Under log-dirty: populated as logdirty, a write logged in the same exit.
expect_eq(d:logdirty_enable(), 0)
local w = v:write(va(2), 0x77)
expect(w.ok)
-- (under NPT, --hap npt, first one recalc #NPF per guest table page: the
-- enable's global type change is deferred; the PoD gfn is not present, so
-- its walk faults with P clear and the populate recalculates its path)
expect_eq(w.nexits, 2 + (d:hap() == "npt" and 4 or 0),
          "the PTE's D bit (a log-dirty fault) and the PoD populate")
expect_eq(d:type(0x102), "ram_rw")
local dirty = d:peek_dirty(0x200)
local seen = false
for _, g in ipairs(dirty) do seen = seen or g == 0x102 end
expect(seen, "the populated gfn is dirty")
expect_eq(d:logdirty_disable(), 0)
expect_eq(d:pod().cache, 0)

-- Empty again: a copy fails (and Xen crashes the domain).
expect_eq(d:write_phys(0x103000, 1), EFAULT)

-- Decrease reservation of a PoD gfn; set_type and populate replace one.
expect_eq(d:remove(0x103), 0)
expect_eq(d:type(0x103), "mmio_dm")
expect_eq(d:set_type(0x104, "mmio_dm"), 0)
expect_eq(d:populate(0x105), 0)
expect_eq(d:type(0x105), "ram_rw")
expect_eq(d:pod().entries, 0)

-- Shrinking the cache frees from the head.
expect_eq(d:pod_target(4), 0)
expect_eq(d:pod_target(1), 0)
expect_eq(d:pod().cache, 1)
d:destroy()
