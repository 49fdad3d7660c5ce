-- A guest store into its own EPT table that host memory logs as two
-- writes to that table in one step (the line log, model/hostmem.c).
--
-- As table_write_by_guest.lua, but the raw leaf that maps the domain's
-- level-1 table (the leaves of gfns 0-0x1ff) is itself in that table
-- (gfn 0x100), and the domain has EPT A/D flags: the store's walk first
-- sets the accessed and dirty flags of the leaf of gfn 0x100 (entry
-- 0x100, the table's 64-byte line 32), then the store clears the leaf of
-- gfn 1 (entry 1, line 0).  A restricted state check diffs only the lines
-- host memory saw written (hostmem_written_lines()), so it must be told
-- both; mutant check_skip_line (the log keeps only the lines of a frame's
-- first write) makes the check miss gfn 1 and the end-of-run full check
-- report oracle.incremental.
expect_divergence("d0.p2m?0x1?.*", "the guest overwrote the leaf of gfn 1")
expect_divergence("I2 m2p?0x*", "gfn 1 no longer maps its frame")

local d = domain{ name = "d", gfns = 0x400, ram = 0x10, ept_ad = true }
local l1 = (d:ept_get_raw(0x0, 2) >> 12) & 0xffffffffff   -- the L1 table's frame
local leaf1 = d:ept_get_raw(0x1000, 1)
expect(leaf1 & 7 == 7, "gfn 1 is RAM, rwx")
-- mmio_direct (type 5 in bits 57:52), rwx, UC with ignore-PAT, A/D clear
expect_eq(d:ept_set_raw(0x100000, 1, (l1 << 12) | 7 | (5 << 52) | (1 << 6)), 0)
local v = d:vcpu{ mode = "none" }
-- a load through the raw leaf sets its accessed flag (one write, line 32)
expect(v:read(0x100000 + 0x900).ok, "load through the raw leaf (an unused entry)")
expect(d:ept_get_raw(0x100000, 1) & (1 << 8) ~= 0, "the raw leaf is accessed")
expect_eq(d:ept_get_raw(0x100000, 1) & (1 << 9), 0, "the raw leaf is not dirty yet")
-- The store: the raw leaf's dirty flag (line 32), then gfn 1's leaf (line 0).
expect(v:write(0x100000 + 8, 0).ok, "store over gfn 1's leaf")
expect(d:ept_get_raw(0x100000, 1) & (1 << 9) ~= 0, "the raw leaf is dirty")
expect_eq(d:ept_get_raw(0x1000, 1), 0, "gfn 1's leaf is gone")
