/* SPDX-License-Identifier: MIT */
/*
 * bench/stream_anchors.c - live anchors for the stream benchmark (issue 4):
 * the kvm-here stream (kvm-here.md s8 and s9: one byte written per 4 KiB
 * page over 256 MiB, 200 passes, CPL3, 4-level paging with 4 KiB pages)
 * run on this machine, now, on QEMU TCG and on KVM, so that the model's
 * stride_256m rate (bench/bench.c) is compared like for like instead of
 * with figures measured once on another host.
 *
 * Both backends run the same guest (bench/stream_guest.S, embedded) over
 * the same image built here: the code page, GDT/TSS/IDT, parameters,
 * stacks and 4-level page tables (layout: bench/stream_layout.h).
 *   tcg: qemu-system-x86_64 -accel tcg -cpu max boots the image as a
 *        multiboot kernel; the guest's debug-port bytes (isa-debugcon)
 *        arrive on a pipe.
 *   kvm: a VM on /dev/kvm with one memslot, started in long mode at the
 *        guest's 64-bit entry; the debug-port bytes arrive as KVM_EXIT_IO.
 * The guest sends 'S' right before its timed passes and 'E' right after
 * them; here the CPU time of the process running the guest (QEMU; for KVM
 * this thread, which runs the vCPU) is read at each marker.  The rate is
 * writes per second of that CPU time, as bench/bench.c reports the model's
 * (per second of its own CPU time), so other load on the machine does not
 * lower either directly.  The guest also reports the TSC ticks of the
 * passes (wall time inside the guest; host TSC rate measured here), and
 * the sum of every page's byte 0 afterwards, which must equal the page
 * count (the last pass writes 1): a guest that skipped pages fails.
 *
 * Usage: stream_anchors [--passes N] [--pages N] [--reps N]
 *                       [--backend both|tcg|kvm]
 * QEMU is qemu-system-x86_64 from $QEMU or PATH; /dev/kvm from
 * $PAGESIM_KVM_DEV (as hw-replay).  A backend that is missing or cannot
 * start a VM prints one "SKIP" line; the others still run.  Output: one
 * line per run, the best run (highest rate) per backend, and
 * "BENCH stream_<backend>_rate <value> Mwrites/s".  Exit 0, or 1 when a
 * run failed (the reason printed), 2 for a bad option.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/kvm.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "stream_layout.h"

/* the guest's code page, built from stream_guest.S (GUEST_BIN: its path,
 * given by the Makefile) */
__asm__(".pushsection .rodata\n"
        ".balign 16\n"
        "sg_blob_start:\n"
        ".incbin \"" GUEST_BIN "\"\n"
        "sg_blob_end:\n"
        ".popsection\n");
extern const unsigned char sg_blob_start[], sg_blob_end[];

#define PG UINT64_C(4096)
#define TIMEOUT_S 60

struct run {
    double cpu_s, cpu_e;     /* CPU time of the guest's process at 'S', 'E' */
    double wall_s, wall_e;   /* CLOCK_MONOTONIC at the markers */
    bool have_s, have_e, done;
    uint64_t tsc, sum;
    /* the debug-port byte stream */
    int want;                /* bytes still expected after 'R', 'P', 'X' */
    char kind;
    uint8_t buf[16];
    int n;
    char err[1024];
};

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double clock_s(clockid_t c)
{
    struct timespec ts;
    if (clock_gettime(c, &ts) < 0)
        return -1;
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t le64(const uint8_t *b)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | b[i];
    return v;
}

/* One byte from the guest's debug port; returns the marker ('S', 'E') the
 * caller must time, else 0.  Errors go to r->err. */
