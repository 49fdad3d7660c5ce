/* SPDX-License-Identifier: MIT */
/*
 * reports/recorder.c - SQLite trace recorder (include/pagesim/recorder.h).
 *
 * Writes runs, steps, divergences and failures into one SQLite database
 * whose schema is reports/schema.sql (embedded as rec_schema_sql).
 *
 * NOTES ON THE DESIGN
 *
 * (1) A file is identified before anything is written to it: rec_open()
 *     reads PRAGMA application_id, PRAGMA user_version and the number of
 *     schema objects (rec_inspect) and only then switches the journal to
 *     WAL.  A foreign database, a newer or unknown schema version, or a file
 *     that is not SQLite at all (SQLITE_NOTADB) is refused, untouched.
 *
 * (2) Identity is application_id 0x50475331 ('PGS1') plus user_version ==
 *     RECORDER_SCHEMA_VERSION.  Both are set by the schema text itself, in
 *     the same transaction as the tables, so a file has both or neither.
 *     An empty file (user_version 0, no schema objects) is initialised under
 *     BEGIN IMMEDIATE, re-inspected inside the transaction so that two
 *     processes creating the same file do not both run the DDL.
 *
 * (3) Every statement is prepared once (SQLITE_PREPARE_PERSISTENT) and
 *     reused: bind, step, reset.
 *
 * (4) Rows are batched.  Transaction state of the connection:
 *
 *         IDLE --first row-----------------> IN_TXN   [rec_txn_begin]
 *         IN_TXN --REC_BATCH_ROWS-th row---> IDLE     [rec_txn_commit]
 *         IN_TXN --rec_run_end-------------> IDLE     [rec_txn_commit]
 *         IN_TXN --rec_close---------------> closed   [rec_txn_commit]
 *
 *     "Row" counts run inserts too.  The next row after a commit opens the
 *     next transaction, so no empty transaction is ever left open.  IN_TXN
 *     is read from sqlite3_get_autocommit(), never cached: SQLite may end a
 *     transaction on its own after some errors.
 *
 * (5) Runs this connection began and has not ended are remembered
 *     (open_runs).  rec_close() turns each of them from 'running' into
 *     'error' / 'interrupted' and commits, so a scenario that dies mid-run
 *     leaves a visible, finished row.  Runs of other connections are never
 *     touched.
 *
 * (6) uint64_t values (seed, step numbers, counts) are stored as the int64
 *     with the same bits; see the note at the top of schema.sql.
 *
 * (7) Errors: every public function returns 0 (or an id) on success and -1
 *     on failure with rec_errmsg() set to "FILE: message".  rec_open()
 *     writes the same form into its err buffer.
 */
#include "pagesim/recorder.h"

#include <sqlite3.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema.h"

#define REC_APPLICATION_ID 0x50475331 /* 'PGS1' */
#define REC_BATCH_ROWS 4096           /* rows per transaction, at most */
#define REC_BUSY_TIMEOUT_MS 5000

/* Prepared statements, one per kind of write. */
enum rec_stmt {
	REC_ST_BEGIN,
	REC_ST_COMMIT,
	REC_ST_RUN_BEGIN, /* ?1 scenario ?2 seed ?3 mutants ?4 version */
	REC_ST_RUN_END,   /* ?1 id ?2 status ... ?8 duration_ms */
	REC_ST_RUN_ABORT, /* ?1 id: 'running' -> 'error'/'interrupted' */
	REC_ST_RUN_PROFILE, /* ?1 id ?2 cpu_profile */
	REC_ST_RUN_HAP,     /* ?1 id ?2 hap */
	REC_ST_STEP,
	REC_ST_DIVERGENCE,
	REC_ST_FAILURE,
	REC_ST_COVERAGE,
	REC_ST_SAMPLE,
	REC_ST_COUNT
};

