/* SPDX-License-Identifier: MIT */
/*
 * hw-replay/kvm.c - the KVM backend: one recorded guest access in a fresh
 * VM whose memory is the domain's RAM (see hwreplay.h, layout.h and
 * ../shared/reference/kvm-here.md for what /dev/kvm does on these hosts).
 *
 * A fresh VM per access keeps the rule of kvm-here.md section 3 trivially:
 * the VMM never edits guest page tables while a VM lives (the shadow MMU
 * would go stale).  Creating a VM costs about 1.4 ms here.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/kvm.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "hwreplay.h"
#include "layout.h"

extern const unsigned char hwr_stub_start[], hwr_stub_end[];

#define PG 4096ULL
#define E_P 1ULL
#define E_W 2ULL
#define E_U 4ULL

struct hw_kvm {
    int kvm;
    int run_size;
    struct kvm_cpuid2 *cpuid;
    struct kvm_cpuid_entry2 *leaf_80000008; /* address sizes, or NULL */
    uint32_t phys_bits;                     /* as KVM reports them */
    uint8_t *stub; /* STUB_PAGES pages */
    char uffd_why[200]; /* empty: userfaultfd works here */
    /* The VM of the previous access, kept for the next one when nothing
     * but the stub's parameters has to change (see vm_reusable()). */
    bool reuse;
    struct {
        int vm, vcpu;
        struct kvm_run *run;
        const uint8_t *ram;      /* the hw_mem it was built over */
        uint64_t max_gfn, root;
        bool dirty;
        uint32_t phys;           /* the MAXPHYADDR in its CPUID */
        uint8_t *present;        /* copies: the memslots it has */
        uint8_t *after;          /* guest RAM as KVM left it */
    } live;
    uint64_t reused, fresh;
};

static void live_close(struct hw_kvm *k)
{
    if (k->live.run && k->live.run != MAP_FAILED)
        munmap(k->live.run, (size_t)k->run_size);
    if (k->live.vcpu >= 0)
        close(k->live.vcpu);
    if (k->live.vm >= 0)
        close(k->live.vm);
    free(k->live.present);
    if (k->live.after)
        munmap(k->live.after, k->live.max_gfn * 4096);
    memset(&k->live, 0, sizeof k->live);
    k->live.vm = k->live.vcpu = -1;
}

void hw_kvm_set_reuse(struct hw_kvm *k, bool on)
{
    k->reuse = on;
    if (!on)
        live_close(k);
}

void hw_kvm_counts(const struct hw_kvm *k, uint64_t *fresh, uint64_t *reused)
{
    *fresh = k->fresh;
    *reused = k->reused;
}

static volatile sig_atomic_t timed_out;
static void on_alarm(int sig) { (void)sig; timed_out = 1; }

static struct kvm_cpuid2 *supported_cpuid(int kvm)
{
    for (unsigned n = 64; n <= 1024; n *= 2) {
        struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));
        if (!c)
            return NULL;
        c->nent = n;
        if (ioctl(kvm, KVM_GET_SUPPORTED_CPUID, c) == 0)
            return c;
        free(c);
        if (errno != E2BIG)
            return NULL;
    }
    return NULL;
}

/* ---- userfaultfd: the pager for paged-out gfns ---------------------------
 * A paged-out gfn is what Xen's mem paging leaves behind: no frame, and the
 * next touch (by the guest or by the hypervisor on its behalf) asks the
 * pager for the contents (p2m_mem_paging_populate(), answered by the pager
 * with XENMEM_paging_op_prep and a resume).  Here the frame is a dropped
 * page (MADV_DONTNEED) under userfaultfd in missing mode; the first touch,
 * by the CPU at CPL3 or by KVM's emulator and walker at CPL0 (both go
 * through this process's mapping), blocks until the pager thread below
 * answers with UFFDIO_COPY -- the order of those faults is the order of
 * the populate requests. */
