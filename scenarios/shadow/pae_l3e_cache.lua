-- A PAE guest under shadow paging (hap = "none").  Xen's shadow code does
-- not walk the guest's PDPT: at each CR3 update (sh_update_cr3(), from the
-- intercepted MOV CR3 and from paging-mode changes) it copies the guest's
-- four l3 entries into v->arch.paging.shadow.gl3e and builds the shadow's
-- top level from that copy; its walks (sh_walk_guest_tables()) use the
-- copy too.  So, as with VMX's PDPTE registers, a PDPT entry rewritten in
-- memory takes effect only at the next MOV CR3 (or a MOV CR0/CR4 that
-- changes paging), whatever the guest invalidates; and a walk costs no
-- PDPT reference.  The model keeps the copy in the registers' place
-- (read through the P2M); the oracle keeps its own.  Mutant
-- shadow_pae_reread_l3e (the walk reads the guest's PDPT again) is killed
-- here.

local d = domain{ name = "shpae", gfns = 0x1000, ram = 0x800, hap = "none" }
for g = 0x400, 0x4ff do d:write_phys(g * 4096, g) end
local pae = d:pagetable{ root = 0x20, pool = 0x21, pool_pages = 16, mode = "pae" }
pae:map(0x40001000, 0x401, "wuad")
pae:map(0x40002000, 0x402, "wuad")
local PD2, PT2 = 0x30, 0x31
d:write_phys(PD2 * 4096, (PT2 << 12) | PTE.P | PTE.W | PTE.U | PTE.A)
d:write_phys(PT2 * 4096 + 8, (0x411 << 12) | PTE.P | PTE.W | PTE.U | PTE.A | PTE.D)
d:write_phys(PT2 * 4096 + 16, (0x412 << 12) | PTE.P | PTE.W | PTE.U | PTE.A | PTE.D)
local pdpte1 = pae:entry(0x40000000, 3)

local v = d:vcpu{ cr3 = pae, mode = "pae", tlb = "intel", vpid = 1 }
local r = v:read(0x40001000)
expect(r.ok and r.value == 0x401)
-- A one-dimensional walk of PDE and PTE (the P2M lookups are free), and
-- the A flag written into the PDE: no PDPT reference.
expect_eq(r.refs, 2 + 1, "PDE, PTE, A into the PDE; the l3e from the copy")

-- The guest points l3e 1 at another directory; no MOV CR3.  INVLPG,
-- INVVPID and a hypervisor P2M change (which makes Xen drop shadows and
-- flush) leave the copy alone.
pae:set_entry(0x40000000, 3, (PD2 << 12) | PTE.P)
v:invlpg(0x40001000)
expect_eq(v:read(0x40001000).value, 0x401, "the copy taken at the CR3 update")
v:invvpid(1, 1)
expect_eq(v:read(0x40002000).value, 0x402, "INVVPID: still the copy")
expect_eq(d:remove(0x4f0), 0)
expect_eq(v:read(0x40001000).value, 0x401, "a P2M change: still the copy")

-- The next CR3 update re-reads it.
v:set{ cr3 = pae }
r = v:read(0x40001000)
expect(r.ok and r.value == 0x411, "MOV CR3: the edited l3e")
expect_eq(v:read(0x40002000).value, 0x412)
-- So does a MOV CR4 that changes paging (PGE).
pae:set_entry(0x40000000, 3, pdpte1)
v:invlpg(0x40001000)
expect_eq(v:read(0x40001000).value, 0x411, "the copy again")
v:set{ pge = true }
v:invlpg(0x40001000)
expect_eq(v:read(0x40001000).value, 0x401, "MOV CR4 (PGE) refreshed the copy")
-- A MOV CR0 that does not change paging (CR0.WP toggled) leaves it.
pae:set_entry(0x40000000, 3, (PD2 << 12) | PTE.P)
local wp = v.cr0 & 0x10000
v:set{ wp = wp == 0 }
expect(v.cr0 & 0x10000 ~= wp, "WP toggled")
v:invlpg(0x40001000)
expect_eq(v:read(0x40001000).value, 0x401, "CR0.WP toggled: no refresh")
v:set{ cr3 = pae }
expect_eq(v:read(0x40001000).value, 0x411)
pae:set_entry(0x40000000, 3, pdpte1)
v:set{ cr3 = pae }
expect_eq(v:read(0x40001000).value, 0x401)

-- The copy is the hypervisor's, not a TLB: a vCPU without TLBs has it
-- too (eng_shadow_gl3e(); under EPT such a vCPU reads the PDPT per walk).
local w = d:vcpu{ cr3 = pae, mode = "pae" }
r = w:read(0x40001000)
expect(r.ok and r.value == 0x401)
expect_eq(r.refs, 2, "PDE and PTE (A set by now); no PDPT reference")
pae:set_entry(0x40000000, 3, (PD2 << 12) | PTE.P)
expect_eq(w:read(0x40001000).value, 0x401, "no TLBs, yet the copy: no re-read")
w:set{ cr3 = pae }
expect_eq(w:read(0x40001000).value, 0x411, "MOV CR3 copied the edited l3e")
pae:set_entry(0x40000000, 3, pdpte1)
w:set{ pge = true }
expect_eq(w:read(0x40001000).value, 0x401, "MOV CR4 (PGE) copied it again")
pae:set_entry(0x40000000, 3, (PD2 << 12) | PTE.P)
w:set{ wp = (w.cr0 & 0x10000) == 0 }
expect_eq(w:read(0x40001000).value, 0x401, "CR0.WP toggled: the old copy")
-- Leaving PAE paging and coming back copies them (the MOV CR0 that sets
-- PG enters PAE paging).
w:set{ pg = false }
w:set{ pg = true }
expect_eq(w:read(0x40001000).value, 0x411, "re-entering PAE paging copied them")
-- A reserved bit in a copied l3e: the walk through it is a #GP, as for
-- the registers; the copy is taken whatever the entry holds.
pae:set_entry(0x40000000, 3, (PD2 << 12) | PTE.P | PTE.W)
w:set{ cr3 = pae }
expect(w:read(0x40001000).gp, "reserved l3e bits: #GP at the walk")
pae:set_entry(0x40000000, 3, pdpte1)
expect(w:read(0x40001000).gp, "still the copy")
w:set{ cr3 = pae }
expect_eq(w:read(0x40001000).value, 0x401)
