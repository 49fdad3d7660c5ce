/* SPDX-License-Identifier: MIT */
/*
 * bench/bench.c - `make bench`: simulated accesses per second of the model
 * (one core), and the simulated cost per access from the cycle model.
 * Prints human lines and, for tools, `BENCH <name> <value> <unit>` lines.
 *
 * Worlds are built directly in host memory (no sim, no oracle): a 4-level
 * guest over a 4-level EPT mapping gfn g to mfn g + OFF.
 *
 *   tlb_hit         one page read again and again through the TLBs
 *   walk_2d         mmu_translate() with no TLB: full 4x4 walks, A/D
 *                   already set (24 references each)
 *   random_4g_ept4k random reads over 4 GiB of guest memory (4 KiB guest
 *                   pages) through the TLBs, EPT with 4 KiB pages
 *   random_4g_ept2m the same over 2 MiB EPT pages
 *   stride_256m     the kvm-here stream: one byte written per 4 KiB page
 *                   over 256 MiB, PASSES passes (default 200), through the
 *                   TLBs, data written into host memory
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pagesim/tlb.h"

#define GB4_PAGES (1ULL << 20)      /* 4 GiB of 4 KiB guest pages */
#define OFF 0x200000ULL             /* mfn = gfn + OFF */
#define PT_GFN0 0x100000ULL         /* guest tables live above 4 GiB */
#define EPT_MFN0 0x10ULL            /* EPT tables from mfn 0x10 */

static struct hostmem *hm;
static uint64_t ept_next = EPT_MFN0, pt_next = PT_GFN0;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static uint64_t rd(uint64_t hpa)
{
    uint64_t v = 0;
    hostmem_read64(hm, _hpa(hpa), &v);
    return v;
}

/* EPT: map gfn (4 KiB, or the 2 MiB region containing it with big). */
static void ept_map(uint64_t gfn, bool big)
{
    const uint64_t rwx = EPT_R | EPT_W | EPT_X, wb = 6 << 3;
    uint64_t table = EPT_MFN0 << 12;
    for (int l = 4; l >= 1; l--) {
        uint64_t ea = table + 8 * ((gfn >> (9 * (l - 1))) & 511);
        if ((l == 1) || (big && l == 2)) {
            uint64_t g = big && l == 2 ? gfn & ~511ULL : gfn;
            hostmem_write64(hm, _hpa(ea), ((g + OFF) << 12) | rwx | wb |
                                              (l == 2 ? EPT_PS : 0));
            return;
        }
        uint64_t e = rd(ea);
        if (!e) {
            e = (++ept_next << 12) | rwx;
            hostmem_write64(hm, _hpa(ea), e);
        }
        table = e & EPT_ADDR_MASK;
    }
}

/* Guest: map va -> gfn with 4 KiB pages (tables from pt_next, which the EPT
 * maps 4 KiB each). */
static void guest_map(uint64_t va, uint64_t gfn, bool ept_big)
{
    const uint64_t f = PTE_P | PTE_W | PTE_U | PTE_A;
    uint64_t table = PT_GFN0 << 12;
    for (int l = 4; l > 1; l--) {
        uint64_t ea = ((table >> 12) + OFF) << 12 | (8 * ((va >> (12 + 9 * (l - 1))) & 511));
        uint64_t e = rd(ea);
        if (!e) {
            uint64_t g = ++pt_next;
            ept_map(g, false);
            e = (g << 12) | f;
            hostmem_write64(hm, _hpa(ea), e);
        }
        table = e & PTE_ADDR_MASK;
    }
    uint64_t ea = (((table >> 12) + OFF) << 12) | (8 * ((va >> 12) & 511));
    hostmem_write64(hm, _hpa(ea), (gfn << 12) | f | PTE_D);
    (void)ept_big;
}

static void world(uint64_t pages, bool ept_big)
{
    hostmem_destroy(hm);
    hm = hostmem_new(OFF + PT_GFN0 + 0x10000);
    ept_next = EPT_MFN0;
    pt_next = PT_GFN0;
    ept_map(PT_GFN0, false);
    for (uint64_t g = 0; g < pages; g++) {
        if (!ept_big || (g & 511) == 0)
            ept_map(g, ept_big);
        guest_map(g << 12, g, ept_big);
    }
}