static const char *const rec_stmt_sql[REC_ST_COUNT] = {
	[REC_ST_BEGIN] = "BEGIN",
	[REC_ST_COMMIT] = "COMMIT",
	[REC_ST_RUN_BEGIN] =
		"INSERT INTO runs (scenario, seed, status, mutants, started_at,"
		" pagesim_version) VALUES (?1, ?2, 'running', ?3,"
		" strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), ?4)",
	[REC_ST_RUN_END] =
		"UPDATE runs SET status = ?2, digest = ?3, steps = ?4,"
		" failures = ?5, divergences = ?6, message = ?7,"
		" duration_ms = ?8 WHERE id = ?1",
	[REC_ST_RUN_ABORT] =
		"UPDATE runs SET status = 'error', message = 'interrupted'"
		" WHERE id = ?1 AND status = 'running'",
	[REC_ST_RUN_PROFILE] =
		"UPDATE runs SET cpu_profile = ?2 WHERE id = ?1",
	[REC_ST_RUN_HAP] =
		"UPDATE runs SET hap = ?2 WHERE id = ?1",
	[REC_ST_STEP] =
		"INSERT INTO steps (run_id, step, src, op, args, result)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[REC_ST_DIVERGENCE] =
		"INSERT INTO divergences (run_id, step, src, field, expected,"
		" actual) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[REC_ST_FAILURE] =
		"INSERT INTO failures (run_id, step, src, message)"
		" VALUES (?1, ?2, ?3, ?4)",
	[REC_ST_COVERAGE] =
		"INSERT INTO coverage (run_id, kind, key, count)"
		" VALUES (?1, ?2, ?3, ?4) ON CONFLICT (run_id, kind, key)"
		" DO UPDATE SET count = count + excluded.count",
	[REC_ST_SAMPLE] =
		"INSERT INTO samples (run_id, step, domain, dirty, paging_out,"
		" paged, paging_in, ring_used, ring_size)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
};

struct recorder {
	sqlite3 *db;
	sqlite3_stmt *st[REC_ST_COUNT];
	unsigned rows;      /* rows written in the open transaction */
	int64_t *open_runs; /* begun, not yet ended (note 5) */
	size_t nopen, capopen;
	char *path;
	char err[512];
};

/* What rec_inspect() found in a file. */
enum rec_kind {
	REC_KIND_EMPTY,  /* no schema: initialise it */
	REC_KIND_OURS,   /* pagesim schema, current version */
	REC_KIND_UPGRADE, /* older pagesim schema (1, 2): upgrade in place */
	REC_KIND_REFUSE, /* anything else: leave it alone */
};

/* -------------------------------------------------------------------- */
/* Errors                                                               */

/* Formats "PATH: message" into buf.  Always returns -1. */
static int rec_vfmt(char *buf, size_t len, const char *path, const char *fmt,
                    va_list ap)
{
	int n;

	if (!buf || len == 0)
		return -1;
	n = snprintf(buf, len, "%s: ", path ? path : "(null)");
	if (n < 0 || (size_t)n >= len)
		return -1;
	vsnprintf(buf + n, len - (size_t)n, fmt, ap);
	return -1;
}

static int rec_fmt(char *buf, size_t len, const char *path, const char *fmt,
                   ...) __attribute__((format(printf, 4, 5)));
static int rec_fmt(char *buf, size_t len, const char *path, const char *fmt,
                   ...)
{
	va_list ap;

	va_start(ap, fmt);
	rec_vfmt(buf, len, path, fmt, ap);
	va_end(ap);
	return -1;
}

/* Records an error on r; returns -1. */
static int rec_fail(struct recorder *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int rec_fail(struct recorder *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	rec_vfmt(r->err, sizeof(r->err), r->path, fmt, ap);
	va_end(ap);
	return -1;
}

/* -------------------------------------------------------------------- */
/* Opening                                                              */

/* Runs sql (one statement, one integer column) and stores the first row's
 * value in *out (0 if no row).  SQLite result code. */
static int rec_query_int(sqlite3 *db, const char *sql, int64_t *out)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*out = 0;
	rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		goto end;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*out = sqlite3_column_int64(st, 0);
		rc = SQLITE_OK;
	} else if (rc == SQLITE_DONE) {
		rc = SQLITE_OK;
	}
end:
	sqlite3_finalize(st);
	return rc;
}

/* Classifies the open database without writing to it (note 1).  On
 * REC_KIND_REFUSE, msg explains why. */
