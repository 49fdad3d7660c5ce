/* SPDX-License-Identifier: MIT */
/*
 * sim/engine/fuzz.c - `pagesim fuzz`: random paging state transitions,
 * checked against the oracle, shrunk to a minimal Lua reproducer.
 *
 * A fuzz program is Lua text: a fixed prologue (two domains, their page
 * tables and vCPUs) and one operation per line, drawn with weights from a
 * generator seeded by (--seed, program number).  Programs run through the
 * same sandbox and engine as any scenario, so every step is checked by the
 * oracle, and a failing program *is* its own reproducer.
 *
 * On a divergence (or a scenario error, which means the generator or the
 * engine is wrong) the program is shrunk:
 *   1. everything after the line where the first divergence happened goes;
 *   2. delta debugging (ddmin) over the operation lines, keeping a
 *      candidate only if it still diverges with the same first field;
 *   3. each remaining line alone, left to right, is tried without.
 * Under --mutant, the shrunk program is run once more with the mutants off:
 * if it fails then too, the mutant is not what it found, and it goes to
 * OUT/baseline-SEED-N.lua and does not count as a finding of the mutant.
 * The result goes to OUT/finding-SEED-N.lua with a header saying how it was
 * found, and is recorded in the database as a run of that file.
 *
 * Same seed and --ops: same programs, same findings, same files.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fuzz.h"
#include "lapi.h"
#include "pagesim/mutant.h"

#define PROG_OPS_DEFAULT 120

/* The programs' host; run_inline() has the engine start with it, so that
 * no default-sized host (ENG_DEFAULT_FRAMES) is built and dropped per
 * program (a tenth of the fuzzer's CPU time). */
#define FUZZ_HOST_FRAMES 1024
#define FUZZ_STR_(x) #x
#define FUZZ_STR(x) FUZZ_STR_(x)

