/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_recorder.c - Criterion tests of the SQLite trace recorder
 * (reports/recorder.c, include/pagesim/recorder.h).
 *
 * Each test works in its own mkdtemp() directory and reads results back
 * with the plain sqlite3 API, never through the recorder.  Refusal tests
 * compare the file's bytes before and after rec_open().  Run from the
 * repository root: the schema test reads reports/schema.sql.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <ftw.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pagesim/recorder.h"
#include "../../reports/schema.h"

static char tmpdir[] = "/tmp/pagesim-rec-XXXXXX";
static char dbpath[512];

static void setup(void)
{
	cr_assert_not_null(mkdtemp(tmpdir), "mkdtemp");
	snprintf(dbpath, sizeof(dbpath), "%s/trace.db", tmpdir);
}

static int rm_entry(const char *p, const struct stat *sb, int flag,
                    struct FTW *ftw)
{
	return remove(p);
}

static void teardown(void)
{
	nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(recorder, .init = setup, .fini = teardown);

/* ---- helpers --------------------------------------------------------- */

/* Whole file into a malloc'd buffer (NUL-terminated); NULL if unreadable. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)n + 1);
		if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		}
		if (buf) {
			buf[n] = '\0';
			*len = (size_t)n;
		}
	}
	fclose(f);
	return buf;
}

static sqlite3 *db_open(const char *path)
{
	sqlite3 *db = NULL;

	cr_assert_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL),
	             SQLITE_OK, "open %s", path);
	return db;
}

/* First column of the first row of sql, as an integer. */
static int64_t q_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int64_t v;

	cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK,
	             "%s: %s", sql, sqlite3_errmsg(db));
	cr_assert_eq(sqlite3_step(st), SQLITE_ROW, "%s: no row", sql);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* First column of the first row of sql, as text ("(null)" for NULL),
 * copied into buf. */
static const char *q_text(sqlite3 *db, const char *sql, char *buf,
                          size_t len)
{
	sqlite3_stmt *st = NULL;
	const unsigned char *t;

	cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK,
	             "%s: %s", sql, sqlite3_errmsg(db));
	cr_assert_eq(sqlite3_step(st), SQLITE_ROW, "%s: no row", sql);
	t = sqlite3_column_text(st, 0);
	snprintf(buf, len, "%s", t ? (const char *)t : "(null)");
	sqlite3_finalize(st);
	return buf;
}

/* All rows of sql, columns joined by '|', rows by '\n'. */
static const char *q_rows(sqlite3 *db, const char *sql, char *buf,
                          size_t len)
{
	sqlite3_stmt *st = NULL;
	size_t n = 0;

	buf[0] = '\0';
	cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK,
	             "%s: %s", sql, sqlite3_errmsg(db));
	while (sqlite3_step(st) == SQLITE_ROW) {
		for (int i = 0; i < sqlite3_column_count(st); i++) {
			const unsigned char *t = sqlite3_column_text(st, i);

			n += (size_t)snprintf(buf + n, len - n, "%s%s",
			                      i ? "|" : "",
			                      t ? (const char *)t : "NULL");
			cr_assert_lt(n, len);
		}
		n += (size_t)snprintf(buf + n, len - n, "\n");
		cr_assert_lt(n, len);
	}
	sqlite3_finalize(st);
	return buf;
}

static struct recorder *must_open(const char *path)
{
	char err[512];
	struct recorder *r = rec_open(path, err, sizeof(err));

	cr_assert_not_null(r, "rec_open: %s", err);
	return r;
}

/* rec_open must fail with a message naming the file and containing want,
 * and must leave the file's bytes as they were. */
static void expect_refused(const char *path, const char *want)
{
	char err[512], prefix[600];
	size_t before_len = 0, after_len = 0;
	char *before = slurp(path, &before_len), *after;
	struct recorder *r;

	cr_assert_not_null(before, "fixture file %s missing", path);
	r = rec_open(path, err, sizeof(err));
	cr_assert_null(r, "rec_open accepted %s", path);
	snprintf(prefix, sizeof(prefix), "%s: ", path);
	cr_assert_eq(strncmp(err, prefix, strlen(prefix)), 0,
	             "message does not name the file: %s", err);
	cr_assert_not_null(strstr(err, want), "message '%s' lacks '%s'", err,
	                   want);

	after = slurp(path, &after_len);
	cr_assert_not_null(after);
	cr_assert_eq(after_len, before_len, "file size changed");
	cr_assert_eq(memcmp(before, after, before_len), 0, "file changed");
	free(before);
	free(after);
}

/* ---- tests ----------------------------------------------------------- */

Test(recorder, schema_file_matches_embedded_text)
{
	size_t len = 0;
	char *file = slurp("reports/schema.sql", &len);

	cr_assert_not_null(file, "reports/schema.sql not readable from cwd "
	                         "(run from the repository root)");
	cr_assert_eq(len, strlen(rec_schema_sql),
	             "reports/schema.sql is %zu bytes, embedded text %zu",
	             len, strlen(rec_schema_sql));
	cr_assert_eq(memcmp(file, rec_schema_sql, len), 0,
	             "reports/schema.sql differs from reports/schema.c");
	free(file);
}

