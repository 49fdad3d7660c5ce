/* SPDX-License-Identifier: MIT */
/*
 * hw-replay/qemu.c - the QEMU TCG backend: one recorded guest access per
 * qemu-system-x86_64 boot (-accel tcg -cpu max), the second, independent
 * implementation of x86 paging (kvm-here.md section 9).
 *
 * -kernel is qboot.S (multiboot v1, a.out kludge) with two modules: the
 * domain's RAM copy (-> gpa 0) and the stub region (-> STUB_GPA_QEMU).  The
 * same stub.S as under KVM, in QEMU mode, loads the recorded CR0/CR3/CR4/
 * EFER itself, performs the access, and writes its 64-byte results block and
 * then the guest RAM (identity tables) to isa-debugcon (port 0xe9, a file),
 * then exits through isa-debug-exit.  A boot that does not finish within
 * the time bound is killed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hwreplay.h"
#include "layout.h"

extern const unsigned char hwr_qboot_start[], hwr_qboot_end[];

#define PG 4096ULL

struct hw_qemu {
    char exe[600];
    char dir[64];
    uint8_t *stub;
};

static int write_file(const char *path, const void *p, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    const uint8_t *b = p;
    while (n) {
        ssize_t w = write(fd, b, n);
        if (w <= 0) {
            close(fd);
            return -1;
        }
        b += w;
        n -= (size_t)w;
    }
    return close(fd);
}

static void rm_dir(const char *dir)
{
    static const char *const f[] = { "qboot.bin", "mod0.bin", "mod1.bin", "out.bin",
                                     "qemu.log" };
    char p[128];
    for (unsigned i = 0; i < 5; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, f[i]);
        unlink(p);
    }
    rmdir(dir);
}

void hw_qemu_close(struct hw_qemu *q)
{
    if (!q)
        return;
    if (q->dir[0])
        rm_dir(q->dir);
    if (q->stub && q->stub != MAP_FAILED)
        munmap(q->stub, STUB_PAGES * PG);
    free(q);
}

struct hw_qemu *hw_qemu_open(char *why, size_t n)
{
    struct hw_qemu *q = calloc(1, sizeof *q);
    if (!q) {
        snprintf(why, n, "out of memory");
        return NULL;
    }
    const char *env = getenv("PAGESIM_QEMU");
    if (env && *env) {
        snprintf(q->exe, sizeof q->exe, "%s", env);
    } else {
        const char *path = getenv("PATH");
        char buf[4096];
        snprintf(buf, sizeof buf, "%s", path ? path : "/usr/bin:/bin");
        for (char *save = NULL, *d = strtok_r(buf, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
            char p[512];
            snprintf(p, sizeof p, "%s/qemu-system-x86_64", d);
            if (access(p, X_OK) == 0) {
                snprintf(q->exe, sizeof q->exe, "%s", p);
                break;
            }
        }
    }
    if (!q->exe[0] || access(q->exe, X_OK) != 0) {
        snprintf(why, n, "qemu-system-x86_64 not found (Debian: apt-get install "
                 "qemu-system-x86, as scripts/install-deps.sh does)");
        goto fail;
    }
    snprintf(q->dir, sizeof q->dir, "/tmp/pagesim-qemu.XXXXXX");
    if (!mkdtemp(q->dir)) {
        snprintf(why, n, "mkdtemp: %s", strerror(errno));
        q->dir[0] = 0;
        goto fail;
    }
    char p[128];
    snprintf(p, sizeof p, "%s/qboot.bin", q->dir);
    if (write_file(p, hwr_qboot_start, (size_t)(hwr_qboot_end - hwr_qboot_start)) < 0) {
        snprintf(why, n, "%s: %s", p, strerror(errno));
        goto fail;
    }
    q->stub = mmap(NULL, STUB_PAGES * PG, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (q->stub == MAP_FAILED) {
        snprintf(why, n, "mmap: %s", strerror(errno));
        goto fail;
    }
    return q;
fail:
    hw_qemu_close(q);
    return NULL;
}

static uint64_t get64(const uint8_t *b, uint64_t off)
{
    uint64_t v;
    memcpy(&v, b + off, 8);
    return v;
}

/* The gpas of the pages the access can change: the walk's paging-structure
 * pages (present RAM ones) and the final page. */
static unsigned path_pages(const struct hw_mem *m, const struct hw_access *a, uint64_t *out)
{
    unsigned n = 0;
    uint64_t t = a->cr3 & 0x000ffffffffff000ULL;
    for (int lvl = a->cr4 & (1ULL << 12) ? 5 : 4; lvl >= 0; lvl--) {
        uint64_t g = t / PG;
        if (g >= m->max_gfn || !m->present[g])
            break;
        out[n++] = t;
        if (lvl == 0)
            break;
        uint64_t e = get64(m->ram, t + 8 * ((a->gva >> (12 + 9 * (lvl - 1))) & 511));
        if (!(e & 1))
            break;
        if ((lvl == 3 || lvl == 2) && (e & 0x80)) {   /* 1 GiB / 2 MiB page */
            uint64_t size = 1ULL << (12 + 9 * (lvl - 1));
            uint64_t gpa = ((e & 0x000ffffffffff000ULL) & ~(size - 1)) | (a->gva & (size - 1));
            t = gpa & ~(PG - 1);
            if (t / PG < m->max_gfn && m->present[t / PG])
                out[n++] = t;
            break;
        }
        t = e & 0x000ffffffffff000ULL;
    }
    return n;
}