static int uffd_open(char *why, size_t n)
{
    int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
    int e = errno;
    if (fd < 0) {
        /* vm.unprivileged_userfaultfd = 0 without CAP_SYS_PTRACE: the
         * device node (Linux 6.1+) may still be open to this user */
        int dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
        if (dev >= 0) {
            fd = ioctl(dev, USERFAULTFD_IOC_NEW, O_CLOEXEC | O_NONBLOCK);
            close(dev);
        }
    }
    if (fd < 0) {
        snprintf(why, n, "userfaultfd(2): %s, and /dev/userfaultfd is not usable "
                 "(as non-root: sysctl vm.unprivileged_userfaultfd=1, or access to "
                 "/dev/userfaultfd)", strerror(e));
        return -1;
    }
    struct uffdio_api api = { .api = UFFD_API };
    if (ioctl(fd, UFFDIO_API, &api) < 0) {
        snprintf(why, n, "UFFDIO_API: %s", strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

int hw_kvm_uffd_ok(const struct hw_kvm *k, char *why, size_t n)
{
    if (!k->uffd_why[0])
        return 0;
    snprintf(why, n, "%s", k->uffd_why);
    return -1;
}

struct uffd_pager {
    int fd, stop[2];
    uint8_t *ram;
    const uint8_t *saved;  /* the contents to give, indexed like ram */
    uint64_t npages;
    struct hw_result *r;
    uint8_t *hit;          /* per gfn: the guest faulted it in */
    int err;               /* errno of a failed read/UFFDIO_COPY, or 0 */
    uint64_t bad_addr;     /* a fault outside ram */
};

static void *uffd_pager_main(void *arg)
{
    struct uffd_pager *p = arg;
    for (;;) {
        struct pollfd pf[2] = { { p->fd, POLLIN, 0 }, { p->stop[0], POLLIN, 0 } };
        if (poll(pf, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            p->err = errno;
            return NULL;
        }
        if (pf[0].revents & POLLIN) {
            struct uffd_msg msg;
            ssize_t got = read(p->fd, &msg, sizeof msg);
            if (got != (ssize_t)sizeof msg) {
                if (got < 0 && (errno == EAGAIN || errno == EINTR))
                    continue;
                p->err = got < 0 ? errno : EIO;
                return NULL;
            }
            if (msg.event != UFFD_EVENT_PAGEFAULT)
                continue;
            uint64_t addr = msg.arg.pagefault.address & ~(PG - 1);
            uint64_t g = (addr - (uintptr_t)p->ram) / PG;
            if (addr < (uintptr_t)p->ram || g >= p->npages) {
                p->bad_addr = addr;
                continue;
            }
            p->hit[g] = 1;
            if (p->r->uffd_n < HW_UFFD_MAX)
                p->r->uffd_gfn[p->r->uffd_n] = g;
            p->r->uffd_n++;
            struct uffdio_copy c = { .dst = addr, .src = (uintptr_t)(p->saved + g * PG),
                                     .len = PG, .mode = 0 };
            if (ioctl(p->fd, UFFDIO_COPY, &c) < 0 && errno != EEXIST)
                p->err = errno;
        }
        if (pf[1].revents)
            return NULL;
    }
}

/* Drop the uffd pages of mem and start the pager; 0, or -1 with r->msg. */
static int uffd_start(struct uffd_pager *p, pthread_t *thr, struct hw_mem *mem,
                      struct hw_result *r)
{
    char why[200];
    memset(p, 0, sizeof *p);
    p->stop[0] = p->stop[1] = -1;
    p->ram = mem->ram;
    p->npages = mem->max_gfn;
    p->r = r;
    p->fd = uffd_open(why, sizeof why);
    if (p->fd < 0) {
        snprintf(r->msg, sizeof r->msg, "%s", why);
        return -1;
    }
    uint8_t *saved = mmap(NULL, mem->max_gfn * PG, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (saved == MAP_FAILED) {
        snprintf(r->msg, sizeof r->msg, "mmap for the pager's copy: %s", strerror(errno));
        return -1;
    }
    p->saved = saved;
    p->hit = calloc(mem->max_gfn, 1);
    if (!p->hit) {
        snprintf(r->msg, sizeof r->msg, "out of memory");
        return -1;
    }
    for (uint64_t g = 0; g < mem->max_gfn; g++)
        if (mem->uffd[g])
            memcpy(saved + g * PG, mem->ram + g * PG, PG);
    struct uffdio_register rg = {
        .range = { .start = (uintptr_t)mem->ram, .len = mem->max_gfn * PG },
        .mode = UFFDIO_REGISTER_MODE_MISSING };
    if (ioctl(p->fd, UFFDIO_REGISTER, &rg) < 0) {
        snprintf(r->msg, sizeof r->msg, "UFFDIO_REGISTER: %s", strerror(errno));
        return -1;
    }
    for (uint64_t g = 0; g < mem->max_gfn; g++)
        if (mem->uffd[g] && madvise(mem->ram + g * PG, PG, MADV_DONTNEED) < 0) {
            snprintf(r->msg, sizeof r->msg, "MADV_DONTNEED gfn %#" PRIx64 ": %s", g,
                     strerror(errno));
            return -1;
        }
    if (pipe2(p->stop, O_CLOEXEC) < 0) {
        snprintf(r->msg, sizeof r->msg, "pipe: %s", strerror(errno));
        return -1;
    }
    /* the pager thread must not take the SIGALRM meant to end KVM_RUN */
    sigset_t al, old;
    sigemptyset(&al);
    sigaddset(&al, SIGALRM);
    pthread_sigmask(SIG_BLOCK, &al, &old);
    int e = pthread_create(thr, NULL, uffd_pager_main, p);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (e) {
        snprintf(r->msg, sizeof r->msg, "pthread_create: %s", strerror(e));
        return -1;
    }
    return 1;
}

/* Stop the pager, unregister, and put back the pages nobody touched (a
 * missing page reads as zeros once unregistered). */
static void uffd_stop(struct uffd_pager *p, pthread_t *thr, bool running,
                      struct hw_mem *mem, struct hw_result *r)
{
    if (running) {
        char c = 1;
        if (write(p->stop[1], &c, 1) != 1)
            pthread_cancel(*thr);
        pthread_join(*thr, NULL);
    }
    if (p->fd >= 0) {
        struct uffdio_range rg = { .start = (uintptr_t)mem->ram, .len = mem->max_gfn * PG };
        ioctl(p->fd, UFFDIO_UNREGISTER, &rg);
        close(p->fd);
    }
    if (p->saved) {
        for (uint64_t g = 0; g < mem->max_gfn; g++)
            if (mem->uffd[g] && (!p->hit || !p->hit[g]))
                memcpy(mem->ram + g * PG, p->saved + g * PG, PG);
        munmap((void *)p->saved, mem->max_gfn * PG);
    }
    free(p->hit);
    if (p->stop[0] >= 0)
        close(p->stop[0]);
    if (p->stop[1] >= 0)
        close(p->stop[1]);
    if (r->outcome != HW_ERROR && (p->err || p->bad_addr)) {
        r->outcome = HW_ERROR;
        if (p->err)
            snprintf(r->msg, sizeof r->msg, "userfaultfd pager: %s", strerror(p->err));
        else
            snprintf(r->msg, sizeof r->msg, "userfaultfd fault at %#" PRIx64
                     " outside the guest's memory", p->bad_addr);
    }
}

void hw_kvm_close(struct hw_kvm *k)
{
    if (!k)
        return;
    live_close(k);
    if (k->kvm >= 0)
        close(k->kvm);
    free(k->cpuid);
    if (k->stub && k->stub != MAP_FAILED)
        munmap(k->stub, STUB_PAGES * PG);
    free(k);
}

struct hw_kvm *hw_kvm_open(char *why, size_t n)
{
    struct hw_kvm *k = calloc(1, sizeof(*k));
    if (!k) {
        snprintf(why, n, "out of memory");
        return NULL;
    }
    k->live.vm = k->live.vcpu = -1;
    /* PAGESIM_KVM_DEV: another device path, for testing the SKIP path */
    const char *dev = getenv("PAGESIM_KVM_DEV");
    if (!dev || !*dev)
        dev = "/dev/kvm";
    k->kvm = open(dev, O_RDWR | O_CLOEXEC);
    if (k->kvm < 0) {
        snprintf(why, n, "cannot open %s: %s", dev, strerror(errno));
        goto fail;
    }
    int v = ioctl(k->kvm, KVM_GET_API_VERSION, 0);
    if (v != KVM_API_VERSION) {
        snprintf(why, n, "/dev/kvm API version %d, need %d", v, KVM_API_VERSION);
        goto fail;
    }
    k->run_size = ioctl(k->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
    k->cpuid = supported_cpuid(k->kvm);
    if (k->run_size <= 0 || !k->cpuid) {
        snprintf(why, n, "KVM_GET_VCPU_MMAP_SIZE/KVM_GET_SUPPORTED_CPUID failed: %s",
                 strerror(errno));
        goto fail;
    }
    for (uint32_t i = 0; i < k->cpuid->nent; i++)
        if (k->cpuid->entries[i].function == 0x80000008) {
            k->leaf_80000008 = &k->cpuid->entries[i];
            k->phys_bits = k->leaf_80000008->eax & 0xff;
        }
    int vm = ioctl(k->kvm, KVM_CREATE_VM, 0);
    if (vm < 0) {
        snprintf(why, n, "KVM_CREATE_VM failed: %s", strerror(errno));
        goto fail;
    }
    int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
    int e = errno;
    if (vcpu >= 0)
        close(vcpu);
    close(vm);
    if (vcpu < 0) {
        snprintf(why, n, "KVM_CREATE_VCPU failed: %s", strerror(e));
        goto fail;
    }
    k->stub = mmap(NULL, STUB_PAGES * PG, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (k->stub == MAP_FAILED) {
        snprintf(why, n, "mmap: %s", strerror(errno));
        goto fail;
    }
    if ((size_t)(hwr_stub_end - hwr_stub_start) > STUB_PAGES * PG - OFF_CODE) {
        snprintf(why, n, "stub.bin too large");
        goto fail;
    }
    /* userfaultfd (paged-out gfns): if it cannot work here, those accesses
     * are skipped with this reason */
    int uf = uffd_open(k->uffd_why, sizeof k->uffd_why);
    if (uf >= 0) {
        close(uf);
        k->uffd_why[0] = 0;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm; /* no SA_RESTART: KVM_RUN returns EINTR */
    sigaction(SIGALRM, &sa, NULL);
    return k;
fail:
    hw_kvm_close(k);
    return NULL;
}

static void put64(uint8_t *base, uint64_t off, uint64_t v)
{
    memcpy(base + off, &v, 8);
}

static uint64_t get64(const uint8_t *base, uint64_t off)
{
    uint64_t v;
    memcpy(&v, base + off, 8);
    return v;
}

int hw_free_pkey(uint32_t pkru)
{
    for (int k = 0; k < 16; k++)
        if (!((pkru >> (2 * k)) & 3))
            return k;
    return -1;
}

/* The stub region at guest-physical gpa: its page tables, GDT+TSS, IDT,
 * params, stacks, code; in QEMU mode also the identity tables and the
 * recorded control registers for the stub to load. */
void hw_build_stub(uint8_t *s, uint64_t gpa, const struct hw_access *a, bool qemu,
                   const uint64_t *dump, unsigned ndump)
{
    memset(s, 0, STUB_PAGES * PG);
    put64(s, OFF_PDPT + 8 * STUB_PDPT_IDX, (gpa + OFF_PD) | E_P | E_W | E_U);
    put64(s, OFF_PD, (gpa + OFF_PT) | E_P | E_W | E_U);
    /* supervisor pages, except the user copy of the access code and the
     * user stack: SMEP/SMAP never apply to the stub's own CPL0 work */
    /* ... and under CR4.PKE the user pages carry a key PKRU leaves open
     * (PTE bits 62:59, SDM 4.6.2), so only the recorded access is checked */
    int pk = hw_free_pkey(a->pkru);
    uint64_t ukey = (a->cr4 & (1ULL << 22)) && pk > 0 ? (uint64_t)pk << 59 : 0;
    /* ... and under CR4.PKS the supervisor pages (and the identity map the
     * QEMU dump reads through) a key IA32_PKRS leaves open */
    int sk = hw_free_pkey(a->pkrs);
    uint64_t skey = (a->cr4 & (1ULL << 24)) && sk > 0 ? (uint64_t)sk << 59 : 0;
    for (uint64_t i = 0; i < STUB_PAGES; i++)
        if (i != OFF_MAGIC / PG)
            put64(s, OFF_PT + 8 * i, (gpa + i * PG) | E_P | E_W |
                  (i == OFF_UCODE / PG || i == OFF_USTACK / PG ? E_U | ukey : skey));
    /* GDT: null, kernel code, kernel data, user data, user code, TSS */
    put64(s, OFF_GDT + 0x08, 0x00209a0000000000ULL);
    put64(s, OFF_GDT + 0x10, 0x00cf92000000ffffULL);
    put64(s, OFF_GDT + 0x18, 0x00cff2000000ffffULL);
    put64(s, OFF_GDT + 0x20, 0x0020fa0000000000ULL);
    uint64_t tss = STUB_VA + OFF_TSS;
    put64(s, OFF_GDT + 0x28, 0x67 | (tss & 0xffffff) << 16 | 0x89ULL << 40 |
                             ((tss >> 24) & 0xff) << 56);
    put64(s, OFF_GDT + 0x30, tss >> 32);
    /* kind 5: an LDT at the gva (limit 7: one descriptor), see stub.S */
    put64(s, OFF_GDT + SEL_LDT, 0x7 | (a->gva & 0xffffff) << 16 | 0x82ULL << 40 |
                                ((a->gva >> 24) & 0xff) << 56);
    put64(s, OFF_GDT + SEL_LDT + 8, a->gva >> 32);
    put64(s, OFF_TSS + 4, KSTACK_TOP);         /* RSP0 */
    put64(s, OFF_TSS + 0x24, KSTACK_TOP);      /* IST1 */
    s[OFF_TSS + 0x66] = 0x68;
    for (uint64_t v = 0; v < 32; v++) {
        uint64_t h = STUB_ENTRY + VEC_OFF + 16 * v;
        put64(s, OFF_IDT + 16 * v, (h & 0xffff) | (uint64_t)SEL_KCODE << 16 |
                                   1ULL << 32 | 0x8eULL << 40 | ((h >> 16) & 0xffff) << 48);
        put64(s, OFF_IDT + 16 * v + 8, h >> 32);
    }
    put64(s, OFF_PARAMS + 0x00, a->kind);
    put64(s, OFF_PARAMS + 0x08, a->gva);
    put64(s, OFF_PARAMS + 0x10, a->width);
    put64(s, OFF_PARAMS + 0x18, a->wvalue);
    put64(s, OFF_PARAMS + 0x20, a->cpl);
    put64(s, OFF_PARAMS + 0xc8, a->lcg);
    put64(s, OFF_PARAMS + 0xd0, 2 | (a->rflags & (1ULL << 18)));
    put64(s, OFF_PARAMS + 0xd8, a->pkru);
    put64(s, OFF_PARAMS + 0xf0, a->pkrs);
    if (qemu) {
        put64(s, OFF_PARAMS + 0x28, 1);
        put64(s, OFF_PARAMS + 0x30, a->cr0 | 0x80000031ULL);
        put64(s, OFF_PARAMS + 0x38, a->cr3);
        put64(s, OFF_PARAMS + 0x40, a->cr4 | 0x20);
        put64(s, OFF_PARAMS + 0x48, a->efer | 0x500);
        bool la57 = a->cr4 & (1ULL << 12);
        put64(s, OFF_PARAMS + 0x50, gpa + (la57 ? OFF_ID_PML5 : OFF_ID_PML4));
        put64(s, OFF_PARAMS + 0x58, ndump);
        for (unsigned i = 0; i < ndump && i < DUMP_MAX; i++)
            put64(s, OFF_PARAMS + 0x80 + 8 * i, dump[i]);
        uint16_t gl = GDT_LIMIT, il = 32 * 16 - 1;
        uint64_t gb = STUB_VA + OFF_GDT, ib = STUB_VA + OFF_IDT;
        memcpy(s + OFF_PARAMS + 0x60, &gl, 2);
        memcpy(s + OFF_PARAMS + 0x62, &gb, 8);
        memcpy(s + OFF_PARAMS + 0x70, &il, 2);
        memcpy(s + OFF_PARAMS + 0x72, &ib, 8);
        /* identity map of 0..1 GiB with 2 MiB pages, and slot 511 */
        put64(s, OFF_ID_PML4, (gpa + OFF_ID_PDPT) | E_P | E_W);
        put64(s, OFF_ID_PML4 + 8 * STUB_PML4_IDX, (gpa + OFF_PDPT) | E_P | E_W | E_U | 0x20);
        put64(s, OFF_ID_PDPT, (gpa + OFF_ID_PD) | E_P | E_W);
        for (uint64_t i = 0; i < 512; i++)
            put64(s, OFF_ID_PD + 8 * i, (i << 21) | E_P | E_W | 0x80 | skey);
        put64(s, OFF_ID_PML5, (gpa + OFF_ID_PML4) | E_P | E_W);
        put64(s, OFF_ID_PML5 + 8 * STUB_PML4_IDX, (gpa + OFF_ID_PML4) | E_P | E_W | E_U | 0x20);
    }
    memcpy(s + OFF_CODE, hwr_stub_start, (size_t)(hwr_stub_end - hwr_stub_start));
}

/* The results block (R_STATUS.., 64 bytes) of stub.S, or with stub32 of
 * stub32.S (QEMU's 32-bit/PAE replay), -> outcome.  Both stubs end a
 * completed read or write with a #PF at their marker page (MAGIC_VA,
 * MAGIC32_VA), so a #PF elsewhere is the access's own.  A fetch faulted
 * when the #PF came at the gva itself; stub32 also wants CR2 == gva (its
 * completed fetch runs the bytes at the gva, which then fault at
 * MAGIC32_VA with EIP still the gva).  stub32 addresses are 32 bits. */
void hw_decode_result(const uint8_t *res, const struct hw_access *a, bool stub32,
                      struct hw_result *r)
{
    uint64_t vec = get64(res, 0x08), ec = get64(res, 0x10), ip = get64(res, 0x18),
             cr2 = get64(res, 0x28), va = stub32 ? (uint32_t)a->gva : a->gva;
    if (a->kind == 2) {
        if (vec == 14 && ip == va && (!stub32 || cr2 == va)) {
            r->outcome = HW_PF;
            r->ec = (uint32_t)ec;
            r->cr2 = cr2;
        } else {
            r->outcome = HW_OK;
            r->vector = (unsigned)vec;
        }
    } else if (vec == 14 && cr2 == (stub32 ? MAGIC32_VA : MAGIC_VA)) {
        r->outcome = HW_OK;
        r->value = get64(res, 0x30);
    } else if (vec == 14) {
        r->outcome = HW_PF;
        r->ec = (uint32_t)ec;
        r->cr2 = cr2;
    } else {
        r->outcome = HW_ERROR;
        snprintf(r->msg, sizeof r->msg, "unexpected exception %" PRIu64
                 " (error code %#" PRIx64 ") at %s %#" PRIx64, vec, ec,
                 stub32 ? "eip" : "rip", ip);
    }
}

static void seg(struct kvm_segment *sg, uint16_t sel, uint8_t type, uint8_t dpl,
                bool code)
{
    memset(sg, 0, sizeof *sg);
    sg->selector = sel;
    sg->limit = 0xffffffff;
    sg->type = type;
    sg->present = 1;
    sg->dpl = dpl;
    sg->s = 1;
    sg->l = code;
    sg->db = !code;
    sg->g = 1;
}

#define RES(off) get64(k->stub, OFF_PARAMS + 0x100 + (off))

/* Can the previous access's VM run this one?  Only when the VMM would
 * change no guest memory at all: the same RAM copy, memslots, root and
 * CPUID, and every RAM byte as KVM left it (the model agreed on all the
 * A/D bits and data, and the scenario edited nothing in between).  Then
 * the rule of kvm-here.md section 3 holds as for a fresh VM, and only the
 * stub's parameters and the registers change. */
static bool vm_reusable(const struct hw_kvm *k, const struct hw_mem *mem, uint64_t root,
                        uint32_t phys)
{
    if (!k->reuse || k->live.vm < 0 || mem->uffd || k->live.ram != mem->ram ||
        k->live.max_gfn != mem->max_gfn || k->live.root != root ||
        k->live.dirty != !!mem->dirty || k->live.phys != phys ||
        memcmp(k->live.present, mem->present, mem->max_gfn))
        return false;
    for (uint64_t g = 0; g < mem->max_gfn; g++)
        if (mem->present[g] && memcmp(k->live.after + g * PG, mem->ram + g * PG, PG))
            return false;
    return true;
}

void hw_kvm_access(struct hw_kvm *k, struct hw_mem *mem,
                   const struct hw_access *a, unsigned timeout_ms,
                   struct hw_result *r)
{
    memset(r, 0, sizeof *r);
    r->outcome = HW_ERROR;
    uint64_t root = a->cr3 & 0x000ffffffffff000ULL, rootgfn = root / PG;
    if (rootgfn >= mem->max_gfn || !mem->present[rootgfn]) {
        r->outcome = HW_SKIP;
        snprintf(r->msg, sizeof r->msg, "CR3 %#" PRIx64 " is not in the domain's RAM",
                 a->cr3);
        return;
    }
    uint64_t old511 = get64(mem->ram, root + 8 * STUB_PML4_IDX);
    if (old511) {
        r->outcome = HW_SKIP;
        snprintf(r->msg, sizeof r->msg, "the scenario uses PML4 slot 511, which the "
                 "replay stub needs");
        return;
    }
    /* A pre-set: the stub's own walks must not write (or dirty) the root page */
    put64(mem->ram, root + 8 * STUB_PML4_IDX, (STUB_GPA + OFF_PDPT) | E_P | E_W | E_U | 0x20);
    hw_build_stub(k->stub, STUB_GPA, a, false, NULL, 0);

    int vm = -1, vcpu = -1;
    struct kvm_run *run = MAP_FAILED;
    uint32_t phys = a->maxphyaddr ? a->maxphyaddr : k->phys_bits;
    bool reused = vm_reusable(k, mem, root, phys);
    if (reused) {
        vm = k->live.vm;
        vcpu = k->live.vcpu;
        run = k->live.run;
        k->live.vm = k->live.vcpu = -1;
        k->live.run = MAP_FAILED;
        k->reused++;
    } else {
        live_close(k);
        k->fresh++;
    }
    struct uffd_pager up = { .fd = -1, .stop = { -1, -1 } };
    pthread_t upthr;
    bool uffd_running = false;
    if (mem->uffd) {
        /* after the slot-511 patch: the pager's copy of a paged-out root
         * carries it, as the guest must see it */
        int st = uffd_start(&up, &upthr, mem, r);
        uffd_running = st > 0;
        if (st < 0)
            goto out;
    }
    if (reused)
        goto regs;
    vm = ioctl(k->kvm, KVM_CREATE_VM, 0);
    if (vm < 0) {
        snprintf(r->msg, sizeof r->msg, "KVM_CREATE_VM: %s", strerror(errno));
        goto out;
    }
    uint32_t slot = 0;
    for (uint64_t g = 0; g < mem->max_gfn;) {
        if (!mem->present[g]) {
            g++;
            continue;
        }
        uint64_t e = g;
        while (e < mem->max_gfn && mem->present[e])
            e++;
        struct kvm_userspace_memory_region rg = {
            .slot = slot++, .guest_phys_addr = g * PG, .memory_size = (e - g) * PG,
            .flags = mem->dirty ? KVM_MEM_LOG_DIRTY_PAGES : 0,
            .userspace_addr = (uintptr_t)(mem->ram + g * PG) };
        if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &rg) < 0) {
            snprintf(r->msg, sizeof r->msg, "KVM_SET_USER_MEMORY_REGION gfns %#" PRIx64
                     "-%#" PRIx64 ": %s", g, e - 1, strerror(errno));
            goto out;
        }
        g = e;
    }
    struct kvm_userspace_memory_region srg = {
        .slot = slot, .guest_phys_addr = STUB_GPA, .memory_size = STUB_PAGES * PG,
        .userspace_addr = (uintptr_t)k->stub };
    if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &srg) < 0) {
        snprintf(r->msg, sizeof r->msg, "stub memslot: %s", strerror(errno));
        goto out;
    }
    /* The recorded MAXPHYADDR (CPUID 0x80000008 EAX[7:0]): with shadow
     * paging KVM checks the guest's reserved address bits against the
     * guest's CPUID, so a scenario's MAXPHYADDR is replayed as such, not
     * the host's (which differs between these machines: 46 or 48). */
    if (k->leaf_80000008)
        k->leaf_80000008->eax = (k->leaf_80000008->eax & ~0xffu) | phys;
    vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
    if (vcpu < 0 || ioctl(vcpu, KVM_SET_CPUID2, k->cpuid) < 0) {
        snprintf(r->msg, sizeof r->msg, "vCPU setup: %s", strerror(errno));
        goto out;
    }
    run = mmap(NULL, (size_t)k->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
    if (run == MAP_FAILED) {
        snprintf(r->msg, sizeof r->msg, "mmap kvm_run: %s", strerror(errno));
        goto out;
    }
regs:;
    struct kvm_sregs sr;
    if (ioctl(vcpu, KVM_GET_SREGS, &sr) < 0)
        goto sregs_fail;
    seg(&sr.cs, SEL_KCODE, 11, 0, true);
    seg(&sr.ds, SEL_KDATA, 3, 0, false);
    sr.es = sr.fs = sr.gs = sr.ss = sr.ds;
    memset(&sr.tr, 0, sizeof sr.tr);
    sr.tr.base = STUB_VA + OFF_TSS;
    sr.tr.limit = 0x67;
    sr.tr.selector = SEL_TSS;
    sr.tr.type = 11;
    sr.tr.present = 1;
    sr.gdt.base = STUB_VA + OFF_GDT;
    sr.gdt.limit = GDT_LIMIT;
    sr.idt.base = STUB_VA + OFF_IDT;
    sr.idt.limit = 32 * 16 - 1;
    sr.cr0 = a->cr0 | 0x80000031ULL;          /* PG, NE, ET, PE */
    sr.cr3 = a->cr3;
    sr.cr4 = a->cr4 | 0x20;                   /* PAE */
    sr.efer = a->efer | 0x500;                /* LME, LMA */
    if (ioctl(vcpu, KVM_SET_SREGS, &sr) < 0)
        goto sregs_fail;
    struct kvm_regs rg;
    memset(&rg, 0, sizeof rg);
    rg.rip = STUB_ENTRY;
    rg.rsp = KSTACK_TOP;
    rg.rflags = 2;
    if (ioctl(vcpu, KVM_SET_REGS, &rg) < 0)
        goto sregs_fail;

    timed_out = 0;
    struct itimerval it = { .it_value = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 } };
    setitimer(ITIMER_REAL, &it, NULL);
    for (unsigned exits = 0;; exits++) {
        if (timed_out) {
            snprintf(r->msg, sizeof r->msg, "guest did not finish within %u ms "
                     "(hang)", timeout_ms);
            break;
        }
        if (exits > 64) {
            snprintf(r->msg, sizeof r->msg, "more than 64 exits to the VMM");
            break;
        }
        if (ioctl(vcpu, KVM_RUN, 0) < 0) {
            if (errno == EINTR)
                continue;
            snprintf(r->msg, sizeof r->msg, "KVM_RUN: %s", strerror(errno));
            break;
        }
        if (run->exit_reason == KVM_EXIT_MMIO) {
            if (!r->mmio_exits++)
                r->mmio_gpa = run->mmio.phys_addr;
            if (!run->mmio.is_write)
                memset(run->mmio.data, 0xff, sizeof run->mmio.data);
            continue;
        }
        if (run->exit_reason == KVM_EXIT_HLT) {
            if (!RES(0x00)) {
                if (a->kind == 2) { /* the fetched bytes were a hlt */
                    r->outcome = HW_OK;
                    r->vector = 256;
                } else {
                    snprintf(r->msg, sizeof r->msg, "guest halted without a result");
                }
                break;
            }
            hw_decode_result(k->stub + OFF_PARAMS + 0x100, a, false, r);
            if (r->mmio_exits && r->outcome == HW_OK)
                r->outcome = HW_MMIO;
            break;
        }
        if (run->exit_reason == KVM_EXIT_SHUTDOWN) {
            snprintf(r->msg, sizeof r->msg, "guest triple-faulted (KVM_EXIT_SHUTDOWN)");
        } else if (run->exit_reason == KVM_EXIT_INTERNAL_ERROR) {
            snprintf(r->msg, sizeof r->msg, "KVM_EXIT_INTERNAL_ERROR suberror %u "
                     "(KVM's emulator could not run the guest)",
                     run->internal.suberror);
        } else {
            snprintf(r->msg, sizeof r->msg, "unexpected exit reason %u", run->exit_reason);
        }
        break;
    }
    struct itimerval off = { { 0, 0 }, { 0, 0 } };
    setitimer(ITIMER_REAL, &off, NULL);
    if (mem->dirty) {
        memset(mem->dirty, 0, mem->max_gfn);
        uint32_t sl = 0;
        for (uint64_t g = 0; g < mem->max_gfn;) {
            if (!mem->present[g]) {
                g++;
                continue;
            }
            uint64_t e = g;
            while (e < mem->max_gfn && mem->present[e])
                e++;
            uint64_t words = (e - g + 63) / 64;
            uint64_t *bm = calloc(words, 8);
            struct kvm_dirty_log dl = { .slot = sl++ };
            dl.dirty_bitmap = bm;
            if (bm && ioctl(vm, KVM_GET_DIRTY_LOG, &dl) == 0) {
                for (uint64_t i = 0; i < e - g; i++)
                    if (bm[i / 64] >> (i % 64) & 1)
                        mem->dirty[g + i] = 1;
            } else if (r->outcome != HW_ERROR) {
                r->outcome = HW_ERROR;
                snprintf(r->msg, sizeof r->msg, "KVM_GET_DIRTY_LOG: %s", strerror(errno));
            }
            free(bm);
            g = e;
        }
    }
    goto out;
sregs_fail:
    snprintf(r->msg, sizeof r->msg, "vCPU register setup: %s", strerror(errno));
out:
    if (mem->uffd)
        uffd_stop(&up, &upthr, uffd_running, mem, r);
    /* keep a VM that ran cleanly for the next access (vm_reusable()) */
    if (k->reuse && vm >= 0 && vcpu >= 0 && run != MAP_FAILED && !mem->uffd &&
        (r->outcome == HW_OK || r->outcome == HW_PF || r->outcome == HW_MMIO)) {
        if (!k->live.present || k->live.max_gfn != mem->max_gfn) {
            free(k->live.present);
            if (k->live.after)
                munmap(k->live.after, k->live.max_gfn * PG);
            k->live.present = malloc(mem->max_gfn);
            k->live.after = mmap(NULL, mem->max_gfn * PG, PROT_READ | PROT_WRITE,
                                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
            if (k->live.after == MAP_FAILED)
                k->live.after = NULL;
            k->live.max_gfn = mem->max_gfn;
        }
        if (k->live.present && k->live.after) {
            memcpy(k->live.present, mem->present, mem->max_gfn);
            for (uint64_t g = 0; g < mem->max_gfn; g++)
                if (mem->present[g])
                    memcpy(k->live.after + g * PG, mem->ram + g * PG, PG);
            k->live.vm = vm;
            k->live.vcpu = vcpu;
            k->live.run = run;
            k->live.ram = mem->ram;
            k->live.root = root;
            k->live.dirty = mem->dirty != NULL;
            k->live.phys = phys;
            vm = vcpu = -1;
            run = MAP_FAILED;
        }
    }
    if (run != MAP_FAILED)
        munmap(run, (size_t)k->run_size);
    if (vcpu >= 0)
        close(vcpu);
    if (vm >= 0)
        close(vm);
    /* slot 511 of the root is the stub's, not the scenario's */
    put64(mem->ram, root + 8 * STUB_PML4_IDX, old511);
}

/* A flat test domain for loops: PML4 gfn 0, PDPT 1, PD 2, PTs from gfn 3,
 * npages data pages from gfn 0x400 mapped at 0x40000000 (U, W). */
static int loop_domain(struct hw_mem *m, uint64_t npages)
{
    uint64_t npt = (npages + 511) / 512;
    if (npt > 512)
        return -1;
    memset(m, 0, sizeof *m);
    m->max_gfn = 0x400 + npages;
    m->ram = mmap(NULL, m->max_gfn * PG, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    m->present = calloc(m->max_gfn, 1);
    m->dirty = NULL;
    if (m->ram == MAP_FAILED || !m->present) {
        if (m->ram != MAP_FAILED)
            munmap(m->ram, m->max_gfn * PG);
        free(m->present);
        return -1;
    }
    memset(m->present, 1, m->max_gfn);
    put64(m->ram, 0, 1 * PG | 7);
    put64(m->ram, 1 * PG + 8 * 1, 2 * PG | 7);      /* 0x40000000: PDPT[1] */
    for (uint64_t t = 0; t < npt; t++)
        put64(m->ram, 2 * PG + 8 * t, (3 + t) * PG | 7);
    for (uint64_t i = 0; i < npages; i++)
        put64(m->ram, 3 * PG + 8 * i, (0x400 + i) * PG | 7);
    return 0;
}

/* n accesses (kind 3 read / 4 write) at CPL3 over npages; returns the TSC
 * cycles of the timed loop (after a warm-up pass), or 0 on failure. */
uint64_t hw_kvm_loop(struct hw_kvm *k, uint64_t npages, uint64_t n, bool write, bool lcg,
                     char *err, size_t errlen)
{
    struct hw_mem m;
    if (loop_domain(&m, npages) < 0) {
        snprintf(err, errlen, "cannot build a %" PRIu64 "-page domain", npages);
        return 0;
    }
    struct hw_access a = { .cr0 = 0x80010001, .cr3 = 0, .cr4 = 0x20, .efer = 0xd00,
                           .cpl = 3, .kind = write ? 4 : 3, .gva = 0x40000000,
                           .width = (unsigned)n, .wvalue = npages, .lcg = lcg };
    struct hw_result r;
    bool reuse = k->reuse;
    hw_kvm_set_reuse(k, false); /* m is unmapped below: keep no VM over it */
    hw_kvm_access(k, &m, &a, 60000, &r);
    hw_kvm_set_reuse(k, reuse);
    munmap(m.ram, m.max_gfn * PG);
    free(m.present);
    if (r.outcome != HW_OK) {
        snprintf(err, errlen, "%s", r.msg[0] ? r.msg : "guest loop failed");
        return 0;
    }
    return r.value ? r.value : 1;
}

/* TSC ticks per nanosecond, measured against CLOCK_MONOTONIC. */
double hw_tsc_per_ns(void)
{
    struct timespec t0, t1, nap = { 0, 50000000 };
    unsigned lo, hi;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    uint64_t c0 = (uint64_t)hi << 32 | lo;
    nanosleep(&nap, NULL);
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    uint64_t c1 = (uint64_t)hi << 32 | lo;
    double ns = (double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec);
    return (double)(c1 - c0) / ns;
}

double hw_kvm_bare_rate(struct hw_kvm *k, unsigned n)
{
    char err[256];
    uint64_t cyc = hw_kvm_loop(k, 16, n, false, false, err, sizeof err);
    if (!cyc) {
        fprintf(stderr, "bare KVM loop failed: %s\n", err);
        return -1;
    }
    return n / ((double)cyc / hw_tsc_per_ns() / 1e9);
}
