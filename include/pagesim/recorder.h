/* SPDX-License-Identifier: MIT */
/*
 * pagesim/recorder.h - SQLite trace recorder (reports/recorder.c).
 *
 * One database holds any number of runs.  WAL journal, prepared statements
 * reused for every row, rows batched into transactions (a run's rows are
 * committed at least at its end, so an interrupted invocation keeps every
 * finished run).  PRAGMA user_version holds the schema version; a database
 * with a newer or foreign schema is refused with a message, never altered.
 *
 * Tables (see reports/schema.sql):
 *   runs(id, scenario, seed, status, digest, steps, failures, divergences,
 *        message, started_at, duration_ms, mutants, pagesim_version,
 *        cpu_profile, hap)
 *   steps(run_id, step, src, op, args, result)
 *   divergences(run_id, step, src, field, expected, actual)
 *   failures(run_id, step, src, message)     -- failed expect()s
 *   coverage(run_id, kind, key, count)       -- domain coverage (v2)
 *   samples(run_id, step, domain, dirty, paging_out, paged, paging_in,
 *           ring_used, ring_size)            -- per-step domain state (v3)
 */
#ifndef PAGESIM_RECORDER_H
#define PAGESIM_RECORDER_H

#include <stddef.h>
#include <stdint.h>

#define RECORDER_SCHEMA_VERSION 4

/* Written into runs.pagesim_version. */
#ifndef PAGESIM_VERSION
#define PAGESIM_VERSION "0.1.0"
#endif

struct recorder;

/* Opens (creating if needed) the database at path.  NULL on error, with a
 * message naming the file in err. */
struct recorder *rec_open(const char *path, char *err, size_t errlen);
void rec_close(struct recorder *r);

/* Starts a run; returns its id (> 0), or -1 on error. */
int64_t rec_run_begin(struct recorder *r, const char *scenario, uint64_t seed,
                      const char *mutants);
int rec_step(struct recorder *r, int64_t run, uint64_t step, const char *src,
             const char *op, const char *args, const char *result);
int rec_divergence(struct recorder *r, int64_t run, uint64_t step,
                   const char *src, const char *field, const char *expected,
                   const char *actual);
int rec_failure(struct recorder *r, int64_t run, uint64_t step,
                const char *src, const char *message);
/* Domain coverage of a run: count times (kind, key) was reached. */
int rec_coverage(struct recorder *r, int64_t run, const char *kind,
                 const char *key, uint64_t count);
/* The state of one domain after a step, for the report's plots over time
 * (schema version 3, table samples).  The engine writes one only when a
 * figure changed since the domain's previous sample, so a run costs a few
 * rows per state change, never one per access. */
struct rec_sample {
    uint32_t domain;                        /* domid */
    uint64_t dirty;                         /* log_dirty.dirty_count */
    uint64_t paging_out, paged, paging_in;  /* gfns in each paging state */
    uint32_t ring_used, ring_size;          /* paging vm_event ring slots */
};
int rec_sample(struct recorder *r, int64_t run, uint64_t step,
               const struct rec_sample *s);
/* Finishes a run and commits its rows. */
int rec_run_end(struct recorder *r, int64_t run, const char *status,
                const char *digest, uint64_t steps, uint64_t failures,
                uint64_t divergences, const char *message,
                double duration_ms);
/* Sets runs.cpu_profile of a run (schema version 3): the CPU profile
 * names its vCPUs used, e.g. "intel-skylake,amd-zen2".  0 or -1. */
int rec_run_profile(struct recorder *r, int64_t run, const char *profile);
/* Sets runs.hap of a run (schema version 4): the `pagesim run --hap`
 * override it ran under ("npt"), which a replay must apply again.  Runs
 * without an override leave it NULL.  0 or -1. */
int rec_run_hap(struct recorder *r, int64_t run, const char *hap);
/* Appends every run of the pagesim database at src (identified like
 * rec_open(), only read) with its steps, divergences and failures, under
 * new run ids, in one transaction.  Returns the number of runs copied, or
 * -1 with rec_errmsg() set ("FILE: why"). */
int64_t rec_merge(struct recorder *r, const char *src);
/* Last SQLite error message. */
const char *rec_errmsg(const struct recorder *r);

#endif /* PAGESIM_RECORDER_H */
