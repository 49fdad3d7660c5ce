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
extern const unsigned char hwr_stub32_start[], hwr_stub32_end[];

#define PG 4096ULL
#define STR_(x) #x
#define STR(x) STR_(x)
#define QEMU_RAM_STR STR(QEMU_RAM_MB)

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

static uint32_t get32(const uint8_t *b, uint64_t off)
{
    uint32_t v;
    memcpy(&v, b + off, 4);
    return v;
}

bool hw_legacy_paging(const struct hw_access *a)
{
    return (a->cr0 & 0x80000000ULL) && !(a->efer & 0x100);   /* PG, no LME */
}

/* The walk of a 32-bit or PAE access (SDM 4.3, 4.4) over the RAM copy:
 * the gpas of its paging-structure pages and of the final page, in order
 * (the PAE PDPT's page first).  It stops after a not-present entry or at a
 * gfn that is not RAM; that gfn is listed only when !present_only (the
 * PC-hole check wants it, the dump does not). */
unsigned hw_legacy_path(const struct hw_mem *m, const struct hw_access *a, uint64_t *out,
                        bool present_only)
{
    unsigned n = 0;
    uint32_t va = (uint32_t)a->gva;
    bool pae = a->cr4 & 0x20, pse = a->cr4 & 0x10;
#define LISTED(gpa) ((gpa) / PG < m->max_gfn && m->present[(gpa) / PG])
#define LIST(gpa) do { if (LISTED(gpa) || !present_only) out[n++] = (gpa) & ~(PG - 1); \
                       if (!LISTED(gpa)) return n; } while (0)
    if (!pae) {
        uint64_t dir = a->cr3 & 0xfffff000ULL;
        LIST(dir);
        uint32_t pde = get32(m->ram, dir + 4 * (va >> 22));
        if (!(pde & 1))
            return n;
        if ((pde & 0x80) && pse) {              /* 4 MiB page (PSE-36 off) */
            LIST((uint64_t)((pde & 0xffc00000u) | (va & 0x3fffffu)));
            return n;
        }
        uint64_t pt = pde & 0xfffff000u;
        LIST(pt);
        uint32_t pte = get32(m->ram, pt + 4 * ((va >> 12) & 1023));
        if (pte & 1)
            LIST((uint64_t)(pte & 0xfffff000u));
        return n;
    }
    uint64_t pdpt = a->cr3 & 0xffffffe0ULL, amask = 0x000ffffffffff000ULL;
    LIST(pdpt);
    uint64_t e = get64(m->ram, pdpt + 8 * (va >> 30));
    for (int lvl = 2; lvl >= 0 && (e & 1); lvl--) {
        uint64_t t = e & amask;
        if (lvl == 1 && (e & 0x80)) {           /* 2 MiB page */
            LIST((t & ~0x1fffffULL) | (va & 0x1fffffu));
            return n;
        }
        LIST(t);
        if (lvl == 0)
            return n;
        e = get64(m->ram, t + 8 * ((va >> (12 + 9 * (lvl - 1))) & 511));
    }
#undef LIST
#undef LISTED
    return n;
}

static void put32(uint8_t *b, uint64_t off, uint32_t v) { memcpy(b + off, &v, 4); }
static void put64q(uint8_t *b, uint64_t off, uint64_t v) { memcpy(b + off, &v, 8); }

/* The stub32 region at guest-physical gpa (layout.h): the stub's PT (and
 * PAE PD) for STUB32_VA, GDT with a 32-bit TSS, IDT of 32-bit interrupt
 * gates, params, the identity root, and stub32.bin. */