Test(recorder, fresh_database_identity_and_journal)
{
	char buf[64];
	struct recorder *r = must_open(dbpath);
	sqlite3 *db;

	rec_close(r);
	db = db_open(dbpath);
	cr_assert_eq(q_int(db, "PRAGMA user_version"), RECORDER_SCHEMA_VERSION);
	cr_assert_eq(q_int(db, "PRAGMA user_version"), RECORDER_SCHEMA_VERSION);
	cr_assert_eq(q_int(db, "PRAGMA application_id"), 0x50475331);
	cr_assert_str_eq(q_text(db, "PRAGMA journal_mode", buf, sizeof(buf)),
	                 "wal");
	cr_assert_eq(q_int(db, "SELECT count(*) FROM sqlite_master WHERE name"
	                       " IN ('runs','steps','divergences','failures',"
	                       "'run_summary','divergences_per_scenario',"
	                       "'run_totals','divergences_run',"
	                       "'failures_run','coverage','samples',"
	                       "'transition_coverage','coverage_per_kind',"
	                       "'run_cycles','replay_diffs_per_backend')"),
	             15);
	sqlite3_close(db);
}

Test(recorder, empty_file_is_initialised)
{
	FILE *f = fopen(dbpath, "w");
	struct recorder *r;

	cr_assert_not_null(f);
	fclose(f);
	r = must_open(dbpath);
	cr_assert_gt(rec_run_begin(r, "s", 1, NULL), 0, "%s", rec_errmsg(r));
	rec_close(r);
}

Test(recorder, round_trip)
{
	const uint64_t seed = 0xdeadbeefcafef00dULL; /* > INT64_MAX */
	char buf[4096];
	struct recorder *r = must_open(dbpath);
	int64_t run;
	sqlite3 *db;

	run = rec_run_begin(r, "ept/basic", seed, "flip_nx,skip_ad");
	cr_assert_gt(run, 0, "%s", rec_errmsg(r));
	cr_assert_eq(rec_step(r, run, 0, "ept.lua:10", "map",
	                      "gfn=0x1000 mfn=0x2000", "ok"),
	             0, "%s", rec_errmsg(r));
	cr_assert_eq(rec_step(r, run, 1, NULL, "read", NULL, NULL), 0, "%s",
	             rec_errmsg(r));
	cr_assert_eq(rec_divergence(r, run, 1, "ept.lua:11", "ad.accessed",
	                            "1", "0"),
	             0, "%s", rec_errmsg(r));
	cr_assert_eq(rec_failure(r, run, 1, "ept.lua:12", "expect(fault) failed"),
	             0, "%s", rec_errmsg(r));
	cr_assert_eq(rec_run_end(r, run, "diverge", "sha256:abcd", 2, 1, 1,
	                         "1 divergence", 12.5),
	             0, "%s", rec_errmsg(r));
	rec_close(r);

	db = db_open(dbpath);
	cr_assert_str_eq(
		q_rows(db,
		       "SELECT id, scenario, status, digest, steps, failures,"
		       " divergences, message, mutants, duration_ms,"
		       " pagesim_version FROM runs",
		       buf, sizeof(buf)),
		"1|ept/basic|diverge|sha256:abcd|2|1|1|1 divergence|"
		"flip_nx,skip_ad|12.5|" PAGESIM_VERSION "\n");
	cr_assert_eq((uint64_t)q_int(db, "SELECT seed FROM runs"), seed);
	/* started_at: YYYY-MM-DDTHH:MM:SS.sssZ */
	q_text(db, "SELECT started_at FROM runs", buf, sizeof(buf));
	cr_assert_eq(strlen(buf), 24, "started_at %s", buf);
	cr_assert_eq(buf[10], 'T', "started_at %s", buf);
	cr_assert_eq(buf[23], 'Z', "started_at %s", buf);
	cr_assert_str_eq(
		q_rows(db,
		       "SELECT run_id, step, src, op, args, result FROM steps"
		       " ORDER BY step",
		       buf, sizeof(buf)),
		"1|0|ept.lua:10|map|gfn=0x1000 mfn=0x2000|ok\n"
		"1|1|NULL|read|NULL|NULL\n");
	cr_assert_str_eq(
		q_rows(db,
		       "SELECT id, run_id, step, src, field, expected, actual"
		       " FROM divergences",
		       buf, sizeof(buf)),
		"1|1|1|ept.lua:11|ad.accessed|1|0\n");
	cr_assert_str_eq(
		q_rows(db, "SELECT id, run_id, step, src, message FROM failures",
		       buf, sizeof(buf)),
		"1|1|1|ept.lua:12|expect(fault) failed\n");
	/* ON DELETE CASCADE (foreign keys are per connection). */
	sqlite3_exec(db, "PRAGMA foreign_keys=ON; DELETE FROM runs", NULL,
	             NULL, NULL);
	cr_assert_eq(q_int(db, "SELECT count(*) FROM steps"), 0);
	cr_assert_eq(q_int(db, "SELECT count(*) FROM divergences"), 0);
	cr_assert_eq(q_int(db, "SELECT count(*) FROM failures"), 0);
	sqlite3_close(db);
}

Test(recorder, reopen_appends_runs)
{
	struct recorder *r = must_open(dbpath);
	int64_t a, b;
	sqlite3 *db;

	a = rec_run_begin(r, "one", 1, NULL);
	cr_assert_eq(rec_run_end(r, a, "pass", NULL, 0, 0, 0, NULL, 1.0), 0,
	             "%s", rec_errmsg(r));
	rec_close(r);

	r = must_open(dbpath);
	b = rec_run_begin(r, "two", 2, NULL);
	cr_assert_gt(b, a);
	cr_assert_eq(rec_run_end(r, b, "pass", NULL, 0, 0, 0, NULL, 1.0), 0,
	             "%s", rec_errmsg(r));
	rec_close(r);

	db = db_open(dbpath);
	cr_assert_eq(q_int(db, "SELECT count(*) FROM runs WHERE status='pass'"),
	             2);
	cr_assert_eq(q_int(db, "PRAGMA user_version"), RECORDER_SCHEMA_VERSION);
	sqlite3_close(db);
}

