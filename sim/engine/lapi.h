/* SPDX-License-Identifier: MIT */
/*
 * sim/engine/lapi.h - running one Lua scenario file in the sandbox.
 */
#ifndef PAGESIM_LAPI_H
#define PAGESIM_LAPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "pagesim/recorder.h"

struct eng_access_hook;

struct run_opts {
    uint64_t seed;
    struct recorder *rec;     /* NULL: not recorded */
    FILE *log;                /* messages, may be NULL */
    bool verbose;             /* print every step */
    const char *mutants;      /* text for the runs row, may be NULL */
    uint64_t instr_budget;    /* Lua VM instructions; 0: default */
    size_t mem_limit;         /* bytes for the Lua heap; 0: default */
    /* Optional: receives the run's domain coverage (kind, key, count). */
    void (*cov_sink)(void *ctx, const char *kind, const char *key, uint64_t n);
    void *cov_ctx;
    const struct eng_access_hook *hook; /* guest-access observer (hw-replay) */
    unsigned full_check_every; /* engine.full_check_every (0: default) */
    bool npt;                  /* pagesim run --hap npt: domain{} without
                                * hap = makes NPT domains */
    uint64_t host_frames;      /* the host the run starts with (0: the
                                * default); host{} still replaces it */
};

/* XTF-like result words: pass; fail (an expect() failed); diverge (the
 * model disagreed with the oracle); error (the scenario itself is broken:
 * syntax error, unknown API, bad argument, budget exhausted). */
struct run_result {
    char status[12];
    char digest[17];
    uint64_t steps, failures, divergences;
    char message[768];
    double duration_ms;
};

/* Runs the scenario at path.  Returns 0 when it passed. */
int lapi_run_file(const char *path, const struct run_opts *opts,
                  struct run_result *res);
/* Runs scenario text; name stands for the file in messages ("name:line"). */
int lapi_run_string(const char *name, const char *text,
                    const struct run_opts *opts, struct run_result *res);

#endif /* PAGESIM_LAPI_H */