static enum rec_kind rec_inspect(sqlite3 *db, const char *path, char *msg,
                                 size_t msglen)
{
	int64_t app, uv, nobj;
	int rc;

	rc = rec_query_int(db, "PRAGMA application_id", &app);
	if (rc == SQLITE_OK)
		rc = rec_query_int(db, "PRAGMA user_version", &uv);
	if (rc == SQLITE_OK)
		rc = rec_query_int(db, "SELECT count(*) FROM sqlite_master",
		                   &nobj);
	if (rc != SQLITE_OK) {
		/* SQLITE_NOTADB: "file is not a database" */
		rec_fmt(msg, msglen, path, "%s", sqlite3_errmsg(db));
		return REC_KIND_REFUSE;
	}
	if (app != 0 && app != REC_APPLICATION_ID) {
		rec_fmt(msg, msglen, path,
		        "not a pagesim database (application_id 0x%08x)",
		        (unsigned)(uint32_t)app);
		return REC_KIND_REFUSE;
	}
	if (uv == 0) {
		if (nobj == 0)
			return REC_KIND_EMPTY;
		rec_fmt(msg, msglen, path,
		        "has tables but no pagesim schema (application_id "
		        "0x%08x, user_version 0)",
		        (unsigned)(uint32_t)app);
		return REC_KIND_REFUSE;
	}
	if (app == 0) {
		rec_fmt(msg, msglen, path,
		        "not a pagesim database (application_id 0x00000000, "
		        "user_version %lld)",
		        (long long)uv);
		return REC_KIND_REFUSE;
	}
	if (uv > RECORDER_SCHEMA_VERSION) {
		rec_fmt(msg, msglen, path,
		        "schema version %lld is newer than this pagesim (%d)",
		        (long long)uv, RECORDER_SCHEMA_VERSION);
		return REC_KIND_REFUSE;
	}
	if (uv >= 1 && uv < RECORDER_SCHEMA_VERSION)
		return REC_KIND_UPGRADE;
	if (uv != RECORDER_SCHEMA_VERSION) {
		rec_fmt(msg, msglen, path,
		        "unknown schema version %lld (this pagesim has %d)",
		        (long long)uv, RECORDER_SCHEMA_VERSION);
		return REC_KIND_REFUSE;
	}
	return REC_KIND_OURS;
}

