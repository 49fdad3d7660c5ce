-- pagesim trace database, schema version 4.
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
-- hap (added in version 4) is the run's `pagesim run --hap` override:
-- 'npt' when every domain{} without hap = was made an NPT domain, NULL
-- without an override (such domains are EPT ones); a replay or any other
-- re-run of the row must apply it to reproduce the digest.
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
    cpu_profile     TEXT,
    hap             TEXT
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

-- The state of each domain after a step, written only when it changed
-- (the report's plots over time): log_dirty.dirty_count, gfns per paging
-- state (p2m_ram_paging_out / _paged / _paging_in, counted in the oracle's
-- flat P2M, which the step's state comparison has just found equal to the
-- sim's), and the paging vm_event ring's occupied and total slots.
-- Added in version 3 (rec_open() upgrades older files in place).
CREATE TABLE samples (
    run_id     INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    step       INTEGER NOT NULL,
    domain     INTEGER NOT NULL,
    dirty      INTEGER NOT NULL,
    paging_out INTEGER NOT NULL,
    paged      INTEGER NOT NULL,
    paging_in  INTEGER NOT NULL,
    ring_used  INTEGER NOT NULL,
    ring_size  INTEGER NOT NULL,
    PRIMARY KEY (run_id, domain, step)
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

-- Domain coverage per kind: how many distinct transitions or codes.
CREATE VIEW coverage_per_kind AS
    SELECT kind, COUNT(*) AS distinct_keys, SUM(total) AS total
    FROM transition_coverage
    GROUP BY kind
    ORDER BY kind;

-- Simulated cost per run, from the guest accesses' step rows (result
-- fields tlb=, cyc= and refs=; cycles exist only on vCPUs with TLBs).
CREATE VIEW run_cycles AS
    SELECT r.id AS run_id, r.scenario AS scenario,
           COUNT(s.step) AS accesses,
           COALESCE(SUM(s.result LIKE '% cyc=%'), 0) AS timed_accesses,
           COALESCE(SUM(CASE WHEN s.result LIKE '% cyc=%'
                    THEN CAST(substr(s.result, instr(s.result, ' cyc=') + 5)
                              AS INTEGER) END), 0) AS cycles,
           COALESCE(SUM(s.result LIKE '% tlb=l1%'), 0) AS l1_hits,
           COALESCE(SUM(s.result LIKE '% tlb=stlb%'), 0) AS stlb_hits,
           COALESCE(SUM(s.result LIKE '% tlb=walk%'), 0) AS walks,
           COALESCE(SUM(CASE WHEN s.result LIKE '% refs=%'
                    THEN CAST(substr(s.result, instr(s.result, ' refs=') + 6)
                              AS INTEGER) END), 0) AS refs
    FROM runs AS r
    LEFT JOIN steps AS s
           ON s.run_id = r.id AND s.op IN ('read', 'write', 'exec')
    GROUP BY r.id
    ORDER BY r.id;

-- Hardware replay differences per backend and scenario.  The hw_ tables
-- are created by the first `pagesim replay` on the file (hw-replay/
-- replay.c): before that, querying this view fails with "no such table".
-- diffs are the unexplained differences, known those a documented backend
-- behaviour explains (hw-replay/known.c).
CREATE VIEW replay_diffs_per_backend AS
    SELECT h.backend AS backend, r.scenario AS scenario,
           COUNT(*) AS replays,
           SUM(h.status = 'pass') AS passed,
           COALESCE(SUM(h.compared), 0) AS compared,
           COALESCE(SUM(h.diffs), 0) AS diffs,
           COALESCE(SUM(h.known), 0) AS known,
           COALESCE(SUM(h.skipped), 0) AS skipped
    FROM hw_runs AS h
    JOIN runs AS r ON r.id = h.run_id
    GROUP BY h.backend, r.scenario
    ORDER BY h.backend, r.scenario;

PRAGMA application_id = 1346851633;  -- 0x50475331, 'PGS1'
PRAGMA user_version = 4;
