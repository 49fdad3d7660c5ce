-- A guest write that adds one P2M leaf and changes nothing else.
--
-- As in table_write_by_guest.lua, a raw leaf (d:ept_set_raw) maps gfn
-- 0x200 as mmio_direct onto the frame of the domain's own level-1 EPT
-- table, and a guest store through it writes that table behind the
-- hypervisor's back: here the empty entry of gfn 0x20 becomes an
-- mmio_direct leaf onto the table's own frame.  No frame changes hands
-- (the table frame's M2P, owner and use stay), so the per-frame half of
-- the state checks has nothing to see, and no M2P entry names gfn 0x20.
-- Only the per-domain half, comparing gfn 0x20's entry with the flat
-- model (empty there), sees it; after a clean check it compares the gfns
-- under the table entries that changed (oracle/check.c, restrict_doms()).
-- The divergences are the expected outcome (the guest, not the sim,
-- changed the P2M); mutant check_skip_gfn_mark (the restricted checks
-- drop the changed gfns) makes the checks miss them and the end-of-run
-- full check report oracle.incremental.
expect_divergence("d0.p2m?0x20?.*", "the guest mapped gfn 0x20 itself")

local d = domain{ name = "d", gfns = 0x400, ram = 0x10 }
local l1 = (d:ept_get_raw(0x0, 2) >> 12) & 0xffffffffff   -- the L1 table's frame
expect_eq(d:ept_get_raw(0x20000, 1), 0, "gfn 0x20 has no entry")
-- mmio_direct (type 5 in bits 57:52), rwx, UC with ignore-PAT
local dev = (l1 << 12) | 7 | (5 << 52) | (1 << 6)
expect_eq(d:ept_set_raw(0x200000, 1, dev), 0)
local v = d:vcpu{ mode = "none" }
-- A step that changes nothing: a read through the raw leaf.
expect(v:read(0x200000 + 8 * 0x20).ok, "load through the raw leaf")
-- The store: gfn 0x20's entry (index 0x20 of the table).
expect(v:write(0x200000 + 8 * 0x20, dev).ok, "store into gfn 0x20's entry")
expect_eq(d:ept_get_raw(0x20000, 1), dev, "gfn 0x20 is mapped now")