/* Connection settings; the first write to the file happens here. */
static int rec_configure(struct recorder *r)
{
	sqlite3_stmt *st = NULL;
	const char *mode;
	int rc;

	rc = sqlite3_prepare_v2(r->db, "PRAGMA journal_mode=WAL", -1, &st,
	                        NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		rec_fail(r, "cannot set journal_mode=WAL: %s",
		         sqlite3_errmsg(r->db));
		sqlite3_finalize(st);
		return -1;
	}
	mode = (const char *)sqlite3_column_text(st, 0);
	/* "memory" is what an in-memory database reports. */
	if (!mode || (strcmp(mode, "wal") && strcmp(mode, "memory"))) {
		rec_fail(r, "cannot set journal_mode=WAL (journal_mode is %s)",
		         mode ? mode : "unknown");
		sqlite3_finalize(st);
		return -1;
	}
	sqlite3_finalize(st);

	rc = sqlite3_exec(r->db,
	                  "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
	                  NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return rec_fail(r, "%s", sqlite3_errmsg(r->db));
	return 0;
}

/* Creates the schema in an empty database (note 2). */
static int rec_create_schema(struct recorder *r)
{
	char msg[sizeof(r->err)];
	int64_t uv = 0, app = 0;
	enum rec_kind kind;
	int rc;

	rc = sqlite3_exec(r->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return rec_fail(r, "%s", sqlite3_errmsg(r->db));

	kind = rec_inspect(r->db, r->path, msg, sizeof(msg));
	if (kind == REC_KIND_REFUSE) {
		memcpy(r->err, msg, sizeof(r->err));
		goto rollback;
	}
	if (kind == REC_KIND_EMPTY) {
		rc = sqlite3_exec(r->db, rec_schema_sql, NULL, NULL, NULL);
		if (rc != SQLITE_OK) {
			rec_fail(r, "creating schema: %s",
			         sqlite3_errmsg(r->db));
			goto rollback;
		}
		rc = rec_query_int(r->db, "PRAGMA user_version", &uv);
		if (rc == SQLITE_OK)
			rc = rec_query_int(r->db, "PRAGMA application_id", &app);
		if (rc != SQLITE_OK || uv != RECORDER_SCHEMA_VERSION ||
		    app != REC_APPLICATION_ID) {
			rec_fail(r,
			         "internal: schema text sets user_version %lld"
			         " application_id 0x%08x, expected %d 0x%08x",
			         (long long)uv, (unsigned)(uint32_t)app,
			         RECORDER_SCHEMA_VERSION, REC_APPLICATION_ID);
			goto rollback;
		}
	}
	rc = sqlite3_exec(r->db, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		rec_fail(r, "%s", sqlite3_errmsg(r->db));
		goto rollback;
	}
	return 0;

rollback:
	sqlite3_exec(r->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

/* Older version -> RECORDER_SCHEMA_VERSION in place, in one transaction,
 * re-inspected inside it so that two processes opening the same old file
 * upgrade it once.  Every rec_upgrades[] step at or above the file's
 * version runs, in order; then user_version is set. */
static int rec_upgrade(struct recorder *r)
{
	char msg[sizeof(r->err)], sql[64];
	int64_t uv = 0, from = 0;

	if (sqlite3_exec(r->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return rec_fail(r, "%s", sqlite3_errmsg(r->db));
	switch (rec_inspect(r->db, r->path, msg, sizeof(msg))) {
	case REC_KIND_OURS:
		break; /* someone else upgraded it meanwhile */
	case REC_KIND_UPGRADE:
		if (rec_query_int(r->db, "PRAGMA user_version", &from) != SQLITE_OK) {
			rec_fail(r, "%s", sqlite3_errmsg(r->db));
			goto rollback;
		}
		for (unsigned i = 0; i < rec_nupgrades; i++) {
			if (rec_upgrades[i].from < from)
				continue;
			if (sqlite3_exec(r->db, rec_upgrades[i].sql, NULL, NULL,
			                 NULL) != SQLITE_OK) {
				rec_fail(r, "upgrading schema %lld -> %d (step from %d): %s",
				         (long long)from, RECORDER_SCHEMA_VERSION,
				         rec_upgrades[i].from, sqlite3_errmsg(r->db));
				goto rollback;
			}
		}
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
		         RECORDER_SCHEMA_VERSION);
		if (sqlite3_exec(r->db, sql, NULL, NULL, NULL) != SQLITE_OK ||
		    rec_query_int(r->db, "PRAGMA user_version", &uv) != SQLITE_OK ||
		    uv != RECORDER_SCHEMA_VERSION) {
			rec_fail(r, "upgrading schema %lld -> %d: %s", (long long)from,
			         RECORDER_SCHEMA_VERSION, sqlite3_errmsg(r->db));
			goto rollback;
		}
		break;
	default:
		memcpy(r->err, msg, sizeof(r->err));
		goto rollback;
	}
	if (sqlite3_exec(r->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		rec_fail(r, "%s", sqlite3_errmsg(r->db));
		goto rollback;
	}
	return 0;
rollback:
	sqlite3_exec(r->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

static int rec_prepare(struct recorder *r)
{
	for (int i = 0; i < REC_ST_COUNT; i++) {
		int rc = sqlite3_prepare_v3(r->db, rec_stmt_sql[i], -1,
		                            SQLITE_PREPARE_PERSISTENT, &r->st[i],
		                            NULL);
		if (rc != SQLITE_OK)
			return rec_fail(r, "%s", sqlite3_errmsg(r->db));
	}
	return 0;
}

static void rec_free(struct recorder *r)
{
	for (int i = 0; i < REC_ST_COUNT; i++)
		sqlite3_finalize(r->st[i]);
	sqlite3_close_v2(r->db);
	free(r->open_runs);
	free(r->path);
	free(r);
}

struct recorder *rec_open(const char *path, char *err, size_t errlen)
{
	struct recorder *r;
	enum rec_kind kind;
	int rc;

	if (err && errlen)
		err[0] = '\0';
	if (!path || !*path) {
		rec_fmt(err, errlen, "(recorder)", "no database path given");
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (r)
		r->path = strdup(path);
	if (!r || !r->path) {
		rec_fmt(err, errlen, path, "out of memory");
		free(r);
		return NULL;
	}

	rc = sqlite3_open_v2(path, &r->db,
	                     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	if (rc != SQLITE_OK) {
		rec_fail(r, "%s", r->db ? sqlite3_errmsg(r->db)
		                        : sqlite3_errstr(rc));
		goto fail;
	}
	sqlite3_busy_timeout(r->db, REC_BUSY_TIMEOUT_MS);

	/* Nothing has been written yet: decide whether we may (note 1). */
	kind = rec_inspect(r->db, path, r->err, sizeof(r->err));
	if (kind == REC_KIND_REFUSE)
		goto fail;
	if (sqlite3_db_readonly(r->db, "main") == 1) {
		rec_fail(r, "database is read-only");
		goto fail;
	}

	if (rec_configure(r))
		goto fail;
	if (kind == REC_KIND_EMPTY && rec_create_schema(r))
		goto fail;
	if (kind == REC_KIND_UPGRADE && rec_upgrade(r))
		goto fail;
	if (rec_prepare(r))
		goto fail;
	return r;

fail:
	if (err && errlen)
		snprintf(err, errlen, "%s", r->err);
	rec_free(r);
	return NULL;
}

/* -------------------------------------------------------------------- */
/* Transactions (note 4)                                                */

static int rec_exec_stmt(struct recorder *r, enum rec_stmt which)
{
	sqlite3_stmt *st = r->st[which];
	int rc = sqlite3_step(st);

	if (rc != SQLITE_DONE) {
		rec_fail(r, "%s", sqlite3_errmsg(r->db));
		sqlite3_reset(st);
		return -1;
	}
	sqlite3_reset(st);
	return 0;
}

static int rec_txn_begin(struct recorder *r)
{
	if (!sqlite3_get_autocommit(r->db))
		return 0;
	r->rows = 0;
	return rec_exec_stmt(r, REC_ST_BEGIN);
}

static int rec_txn_commit(struct recorder *r)
{
	if (sqlite3_get_autocommit(r->db)) {
		r->rows = 0;
		return 0;
	}
	if (rec_exec_stmt(r, REC_ST_COMMIT))
		return -1;
	r->rows = 0;
	return 0;
}

/* Steps a bound write statement inside the batch transaction, then resets
 * it.  Commits when the batch is full. */
static int rec_write(struct recorder *r, enum rec_stmt which, int bind_rc)
{
	sqlite3_stmt *st = r->st[which];
	int rc;

	if (bind_rc != SQLITE_OK) {
		rec_fail(r, "%s", sqlite3_errstr(bind_rc));
		goto fail;
	}
	if (rec_txn_begin(r))
		goto fail;
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE) {
		rec_fail(r, "%s", sqlite3_errmsg(r->db));
		goto fail;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (++r->rows >= REC_BATCH_ROWS)
		return rec_txn_commit(r);
	return 0;

fail:
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return -1;
}

/* -------------------------------------------------------------------- */
/* Binding helpers: each returns the first failing SQLite code.          */

static int rec_bind_text(sqlite3_stmt *st, int i, const char *s, int rc)
{
	if (rc != SQLITE_OK)
		return rc;
	return s ? sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC)
	         : sqlite3_bind_null(st, i);
}

static int rec_bind_i64(sqlite3_stmt *st, int i, int64_t v, int rc)
{
	return rc != SQLITE_OK ? rc : sqlite3_bind_int64(st, i, v);
}

/* uint64_t stored as the int64 with the same bits (note 6). */
static int rec_bind_u64(sqlite3_stmt *st, int i, uint64_t v, int rc)
{
	return rec_bind_i64(st, i, (int64_t)v, rc);
}

/* -------------------------------------------------------------------- */
/* Runs                                                                 */

/* Makes room for one more open run, so that a run row, once inserted, is
 * always remembered. */
static int rec_reserve_run(struct recorder *r)
{
	if (r->nopen == r->capopen) {
		size_t cap = r->capopen ? 2 * r->capopen : 8;
		int64_t *p = realloc(r->open_runs, cap * sizeof(*p));

		if (!p)
			return rec_fail(r, "out of memory");
		r->open_runs = p;
		r->capopen = cap;
	}
	return 0;
}

static void rec_forget_run(struct recorder *r, int64_t id)
{
	for (size_t i = 0; i < r->nopen; i++) {
		if (r->open_runs[i] == id) {
			r->open_runs[i] = r->open_runs[--r->nopen];
			return;
		}
	}
}

int64_t rec_run_begin(struct recorder *r, const char *scenario, uint64_t seed,
                      const char *mutants)
{
	sqlite3_stmt *st;
	int64_t id;
	int rc = SQLITE_OK;

	if (!r)
		return -1;
	if (rec_reserve_run(r))
		return -1;
	st = r->st[REC_ST_RUN_BEGIN];
	rc = rec_bind_text(st, 1, scenario, rc);
	rc = rec_bind_u64(st, 2, seed, rc);
	rc = rec_bind_text(st, 3, mutants, rc);
	rc = rec_bind_text(st, 4, PAGESIM_VERSION, rc);
	if (rc != SQLITE_OK) {
		rec_fail(r, "%s", sqlite3_errstr(rc));
		goto fail;
	}
	if (rec_txn_begin(r))
		goto fail;
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE) {
		rec_fail(r, "%s", sqlite3_errmsg(r->db));
		goto fail;
	}
	id = sqlite3_last_insert_rowid(r->db);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	r->open_runs[r->nopen++] = id;
	if (++r->rows >= REC_BATCH_ROWS && rec_txn_commit(r))
		return -1;
	return id;

fail:
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return -1;
}

int rec_run_end(struct recorder *r, int64_t run, const char *status,
                const char *digest, uint64_t steps, uint64_t failures,
                uint64_t divergences, const char *message,
                double duration_ms)
{
	sqlite3_stmt *st;
	int rc = SQLITE_OK;

	if (!r)
		return -1;
	if (status && !strcmp(status, "running"))
		return rec_fail(r, "run %lld: rec_run_end needs a final status,"
		                   " not 'running'",
		                (long long)run);
	st = r->st[REC_ST_RUN_END];
	rc = rec_bind_i64(st, 1, run, rc);
	rc = rec_bind_text(st, 2, status, rc);
	rc = rec_bind_text(st, 3, digest, rc);
	rc = rec_bind_u64(st, 4, steps, rc);
	rc = rec_bind_u64(st, 5, failures, rc);
	rc = rec_bind_u64(st, 6, divergences, rc);
	rc = rec_bind_text(st, 7, message, rc);
	rc = rc != SQLITE_OK ? rc : sqlite3_bind_double(st, 8, duration_ms);
	if (rec_write(r, REC_ST_RUN_END, rc))
		return -1;
	if (sqlite3_changes(r->db) != 1)
		return rec_fail(r, "no run %lld", (long long)run);
	rec_forget_run(r, run);
	return rec_txn_commit(r);
}

/* Set one text column of an existing run (cpu_profile, hap): statement
 * `which` binds (run id, text); a run id that matches no row is an error
 * naming it. */
static int rec_run_set_text(struct recorder *r, enum rec_stmt which, int64_t run,
                            const char *text)
{
	sqlite3_stmt *st;
	int rc = SQLITE_OK;

	if (!r)
		return -1;
	st = r->st[which];
	rc = rec_bind_i64(st, 1, run, rc);
	rc = rec_bind_text(st, 2, text, rc);
	if (rec_write(r, which, rc))
		return -1;
	if (sqlite3_changes(r->db) != 1)
		return rec_fail(r, "no run %lld", (long long)run);
	return 0;
}

int rec_run_profile(struct recorder *r, int64_t run, const char *profile)
{
	return rec_run_set_text(r, REC_ST_RUN_PROFILE, run, profile);
}

int rec_run_hap(struct recorder *r, int64_t run, const char *hap)
{
	return rec_run_set_text(r, REC_ST_RUN_HAP, run, hap);
}

/* -------------------------------------------------------------------- */
/* Rows                                                                 */

int rec_step(struct recorder *r, int64_t run, uint64_t step, const char *src,
             const char *op, const char *args, const char *result)
{
	sqlite3_stmt *st;
	int rc = SQLITE_OK;

	if (!r)
		return -1;
	st = r->st[REC_ST_STEP];
	rc = rec_bind_i64(st, 1, run, rc);
	rc = rec_bind_u64(st, 2, step, rc);
	rc = rec_bind_text(st, 3, src, rc);
	rc = rec_bind_text(st, 4, op, rc);
	rc = rec_bind_text(st, 5, args, rc);
	rc = rec_bind_text(st, 6, result, rc);
	return rec_write(r, REC_ST_STEP, rc);
}

int rec_divergence(struct recorder *r, int64_t run, uint64_t step,
                   const char *src, const char *field, const char *expected,
                   const char *actual)
{
	sqlite3_stmt *st;
	int rc = SQLITE_OK;

	if (!r)
		return -1;
	st = r->st[REC_ST_DIVERGENCE];
	rc = rec_bind_i64(st, 1, run, rc);
	rc = rec_bind_u64(st, 2, step, rc);
	rc = rec_bind_text(st, 3, src, rc);
	rc = rec_bind_text(st, 4, field, rc);
	rc = rec_bind_text(st, 5, expected, rc);
	rc = rec_bind_text(st, 6, actual, rc);
	return rec_write(r, REC_ST_DIVERGENCE, rc);
}

int rec_failure(struct recorder *r, int64_t run, uint64_t step,
                const char *src, const char *message)
{
	sqlite3_stmt *st;
	int rc = SQLITE_OK;

	if (!r)
		return -1;
	st = r->st[REC_ST_FAILURE];
	rc = rec_bind_i64(st, 1, run, rc);
	rc = rec_bind_u64(st, 2, step, rc);
	rc = rec_bind_text(st, 3, src, rc);
	rc = rec_bind_text(st, 4, message, rc);
	return rec_write(r, REC_ST_FAILURE, rc);
}

/* -------------------------------------------------------------------- */
/* Closing                                                              */

int rec_coverage(struct recorder *r, int64_t run, const char *kind,
                 const char *key, uint64_t count)
{
	sqlite3_stmt *st;
	int rc;

	if (!r)
		return -1;
	st = r->st[REC_ST_COVERAGE];
	rc = rec_bind_i64(st, 1, run, SQLITE_OK);
	rc = rec_bind_text(st, 2, kind, rc);
	rc = rec_bind_text(st, 3, key, rc);
	rc = rec_bind_u64(st, 4, count, rc);
	return rec_write(r, REC_ST_COVERAGE, rc);
}

int rec_sample(struct recorder *r, int64_t run, uint64_t step,
               const struct rec_sample *s)
{
	sqlite3_stmt *st;
	int rc;

	if (!r || !s)
		return -1;
	st = r->st[REC_ST_SAMPLE];
	rc = rec_bind_i64(st, 1, run, SQLITE_OK);
	rc = rec_bind_u64(st, 2, step, rc);
	rc = rec_bind_i64(st, 3, s->domain, rc);
	rc = rec_bind_u64(st, 4, s->dirty, rc);
	rc = rec_bind_u64(st, 5, s->paging_out, rc);
	rc = rec_bind_u64(st, 6, s->paged, rc);
	rc = rec_bind_u64(st, 7, s->paging_in, rc);
	rc = rec_bind_i64(st, 8, s->ring_used, rc);
	rc = rec_bind_i64(st, 9, s->ring_size, rc);
	return rec_write(r, REC_ST_SAMPLE, rc);
}

void rec_close(struct recorder *r)
{
	int bad = 0;

	if (!r)
		return;
	/* Note 5: unfinished runs become 'error' / 'interrupted'. */
	for (size_t i = 0; i < r->nopen; i++) {
		sqlite3_stmt *st = r->st[REC_ST_RUN_ABORT];
		int rc = rec_bind_i64(st, 1, r->open_runs[i], SQLITE_OK);

		if (rec_write(r, REC_ST_RUN_ABORT, rc))
			bad = 1;
	}
	r->nopen = 0;
	if (rec_txn_commit(r))
		bad = 1;
	/* void: stderr is the only place left to say that data was lost. */
	if (bad)
		fprintf(stderr, "pagesim: recorder: %s\n", r->err);
	rec_free(r);
}

const char *rec_errmsg(const struct recorder *r)
{
	if (!r)
		return "no recorder";
	return r->err;
}

/* -------------------------------------------------------------------- */
/* Merging databases (pagesim merge)                                    */

/* Runs one statement of SQL text on the recorder's connection. */
static int rec_exec_sql(struct recorder *r, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(r->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		rec_fail(r, "%s", msg ? msg : sqlite3_errmsg(r->db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

/*
 * Copies every run of the pagesim database at src, with its steps,
 * divergences and failures, into r's database under new run ids (in the
 * source's id order), in one transaction.  src is identified exactly as
 * rec_open() identifies a file (note 1) and only read.
 * Returns the number of runs copied, or -1 with rec_errmsg() set.
 */
int64_t rec_merge(struct recorder *r, const char *src)
{
	/* Each statement with the first source schema version that has its
	 * table: an older source is read as it is. */
	static const struct {
		int64_t since;
		const char *sql;
	} copy[] = {
		{ 1, "INSERT INTO temp.pagesim_idmap (old)"
		" SELECT id FROM src.runs ORDER BY id" },
		{ 1, "UPDATE temp.pagesim_idmap SET new = rowid +"
		" (SELECT COALESCE(MAX(id), 0) FROM main.runs)" },
		{ 1, "INSERT INTO main.runs (id, scenario, seed, status, digest, steps,"
		" failures, divergences, message, mutants, started_at, duration_ms,"
		" pagesim_version) SELECT m.new, scenario, seed, status, digest,"
		" steps, failures, divergences, message, mutants, started_at,"
		" duration_ms, pagesim_version FROM src.runs s"
		" JOIN temp.pagesim_idmap m ON m.old = s.id ORDER BY m.new" },
		/* version 3 sources: the profile (older ones leave it NULL) */
		{ 3, "UPDATE main.runs SET cpu_profile = (SELECT s.cpu_profile FROM"
		" src.runs s JOIN temp.pagesim_idmap m ON m.old = s.id"
		" WHERE m.new = main.runs.id) WHERE id IN (SELECT new FROM"
		" temp.pagesim_idmap)" },
		/* version 4 sources: the --hap override (older ones: NULL) */
		{ 4, "UPDATE main.runs SET hap = (SELECT s.hap FROM"
		" src.runs s JOIN temp.pagesim_idmap m ON m.old = s.id"
		" WHERE m.new = main.runs.id) WHERE id IN (SELECT new FROM"
		" temp.pagesim_idmap)" },
		{ 1, "INSERT INTO main.steps (run_id, step, src, op, args, result)"
		" SELECT m.new, step, s.src, op, args, result FROM src.steps s"
		" JOIN temp.pagesim_idmap m ON m.old = s.run_id" },
		{ 1, "INSERT INTO main.divergences (run_id, step, src, field, expected,"
		" actual) SELECT m.new, step, s.src, field, expected, actual"
		" FROM src.divergences s JOIN temp.pagesim_idmap m"
		" ON m.old = s.run_id ORDER BY s.id" },
		{ 1, "INSERT INTO main.failures (run_id, step, src, message)"
		" SELECT m.new, step, s.src, message FROM src.failures s"
		" JOIN temp.pagesim_idmap m ON m.old = s.run_id ORDER BY s.id" },
		{ 2, "INSERT INTO main.coverage (run_id, kind, key, count)"
		" SELECT m.new, kind, key, count FROM src.coverage s"
		" JOIN temp.pagesim_idmap m ON m.old = s.run_id" },
		{ 3, "INSERT INTO main.samples (run_id, step, domain, dirty,"
		     " paging_out, paged, paging_in, ring_used, ring_size)"
		     " SELECT m.new, step, domain, dirty, paging_out, paged,"
		     " paging_in, ring_used, ring_size FROM src.samples s"
		     " JOIN temp.pagesim_idmap m ON m.old = s.run_id" },
	};
	sqlite3 *in = NULL;
	sqlite3_stmt *st = NULL;
	int64_t n = -1;
	char msg[512];

	/* Identify the source first, read-only (note 1). */
	if (sqlite3_open_v2(src, &in, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		rec_fail(r, "%s: %s", src, in ? sqlite3_errmsg(in) : "cannot open");
		sqlite3_close(in);
		return -1;
	}
	int64_t src_version = RECORDER_SCHEMA_VERSION;
	switch (rec_inspect(in, src, msg, sizeof(msg))) {
	case REC_KIND_OURS:
		break;
	case REC_KIND_UPGRADE: /* read as it is: newer tables are skipped */
		if (rec_query_int(in, "PRAGMA user_version", &src_version) !=
		    SQLITE_OK) {
			rec_fmt(r->err, sizeof(r->err), src, "%s", sqlite3_errmsg(in));
			sqlite3_close(in);
			return -1;
		}
		break;
	case REC_KIND_EMPTY:
		rec_fmt(msg, sizeof(msg), src, "not a pagesim database (empty)");
		/* fall through */
	default:
		snprintf(r->err, sizeof(r->err), "%s", msg);
		sqlite3_close(in);
		return -1;
	}
	sqlite3_close(in);

	if (rec_txn_commit(r))
		return -1;
	if (sqlite3_prepare_v2(r->db, "ATTACH DATABASE ?1 AS src", -1, &st,
	                       NULL) != SQLITE_OK ||
	    sqlite3_bind_text(st, 1, src, -1, SQLITE_TRANSIENT) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_DONE) {
		rec_fail(r, "attach %s: %s", src, sqlite3_errmsg(r->db));
		sqlite3_finalize(st);
		return -1;
	}
	sqlite3_finalize(st);

	if (rec_exec_sql(r, "BEGIN IMMEDIATE"))
		goto detach;
	if (rec_exec_sql(r, "CREATE TEMP TABLE pagesim_idmap"
	                    " (old INTEGER NOT NULL, new INTEGER)"))
		goto rollback;
	for (size_t i = 0; i < sizeof(copy) / sizeof(copy[0]); i++)
		if (copy[i].since <= src_version && rec_exec_sql(r, copy[i].sql))
			goto rollback;
	if (rec_query_int(r->db, "SELECT count(*) FROM temp.pagesim_idmap",
	                  &n) != SQLITE_OK) {
		rec_fail(r, "%s", sqlite3_errmsg(r->db));
		n = -1;
		goto rollback;
	}
	if (rec_exec_sql(r, "DROP TABLE temp.pagesim_idmap") ||
	    rec_exec_sql(r, "COMMIT")) {
		n = -1;
		goto rollback;
	}
	goto detach;

rollback:
	sqlite3_exec(r->db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_exec(r->db, "DROP TABLE IF EXISTS temp.pagesim_idmap", NULL,
	             NULL, NULL);
	n = -1;
detach:
	sqlite3_exec(r->db, "DETACH DATABASE src", NULL, NULL, NULL);
	return n;
}