static const char prologue[] =
    "host{ frames = " FUZZ_STR(FUZZ_HOST_FRAMES) " }\n"
    "local doms, pts, vcpus, pagers, held = {}, {}, {}, {}, { {}, {} }\n"
    "local sizes, hows = {}, {}\n"
    "-- (re)creates domain i: n gfns (default 0x100); how = 'pml' (domain 2:\n"
    "-- log-dirty by PML, radix tree), 'ad' (EPT A/D flags on), 'npt' (AMD\n"
    "-- nested paging), 'shadow' (hap = 'none'), or 'pae' / '32' (the guest's\n"
    "-- page tables and vCPU in PAE or 32-bit paging, CR4.PSE on)\n"
    "local function fresh(i, n, how)\n"
    "  if doms[i] then\n"
    "    for _, m in ipairs(held[i]) do doms[i]:unmap_foreign(m) end\n"
    "    held[i] = {}\n"
    "    doms[i]:destroy()\n"
    "  end\n"
    "  sizes[i], hows[i] = n or 0x100, how\n"
    "  local legacy = (how == 'pae' or how == '32') and how or nil\n"
    "  -- domain 2 logs dirty pages in the pre-2007 flat bitmap\n"
    "  doms[i] = domain{ name = 'f' .. i, gfns = sizes[i], ram = 0x60,\n"
    "                    logdirty_mode = i == 2 and how ~= 'pml' and 'bitmap' or nil,\n"
    "                    dirty_tracking = how == 'pml' and 'pml' or nil,\n"
    "                    ept_ad = how == 'ad' or nil,\n"
    "                    hap = how == 'npt' and 'npt' or how == 'shadow' and 'none' or nil }\n"
    "  pts[i] = doms[i]:pagetable{ root = 0x10, pool = 0x11, pool_pages = 0x2f, mode = legacy }\n"
    "  -- domain 1's vCPU has the Intel profile's TLBs (PCIDs on), so the\n"
    "  -- invalidation operations have something to invalidate; domain 2's\n"
    "  -- walks on every access.  PAE / 32-bit: no PCIDs (CR4.PCIDE needs\n"
    "  -- IA-32e mode); the PAE vCPU with TLBs holds PDPTE registers that only\n"
    "  -- a MOV CR3 (or a paging-changing MOV CR4) reloads (SDM 4.4.1)\n"
    "  if legacy then\n"
    "    -- a writable large page (4 MiB in 32-bit paging, PSE; 2 MiB in PAE)\n"
    "    -- over gfn 0.., without A/D, for the large-page writes\n"
    "    pts[i]:map(0x40000000, 0, 'wu', 2)\n"
    "    vcpus[i] = doms[i]:vcpu{ cr3 = pts[i], mode = legacy, pse = true,\n"
    "                             tlb = i == 1 and 'intel' or nil }\n"
    "  elseif i == 1 then\n"
    "    vcpus[i] = doms[i]:vcpu{ cr3 = pts[i], tlb = 'intel', pcide = true, pcid = 1 }\n"
    "  else\n"
    "    vcpus[i] = doms[i]:vcpu{ cr3 = pts[i] }\n"
    "  end\n"
    "  doms[i]:paging_enable()\n"
    "  -- shadow mode's use case, live migration: log-dirty on from the start\n"
    "  if how == 'shadow' then doms[i]:logdirty_enable() end\n"
    "  pagers[i] = doms[i]:pager{ mru_size = 4 }\n"
    "end\n"
    "-- removal of a paged / paging_in gfn is a known upstream finding\n"
    "-- (scenarios/findings/); a foreign-mapped page is removed too (it\n"
    "-- lives on until the held reference goes)\n"
    "local function rm(i, g)\n"
    "  local t = doms[i]:type(g)\n"
    "  if t == 'ram_paged' or t == 'ram_paging_in' then return end\n"
    "  doms[i]:remove(g)\n"
    "end\n"
    "local function mmio(i, g) doms[i]:set_type(g, 'mmio_dm') end\n"
    FUZZ_LUA_PAGER_HELPERS
    "-- page-table edits go through the domain's RAM; with a table page paged\n"
    "-- out they cannot be made (the builder raises): skip them then\n"
    "local function map(i, ...) pcall(pts[i].map, pts[i], ...) end\n"
    "local function unmap(i, va) pcall(pts[i].unmap, pts[i], va) end\n"
    "local function rawpte(i, va, v)\n"
    "  local ok, e = pcall(pts[i].entry, pts[i], va, 1)\n"
    "  if ok and e then pcall(pts[i].set_entry, pts[i], va, 1, v) end\n"
    "end\n"
    "-- allocation failure injection scoped to one operation: every heap\n"
    "-- allocation for domain i fails while f runs (sim/heap.c fail_domains)\n"
    "local function starve(i, f)\n"
    "  fail_alloc{ domain = doms[i], on = true }\n"
    "  local ok, e = pcall(f)\n"
    "  fail_alloc{ domain = doms[i], on = false }\n"
    "  if not ok then error(e, 0) end\n"
    "end\n"
    "-- ring pressure: n hypervisor copies to nominated gfns from g on, each\n"
    "-- a populate request (until the ring is full), none consumed; then\n"
    "-- gfn t (a page-table page) is nominated, so that the vCPU's next walk\n"
    "-- needs a slot\n"
    "local function flood(i, g, n, t)\n"
    "  for x = g, g + n - 1 do\n"
    "    if doms[i]:nominate(x) == 0 then doms[i]:write_phys(x * 4096, x) end\n"
    "  end\n"
    "  if t then doms[i]:nominate(t) end\n"
    "end\n"
    "-- balloon out n gfns from g on (XENMEM_decrease_reservation)\n"
    "local function balloon_out(i, g, n)\n"
    "  for x = g, g + n - 1 do rm(i, x) end\n"
    "end\n"
    "-- a stale TLB entry on purpose (domain 1's vCPU): cache va's\n"
    "-- translation, remap va to gfn g without invalidating, then 'how' (an\n"
    "-- invalidation or a PCID switch), and read va again: the oracle allows\n"
    "-- the old translation only while nothing invalidated it\n"
    "local function stale(va, g, how, arg)\n"
    "  local v = vcpus[1]\n"
    "  -- va unmapped: mapped first (to gfn g ~ 1), so that there is a\n"
    "  -- translation to cache\n"
    "  local ok, e = pcall(pts[1].entry, pts[1], va, 1)\n"
    "  if not (ok and e and e & 1 == 1) then map(1, va, g ~ 1, 'w', 1, 0) end\n"
    "  v:read(va)\n"
    "  map(1, va, g, 'w', 1, 0)\n"
    "  if how == 1 then v:invlpg(va)\n"
    "  elseif how == 2 then v:invpcid(0, v.pcid, va)\n"
    "  elseif how == 3 then v:set{ cr3 = pts[1].cr3 | arg | (1 << 63) }\n"
    "  else v:invpcid(1, arg) end\n"
    "  v:read(va)\n"
    "end\n"
    "-- a stale paging-structure-cache entry on purpose (domain 1's vCPU):\n"
    "-- switch to PCID p without flush, read va (its PDE is cached for p),\n"
    "-- clear the PDE without invalidating, MOV CR3 to p with the flush (SDM\n"
    "-- 4.10.4.1: p's PSC entries go), and read the next page of the region:\n"
    "-- a full walk meets the cleared PDE; then the PDE is put back\n"
    "local function psc(va, p)\n"
    "  local v, pt = vcpus[1], pts[1]\n"
    "  local ok, pde = pcall(pt.entry, pt, va, 2)\n"
    "  if not ok or not pde or pde & 1 == 0 then return end\n"
    "  v:set{ cr3 = pt.cr3 | p | (1 << 63) }\n"
    "  v:read(va)\n"
    "  pcall(pt.set_entry, pt, va, 2, 0)\n"
    "  v:set{ cr3 = pt.cr3 | p }\n"
    "  v:read(va + 0x1000)\n"
    "  pcall(pt.set_entry, pt, va, 2, pde)\n"
    "end\n"
    "-- one gfn out and in again: nominate, evict, a hypervisor copy (the\n"
    "-- populate request), then the pager's answer: 0 prep without buffer\n"
    "-- and resume, 1 with a buffer, 2 the pager's own serve()\n"
    "local function roundtrip(i, g, how)\n"
    "  if doms[i]:nominate(g) ~= 0 then return end\n"
    "  doms[i]:evict(g)\n"
    "  doms[i]:read_phys(g * 4096)\n"
    "  if how == 2 then pagers[i]:serve() else page_in(i, how == 1 and 'x' or nil) end\n"
    "end\n"
    "-- the domain's last gfn populated and written: with 64k + 1 gfns its\n"
    "-- dirty bit is the flat bitmap's last (paging_alloc_log_dirty_bitmap())\n"
    "local function last(i)\n"
    "  local g = sizes[i] - 1\n"
    "  doms[i]:populate(g)\n"
    "  doms[i]:write_phys(g * 4096, g)\n"
    "end\n"
    "-- a third domain, made on first use, without vCPU: 2^24 + 0x100 gfns,\n"
    "-- two L3 entries of the log-dirty tree (2^24 pfns each), so that a\n"
    "-- preempted PEEK/CLEAN stops between them (paging_log_dirty_op());\n"
    "-- log-dirty on first, then gfns on both sides populated (marked dirty)\n"
    "-- a: 0 populate and write x, 1 preempted PEEK, 2 preempted CLEAN,\n"
    "-- 3 continue (preempted again), 4 continue, 5 log-dirty off/on, 6 is_dirty\n"
    "local function sparse()\n"
    "  if not doms[3] then\n"
    "    doms[3] = domain{ name = 'f3', gfns = 0x1000100, ram = 0x10 }\n"
    "    doms[3]:logdirty_enable()\n"
    "    for _, g in ipairs{ 0x20, 0x1000000, 0x10000ff } do doms[3]:populate(g) end\n"
    "  end\n"
    "  return doms[3]\n"
    "end\n"
    "local function big(a, x)\n"
    "  local d = sparse()\n"
    "  if a == 0 then d:populate(x); d:write_phys(x * 4096, x)\n"
    "  elseif a == 1 then d:peek_dirty{ preempt = true }\n"
    "  elseif a == 2 then d:clean_dirty{ preempt = true }\n"
    "  elseif a == 3 then d:continue_dirty_op{ preempt = true }\n"
    "  elseif a == 4 then d:continue_dirty_op()\n"
    "  elseif a == 5 then\n"
    "    if d:logdirty().enabled then d:logdirty_disable() else d:logdirty_enable() end\n"
    "  else d:is_dirty(x) end\n"
    "end\n"
    "-- a 2 MiB extent at gfn 0x200 of the sparse domain (ram_logdirty while\n"
    "-- its log-dirty is on), then a 4 KiB change inside it, which splits it\n"
    "-- (ept_split_super_page()): a: 0 populate, 1 set_access, 2\n"
    "-- set_mem_type ram_ro, 3 remove\n"
    "local function super(a, k)\n"
    "  local d, g = sparse(), 0x200 + k\n"
    "  if a == 0 then d:populate{ gfn = 0x200, order = 9 }\n"
    "  elseif a == 1 then d:set_access(g, 'rx')\n"
    "  elseif a == 2 then d:set_mem_type(g, 'ram_ro')\n"
    "  else d:remove(g) end\n"
    "end\n"
    "-- XEN_DMOP_map_mem_type_to_ioreq_server (once: -EBUSY after), then gfn\n"
    "-- g to type t\n"
    "local function ioreq(i, g, t)\n"
    "  doms[i]:map_ioreq_server(true)\n"
    "  doms[i]:set_mem_type(g, t)\n"
    "end\n"
    "-- not ram_shared: an unshare (remove, set_mem_type) whose P2M update\n"
    "-- fails is a BUG() in Xen (__mem_sharing_unshare_page()), so p2mfail()\n"
    "-- does not wrap those two around shared gfns\n"
    "local function unshared(i, g) return doms[i]:type(g) ~= 'ram_shared' end\n"
    "-- the nth P2M update of one operation fails (-ENOMEM), for the\n"
    "-- operations whose error paths the oracle follows; disarmed after it\n"
    "local function p2mfail(i, n, f)\n"
    "  doms[i]:fail_p2m_update(n)\n"
    "  local ok, e = pcall(f)\n"
    "  doms[i]:fail_p2m_update(0)\n"
    "  if not ok then error(e, 0) end\n"
    "end\n"
    "-- populate-on-demand: a: 0 cache target n, 1 a PoD entry at g, 2 a\n"
    "-- hypervisor copy to g (filled from the cache)\n"
    "local function pod(i, a, g, n)\n"
    "  if a == 0 then doms[i]:pod_target(n)\n"
    "  elseif a == 1 then doms[i]:populate_pod(g)\n"
    "  else doms[i]:write_phys(g * 4096, g) end\n"
    "end\n"
    "-- p2m_add_foreign() of domain 3 - i's RAM page at an empty gfn of i,\n"
    "-- then XENMEM_remove_from_physmap of it: the reference taken by the\n"
    "-- EPT write goes with the entry (held across a re-creation it would\n"
    "-- keep the other domain from being destroyed)\n"
    "local function addfor(i, g, fg)\n"
    "  if doms[i]:add_foreign(g, doms[3 - i], fg) == 0 then doms[i]:remove(g) end\n"
    "end\n"
    "-- memory sharing (mem_sharing.c) between gfn g of domain i (the source)\n"
    "-- and gfn cg of domain j (j may be i), both nominated: a: 0 share (the\n"
    "-- client's frame goes), 1 share and a hypervisor write to the source\n"
    "-- (a sharer that is not the last unshares by copying), 2 the source's\n"
    "-- frame added at j's cg, a hole, as one more sharer.  Not in domains\n"
    "-- with EPT A/D or PML (sharing_enable refuses them)\n"
    "local function share(i, g, j, cg, a)\n"
    "  for _, k in ipairs{ i, j } do\n"
    "    if hows[k] == 'ad' or hows[k] == 'pml' then return end\n"
    "  end\n"
    "  local d, c = doms[i], doms[j]\n"
    "  d:sharing_enable(); c:sharing_enable()\n"
    "  local h = d:share_nominate(g)\n"
    "  if not h then return end\n"
    "  if a == 2 then d:share_add_physmap(g, h, c, cg); return end\n"
    "  local ch = c:share_nominate(cg)\n"
    "  if ch and d:share(g, h, c, cg, ch) == 0 and a == 1 then d:write_phys(g * 4096, g) end\n"
    "end\n"
    "-- the mem_access listener (monitor ring): the oldest unread request\n"
    "-- answered with VM_EVENT_FLAG_VCPU_PAUSED (the vCPU re-executes), the\n"
    "-- listener first setting the gfn's access to acc if given\n"
    "local function answer(i, acc)\n"
    "  local r = doms[i]:monitor_get()\n"
    "  if r then doms[i]:monitor_respond(r, acc and { access = acc } or nil) end\n"
    "end\n"
    "-- n async mem_access events in a row (n2rwx: the vCPU is not paused\n"
    "-- for them): the listener attached if it is not, gfns g.. made n2rwx,\n"
    "-- mapped at 0x800000.. and read; none answered, the ring fills and the\n"
    "-- vCPU that takes the last free slots gets the black eye\n"
    "-- (vm_event_put_request())\n"
    "local function burst(i, g, n)\n"
    "  if not doms[i]:monitor().enabled then doms[i]:monitor_enable() end\n"
    "  for k = 0, n - 1 do\n"
    "    doms[i]:set_access(g + k, 'n2rwx')\n"
    "    map(i, 0x800000 + k * 0x1000, g + k, 'w', 1, 0)\n"
    "    vcpus[i]:read(0x800000 + k * 0x1000)\n"
    "  end\n"
    "end\n"
    "-- raw EPT entries and MBEC (SDM Vol. 3C 29.3.2, 29.3.3.1) in a fourth\n"
    "-- domain, made on first use and touched by nothing else: ept_set_raw\n"
    "-- refuses hypervisor operations on gfns under raw entries, which the\n"
    "-- other operations make.  Its vCPU has MBEC; 0x10000 maps gfn 0x40\n"
    "-- user-mode, 0x11000 gfn 0x41 supervisor-mode, 0x40000000 is a guest\n"
    "-- 2 MiB page over gfns 0x200..0x3ff (no RAM: only the raw leaf maps them)\n"
    "local function rawd()\n"
    "  if not doms[4] then\n"
    "    if heap().free < 0x80 then return end\n"
    "    local d = domain{ name = 'f4', gfns = 0x400, ram = 0x42 }\n"
    "    doms[4], pts[4] = d, d:pagetable{ root = 0x10, pool = 0x11, pool_pages = 8 }\n"
    "    pts[4]:map(0x10000, 0x40, 'wu')\n"
    "    pts[4]:map(0x11000, 0x41, 'w')\n"
    "    pts[4]:map(0x40000000, 0x200, 'w', 2)\n"
    "    vcpus[4] = d:vcpu{ cr3 = pts[4], mbec = true }\n"
    "  end\n"
    "  return doms[4], vcpus[4]\n"
    "end\n"
    "-- a: 0 a raw 2 MiB leaf for gpa 0x200000 (read + execute), host frames\n"
    "-- from (x & 1) * 2 MiB, address bits 20:12 = y (reserved when not 0:\n"
    "-- a misconfiguration), memory type z (2, 3, 7: a misconfiguration);\n"
    "-- then a read at 0x40000000 + (x >> 1) * 8.  a: 1 gfn 0x40 + (x & 1)'s\n"
    "-- leaf with X (y & 1) and XU (y & 2), XU added in the three entries\n"
    "-- above it (y & 4; the sim writes no XU bits), then a fetch from its\n"
    "-- page at CPL z: MBEC takes XU for a user-mode address, X otherwise\n"
    "local function rawept(a, x, y, z)\n"
    "  local d, v = rawd()\n"
    "  if not d then return end\n"
    "  if a == 0 then\n"
    "    d:ept_set_raw(0x200000, 2, (x & 1) * 0x200000 | y << 12 | EPTE.PS\n"
    "                  | z << EPTE.MT_SHIFT | EPTE.R | EPTE.X)\n"
    "    v:read(0x40000000 + (x >> 1) * 8)\n"
    "    return\n"
    "  end\n"
    "  local ga = (0x40 + (x & 1)) * 4096\n"
    "  local e = d:ept_get_raw(ga, 1) & ~(EPTE.X | EPTE.XU)\n"
    "  if y & 1 ~= 0 then e = e | EPTE.X end\n"
    "  if y & 2 ~= 0 then e = e | EPTE.XU end\n"
    "  d:ept_set_raw(ga, 1, e)\n"
    "  if y & 4 ~= 0 then\n"
    "    for l = 2, 4 do d:ept_set_raw(ga, l, d:ept_get_raw(ga, l) | EPTE.XU) end\n"
    "  end\n"
    "  v:set{ cpl = z }\n"
    "  v:exec(0x10000 + (x & 1) * 0x1000)\n"
    "end\n"
    "-- a PML log filled (SDM 29.3.6): a domain logging dirty pages by PML,\n"
    "-- made for the operation and destroyed after it (its frames back to\n"
    "-- the heap), log-dirty on, n writes to gfns 0x20.. through two guest\n"
    "-- 2 MiB pages, each a new EPT D flag and so a log entry: from about\n"
    "-- 508 (the walks dirty the page-table pages too) the 512-entry log is\n"
    "-- full and the next one is the log-full exit\n"
    "-- (vmx_vcpu_flush_pml_buffer()); then PEEK flushes the rest.  Skipped\n"
    "-- when the heap has no room for the domain (fragment_heap); so is rawd()\n"
    "local function pmlfill(n)\n"
    "  if heap().free < n + 0x60 then return end\n"
    "  local d = domain{ name = 'f5', gfns = 0x230, ram = 0x28 + n, dirty_tracking = 'pml' }\n"
    "  local pt = d:pagetable{ root = 0x10, pool = 0x11, pool_pages = 8 }\n"
    "  pt:map(0x40000000, 0, 'w', 2)\n"
    "  pt:map(0x40200000, 0x200, 'w', 2)\n"
    "  local v = d:vcpu{ cr3 = pt }\n"
    "  d:logdirty_enable()\n"
    "  for k = 0, n - 1 do v:write(0x40020000 + k * 0x1000 + 8, k) end\n"
    "  d:peek_dirty()\n"
    "  d:destroy()\n"
    "end\n"
    "-- AMD SVM invalidations (APM Vol. 2 15.16) in a sixth domain, made on\n"
    "-- first use and touched by nothing else: its vCPU has the AMD-like\n"
    "-- profile's TLBs, ASID 1, CR4.PGE; 0x1000.. map gfns 0x19.. (the odd\n"
    "-- ones global), 0x40000000 a 2 MiB page over gfns 0.. (RAM below\n"
    "-- 0x24: a small domain, as every full check decodes it)\n"
    "local function svmd()\n"
    "  if not doms[6] then\n"
    "    if heap().free < 0x80 then return end\n"
    "    local d = domain{ name = 'f6', gfns = 0x100, ram = 0x24 }\n"
    "    doms[6], pts[6] = d, d:pagetable{ root = 0x10, pool = 0x11, pool_pages = 8 }\n"
    "    for k = 0, 3 do pts[6]:map(0x1000 + k * 0x1000, 0x19 + k, k & 1 == 1 and 'wadg' or 'wad') end\n"
    "    pts[6]:map(0x40000000, 0, 'wad', 2)\n"
    "    -- PML4 slot 1 shares slot 0's PDPT (svm()'s page-walk-cache part)\n"
    "    pts[6]:set_entry(1 << 39, 4, pts[6]:entry(0, 4))\n"
    "    vcpus[6] = d:vcpu{ cr3 = pts[6], tlb = 'amd', vpid = 1, pge = true }\n"
    "  end\n"
    "  return doms[6], vcpus[6], pts[6]\n"
    "end\n"
    "-- a stale translation on purpose, then an SVM invalidation, then the\n"
    "-- access again: the oracle allows the old translation only while\n"
    "-- nothing invalidated it.  a: 0 page x (0..3) read, remapped to gfn\n"
    "-- 0x1d + y (global as before), TLB_CONTROL n at the next VMRUN; 1 the\n"
    "-- same with INVLPGA of the page in ASID n; 2 a write through the 2 MiB\n"
    "-- page (gfn 0x1a + x), the page made read-only, INVLPGA of page y of\n"
    "-- it in ASID n (any address inside a large page drops its entry),\n"
    "-- the write again (a #PF once invalidated), the page writable again\n"
    "local function svm(a, x, y, n)\n"
    "  local d, v, pt = svmd()\n"
    "  if not d then return end\n"
    "  if a == 2 then\n"
    "    local va = 0x40000000 + (0x1a + x) * 0x1000 + 8\n"
    "    v:write(va, y)\n"
    "    pt:map(0x40000000, 0, 'ad', 2)\n"
    "    v:invlpga(0x40000000 + y * 0x1000, n)\n"
    "    v:write(va, y)\n"
    "    pt:map(0x40000000, 0, 'wad', 2)\n"
    "    return\n"
    "  end\n"
    "  local va = 0x1000 + x * 0x1000\n"
    "  v:read(va)\n"
    "  pt:map(va, 0x1d + y, x & 1 == 1 and 'wadg' or 'wad')\n"
    "  if a == 0 then v:tlb_control(n) else v:invlpga(va, n) end\n"
    "  v:read(va)\n"
    "  -- the AMD page walk cache (keyed by entry address): 2^39 + va walks\n"
    "  -- through slot 1's PML4E and then the PDPTE and PDE va's walk cached;\n"
    "  -- the PDE cleared, INVLPG (every cached upper-level entry goes, APM\n"
    "  -- vol. 2 5.5.2) and 2^39 + va again: a #PF; the PDE put back\n"
    "  local hi = (1 << 39) + va\n"
    "  v:read(hi)\n"
    "  local pde = pt:entry(va, 2)\n"
    "  pt:set_entry(va, 2, 0)\n"
    "  v:invlpg(hi)\n"
    "  v:read(hi)\n"
    "  pt:set_entry(va, 2, pde)\n"
    "end\n"
    "-- PAE PDPTE loads (SDM Vol. 3A 4.4.1, Vol. 3C 29.3.3.2) in a seventh\n"
    "-- domain, made on first use and touched by nothing else: a PAE guest\n"
    "-- whose vCPU has TLBs and so PDPTE registers; 0x40001000 maps gfn 0x19\n"
    "-- (RAM below 0x24, small as svmd()'s)\n"
    "local function paed()\n"
    "  if not doms[7] then\n"
    "    if heap().free < 0x80 then return end\n"
    "    local d = domain{ name = 'f7', gfns = 0x100, ram = 0x24 }\n"
    "    doms[7] = d\n"
    "    pts[7] = d:pagetable{ root = 0x10, pool = 0x11, pool_pages = 8, mode = 'pae' }\n"
    "    pts[7]:map(0x40001000, 0x19, 'wad')\n"
    "    vcpus[7] = d:vcpu{ cr3 = pts[7], mode = 'pae', tlb = 'intel', vpid = 1 }\n"
    "  end\n"
    "  return doms[7], vcpus[7], pts[7]\n"
    "end\n"
    "-- the loading MOVs (m): 0 MOV CR3, 1 CR4.PGE, 2 CR4.SMEP, 3 CR0.CD\n"
    "-- toggled; 4 CR4.SMAP toggled (loads nothing)\n"
    "local function paemov(v, pt, m)\n"
    "  if m == 0 then v:set{ cr3 = pt.cr3 }\n"
    "  elseif m == 1 then v:set{ pge = v.cr4 & (1 << 7) == 0 }\n"
    "  elseif m == 2 then v:set{ smep = v.cr4 & (1 << 20) == 0 }\n"
    "  elseif m == 3 then v:set{ cr0 = v.cr0 ~ (1 << 30) }\n"
    "  else v:set{ smap = v.cr4 & (1 << 21) == 0 } end\n"
    "end\n"
    "-- a: 0 PDPTE 1 in memory given bit b (reserved in a PAE PDPTE: 1, 2,\n"
    "-- 5..8, 63; or 9, available) and P unless np, MOV m (a present PDPTE\n"
    "-- with a reserved bit makes a loading MOV #GP(0), nothing changes),\n"
    "-- a read through it, then the PDPTE put back and reloaded.  a: 1 MOV\n"
    "-- CR3 to a PDPT whose gfn the EPT does not let the load read (an EPT\n"
    "-- violation at the load, no guest-linear address): b 0 an mmio_dm\n"
    "-- gfn, 1 a gfn with no P2M entry, 2 a copy of the PDPT in RAM with\n"
    "-- access n (lifted, the MOV re-executed); then back to the real PDPT\n"
    "local function paecr(a, b, m, np)\n"
    "  local d, v, pt = paed()\n"
    "  if not d then return end\n"
    "  if a == 0 then\n"
    "    local old = pt:entry(0x40000000, 3)\n"
    "    pt:set_entry(0x40000000, 3, (old | (1 << b)) & ~(np and 1 or 0))\n"
    "    paemov(v, pt, m)\n"
    "    v:read(0x40001000)\n"
    "    pt:set_entry(0x40000000, 3, old)\n"
    "  elseif b == 0 then\n"
    "    d:set_type(0x80 + m, 'mmio_dm')\n"
    "    v:set{ cr3 = (0x80 + m) << 12 }\n"
    "  elseif b == 1 then\n"
    "    v:set{ cr3 = (0x90 + m) << 12 }\n"
    "  else\n"
    "    local g = 0x1a + m\n"
    "    for i = 0, 3 do d:write_phys(g * 4096 + 8 * i, pt:entry(i << 30, 3)) end\n"
    "    d:set_access(g, 'n')\n"
    "    v:set{ cr3 = g << 12 }\n"
    "  end\n"
    "  v:set{ cr3 = pt.cr3 }\n"
    "  v:read(0x40001000)\n"
    "end\n"
    "-- PAE guests under the other paging modes: a tenth domain, made for the\n"
    "-- operation and destroyed after it (while an NPT domain exists every\n"
    "-- state check decodes in full), h: 0 EPT A/D, 1 NPT, 2 shadow paging;\n"
    "-- its PAE vCPU has TLBs.  Under EPT the PDPTE registers (SDM 4.4.1),\n"
    "-- whose loads are reads for EPT A/D: A on the EPT entries used, never\n"
    "-- D (SDM Vol. 3C 29.3.5); under NPT no registers, each walk reads the\n"
    "-- PDPE (APM Vol. 2 15.25); under shadow paging Xen's copy of the l3es\n"
    "-- taken at the last CR3 update (sh_update_cr3()).  0x40001000 maps gfn\n"
    "-- 0x19; a second directory at gfn 0x18 (its table at 0x17) maps it to\n"
    "-- gfn 0x1a.  PDPTE 1 pointed there without a load, INVLPG and a read\n"
    "-- (only NPT sees the edit), then paemov()'s MOV m (a loading one makes\n"
    "-- every mode see it: the vCPU's creation and MOV CR3 under A/D set the\n"
    "-- PDPT leaf's A only), INVLPG and the read again\n"
    "local function paehap(h, m)\n"
    "  if heap().free < 0x40 then return end\n"
    "  local d = domain{ name = 'f10', gfns = 0x100, ram = 0x1c, ept_ad = h == 0 or nil,\n"
    "                    hap = h == 1 and 'npt' or h == 2 and 'none' or nil }\n"
    "  local pt = d:pagetable{ root = 0x10, pool = 0x11, pool_pages = 4, mode = 'pae' }\n"
    "  pt:map(0x40001000, 0x19, 'wad')\n"
    "  d:write_phys(0x18 * 4096, 0x17 << 12 | PTE.P | PTE.W | PTE.A)\n"
    "  d:write_phys(0x17 * 4096 + 8, 0x1a << 12 | PTE.P | PTE.W | PTE.A | PTE.D)\n"
    "  local v = d:vcpu{ cr3 = pt, mode = 'pae', tlb = h == 1 and 'amd' or 'intel', vpid = 1 }\n"
    "  v:read(0x40001000)\n"
    "  pt:set_entry(0x40000000, 3, 0x18 << 12 | PTE.P)\n"
    "  v:invlpg(0x40001000)\n"
    "  v:read(0x40001000)\n"
    "  paemov(v, pt, m)\n"
    "  v:invlpg(0x40001000)\n"
    "  v:read(0x40001000)\n"
    "  d:destroy()\n"
    "end\n"
    "-- a guest store into its own EPT (the oracle-check change tracking:\n"
    "-- scenarios/ept/leaf_added_by_guest.lua, table_write_by_guest_ad.lua):\n"
    "-- an eighth domain with EPT A/D flags, made by the first such operation\n"
    "-- of a program (later ones do nothing), whose raw leaf at gfn 0x500 maps,\n"
    "-- as mmio_direct, the level-1 EPT table it is in (gfns 0x400..0x5ff; no\n"
    "-- other domain has gfns there); the vCPU (paging off) reads through it,\n"
    "-- stores an mmio_direct leaf into the empty entry of gfn 0x420 + k\n"
    "-- behind the hypervisor's back (the walk first sets the raw leaf's dirty\n"
    "-- flag, table line 32, then the store writes line 4-7: two writes to the\n"
    "-- table in one step), and clears it\n"
    "-- again.  Only the per-domain half of the state checks sees that P2M\n"
    "-- change, in the step of the store: the divergence is declared\n"
    "-- expected (gfn 0x420 + k of any domain: the id is not the same after\n"
    "-- shrinking).  A check that misses the change (a lost change-log mark,\n"
    "-- dropped gfns) sees nothing once the entry is clear: the expected\n"
    "-- divergence does not occur\n"
    "local function guestept(k)\n"
    "  if doms[8] or heap().free < 0x40 then return end\n"
    "  local d = domain{ name = 'f8', gfns = 0x800, ram = 0x10, ept_ad = true }\n"
    "  doms[8] = d\n"
    "  d:populate(0x400)\n"
    "  local l1 = (d:ept_get_raw(0x400000, 2) >> 12) & 0xffffffffff\n"
    "  local dev = (l1 << 12) | 7 | (5 << 52) | (1 << 6)\n"
    "  d:ept_set_raw(0x500000, 1, dev)\n"
    "  local v = d:vcpu{ mode = 'none' }\n"
    "  expect_divergence(string.format('d*.p2m?%#x?.*', 0x420 + k),\n"
    "                    'the fuzz guest mapped a gfn itself')\n"
    "  v:read(0x500000 + 8 * (0x20 + k))\n"
    "  v:write(0x500000 + 8 * (0x20 + k), dev)\n"
    "  v:write(0x500000 + 8 * (0x20 + k), 0)\n"
    "end\n"
    "-- an NPT probe in a ninth domain, made for the operation and\n"
    "-- destroyed after it, as small as it can be (while an NPT domain\n"
    "-- exists every state check decodes in full): NPT, its vCPU the AMD\n"
    "-- profile's (ASID 1, the NPT paging-structure cache: nested PML4E/\n"
    "-- PDPTE/PDE cached by ASID, APM Vol. 2 15.16); guest tables in gfns\n"
    "-- 0..3 (under nested PDE 0), 0x400000.. map gfns 0x200..0x203 (under\n"
    "-- nested PDE 1).  a 0-2: a stale nested PDE on purpose: nested PDE 1\n"
    "-- written back raw (the oracle walks the nested tables itself), page\n"
    "-- w written (the walk caches the PDE), its R/W (or, u, its U) cleared\n"
    "-- without the hypervisor's flush (npt_set_raw(..., false)), then a: 0\n"
    "-- INVLPGA of page p in ASID n (1 drops the ASID's nested entries, 2\n"
    "-- not), 1 TLB_CONTROL n at the next VMRUN (0 nothing; 1, 3, 7 drop\n"
    "-- them), 2 the flush after all; then a write (a read if u) of page p:\n"
    "-- through the cached PDE only while nothing dropped it, else an #NPF\n"
    "-- (the domain crashed).  a 3: page w written, log-dirty on, page p\n"
    "-- written: a log-dirty #NPF, which the handler has to see as a write\n"
    "-- (EXITINFO1.W) to fix.  Skipped when the heap has no room\n"
    "local function nptp(a, w, p, n, u)\n"
    "  if heap().free < 0x40 then return end\n"
    "  local d = domain{ name = 'f9', gfns = 0x400, ram = 4, hap = 'npt' }\n"
    "  local pt = d:pagetable{ root = 0, pool = 1, pool_pages = 3 }\n"
    "  for k = 0, 3 do\n"
    "    d:populate(0x200 + k)\n"
    "    pt:map(0x400000 + k * 0x1000, 0x200 + k, 'wad')\n"
    "  end\n"
    "  local v = d:vcpu{ cr3 = pt, tlb = 'amd', vpid = 1 }\n"
    "  local wa, pa = 0x400000 + w * 0x1000, 0x400000 + p * 0x1000\n"
    "  if a == 3 then\n"
    "    v:write(wa, w)\n"
    "    d:logdirty_enable()\n"
    "    v:write(pa + 8, p)\n"
    "  else\n"
    "    local e = d:npt_get_raw(0x200000, 2)\n"
    "    d:npt_set_raw(0x200000, 2, e)\n"
    "    v:write(wa, w)\n"
    "    d:npt_set_raw(0x200000, 2, e & ~(u and 4 or 2), a == 2)\n"
    "    if a == 0 then v:invlpga(pa, n)\n"
    "    elseif a == 1 then v:tlb_control(n) end\n"
    "    if u then v:read(pa) else v:write(pa, p) end\n"
    "  end\n"
    "  d:destroy()\n"
    "end\n"
    "-- an EPT paging-structure-cache probe (SDM Vol. 3C 29.4: cached EPT\n"
    "-- PML4Es/PDPTEs/PDEs, guest-physical mappings tagged by the EPTP, hold\n"
    "-- the rights ANDed down to them): an eleventh domain, made for the\n"
    "-- operation and destroyed after it, its vCPU with the Intel profile's\n"
    "-- TLBs (VPID 1); guest tables in gfns 0..3 (under EPT PDE 0),\n"
    "-- 0x400000.. map gfns 0x200..0x203 (under EPT PDE 1).  a 0-3: a stale\n"
    "-- EPT PDE on purpose: EPT PDE 1 written back raw (the oracle walks the\n"
    "-- EPT itself), page w written (the walk caches the EPT PDE), its W (u:\n"
    "-- R and W) cleared without the hypervisor's flush (ept_set_raw(...,\n"
    "-- false)), then a: 0 INVEPT single-context (n 1: of the vCPU's EPTP;\n"
    "-- 2: of domain 2's, if it has an EPT: the entry stays), 1 INVEPT\n"
    "-- all-context, 2 INVVPID type n (linear and combined mappings only: the\n"
    "-- entry stays), 3 the flush after all; then a write (a read if u) of\n"
    "-- page p: through the stale EPT PDE only while nothing dropped it, else\n"
    "-- an EPT violation the hypervisor cannot fix (the domain crashed).  a\n"
    "-- 4: the EPT PDPTE made read-only (flushed), page w read (its walk\n"
    "-- caches the EPT PDE read-only), page p written: a violation, whether\n"
    "-- the walk starts from the cached PDE or not\n"
    "local function eptp(a, w, p, n, u)\n"
    "  if heap().free < 0x40 then return end\n"
    "  local d = domain{ name = 'f11', gfns = 0x400, ram = 4 }\n"
    "  local pt = d:pagetable{ root = 0, pool = 1, pool_pages = 3 }\n"
    "  for k = 0, 3 do\n"
    "    d:populate(0x200 + k)\n"
    "    pt:map(0x400000 + k * 0x1000, 0x200 + k, 'wad')\n"
    "  end\n"
    "  local v = d:vcpu{ cr3 = pt, tlb = 'intel', vpid = 1 }\n"
    "  local wa, pa = 0x400000 + w * 0x1000, 0x400000 + p * 0x1000\n"
    "  if a == 4 then\n"
    "    v:write(wa, w)\n"
    "    d:ept_set_raw(0x200000, 3, d:ept_get_raw(0x200000, 3) & ~EPTE.W)\n"
    "    v:read(wa)\n"
    "    v:write(pa, p)\n"
    "  else\n"
    "    local e = d:ept_get_raw(0x200000, 2)\n"
    "    d:ept_set_raw(0x200000, 2, e)\n"
    "    v:write(wa, w)\n"
    "    d:ept_set_raw(0x200000, 2, e & ~(u and EPTE.R | EPTE.W or EPTE.W), a == 3)\n"
    "    if a == 0 then\n"
    "      local o = hows[2] ~= 'npt' and hows[2] ~= 'shadow' and n == 2 and doms[2] or nil\n"
    "      v:invept(1, o)\n"
    "    elseif a == 1 then v:invept(2)\n"
    "    elseif a == 2 then v:invvpid(n, pa) end\n"
    "    if u then v:read(pa) else v:write(pa, p) end\n"
    "  end\n"
    "  d:destroy()\n"
    "end\n"
    "-- set_type / set_mmio over a dirty gfn that has no frame (seed 001:\n"
    "-- Xen's set_typed_p2m_entry() marks every RAM gfn it replaces clean,\n"
    "-- paging_mark_pfn_clean(), whether or not a frame backs it;\n"
    "-- scenarios/fuzz-found/set_type_paged_dirty.lua): a twelfth domain,\n"
    "-- made for the operation and destroyed after it, log-dirty on (f: the\n"
    "-- flat bitmap, else the radix tree), gfn 0x10 populated (marked dirty)\n"
    "-- and paged out; m 1: a hypervisor read then leaves it ram_paging_in\n"
    "-- (a request on the ring, no frame yet); s 0 set_type mmio_dm, 1\n"
    "-- set_mmio of a device frame\n"
    "local function typedpg(m, s, f)\n"
    "  if heap().free < 0x40 then return end\n"
    "  local d = domain{ name = 'f12', gfns = 0x20, ram = 8,\n"
    "                    logdirty_mode = f and 'bitmap' or nil }\n"
    "  d:paging_enable()\n"
    "  d:logdirty_enable()\n"
    "  d:populate(0x10)\n"
    "  if d:nominate(0x10) == 0 and d:evict(0x10) == 0 then\n"
    "    if m == 1 then d:read_phys(0x10000) end\n"
    "    if s == 0 then d:set_type(0x10, 'mmio_dm') else d:set_mmio(0x10, 0x400) end\n"
    "  end\n"
    "  d:destroy()\n"
    "end\n"
    "-- a log-dirty tree allocation that fails (paging_mark_pfn_dirty():\n"
    "-- the mark is lost, failed_allocs counted): log-dirty of domain i on\n"
    "-- afresh (an empty tree), its first mark made while the domain's\n"
    "-- allocations fail (a: 0 a hypervisor copy to gfn g, 1 a populate of\n"
    "-- g, 2 a guest write at va), then the operation that has to report it\n"
    "-- (paging_log_dirty_op(): -ENOMEM): p 0 PEEK, 1 CLEAN, 2 a preempted\n"
    "-- PEEK, 3 a preempted CLEAN\n"
    "local function ldfail(i, a, g, va, p)\n"
    "  local d = doms[i]\n"
    "  if d:logdirty().enabled then d:logdirty_disable() end\n"
    "  d:logdirty_enable()\n"
    "  starve(i, function()\n"
    "    if a == 0 then d:write_phys(g * 4096, g)\n"
    "    elseif a == 1 then d:populate(g)\n"
    "    else vcpus[i]:write(va, g) end\n"
    "  end)\n"
    "  if p == 0 then d:peek_dirty() elseif p == 1 then d:clean_dirty()\n"
    "  else d[p == 2 and 'peek_dirty' or 'clean_dirty'](d, { preempt = true }) end\n"
    "end\n"
    "-- an access-rights probe (SDM 4.6): va mapped to gfn g as a user page\n"
    "-- (flags f) with protection key k; the vCPU at CPL cpl with CR0.WP wp,\n"
    "-- CR4.SMAP smap, EFLAGS.AC ac, CR4.PKE on and PKRU pk; then a read\n"
    "-- (acc 0), a write (1) or a fetch (2) of va\n"
    "local function rights(i, va, g, f, k, pk, cpl, wp, smap, ac, acc)\n"
    "  map(i, va, g, f, 1, k)\n"
    "  local v = vcpus[i]\n"
    "  v:set{ cpl = cpl, wp = wp, smap = smap, ac = ac, pke = true, pkru = pk }\n"
    "  if acc == 1 then v:write(va, g) elseif acc == 2 then v:exec(va) else v:read(va) end\n"
    "end\n"
    "fresh(1)\n"
    "fresh(2)\n";

