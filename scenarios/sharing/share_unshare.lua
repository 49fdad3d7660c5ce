-- Memory sharing (xen/arch/x86/mm/mem_sharing.c): nominate, share, read,
-- unshare on write, the last sharer.
--   nominate: a ram_rw gfn becomes ram_shared (EPT r-x), its frame owned
--     by dom_cow with M2P SHARED_M2P_ENTRY, one sharer, a fresh handle;
--   share: the client gfn is remapped to the source frame, the client's
--     own (nominated) frame freed, the source frame gains the sharer;
--   a guest read does not unshare; a guest write takes one EPT violation
--     (hvm_hap_nested_page_fault -> mem_sharing_unshare_page): a new page
--     with a copy of the contents, ram_rw, M2P = gfn; the other sharer
--     still sees the old contents;
--   the last sharer's write gets the frame itself back (no copy).
local ENODEV, EINVAL = -19, -22
local S_HANDLE_INVALID, C_HANDLE_INVALID = -10, -9
local a = domain{ name = "src", gfns = 0x200, ram = 0x40 }
local b = domain{ name = "cli", gfns = 0x200, ram = 0x40 }
local pa = a:pagetable{ root = 0x10 }
local pb = b:pagetable{ root = 0x10 }
pa:map(0x400000, 0x30, "w")
pb:map(0x400000, 0x31, "w")
local va = a:vcpu{ cr3 = pa }
local vb = b:vcpu{ cr3 = pb }

-- Same contents in both pages (a tool stack shares identical pages).
expect(va:write(0x400000, 0x1111).ok)
expect(va:write(0x400ff8, 0x2222).ok)
expect(vb:write(0x400000, 0x1111).ok)
expect(vb:write(0x400ff8, 0x2222).ok)

-- Not enabled: -ENODEV.
local h, rc = a:share_nominate(0x30)
expect_eq(h, nil)
expect_eq(rc, ENODEV, "sharing not enabled on the domain")
expect_eq(a:sharing_enable(), 0)
expect_eq(b:sharing_enable(), 0)

-- Nothing to share at an empty gfn.
local _, rc2 = a:share_nominate(0x100)
expect_eq(rc2, EINVAL, "no frame")

local amfn, bmfn = a:mfn(0x30), b:mfn(0x31)
local sh = a:share_nominate(0x30)
expect(sh ~= nil)
expect_eq(a:type(0x30), "ram_shared")
expect_eq(m2p(amfn), "SHARED")
expect_eq(shared_frame(amfn).sharers, 1)
expect_eq(shared_frame(amfn).owner, "dom_cow")
expect_eq(a:share_nominate(0x30), sh, "already shared: the same handle")
expect_eq(a:sharing().shr_pages, 1)
local ch = b:share_nominate(0x31)
expect(ch ~= nil and ch ~= sh, "a new handle")

-- A stale handle is refused, naming the side whose handle is wrong.
expect_eq(a:share(0x30, sh + 100, b, 0x31, ch), S_HANDLE_INVALID)
expect_eq(a:share(0x30, sh, b, 0x31, ch + 100), C_HANDLE_INVALID)
-- A gfn that is not shared names its side; when neither is, the page
-- looked at first (the lower mfn: pages are locked in mfn order) names it.
expect_eq(a:share(0x30, sh, b, 0x32, ch), C_HANDLE_INVALID)
expect_eq(a:share(0x32, sh, b, 0x31, ch), S_HANDLE_INVALID)
expect_eq(a:share(0x32, sh, b, 0x32, ch),
          a:mfn(0x32) < b:mfn(0x32) and S_HANDLE_INVALID or C_HANDLE_INVALID)
expect_eq(b:share(0x32, sh, a, 0x32, ch),
          b:mfn(0x32) < a:mfn(0x32) and S_HANDLE_INVALID or C_HANDLE_INVALID)

expect_eq(a:share(0x30, sh, b, 0x31, ch), 0)
expect_eq(b:mfn(0x31), amfn, "the client maps the source frame")
expect_eq(b:type(0x31), "ram_shared")
expect_eq(shared_frame(amfn).sharers, 2)
expect_eq(shared_frame(bmfn), nil, "the client frame is gone")
expect_eq(m2p(bmfn), nil, "freed: M2P INVALID")
expect_eq(b:sharing().shr_pages, 1)
expect_eq(a:sharing().shared_mfns, 1, "one frame shared ...")
expect_eq(a:sharing().saved_mfns, 1, "... saving one")
-- The client's old handle is stale now.
expect_eq(a:share(0x30, sh, b, 0x31, ch), 0, "same frame already: success")

-- Reads through both domains: no exit, no unshare.
local r = vb:read(0x400000)
expect(r.ok)
expect_eq(r.nexits, 0)
expect_eq(r.value, 0x1111)
expect_eq(r.mfn, amfn)
expect_eq(b:type(0x31), "ram_shared")

-- A write by the client unshares: one EPT violation, a copy.
local w = vb:write(0x400008, 0xbeef)
expect(w.ok)
expect_eq(w.nexits, 1, "the write faults once on the r-x entry")
expect_eq(b:type(0x31), "ram_rw")
expect(b:mfn(0x31) ~= amfn, "a new page")
expect_eq(m2p(b:mfn(0x31)), 0x31)
expect_eq(vb:read(0x400ff8).value, 0x2222, "the copy holds the old contents")
expect_eq(vb:read(0x400008).value, 0xbeef)
expect_eq(va:read(0x400008).value, 0, "the source does not see the write")
expect_eq(shared_frame(amfn).sharers, 1)
expect_eq(b:sharing().shr_pages, 0)

-- The last sharer writes: the frame becomes its own again.
w = va:write(0x400010, 0xcafe)
expect(w.ok)
expect_eq(w.nexits, 1)
expect_eq(a:type(0x30), "ram_rw")
expect_eq(a:mfn(0x30), amfn, "no copy for the last sharer")
expect_eq(m2p(amfn), 0x30)
expect_eq(shared_frame(amfn), nil)
expect_eq(va:read(0x400000).value, 0x1111)
expect_eq(va:write(0x400018, 1).nexits, 0, "private RAM again")
expect_eq(a:sharing().shared_mfns, 0)
expect_eq(a:sharing().saved_mfns, 0)
