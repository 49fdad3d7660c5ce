/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_hwreplay.c - Criterion tests of the parts of hw-replay/
 * that need no backend: the stub region the VMMs build (layout.h), the
 * decoding of the stub's results block, and the known-behaviour table.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "../../hw-replay/hwreplay.h"
#include "../../hw-replay/layout.h"
#include "pagesim/tlb.h"

static uint64_t get64(const uint8_t *b, uint64_t off)
{
    uint64_t v;
    memcpy(&v, b + off, 8);
    return v;
}

Test(hwreplay, stub_region_maps_itself_but_not_magic)
{
    uint8_t *s = calloc(STUB_PAGES, 4096);
    struct hw_access a = { .cr0 = 0x80010001, .cr3 = 0x10000, .cr4 = 0x20, .efer = 0xd00,
                           .cpl = 3, .kind = 1, .gva = 0x400000, .width = 4, .wvalue = 7 };
    hw_build_stub(s, STUB_GPA, &a, false, NULL, 0);
    cr_assert_eq(get64(s, OFF_PDPT + 8 * STUB_PDPT_IDX) & ~0xfffULL, STUB_GPA + OFF_PD);
    cr_assert_eq(STUB_PDPT_IDX, (STUB_VA >> 30) & 511);
    cr_assert_eq(get64(s, OFF_PT + 8 * (OFF_CODE / 4096)), (STUB_GPA + OFF_CODE) | 3, "kernel code: U=0");
    cr_assert_eq(get64(s, OFF_PT + 8 * (OFF_UCODE / 4096)), (STUB_GPA + OFF_UCODE) | 7, "user copy: U=1");
    cr_assert_eq(get64(s, OFF_PT + 8 * (OFF_MAGIC / 4096)), 0, "MAGIC must never be mapped");
    /* #PF gate -> handler 14, IST1, interrupt gate, kernel CS */
    uint64_t lo = get64(s, OFF_IDT + 16 * 14), hi = get64(s, OFF_IDT + 16 * 14 + 8);
    uint64_t h = (lo & 0xffff) | ((lo >> 48) & 0xffff) << 16 | hi << 32;
    cr_assert_eq(h, STUB_ENTRY + VEC_OFF + 16 * 14);
    cr_assert_eq((lo >> 16) & 0xffff, SEL_KCODE);
    cr_assert_eq((lo >> 32) & 7, 1, "IST1");
    cr_assert_eq((lo >> 40) & 0xff, 0x8e);
    cr_assert_eq(get64(s, OFF_PARAMS + 0x08), 0x400000);
    cr_assert_eq(get64(s, OFF_PARAMS + 0x20), 3);
    cr_assert_eq(get64(s, OFF_PARAMS + 0x28), 0, "KVM mode");
    free(s);
}

Test(hwreplay, stub_region_qemu_mode)
{
    uint8_t *s = calloc(STUB_PAGES, 4096);
    struct hw_access a = { .cr0 = 0x80010001, .cr3 = 0x10000, .cr4 = 0x20, .efer = 0xd00 };
    uint64_t dump[2] = { 0x10000, 0x30000 };
    hw_build_stub(s, STUB_GPA_QEMU, &a, true, dump, 2);
    cr_assert_eq(get64(s, OFF_PARAMS + 0x28), 1);
    cr_assert_eq(get64(s, OFF_PARAMS + 0x38), 0x10000);
    cr_assert_eq(get64(s, OFF_PARAMS + 0x58), 2);
    cr_assert_eq(get64(s, OFF_PARAMS + 0x88), 0x30000);
    /* identity map: 2 MiB page 48 (96 MiB, qboot) and slot 511 */
    cr_assert_eq(get64(s, OFF_ID_PD + 8 * 48), (48ULL << 21) | 0x83);
    cr_assert_eq(get64(s, OFF_ID_PML4 + 8 * 511) & ~0xfffULL, STUB_GPA_QEMU + OFF_PDPT);
    free(s);
}