/* Lines of the prologue: a program's operation k is on scenario line
 * prologue_lines() + k + 1. */
static unsigned prologue_lines(void)
{
    unsigned n = 0;
    for (const char *c = prologue; *c; c++)
        n += *c == '\n';
    return n;
}

struct prog {
    char **line;
    size_t n, cap;
};

static void prog_free(struct prog *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->line[i]);
    free(p->line);
    memset(p, 0, sizeof(*p));
}

static void prog_add(struct prog *p, const char *fmt, ...)
{
    if (p->n == p->cap) {
        p->cap = p->cap ? 2 * p->cap : 64;
        p->line = realloc(p->line, p->cap * sizeof(*p->line));
        if (!p->line)
            abort();
    }
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (!(p->line[p->n++] = strdup(buf)))
        abort();
}

/* The program as text: prologue + the lines selected by keep (NULL: all). */
static char *prog_text(const struct prog *p, const bool *keep)
{
    size_t len = sizeof(prologue);
    for (size_t i = 0; i < p->n; i++)
        len += strlen(p->line[i]) + 32;
    char *t = malloc(len), *o = t;
    if (!t)
        abort();
    o += sprintf(o, "%s", prologue);
    for (size_t i = 0; i < p->n; i++)
        if (!keep || keep[i])
            o += sprintf(o, "%s\n", p->line[i]);
    return t;
}