static struct mmu_cpu cpu = {
    .cr0 = X86_CR0_PG | X86_CR0_WP | 1, .cr3 = PT_GFN0 << 12,
    .cr4 = X86_CR4_PAE, .efer = X86_EFER_LME | X86_EFER_LMA | X86_EFER_NXE,
    .cpl = 3, .maxphyaddr = 46,
};
static const struct mmu_ept ept = { .root = { EPT_MFN0 } };

static void bench_line(const char *name, double v, const char *unit)
{
    printf("BENCH %s %.3f %s\n", name, v, unit);
}

static uint64_t rng = 88172645463325252ULL;
static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void random_run(const char *name, bool ept_big, uint64_t n)
{
    world(GB4_PAGES, ept_big);
    struct mmu_tlb *t = tlb_new(&cpu_profile_intel);
    struct mmu_result r;
    struct tlb_result tr;
    uint64_t bad = 0;
    double t0 = now();
    for (uint64_t i = 0; i < n; i++) {
        uint64_t va = (rnd() & (GB4_PAGES * 4096 - 1)) & ~7ULL;
        tlb_access(t, hm, &cpu, &ept, 1, _gva(va), ACC_READ, &r, &tr);
        bad += r.outcome != MMU_OK;
    }
    double dt = now() - t0;
    struct tlb_stats st;
    tlb_stats(t, &st);
    printf("%s: %" PRIu64 " random reads over 4 GiB (%s EPT pages): %.2f M/s, "
           "%.1f simulated cycles/access, %.1f refs/walk, %.1f%% walks%s\n",
           name, n, ept_big ? "2 MiB" : "4 KiB", n / dt / 1e6,
           (double)st.cycles / n, st.walks ? (double)st.walk_refs / st.walks : 0,
           100.0 * st.walks / n, bad ? " (SOME FAILED)" : "");
    char b[64];
    snprintf(b, sizeof b, "%s_rate", name);
    bench_line(b, n / dt / 1e6, "Maccesses/s");
    snprintf(b, sizeof b, "%s_cycles", name);
    bench_line(b, (double)st.cycles / n, "cycles/access");
    snprintf(b, sizeof b, "%s_refs_per_walk", name);
    bench_line(b, st.walks ? (double)st.walk_refs / st.walks : 0, "refs/walk");
    tlb_destroy(t);
}

static void bench_tlb_hit(void)
{
    struct mmu_result r;
    struct tlb_result tr;
    world(512, false);
    struct mmu_tlb *t = tlb_new(&cpu_profile_intel);
    uint64_t n = 50000000;
    double t0 = now();
    for (uint64_t i = 0; i < n; i++)
        tlb_access(t, hm, &cpu, &ept, 1, _gva(0x5000 + (i & 0x3F8)), ACC_READ, &r, &tr);
    double dt = now() - t0;
    struct tlb_stats st;
    tlb_stats(t, &st);
    printf("tlb_hit: %" PRIu64 " reads of one page: %.1f M/s (target >= 100), "
           "%.2f simulated cycles/access\n", n, n / dt / 1e6, (double)st.cycles / n);
    bench_line("tlb_hit_rate", n / dt / 1e6, "Maccesses/s");
    bench_line("tlb_hit_cycles", (double)st.cycles / n, "cycles/access");
    tlb_destroy(t);
}

static void bench_walk_2d(void)
{
    struct mmu_result r;
    world(512, false);
    uint64_t n = 10000000, refs = 0;
    double t0 = now();
    for (uint64_t i = 0; i < n; i++) {
        mmu_translate(hm, &cpu, &ept, _gva(((i * 7) & 511) << 12), ACC_READ, &r);
        refs += r.refs;
    }
    double dt = now() - t0;
    printf("walk_2d: %" PRIu64 " uncached 4-level x 4-level walks: %.1f M/s "
           "(target >= 10), %.1f refs/walk\n", n, n / dt / 1e6, (double)refs / n);
    bench_line("walk_2d_rate", n / dt / 1e6, "Mwalks/s");
    bench_line("walk_2d_refs", (double)refs / n, "refs/walk");
}

/* Shadow paging (hap = "none"): the same walks one-dimensional -- the
 * P2M is consulted but not charged, so 4 refs per walk. */