void hw_qemu_access(struct hw_qemu *q, struct hw_mem *mem, const struct hw_access *a,
                    unsigned timeout_ms, struct hw_result *r)
{
    memset(r, 0, sizeof *r);
    r->outcome = HW_ERROR;
    uint64_t top = 0;
    for (uint64_t g = 0; g < mem->max_gfn; g++)
        if (mem->present[g])
            top = g + 1;
    uint64_t dumplen = top * PG;
    uint64_t root = a->cr3 & 0x000ffffffffff000ULL, rootgfn = root / PG;
    if (dumplen > QEMU_MAX_RAM) {
        r->outcome = HW_SKIP;
        snprintf(r->msg, sizeof r->msg, "domain RAM above %#x: the QEMU backend's "
                 "layout holds less", QEMU_MAX_RAM);
        return;
    }
    if (rootgfn >= mem->max_gfn || !mem->present[rootgfn]) {
        r->outcome = HW_SKIP;
        snprintf(r->msg, sizeof r->msg, "CR3 %#" PRIx64 " is not in the domain's RAM", a->cr3);
        return;
    }
    uint64_t old511 = get64(mem->ram, root + 8 * STUB_PML4_IDX);
    if (old511) {
        r->outcome = HW_SKIP;
        snprintf(r->msg, sizeof r->msg, "the scenario uses PML4 slot 511, which the "
                 "replay stub needs");
        return;
    }
    /* 4-level: root[511] -> the stub's PDPT; 5-level: -> the identity
     * PML4, whose entry 511 is the stub's PDPT (A preset: no writes) */
    uint64_t e511 = (STUB_GPA_QEMU + (a->cr4 & (1ULL << 12) ? OFF_ID_PML4 : OFF_PDPT)) | 0x27;
    memcpy(mem->ram + root + 8 * STUB_PML4_IDX, &e511, 8);
    char p0[128], p1[128], po[128], pl[128], pk[128], initrd[300];
    snprintf(p0, sizeof p0, "%s/mod0.bin", q->dir);
    snprintf(p1, sizeof p1, "%s/mod1.bin", q->dir);
    snprintf(po, sizeof po, "%s/out.bin", q->dir);
    snprintf(pl, sizeof pl, "%s/qemu.log", q->dir);
    snprintf(pk, sizeof pk, "%s/qboot.bin", q->dir);
    snprintf(initrd, sizeof initrd, "%s,%s", p0, p1);
    uint64_t dump[DUMP_MAX];
    unsigned ndump = path_pages(mem, a, dump);
    hw_build_stub(q->stub, STUB_GPA_QEMU, a, true, dump, ndump);
    int w0 = write_file(p0, mem->ram, dumplen ? dumplen : PG);
    memcpy(mem->ram + root + 8 * STUB_PML4_IDX, &old511, 8);
    if (w0 < 0 || write_file(p1, q->stub, STUB_PAGES * PG) < 0) {
        snprintf(r->msg, sizeof r->msg, "writing the boot modules: %s", strerror(errno));
        return;
    }
    unlink(po);
    char chardev[200];
    snprintf(chardev, sizeof chardev, "file,id=d,path=%s", po);
    /* the vCPU's recorded MAXPHYADDR: TCG checks reserved address bits
     * against phys-bits (its default is 40) */
    char cpu[64] = "max";
    if (a->maxphyaddr >= 32 && a->maxphyaddr <= 52)
        snprintf(cpu, sizeof cpu, "max,phys-bits=%u", a->maxphyaddr);
    char *const argv[] = {
        q->exe, "-accel", "tcg", "-cpu", cpu, "-m", "256", "-nodefaults",
        "-display", "none", "-no-reboot", "-kernel", pk, "-initrd", initrd,
        "-chardev", chardev, "-device", "isa-debugcon,iobase=0xe9,chardev=d",
        "-device", "isa-debug-exit,iobase=0xf4,iosize=4", NULL };
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(r->msg, sizeof r->msg, "fork: %s", strerror(errno));
        return;
    }
    if (pid == 0) {
        int fd = open(pl, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execv(q->exe, argv);
        _exit(127);
    }
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int st = 0;
    for (;;) {
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == pid)
            break;
        clock_gettime(CLOCK_MONOTONIC, &t);
        double ms = (double)(t.tv_sec - t0.tv_sec) * 1e3 + (double)(t.tv_nsec - t0.tv_nsec) / 1e6;
        if (ms > timeout_ms) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            snprintf(r->msg, sizeof r->msg, "guest did not finish within %u ms (hang); "
                     "qemu killed", timeout_ms);
            return;
        }
        struct timespec nap = { 0, 2000000 };
        nanosleep(&nap, NULL);
    }
    /* isa-debug-exit: status (value << 1) | 1 = 1 */
    int fd = open(po, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) < 0 || (uint64_t)sb.st_size != 64 + ndump * PG) {
        snprintf(r->msg, sizeof r->msg, "qemu exited (status %d) with %lld of %" PRIu64
                 " result bytes (triple fault or early exit; see %s)",
                 WIFEXITED(st) ? WEXITSTATUS(st) : -1,
                 fd >= 0 ? (long long)sb.st_size : -1LL, (uint64_t)(64 + ndump * PG), pl);
        if (fd >= 0)
            close(fd);
        return;
    }
    uint8_t res[64];
    ssize_t n = read(fd, res, 64);
    for (unsigned i = 0; n == 64 && i < ndump; i++) {
        if (read(fd, mem->ram + dump[i], PG) != (ssize_t)PG) {
            n = -1;
            break;
        }
    }
    close(fd);
    if (n != 64 || get64(res, 0) != 1) {
        snprintf(r->msg, sizeof r->msg, "qemu: no results from the stub");
        return;
    }
    /* the stub's own root entry is not the scenario's */
    memcpy(mem->ram + root + 8 * STUB_PML4_IDX, &old511, 8);
    hw_decode_result(res, a, r);
}
