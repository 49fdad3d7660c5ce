-- Supervisor-mode protections and protection keys (SDM Vol. 3A 4.6):
-- SMEP, SMAP with EFLAGS.AC and implicit supervisor accesses, PKRU (user
-- pages, CR4.PKE) and PKRS (supervisor pages, CR4.PKS), #PF bit 5 (PK).

local d = domain{ name = "prot", gfns = 0x200, ram = 0x100 }
local pt = d:pagetable{ root = 0x10 }
pt:map(0x1000, 0x40, "wu")            -- user page, key 0
pt:map(0x2000, 0x41, "w")             -- supervisor page, key 0
pt:map(0x3000, 0x42, "wu", 1, 5)      -- user page, key 5
pt:map(0x4000, 0x43, "w", 1, 9)       -- supervisor page, key 9
pt:map(0x400000, 0x0, "wu", 2, 5)     -- user 2 MiB page at gfn 0, key 5 (key of the leaf)
local v = d:vcpu{ cr3 = pt, cpl = 0 }

-- SMEP: supervisor fetch from a user page.
expect(v:exec(0x1000).ok)
v:set{ smep = true }
expect_eq(v:exec(0x1000).ec, PF.P | PF.ID, "SMEP")
expect(v:exec(0x2000).ok, "supervisor page: SMEP does not apply")
v:set{ cpl = 3 }
expect(v:exec(0x1000).ok, "user fetch of a user page")
v:set{ cpl = 0, nxe = false }
expect_eq(v:exec(0x1000).ec, PF.P | PF.ID, "I/D is reported with SMEP even when NXE=0")
v:set{ nxe = true, smep = false }

-- SMAP: supervisor data access to a user page, unless EFLAGS.AC=1.
v:set{ smap = true }
expect_eq(v:read(0x1000).ec, PF.P, "SMAP read")
expect_eq(v:write(0x1000, 1).ec, PF.P | PF.W, "SMAP write")
v:set{ ac = true }
expect(v:read(0x1000).ok, "EFLAGS.AC=1 lifts SMAP")
expect(v:write(0x1000, 2).ok)
expect(v:exec(0x1000).ok, "SMAP does not cover fetches")
-- Implicit supervisor accesses (e.g. a descriptor-table read) ignore AC,
-- even from CPL 3, and report U/S=0.
v:set{ implicit = true }
expect_eq(v:read(0x1000).ec, PF.P, "implicit access: AC does not help")
v:set{ cpl = 3 }
expect_eq(v:read(0x1000).ec, PF.P, "implicit access at CPL3 is supervisor")
expect(v:read(0x2000).ok, "implicit access at CPL3 may read supervisor pages")
v:set{ implicit = false }
expect_eq(v:read(0x2000).ec, PF.P | PF.U)
v:set{ cpl = 0, ac = false, smap = false }
expect(v:read(0x1000).ok)

-- PKRU: key k has AD at bit 2k and WD at bit 2k+1; only user pages, only
-- data accesses, only with CR4.PKE in IA-32e mode.
v:set{ pkru = 3 << 10 }                   -- key 5: AD|WD
expect(v:read(0x3000).ok, "PKRU ignored while CR4.PKE=0")
v:set{ pke = true }
expect_eq(v:read(0x3000).ec, PF.P | PF.PK, "AD denies supervisor reads of user pages")
v:set{ cpl = 3 }
expect_eq(v:read(0x3000).ec, PF.P | PF.U | PF.PK, "AD denies user reads")
expect(v:exec(0x3000).ok, "keys never apply to fetches")
expect(v:read(0x1000).ok, "key 0 has no rights cleared")
expect_eq(v:read(0x401000).ec, PF.P | PF.U | PF.PK, "the 2 MiB leaf's key")
v:set{ pkru = 2 << 10 }                   -- key 5: WD only
expect(v:read(0x3000).ok)
expect_eq(v:write(0x3000, 1).ec, PF.P | PF.W | PF.U | PF.PK, "WD: user write")
v:set{ cpl = 0, wp = false }
expect(v:write(0x3000, 1).ok, "WD: supervisor write with CR0.WP=0 allowed")
v:set{ wp = true }
expect_eq(v:write(0x3000, 1).ec, PF.P | PF.W | PF.PK, "WD: supervisor write with WP=1")
v:set{ pkru = 0xFFFFFFFF }
expect(v:write(0x4000, 1).ok, "PKRU never applies to supervisor pages")
-- PK is reported together with another protection fault.
v:set{ cpl = 3, pkru = 1 << 10 }
expect_eq(v:write(0x4000, 1).ec, PF.P | PF.W | PF.U, "no PK: key of a supervisor page")
pt:set_entry(0x3000, 1, pt:entry(0x3000, 1) & ~PTE.W)
expect_eq(v:write(0x3000, 1).ec, PF.P | PF.W | PF.U | PF.PK, "R/W and AD both deny")
v:set{ pkru = 0, pke = false, cpl = 0 }

-- PKRS: the same rules for supervisor pages, CR4.PKS.
v:set{ pks = true, pkrs = 1 << 18 }        -- key 9: AD
expect_eq(v:read(0x4000).ec, PF.P | PF.PK, "PKRS AD")
expect(v:read(0x2000).ok, "key 0 untouched")
expect(v:read(0x1000).ok, "PKRS never applies to user pages")
v:set{ pkrs = 2 << 18 }                    -- key 9: WD
expect(v:read(0x4000).ok)
expect_eq(v:write(0x4000, 1).ec, PF.P | PF.W | PF.PK, "PKRS WD, WP=1")
v:set{ wp = false }
expect(v:write(0x4000, 1).ok, "PKRS WD, WP=0: allowed")
v:set{ wp = true, pks = false, pkrs = 0 }

-- Keys need IA-32e mode: under PAE the same bits are reserved (62:52).
local pae = d:pagetable{ root = 0x30, pool = 0x31, pool_pages = 8, mode = "pae" }
pae:map(0x5000, 0x44, "wu")
pae:set_entry(0x5000, 1, pae:entry(0x5000, 1) | (5 << PTE.PKEY_SHIFT))
v:set{ cr3 = pae, mode = "pae", pke = true, pkru = 3 << 10 }
expect_eq(v:read(0x5000).ec, PF.P | PF.RSVD, "PAE: bits 62:52 reserved")