static void res_block(uint8_t *r, uint64_t vec, uint64_t ec, uint64_t rip, uint64_t cr2,
                      uint64_t rbx)
{
    memset(r, 0, 64);
    uint64_t v[7] = { 1, vec, ec, rip, 0x8, cr2, rbx };
    memcpy(r, v, sizeof v);
}

Test(hwreplay, decode_results)
{
    uint8_t r[64];
    struct hw_result out;
    struct hw_access rd = { .kind = 0, .gva = 0x5000, .width = 8 };
    res_block(r, 14, 0, 0, MAGIC_VA, 0x1234);
    memset(&out, 0, sizeof out);
    hw_decode_result(r, &rd, false, &out);
    cr_assert_eq(out.outcome, HW_OK);
    cr_assert_eq(out.value, 0x1234);
    res_block(r, 14, 0x4, 0xffffffff80009030, 0x5000, 0);
    hw_decode_result(r, &rd, false, &out);
    cr_assert_eq(out.outcome, HW_PF);
    cr_assert_eq(out.ec, 4);
    cr_assert_eq(out.cr2, 0x5000);
    res_block(r, 13, 0, 0x1, 0, 0);
    hw_decode_result(r, &rd, false, &out);
    cr_assert_eq(out.outcome, HW_ERROR, "#GP during a read is a guest error");
    struct hw_access fx = { .kind = 2, .gva = 0x3000, .width = 1 };
    res_block(r, 14, 0x11, 0x3000, 0x3000, 0);
    hw_decode_result(r, &fx, false, &out);
    cr_assert_eq(out.outcome, HW_PF, "fetch fault: #PF at RIP = gva");
    res_block(r, 13, 0, 0x3000, 0, 0);
    hw_decode_result(r, &fx, false, &out);
    cr_assert_eq(out.outcome, HW_OK, "the fetched instruction faulted: the fetch completed");
    res_block(r, 13, 0x18, 0x1, 0, 0);
    hw_decode_result(r, &rd, false, &out);
    cr_assert_str_eq(out.msg, "unexpected exception 13 (error code 0x18) at rip 0x1");
}

/* stub32.S (QEMU, 32-bit/PAE paging): the same block with 32-bit
 * addresses, its marker at MAGIC32_VA, and a fetch that faulted only when
 * CR2 is the gva too. */
Test(hwreplay, decode_results_stub32)
{
    uint8_t r[64];
    struct hw_result out;
    struct hw_access rd = { .kind = 0, .gva = 0x40001000, .width = 8 };
    memset(&out, 0, sizeof out);
    res_block(r, 14, 0, 0, MAGIC32_VA, 0x401);
    hw_decode_result(r, &rd, true, &out);
    cr_assert_eq(out.outcome, HW_OK);
    cr_assert_eq(out.value, 0x401);
    res_block(r, 14, 0, 0, MAGIC_VA, 0x401);
    hw_decode_result(r, &rd, true, &out);
    cr_assert_eq(out.outcome, HW_PF, "the 64-bit marker is not stub32's");
    struct hw_access fx = { .kind = 2, .gva = 0xffffffff00003000ULL, .width = 1 };
    res_block(r, 14, 0x11, 0x3000, 0x3000, 0);
    hw_decode_result(r, &fx, true, &out);
    cr_assert_eq(out.outcome, HW_PF, "32-bit: the gva's upper half is not compared");
    res_block(r, 14, 0x1, 0x3000, MAGIC32_VA, 0);
    memset(&out, 0, sizeof out);
    hw_decode_result(r, &fx, true, &out);
    cr_assert_eq(out.outcome, HW_OK, "EIP = gva but CR2 at the marker: the fetch completed");
    fx.gva = 0x3000;
    hw_decode_result(r, &fx, false, &out);
    cr_assert_eq(out.outcome, HW_PF, "stub.S: RIP = gva is enough");
    res_block(r, 6, 0, 0x3004, 0, 0);
    hw_decode_result(r, &rd, true, &out);
    cr_assert_eq(out.outcome, HW_ERROR);
    cr_assert_str_eq(out.msg, "unexpected exception 6 (error code 0) at eip 0x3004");
}