Test(recorder, newer_schema_version_refused)
{
	struct recorder *r = must_open(dbpath);
	sqlite3 *db;

	rec_close(r);
	db = db_open(dbpath);
	cr_assert_eq(sqlite3_exec(db, "PRAGMA user_version = 7", NULL, NULL,
	                          NULL),
	             SQLITE_OK);
	sqlite3_close(db);

	expect_refused(dbpath, "schema version 7 is newer than this pagesim (4)");
}

Test(recorder, text_file_refused)
{
	FILE *f = fopen(dbpath, "w");

	cr_assert_not_null(f);
	for (int i = 0; i < 100; i++)
		fprintf(f, "line %d: this is not an SQLite database\n", i);
	fclose(f);

	expect_refused(dbpath, "file is not a database");
	cr_assert_neq(access(dbpath, F_OK), -1);
	{
		char side[600];

		snprintf(side, sizeof(side), "%s-wal", dbpath);
		cr_assert_eq(access(side, F_OK), -1, "%s created", side);
		snprintf(side, sizeof(side), "%s-journal", dbpath);
		cr_assert_eq(access(side, F_OK), -1, "%s created", side);
	}
}

Test(recorder, foreign_database_with_tables_refused)
{
	sqlite3 *db = NULL;

	cr_assert_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(db,
	                          "CREATE TABLE t(x); INSERT INTO t VALUES (1)",
	                          NULL, NULL, NULL),
	             SQLITE_OK);
	sqlite3_close(db);

	expect_refused(dbpath, "has tables but no pagesim schema");
}

Test(recorder, foreign_application_id_refused)
{
	sqlite3 *db = NULL;

	cr_assert_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(db, "PRAGMA application_id = 0x12345678",
	                          NULL, NULL, NULL),
	             SQLITE_OK);
	sqlite3_close(db);

	expect_refused(dbpath,
	               "not a pagesim database (application_id 0x12345678)");
}

Test(recorder, foreign_user_version_without_app_id_refused)
{
	sqlite3 *db = NULL;

	cr_assert_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(db, "PRAGMA user_version = 1", NULL, NULL,
	                          NULL),
	             SQLITE_OK);
	sqlite3_close(db);

	expect_refused(dbpath, "not a pagesim database");
}

Test(recorder, unopenable_path_names_file)
{
	char err[512], path[600];

	snprintf(path, sizeof(path), "%s/no/such/dir/x.db", tmpdir);
	cr_assert_null(rec_open(path, err, sizeof(err)));
	cr_assert_eq(strncmp(err, path, strlen(path)), 0, "%s", err);
}

Test(recorder, views)
{
	char buf[2048];
	struct recorder *r = must_open(dbpath);
	int64_t a, b, c;
	sqlite3 *db;

	a = rec_run_begin(r, "s1", 10, NULL);
	cr_assert_eq(rec_run_end(r, a, "pass", "d1", 3, 0, 0, NULL, 1.5), 0);
	b = rec_run_begin(r, "s1", 11, NULL);
	cr_assert_eq(rec_divergence(r, b, 1, NULL, "pte", "1", "2"), 0);
	cr_assert_eq(rec_divergence(r, b, 2, NULL, "pte", "3", "4"), 0);
	cr_assert_eq(rec_run_end(r, b, "diverge", "d2", 4, 0, 2, NULL, 2.0),
	             0);
	c = rec_run_begin(r, "s2", 12, NULL);
	cr_assert_eq(rec_failure(r, c, 0, NULL, "boom"), 0);
	cr_assert_eq(rec_run_end(r, c, "fail", NULL, 1, 1, 0, "boom", 0.25),
	             0);
	rec_close(r);

	db = db_open(dbpath);
	cr_assert_str_eq(q_rows(db, "SELECT * FROM run_summary", buf,
	                        sizeof(buf)),
	                 "1|s1|10|pass|3|0|0|d1|1.5\n"
	                 "2|s1|11|diverge|4|0|2|d2|2.0\n"
	                 "3|s2|12|fail|1|1|0|NULL|0.25\n");
	cr_assert_str_eq(q_rows(db, "SELECT * FROM divergences_per_scenario",
	                        buf, sizeof(buf)),
	                 "s1|2|2\n"
	                 "s2|1|0\n");
	cr_assert_str_eq(q_rows(db, "SELECT status, count FROM run_totals",
	                        buf, sizeof(buf)),
	                 "diverge|1\n"
	                 "fail|1\n"
	                 "pass|1\n");
	sqlite3_close(db);
}

