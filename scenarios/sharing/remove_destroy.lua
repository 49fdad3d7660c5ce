-- Removing shared gfns (guest_remove_page / decrease_reservation) and
-- tearing a sharing domain down (relinquish_shared_pages).
--   guest_remove_page() of a ram_shared gfn unshares it first (upstream
--   passes no flags: a copy unless it is the last sharer), then removes
--   the now private page: the gfn's sharer reference goes, the shared
--   frame stays for the others and is freed with the last one.
--   domain destruction drops each sharer reference with
--   MEM_SHARING_DESTROY_GFN (no copy): the frame survives while another
--   domain shares it.
local ENOENT = -2
local a = domain{ name = "a", gfns = 0x100, ram = 0x40 }
local b = domain{ name = "b", gfns = 0x100, ram = 0x40 }
local c = domain{ name = "c", gfns = 0x100, ram = 0x40 }
for _, d in ipairs{ a, b, c } do expect_eq(d:sharing_enable(), 0) end
expect_eq(a:write_phys(0x20000, 0x77), 0)
expect_eq(b:write_phys(0x20000, 0x77), 0)
expect_eq(c:write_phys(0x21000, 0x77), 0)

-- Three sharers of one frame: a's gfn 0x20, b's 0x20, c's 0x21.
local sh = a:share_nominate(0x20)
local f = a:mfn(0x20)
expect_eq(a:share(0x20, sh, b, 0x20, b:share_nominate(0x20)), 0)
expect_eq(a:share(0x20, sh, c, 0x21, c:share_nominate(0x21)), 0)
expect_eq(shared_frame(f).sharers, 3)

-- b removes its gfn: a copy is made and freed at once; the frame stays.
expect_eq(b:remove(0x20), 0)
expect_eq(b:type(0x20), "mmio_dm")
expect_eq(b:remove(0x20), ENOENT, "nothing left")
expect_eq(shared_frame(f).sharers, 2)
expect_eq(m2p(f), "SHARED")
expect_eq(a:read_phys(0x20000), 0x77, "the others still read it")
expect_eq(b:sharing().shr_pages, 0)

-- c is destroyed: its reference goes without a copy.
c:destroy()
expect_eq(shared_frame(f).sharers, 1)

-- The last sharer removes: the frame is freed.
expect_eq(a:remove(0x20), 0)
expect_eq(shared_frame(f), nil)
expect_eq(m2p(f), nil)
expect_eq(a:sharing().shr_pages, 0)

-- Teardown of the last sharer frees the frame too.
expect_eq(a:write_phys(0x22000, 5), 0)
local sh2 = a:share_nominate(0x22)
local f2 = a:mfn(0x22)
expect(sh2 > sh, "handles only grow")
a:destroy()
expect_eq(shared_frame(f2), nil)
expect_eq(m2p(f2), nil)

-- set_type on a shared gfn unshares it first, like remove.
local d1 = domain{ name = "d1", gfns = 0x100, ram = 0x40 }
local d2 = domain{ name = "d2", gfns = 0x100, ram = 0x40 }
expect_eq(d1:sharing_enable(), 0)
expect_eq(d2:sharing_enable(), 0)
local s1 = d1:share_nominate(0x23)
local f3 = d1:mfn(0x23)
expect_eq(d1:share(0x23, s1, d2, 0x23, d2:share_nominate(0x23)), 0)
expect_eq(d2:set_type(0x23, "mmio_dm"), 0)
expect_eq(d2:type(0x23), "mmio_dm")
expect_eq(shared_frame(f3).sharers, 1)
expect_eq(d2:sharing().shr_pages, 0)
