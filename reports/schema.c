/* SPDX-License-Identifier: MIT */
/*
 * reports/schema.c - the trace database schema, as executed by rec_open().
 *
 * Byte-for-byte the text of reports/schema.sql (kept there for humans and
 * for `sqlite3 file.db < reports/schema.sql`); tests/unit/test_recorder.c
 * checks that the two agree.  Edit both together.
 */
#include "schema.h"

/* SQL shared by the version 3 schema and the upgrade steps: one text, so
 * a file created at version 3 and one upgraded to it get the same objects. */
#define SQL_COVERAGE_TABLE \
    "CREATE TABLE coverage (\n" \
    "    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n" \
    "    kind   TEXT NOT NULL,\n" \
    "    key    TEXT NOT NULL,\n" \
    "    count  INTEGER NOT NULL,\n" \
    "    PRIMARY KEY (run_id, kind, key)\n" \
    ") WITHOUT ROWID;\n"

#define SQL_SAMPLES_TABLE \
    "CREATE TABLE samples (\n" \
    "    run_id     INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n" \
    "    step       INTEGER NOT NULL,\n" \
    "    domain     INTEGER NOT NULL,\n" \
    "    dirty      INTEGER NOT NULL,\n" \
    "    paging_out INTEGER NOT NULL,\n" \
    "    paged      INTEGER NOT NULL,\n" \
    "    paging_in  INTEGER NOT NULL,\n" \
    "    ring_used  INTEGER NOT NULL,\n" \
    "    ring_size  INTEGER NOT NULL,\n" \
    "    PRIMARY KEY (run_id, domain, step)\n" \
    ") WITHOUT ROWID;\n"

#define SQL_TRANSITION_COVERAGE_VIEW \
    "CREATE VIEW transition_coverage AS\n" \
    "    SELECT kind, key, COUNT(*) AS runs, SUM(count) AS total\n" \
    "    FROM coverage\n" \
    "    GROUP BY kind, key\n" \
    "    ORDER BY kind, key;\n"

#define SQL_COVERAGE_PER_KIND_VIEW \
    "CREATE VIEW coverage_per_kind AS\n" \
    "    SELECT kind, COUNT(*) AS distinct_keys, SUM(total) AS total\n" \
    "    FROM transition_coverage\n" \
    "    GROUP BY kind\n" \
    "    ORDER BY kind;\n"

#define SQL_RUN_CYCLES_VIEW \
    "-- Simulated cost per run, from the guest accesses' step rows (result\n" \
    "-- fields tlb=, cyc= and refs=; cycles exist only on vCPUs with TLBs).\n" \
    "CREATE VIEW run_cycles AS\n" \
    "    SELECT r.id AS run_id, r.scenario AS scenario,\n" \
    "           COUNT(s.step) AS accesses,\n" \
    "           COALESCE(SUM(s.result LIKE '% cyc=%'), 0) AS timed_accesses,\n" \
    "           COALESCE(SUM(CASE WHEN s.result LIKE '% cyc=%'\n" \
    "                    THEN CAST(substr(s.result, instr(s.result, ' cyc=') + 5)\n" \
    "                              AS INTEGER) END), 0) AS cycles,\n" \
    "           COALESCE(SUM(s.result LIKE '% tlb=l1%'), 0) AS l1_hits,\n" \
    "           COALESCE(SUM(s.result LIKE '% tlb=stlb%'), 0) AS stlb_hits,\n" \
    "           COALESCE(SUM(s.result LIKE '% tlb=walk%'), 0) AS walks,\n" \
    "           COALESCE(SUM(CASE WHEN s.result LIKE '% refs=%'\n" \
    "                    THEN CAST(substr(s.result, instr(s.result, ' refs=') + 6)\n" \
    "                              AS INTEGER) END), 0) AS refs\n" \
    "    FROM runs AS r\n" \
    "    LEFT JOIN steps AS s\n" \
    "           ON s.run_id = r.id AND s.op IN ('read', 'write', 'exec')\n" \
    "    GROUP BY r.id\n" \
    "    ORDER BY r.id;\n"