/* ---- generation ------------------------------------------------------------------ */

/* Where the generator's choices come from: the seeded generator, or (for
 * the libFuzzer entry point) the fuzzer's input bytes, two per choice. */
struct entropy {
    uint64_t x;
    const uint8_t *b;
    size_t n, i;
    bool bytes, exhausted;
};

static uint64_t mix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t mix(struct entropy *x)
{
    if (!x->bytes)
        return mix64(&x->x);
    uint64_t v = 0;
    for (int k = 0; k < 2; k++) {
        if (x->i >= x->n) {
            x->exhausted = true;
            break;
        }
        v = v << 8 | x->b[x->i++];
    }
    return v * 0x9e3779b97f4a7c15ULL >> 16 ^ v; /* spread over the range */
}

static unsigned pick(struct entropy *x, unsigned n) { return (unsigned)(mix(x) % n); }

/* Operation kinds with their weights (out of the total). */
enum { OP_MAP, OP_UNMAP, OP_POPULATE, OP_REMOVE, OP_MMIO, OP_LD_TOGGLE,
       OP_PEEK, OP_CLEAN, OP_CPU, OP_READ, OP_WRITE, OP_EXEC, OP_WPHYS,
       OP_FRESH, OP_LMAP, OP_LREAD, OP_RAWPTE, OP_NOMINATE, OP_EVICT,
       OP_PAGER_EVICT, OP_PAGER_SERVE, OP_PAGE_IN, OP_FMAP, OP_FUNMAP,
       OP_INVLPG, OP_MOVCR3, OP_INVPCID, OP_INVVPID, OP_INVEPT, OP_BALLOON_IN,
       OP_BALLOON_OUT, OP_STARVE, OP_FLOOD, OP_STALE, OP_ROUNDTRIP,
       OP_MEMTYPE, OP_PREEMPT, OP_CONTINUE, OP_IS_DIRTY, OP_LAST, OP_BIG,
       OP_FRAGMENT, OP_ACCESS, OP_SUPER, OP_P2MFAIL, OP_FOREIGN, OP_POD, OP_IOREQ,
       OP_MMIO_DIRECT, OP_SHARE, OP_MONITOR, OP_LWRITE, OP_RAWEPT, OP_PMLFILL,
       OP_SVM, OP_PAECR, OP_GUESTEPT, OP_NPTP, OP_LDFAIL, OP_RIGHTS,
       OP_PAEHAP, OP_EPTP, OP_TYPEDPG, OP_NKINDS };
_Static_assert(OP_NKINDS == FUZZ_NKINDS, "fuzz.h FUZZ_NKINDS");
static const unsigned weight[OP_NKINDS] = {
    [OP_MAP] = 10, [OP_UNMAP] = 3, [OP_POPULATE] = 5, [OP_REMOVE] = 5,
    [OP_MMIO] = 2, [OP_LD_TOGGLE] = 3, [OP_PEEK] = 3, [OP_CLEAN] = 3,
    [OP_CPU] = 4, [OP_READ] = 12, [OP_WRITE] = 12, [OP_EXEC] = 4,
    [OP_WPHYS] = 3, [OP_FRESH] = 2, [OP_LMAP] = 3, [OP_LREAD] = 5,
    [OP_RAWPTE] = 3, [OP_NOMINATE] = 3, [OP_EVICT] = 2, [OP_PAGER_EVICT] = 3,
    [OP_PAGER_SERVE] = 3, [OP_PAGE_IN] = 2, [OP_FMAP] = 2, [OP_FUNMAP] = 2,
    [OP_INVLPG] = 5, [OP_MOVCR3] = 5, [OP_INVPCID] = 2, [OP_INVVPID] = 1,
    [OP_INVEPT] = 1, [OP_BALLOON_IN] = 2, [OP_BALLOON_OUT] = 2, [OP_STARVE] = 3,
    [OP_FLOOD] = 1, [OP_STALE] = 6, [OP_ROUNDTRIP] = 3, [OP_MEMTYPE] = 2,
    [OP_PREEMPT] = 2, [OP_CONTINUE] = 2, [OP_IS_DIRTY] = 2, [OP_LAST] = 2,
    [OP_BIG] = 2, [OP_FRAGMENT] = 1, [OP_ACCESS] = 3, [OP_SUPER] = 3,
    [OP_P2MFAIL] = 2, [OP_FOREIGN] = 2, [OP_POD] = 3, [OP_IOREQ] = 2,
    [OP_MMIO_DIRECT] = 2, [OP_SHARE] = 3, [OP_MONITOR] = 3, [OP_LWRITE] = 3,
    [OP_RAWEPT] = 2, [OP_PMLFILL] = 1, [OP_SVM] = 2, [OP_PAECR] = 2,
    [OP_GUESTEPT] = 1, [OP_NPTP] = 1, [OP_LDFAIL] = 1, [OP_RIGHTS] = 2,
    [OP_PAEHAP] = 1, [OP_EPTP] = 1, [OP_TYPEDPG] = 1,
};
const char *const fuzz_op_names[FUZZ_NKINDS] = {
    "map", "unmap", "populate", "remove", "set_type", "logdirty_toggle",
    "peek", "clean", "cpu_mode", "read", "write", "exec", "write_phys", "fresh",
    "map_2m", "read_2m", "raw_pte", "nominate", "evict", "pager_evict",
    "pager_serve", "page_in", "map_foreign", "unmap_foreign", "invlpg", "mov_cr3",
    "invpcid", "invvpid", "invept", "balloon_in", "balloon_out", "starve", "flood",
    "stale_tlb", "page_roundtrip", "set_mem_type", "preempted_op", "continue_op",
    "is_dirty", "last_gfn", "sparse_domain", "fragment_heap", "set_access",
    "superpage", "fail_p2m_update", "add_foreign", "pod", "ioreq_server",
    "mmio_direct", "share", "monitor", "write_2m", "raw_ept", "pml_fill",
    "svm_invalidation", "pae_pdpte_load", "guest_ept_write", "npt_probe",
    "logdirty_alloc_fail", "rights_probe", "pae_hap_probe", "ept_psc_probe",
    "typed_paged_probe",
};

static void gen_ops(struct prog *p, struct entropy *x, unsigned nops,
                    uint64_t counts[OP_NKINDS]);

/* The weights gen_ops() draws with: the static table, or fuzz_run()'s
 * feedback-adjusted copy (see "coverage feedback" below). */
static const unsigned *cur_weight = weight;

static void gen_prog(struct prog *p, uint64_t seed, uint64_t n, unsigned nops,
                     uint64_t counts[OP_NKINDS])
{
    struct entropy e = { .x = seed * 0x100000001b3ULL ^ (n + 1) * 0x9e3779b97f4a7c15ULL };
    gen_ops(p, &e, nops, counts);
}

char *fuzz_program(uint64_t seed, uint64_t n, unsigned nops)
{
    struct prog p = { 0 };
    uint64_t counts[OP_NKINDS] = { 0 };
    gen_prog(&p, seed, n, nops ? nops : PROG_OPS_DEFAULT, counts);
    char *t = prog_text(&p, NULL);
    prog_free(&p);
    return t;
}

char *fuzz_program_from_bytes(const uint8_t *data, size_t size, unsigned max_ops)
{
    struct prog p = { 0 };
    struct entropy e = { .b = data, .n = size, .bytes = true };
    uint64_t counts[OP_NKINDS] = { 0 };
    gen_ops(&p, &e, max_ops, counts);
    char *t = prog_text(&p, NULL);
    prog_free(&p);
    return t;
}