static char feed(struct run *r, uint8_t c)
{
    if (r->want) {
        r->buf[r->n++] = c;
        if (--r->want)
            return 0;
        if (r->kind == 'R') {
            r->tsc = le64(r->buf);
            r->sum = le64(r->buf + 8);
            r->done = true;
        } else if (r->kind == 'P') {
            snprintf(r->err, sizeof r->err, "guest page fault at %#" PRIx64 " (rip %#"
                     PRIx64 ")", le64(r->buf), le64(r->buf + 8));
        } else {
            snprintf(r->err, sizeof r->err, "guest exception, vector %u", r->buf[0]);
        }
        return 0;
    }
    switch (c) {
    case 'S':
    case 'E':
        if ((c == 'S' && r->have_s) || (c == 'E' && (!r->have_s || r->have_e))) {
            snprintf(r->err, sizeof r->err, "marker '%c' out of order", c);
            return 0;
        }
        return (char)c;
    case 'R':
    case 'P':
        r->kind = (char)c;
        r->want = 16;
        r->n = 0;
        return 0;
    case 'X':
        r->kind = 'X';
        r->want = 1;
        r->n = 0;
        return 0;
    default:
        snprintf(r->err, sizeof r->err, "unexpected byte %#x on the debug port", c);
        return 0;
    }
}

static void mark(struct run *r, char m, double cpu)
{
    if (m == 'S') {
        r->have_s = true;
        r->cpu_s = cpu;
        r->wall_s = mono();
    } else if (m == 'E') {
        r->have_e = true;
        r->cpu_e = cpu;
        r->wall_e = mono();
    }
}

static void put64(uint8_t *img, uint64_t gpa, uint64_t v)
{
    memcpy(img + (gpa - SG_LOAD), &v, 8);
}

static uint64_t npts(uint64_t pages)
{
    return (pages + 511) / 512;
}

static size_t image_len(uint64_t pages)
{
    return (size_t)(SG_PT0 - SG_LOAD + npts(pages) * PG);
}

/* The image at SG_LOAD: code, descriptor tables (SDM 3.5 / 7.2.3 / 6.14.1
 * formats), parameters, and the page tables (SDM 4.5: P|W|U on every
 * level; the low 2 MiB as one PS page). */
static uint8_t *build_image(uint64_t pages, uint64_t passes)
{
    size_t len = image_len(pages);
    uint8_t *img = calloc(1, len);
    if (!img)
        return NULL;
    memcpy(img, sg_blob_start, (size_t)(sg_blob_end - sg_blob_start));
    put64(img, SG_GDT + 0x08, 0x00209a0000000000ULL);    /* 64-bit code, DPL0 */
    put64(img, SG_GDT + 0x10, 0x00cf92000000ffffULL);    /* data, DPL0 */
    put64(img, SG_GDT + 0x18, 0x00cff2000000ffffULL);    /* data, DPL3 */
    put64(img, SG_GDT + 0x20, 0x0020fa0000000000ULL);    /* 64-bit code, DPL3 */
    uint64_t tb = SG_TSS;
    put64(img, SG_GDT + 0x28, 0x67 | (tb & 0xffffff) << 16 | 0x89ULL << 40 |
                                  (tb >> 24 & 0xff) << 56); /* available 64-bit TSS */
    put64(img, SG_GDT + 0x30, tb >> 32);
    put64(img, SG_TSS + 4, SG_KSTACK_TOP);                 /* RSP0 */
    img[SG_TSS + 0x66 - SG_LOAD] = 0x68;                   /* no I/O bitmap */
    for (uint64_t v = 0; v < 32; v++) {
        uint64_t h = SG_VECTORS + 16 * v;
        put64(img, SG_IDT + 16 * v, (h & 0xffff) | (uint64_t)SG_KCODE << 16 |
                                        0x8eULL << 40 | (h >> 16 & 0xffff) << 48);
        put64(img, SG_IDT + 16 * v + 8, h >> 32);
    }
    put64(img, SG_P_BASE, SG_DATA);
    put64(img, SG_P_PAGES, pages);
    put64(img, SG_P_PASSES, passes);
    put64(img, SG_PML4, SG_PDPT | 7);
    put64(img, SG_PDPT, SG_PD | 7);
    put64(img, SG_PD, 0x87);                               /* 0..2 MiB, PS */
    for (uint64_t t = 0; t < npts(pages); t++)
        put64(img, SG_PD + 8 * (SG_PD_FIRST + t), (SG_PT0 + t * PG) | 7);
    for (uint64_t i = 0; i < pages; i++)
        put64(img, SG_PT0 + 8 * i, (SG_DATA + i * PG) | 7);
    return img;
}