#define SQL_REPLAY_DIFFS_VIEW \
    "-- Hardware replay differences per backend and scenario.  The hw_ tables\n" \
    "-- are created by the first `pagesim replay` on the file (hw-replay/\n" \
    "-- replay.c): before that, querying this view fails with \"no such table\".\n" \
    "-- diffs are the unexplained differences, known those a documented backend\n" \
    "-- behaviour explains (hw-replay/known.c).\n" \
    "CREATE VIEW replay_diffs_per_backend AS\n" \
    "    SELECT h.backend AS backend, r.scenario AS scenario,\n" \
    "           COUNT(*) AS replays,\n" \
    "           SUM(h.status = 'pass') AS passed,\n" \
    "           COALESCE(SUM(h.compared), 0) AS compared,\n" \
    "           COALESCE(SUM(h.diffs), 0) AS diffs,\n" \
    "           COALESCE(SUM(h.known), 0) AS known,\n" \
    "           COALESCE(SUM(h.skipped), 0) AS skipped\n" \
    "    FROM hw_runs AS h\n" \
    "    JOIN runs AS r ON r.id = h.run_id\n" \
    "    GROUP BY h.backend, r.scenario\n" \
    "    ORDER BY h.backend, r.scenario;\n"


const char rec_schema_sql[] =
    "-- pagesim trace database, schema version 4.\n"
    "--\n"
    "-- Written by rec_open() (reports/recorder.c) into a new or empty file,\n"
    "-- in one transaction.  reports/schema.c embeds this exact text (the unit\n"
    "-- test tests/unit/test_recorder.c compares the two byte for byte): edit\n"
    "-- both.\n"
    "-- A schema change means a new PRAGMA user_version and a new\n"
    "-- RECORDER_SCHEMA_VERSION in include/pagesim/recorder.h.\n"
    "--\n"
    "-- Integers that pagesim holds as uint64_t (seed, step numbers) are stored\n"
    "-- as the int64 with the same bits: values >= 2^63 read back negative\n"
    "-- (cast back to uint64_t in C).\n"
    "\n"
    "-- One row per scenario run.  status is 'running' from rec_run_begin()\n"
    "-- until rec_run_end(); a run left 'running' when its recorder is closed\n"
    "-- becomes 'error' with message 'interrupted'.  cpu_profile (added in\n"
    "-- version 3) names the CPU profiles (model/profiles.c) the run's vCPUs\n"
    "-- used, comma-separated in vCPU order without repeats, e.g.\n"
    "-- 'intel-skylake' or 'intel-skylake,amd-zen2'; NULL without vCPUs.\n"
    "-- hap (added in version 4) is the run's `pagesim run --hap` override:\n"
    "-- 'npt' when every domain{} without hap = was made an NPT domain, NULL\n"
    "-- without an override (such domains are EPT ones); a replay or any other\n"
    "-- re-run of the row must apply it to reproduce the digest.\n"
    "CREATE TABLE runs (\n"
    "    id              INTEGER PRIMARY KEY,\n"
    "    scenario        TEXT NOT NULL,\n"
    "    seed            INTEGER NOT NULL,\n"
    "    status          TEXT NOT NULL\n"
    "                    CHECK (status IN ('running', 'pass', 'fail',\n"
    "                                      'diverge', 'error')),\n"
    "    digest          TEXT,\n"
    "    steps           INTEGER,\n"
    "    failures        INTEGER,\n"
    "    divergences     INTEGER,\n"
    "    message         TEXT,\n"
    "    mutants         TEXT,\n"
    "    started_at      TEXT,   -- UTC ISO-8601, informational only\n"
    "    duration_ms     REAL,\n"
    "    pagesim_version TEXT,\n"
    "    cpu_profile     TEXT,\n"
    "    hap             TEXT\n"
    ");\n"
    "\n"
    "-- Every operation a run performed, in order.\n"
    "CREATE TABLE steps (\n"
    "    run_id  INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n"
    "    step    INTEGER NOT NULL,\n"
    "    src     TEXT,           -- scenario source, e.g. 'ept.lua:42'\n"
    "    op      TEXT NOT NULL,\n"
    "    args    TEXT,\n"
    "    result  TEXT,\n"
    "    PRIMARY KEY (run_id, step)\n"
    ") WITHOUT ROWID;\n"
    "\n"
    "-- Model and oracle disagreed on one field.\n"
    "CREATE TABLE divergences (\n"
    "    id       INTEGER PRIMARY KEY,\n"
    "    run_id   INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n"
    "    step     INTEGER,\n"
    "    src      TEXT,\n"
    "    field    TEXT NOT NULL,\n"
    "    expected TEXT,\n"
    "    actual   TEXT\n"
    ");\n"
    "\n"
    "-- A failed expect() in a scenario.\n"
    "CREATE TABLE failures (\n"
    "    id      INTEGER PRIMARY KEY,\n"
    "    run_id  INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n"
    "    step    INTEGER,\n"
    "    src     TEXT,\n"
    "    message TEXT NOT NULL\n"
    ");\n"
    "\n"
    "-- Domain coverage: how often a run reached each transition or code, e.g.\n"
    "-- kind 'p2m' key 'populate:mmio_dm->ram_rw', kind 'pf_ec' key '0x3',\n"
    "-- kind 'ept_qual' key '0x1aa', kind 'npf' key 'ram_logdirty:write->retry'.\n"
    "-- Added in version 2 (rec_open() upgrades version 1 files in place).\n"
    SQL_COVERAGE_TABLE
    "\n"
    "-- The state of each domain after a step, written only when it changed\n"
    "-- (the report's plots over time): log_dirty.dirty_count, gfns per paging\n"
    "-- state (p2m_ram_paging_out / _paged / _paging_in, counted in the oracle's\n"
    "-- flat P2M, which the step's state comparison has just found equal to the\n"
    "-- sim's), and the paging vm_event ring's occupied and total slots.\n"
    "-- Added in version 3 (rec_open() upgrades older files in place).\n"
    SQL_SAMPLES_TABLE
    "\n"
    "CREATE INDEX divergences_run ON divergences(run_id);\n"
    "CREATE INDEX failures_run ON failures(run_id);\n"
    "\n"
    "CREATE VIEW run_summary AS\n"
    "    SELECT id, scenario, seed, status, steps, failures, divergences,\n"
    "           digest, duration_ms\n"
    "    FROM runs\n"
    "    ORDER BY id;\n"
    "\n"
    "-- divergences counts rows of the divergences table (so interrupted\n"
    "-- runs count too), not runs.divergences.\n"
    "CREATE VIEW divergences_per_scenario AS\n"
    "    SELECT r.scenario AS scenario,\n"
    "           COUNT(*) AS runs,\n"
    "           COALESCE(SUM(d.n), 0) AS divergences\n"
    "    FROM runs AS r\n"
    "    LEFT JOIN (SELECT run_id, COUNT(*) AS n\n"
    "               FROM divergences\n"
    "               GROUP BY run_id) AS d\n"
    "           ON d.run_id = r.id\n"
    "    GROUP BY r.scenario\n"
    "    ORDER BY r.scenario;\n"
    "\n"
    "CREATE VIEW run_totals AS\n"
    "    SELECT status, COUNT(*) AS count\n"
    "    FROM runs\n"
    "    GROUP BY status\n"
    "    ORDER BY status;\n"
    "\n"
    SQL_TRANSITION_COVERAGE_VIEW
    "\n"
    "-- Domain coverage per kind: how many distinct transitions or codes.\n"
    SQL_COVERAGE_PER_KIND_VIEW
    "\n"
    SQL_RUN_CYCLES_VIEW
    "\n"
    SQL_REPLAY_DIFFS_VIEW
    "\n"
    "PRAGMA application_id = 1346851633;  -- 0x50475331, 'PGS1'\n"
    "PRAGMA user_version = 4;\n";