Test(hwreplay, known_table_ids_unique_and_matched)
{
    for (unsigned i = 0; i < hw_known_count; i++)
        for (unsigned j = i + 1; j < hw_known_count; j++)
            cr_assert_str_neq(hw_known_table[i].id, hw_known_table[j].id);
    struct hw_access a = { .kind = 0 };
    struct hw_result r = { .outcome = HW_PF, .ec = 0 };
    struct hw_diff_view d = { "kvm", &a, 2 /* mmio */, 0, &r, "outcome", 2, 1, false };
    const struct hw_known *k = hw_known_match(&d);
    cr_assert_not_null(k);
    cr_assert_str_eq(k->id, "kvm-unbacked-table-pf");
    d.backend = "qemu";
    cr_assert_null(hw_known_match(&d), "a KVM behaviour does not explain QEMU");
    struct hw_diff_view e = { "qemu", &a, 1, 9, &r, "pf_ec", 9, 8, false };
    cr_assert_str_eq(hw_known_match(&e)->id, "qemu72-rsvd-without-p");
    e.hw_val = 0xb;
    cr_assert_null(hw_known_match(&e));
    struct hw_diff_view f = { "qemu", &a, 1, 4, &r, "pte.A@gpa=0x10000", 0x11007, 0x11027, false };
    cr_assert_str_eq(hw_known_match(&f)->id, "qemu-a-on-faulting-walk");
    f.model_final = 0;
    cr_assert_null(hw_known_match(&f), "A bits on a walk that succeeded are no excuse");
}

/* cost.c: the model's prediction for a calibration loop. */
Test(hwreplay, model_cost_tlb_hits_and_2d_walks)
{
    struct hw_cost c;
    char err[128];
    /* 16 pages fit the L1 dTLB: after the warm-up every access hits it */
    cr_assert_eq(hw_model_cost(&cpu_profile_intel, 16, 4096, false, false, &c, err,
                               sizeof err), 0, "%s", err);
    cr_assert_float_eq(c.cycles, (double)cpu_profile_intel.lat_l1tlb, 1e-9);
    cr_assert_float_eq(c.refs, 0.0, 1e-9);
    /* 4096 pages overflow the STLB (1536): sequential order misses every
     * time.  Without caches each miss would be a 4-level guest walk over
     * 4-level EPT (24 references); with the paging-structure caches the
     * guest PDE's combined mapping gives the PT page's host address and the
     * EPT PDE cache the final gpa's last EPT level: the PTE read and the
     * EPT leaf read remain, 2 references. */
    cr_assert_eq(hw_model_cost(&cpu_profile_intel, 4096, 8192, true, false, &c, err,
                               sizeof err), 0, "%s", err);
    cr_assert_float_eq(c.walks, 1.0, 1e-9);
    cr_assert_float_eq(c.refs, 2.0, 1e-9);
    cr_assert_gt(c.cycles, (double)cpu_profile_intel.lat_stlb);
    /* 256 pages: no walks, nearly all STLB hits (the random order gives the
     * 64-entry L1 an occasional hit) */
    struct hw_cost m;
    cr_assert_eq(hw_model_cost(&cpu_profile_amd, 256, 4096, false, true, &m, err,
                               sizeof err), 0, "%s", err);
    double stlb = cpu_profile_amd.lat_l1tlb + cpu_profile_amd.lat_stlb;
    cr_assert(m.cycles > 0.95 * stlb && m.cycles <= stlb, "256 pages, random: %f cycles",
              m.cycles);
    cr_assert_float_eq(m.walks, 0.0, 1e-9);
}

Test(hwreplay, model_cost_refuses_bad_working_sets)
{
    struct hw_cost c;
    char err[128] = "";
    cr_assert_eq(hw_model_cost(&cpu_profile_intel, 100, 16, false, false, &c, err,
                               sizeof err), -1);
    cr_assert(strstr(err, "power of two"), "%s", err);
    cr_assert_eq(hw_model_cost(&cpu_profile_intel, 1 << 19, 16, false, false, &c, err,
                               sizeof err), -1);
}

/* QEMU, CR4.LA57 and CR4.PKE: the 5-level identity root, the recorded
 * PKRU, and the stub's user pages on a key PKRU leaves open. */
