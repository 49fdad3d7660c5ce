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

/* Shared by both fuzzers (fuzz.c, fuzz-native.c).  Two failures' fields
 * are the same if they differ only in the host addresses they name
 * ("ept_entry@hpa0x30a0e0"): where a table lives depends on the order of
 * the heap's allocations, which dropping an unrelated earlier operation
 * changes, and the shrinker would keep that operation for it. */
bool fuzz_same_field(const char *a, const char *b);
/* Lua helpers both fuzzers' program prologues define (the same text, so
 * that a reproducer of either reads alike): the pager's answer to the next
 * request (prep, with a buffer if buf, and resume), a foreign map of gfn g
 * held in held[i], and the last one unmapped. */
#define FUZZ_LUA_PAGER_HELPERS \
    "local function page_in(i, buf)\n" \
    "  local r = doms[i]:get_request()\n" \
    "  if r and not r.drop then doms[i]:prep(r.gfn, buf); doms[i]:resume(r) end\n" \
    "end\n" \
    "local function fmap(i, g)\n" \
    "  local m = doms[i]:map_foreign(g)\n" \
    "  if m then table.insert(held[i], m) end\n" \
    "end\n" \
    "local function funmap(i)\n" \
    "  local m = table.remove(held[i])\n" \
    "  if m then doms[i]:unmap_foreign(m) end\n" \
    "end\n"

/* Delta debugging (Zeller's ddmin) over n items, then one pass item by
 * item: keep[] (n entries, set here) ends as a subset for which test(keep,
 * ctx) still holds -- the failure reproduces -- and from which no single
 * item can go.  Both fuzzers' shrinkers: lines of a Lua program (fuzz.c),
 * operations of a native run (fuzz-native.c). */
void fuzz_ddmin(size_t n, bool *keep, bool (*test)(const bool *keep, void *ctx), void *ctx);
/* Creates o->out_dir if set and missing; -1 with the error on stderr. */
int fuzz_out_dir(const struct fuzz_opts *o);
/* Monotonic wall-clock seconds (the --time bound, progress, rates). */
double fuzz_now_s(void);

/* Program n of seed as fuzz_run() generates it when it does not mutate
 * its corpus (nops operations, 0: the default): malloc'd Lua text. */
char *fuzz_program(uint64_t seed, uint64_t n, unsigned nops);

/* The structure-aware decoder behind the libFuzzer entry point: the input
 * bytes choose the operations (two bytes per choice) of a program of at
 * most max_ops operations.  Returns malloc'd Lua text (prologue included). */
char *fuzz_program_from_bytes(const uint8_t *data, size_t size, unsigned max_ops);

#endif /* PAGESIM_FUZZ_H */