Test(recorder, ten_thousand_steps_batched)
{
	struct recorder *r = must_open(dbpath);
	char args[64];
	int64_t run;
	sqlite3 *db;

	run = rec_run_begin(r, "big", 7, NULL);
	cr_assert_gt(run, 0);
	for (uint64_t i = 0; i < 10000; i++) {
		snprintf(args, sizeof(args), "gfn=%#llx",
		         (unsigned long long)i);
		cr_assert_eq(rec_step(r, run, i, "big.lua:1", "touch", args,
		                      "ok"),
		             0, "step %llu: %s", (unsigned long long)i,
		             rec_errmsg(r));
	}
	/* Batches of 4096 rows (the run row is the first) are already
	 * committed and visible to another connection. */
	db = db_open(dbpath);
	cr_assert_eq(q_int(db, "SELECT count(*) FROM steps"), 2 * 4096 - 1);
	sqlite3_close(db);

	cr_assert_eq(rec_run_end(r, run, "pass", NULL, 10000, 0, 0, NULL, 3.0),
	             0, "%s", rec_errmsg(r));
	/* rec_run_end committed: visible before rec_close. */
	db = db_open(dbpath);
	cr_assert_eq(q_int(db, "SELECT count(*) FROM steps"), 10000);
	cr_assert_eq(q_int(db, "SELECT max(step) FROM steps"), 9999);
	cr_assert_eq(q_int(db, "SELECT steps FROM runs"), 10000);
	sqlite3_close(db);
	rec_close(r);
}

Test(recorder, close_marks_unfinished_run_error)
{
	char buf[256];
	struct recorder *r = must_open(dbpath);
	int64_t done, open;
	sqlite3 *db;

	done = rec_run_begin(r, "done", 1, NULL);
	cr_assert_eq(rec_run_end(r, done, "pass", NULL, 0, 0, 0, NULL, 0), 0);
	open = rec_run_begin(r, "crashed", 2, NULL);
	cr_assert_eq(rec_step(r, open, 0, NULL, "map", NULL, NULL), 0);
	cr_assert_eq(rec_step(r, open, 1, NULL, "map", NULL, NULL), 0);
	rec_close(r);

	db = db_open(dbpath);
	cr_assert_str_eq(q_rows(db,
	                        "SELECT scenario, status, message FROM runs"
	                        " ORDER BY id",
	                        buf, sizeof(buf)),
	                 "done|pass|NULL\n"
	                 "crashed|error|interrupted\n");
	cr_assert_eq(q_int(db, "SELECT count(*) FROM steps"), 2);
	sqlite3_close(db);
}

Test(recorder, close_leaves_other_connections_runs_alone)
{
	char buf[256];
	struct recorder *r1 = must_open(dbpath), *r2;
	int64_t a, b;
	sqlite3 *db;

	/* Fill one batch so that r1's transaction commits and r2 can write. */
	a = rec_run_begin(r1, "a", 1, NULL);
	for (uint64_t i = 0; i < 4095; i++)
		cr_assert_eq(rec_step(r1, a, i, NULL, "x", NULL, NULL), 0);
	r2 = must_open(dbpath);
	b = rec_run_begin(r2, "b", 2, NULL);
	cr_assert_gt(b, 0, "%s", rec_errmsg(r2));
	for (uint64_t i = 0; i < 4095; i++)
		cr_assert_eq(rec_step(r2, b, i, NULL, "x", NULL, NULL), 0);

	rec_close(r1);
	db = db_open(dbpath);
	cr_assert_str_eq(q_rows(db, "SELECT scenario, status FROM runs"
	                            " ORDER BY id",
	                        buf, sizeof(buf)),
	                 "a|error\n"
	                 "b|running\n");
	sqlite3_close(db);
	rec_close(r2);
	db = db_open(dbpath);
	cr_assert_eq(q_int(db, "SELECT count(*) FROM runs WHERE status='error'"),
	             2);
	sqlite3_close(db);
}

Test(recorder, errors_are_reported_and_recoverable)
{
	struct recorder *r = must_open(dbpath);
	int64_t run;
	sqlite3 *db;

	run = rec_run_begin(r, "s", 1, NULL);
	cr_assert_eq(rec_step(r, run, 0, NULL, "a", NULL, NULL), 0);

	/* Duplicate step number. */
	cr_assert_eq(rec_step(r, run, 0, NULL, "a", NULL, NULL), -1);
	cr_assert_not_null(strstr(rec_errmsg(r), "UNIQUE"), "%s",
	                   rec_errmsg(r));
	cr_assert_not_null(strstr(rec_errmsg(r), dbpath), "%s",
	                   rec_errmsg(r));
	/* Unknown run: foreign key. */
	cr_assert_eq(rec_step(r, run + 100, 0, NULL, "a", NULL, NULL), -1);
	cr_assert_not_null(strstr(rec_errmsg(r), "FOREIGN KEY"), "%s",
	                   rec_errmsg(r));
	/* NOT NULL op / field / message. */
	cr_assert_eq(rec_step(r, run, 5, NULL, NULL, NULL, NULL), -1);
	cr_assert_eq(rec_divergence(r, run, 5, NULL, NULL, NULL, NULL), -1);
	cr_assert_eq(rec_failure(r, run, 5, NULL, NULL), -1);
	/* Bad status: CHECK constraint; 'running' is not a final status. */
	cr_assert_eq(rec_run_end(r, run, "meh", NULL, 0, 0, 0, NULL, 0), -1);
	cr_assert_not_null(strstr(rec_errmsg(r), "CHECK"), "%s",
	                   rec_errmsg(r));
	cr_assert_eq(rec_run_end(r, run, "running", NULL, 0, 0, 0, NULL, 0),
	             -1);
	cr_assert_eq(rec_run_end(r, run + 100, "pass", NULL, 0, 0, 0, NULL, 0),
	             -1);
	cr_assert_not_null(strstr(rec_errmsg(r), "no run"), "%s",
	                   rec_errmsg(r));

	/* Still usable. */
	cr_assert_eq(rec_step(r, run, 1, NULL, "b", NULL, NULL), 0, "%s",
	             rec_errmsg(r));
	cr_assert_eq(rec_run_end(r, run, "pass", NULL, 2, 0, 0, NULL, 0), 0,
	             "%s", rec_errmsg(r));
	rec_close(r);

	db = db_open(dbpath);
	cr_assert_eq(q_int(db, "SELECT count(*) FROM steps"), 2);
	cr_assert_eq(q_int(db, "SELECT count(*) FROM runs WHERE status='pass'"),
	             1);
	sqlite3_close(db);
}