Test(hwreplay, stub_region_la57_and_pkeys)
{
    uint8_t *s = calloc(STUB_PAGES, 4096);
    struct hw_access a = { .cr0 = 0x80010001, .cr3 = 0x10000,
                           .cr4 = 0x20 | (1 << 12) | (1 << 22), .efer = 0xd00,
                           .pkru = 0xf /* keys 0 and 1 closed */ };
    hw_build_stub(s, STUB_GPA_QEMU, &a, true, NULL, 0);
    cr_assert_eq(get64(s, OFF_PARAMS + 0x50), STUB_GPA_QEMU + OFF_ID_PML5, "dump on the 5-level root");
    cr_assert_eq(get64(s, OFF_ID_PML5) & ~0xfffULL, STUB_GPA_QEMU + OFF_ID_PML4);
    cr_assert_eq(get64(s, OFF_ID_PML5 + 8 * 511) & ~0xfffULL, STUB_GPA_QEMU + OFF_ID_PML4,
                 "PML5 slot 511 reaches the stub's PDPT through the identity PML4");
    cr_assert_eq(get64(s, OFF_PARAMS + 0xd8), 0xf, "PKRU for wrpkru");
    uint64_t u = get64(s, OFF_PT + 8 * (OFF_USTACK / 4096));
    cr_assert_eq((u >> 59) & 15, 2, "user stack on key 2, the first one PKRU leaves open");
    cr_assert_eq((get64(s, OFF_PT + 8 * (OFF_CODE / 4096)) >> 59) & 15, 0,
                 "supervisor pages: PKRU does not apply");
    /* without CR4.PKE the key bits stay clear */
    a.cr4 = 0x20;
    hw_build_stub(s, STUB_GPA_QEMU, &a, true, NULL, 0);
    cr_assert_eq((get64(s, OFF_PT + 8 * (OFF_USTACK / 4096)) >> 59) & 15, 0);
    cr_assert_eq(get64(s, OFF_PARAMS + 0x50), STUB_GPA_QEMU + OFF_ID_PML4);
    free(s);
    cr_assert_eq(hw_free_pkey(0), 0);
    cr_assert_eq(hw_free_pkey(0x55555554), 0, "keys 1..15 access-disabled, key 0 open");
    cr_assert_eq(hw_free_pkey(0xaaaaaaaa), -1, "write-disabled keys are closed too");
    cr_assert_eq(hw_free_pkey(0x3fffffff), 15);
    cr_assert_eq(hw_free_pkey(0xffffffff), -1);
}

/* qemu.c: the 32-bit and PAE walks replay reads (dump list, PC-hole check). */
static void put32u(uint8_t *b, uint64_t off, uint32_t v) { memcpy(b + off, &v, 4); }
static void put64u(uint8_t *b, uint64_t off, uint64_t v) { memcpy(b + off, &v, 8); }

