/* SPDX-License-Identifier: MIT */
/*
 * hw-replay/known.c - THE table of documented backend behaviours.
 *
 * Each entry is listed once here.  A difference that one of them explains is
 * still recorded (hw_diffs.known names the entry) and printed as "known",
 * never dropped.  Source: ../shared/reference/kvm-here.md (section numbers).
 */
#include <stdlib.h>
#include <string.h>

#include "hwreplay.h"

const struct hw_known hw_known_table[] = {
    { "kvm", "kvm-cpl0-emulated",
      "CPL0 accesses are run by KVM's instruction emulator and software walker "
      "(paging_tmpl.h), not by the CPU; CPL3 accesses run natively on shadow pages",
      "kvm-here.md s0" },
    { "kvm", "kvm-no-ad-on-faulting-walk",
      "a faulting walk sets no A bit at any level (the model agrees)",
      "kvm-here.md s2" },
    { "kvm", "kvm-no-tlb-staleness",
      "the shadow MMU acts as a perfectly coherent TLB: guest PTE changes are seen "
      "without INVLPG (each replayed access runs in a fresh VM anyway)",
      "kvm-here.md s3" },
    { "kvm", "kvm-unbacked-table-pf",
      "a guest paging-structure page at a gpa without memslot gives #PF ec=0 "
      "(not-present) where the model takes an EPT violation (MMIO)",
      "kvm-here.md s4" },
    { "kvm", "kvm-fetch-unbacked-internal-error",
      "an instruction fetch from a gpa without memslot ends in "
      "KVM_EXIT_INTERNAL_ERROR (suberror 1)",
      "kvm-here.md s4" },
    { "kvm", "kvm-no-1g-pages",
      "1 GiB pages (PDPTE.PS=1) are not supported: every access through one "
      "faults with #PF RSVD (0x9 read, 0xb write), so nothing is written and no "
      "A/D bit is set, where the model (a CPU with 1 GiB pages) completes it",
      "kvm-here.md s2" },
    { "qemu", "qemu72-rsvd-without-p",
      "QEMU 7.2 TCG reports a reserved-bit #PF with error code 0x8 (no P bit; "
      "the SDM says 0x9)",
      "kvm-here.md s1" },
    { "qemu", "qemu-a-on-faulting-walk",
      "QEMU TCG sets A in the non-leaf entries of a faulting walk",
      "kvm-here.md s2" },
    { "qemu", "qemu-pse36",
      "32-bit paging: QEMU's CPU has PSE-36 (its 7.2 walker always takes bits 20:13 "
      "of a 4 MiB PDE as physical-address bits 39:32, only bit 21 is reserved), the "
      "model's vCPU has not (bits 21:13 reserved, SDM 4.3): such a PDE faults with "
      "RSVD in the model and is followed on QEMU",
      "replay of paging_modes.lua (README, Hardware replay)" },
    { "qemu", "qemu-pae-pdpte-a",
      "PAE paging: QEMU 7.2 TCG sets bit 5 (the A position) of the PDPTE its walk "
      "used; PAE PDPTEs have no A flag (SDM 4.4.1: bits 8:5 reserved, the entries "
      "are loaded into registers with CR3), so the model leaves them unchanged",
      "replay of paging_modes.lua (README, Hardware replay)" },
    { "qemu", "qemu-no-pae-pdpte-registers",
      "PAE paging: QEMU 7.2 TCG keeps no PDPTE registers: its walk reads the PDPTE "
      "from the PDPT in memory each time and MOV CR3 checks none of them, so it "
      "follows a PDPT edit made without a reload and takes a PDPTE with reserved "
      "bits without #GP, where the model (SDM 4.4.1) uses the registers MOV CR3 "
      "loaded and raises #GP for reserved bits",
      "replay of pae_pdpte_registers.lua (README, Hardware replay)" },
    { "qemu", "qemu-unassigned-reads-zero",
      "QEMU 7.2 reads unassigned guest-physical memory (256 MiB up to the IOAPIC "
      "with -m 256) as 0 and drops writes; the model's MMIO reads float high "
      "(all ones: no device model, as the KVM VMM here answers them)",
      "replay of tests/hwreplay/mmio_qemu.lua (README, Hardware replay)" },
    { "qemu", "qemu-implicit-smap-ac",
      "QEMU 7.2 lets EFLAGS.AC=1 lift SMAP for implicit supervisor accesses made at "
      "CPL0-2 (its kernel MMU index follows AC); SDM 4.6.1: an implicit access may "
      "not read user pages under SMAP whatever AC says, as the model does",
      "replay of smep_smap_pk.lua (README, Hardware replay)" },
};
const unsigned hw_known_count = sizeof hw_known_table / sizeof hw_known_table[0];