/* ---- KVM ------------------------------------------------------------------ */

static volatile sig_atomic_t timed_out;
static void on_alarm(int sig) { (void)sig; timed_out = 1; }

static void seg(struct kvm_segment *s, uint16_t sel, uint8_t type, bool code)
{
    memset(s, 0, sizeof *s);
    s->selector = sel;
    s->limit = 0xffffffff;
    s->type = type;
    s->present = 1;
    s->s = 1;
    s->l = code;
    s->db = !code;
    s->g = 1;
}

/* The /dev/kvm fd, or -1 and the reason in why when it cannot create a VM
 * here. */
static int kvm_open(char *why, size_t n)
{
    const char *dev = getenv("PAGESIM_KVM_DEV");
    if (!dev || !*dev)
        dev = "/dev/kvm";
    int kvm = open(dev, O_RDWR | O_CLOEXEC);
    if (kvm < 0) {
        snprintf(why, n, "cannot open %s: %s", dev, strerror(errno));
        return -1;
    }
    if (ioctl(kvm, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
        snprintf(why, n, "%s: unexpected KVM API version", dev);
        close(kvm);
        return -1;
    }
    int vm = ioctl(kvm, KVM_CREATE_VM, 0);
    if (vm < 0) {
        snprintf(why, n, "KVM_CREATE_VM: %s", strerror(errno));
        close(kvm);
        return -1;
    }
    close(vm);
    return kvm;
}

static void kvm_run(int kvm, const uint8_t *img, size_t len, uint64_t pages, struct run *r)
{
    uint64_t memsz = SG_DATA + npts(pages) * 512 * PG;
    int vm = -1, vcpu = -1;
    struct kvm_run *run = MAP_FAILED;
    int run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
    uint8_t *mem = mmap(NULL, memsz, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    struct kvm_cpuid2 *cpuid = calloc(1, sizeof *cpuid + 256 * sizeof(struct kvm_cpuid_entry2));
    if (mem == MAP_FAILED || !cpuid || run_size <= 0) {
        snprintf(r->err, sizeof r->err, "kvm: setting up: %s", strerror(errno));
        goto out;
    }
    memcpy(mem + SG_LOAD, img, len);
    vm = ioctl(kvm, KVM_CREATE_VM, 0);
    struct kvm_userspace_memory_region rg = {
        .slot = 0, .guest_phys_addr = 0, .memory_size = memsz,
        .userspace_addr = (uintptr_t)mem };
    if (vm < 0 || ioctl(vm, KVM_SET_USER_MEMORY_REGION, &rg) < 0) {
        snprintf(r->err, sizeof r->err, "kvm: VM and memslot: %s", strerror(errno));
        goto out;
    }
    /* kvm-here.md s1: the vCPU needs KVM_SET_CPUID2 with the supported
     * leaves */
    cpuid->nent = 256;
    vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
    if (vcpu < 0 || ioctl(kvm, KVM_GET_SUPPORTED_CPUID, cpuid) < 0 ||
        ioctl(vcpu, KVM_SET_CPUID2, cpuid) < 0) {
        snprintf(r->err, sizeof r->err, "kvm: vCPU and CPUID: %s", strerror(errno));
        goto out;
    }
    run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
    struct kvm_sregs sr;
    if (run == MAP_FAILED || ioctl(vcpu, KVM_GET_SREGS, &sr) < 0) {
        snprintf(r->err, sizeof r->err, "kvm: kvm_run/sregs: %s", strerror(errno));
        goto out;
    }
    /* the state entry32 + entry64q reach under QEMU: long mode, flat
     * segments, TR loaded (busy), the image's GDT, IDT and PML4 */
    seg(&sr.cs, SG_KCODE, 11, true);
    seg(&sr.ds, SG_KDATA, 3, false);
    sr.es = sr.fs = sr.gs = sr.ss = sr.ds;
    memset(&sr.tr, 0, sizeof sr.tr);
    sr.tr.base = SG_TSS;
    sr.tr.limit = 0x67;
    sr.tr.selector = SG_TSSSEL;
    sr.tr.type = 11;
    sr.tr.present = 1;
    sr.gdt.base = SG_GDT;
    sr.gdt.limit = SG_GDT_LIMIT;
    sr.idt.base = SG_IDT;
    sr.idt.limit = 32 * 16 - 1;
    sr.cr0 = 0x80000031;  /* PG, NE, ET, PE */
    sr.cr3 = SG_PML4;
    sr.cr4 = 0x20;        /* PAE */
    sr.efer = 0x500;      /* LME, LMA */
    struct kvm_regs regs;
    memset(&regs, 0, sizeof regs);
    regs.rip = SG_ENTRY64;
    regs.rsp = SG_KSTACK_TOP;
    regs.rflags = 2;
    if (ioctl(vcpu, KVM_SET_SREGS, &sr) < 0 || ioctl(vcpu, KVM_SET_REGS, &regs) < 0) {
        snprintf(r->err, sizeof r->err, "kvm: vCPU registers: %s", strerror(errno));
        goto out;
    }
    timed_out = 0;
    struct itimerval it = { .it_value = { TIMEOUT_S, 0 } };
    setitimer(ITIMER_REAL, &it, NULL);
    bool exited = false;
    while (!exited && !r->err[0]) {
        if (timed_out) {
            snprintf(r->err, sizeof r->err, "kvm: guest did not finish within %d s", TIMEOUT_S);
            break;
        }
        if (ioctl(vcpu, KVM_RUN, 0) < 0) {
            if (errno == EINTR)
                continue;
            snprintf(r->err, sizeof r->err, "kvm: KVM_RUN: %s", strerror(errno));
            break;
        }
        /* this thread runs the vCPU: its CPU time is the guest's */
        double cpu = clock_s(CLOCK_THREAD_CPUTIME_ID);
        switch (run->exit_reason) {
        case KVM_EXIT_IO:
            if (run->io.direction != KVM_EXIT_IO_OUT) {
                snprintf(r->err, sizeof r->err, "kvm: guest read port %#x", run->io.port);
            } else if (run->io.port == SG_DEBUGEXIT) {
                exited = true;
            } else if (run->io.port == SG_DEBUGCON && run->io.size == 1) {
                const uint8_t *d = (const uint8_t *)run + run->io.data_offset;
                for (uint32_t i = 0; i < run->io.count && !r->err[0]; i++)
                    mark(r, feed(r, d[i]), cpu);
            } else {
                snprintf(r->err, sizeof r->err, "kvm: guest wrote port %#x", run->io.port);
            }
            break;
        case KVM_EXIT_HLT:
            exited = true;
            break;
        case KVM_EXIT_SHUTDOWN:
            snprintf(r->err, sizeof r->err, "kvm: guest triple-faulted");
            break;
        case KVM_EXIT_INTERNAL_ERROR:
            snprintf(r->err, sizeof r->err, "kvm: KVM_EXIT_INTERNAL_ERROR suberror %u",
                     run->internal.suberror);
            break;
        default:
            snprintf(r->err, sizeof r->err, "kvm: unexpected exit reason %u", run->exit_reason);
        }
    }
    struct itimerval off = { { 0, 0 }, { 0, 0 } };
    setitimer(ITIMER_REAL, &off, NULL);
out:
    if (run != MAP_FAILED)
        munmap(run, (size_t)run_size);
    if (vcpu >= 0)
        close(vcpu);
    if (vm >= 0)
        close(vm);
    if (mem != MAP_FAILED)
        munmap(mem, memsz);
    free(cpuid);
}

/* ---- QEMU TCG --------------------------------------------------------------- */

static int find_qemu(char *exe, size_t n, char *why, size_t wn)
{
    const char *env = getenv("QEMU");
    if (env && *env) {
        snprintf(exe, n, "%s", env);
        if (access(exe, X_OK) == 0)
            return 0;
        snprintf(why, wn, "$QEMU=%s is not executable", env);
        return -1;
    }
    const char *path = getenv("PATH");
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path && *path ? path : "/usr/bin:/bin");
    for (char *save = NULL, *d = strtok_r(buf, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        snprintf(exe, n, "%s/qemu-system-x86_64", d);
        if (access(exe, X_OK) == 0)
            return 0;
    }
    snprintf(why, wn, "qemu-system-x86_64 not found (Debian: apt-get install qemu-system-x86)");
    return -1;
}

static void tcg_run(const char *qemu, const char *dir, const uint8_t *img, size_t len,
                    uint64_t pages, struct run *r)
{
    char kpath[300], lpath[300], mem[32];
    snprintf(kpath, sizeof kpath, "%s/stream.img", dir);
    snprintf(lpath, sizeof lpath, "%s/qemu.log", dir);
    /* RAM up to the end of the data, plus room for the firmware */
    snprintf(mem, sizeof mem, "%" PRIu64, (SG_DATA + npts(pages) * 512 * PG) / (1 << 20) + 64);
    FILE *f = fopen(kpath, "wb");
    if (!f || fwrite(img, 1, len, f) != len || fclose(f) != 0) {
        snprintf(r->err, sizeof r->err, "tcg: writing %s: %s", kpath, strerror(errno));
        return;
    }
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) {
        snprintf(r->err, sizeof r->err, "tcg: pipe: %s", strerror(errno));
        return;
    }
    /* kvm-here.md s9: the stream was measured with -cpu max; the debug
     * port is isa-debugcon (1-byte out only), the end isa-debug-exit */
    char *const argv[] = {
        (char *)qemu, "-accel", "tcg", "-cpu", "max", "-m", mem, "-nodefaults",
        "-display", "none", "-no-reboot", "-kernel", kpath,
        "-chardev", "stdio,id=d,signal=off", "-device", "isa-debugcon,iobase=0xe9,chardev=d",
        "-device", "isa-debug-exit,iobase=0xf4,iosize=4", NULL };
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(r->err, sizeof r->err, "tcg: fork: %s", strerror(errno));
        close(p[0]);
        close(p[1]);
        return;
    }
    if (pid == 0) {
        int lf = open(lpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int nul = open("/dev/null", O_RDONLY);
        if (lf < 0 || nul < 0 || dup2(nul, 0) < 0 || dup2(p[1], 1) < 0 || dup2(lf, 2) < 0)
            _exit(126);
        execv(qemu, argv);
        _exit(127);
    }
    close(p[1]);
    clockid_t clk;
    int ce = clock_getcpuclockid(pid, &clk);
    double t0 = mono();
    bool eof = false;
    while (!eof && !r->err[0] && !r->done) {
        if (mono() - t0 > TIMEOUT_S) {
            snprintf(r->err, sizeof r->err, "tcg: guest did not finish within %d s", TIMEOUT_S);
            break;
        }
        struct pollfd pf = { .fd = p[0], .events = POLLIN };
        if (poll(&pf, 1, 100) <= 0)
            continue;
        uint8_t b[64];
        ssize_t n = read(p[0], b, sizeof b);
        if (n <= 0) {
            eof = n == 0 || errno != EINTR;
            continue;
        }
        for (ssize_t i = 0; i < n && !r->err[0]; i++) {
            char m = feed(r, b[i]);
            if (!m)
                continue;
            /* QEMU's CPU time (all its threads) when the marker arrives;
             * the kernel brings another process's clock up to date at
             * least every tick, a few ms against seconds of passes */
            double cpu = ce == 0 ? clock_s(clk) : -1;
            if (cpu < 0)
                snprintf(r->err, sizeof r->err, "tcg: cannot read QEMU's CPU time at "
                         "marker '%c': %s", m, strerror(ce ? ce : errno));
            mark(r, m, cpu);
        }
    }
    close(p[0]);
    int st = 0;
    if (!r->done || r->err[0]) {
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
        if (!r->err[0])
            snprintf(r->err, sizeof r->err, "tcg: qemu ended (status %d) before the guest's "
                     "results; see %s", WIFEXITED(st) ? WEXITSTATUS(st) : -1, lpath);
        return;
    }
    /* isa-debug-exit: exit status (0 << 1) | 1 */
    waitpid(pid, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 1)
        snprintf(r->err, sizeof r->err, "tcg: qemu exit status %d, expected 1 "
                 "(isa-debug-exit); see %s", WIFEXITED(st) ? WEXITSTATUS(st) : -1, lpath);
}

/* ---- driver --------------------------------------------------------------- */

/* Host TSC ticks per second, against CLOCK_MONOTONIC.  TCG's guest TSC
 * counts host ticks; KVM's runs at the host rate unless TSC scaling is on
 * (not here).  Each run prints the guest-TSC time beside the host's wall
 * time between the markers, so a guest TSC at another rate shows. */
static double tsc_hz(void)
{
    struct timespec nap = { 0, 100000000 };
    unsigned lo, hi;
    double w0 = mono();
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    uint64_t c0 = (uint64_t)hi << 32 | lo;
    nanosleep(&nap, NULL);
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    double w1 = mono();
    uint64_t c1 = (uint64_t)hi << 32 | lo;
    return (double)(c1 - c0) / (w1 - w0);
}

static bool parse_u64(const char *s, uint64_t *v)
{
    char *end;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 10);
    if (errno || end == s || *end || *s == '-')
        return false;
    *v = x;
    return true;
}