Test(hwreplay, legacy_paths_32bit_and_pae)
{
    uint8_t ram[0x40 * 4096] = { 0 }, present[0x40];
    memset(present, 1, sizeof present);
    present[0x30] = 0;
    struct hw_mem m = { .max_gfn = 0x40, .ram = ram, .present = present };
    uint64_t p[8];
    /* 32-bit: directory at 0x1000, PDE 1 -> PT 0x2000 -> page 0x3000;
     * PDE 2 a 4 MiB page at 0 (PS, CR4.PSE); PDE 3 -> a non-RAM PT */
    put32u(ram, 0x1000 + 4 * 1, 0x2000 | 0x27);
    put32u(ram, 0x2000 + 4 * 5, 0x3000 | 0x07);
    put32u(ram, 0x1000 + 4 * 2, 0x00000000 | 0xa7);
    put32u(ram, 0x1000 + 4 * 3, 0x30000 | 0x07);
    struct hw_access a = { .cr0 = 0x80000011, .cr3 = 0x1000, .cr4 = 0x10, .efer = 0,
                           .gva = 0x00405123 };
    cr_assert(hw_legacy_paging(&a));
    cr_assert_eq(hw_legacy_path(&m, &a, p, true), 3);
    cr_assert(p[0] == 0x1000 && p[1] == 0x2000 && p[2] == 0x3000);
    a.gva = 0x1234567800805123;        /* linear addresses are 32 bits */
    cr_assert_eq(hw_legacy_path(&m, &a, p, true), 2);
    cr_assert_eq(p[1], 0x5000, "4 MiB page: the 4 KiB page inside it");
    a.cr4 = 0;                         /* without PSE the PDE is a table */
    cr_assert_eq(hw_legacy_path(&m, &a, p, true), 2, "PT at gpa 0, its PTE 5 not present");
    cr_assert_eq(p[1], 0);
    a.cr4 = 0x10;
    a.gva = 0x00c00000;
    cr_assert_eq(hw_legacy_path(&m, &a, p, true), 1, "the non-RAM PT is not dumped");
    cr_assert_eq(hw_legacy_path(&m, &a, p, false), 2, "... but listed for the hole check");
    cr_assert_eq(p[1], 0x30000);
    /* PAE: PDPT at 0x4020 (32-byte aligned), PDPTE 1 -> PD 0x5000, PDE 0
     * a 2 MiB page at 0x200000 (outside RAM), PDE 1 -> PT 0x6000 */
    put64u(ram, 0x4020 + 8 * 1, 0x5000 | 1);
    put64u(ram, 0x5000, 0x200000 | 0xa7);
    put64u(ram, 0x5000 + 8, 0x6000 | 7);
    put64u(ram, 0x6000 + 8 * 2, 0x7000 | 7);
    a.cr4 = 0x20;
    a.cr3 = 0x4020;
    a.gva = 0x40202000;
    cr_assert_eq(hw_legacy_path(&m, &a, p, true), 4);
    cr_assert(p[0] == 0x4000 && p[1] == 0x5000 && p[2] == 0x6000 && p[3] == 0x7000);
    a.gva = 0x40012345;
    cr_assert_eq(hw_legacy_path(&m, &a, p, false), 3);
    cr_assert_eq(p[2], 0x212000, "2 MiB page: the 4 KiB page inside it");
    a.gva = 0x80000000;                /* PDPTE 2 not present */
    cr_assert_eq(hw_legacy_path(&m, &a, p, true), 1);
    a.efer = 0x500;                    /* LME: not a legacy mode */
    cr_assert(!hw_legacy_paging(&a));
}

/* kind 5 (implicit supervisor read): an LDT descriptor based at the gva. */
Test(hwreplay, stub_region_ldt_for_implicit_reads)
{
    uint8_t *s = calloc(STUB_PAGES, 4096);
    struct hw_access a = { .cr0 = 0x80010001, .cr3 = 0x10000, .cr4 = 0x20, .efer = 0xd00,
                           .kind = 5, .gva = 0xffff812345678ff0ULL };
    hw_build_stub(s, STUB_GPA, &a, false, NULL, 0);
    uint64_t lo = get64(s, OFF_GDT + SEL_LDT), hi = get64(s, OFF_GDT + SEL_LDT + 8);
    uint64_t base = ((lo >> 16) & 0xffffff) | ((lo >> 56) & 0xff) << 24 | hi << 32;
    cr_assert_eq(base, a.gva);
    cr_assert_eq((lo >> 40) & 0xff, 0x82, "present LDT descriptor");
    cr_assert_eq(lo & 0xffff, 7, "one descriptor: selector 4 only");
    free(s);
}

/* The behaviours replay of 32-bit/PAE paging, MMIO on QEMU and implicit
 * accesses found (known.c), and what they must not explain. */