Test(recorder, null_recorder_is_harmless)
{
	rec_close(NULL);
	cr_assert_eq(rec_run_begin(NULL, "s", 0, NULL), -1);
	cr_assert_eq(rec_step(NULL, 1, 0, NULL, "a", NULL, NULL), -1);
	cr_assert_str_neq(rec_errmsg(NULL), "");
}

/* A version 1 database (as pagesim 0.1.0 wrote it) is upgraded in place:
 * its runs survive, the coverage table appears, and coverage rows add up. */
Test(recorder, version1_upgraded_in_place)
{
	struct recorder *r = must_open(dbpath);
	int64_t a = rec_run_begin(r, "old", 1, NULL);
	sqlite3 *db;

	cr_assert_eq(rec_run_end(r, a, "pass", "d", 1, 0, 0, NULL, 1.0), 0);
	rec_close(r);
	/* turn it back into a version 1 file */
	db = db_open(dbpath);
	cr_assert_eq(sqlite3_exec(db, "DROP VIEW coverage_per_kind;"
	                              "DROP VIEW run_cycles;"
	                              "DROP VIEW replay_diffs_per_backend;"
	                              "DROP TABLE samples;"
	                              "DROP VIEW transition_coverage;"
	                              "DROP TABLE coverage;"
	                              "ALTER TABLE runs DROP COLUMN hap;"
	                              "ALTER TABLE runs DROP COLUMN cpu_profile;"
	                              "PRAGMA user_version = 1;",
	                          NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	r = must_open(dbpath);
	int64_t b = rec_run_begin(r, "new", 1, NULL);
	cr_assert_eq(rec_coverage(r, b, "p2m", "populate:mmio_dm->ram_rw", 3), 0,
	             "%s", rec_errmsg(r));
	cr_assert_eq(rec_coverage(r, b, "p2m", "populate:mmio_dm->ram_rw", 2), 0);
	cr_assert_eq(rec_run_end(r, b, "pass", "d", 1, 0, 0, NULL, 1.0), 0);
	rec_close(r);
	db = db_open(dbpath);
	cr_assert_eq(q_int(db, "PRAGMA user_version"), RECORDER_SCHEMA_VERSION);
	cr_assert_eq(q_int(db, "SELECT count(*) FROM runs"), 2);
	cr_assert_eq(q_int(db, "SELECT total FROM transition_coverage"), 5);
	cr_assert_eq(q_int(db, "SELECT count(*) FROM runs WHERE cpu_profile"
	                       " IS NULL"), 2);
	/* ... and the version 3 step ran after the version 2 one */
	cr_assert_eq(q_int(db, "SELECT count(*) FROM samples"), 0);
	cr_assert_eq(q_int(db, "SELECT count(*) FROM run_cycles"), 2);
	sqlite3_close(db);
}

/* ---- schema version 3: samples and the views ----------------------------- */

/* Turns the file at path back into a version 2 file (as pagesim wrote it
 * before the samples table): drops what version 3 added. */
static void make_version2(const char *path)
{
	sqlite3 *db = db_open(path);

	cr_assert_eq(sqlite3_exec(db, "DROP VIEW coverage_per_kind;"
	                              "DROP VIEW run_cycles;"
	                              "DROP VIEW replay_diffs_per_backend;"
	                              "DROP TABLE samples;"
	                              "ALTER TABLE runs DROP COLUMN hap;"
	                              "ALTER TABLE runs DROP COLUMN cpu_profile;"
	                              "PRAGMA user_version = 2;",
	                          NULL, NULL, NULL), SQLITE_OK,
	             "%s", sqlite3_errmsg(db));
	sqlite3_close(db);
}

Test(recorder, samples_round_trip)
{
	char buf[512];
	struct recorder *r = must_open(dbpath);
	int64_t a = rec_run_begin(r, "s", 1, NULL);
	struct rec_sample s0 = { .domain = 0, .dirty = 3 };
	struct rec_sample s1 = { .domain = 1, .paging_out = 2, .paged = 5,
	                         .paging_in = 1, .ring_used = 7, .ring_size = 8 };
	sqlite3 *db;

	cr_assert_eq(rec_sample(r, a, 4, &s0), 0, "%s", rec_errmsg(r));
	cr_assert_eq(rec_sample(r, a, 9, &s1), 0, "%s", rec_errmsg(r));
	/* one row per (run, domain, step) */
	cr_assert_eq(rec_sample(r, a, 9, &s1), -1);
	cr_assert_eq(rec_sample(NULL, a, 1, &s0), -1);
	cr_assert_eq(rec_run_end(r, a, "pass", "d", 9, 0, 0, NULL, 1.0), 0,
	             "%s", rec_errmsg(r));
	rec_close(r);
	db = db_open(dbpath);
	cr_assert_str_eq(q_rows(db, "SELECT * FROM samples ORDER BY step", buf,
	                        sizeof(buf)),
	                 "1|4|0|3|0|0|0|0|0\n"
	                 "1|9|1|0|2|5|1|7|8\n");
	sqlite3_close(db);
}

/* Every view added in version 3, with results worked out by hand. */
Test(recorder, views_v3)
{
	char buf[2048];
	struct recorder *r = must_open(dbpath);
	int64_t a, b;
	sqlite3 *db;

	a = rec_run_begin(r, "tlb.lua", 1, NULL);
	cr_assert_eq(rec_step(r, a, 1, "t:1", "read", "v=0",
	                      "ok gpa=0x1 refs=24 exits=0 tlb=walk cyc=120"), 0);
	cr_assert_eq(rec_step(r, a, 2, "t:2", "read", "v=0",
	                      "ok gpa=0x1 refs=0 exits=0 tlb=l1 cyc=1"), 0);
	cr_assert_eq(rec_step(r, a, 3, "t:3", "write", "v=0",
	                      "ok gpa=0x1 refs=0 exits=0 tlb=stlb cyc=9"), 0);
	cr_assert_eq(rec_step(r, a, 4, "t:4", "populate", "gfn=1",
	                      "rc=0 cyc=1000 refs=1000"), 0); /* not an access */
	cr_assert_eq(rec_coverage(r, a, "pf_ec", "0x3", 2), 0);
	cr_assert_eq(rec_coverage(r, a, "pf_ec", "0x7", 1), 0);
	cr_assert_eq(rec_coverage(r, a, "p2m", "populate:mmio_dm->ram_rw", 4), 0);
	cr_assert_eq(rec_run_end(r, a, "pass", "d", 4, 0, 0, NULL, 1.0), 0);
	b = rec_run_begin(r, "plain.lua", 1, NULL);
	cr_assert_eq(rec_step(r, b, 1, "p:1", "exec", "v=0",
	                      "pf ec=0x15 cr2=0x1 refs=20 exits=0"), 0);
	cr_assert_eq(rec_coverage(r, b, "pf_ec", "0x3", 5), 0);
	cr_assert_eq(rec_run_end(r, b, "pass", "d", 1, 0, 0, NULL, 1.0), 0);
	rec_close(r);

	db = db_open(dbpath);
	cr_assert_str_eq(q_rows(db, "SELECT * FROM run_cycles", buf, sizeof(buf)),
	                 "1|tlb.lua|3|3|130|1|1|1|24\n"
	                 "2|plain.lua|1|0|0|0|0|0|20\n");
	cr_assert_str_eq(q_rows(db, "SELECT * FROM coverage_per_kind", buf,
	                        sizeof(buf)),
	                 "p2m|1|4\n"
	                 "pf_ec|2|8\n");
	/* The hw_ tables come from pagesim replay (hw-replay/replay.c); these
	 * have the columns the view reads. */
	cr_assert_eq(sqlite3_exec(db,
	    "CREATE TABLE hw_runs (id INTEGER PRIMARY KEY, run_id INTEGER,"
	    " backend TEXT, status TEXT, accesses INTEGER, compared INTEGER,"
	    " diffs INTEGER, known INTEGER, skipped INTEGER);"
	    "INSERT INTO hw_runs VALUES (1, 1, 'kvm', 'diff', 5, 4, 2, 1, 1);"
	    "INSERT INTO hw_runs VALUES (2, 1, 'kvm', 'pass', 5, 5, 0, 0, 0);"
	    "INSERT INTO hw_runs VALUES (3, 2, 'qemu', 'pass', 1, 1, 0, 3, 0);",
	    NULL, NULL, NULL), SQLITE_OK, "%s", sqlite3_errmsg(db));
	cr_assert_str_eq(q_rows(db, "SELECT * FROM replay_diffs_per_backend",
	                        buf, sizeof(buf)),
	                 "kvm|tlb.lua|2|1|9|2|1|1\n"
	                 "qemu|plain.lua|1|1|1|0|3|0\n");
	sqlite3_close(db);
}

/* A version 2 file (coverage, no samples) is upgraded in place to 3. */
Test(recorder, version2_upgraded_in_place)
{
	struct recorder *r = must_open(dbpath);
	int64_t a = rec_run_begin(r, "old", 1, NULL);
	struct rec_sample s = { .domain = 2, .dirty = 1 };
	sqlite3 *db;

	cr_assert_eq(rec_coverage(r, a, "pf_ec", "0x1", 1), 0);
	cr_assert_eq(rec_run_end(r, a, "pass", "d", 1, 0, 0, NULL, 1.0), 0);
	rec_close(r);
	make_version2(dbpath);

	r = must_open(dbpath);
	int64_t b = rec_run_begin(r, "new", 1, NULL);
	cr_assert_eq(rec_sample(r, b, 1, &s), 0, "%s", rec_errmsg(r));
	cr_assert_eq(rec_run_end(r, b, "pass", "d", 1, 0, 0, NULL, 1.0), 0);
	rec_close(r);
	db = db_open(dbpath);
	cr_assert_eq(q_int(db, "PRAGMA user_version"), RECORDER_SCHEMA_VERSION);
	cr_assert_eq(q_int(db, "SELECT count(*) FROM runs"), 2);
	cr_assert_eq(q_int(db, "SELECT count(*) FROM coverage"), 1);
	cr_assert_eq(q_int(db, "SELECT domain FROM samples"), 2);
	cr_assert_eq(q_int(db, "SELECT distinct_keys FROM coverage_per_kind"), 1);
	sqlite3_close(db);
}

/* pagesim merge copies samples, and reads a version 2 source as it is. */
Test(recorder, merge_copies_samples_and_reads_version2)
{
	char src3[600], src2[600], buf[512];
	struct rec_sample s = { .domain = 0, .paged = 4, .ring_size = 8 };
	struct recorder *r;
	int64_t a;
	sqlite3 *db;

	snprintf(src3, sizeof(src3), "%s/v3.db", tmpdir);
	snprintf(src2, sizeof(src2), "%s/v2.db", tmpdir);
	r = must_open(src3);
	a = rec_run_begin(r, "three", 1, NULL);
	cr_assert_eq(rec_sample(r, a, 5, &s), 0);
	cr_assert_eq(rec_run_end(r, a, "pass", "d", 5, 0, 0, NULL, 1.0), 0);
	rec_close(r);
	r = must_open(src2);
	a = rec_run_begin(r, "two", 1, NULL);
	cr_assert_eq(rec_coverage(r, a, "pf_ec", "0x1", 1), 0);
	cr_assert_eq(rec_run_end(r, a, "pass", "d", 1, 0, 0, NULL, 1.0), 0);
	rec_close(r);
	make_version2(src2);

	r = must_open(dbpath);
	cr_assert_eq(rec_merge(r, src2), 1, "%s", rec_errmsg(r));
	cr_assert_eq(rec_merge(r, src3), 1, "%s", rec_errmsg(r));
	rec_close(r);
	db = db_open(dbpath);
	cr_assert_str_eq(q_rows(db, "SELECT r.scenario, s.step, s.paged,"
	                            " s.ring_size FROM samples s JOIN runs r"
	                            " ON r.id = s.run_id", buf, sizeof(buf)),
	                 "three|5|4|8\n");
	cr_assert_eq(q_int(db, "SELECT count(*) FROM coverage WHERE run_id = 1"), 1);
	sqlite3_close(db);
	/* the version 2 source was only read */
	db = db_open(src2);
	cr_assert_eq(q_int(db, "PRAGMA user_version"), 2);
	sqlite3_close(db);
}

/* Every run records its CPU profile (schema version 3). */
/* One per-run text column set after rec_run_begin() (cpu_profile, hap):
 * the value lands on its run only, another run keeps NULL, and a run id
 * that does not exist or a NULL recorder is refused with the run named. */
static void check_run_column(int (*set)(struct recorder *, int64_t, const char *),
                             const char *column, const char *value,
                             const char *want)
{
	char buf[256], sql[128];
	struct recorder *r = must_open(dbpath);
	int64_t a = rec_run_begin(r, "a", 1, NULL);
	int64_t b = rec_run_begin(r, "b", 1, NULL);
	sqlite3 *db;

	cr_assert_eq(set(r, a, value), 0, "%s", rec_errmsg(r));
	cr_assert_eq(set(r, 999, value), -1);
	cr_assert(strstr(rec_errmsg(r), "no run 999"), "%s", rec_errmsg(r));
	cr_assert_eq(set(NULL, a, value), -1);
	cr_assert_eq(rec_run_end(r, a, "pass", "d", 1, 0, 0, NULL, 1.0), 0);
	cr_assert_eq(rec_run_end(r, b, "pass", "d", 1, 0, 0, NULL, 1.0), 0);
	rec_close(r);
	db = db_open(dbpath);
	snprintf(sql, sizeof(sql), "SELECT id, %s FROM runs ORDER BY id", column);
	cr_assert_str_eq(q_rows(db, sql, buf, sizeof(buf)), want);
	sqlite3_close(db);
}

Test(recorder, run_profile_recorded)
{
	check_run_column(rec_run_profile, "cpu_profile", "intel-skylake,amd-zen2",
	                 "1|intel-skylake,amd-zen2\n2|NULL\n");
}

/* A version 2 database is upgraded in place to version 3: its runs keep
 * everything and get a NULL profile; new runs record theirs; merging a
 * version 2 file into a version 3 one leaves the profile NULL. */
Test(recorder, version2_upgraded_in_place_profile)
{
	char buf[256], src[sizeof(dbpath) + 8];
	struct recorder *r = must_open(dbpath);
	int64_t a = rec_run_begin(r, "old", 1, NULL);
	sqlite3 *db;

	cr_assert_eq(rec_coverage(r, a, "p2m", "k", 2), 0);
	cr_assert_eq(rec_run_end(r, a, "pass", "d", 1, 0, 0, NULL, 1.0), 0);
	rec_close(r);
	db = db_open(dbpath);
	cr_assert_eq(sqlite3_exec(db, "DROP VIEW coverage_per_kind;"
	                              "DROP VIEW run_cycles;"
	                              "DROP VIEW replay_diffs_per_backend;"
	                              "DROP TABLE samples;"
	                              "ALTER TABLE runs DROP COLUMN hap;"
	                              "ALTER TABLE runs DROP COLUMN cpu_profile;"
	                              "PRAGMA user_version = 2;",
	                          NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	/* a copy stays version 2, for the merge below */
	snprintf(src, sizeof(src), "%s.v2", dbpath);
	db = db_open(dbpath);
	cr_assert_eq(sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL,
	                          NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	{
		FILE *in = fopen(dbpath, "rb"), *out = fopen(src, "wb");
		char chunk[4096];
		size_t n;
		cr_assert(in && out);
		while ((n = fread(chunk, 1, sizeof(chunk), in)) > 0)
			cr_assert_eq(fwrite(chunk, 1, n, out), n);
		fclose(in);
		fclose(out);
	}

	r = must_open(dbpath);
	int64_t b = rec_run_begin(r, "new", 1, NULL);
	cr_assert_eq(rec_run_profile(r, b, "amd-zen2"), 0, "%s", rec_errmsg(r));
	cr_assert_eq(rec_run_end(r, b, "pass", "d", 1, 0, 0, NULL, 1.0), 0);
	cr_assert_eq(rec_merge(r, src), 1, "%s", rec_errmsg(r));
	rec_close(r);
	db = db_open(dbpath);
	cr_assert_eq(q_int(db, "PRAGMA user_version"), RECORDER_SCHEMA_VERSION);
	cr_assert_str_eq(q_rows(db, "SELECT id, scenario, cpu_profile FROM runs"
	                            " ORDER BY id", buf, sizeof(buf)),
	                 "1|old|NULL\n2|new|amd-zen2\n3|old|NULL\n");
	cr_assert_eq(q_int(db, "SELECT count(*) FROM coverage"), 2);
	sqlite3_close(db);
	db = db_open(src);
	cr_assert_eq(q_int(db, "PRAGMA user_version"), 2, "merge only reads");
	sqlite3_close(db);
	remove(src);
}

/* ---- schema version 4: runs.hap ------------------------------------------ */

/* The --hap override is recorded per run; runs without one keep NULL. */
Test(recorder, run_hap_recorded)
{
	check_run_column(rec_run_hap, "hap", "npt", "1|npt\n2|NULL\n");
}

/* A version 3 file (before runs.hap) is upgraded in place to version 4:
 * only the version 3 -> 4 step runs (the samples table of version 3 is
 * not created twice), old runs get a NULL hap, new ones record theirs,
 * and a merge of a version 3 source reads it as it is (hap NULL) while
 * a version 4 source keeps its hap. */
Test(recorder, version3_upgraded_in_place_hap)
{
	char buf[256], src3[600], src4[600];
	struct rec_sample s = { .domain = 1, .dirty = 2 };
	struct recorder *r;
	int64_t a;
	sqlite3 *db;

	snprintf(src3, sizeof(src3), "%s/v3.db", tmpdir);
	snprintf(src4, sizeof(src4), "%s/v4.db", tmpdir);
	r = must_open(dbpath);
	a = rec_run_begin(r, "old", 1, NULL);
	cr_assert_eq(rec_sample(r, a, 1, &s), 0);
	cr_assert_eq(rec_run_profile(r, a, "amd-zen2"), 0);
	cr_assert_eq(rec_run_end(r, a, "pass", "d", 1, 0, 0, NULL, 1.0), 0);
	rec_close(r);
	r = must_open(src3);
	a = rec_run_begin(r, "three", 1, NULL);
	cr_assert_eq(rec_run_end(r, a, "pass", "d", 1, 0, 0, NULL, 1.0), 0);
	rec_close(r);
	r = must_open(src4);
	a = rec_run_begin(r, "four", 1, NULL);
	cr_assert_eq(rec_run_hap(r, a, "npt"), 0);
	cr_assert_eq(rec_run_end(r, a, "pass", "d", 1, 0, 0, NULL, 1.0), 0);
	rec_close(r);
	/* turn dbpath and src3 back into version 3 files */
	for (int i = 0; i < 2; i++) {
		db = db_open(i ? src3 : dbpath);
		/* DROP COLUMN re-checks every view: replay_diffs_per_backend
		 * needs an hw_runs table (pagesim replay creates it) meanwhile */
		cr_assert_eq(sqlite3_exec(db, "CREATE TABLE hw_runs (run_id, backend,"
		                              " status, compared, diffs, known, skipped);"
		                              "ALTER TABLE runs DROP COLUMN hap;"
		                              "DROP TABLE hw_runs;"
		                              "PRAGMA user_version = 3;",
		                          NULL, NULL, NULL), SQLITE_OK,
		             "%s", sqlite3_errmsg(db));
		sqlite3_close(db);
	}

	r = must_open(dbpath);
	int64_t b = rec_run_begin(r, "new", 1, NULL);
	cr_assert_gt(b, 0, "%s", rec_errmsg(r));
	cr_assert_eq(rec_run_hap(r, b, "npt"), 0, "%s", rec_errmsg(r));
	cr_assert_eq(rec_run_end(r, b, "pass", "d", 1, 0, 0, NULL, 1.0), 0);
	cr_assert_eq(rec_merge(r, src3), 1, "%s", rec_errmsg(r));
	cr_assert_eq(rec_merge(r, src4), 1, "%s", rec_errmsg(r));
	rec_close(r);
	db = db_open(dbpath);
	cr_assert_eq(q_int(db, "PRAGMA user_version"), RECORDER_SCHEMA_VERSION);
	cr_assert_str_eq(q_rows(db, "SELECT id, scenario, cpu_profile, hap FROM runs"
	                            " ORDER BY id", buf, sizeof(buf)),
	                 "1|old|amd-zen2|NULL\n2|new|NULL|npt\n3|three|NULL|NULL\n"
	                 "4|four|NULL|npt\n");
	cr_assert_eq(q_int(db, "SELECT dirty FROM samples WHERE run_id = 1"), 2);
	sqlite3_close(db);
	db = db_open(src3);
	cr_assert_eq(q_int(db, "PRAGMA user_version"), 3, "merge only reads");
	sqlite3_close(db);
}
