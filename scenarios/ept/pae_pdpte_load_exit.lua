-- EPT violations while loading the PAE PDPTE registers (SDM Vol. 3C
-- 29.3.3.2: PDPTE loads use guest-physical addresses translated through
-- the EPT).  When the EPT does not let the load read a PDPTE, the MOV CR3
-- (or MOV CR0/CR4) is an EPT-violation VM exit whose qualification has
-- bit 0 (read) and bit 7 clear -- no guest-linear address (Table 28-7) --
-- not a #GP.  The hypervisor handles it as any violation
-- (hvm_hap_nested_page_fault() with the gla invalid): a fixed-up entry
-- (PoD populated, access restriction lifted) lets the guest re-execute the
-- MOV, which then loads; otherwise (no RAM: mmio_dm, a removed gfn) Xen's
-- emulation of the MOV ends in vmx_load_pdptrs() crashing the domain, and
-- the MOV does not complete.  The oracle predicts the exits and their
-- handling on its own (oracle_pae_load_mov()); kind, qualification and gpa
-- are compared (divergences mov_cr3.pdpte_exit[i].*, mov_cr.*).  Mutant
-- pae_exit_gla (qualification bit 7 set, as for a walk's read) is caught
-- here.

local d = domain{ name = "paeexit", gfns = 0x1000, ram = 0x800 }
for g = 0x400, 0x4ff do d:write_phys(g * 4096, g) end
local pae = d:pagetable{ root = 0x20, pool = 0x21, pool_pages = 16, mode = "pae" }
pae:map(0x40001000, 0x401, "wad")
local pdpt = {}
for i = 0, 3 do pdpt[i] = pae:entry(i << 30, 3) end
-- A copy of the PDPT at 'g' (32 bytes at offset 0).
local function copy_pdpt(g)
  for i = 0, 3 do d:write_phys(g * 4096 + 8 * i, pdpt[i]) end
end

local v = d:vcpu{ cr3 = pae, mode = "pae", tlb = "intel", vpid = 1 }
expect_eq(v:read(0x40001000).value, 0x401)
local cr3_good = v.cr3
local cycles = v.cycles

-- 1. The PDPT gfn is mmio_dm (not present in the EPT): an exit, then the
--    domain is crashed; CR3 keeps its value, the registers theirs.
local MM = 0x900
expect_eq(d:set_type(MM, "mmio_dm"), 0)
v:set{ cr3 = MM << 12 }
expect_eq(v.cr3, cr3_good, "MOV CR3 did not complete")
expect(v.cycles > cycles, "the VM exit was charged")
expect_eq(v:read(0x40001000).value, 0x401, "the old registers")

-- 2. A gfn with nothing in the P2M (removed RAM): the same.
local RM = 0x7f0
expect_eq(d:remove(RM), 0)
v:set{ cr3 = RM << 12 }
expect_eq(v.cr3, cr3_good, "no P2M entry: not loaded")

-- 3. Populate-on-demand: the violation populates the gfn from the PoD
--    cache (a zeroed page), the MOV is re-executed and loads four
--    not-present PDPTEs.
local POD = 0x7e0
expect_eq(d:remove(POD), 0)
expect_eq(d:populate_pod(POD), 0)
expect_eq(d:pod_target(2), 0)
local entries = d:pod().entries
v:set{ cr3 = POD << 12 }
expect_eq(v.cr3, POD << 12, "loaded after the PoD fix-up")
expect_eq(d:type(POD), "ram_rw", "populated by the load's violation")
expect_eq(d:pod().entries, entries - 1)
expect(v:read(0x40001000).pf, "the zeroed PDPT: PDPTE 1 not present")
copy_pdpt(POD)
expect(v:read(0x40001000).pf, "the registers, not memory")
v:set{ cr3 = POD << 12 }
expect_eq(v:read(0x40001000).value, 0x401, "reloaded from the copy")

-- 4. An access restriction (n) without a listener: Xen lifts it to the
--    default access and the guest re-executes the MOV.
local AC = 0x7d0
copy_pdpt(AC)
expect_eq(d:set_access(AC, "n"), 0)
v:set{ cr3 = AC << 12 }
expect_eq(v.cr3, AC << 12, "loaded after the restriction was lifted")
expect_eq(d:access(AC), "rwx")
expect_eq(v:read(0x40001000).value, 0x401)

-- The same with execute-only access: the qualification reports the EPT
-- permissions of the entry (bit 5, X) beside bit 0.
local XO = 0x7c0
copy_pdpt(XO)
expect_eq(d:set_access(XO, "x"), 0)
v:set{ cr3 = XO << 12 }
expect_eq(v.cr3, XO << 12, "loaded after the restriction was lifted")
expect_eq(d:access(XO), "rwx")
v:set{ cr3 = AC << 12 }

-- 5. MOV CR4 (PGE) reloading from a PDPT that became mmio_dm: exit,
--    crash, CR4 unchanged.
expect_eq(d:set_type(AC, "mmio_dm"), 0)
local cr4 = v.cr4
v:set{ pge = true }
expect_eq(v.cr4, cr4, "MOV CR4 did not complete")
expect_eq(v:read(0x40001000).value, 0x401, "the registers loaded before")
-- And the MOV CR0 entering PAE paging.
v:set{ mode = "none" }
v:set{ mode = "pae" }
expect_eq(v.mode, "none", "MOV CR0 (PG) did not complete")
v:set{ cr3 = cr3_good }
v:set{ mode = "pae" }
expect_eq(v.mode, "pae")
expect_eq(v:read(0x40001000).value, 0x401)

-- 6. A vCPU without TLBs keeps no registers: its MOV CR3 reads nothing
--    (the walk does, and exits there as a paging-structure read).
local w = d:vcpu{ cr3 = MM << 12, mode = "pae" }
expect_eq(w.cr3, MM << 12)

-- 7. A paged-out PDPT: the exit sends the pager a request and pauses the
--    vCPU; the MOV does not complete.  After the page-in (prep, resume)
--    the guest re-executes it and it loads.
local PG = 0x7b0
copy_pdpt(PG)
expect_eq(d:paging_enable(), 0)
local saved = d:page_contents(PG)
expect_eq(d:nominate(PG), 0)
expect_eq(d:evict(PG), 0)
local before = v.cr3
v:set{ cr3 = PG << 12 }
expect_eq(v.cr3, before, "paused: the MOV did not complete")
expect_eq(v:state(), "paused")
local req = d:get_request()
expect_eq(req.gfn, PG)
expect(req.paused)
expect_eq(d:prep(PG, saved), 0)
expect_eq(d:resume(req), 0)
v:set{ cr3 = PG << 12 }
expect_eq(v.cr3, PG << 12, "re-executed after the page-in")
expect_eq(v:read(0x40001000).value, 0x401)