static void gen_ops(struct prog *p, struct entropy *xe, unsigned nops,
                    uint64_t counts[OP_NKINDS])
{
    static const char *const flags[] = { "", "w", "u", "wu", "wun", "un", "wa", "wud" };
    const unsigned *wt = cur_weight;
    unsigned total = 0;
    for (unsigned k = 0; k < OP_NKINDS; k++)
        total += wt[k];
    for (unsigned i = 0; i < nops && !xe->exhausted; i++) {
        unsigned w = pick(xe, total), k = 0;
        while (w >= wt[k])
            w -= wt[k++];
        counts[k]++;
        unsigned d = 1 + pick(xe, 2);
        uint64_t va = 0x400000 + 0x1000ULL * pick(xe, 16);
        /* data gfns, one time in eight the last ones (the flat bitmap's
         * end, bitmap_size = 0x100) */
        uint64_t g = pick(xe, 8) ? 0x40 + pick(xe, 0x40) : 0xf8 + pick(xe, 8);
        switch (k) {
        case OP_MAP:
            prog_add(p, "map(%u, %#" PRIx64 ", %#" PRIx64 ", '%s', 1, %u)", d, va,
                     (uint64_t)(0x40 + pick(xe, 0x30)), flags[pick(xe, 8)], pick(xe, 4));
            break;
        case OP_UNMAP: prog_add(p, "unmap(%u, %#" PRIx64 ")", d, va); break;
        case OP_POPULATE: prog_add(p, "doms[%u]:populate(%#" PRIx64 ")", d, g); break;
        case OP_REMOVE: prog_add(p, "rm(%u, %#" PRIx64 ")", d, g); break;
        case OP_MMIO: prog_add(p, "mmio(%u, %#" PRIx64 ")", d, g); break;
        case OP_LD_TOGGLE:
            prog_add(p, "if doms[%u]:logdirty().enabled then doms[%u]:logdirty_disable() "
                        "else doms[%u]:logdirty_enable() end", d, d, d);
            break;
        case OP_PEEK: prog_add(p, "doms[%u]:peek_dirty()", d); break;
        case OP_CLEAN: prog_add(p, "doms[%u]:clean_dirty()", d); break;
        case OP_CPU: {
            /* PKRU: all keys open, all write-disabled, all access-disabled,
             * or random; 2 bits per key (AD, WD), SDM 4.6.2. */
            static const uint32_t pkru[] = { 0, 0xaaaaaaaa, 0x55555555, 0 };
            uint32_t pk = pkru[pick(xe, 4)];
            if (!pk && pick(xe, 2))
                pk = (uint32_t)mix(xe);
            prog_add(p, "vcpus[%u]:set{ cpl = %u, wp = %s, nxe = %s, smep = %s, smap = %s, "
                        "ac = %s, pke = %s, pkru = %#x }", d, 3 * pick(xe, 2),
                     pick(xe, 2) ? "true" : "false", pick(xe, 2) ? "true" : "false",
                     pick(xe, 4) ? "false" : "true", pick(xe, 3) ? "false" : "true",
                     pick(xe, 2) ? "true" : "false", pick(xe, 3) ? "false" : "true", pk);
            break;
        }
        case OP_LMAP:
            /* 2 MiB pages over gfns 0..0x1ff: RAM (page tables included,
             * so the large region is only read) and, above the domain's
             * 0x100 gfns, holes that exit to MMIO. */
            prog_add(p, "map(%u, %#" PRIx64 ", 0, '%s', 2, %u)", d,
                     (uint64_t)0x40000000 + 0x200000ULL * pick(xe, 4),
                     flags[pick(xe, 8)], pick(xe, 4));
            break;
        case OP_LREAD:
            prog_add(p, "vcpus[%u]:%s(%#" PRIx64 ")", d, pick(xe, 4) ? "read" : "exec",
                     (uint64_t)0x40000000 + 0x200000ULL * pick(xe, 4) + 8 * pick(xe, 0x40000));
            break;
        case OP_RAWPTE: {
            /* A leaf pointing at data RAM with one random bit 40..63 set:
             * reserved above MAXPHYADDR, NX, or software-available. */
            uint64_t raw = (g << 12) | 0x7 | (1ULL << (40 + pick(xe, 24)));
            prog_add(p, "rawpte(%u, %#" PRIx64 ", %#" PRIx64 ")", d, va, raw);
            break;
        }
        case OP_READ:
            prog_add(p, "vcpus[%u]:read(%#" PRIx64 ")", d, va + 8 * pick(xe, 512));
            break;
        case OP_WRITE:
            prog_add(p, "vcpus[%u]:write(%#" PRIx64 ", %u)", d, va + 8 * pick(xe, 512), i + 1);
            break;
        case OP_EXEC: prog_add(p, "vcpus[%u]:exec(%#" PRIx64 ")", d, va); break;
        case OP_WPHYS:
            prog_add(p, "doms[%u]:write_phys(%#" PRIx64 ", %u)", d,
                     (g << 12) + 8 * pick(xe, 512), i + 1);
            break;
        case OP_FRESH:
            /* Half the time a variant: domain 2 with 0x101 or 0x141 gfns
             * (64k + 1: the flat bitmap's size rounds up to the next 64
             * bits only with Xen's "+ BITS_PER_LONG", seed 1/03) or with
             * log-dirty by PML; domain 1 with EPT A/D flags; either with
             * NPT (p2m-pt, #NPF), shadow paging (hap = "none"), or the
             * guest in PAE or 32-bit paging (domain 1's vCPU keeps its TLBs
             * and so PAE's PDPTE registers). */
            static const char *const how[] = { "npt", "shadow", "pae", "32" };
            switch (pick(xe, 2) ? 0 : 1 + pick(xe, 7)) {
            case 0: prog_add(p, "fresh(%u)", d); break;
            case 1: prog_add(p, "fresh(%u, nil, '%s')", d, d == 2 ? "pml" : "ad"); break;
            case 2:
            case 3: prog_add(p, "fresh(%u, %#x)", d, pick(xe, 2) ? 0x101 : 0x141); break;
            default: {
                /* and at once a guest write in the new paging mode: through
                 * the premapped large page (PAE / 32-bit), or a fresh 4 KiB
                 * mapping of a data gfn (NPT, shadow; in shadow mode after
                 * a CLEAN, so that the A/D bits the shadow fill sets log
                 * the page-table frames anew), so that a mode's first
                 * write does not wait for a later write operation that
                 * another re-creation may pre-empt */
                unsigned hw = pick(xe, 4);
                if (hw >= 2)
                    prog_add(p, "fresh(%u, nil, '%s') vcpus[%u]:write(%#" PRIx64 ", %u)", d,
                             how[hw], d, (uint64_t)0x40040000 + 8 * pick(xe, 0x8000), i + 1);
                else if (hw == 0 && pick(xe, 2))
                    /* NPT: or a direct-MMIO gfn read (its leaf's PCD) */
                    prog_add(p, "fresh(%u, nil, 'npt') map(%u, %#" PRIx64 ", %#" PRIx64
                                ", 'w', 1, 0) doms[%u]:set_mmio(%#" PRIx64 ", %#x) vcpus[%u]:read(%#"
                                PRIx64 ")", d, d, va, g, d, g, 0x400 + pick(xe, 0x100), d, va);
                else
                    prog_add(p, "fresh(%u, nil, '%s') map(%u, %#" PRIx64 ", %#" PRIx64
                                ", 'w', 1, 0)%s vcpus[%u]:write(%#" PRIx64 ", %u)",
                             d, how[hw], d, va, g,
                             hw == 1 ? (d == 1 ? " doms[1]:clean_dirty()"
                                               : " doms[2]:clean_dirty()") : "",
                             d, va, i + 1);
                break;
            }
            }
            break;
        case OP_IS_DIRTY: prog_add(p, "doms[%u]:is_dirty(%#" PRIx64 ")", d, g); break;
        case OP_LAST: prog_add(p, "last(%u)", d); break;
        case OP_BIG: {
            /* the sparse domain: gfns on both sides of the L3 boundary
             * 2^24 (the top 0x100 gfns are the second L3 entry's) */
            unsigned a = pick(xe, 7);
            uint64_t x = (pick(xe, 2) ? 0x1000000 : 0x10) + pick(xe, 0xf0);
            if (a == 0 || a == 6)
                prog_add(p, "big(%u, %#" PRIx64 ")", a, x);
            else
                prog_add(p, "big(%u)", a);
            break;
        }
        case OP_ACCESS: {
            /* p2m_set_mem_access(): the EPT r/w/x restricted; a guest
             * access it forbids is an EPT violation the (absent) listener
             * clears */
            static const char *const acc[] = { "n", "r", "w", "rw", "x", "rx", "wx",
                                               "rwx", "rx2rw", "n2rwx" };
            /* Either domain: domain 2 may log dirty pages by PML, where a
             * 4 KiB ram_logdirty leaf is writable unless the access type
             * takes w away (scenarios/logdirty/pml_access.lua, found here) */
            prog_add(p, "doms[%u]:set_access(%#" PRIx64 ", '%s')", d,
                     (uint64_t)(0x40 + pick(xe, 0x30)), acc[pick(xe, 10)]);
            break;
        }
        case OP_SUPER:
            prog_add(p, "super(%u, %#x)", pick(xe, 3) ? 1 + pick(xe, 3) : 0, pick(xe, 0x200));
            break;
        case OP_P2MFAIL: {
            /* remove and set_mem_type unshare a shared gfn first; an
             * unshare whose P2M update fails is a BUG() in Xen
             * (__mem_sharing_unshare_page()), nothing to predict: those
             * two leave shared gfns alone here (unshared()) */
            static const char *const what[] = {
                "doms[%u]:populate(%#" PRIx64 ")",
                "if unshared(%u, %#" PRIx64 ") then rm(%u, %#" PRIx64 ") end",
                "doms[%u]:nominate(%#" PRIx64 ")", "doms[%u]:set_access(%#" PRIx64 ", 'r')",
                "if unshared(%u, %#" PRIx64 ") then doms[%u]:set_mem_type(%#" PRIx64
                ", 'ram_ro') end",
            };
            /* Not evict: a failed update there is a known upstream finding
             * (scenarios/findings/evict_no_rollback.lua).  set_mem_type of
             * a paging gfn: the page-in's failed update cancels the request
             * (scenarios/fuzz-found/set_mem_type_paging_p2m_fail.lua) */
            unsigned wk = pick(xe, 5);
            char op[96];
            snprintf(op, sizeof op, what[wk], d, g, d, g);
            prog_add(p, "p2mfail(%u, %u, function() %s end)", d, 1 + pick(xe, 2), op);
            break;
        }
        case OP_FOREIGN:
            /* p2m_add_foreign() at an unpopulated gfn of d, of the other
             * domain's RAM page, and its removal */
            prog_add(p, "addfor(%u, %#x, %#x)", d, 0x60 + pick(xe, 0x10), 0x40 + pick(xe, 0x20));
            break;
        case OP_POD: {
            unsigned a = pick(xe, 3), gg = 0x60 + pick(xe, 0x10), n = 1 + pick(xe, 8);
            /* a target, half the time lowered again at once: the pages
             * the cache gives back come from the head of its list
             * (p2m_pod_cache_get()) */
            if (a == 0 && n > 1 && pick(xe, 2))
                prog_add(p, "pod(%u, 0, %#x, %u) pod(%u, 0, %#x, %u)", d, gg, n, d, gg,
                         pick(xe, n));
            else
                prog_add(p, "pod(%u, %u, %#x, %u)", d, a, gg, n);
            break;
        }
        case OP_IOREQ:
            /* the ioreq server mapped / unmapped, or a gfn handed to it */
            if (!pick(xe, 3))
                prog_add(p, "doms[%u]:map_ioreq_server(false)", d);
            else
                prog_add(p, "ioreq(%u, %#" PRIx64 ", '%s')", d,
                         (uint64_t)(0x40 + pick(xe, 0x30)), pick(xe, 3) ? "ioreq_server" : "ram_rw");
            break;
        case OP_MMIO_DIRECT:
            /* XEN_DOMCTL_memory_mapping: a device frame (beyond the host's
             * 1024 frames of RAM) at a data gfn the page tables map, or
             * the mapping removed (clear_mmio_p2m_entry()) */
            if (pick(xe, 3)) {
                /* half the time mapped at va and read through it at once
                 * (the memory type of a direct-MMIO access: EPT's UC +
                 * ignore-PAT, NPT's PCD) */
                unsigned mg = 0x40 + pick(xe, 0x30), mm = 0x400 + pick(xe, 0x100);
                if (pick(xe, 2))
                    prog_add(p, "map(%u, %#" PRIx64 ", %#x, 'w', 1, 0) doms[%u]:set_mmio(%#x, "
                                "%#x) vcpus[%u]:read(%#" PRIx64 ")", d, va, mg, d, mg, mm, d, va);
                else
                    prog_add(p, "doms[%u]:set_mmio(%#x, %#x)", d, mg, mm);
            }
            else
                prog_add(p, "doms[%u]:clear_mmio(%#x)", d, 0x40 + pick(xe, 0x30));
            break;
        case OP_SHARE: {
            /* source gfn in d (data RAM), the client in either domain:
             * RAM to share with, or a hole (0x60..0x7f is unpopulated
             * unless something populated it) to add the frame at */
            unsigned a = pick(xe, 3), j = pick(xe, 3) ? 3 - d : d;
            unsigned cg = a == 2 ? 0x60 + pick(xe, 0x20) : 0x40 + pick(xe, 0x20);
            prog_add(p, "share(%u, %#x, %u, %#x, %u)", d, 0x40 + pick(xe, 0x20), j, cg, a);
            break;
        }
        case OP_MONITOR: {
            /* the monitor ring on, sometimes with access_required; a
             * request answered (the listener maybe lifting the
             * restriction); a burst of async events; the ring off */
            static const char *const acc[] = { "nil", "'rwx'", "'r'", "'n2rwx'" };
            switch (pick(xe, 6)) {
            case 0:
                /* the monitor ring attached (with access_required) */
                prog_add(p, "doms[%u]:monitor_enable(%s)", d,
                         pick(xe, 4) ? "" : "{ access_required = true }");
                break;
            case 1: case 2: prog_add(p, "answer(%u, %s)", d, acc[pick(xe, 4)]); break;
            case 3: case 4:
                /* RAM gfns (0x40..0x5f): half the time 8 events, as
                 * many as the ring has slots */
                prog_add(p, "burst(%u, %#x, %u)", d, 0x40 + pick(xe, 0x18),
                         pick(xe, 2) ? 8 : 1 + pick(xe, 8));
                break;
            default: prog_add(p, "doms[%u]:monitor_disable()", d); break;
            }
            break;
        }
        case OP_LWRITE:
            /* a write through a large page (2 MiB; 4 MiB in 32-bit
             * paging, PSE) into its data gfns 0x40..0x7f, not into the page
             * tables below them */
            prog_add(p, "vcpus[%u]:write(%#" PRIx64 ", %u)", d,
                     (uint64_t)0x40000000 + 0x200000ULL * pick(xe, 4) + 0x40000 +
                         8 * pick(xe, 0x8000), i + 1);
            break;
        case OP_RAWEPT: {
            /* memory types: UC, WC, WT, WP, WB, and 7 (reserved) */
            static const unsigned mt[] = { 0, 1, 4, 5, 6, 6, 6, 7 };
            if (pick(xe, 2))
                prog_add(p, "rawept(0, %#x, %#x, %u)", pick(xe, 0x400),
                         pick(xe, 2) ? 0 : 1 + pick(xe, 0x1ff), mt[pick(xe, 8)]);
            else
                prog_add(p, "rawept(1, %u, %u, %u)", pick(xe, 2), pick(xe, 8), 3 * pick(xe, 2));
            break;
        }
        case OP_PMLFILL:
            /* one time in eight past a full log; otherwise a few writes
             * (the domain's creation and 500 checked writes are not cheap) */
            prog_add(p, "pmlfill(%u)", pick(xe, 8) ? 8 + pick(xe, 56) : 512 + pick(xe, 8));
            break;
        case OP_SVM: {
            /* TLB_CONTROL values 0, 1, 3, 7 (APM 15.16); INVLPGA in the
             * vCPU's ASID (1) three times in four, else ASID 2 */
            static const unsigned tc[] = { 0, 1, 3, 7 };
            unsigned a = pick(xe, 3);
            if (a == 0)
                prog_add(p, "svm(0, %u, %u, %u)", pick(xe, 4), pick(xe, 4), tc[pick(xe, 4)]);
            else
                prog_add(p, "svm(%u, %u, %u, %u)", a, a == 1 ? pick(xe, 4) : pick(xe, 8),
                         a == 1 ? pick(xe, 4) : pick(xe, 0x200), pick(xe, 4) ? 1 : 2);
            break;
        }
        case OP_PAECR: {
            /* bits of a PAE PDPTE: reserved 1, 2, 5..8, 63 (SDM 4.4.1,
             * Table 4-8), and 9 (ignored: no fault) */
            static const unsigned bit[] = { 1, 2, 5, 6, 7, 8, 63, 9 };
            if (pick(xe, 3))
                prog_add(p, "paecr(0, %u, %u, %s)", bit[pick(xe, 8)], pick(xe, 5),
                         pick(xe, 4) ? "false" : "true");
            else
                prog_add(p, "paecr(1, %u, %u)", pick(xe, 3), pick(xe, 8));
            break;
        }
        case OP_GUESTEPT: prog_add(p, "guestept(%u)", pick(xe, 0x20)); break;
        case OP_NPTP: {
            /* one time in four the log-dirty write; else the stale
             * nested PDE: INVLPGA in ASID 1 three times in four (else 2)
             * or TLB_CONTROL 0, 1, 3, 7 (APM 15.16), one time in eight
             * the hypervisor's flush instead; the R/W bit three times in
             * four (else U) */
            static const unsigned tc[] = { 0, 1, 3, 7 };
            unsigned a = pick(xe, 4) ? (pick(xe, 8) ? pick(xe, 2) : 2) : 3;
            unsigned w = pick(xe, 4), pg = pick(xe, 4);
            unsigned n = a == 0 ? (pick(xe, 4) ? 1 : 2) : tc[pick(xe, 4)];
            prog_add(p, "nptp(%u, %u, %u, %u, %s)", a, w, pg, n, pick(xe, 4) ? "false" : "true");
            break;
        }
        case OP_RIGHTS: {
            /* A user page, writable three times in four.  PKRU: every
             * key write-disabled, every key access-disabled, key k's WD
             * or AD alone, or all open (2 bits per key: AD, WD; SDM
             * 4.6.2); CPL 3 or 0 (a supervisor access to a user page:
             * WD binds its writes only with CR0.WP, SMAP its data
             * accesses unless EFLAGS.AC); reads and writes, one time in
             * eight a fetch */
            static const char *const tf[] = { "true", "false" };
            unsigned k = pick(xe, 4), pw = pick(xe, 5);
            uint32_t pk = pw == 0 ? 0xaaaaaaaa : pw == 1 ? 0x55555555
                        : pw == 2 ? 2u << (2 * k) : pw == 3 ? 1u << (2 * k) : 0;
            const char *f = pick(xe, 4) ? "wu" : "u";
            unsigned cpl = 3 * pick(xe, 2);
            const char *wp = tf[pick(xe, 2)], *smap = tf[pick(xe, 2)], *ac = tf[pick(xe, 2)];
            unsigned acc = pick(xe, 8) ? 1 - pick(xe, 2) : 2;
            prog_add(p, "rights(%u, %#" PRIx64 ", %#" PRIx64 ", '%s', %u, %#x, %u, %s, %s, %s, %u)",
                     d, va, g, f, k, pk, cpl, wp, smap, ac, acc);
            break;
        }
        case OP_PAEHAP:
            /* EPT A/D, NPT or shadow paging; the MOV of paemov(): MOV CR3,
             * CR4.PGE, CR4.SMEP, CR0.CD (loads) or CR4.SMAP (none) */
            prog_add(p, "paehap(%u, %u)", pick(xe, 3), pick(xe, 5));
            break;
        case OP_EPTP: {
            /* one time in five the rights-from-the-top case (a 4); else
             * the stale EPT PDE: INVEPT single (of the vCPU's EPTP three
             * times in four, else of domain 2's) or all-context, INVVPID
             * type 0-3, or the hypervisor's flush after all; the W bit
             * three times in four (else R and W, and a read) */
            unsigned a = pick(xe, 5), w = pick(xe, 4), pg = pick(xe, 4);
            unsigned n = a == 0 ? (pick(xe, 4) ? 1 : 2) : a == 2 ? pick(xe, 4) : 0;
            prog_add(p, "eptp(%u, %u, %u, %u, %s)", a == 4 ? 4 : pick(xe, 8) ? a : 3, w, pg, n,
                     pick(xe, 4) ? "false" : "true");
            break;
        }
        case OP_TYPEDPG:
            /* ram_paged or ram_paging_in; set_type or set_mmio; the
             * radix tree or the flat bitmap */
            prog_add(p, "typedpg(%u, %u, %s)", pick(xe, 2), pick(xe, 2),
                     pick(xe, 2) ? "true" : "false");
            break;
        case OP_LDFAIL:
            /* a guest write at one of the pages the map operations use */
            prog_add(p, "ldfail(%u, %u, %#" PRIx64 ", %#" PRIx64 ", %u)", d, pick(xe, 3), g,
                     va + 8 * pick(xe, 512), pick(xe, 4));
            break;
        case OP_FRAGMENT:
            /* free frames with mfn % N != 0 become Xen's for good: no
             * free block of order > 0 is left (superpages, tree pages) */
            prog_add(p, "fragment_heap{ every = %u }", 2 + pick(xe, 3));
            break;
        /* mem paging: gfns 0x10..0x7f, page-table pages included; half
         * the time a small set (0x40..0x47), so that nominate, evict and
         * foreign maps meet on the same gfns */
        case OP_NOMINATE:
            prog_add(p, "doms[%u]:nominate(%#x)", d,
                     pick(xe, 2) ? 0x40 + pick(xe, 8) : 0x10 + pick(xe, 0x70));
            break;
        case OP_EVICT:
            prog_add(p, "doms[%u]:evict(%#x)", d,
                     pick(xe, 2) ? 0x40 + pick(xe, 8) : 0x10 + pick(xe, 0x70));
            break;
        case OP_PAGER_EVICT: prog_add(p, "pagers[%u]:evict(%u)", d, 1 + pick(xe, 4)); break;
        case OP_PAGER_SERVE: prog_add(p, "pagers[%u]:serve()", d); break;
        case OP_PAGE_IN: prog_add(p, "page_in(%u%s)", d, pick(xe, 2) ? ", 'x'" : ""); break;
        case OP_FMAP:
            prog_add(p, "fmap(%u, %#x)", d, pick(xe, 2) ? 0x40 + pick(xe, 8) : 0x10 + pick(xe, 0x70));
            break;
        case OP_FUNMAP: prog_add(p, "funmap(%u)", d); break;
        /* TLB operations (SDM Vol. 3A 4.10.4, Vol. 3C 30.3): on domain 1's
         * vCPU, the one with TLBs. */
        case OP_INVLPG: prog_add(p, "vcpus[1]:invlpg(%#" PRIx64 ")", va); break;
        case OP_MOVCR3:
            /* MOV CR3 to PCID 1..3, half the time with bit 63 (no flush) */
            prog_add(p, "vcpus[1]:set{ cr3 = pts[1].cr3 | %u%s }", 1 + pick(xe, 3),
                     pick(xe, 2) ? " | (1 << 63)" : "");
            break;
        case OP_INVPCID:
            prog_add(p, "vcpus[1]:invpcid(%u, %u, %#" PRIx64 ")", pick(xe, 4),
                     1 + pick(xe, 3), va);
            break;
        case OP_INVVPID:
            prog_add(p, "vcpus[1]:invvpid(%u, %#" PRIx64 ")", pick(xe, 4), va);
            break;
        case OP_INVEPT: prog_add(p, "vcpus[1]:invept(%u)", 1 + pick(xe, 2)); break;
        /* balloon: increase_reservation / populate_physmap of an extent
         * of 2..9 pages, decrease_reservation of as many */
        case OP_BALLOON_IN:
        case OP_BALLOON_OUT: {
            /* at most up to the last gfn, 0xff */
            uint64_t n = 2 + pick(xe, 8);
            if (g + n > 0x100)
                n = 0x100 - g;
            prog_add(p, k == OP_BALLOON_IN ? "doms[%u]:populate(%#" PRIx64 ", %" PRIu64 ")"
                                           : "balloon_out(%u, %#" PRIx64 ", %" PRIu64 ")",
                     d, g, n);
            break;
        }
        case OP_STARVE: {
            /* one operation with every allocation of the domain failing:
             * guest frames and EPT tables (populate, page-in) and
             * log-dirty tree pages (marks by writes and copies) */
            static const char *const what[] = {
                "doms[%u]:populate(%#" PRIx64 ")",
                "doms[%u]:write_phys(%#" PRIx64 "000, 1)",
                "vcpus[%u]:write(%#" PRIx64 "000, 2)",
                "page_in(%u, 'x')",
            };
            unsigned wk = pick(xe, 4);
            uint64_t arg = wk == 2 ? va >> 12 : g;
            char op[96];
            snprintf(op, sizeof op, what[wk], d, arg);
            prog_add(p, "starve(%u, function() %s end)", d, op);
            break;
        }
        case OP_FLOOD:
            /* a few requests, or (one time in three) about as many as a
             * 64-slot ring holds (the 2011 ring, seed 002 08/12): data gfns
             * 0x20..0x5f, leaving the page-table pages below for later
             * nominations whose requests then find the ring full */
            if (pick(xe, 3))
                prog_add(p, "flood(%u, %#x, %u)", d, 0x20 + pick(xe, 0x40), 4 + pick(xe, 8));
            else {
                /* half the time with the vCPU's walk at once (it needs a
                 * slot: paused on the full ring) and a page-in (the
                 * pager consuming a request) */
                char tail[96] = "";
                if (pick(xe, 2))
                    snprintf(tail, sizeof tail, " vcpus[%u]:read(%#" PRIx64 ") page_in(%u, 'x')", d,
                             va + 8 * pick(xe, 512), d);
                prog_add(p, "flood(%u, 0x20, %u, %#x)%s", d, 0x3e + pick(xe, 6),
                         0x10 + pick(xe, 4), tail);
            }
            break;
        case OP_PREEMPT:
            /* paging_log_dirty_op() preempted after its L3 entry (-ERESTART):
             * the op waits, later ops get -EBUSY, continue_dirty_op() ends it */
            prog_add(p, "doms[%u]:%s_dirty{ pages = %#x, preempt = true }", d,
                     pick(xe, 2) ? "peek" : "clean", pick(xe, 2) ? 0x100 : 0x40 + pick(xe, 0xc0));
            break;
        case OP_CONTINUE:
            prog_add(p, "doms[%u]:continue_dirty_op(%s)", d,
                     pick(xe, 3) ? "" : "{ preempt = true }");
            break;
        case OP_MEMTYPE:
            /* XEN_DMOP_set_mem_type: RAM to ram_ro (writes discarded) or
             * back to ram_rw */
            prog_add(p, "doms[%u]:set_mem_type(%#" PRIx64 ", '%s')", d, g,
                     pick(xe, 2) ? "ram_ro" : "ram_rw");
            break;
        case OP_ROUNDTRIP:
            prog_add(p, "roundtrip(%u, %#x, %u)", d,
                     pick(xe, 2) ? 0x40 + pick(xe, 8) : 0x10 + pick(xe, 0x50), pick(xe, 3));
            break;
        case OP_STALE:
            /* how: 1 INVLPG, 2 INVPCID individual address, 3 MOV CR3 to
             * PCID 1..3 without flush, 4 INVPCID single context; one time
             * in five the paging-structure-cache probe psc() instead */
            if (pick(xe, 5))
                prog_add(p, "stale(%#" PRIx64 ", %#" PRIx64 ", %u, %u)", va, g,
                         1 + pick(xe, 4), 1 + pick(xe, 3));
            else
                prog_add(p, "psc(%#" PRIx64 ", %u)", va, 1 + pick(xe, 3));
            break;
        }
    }
}