static int usage(const char *msg)
{
    fprintf(stderr, "stream_anchors: %s\nusage: stream_anchors [--passes N] [--pages N] "
            "[--reps N] [--backend both|tcg|kvm]\n", msg);
    return 2;
}

/* One backend, reps runs: a line per run, then the best. 0, or 1 when a
 * run failed. */
static int measure(const char *name, int kvm, const char *qemu, const char *dir,
                   const uint8_t *img, size_t len, uint64_t pages, uint64_t passes,
                   unsigned reps, double hz)
{
    uint64_t writes = pages * passes;
    double best = 0, best_tsc = 0;
    for (unsigned i = 1; i <= reps; i++) {
        struct run r;
        memset(&r, 0, sizeof r);
        double w0 = mono();
        if (kvm >= 0)
            kvm_run(kvm, img, len, pages, &r);
        else
            tcg_run(qemu, dir, img, len, pages, &r);
        double whole = mono() - w0;
        if (!r.err[0] && (!r.done || !r.have_s || !r.have_e))
            snprintf(r.err, sizeof r.err, "%s: the guest stopped without its markers and "
                     "results", name);
        if (!r.err[0] && r.sum != pages)
            snprintf(r.err, sizeof r.err, "%s: guest checksum %" PRIu64 ", expected %" PRIu64
                     " (byte 0 of every page is 1 after the last pass)", name, r.sum, pages);
        double cpu = r.cpu_e - r.cpu_s, tsc_s = (double)r.tsc / hz;
        if (!r.err[0] && cpu <= 0)
            snprintf(r.err, sizeof r.err, "%s: the guest's CPU time did not advance between "
                     "the markers (a run shorter than the kernel's accounting of another "
                     "process's CPU time; use more --passes)", name);
        if (r.err[0]) {
            printf("stream %s run %u: FAILED: %s\n", name, i, r.err);
            return 1;
        }
        double rate = (double)writes / cpu / 1e6, trate = (double)writes / tsc_s / 1e6;
        printf("stream %s run %u: %" PRIu64 " writes in %.3f s CPU (guest TSC %.3f s, "
               "host wall %.3f s; whole run %.2f s): %.1f M writes/s per CPU second, "
               "%.1f per TSC second\n", name, i, writes, cpu, tsc_s, r.wall_e - r.wall_s,
               whole, rate, trate);
        if (rate > best) {
            best = rate;
            best_tsc = trate;
        }
    }
    printf("stream %s: best of %u: %.1f M writes/s per CPU second (%.1f per guest TSC "
           "second)\n", name, reps, best, best_tsc);
    printf("BENCH stream_%s_rate %.2f Mwrites/s\n", name, best);
    return 0;
}

