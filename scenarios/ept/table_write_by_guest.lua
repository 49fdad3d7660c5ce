-- A guest write that changes nothing but an EPT table in host memory.
--
-- A raw leaf (d:ept_set_raw) maps gfn 0x200 as mmio_direct onto the frame
-- of the domain's own level-1 EPT table (the one holding the leaves of gfns
-- 0-0x1ff): a device mapping over hypervisor memory, which Xen never
-- creates.  A guest store through it rewrites the leaf of gfn 1 behind the
-- hypervisor's back.  That step changes no M2P, frame, domain or oracle
-- state, only the table's bytes, so the per-step state checks see it only
-- through host memory's change log (model/hostmem.c; oracle_check()
-- decodes again when a frame its last check read was written).  The
-- divergences are the expected outcome here (the sim did not change the
-- P2M, the guest did); mutant check_skip_mark (the log loses writes) makes
-- the checks miss them and the end-of-run full check report
-- oracle.incremental.
expect_divergence("d0.p2m?0x1?.*", "the guest overwrote the leaf of gfn 1")
expect_divergence("I2 m2p?0x*", "gfn 1 no longer maps its frame")

local d = domain{ name = "d", gfns = 0x400, ram = 0x10 }
local l1 = (d:ept_get_raw(0x0, 2) >> 12) & 0xffffffffff   -- the L1 table's frame
local leaf1 = d:ept_get_raw(0x1000, 1)
expect(leaf1 & 7 == 7, "gfn 1 is RAM, rwx")
-- mmio_direct (type 5 in bits 57:52), rwx, UC with ignore-PAT
expect_eq(d:ept_set_raw(0x200000, 1, (l1 << 12) | 7 | (5 << 52) | (1 << 6)), 0)
local v = d:vcpu{ mode = "none" }
-- Steps that change nothing the checks read (a store to an unused
-- entry's bytes with the value they hold, reads): the checks are reused.
expect(v:write(0x200000 + 0x800, 0).ok, "store through the raw leaf")
expect(v:read(0x200000 + 0x800).ok, "load through the raw leaf")
expect_eq(d:ept_get_raw(0x1000, 1), leaf1, "gfn 1's leaf is intact")
-- Now the store that clears gfn 1's leaf.
expect(v:write(0x200000 + 8, 0).ok, "store over gfn 1's leaf")
expect_eq(d:ept_get_raw(0x1000, 1), 0, "gfn 1's leaf is gone")