/* ---- coverage feedback ---------------------------------------------------------- */

/* Distinct (kind, key) transitions seen over the whole fuzz run. */
struct seen {
    char (*key)[100];
    size_t n, cap;
    size_t fresh; /* new in the current program */
};

static void seen_add(void *ctx, const char *kind, const char *key, uint64_t count)
{
    struct seen *s = ctx;
    char k[100];
    (void)count;
    snprintf(k, sizeof k, "%s|%s", kind, key);
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->key[i], k))
            return;
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 128;
        s->key = realloc(s->key, s->cap * sizeof(*s->key));
        if (!s->key)
            abort();
    }
    memcpy(s->key[s->n++], k, sizeof k);
    s->fresh++;
}

static struct seen *cur_seen; /* the run's table, for run_text() */
static bool fork_programs;    /* run each program in a child (crash-safe) */
static unsigned full_check_every; /* fuzz_opts.full_check_every */

/* ---- running and shrinking ------------------------------------------------------- */

struct verdict {
    char status[12];
    char field[128]; /* first divergence field, or the error message */
    unsigned line;   /* scenario line of the first problem (0: unknown) */
    uint64_t steps;
};

/* "name:LINE: divergence in FIELD: expected ..." -> line and field. */
static void parse_problem(const char *msg, const char *name, struct verdict *v)
{
    size_t nl = strlen(name);
    v->line = 0;
    v->field[0] = 0;
    const char *p = strstr(msg, name);
    if (p && p[nl] == ':')
        v->line = (unsigned)strtoul(p + nl + 1, NULL, 10);
    const char *f = strstr(msg, "divergence in ");
    if (f) {
        f += strlen("divergence in ");
        size_t len = strcspn(f, ":");
        snprintf(v->field, sizeof v->field, "%.*s", (int)len, f);
    } else {
        /* errors: the message without its position */
        const char *m = p ? strchr(p + nl + 1, ':') : NULL;
        snprintf(v->field, sizeof v->field, "%.120s", m ? m + 1 : msg);
    }
}

