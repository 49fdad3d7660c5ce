/* SPDX-License-Identifier: MIT */
/*
 * model/profiles.c - CPU profiles as data (../shared/reference/x86-paging.md
 * sections 4.3 and 4.4).  Figures marked there as unverified are marked
 * here too.
 */
#include <string.h>

#include "pagesim/tlb.h"

/* Skylake client/SP: L1 dTLB 4K 64 entries 4-way, 2M/4M 32 entries 4-way
 * (unverified for SKL), 1G 4 entries 4-way; iTLB 4K 128 entries 8-way;
 * STLB 1536 entries 12-way (WikiChip), 4K+2M.  Latencies: L1D 4, L2 12, L3
 * 44 cycles (Opt. Manual via a secondary source); STLB hit ~9 (Haswell
 * measured ~12 end to end); vmcall round trip ~1530-1560 (Skylake-SP). */
const struct cpu_profile cpu_profile_intel = {
    .name = "intel-skylake",
    .maxphyaddr = 46,
    .dtlb4k = { 64, 4 }, .dtlb2m = { 32, 4 }, .dtlb1g = { 4, 4 },
    .itlb4k = { 128, 8 }, .stlb = { 1536, 12 },
    .lat_l1tlb = 1, .lat_stlb = 9, .lat_walk = 2,
    .lat_pt_hit = 4, .lat_pt_miss = 44,
    .ptc_lines = 512, .ptc_ways = 8,
    /* PSC sizes are not published by Intel; the PML4E 2 / PDPTE 4 / PDE
     * 32 figures are the ones the literature measured on earlier cores
     * [UNVERIFIED for Skylake]; PML5E 2 and the EPT PSCs (same sizes)
     * are modelling choices. */
    .psc = { [2] = { 32, 4 }, [3] = { 4, 4 }, [4] = { 2, 2 }, [5] = { 2, 2 } },
    .epsc = { [2] = { 32, 4 }, [3] = { 4, 4 }, [4] = { 2, 2 }, [5] = { 2, 2 } },
    .lat_vmexit = 1550,
    /* Skylake-SP has MBEC (kvm-unit-tests' ept-mbec runs on
     * -cpu Skylake-Server,+vmx-mbec); AMD's nested paging has none. */
    .mbec = true,
};

/* Zen 2: L1 dTLB 64 entries fully associative, all sizes (modelled as one
 * fully associative array per size); L2 TLB 2048 entries 12-way 4K/2M, 1G
 * smashed into 2M (here: 1G entries stay in the L1 only; 2048 is not a
 * multiple of 12, so modelled 8-way); iTLB 64 fully
 * associative.  STLB latency 7 and PT latencies are [UNVERIFIED] choices;
 * SVM VMRUN->#VMEXIT round trip ~1350. */
const struct cpu_profile cpu_profile_amd = {
    .name = "amd-zen2",
    .maxphyaddr = 48,
    .dtlb4k = { 64, 64 }, .dtlb2m = { 64, 64 }, .dtlb1g = { 64, 64 },
    .itlb4k = { 64, 64 }, .stlb = { 2048, 8 },
    .lat_l1tlb = 1, .lat_stlb = 7, .lat_walk = 2,
    .lat_pt_hit = 4, .lat_pt_miss = 40,
    .ptc_lines = 512, .ptc_ways = 8,
    /* AMD's page walk cache is indexed by the entry's physical address,
     * not by the linear address (x86-paging.md, the 2D page-walk paper's
     * comparison): .pwc makes the psc[] geometry a cache keyed by the
     * guest entry's gpa (model/tlb.c "the AMD page walk cache"); 64 PDE
     * entries and small upper levels [UNVERIFIED sizes]. */
    .psc = { [2] = { 64, 4 }, [3] = { 8, 4 }, [4] = { 4, 4 }, [5] = { 2, 2 } },
    .epsc = { [2] = { 64, 4 }, [3] = { 8, 4 }, [4] = { 4, 4 }, [5] = { 2, 2 } },
    .lat_vmexit = 1350,
    /* AMD caches nested (nPML4E/nPDPTE/nPDE) entries too, tagged by ASID
     * and nCR3 (APM vol. 2, 15.25: nested-walk results are cached like
     * the guest's; sizes [UNVERIFIED], the epsc[] geometry above). */
    .npt_psc = true,
    .pwc = true,
};

const struct cpu_profile *cpu_profile_by_name(const char *name)
{
    if (!strcmp(name, cpu_profile_intel.name) || !strcmp(name, "intel"))
        return &cpu_profile_intel;
    if (!strcmp(name, cpu_profile_amd.name) || !strcmp(name, "amd"))
        return &cpu_profile_amd;
    return NULL;
}