Test(hwreplay, known_legacy_mmio_implicit)
{
    struct hw_access a = { .cr0 = 0x80000011, .cr3 = 0x20000, .cr4 = 0x20, .efer = 0x800 };
    struct hw_result ok = { .outcome = HW_OK }, pf = { .outcome = HW_PF, .ec = 1 };
    struct hw_diff_view d = { "qemu", &a, 0, 0, &ok, "pte.A@gpa=0x20008", 0x21001, 0x21021, false };
    cr_assert_str_eq(hw_known_match(&d)->id, "qemu-pae-pdpte-a");
    d.field = "pte.A@gpa=0x21008";
    cr_assert_null(hw_known_match(&d), "a PDE's A bit is not the PDPTE's");
    a.cr4 = 0x10;                       /* 32-bit paging */
    struct hw_diff_view e = { "qemu", &a, 1, 9, &ok, "outcome", 1, 0, false };
    cr_assert_str_eq(hw_known_match(&e)->id, "qemu-pse36");
    e.model_ec = 1;
    cr_assert_null(hw_known_match(&e), "only reserved-bit faults");
    a.efer = 0xd00;
    a.cr4 = 0x20;
    struct hw_diff_view f = { "qemu", &a, 2, 0, &ok, "mmio_value", 0xffffffff, 0, false };
    cr_assert_str_eq(hw_known_match(&f)->id, "qemu-unassigned-reads-zero");
    f.hw_val = 0x12;
    cr_assert_null(hw_known_match(&f));
    a.kind = 5;
    a.rflags = 1 << 18;
    struct hw_diff_view g = { "qemu", &a, 1, 1, &ok, "outcome", 1, 0, false };
    cr_assert_str_eq(hw_known_match(&g)->id, "qemu-implicit-smap-ac");
    a.cpl = 3;
    cr_assert_null(hw_known_match(&g), "at CPL3 QEMU applies SMAP to implicit reads");
    a.cpl = 0;
    g.r = &pf;
    cr_assert_null(hw_known_match(&g));
}

/* PAE PDPTE registers (replay of pae_pdpte_registers.lua): QEMU keeps none,
 * so it follows a PDPT edited since MOV CR3 and takes reserved PDPTE bits
 * without #GP; nothing else in PAE paging is explained by it. */
Test(hwreplay, known_qemu_no_pae_pdpte_registers)
{
    struct hw_access a = { .cr0 = 0x80000011, .cr3 = 0x20000, .cr4 = 0x20, .efer = 0 };
    struct hw_result ok = { .outcome = HW_OK }, pf = { .outcome = HW_PF, .ec = 1 };
    /* the stale register: a read gives the old page's value */
    struct hw_diff_view v = { "qemu", &a, 0, 0, &ok, "value", 0x401, 0x411, true };
    cr_assert_str_eq(hw_known_match(&v)->id, "qemu-no-pae-pdpte-registers");
    v.pdpte_stale = false;
    cr_assert_null(hw_known_match(&v), "register and memory agree: a model gap");
    /* a not-present PDPTE in the register, present in memory */
    struct hw_diff_view o = { "qemu", &a, 1, 0, &ok, "outcome", 1, 0, true };
    cr_assert_str_eq(hw_known_match(&o)->id, "qemu-no-pae-pdpte-registers");
    /* reserved PDPTE bits: the model's #GP (eng_final 4), QEMU completes */
    struct hw_diff_view g = { "qemu", &a, 4, 0, &ok, "outcome", 4, 0, false };
    cr_assert_str_eq(hw_known_match(&g)->id, "qemu-no-pae-pdpte-registers");
    g.r = &pf;
    cr_assert_null(hw_known_match(&g), "a #GP where QEMU faults is not explained");
    g.r = &ok;
    g.backend = "kvm";
    cr_assert_null(hw_known_match(&g), "QEMU only");
    g.backend = "qemu";
    a.cr4 = 0x10;                       /* 32-bit paging has no PDPTEs */
    v.pdpte_stale = true;
    cr_assert_null(hw_known_match(&v));
    a.cr4 = 0x20;
    a.efer = 0x500;                     /* long mode (EFER.LMA): no PAE registers */
    cr_assert_null(hw_known_match(&v));
    /* the PDPTE's A bit stays qemu-pae-pdpte-a even when stale */
    a.efer = 0;
    struct hw_diff_view b = { "qemu", &a, 0, 0, &ok, "pte.A@gpa=0x20008", 0x30001, 0x30021, true };
    cr_assert_str_eq(hw_known_match(&b)->id, "qemu-pae-pdpte-a");
}