static void build_stub32(uint8_t *s, uint64_t gpa, const struct hw_access *a,
                         const uint64_t *dump, unsigned ndump)
{
    bool pae = a->cr4 & 0x20;
    memset(s, 0, STUB_PAGES * PG);
    /* supervisor pages but for the user code copy and the user stack, so
     * SMEP/SMAP never apply to the stub's own work */
    for (uint64_t i = 0; i < STUB_PAGES; i++) {
        if (i == OFF_MAGIC / PG)
            continue;
        uint64_t pte = (gpa + i * PG) | 3 | (i == OFF_UCODE / PG || i == OFF_USTACK / PG ? 4 : 0);
        if (pae)
            put64q(s, OFF_PT + 8 * i, pte);
        else
            put32(s, OFF_PT + 4 * i, (uint32_t)pte);
    }
    if (pae)   /* PDPTE 3 of the scenario -> this PD; A preset: no writes */
        put64q(s, OFF_PDPT + 8 * STUB32_PD_IDX, (gpa + OFF_PT) | 0x27);
    /* identity root: the region at its gpa and at STUB32_VA */
    if (pae) {
        for (unsigned i = 0; i < 4; i++)
            put64q(s, OFF_ID_PML4 + 8 * i, (gpa + OFF_ID_PDPT) | 1);
        put64q(s, OFF_ID_PDPT + 8 * ((gpa >> 21) & 511), (gpa + OFF_PT) | 0x23);
        put64q(s, OFF_ID_PDPT + 8 * STUB32_PD_IDX, (gpa + OFF_PT) | 0x23);
    } else {
        put32(s, OFF_ID_PML4 + 4 * (uint32_t)(gpa >> 22), (uint32_t)(gpa + OFF_PT) | 0x23);
        put32(s, OFF_ID_PML4 + 4 * STUB32_PDE_IDX, (uint32_t)(gpa + OFF_PT) | 0x23);
    }
    /* GDT: null, ring-0 code/data, ring-3 data/code (flat, 32-bit), TSS */
    put64q(s, OFF_GDT + 0x08, 0x00cf9a000000ffffULL);
    put64q(s, OFF_GDT + 0x10, 0x00cf92000000ffffULL);
    put64q(s, OFF_GDT + 0x18, 0x00cff2000000ffffULL);
    put64q(s, OFF_GDT + 0x20, 0x00cffa000000ffffULL);
    uint64_t tss = STUB32_VA + OFF_TSS;
    put64q(s, OFF_GDT + 0x28, 0x67 | (tss & 0xffffff) << 16 | 0x89ULL << 40 |
                              ((tss >> 24) & 0xff) << 56);
    put32(s, OFF_TSS + 4, KSTACK32_TOP);    /* ESP0 */
    put32(s, OFF_TSS + 8, SEL_KDATA);       /* SS0 */
    s[OFF_TSS + 0x66] = 0x68;
    for (uint64_t v = 0; v < 32; v++) {
        uint64_t h = STUB32_ENTRY + VEC_OFF + 16 * v;
        put64q(s, OFF_IDT + 8 * v, (h & 0xffff) | (uint64_t)SEL_KCODE << 16 |
                                   0x8eULL << 40 | ((h >> 16) & 0xffff) << 48);
    }
    put64q(s, OFF_PARAMS + 0x00, a->kind);
    put64q(s, OFF_PARAMS + 0x08, (uint32_t)a->gva);   /* 32-bit linear address */
    put64q(s, OFF_PARAMS + 0x10, a->width);
    put64q(s, OFF_PARAMS + 0x18, a->wvalue);
    put64q(s, OFF_PARAMS + 0x20, a->cpl);
    put64q(s, OFF_PARAMS + 0x28, 1);
    put64q(s, OFF_PARAMS + 0x30, (a->cr0 | 0x80000031ULL) & 0xffffffffULL);
    put64q(s, OFF_PARAMS + 0x38, a->cr3 & 0xffffffffULL);
    /* no PCIDE/LA57 outside IA-32e mode; OSFXSR for the SSE movq */
    put64q(s, OFF_PARAMS + 0x40, (a->cr4 & ~((1ULL << 17) | (1ULL << 12))) | 0x200);
    put64q(s, OFF_PARAMS + 0x48, a->efer & 0x800);    /* NXE only */
    put64q(s, OFF_PARAMS + 0x50, gpa + OFF_ID_PML4);
    put64q(s, OFF_PARAMS + 0x58, ndump);
    for (unsigned i = 0; i < ndump && i < DUMP_MAX; i++)
        put64q(s, OFF_PARAMS + 0x80 + 8 * i, dump[i]);
    uint16_t gl = 0x2f, il = 32 * 8 - 1;
    uint32_t gb = STUB32_VA + OFF_GDT, ib = STUB32_VA + OFF_IDT, gp = (uint32_t)(gpa + OFF_GDT);
    memcpy(s + OFF_PARAMS + 0x60, &gl, 2);
    memcpy(s + OFF_PARAMS + 0x62, &gb, 4);
    memcpy(s + OFF_PARAMS + 0x70, &il, 2);
    memcpy(s + OFF_PARAMS + 0x72, &ib, 4);
    memcpy(s + P32_GDTR0, &gl, 2);
    memcpy(s + P32_GDTR0 + 2, &gp, 4);
    put64q(s, OFF_PARAMS + 0xd0, 2 | (a->rflags & (1ULL << 18)));
    put64q(s, P32_MODE, 1);
    memcpy(s + OFF_CODE, hwr_stub32_start, (size_t)(hwr_stub32_end - hwr_stub32_start));
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
    /* The stub's slot in the scenario's root.  4-level: root[511] -> the
     * stub's PDPT; 5-level: -> the identity PML4, whose entry 511 is the
     * stub's PDPT (A preset: no writes).  32-bit: PDE 1023 -> the stub's
     * PT (4 bytes, A preset); PAE: PDPTE 3 -> the stub's PD (PDPTEs have
     * only P and the address, SDM 4.4.1). */
    bool legacy = hw_legacy_paging(a), pae = a->cr4 & 0x20;
    uint64_t slot = root + 8 * STUB_PML4_IDX, e511;
    size_t slen = 8;
    if (legacy && !pae) {
        slot = root + 4 * STUB32_PDE_IDX;
        slen = 4;
        e511 = (STUB_GPA_QEMU + OFF_PT) | 0x27;
    } else if (legacy) {
        slot = (a->cr3 & 0xffffffe0ULL) + 8 * STUB32_PDPTE;
        e511 = (STUB_GPA_QEMU + OFF_PDPT) | 1;
    } else {
        e511 = (STUB_GPA_QEMU + (a->cr4 & (1ULL << 12) ? OFF_ID_PML4 : OFF_PDPT)) | 0x27;
    }
    uint64_t old511 = 0;
    memcpy(&old511, mem->ram + slot, slen);
    if (old511) {
        r->outcome = HW_SKIP;
        snprintf(r->msg, sizeof r->msg, "%s", !legacy ? "the scenario uses PML4 slot 511, "
                 "which the replay stub needs" : pae ? "the scenario uses PDPTE 3 (the top "
                 "GiB), which the replay stub needs" : "the scenario uses PDE 1023 (the top "
                 "4 MiB), which the replay stub needs");
        return;
    }
    if (legacy && ((uint32_t)a->gva >> 22) == STUB32_PDE_IDX) {
        r->outcome = HW_SKIP;
        snprintf(r->msg, sizeof r->msg, "the access is in the top 4 MiB of the linear "
                 "space, where the replay stub lives");
        return;
    }
    memcpy(mem->ram + slot, &e511, slen);
    char p0[128], p1[128], po[128], pl[128], pk[128], initrd[300];
    snprintf(p0, sizeof p0, "%s/mod0.bin", q->dir);
    snprintf(p1, sizeof p1, "%s/mod1.bin", q->dir);
    snprintf(po, sizeof po, "%s/out.bin", q->dir);
    snprintf(pl, sizeof pl, "%s/qemu.log", q->dir);
    snprintf(pk, sizeof pk, "%s/qboot.bin", q->dir);
    snprintf(initrd, sizeof initrd, "%s,%s", p0, p1);
    uint64_t dump[DUMP_MAX];
    unsigned ndump;
    if (legacy) {
        ndump = hw_legacy_path(mem, a, dump, true);
        build_stub32(q->stub, STUB_GPA_QEMU, a, dump, ndump);
    } else {
        ndump = path_pages(mem, a, dump);
        hw_build_stub(q->stub, STUB_GPA_QEMU, a, true, dump, ndump);
    }
    int w0 = write_file(p0, mem->ram, dumplen ? dumplen : PG);
    memcpy(mem->ram + slot, &old511, slen);
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
    if (a->cr4 & (1ULL << 24))   /* CR4.PKS: TCG has PKS (IA32_PKRS) */
        snprintf(cpu + strlen(cpu), sizeof cpu - strlen(cpu), ",+pks");
    char *const argv[] = {
        q->exe, "-accel", "tcg", "-cpu", cpu, "-m", QEMU_RAM_STR, "-nodefaults",
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
    memcpy(mem->ram + slot, &old511, slen);
    hw_decode_result(res, a, legacy, r);
}
