/* SPDX-License-Identifier: MIT */
/*
 * sim/engine/fuzz.h - the state-transition fuzzer behind `pagesim fuzz`.
 */
#ifndef PAGESIM_FUZZ_H
#define PAGESIM_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "pagesim/recorder.h"

#define FUZZ_NKINDS 63
extern const char *const fuzz_op_names[FUZZ_NKINDS];

struct fuzz_opts {
    uint64_t seed;
    uint64_t max_ops;        /* 0: no bound */
    double max_seconds;      /* 0: no bound */
    uint64_t max_findings;   /* stop after this many (0: no bound) */
    unsigned prog_ops;       /* operations per program (0: default 120) */
    const char *out_dir;     /* reproducers go here (NULL: not written) */
    struct recorder *rec;    /* reproducer runs recorded here (may be NULL) */
    const char *mutants;     /* for the reproducer header, may be NULL */
    bool quiet;
    bool no_fork;            /* run programs in-process (debugging) */
    FILE *cov_out;           /* list the transitions reached here (may be NULL) */
    unsigned full_check_every; /* run_opts.full_check_every (0: default) */
};

struct fuzz_stats {
    uint64_t programs, ops, steps, findings, shrink_runs;
    uint64_t baseline;         /* under --mutant: findings that also fail
                                  without the mutants (not counted above) */
    uint64_t transitions;      /* distinct (kind, key) domain transitions reached */
    uint64_t new_cov_programs; /* programs that reached something new */
    uint64_t mutated;          /* programs made by mutating the corpus */
    uint64_t corpus;           /* programs kept for reaching something new */
    uint64_t op_counts[FUZZ_NKINDS];
    unsigned weights[FUZZ_NKINDS]; /* the feedback-adjusted weights at the end */
    double seconds;
    double cpu_seconds;        /* this process and its children */
    char first_field[128];
    char cov_kinds[512];       /* "p2m 31, npf 7, ...": transitions per kind */
};

int fuzz_run(const struct fuzz_opts *o, struct fuzz_stats *st);

/* Program n of seed as fuzz_run() generates it when it does not mutate
 * its corpus (nops operations, 0: the default): malloc'd Lua text. */
char *fuzz_program(uint64_t seed, uint64_t n, unsigned nops);

/* The structure-aware decoder behind the libFuzzer entry point: the input
 * bytes choose the operations (two bytes per choice) of a program of at
 * most max_ops operations.  Returns malloc'd Lua text (prologue included). */
char *fuzz_program_from_bytes(const uint8_t *data, size_t size, unsigned max_ops);

#endif /* PAGESIM_FUZZ_H */
