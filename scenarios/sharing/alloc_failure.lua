-- Unsharing without memory (__mem_sharing_unshare_page: -ENOMEM, nothing
-- changed).  Upstream then calls mem_sharing_notify_enomem(): with a
-- helper's sharing vm_event ring the vCPU would wait on it; no such ring
-- is modelled (no helper), which upstream answers by crashing the domain
-- on a guest write.  Hypervisor paths (write_phys, remove, set_type)
-- return -ENOMEM.  The last sharer needs no page: it never fails.
local ENOMEM = -12
local a = domain{ name = "a", gfns = 0x100, ram = 0x40 }
local b = domain{ name = "b", gfns = 0x100, ram = 0x40 }
local pb = b:pagetable{ root = 0x10 }
pb:map(0x400000, 0x21, "w")
local vb = b:vcpu{ cr3 = pb }
expect(vb:read(0x400000).ok)
expect_eq(a:sharing_enable(), 0)
expect_eq(b:sharing_enable(), 0)
local sh = a:share_nominate(0x20)
local f = a:mfn(0x20)
expect_eq(a:share(0x20, sh, b, 0x21, b:share_nominate(0x21)), 0)
expect_eq(a:share_add_physmap(0x20, sh, b, 0x80), 0, "a third sharer in a hole")
expect_eq(b:mfn(0x80), f)
expect_eq(shared_frame(f).sharers, 3)

fail_alloc{ domain = b, on = true }
expect_eq(b:write_phys(0x21000, 1), ENOMEM, "no page for the copy")
expect_eq(b:remove(0x21), ENOMEM)
expect_eq(b:set_type(0x21, "mmio_dm"), ENOMEM)
expect_eq(b:type(0x21), "ram_shared", "nothing changed")
expect_eq(shared_frame(f).sharers, 3)
fail_alloc{ domain = b, on = false }

-- The nth allocation: the copy is the first one of the access.
fail_alloc{ nth = 1 }
local w = vb:write(0x400000, 7)
expect_eq(w.kind, "crash", "no sharing ring to wait on: domain_crash()")
expect_eq(b:type(0x21), "ram_shared")

-- With memory the same write succeeds.
w = vb:write(0x400000, 7)
expect(w.ok)
expect_eq(b:type(0x21), "ram_rw")
expect_eq(shared_frame(f).sharers, 2)

-- add_physmap: only into a hole, with the source's current handle.
expect_eq(a:share_add_physmap(0x20, sh, b, 0x21), -9, "C_HANDLE_INVALID: not a hole")
expect_eq(a:share_add_physmap(0x20, sh + 1, b, 0x81), -10, "S_HANDLE_INVALID: stale")
expect_eq(a:share_add_physmap(0x22, sh, b, 0x81), -10, "source not shared")