static void run_inline(const char *name, const char *text, struct verdict *v,
                       void (*sink)(void *, const char *, const char *, uint64_t),
                       void *ctx)
{
    struct run_opts o = { .seed = 1, .cov_sink = sink, .cov_ctx = ctx,
                          .full_check_every = full_check_every,
                          .host_frames = FUZZ_HOST_FRAMES };
    struct run_result r;
    lapi_run_string(name, text, &o, &r);
    snprintf(v->status, sizeof v->status, "%s", r.status);
    v->steps = r.steps;
    parse_problem(r.message, name, v);
}

/* In the child: coverage is collected as "kind\tkey\n" lines, sent up
 * the pipe after the verdict. */
struct linebuf {
    char *p;
    size_t n, cap;
};

static void buf_sink(void *ctx, const char *kind, const char *key, uint64_t n)
{
    struct linebuf *b = ctx;
    (void)n;
    size_t need = strlen(kind) + strlen(key) + 3;
    if (b->n + need > b->cap) {
        b->cap = (b->cap + need) * 2;
        if (!(b->p = realloc(b->p, b->cap)))
            abort();
    }
    b->n += (size_t)sprintf(b->p + b->n, "%s\t%s\n", kind, key);
}

/*
 * Runs a program in a child process, so that a crash, an abort or a
 * sanitizer report in the C code becomes a finding ("crash" with the
 * signal) instead of ending the fuzzer.  The child sends its verdict, then
 * its coverage lines.  Shrinking keeps a crash only if it crashes with the
 * same signal.
 */
static void run_text(const char *name, const char *text, struct verdict *v)
{
    int fd[2];
    if (!fork_programs || pipe(fd) != 0) {
        run_inline(name, text, v, cur_seen ? seen_add : NULL, cur_seen);
        return;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        close(fd[0]);
        struct verdict cv;
        struct linebuf cov = { 0 };
        memset(&cv, 0, sizeof cv);
        run_inline(name, text, &cv, cur_seen ? buf_sink : NULL, &cov);
        /* verdict first, so the parent knows where coverage starts */
        bool ok = write(fd[1], &cv, sizeof cv) == (ssize_t)sizeof cv;
        for (size_t off = 0; ok && off < cov.n;) {
            ssize_t w = write(fd[1], cov.p + off, cov.n - off);
            ok = w > 0;
            off += ok ? (size_t)w : 0;
        }
        _exit(ok ? 0 : 3);
    }
    close(fd[1]);
    memset(v, 0, sizeof(*v));
    size_t got = 0;
    while (pid > 0 && got < sizeof(*v)) {
        ssize_t n = read(fd[0], (char *)v + got, sizeof(*v) - got);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    FILE *in = fdopen(fd[0], "r");
    char line[256];
    while (in && fgets(line, sizeof line, in)) {
        char *tab = strchr(line, '\t');
        if (!tab)
            continue;
        *tab = 0;
        tab[strcspn(tab + 1, "\n") + 1] = 0;
        if (cur_seen)
            seen_add(cur_seen, line, tab + 1, 1);
    }
    if (in)
        fclose(in);
    else
        close(fd[0]);
    int st = 0;
    if (pid > 0)
        waitpid(pid, &st, 0);
    if (pid < 0 || got != sizeof(*v) || !WIFEXITED(st) || WEXITSTATUS(st)) {
        snprintf(v->status, sizeof v->status, "crash");
        if (pid > 0 && WIFSIGNALED(st))
            snprintf(v->field, sizeof v->field, "signal %d (%s)", WTERMSIG(st),
                     strsignal(WTERMSIG(st)));
        else
            snprintf(v->field, sizeof v->field, "runner exited with status %d",
                     WIFEXITED(st) ? WEXITSTATUS(st) : -1);
        v->line = 0;
    }
}

/* Fields are compared without the host addresses they name (fuzz.h). */
bool fuzz_same_field(const char *a, const char *b)
{
    static const char tag[] = "@hpa0x";
    for (;;) {
        const char *ta = strstr(a, tag), *tb = strstr(b, tag);
        if (!ta || !tb)
            return !ta && !tb && !strcmp(a, b);
        if (ta - a != tb - b || strncmp(a, b, (size_t)(ta - a)))
            return false;
        a = ta + sizeof tag - 1 + strspn(ta + sizeof tag - 1, "0123456789abcdefABCDEF");
        b = tb + sizeof tag - 1 + strspn(tb + sizeof tag - 1, "0123456789abcdefABCDEF");
    }
}

static bool same_failure(const struct verdict *a, const struct verdict *b)
{
    return !strcmp(a->status, b->status) && fuzz_same_field(a->field, b->field);
}

static bool test_keep(const struct prog *p, const bool *keep, const char *name,
                      const struct verdict *want, unsigned *runs)
{
    char *t = prog_text(p, keep);
    struct verdict v;
    run_text(name, t, &v);
    free(t);
    (*runs)++;
    return same_failure(&v, want);
}

void fuzz_ddmin(size_t n, bool *keep, bool (*test)(const bool *keep, void *ctx), void *ctx)
{
    bool *cand = malloc((n ? n : 1) * sizeof(bool));
    if (!cand)
        abort();
    for (size_t i = 0; i < n; i++)
        keep[i] = true;
    size_t gran = 2;
    for (;;) {
        size_t alive = 0;
        for (size_t i = 0; i < n; i++)
            alive += keep[i];
        if (alive < 2)
            break;
        if (gran > alive)
            gran = alive;
        bool reduced = false;
        for (size_t c = 0; c < gran && !reduced; c++) {
            /* candidate: all kept items except chunk c */
            size_t idx = 0;
            for (size_t i = 0; i < n; i++) {
                cand[i] = keep[i];
                if (keep[i]) {
                    if (idx * gran / alive == c)
                        cand[i] = false;
                    idx++;
                }
            }
            if (test(cand, ctx)) {
                memcpy(keep, cand, n * sizeof(bool));
                gran = gran > 2 ? gran - 1 : 2;
                reduced = true;
            }
        }
        if (!reduced) {
            if (gran >= alive)
                break;
            gran *= 2;
        }
    }
    /* One more pass, item by item. */
    for (size_t i = 0; i < n; i++) {
        if (!keep[i])
            continue;
        keep[i] = false;
        if (!test(keep, ctx))
            keep[i] = true;
    }
    free(cand);
}

struct lua_shrink {
    const struct prog *p;
    const char *name;
    const struct verdict *want;
    unsigned *runs;
};

static bool lua_keep(const bool *keep, void *ctx)
{
    const struct lua_shrink *c = ctx;
    return test_keep(c->p, keep, c->name, c->want, c->runs);
}

/* Shrinks p in place to a (1-minimal w.r.t. single lines) program that
 * fails like want.  Returns the number of test runs. */
static unsigned shrink(struct prog *p, const char *name, const struct verdict *want)
{
    unsigned runs = 0;
    /* 1. Drop everything after the failing line. */
    unsigned pl = prologue_lines();
    if (want->line > pl && want->line - pl < p->n) {
        size_t keepn = want->line - pl;
        for (size_t i = keepn; i < p->n; i++)
            free(p->line[i]);
        p->n = keepn;
    }
    bool *keep = malloc((p->n ? p->n : 1) * sizeof(bool));
    if (!keep)
        abort();
    /* 2. ddmin over the kept lines, 3. then line by line. */
    struct lua_shrink c = { p, name, want, &runs };
    fuzz_ddmin(p->n, keep, lua_keep, &c);
    size_t o = 0;
    for (size_t i = 0; i < p->n; i++) {
        if (keep[i])
            p->line[o++] = p->line[i];
        else
            free(p->line[i]);
    }
    p->n = o;
    free(keep);
    return runs;
}

double fuzz_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int write_finding(const struct fuzz_opts *o, uint64_t n, const struct prog *p,
                         const struct verdict *v, size_t orig_ops, bool baseline,
                         char *path, size_t pathlen)
{
    snprintf(path, pathlen, "%s/%s-%" PRIu64 "-%" PRIu64 ".lua", o->out_dir,
             baseline ? "baseline" : "finding", o->seed, n);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f, "-- pagesim fuzz finding: %s in %s\n", v->status, v->field);
    if (baseline)
        fprintf(f, "-- it fails without the mutants too: a finding of the real code (or the oracle)\n");
    fprintf(f, "-- found by: pagesim fuzz --seed %" PRIu64 "%s%s (program %" PRIu64 ")\n",
            o->seed, o->mutants ? " --mutant " : "", o->mutants ? o->mutants : "", n);
    fprintf(f, "-- shrunk from %zu to %zu operations; reproduce with:\n", orig_ops, p->n);
    fprintf(f, "--   pagesim run%s%s -v %s\n", o->mutants ? " --mutant " : "",
            o->mutants ? o->mutants : "", path);
    char *t = prog_text(p, NULL);
    fputs(t, f);
    free(t);
    return fclose(f);
}

/* ---- coverage feedback: weights ------------------------------------------------------ */

/*
 * Generation leans toward transitions not reached yet.  The engine's
 * coverage keys name the operation and the P2M type (paging states
 * included) it met: "p2m|populate:ram_paged...", "npf|ram_paging_out:read
 * ->...", "logdirty|peek:rc=...".  For each operation kind below, the share
 * of its (operation, type) pairs not seen yet sets its weight: the static
 * weight times (1 + 3 * unseen share).  A kind whose every pair has been
 * reached falls back to its static weight; one with most pairs unseen gets
 * up to four times as many draws.  The coverage is a function of the seed,
 * so the same seed still gives the same programs.
 */
/* The values a kind can meet: P2M types (paging states included), the
 * out-of-range gfn, or log-dirty return codes.  Only reachable pairs: a
 * read of ram_rw takes no EPT violation, so "npf|ram_rw:read" never comes. */
static const char *const any_type[] = {
    "mmio_dm", "ram_rw", "ram_logdirty", "ram_ro", "ram_paging_out", "ram_paged",
    "ram_paging_in", NULL,
};
static const char *const npf_read[] = {
    "mmio_dm", "out_of_range", "ram_paging_out", "ram_paged", "ram_paging_in", NULL,
};
static const char *const npf_write[] = {
    "mmio_dm", "out_of_range", "ram_paging_out", "ram_paged", "ram_paging_in",
    "ram_logdirty", "ram_ro", NULL,
};
static const char *const ld_rcs[] = { "rc=0", "rc=-22", "rc=-12", NULL };
/* mem paging (engine-paging.c's keys "paging|op:before->after" and
 * "paging|op:before:rc=N"): each state a gfn can be met in, with the
 * outcome that matters (done or refused), as p2m_mem_paging_nominate(),
 * _evict(), _prep() and _resume() allow them. */