static const struct hw_known *by_id(const char *id)
{
    for (unsigned i = 0; i < hw_known_count; i++)
        if (!strcmp(hw_known_table[i].id, id))
            return &hw_known_table[i];
    return NULL;
}

/* model_final: 0 ok, 1 pf, 2 mmio, 3 crash, 4 gp (enum eng_final) */
const struct hw_known *hw_known_match(const struct hw_diff_view *d)
{
    bool kvm = !strcmp(d->backend, "kvm"), qemu = !strcmp(d->backend, "qemu");
    bool legacy = hw_legacy_paging(d->a), pae = d->a->cr4 & 0x20;
    /* a 32-bit walk the model ended with RSVD (only 4 MiB PDEs have
     * reserved bits there) that QEMU completed: PSE-36; the outcome and
     * the A/D bits and data of the completed access follow from it */
    if (qemu && legacy && !pae && d->model_final == 1 && (d->model_ec & 8) &&
        d->r->outcome == HW_OK)
        return by_id("qemu-pse36");
    if (qemu && d->a->kind == 5 && d->a->cpl < 3 && (d->a->rflags & (1ULL << 18)) &&
        d->model_final == 1 && d->r->outcome == HW_OK)
        return by_id("qemu-implicit-smap-ac");
    if (qemu && !strcmp(d->field, "mmio_value") && d->hw_val == 0)
        return by_id("qemu-unassigned-reads-zero");
    if (qemu && legacy && pae && !strncmp(d->field, "pte.A@gpa=", 10)) {
        uint64_t gpa = strtoull(d->field + 10, NULL, 16), pdpt = d->a->cr3 & 0xffffffe0ULL;
        if (gpa >= pdpt && gpa < pdpt + 32 && (d->hw_val ^ d->model_val) == 0x20)
            return by_id("qemu-pae-pdpte-a");
    }
    /* What the access did with a PDPTE register the model holds and QEMU
     * has not: the memory entry was edited since MOV CR3, or the register
     * has reserved bits (the model's #GP; in PAE paging nothing else
     * raises #GP, 32-bit addresses are always canonical). */
    if (qemu && legacy && pae &&
        (d->pdpte_stale || (d->model_final == 4 && d->r->outcome == HW_OK)))
        return by_id("qemu-no-pae-pdpte-registers");
    if (kvm && !strcmp(d->field, "outcome") && d->model_final == 2 &&
        d->r->outcome == HW_PF && !(d->r->ec & 1))
        return by_id("kvm-unbacked-table-pf");
    /* Everything that follows from KVM refusing the 1 GiB page: the
     * outcome and the A/D bits and data the model wrote. */
    if (kvm && d->model_final == 0 && d->r->outcome == HW_PF && (d->r->ec & 8) &&
        (!strcmp(d->field, "outcome") || !strncmp(d->field, "pte.", 4) ||
         !strncmp(d->field, "mem", 3)))
        return by_id("kvm-no-1g-pages");
    if (kvm && !strcmp(d->field, "error") && d->a->kind == 2 &&
        strstr(d->r->msg, "INTERNAL_ERROR") && d->model_final == 2)
        return by_id("kvm-fetch-unbacked-internal-error");
    if (qemu && !strcmp(d->field, "pf_ec") && (d->model_val & 9) == 9 &&
        d->hw_val == (d->model_val & ~1ULL))
        return by_id("qemu72-rsvd-without-p");
    if (qemu && !strncmp(d->field, "pte.A", 5) && d->model_final == 1)
        return by_id("qemu-a-on-faulting-walk");
    return NULL;
}