/* Version 1 -> 2: the coverage table and its view, nothing else changed. */
const char rec_upgrade_v1_v2_sql[] =
    SQL_COVERAGE_TABLE
    SQL_TRANSITION_COVERAGE_VIEW;

/* Version 2 -> 3, per-step samples (the report's plots over time) and the
 * views for the common questions.  Kept as its own step so that another
 * version 3 change (e.g. a per-run CPU profile column) is one more entry in
 * rec_upgrades[]. */
const char rec_upgrade_v2_v3_samples_sql[] =
    SQL_SAMPLES_TABLE
    SQL_COVERAGE_PER_KIND_VIEW
    "\n"
    SQL_RUN_CYCLES_VIEW
    "\n"
    SQL_REPLAY_DIFFS_VIEW;

/* Applied in order, each step whose from is >= the file's user_version;
 * rec_upgrade() then sets user_version = RECORDER_SCHEMA_VERSION. */
/* Version 2 -> 3: the runs.cpu_profile column (appended, as in the
 * version 3 CREATE TABLE, so both files have the same column order). */
const char rec_upgrade_v2_v3_sql[] =
    "ALTER TABLE runs ADD COLUMN cpu_profile TEXT;\n";

/* Version 3 -> 4: the runs.hap column (the `--hap` override a re-run
 * needs), appended as in the version 4 CREATE TABLE; old runs get NULL,
 * which is what they were run with (no override existed, or it was not
 * recorded: such an NPT run stays stale on replay, as before). */
const char rec_upgrade_v3_v4_sql[] =
    "ALTER TABLE runs ADD COLUMN hap TEXT;\n";

const struct rec_upgrade_step rec_upgrades[] = {
    { 1, rec_upgrade_v1_v2_sql },
    { 2, rec_upgrade_v2_v3_samples_sql },
    { 2, rec_upgrade_v2_v3_sql },
    { 3, rec_upgrade_v3_v4_sql },
};
const unsigned rec_nupgrades = sizeof(rec_upgrades) / sizeof(rec_upgrades[0]);