int main(int argc, char **argv)
{
    uint64_t passes = 200, pages = 65536, reps = 3;
    const char *backend = "both";
    for (int i = 1; i < argc; i++) {
        uint64_t *v = !strcmp(argv[i], "--passes") ? &passes : !strcmp(argv[i], "--pages")
                      ? &pages : !strcmp(argv[i], "--reps") ? &reps : NULL;
        char m[300];
        if (!v && strcmp(argv[i], "--backend")) {
            snprintf(m, sizeof m, "unknown option '%s'", argv[i]);
            return usage(m);
        }
        if (i + 1 >= argc) {
            snprintf(m, sizeof m, "option '%s' needs a value", argv[i]);
            return usage(m);
        }
        const char *val = argv[++i];
        if (!v) {
            backend = val;
            if (strcmp(val, "both") && strcmp(val, "tcg") && strcmp(val, "kvm"))
                return usage("--backend is both, tcg or kvm");
        } else if (!parse_u64(val, v)) {
            return usage("--passes, --pages and --reps take a decimal number");
        }
    }
    if (passes < 1 || passes > 1000000 || reps < 1 || reps > 100)
        return usage("--passes is 1..1000000, --reps 1..100");
    if (pages < 1 || pages > SG_PAGES_MAX) {
        char m[80];
        snprintf(m, sizeof m, "--pages is 1..%d", SG_PAGES_MAX);
        return usage(m);
    }
    if ((size_t)(sg_blob_end - sg_blob_start) > SG_CODE_MAX) {
        fprintf(stderr, "stream_anchors: the guest code is larger than its page\n");
        return 1;
    }
    uint8_t *img = build_image(pages, passes);
    char dir[] = "/tmp/pagesim-stream.XXXXXX";
    if (!img || !mkdtemp(dir)) {
        fprintf(stderr, "stream_anchors: %s\n", strerror(errno));
        return 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm; /* no SA_RESTART: KVM_RUN returns EINTR */
    sigaction(SIGALRM, &sa, NULL);
    double hz = tsc_hz();
    size_t len = image_len(pages);
    printf("stream: 1 byte written per 4 KiB page over %" PRIu64 " pages (%g"
           " MiB), %" PRIu64 " passes, CPL3, 4-level paging with 4 KiB pages; rates per "
           "second of the guest's CPU time between its markers, best of %" PRIu64 " runs "
           "(host TSC %.0f MHz)\n", pages, (double)(pages * PG) / (1 << 20), passes, reps, hz / 1e6);
    int rc = 0;
    char why[300], qemu[600];
    if (strcmp(backend, "kvm")) {
        if (find_qemu(qemu, sizeof qemu, why, sizeof why) < 0)
            printf("stream_anchors: SKIP tcg: %s\n", why);
        else
            rc |= measure("tcg", -1, qemu, dir, img, len, pages, passes, (unsigned)reps, hz);
    }
    if (strcmp(backend, "tcg")) {
        int kvm = kvm_open(why, sizeof why);
        if (kvm < 0) {
            printf("stream_anchors: SKIP kvm: %s\n", why);
        } else {
            rc |= measure("kvm", kvm, NULL, dir, img, len, pages, passes, (unsigned)reps, hz);
            close(kvm);
        }
    }
    /* a failed run's QEMU log stays for the reader */
    char path[400];
    snprintf(path, sizeof path, "%s/stream.img", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/qemu.log", dir);
    if (rc == 0) {
        unlink(path);
        rmdir(dir);
    }
    free(img);
    return rc;
}