static const char *const nominate_vals[] = {
    "ram_rw->ram_paging_out", "ram_logdirty->ram_paging_out", "ram_rw:rc=",
    "ram_ro:rc=", "ram_paging_out:rc=", "ram_paged:rc=", "ram_paging_in:rc=",
    "mmio_dm:rc=", NULL,
};
static const char *const evict_vals[] = {
    "ram_paging_out->ram_paged", "ram_paging_out:rc=", "ram_rw:rc=", "ram_paged:rc=",
    "ram_paging_in:rc=", "mmio_dm:rc=", NULL,
};
static const char *const prep_vals[] = {
    "ram_paging_in->ram_rw", "ram_paging_in->ram_logdirty", "ram_paging_in:rc=",
    "ram_paged->", NULL,
};
static const char *const resume_vals[] = {
    "ram_paging_in->", "ram_rw->", "ram_logdirty->", NULL,
};
static const char *const fmap_vals[] = {
    "ram_rw->", "ram_logdirty->", "ram_paging_out:rc=", "ram_paged:rc=",
    "ram_paging_in:rc=", "mmio_dm:rc=", NULL,
};
static const char *const dirty_vals[] = { "dirty", "clean", NULL };

static const struct target {
    unsigned kind;
    const char *prefix;        /* "kind|op:" or "npf|" */
    const char *suffix;        /* after the value ("npf": ":read" etc.), or NULL */
    const char *const *values;
} targets[] = {
    { OP_POPULATE, "p2m|populate:", NULL, any_type },
    { OP_BALLOON_IN, "p2m|populate:", NULL, any_type },
    { OP_REMOVE, "p2m|remove:", NULL, any_type },
    { OP_BALLOON_OUT, "p2m|remove:", NULL, any_type },
    { OP_MMIO, "p2m|set_type:", NULL, any_type },
    { OP_MEMTYPE, "p2m|set_mem_type:", NULL, any_type },
    { OP_WPHYS, "p2m|copy_to_guest:", NULL, any_type },
    { OP_FLOOD, "p2m|copy_to_guest:", NULL, any_type },
    { OP_READ, "npf|", ":read", npf_read },
    { OP_LREAD, "npf|", ":read", npf_read },
    { OP_WRITE, "npf|", ":write", npf_write },
    { OP_STARVE, "npf|", ":write", npf_write },
    { OP_EXEC, "npf|", ":fetch", npf_read },
    { OP_PEEK, "logdirty|peek:", NULL, ld_rcs },
    { OP_CLEAN, "logdirty|clean:", NULL, ld_rcs },
    { OP_LD_TOGGLE, "logdirty|enable:", NULL, ld_rcs },
    { OP_NOMINATE, "paging|nominate:", NULL, nominate_vals },
    { OP_FLOOD, "paging|nominate:", NULL, nominate_vals },
    { OP_EVICT, "paging|evict:", NULL, evict_vals },
    { OP_PAGER_EVICT, "paging|evict:", NULL, evict_vals },
    { OP_PAGE_IN, "paging|prep:", NULL, prep_vals },
    { OP_PAGER_SERVE, "paging|prep:", NULL, prep_vals },
    { OP_ROUNDTRIP, "paging|resume:", NULL, resume_vals },
    { OP_FMAP, "paging|foreign_map:", NULL, fmap_vals },
    { OP_IS_DIRTY, "logdirty|is_dirty:", NULL, dirty_vals },
};

static bool seen_has_prefix(const struct seen *s, const char *a, const char *b, const char *c)
{
    char want[100];
    snprintf(want, sizeof want, "%s%s%s", a, b, c ? c : "");
    size_t n = strlen(want);
    for (size_t i = 0; i < s->n; i++)
        if (!strncmp(s->key[i], want, n))
            return true;
    return false;
}

static void feedback(unsigned w[OP_NKINDS], const struct seen *s)
{
    memcpy(w, weight, OP_NKINDS * sizeof(*w));
    for (size_t t = 0; t < sizeof targets / sizeof targets[0]; t++) {
        const struct target *x = &targets[t];
        unsigned all = 0, unseen = 0;
        for (; x->values[all]; all++)
            unseen += !seen_has_prefix(s, x->prefix, x->values[all], x->suffix);
        /* a kind with several targets (flood: copies and nominations)
         * takes the largest */
        unsigned nw = weight[x->kind] + (3 * weight[x->kind] * unseen + all / 2) / all;
        if (nw > w[x->kind])
            w[x->kind] = nw;
    }
}

/* CPU seconds of this process and its waited-for children (the programs
 * run in children). */
static double cpu_s(void)
{
    struct rusage a, b;
    getrusage(RUSAGE_SELF, &a);
    getrusage(RUSAGE_CHILDREN, &b);
    return a.ru_utime.tv_sec + a.ru_stime.tv_sec + b.ru_utime.tv_sec + b.ru_stime.tv_sec +
           (a.ru_utime.tv_usec + a.ru_stime.tv_usec + b.ru_utime.tv_usec +
            b.ru_stime.tv_usec) / 1e6;
}

/* ---- coverage-guided mutation ------------------------------------------------------- */

/* Programs that reached a transition nothing before them had: they are
 * mutated (a few lines deleted, inserted or replaced by fresh operations)
 * to make half of the later programs, which biases generation toward the
 * neighbourhood of new transitions.  All choices come from the seeded
 * generator, so a seed still gives one sequence. */
#define CORPUS_MAX 64

struct corpus {
    struct prog p[CORPUS_MAX];
    size_t n, next; /* next slot to overwrite once full */
};

static void prog_copy(struct prog *dst, const struct prog *src)
{
    memset(dst, 0, sizeof(*dst));
    for (size_t i = 0; i < src->n; i++)
        prog_add(dst, "%s", src->line[i]);
}

static void corpus_add(struct corpus *c, const struct prog *p)
{
    size_t slot = c->n < CORPUS_MAX ? c->n++ : c->next++ % CORPUS_MAX;
    if (c->p[slot].line)
        prog_free(&c->p[slot]);
    prog_copy(&c->p[slot], p);
}

static void corpus_free(struct corpus *c)
{
    for (size_t i = 0; i < c->n; i++)
        prog_free(&c->p[i]);
}

/* One fresh operation line from e, or NULL. */
static char *fresh_line(struct entropy *e, uint64_t counts[OP_NKINDS])
{
    struct prog one = { 0 };
    gen_ops(&one, e, 1, counts);
    char *l = one.n ? one.line[0] : NULL;
    for (size_t i = 1; i < one.n; i++)
        free(one.line[i]);
    free(one.line);
    return l;
}

static void mutate(struct prog *p, const struct prog *parent, struct entropy *e,
                   unsigned nops, uint64_t counts[OP_NKINDS])
{
    prog_copy(p, parent);
    unsigned edits = 1 + pick(e, 8);
    for (unsigned k = 0; k < edits; k++) {
        unsigned what = pick(e, 3);
        size_t at = p->n ? pick(e, (unsigned)p->n) : 0;
        if (what == 0 && p->n > 1) {            /* delete */
            free(p->line[at]);
            memmove(&p->line[at], &p->line[at + 1], (p->n - at - 1) * sizeof(char *));
            p->n--;
        } else if (what == 1 || !p->n) {        /* insert */
            if (p->n >= 2 * nops)
                continue;
            char *l = fresh_line(e, counts);
            if (!l)
                continue;
            prog_add(p, "%s", "");              /* grow by one */
            free(p->line[p->n - 1]);
            memmove(&p->line[at + 1], &p->line[at], (p->n - 1 - at) * sizeof(char *));
            p->line[at] = l;
        } else {                                /* replace */
            char *l = fresh_line(e, counts);
            if (!l)
                continue;
            free(p->line[at]);
            p->line[at] = l;
        }
    }
}

int fuzz_out_dir(const struct fuzz_opts *o)
{
    if (o->out_dir && mkdir(o->out_dir, 0777) && errno != EEXIST) {
        fprintf(stderr, "pagesim fuzz: --out %s: %s\n", o->out_dir, strerror(errno));
        return -1;
    }
    return 0;
}

int fuzz_run(const struct fuzz_opts *o, struct fuzz_stats *st)
{
    memset(st, 0, sizeof(*st));
    unsigned nops = o->prog_ops ? o->prog_ops : PROG_OPS_DEFAULT;
    if (fuzz_out_dir(o))
        return -1;
    bool tty = isatty(STDERR_FILENO) && !o->quiet;
    double t0 = fuzz_now_s(), last = t0, c0 = cpu_s();
    struct seen seen = { 0 };
    struct corpus corpus = { 0 };
    unsigned fbw[OP_NKINDS];
    feedback(fbw, &seen);
    cur_weight = fbw;
    fork_programs = !o->no_fork;
    full_check_every = o->full_check_every;
    for (uint64_t n = 0;; n++) {
        if (o->max_ops && st->ops >= o->max_ops)
            break;
        if (o->max_seconds > 0 && fuzz_now_s() - t0 >= o->max_seconds)
            break;
        if (o->max_findings && st->findings >= o->max_findings)
            break;
        struct prog p = { 0 };
        uint64_t prog_counts[OP_NKINDS] = { 0 };
        struct entropy me = { .x = o->seed * 0x2545f4914f6cdd1dULL ^ (n + 1) * 0xda942042e4dd58b5ULL };
        if (corpus.n && pick(&me, 2)) {
            mutate(&p, &corpus.p[pick(&me, (unsigned)corpus.n)], &me, nops, st->op_counts);
            st->mutated++;
        } else {
            gen_prog(&p, o->seed, n, nops, prog_counts);
            for (unsigned k = 0; k < OP_NKINDS; k++)
                st->op_counts[k] += prog_counts[k];
        }
        char name[64];
        snprintf(name, sizeof name, "fuzz-%" PRIu64 "-%" PRIu64 ".lua", o->seed, n);
        char *text = prog_text(&p, NULL);
        struct verdict v;
        cur_seen = &seen;
        seen.fresh = 0;
        run_text(name, text, &v);
        cur_seen = NULL; /* shrinking runs do not count */
        if (seen.fresh) {
            st->new_cov_programs++;
            if (!strcmp(v.status, "pass"))
                corpus_add(&corpus, &p);
        }
        if (seen.fresh)
            feedback(fbw, &seen);
        free(text);
        st->programs++;
        st->ops += nops;
        st->steps += v.steps;
        if (strcmp(v.status, "pass")) {
            size_t orig = p.n;
            st->shrink_runs += shrink(&p, name, &v);
            /* Under --mutant a finding counts only if the mutant causes
             * it: the shrunk program must pass with the mutants off.  One
             * that fails without them is a finding of the real code (or of
             * the oracle), written as baseline-SEED-N.lua. */
            bool baseline = false;
            if (pagesim_mutants) {
                mutset_t saved = pagesim_mutants;
                struct verdict bv;
                char *bt = prog_text(&p, NULL);
                pagesim_mutants = 0;
                run_text(name, bt, &bv);
                pagesim_mutants = saved;
                free(bt);
                baseline = strcmp(bv.status, "pass") != 0;
            }
            if (baseline)
                st->baseline++;
            else
                st->findings++;
            char path[512] = "";
            if (o->out_dir && write_finding(o, n, &p, &v, orig, baseline, path, sizeof path))
                fprintf(stderr, "pagesim fuzz: writing %s: %s\n", path, strerror(errno));
            if (!o->quiet)
                printf("fuzz: %s %" PRIu64 ": %s in %s, shrunk %zu -> %zu ops%s%s\n",
                       baseline ? "finding without the mutants" : "finding",
                       baseline ? st->baseline : st->findings, v.status, v.field, orig,
                       p.n, path[0] ? ": " : "", path);
            if (o->rec && path[0]) {
                struct run_opts ro = { .seed = 1, .rec = o->rec, .mutants = o->mutants };
                struct run_result rr;
                lapi_run_file(path, &ro, &rr);
            }
            if (st->findings == 1 && !baseline)
                snprintf(st->first_field, sizeof st->first_field, "%s", v.field);
        }
        prog_free(&p);
        double now = fuzz_now_s();
        if (tty && now - last > 0.5) {
            last = now;
            fprintf(stderr, "\rfuzz: %" PRIu64 " programs, %" PRIu64 " ops, %.0f ops/s, "
                    "%zu transitions, %" PRIu64 " findings   ", st->programs, st->ops,
                    st->ops / (now - t0), seen.n, st->findings);
        }
    }
    cur_weight = weight;
    memcpy(st->weights, fbw, sizeof st->weights);
    st->seconds = fuzz_now_s() - t0;
    st->cpu_seconds = cpu_s() - c0;
    st->transitions = seen.n;
    /* Distinct transitions per kind, in the order kinds were first met. */
    {
        char kinds[32][24];
        unsigned cnt[32], nk = 0;
        for (size_t i = 0; i < seen.n; i++) {
            size_t kl = strcspn(seen.key[i], "|");
            unsigned j = 0;
            while (j < nk && (strlen(kinds[j]) != kl || strncmp(kinds[j], seen.key[i], kl)))
                j++;
            if (j == nk && nk < 32) {
                snprintf(kinds[nk], sizeof kinds[nk], "%.*s", (int)kl, seen.key[i]);
                cnt[nk++] = 0;
            }
            if (j < nk)
                cnt[j]++;
        }
        size_t off = 0;
        for (unsigned j = 0; j < nk && off < sizeof st->cov_kinds; j++)
            off += (size_t)snprintf(st->cov_kinds + off, sizeof st->cov_kinds - off, "%s%s %u",
                                    j ? ", " : "", kinds[j], cnt[j]);
    }
    if (o->cov_out) {
        for (size_t i = 0; i < seen.n; i++)
            fprintf(o->cov_out, "  %s\n", seen.key[i]);
    }
    free(seen.key);
    st->corpus = corpus.n;
    corpus_free(&corpus);
    if (tty)
        fprintf(stderr, "\r%78s\r", "");
    return 0;
}
