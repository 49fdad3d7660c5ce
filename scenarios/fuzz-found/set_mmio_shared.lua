-- Found by `pagesim fuzz` (seeds 2, 4 and 8, the sharing and direct-MMIO
-- operations): XEN_DOMCTL_memory_mapping over a ram_shared gfn.  The sim
-- replaces a RAM entry for set_mmio as it does for set_type: a shared gfn
-- is unshared first (a private copy, or the shared frame itself for the
-- last sharer), then that page is removed and released, so the sharing
-- counters, tot_pages and the M2P stay consistent.  The oracle used to
-- remove the shared frame's entry without unsharing.  (Upstream's
-- set_typed_p2m_entry() does not unshare either: it writes
-- INVALID_M2P_ENTRY over the shared frame's SHARED_M2P_ENTRY and leaves
-- the gfn in the page's sharer list; that quirk is not modelled.)
host{ frames = 64 }
local a = domain{ name = "a", gfns = 0x10, ram = 8 }
local b = domain{ name = "b", gfns = 0x10, ram = 8 }
expect_eq(a:sharing_enable(), 0)
expect_eq(b:sharing_enable(), 0)
local h = a:share_nominate(0x4)
expect(h)
expect_eq(a:share_add_physmap(0x4, h, b, 0xc), 0)
expect_eq(a:type(0x4), "ram_shared")
expect_eq(b:type(0xc), "ram_shared")
local shared = a:mfn(0x4)
expect_eq(a:set_mmio(0x4, 0x100), 0)
expect_eq(a:type(0x4), "mmio_direct")
expect_eq(a:mfn(0x4), 0x100)
-- b still maps the shared frame, now its only sharer.
expect_eq(b:type(0xc), "ram_shared")
expect_eq(b:mfn(0xc), shared)
-- The last sharer: set_mmio unshares in place (no copy), then releases.
expect_eq(b:set_mmio(0xc, 0x101), 0)
expect_eq(b:type(0xc), "mmio_direct")
-- A sharer that is not the last needs a page for its copy: with the
-- domain's allocations failing, nothing changes (-ENOMEM).
local h2 = a:share_nominate(0x5)
expect_eq(a:share_add_physmap(0x5, h2, b, 0xd), 0)
fail_alloc{ domain = a, on = true }
expect_eq(a:set_mmio(0x5, 0x102), -12)
fail_alloc{ domain = a, on = false }
expect_eq(a:type(0x5), "ram_shared")
expect_eq(a:set_mmio(0x5, 0x102), 0)
