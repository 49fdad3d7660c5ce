/* SPDX-License-Identifier: MIT */
/*
 * sim/engine/fuzz-native.h - `pagesim fuzz --native`: the hypervisor-
 * operation mix run natively (op structs, eng_* calls, no Lua in the loop).
 */
#ifndef PAGESIM_FUZZ_NATIVE_H
#define PAGESIM_FUZZ_NATIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fuzz.h"

/* Operation kinds of the native mix (nfz_op_names[] in the same order). */
enum nfz_kind {
    NFZ_POPULATE, NFZ_REMOVE, NFZ_MMIO_DM, NFZ_MEMTYPE, NFZ_ACCESS,
    NFZ_LD_TOGGLE, NFZ_PEEK, NFZ_CLEAN, NFZ_IS_DIRTY, NFZ_WPHYS, NFZ_RPHYS,
    NFZ_NOMINATE, NFZ_EVICT, NFZ_PAGE_IN, NFZ_PAGER_EVICT, NFZ_PAGER_SERVE,
    NFZ_FMAP, NFZ_FUNMAP, NFZ_BALLOON_IN, NFZ_BALLOON_OUT, NFZ_STARVE,
    NFZ_P2MFAIL, NFZ_ROUNDTRIP, NFZ_SET_MMIO, NFZ_CLEAR_MMIO, NFZ_POD_TARGET,
    NFZ_POD_MARK, NFZ_NKINDS
};
extern const char *const nfz_op_names[NFZ_NKINDS];

/* One operation: kind, domain (1 or 2), and up to three arguments whose
 * meaning depends on the kind (gfn, count, variant). */
struct nfz_op {
    uint8_t kind, d;
    uint16_t a;   /* gfn (or count for pager_evict / pod_target) */
    uint16_t b;   /* second argument: count, access, type, variant */
    uint16_t c;   /* third argument: the sub-operation of starve / p2mfail */
    uint32_t v;   /* a value written (write_phys) or a device frame */
};

struct nfz_stats {
    uint64_t programs, ops, steps, findings, baseline, unreproduced;
    uint64_t shrink_runs, setup_steps;
    /* the engine's state checks (oracle_check_stats(); the last engine's,
     * setup steps included): reused unchanged, restricted to the change,
     * full */
    uint64_t chk_skipped, chk_restricted, chk_full;
    uint64_t op_counts[NFZ_NKINDS];
    double seconds, cpu_seconds;
    char first_field[128];
};

/* The fuzz loop of `pagesim fuzz --native` (options as fuzz_run(): seed,
 * max_ops, max_seconds, max_findings, prog_ops (0: 2000), out_dir, rec,
 * mutants, quiet, full_check_every).  0, or -1 when --out cannot be made. */
int fuzz_native_run(const struct fuzz_opts *o, struct nfz_stats *st);

/* Program n of seed (nops operations, 0: the default) as op structs
 * (malloc'd, *n_out of them): the same ops fuzz_native_run() draws. */
struct nfz_op *fuzz_native_program(uint64_t seed, uint64_t n, unsigned nops,
                                   size_t *n_out);

/* The Lua reproducer of ops[0..n) (prologue included): malloc'd text that
 * `pagesim run` executes through exactly the eng_* calls of the native run. */
char *fuzz_native_lua(const struct nfz_op *ops, size_t n);

/* Runs ops[0..n) natively in a fresh engine, as the reproducer would run:
 * status ("pass", "diverge", "fail") and the first problem's message. */
struct nfz_verdict {
    char status[12];
    char field[128];  /* first divergence field, or the failure message */
    size_t at;        /* index of the op where it happened (n: at the end) */
    uint64_t steps;
    char digest[17];
};
void fuzz_native_replay(const struct nfz_op *ops, size_t n, unsigned full_check_every,
                        struct nfz_verdict *v);

#endif /* PAGESIM_FUZZ_NATIVE_H */