static void bench_walk_1d(void)
{
    struct mmu_result r;
    struct mmu_ept sh = ept;
    sh.shadow = true;
    world(512, false);
    uint64_t n = 10000000, refs = 0;
    double t0 = now();
    for (uint64_t i = 0; i < n; i++) {
        mmu_translate(hm, &cpu, &sh, _gva(((i * 7) & 511) << 12), ACC_READ, &r);
        refs += r.refs;
    }
    double dt = now() - t0;
    printf("walk_1d: %" PRIu64 " uncached 4-level shadow walks: %.1f M/s, "
           "%.1f refs/walk\n", n, n / dt / 1e6, (double)refs / n);
    bench_line("walk_1d_rate", n / dt / 1e6, "Mwalks/s");
    bench_line("walk_1d_refs", (double)refs / n, "refs/walk");
}

static unsigned passes = 200;

static void bench_stride(void)
{
    struct mmu_result r;
    struct tlb_result tr;
    world(65536, false);
    /* The guest's 256 MiB resident before the clock starts, as the
     * anchors' guest memory was (kvm-here lists KVM's first touch apart:
     * 212-244 K pages/s; its 117-120 M writes/s are over faulted-in
     * memory): a byte of zero written to each data frame backs it and
     * has the host kernel clear its huge page now -- nothing the model
     * sees changes (the frames read as zeros either way). */
    const uint8_t zero = 0;
    for (uint64_t g = 0; g < 65536; g++)
        hostmem_write(hm, _hpa((g + OFF) << 12), &zero, 1);
    struct mmu_tlb *t = tlb_new(&cpu_profile_intel);
    uint8_t one = 1;
    double t0 = now();
    for (unsigned p = 0; p < passes; p++)
        for (uint64_t pg = 0; pg < 65536; pg++) {
            tlb_access(t, hm, &cpu, &ept, 1, _gva(pg << 12), ACC_WRITE, &r, &tr);
            hostmem_write(hm, r.hpa, &one, 1);
        }
    double dt = now() - t0;
    uint64_t n = (uint64_t)passes * 65536;
    struct tlb_stats st;
    tlb_stats(t, &st);
    printf("stride_256m: 1 byte written per 4 KiB page over 256 MiB, %u passes "
           "(%" PRIu64 " writes): %.1f M/s (target >= 21.8 = 2x QEMU TCG's 10.9 "
           "M/s; KVM 117-120 M/s measured here), %.1f simulated cycles/access, "
           "%.1f%% walks, %.1f refs/walk\n",
           passes, n, n / dt / 1e6, (double)st.cycles / n, 100.0 * st.walks / n,
           st.walks ? (double)st.walk_refs / st.walks : 0);
    bench_line("stride_256m_rate", n / dt / 1e6, "Maccesses/s");
    bench_line("stride_256m_cycles", (double)st.cycles / n, "cycles/access");
    bench_line("stride_256m_refs_per_walk", st.walks ? (double)st.walk_refs / st.walks : 0,
               "refs/walk");
    bench_line("stride_256m_vs_tcg", n / dt / 1e6 / 10.9, "x");
    tlb_destroy(t);
}

int main(int argc, char **argv)
{
    /* bench [PASSES [NAME]]: NAME runs one benchmark (tlb_hit, walk_2d,
     * random_4g, stride_256m, walk_1d). */
    if (argc > 1)
        passes = (unsigned)atoi(argv[1]);
    const char *only = argc > 2 ? argv[2] : NULL;
#define WANT(x) (!only || !strcmp(only, x))
    if (only && !WANT("tlb_hit") && !WANT("walk_2d") && !WANT("random_4g")
        && !WANT("stride_256m") && !WANT("walk_1d")) {
        fprintf(stderr, "bench: unknown benchmark '%s' (tlb_hit, walk_2d, "
                "random_4g, stride_256m, walk_1d)\n", only);
        return 2;
    }
    printf("rates are per second of this process's CPU time (one core), so "
           "other load on the machine does not lower them\n");
    if (WANT("tlb_hit"))
        bench_tlb_hit();
    if (WANT("walk_2d"))
        bench_walk_2d();
    if (WANT("walk_1d"))
        bench_walk_1d();
    if (WANT("random_4g")) {
        random_run("random_4g_ept4k", false, 5000000);
        random_run("random_4g_ept2m", true, 5000000);
    }
    if (WANT("stride_256m"))
        bench_stride();
    hostmem_destroy(hm);
    return 0;
}
