-- pagesim trace database, schema version 3.
--
-- Written by rec_open() (reports/recorder.c) into a new or empty file,
-- in one transaction.  reports/schema.c embeds this exact text (the unit
-- test tests/unit/test_recorder.c compares the two byte for byte): edit
-- both.
-- A schema change means a new PRAGMA user_version and a new
-- RECORDER_SCHEMA_VERSION in include/pagesim/recorder.h.
--
-- Integers that pagesim holds as uint64_t (seed, step numbers) are stored
-- as the int64 with the same bits: values >= 2^63 read back negative
-- (cast back to uint64_t in C).

-- One row per scenario run.  status is 'running' from rec_run_begin()
-- until rec_run_end(); a run left 'running' when its recorder is closed
-- becomes 'error' with message 'interrupted'.  cpu_profile (added in
-- version 3) names the CPU profiles (model/profiles.c) the run's vCPUs
-- used, comma-separated in vCPU order without repeats, e.g.
-- 'intel-skylake' or 'intel-skylake,amd-zen2'; NULL without vCPUs.
CREATE TABLE runs (
    id              INTEGER PRIMARY KEY,
    scenario        TEXT NOT NULL,
    seed            INTEGER NOT NULL,
    status          TEXT NOT NULL
                    CHECK (status IN ('running', 'pass', 'fail',
                                      'diverge', 'error')),
    digest          TEXT,
    steps           INTEGER,
    failures        INTEGER,
    divergences     INTEGER,
    message         TEXT,
    mutants         TEXT,
    started_at      TEXT,   -- UTC ISO-8601, informational only
    duration_ms     REAL,
    pagesim_version TEXT,
    cpu_profile     TEXT
);

-- Every operation a run performed, in order.
CREATE TABLE steps (
    run_id  INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    step    INTEGER NOT NULL,
    src     TEXT,           -- scenario source, e.g. 'ept.lua:42'
    op      TEXT NOT NULL,
    args    TEXT,
    result  TEXT,
    PRIMARY KEY (run_id, step)
) WITHOUT ROWID;

-- Model and oracle disagreed on one field.
CREATE TABLE divergences (
    id       INTEGER PRIMARY KEY,
    run_id   INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    step     INTEGER,
    src      TEXT,
    field    TEXT NOT NULL,
    expected TEXT,
    actual   TEXT
);

-- A failed expect() in a scenario.
CREATE TABLE failures (
    id      INTEGER PRIMARY KEY,
    run_id  INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    step    INTEGER,
    src     TEXT,
    message TEXT NOT NULL
);

-- Domain coverage: how often a run reached each transition or code, e.g.
-- kind 'p2m' key 'populate:mmio_dm->ram_rw', kind 'pf_ec' key '0x3',
-- kind 'ept_qual' key '0x1aa', kind 'npf' key 'ram_logdirty:write->retry'.
-- Added in version 2 (rec_open() upgrades version 1 files in place).
CREATE TABLE coverage (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    kind   TEXT NOT NULL,
    key    TEXT NOT NULL,
    count  INTEGER NOT NULL,
    PRIMARY KEY (run_id, kind, key)
) WITHOUT ROWID;

CREATE INDEX divergences_run ON divergences(run_id);
CREATE INDEX failures_run ON failures(run_id);

CREATE VIEW run_summary AS
    SELECT id, scenario, seed, status, steps, failures, divergences,
           digest, duration_ms
    FROM runs
    ORDER BY id;

-- divergences counts rows of the divergences table (so interrupted
-- runs count too), not runs.divergences.
CREATE VIEW divergences_per_scenario AS
    SELECT r.scenario AS scenario,
           COUNT(*) AS runs,
           COALESCE(SUM(d.n), 0) AS divergences
    FROM runs AS r
    LEFT JOIN (SELECT run_id, COUNT(*) AS n
               FROM divergences
               GROUP BY run_id) AS d
           ON d.run_id = r.id
    GROUP BY r.scenario
    ORDER BY r.scenario;

CREATE VIEW run_totals AS
    SELECT status, COUNT(*) AS count
    FROM runs
    GROUP BY status
    ORDER BY status;

CREATE VIEW transition_coverage AS
    SELECT kind, key, COUNT(*) AS runs, SUM(count) AS total
    FROM coverage
    GROUP BY kind, key
    ORDER BY kind, key;

PRAGMA application_id = 1346851633;  -- 0x50475331, 'PGS1'
PRAGMA user_version = 3;
