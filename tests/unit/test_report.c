/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_report.c - Criterion tests of the HTML report
 * (reports/report.c): which plots it draws from which data, and how it
 * degrades when a table is missing.
 *
 * Each test writes a database with the recorder (plus, where needed, the
 * hw_ tables pagesim replay creates and a calibration table) into its own
 * mkdtemp() directory, runs report_html() and reads the page back.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pagesim/recorder.h"
#include "../../reports/report.h"

static char dir[] = "/tmp/pagesim-report-XXXXXX";
static char db[600], out[600];

static void setup(void)
{
    cr_assert_not_null(mkdtemp(dir));
    snprintf(db, sizeof db, "%s/r.db", dir);
    snprintf(out, sizeof out, "%s/html", dir);
}

static void teardown(void)
{
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(report, .init = setup, .fini = teardown);

/* report_html() must succeed; returns the page (malloc'd). */
static char *render(void)
{
    char path[700], err[512];
    cr_assert_eq(report_html(db, out, path, sizeof path, err, sizeof err), 0, "%s", err);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s", path);
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        fwrite(chunk, 1, n, m);
    fclose(f);
    fclose(m);
    return buf;
}

static void sql(const char *text)
{
    sqlite3 *s;
    cr_assert_eq(sqlite3_open(db, &s), SQLITE_OK);
    cr_assert_eq(sqlite3_exec(s, text, NULL, NULL, NULL), SQLITE_OK, "%s: %s", text,
                 sqlite3_errmsg(s));
    sqlite3_close(s);
}

/* The substring of page from the plot NAME's <div> to its end. */
static char *plot(const char *page, const char *name)
{
    char key[64];
    snprintf(key, sizeof key, "data-plot='%s'>", name);
    const char *p = strstr(page, key);
    if (!p)
        return NULL;
    const char *e = strstr(p, "</svg>");
    cr_assert_not_null(e);
    return strndup(p, (size_t)(e - p));
}

/* One run with TLB accesses, a log-dirty domain and a paging domain. */
static void record_run(void)
{
    char err[512];
    struct recorder *r = rec_open(db, err, sizeof err);
    cr_assert_not_null(r, "%s", err);
    int64_t run = rec_run_begin(r, "plots.lua", 1, NULL);
    static const char *const acc[] = {
        "ok gpa=0x1 refs=24 exits=0 tlb=walk cyc=280",
        "ok gpa=0x1 refs=0 exits=0 tlb=l1 cyc=1",
        "ok gpa=0x1 refs=0 exits=0 tlb=l1 cyc=1",
        "pf ec=0x2 cr2=0x5000 refs=20 exits=0 tlb=walk cyc=200",
        "ok gpa=0x1 refs=0 exits=0 tlb=stlb cyc=9",
    };
    uint64_t step = 0;
    for (size_t i = 0; i < sizeof acc / sizeof acc[0]; i++)
        cr_assert_eq(rec_step(r, run, ++step, "p:1", "read", "v=0", acc[i]), 0);
    struct rec_sample s0 = { .domain = 0, .dirty = 2 };
    struct rec_sample s1 = { .domain = 1, .paging_out = 3, .ring_used = 1, .ring_size = 8 };
    struct rec_sample s2 = { .domain = 1, .paged = 3, .ring_used = 2, .ring_size = 8 };
    cr_assert_eq(rec_sample(r, run, 2, &s0), 0);
    cr_assert_eq(rec_sample(r, run, 3, &s1), 0);
    cr_assert_eq(rec_sample(r, run, 5, &s2), 0);
    cr_assert_eq(rec_run_end(r, run, "pass", "d", step, 0, 0, NULL, 1.0), 0);
    rec_close(r);
}

Test(report, every_plot_from_its_data)
{
    record_run();
    char *page = render();
    static const char *const kinds[] = { "cycles", "tlb", "walkrefs", "dirty", "paging",
                                         "ring", "refs", "exits", "ops" };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        char *p = plot(page, kinds[i]);
        cr_assert_not_null(p, "no %s plot", kinds[i]);
        cr_assert_not_null(strstr(p, "<polyline") ? p : strstr(p, "<rect"),
                           "%s plot draws nothing", kinds[i]);
        free(p);
    }
    /* no peek/clean in the run: no such plot */
    cr_assert_null(strstr(page, "data-plot='peek'"));
    /* the histogram: one access with 24 references, one with 20; TLB hits
     * (0 references) are not walks */
    char *h = plot(page, "walkrefs");
    cr_assert_not_null(strstr(h, ">20 refs<"));
    cr_assert_not_null(strstr(h, ">24 refs<"));
    cr_assert_null(strstr(h, ">0 refs<"));
    free(h);
    /* cycles: the y axis reaches the 280-cycle walk (nice bound 500) */
    char *c = plot(page, "cycles");
    cr_assert_not_null(strstr(c, "text-anchor='end'>500</text>"), "%s", c);
    free(c);
    /* hit rates: three series, the share axis fixed to 1 */
    char *t = plot(page, "tlb");
    cr_assert_not_null(strstr(t, ">L1 TLB hits<"));
    cr_assert_not_null(strstr(t, ">STLB hits<"));
    cr_assert_not_null(strstr(t, ">walks<"));
    free(t);
    /* paging and ring: domain 1 (domain 0 has no ring) */
    cr_assert_not_null(strstr(page, "paging state populations over time (domain 1)"));
    cr_assert_not_null(strstr(page, "vm_event ring occupancy over time (domain 1)"));
    /* no replay, no calibration: said, not drawn */
    cr_assert_not_null(strstr(page, "No replay in this database"));
    cr_assert_not_null(strstr(page, "No calibration data in this database"));
    free(page);
}

Test(report, replay_differences_per_backend)
{
    record_run();
    sql("CREATE TABLE hw_runs (id INTEGER PRIMARY KEY, run_id INTEGER, backend TEXT,"
        " status TEXT, accesses INTEGER, compared INTEGER, diffs INTEGER, known INTEGER,"
        " skipped INTEGER);"
        "CREATE TABLE hw_diffs (id INTEGER PRIMARY KEY, hw_run_id INTEGER, step INTEGER,"
        " src TEXT, access TEXT, field TEXT, model TEXT, hw TEXT, known TEXT);"
        "INSERT INTO hw_runs VALUES (1, 1, 'kvm', 'diff', 5, 5, 2, 1, 0);"
        "INSERT INTO hw_runs VALUES (2, 1, 'qemu', 'pass', 5, 5, 0, 0, 0);"
        "INSERT INTO hw_diffs VALUES (1, 1, 1, 'p:1', 'read', 'pte.A@gpa=0x1000', '0', '1', NULL);"
        "INSERT INTO hw_diffs VALUES (2, 1, 1, 'p:1', 'read', 'pte.A@gpa=0x2000', '0', '1', NULL);"
        "INSERT INTO hw_diffs VALUES (3, 1, 4, 'p:1', 'read', 'outcome', 'pf', 'mmio', 'k1');");
    char *page = render();
    char *p = plot(page, "replay");
    cr_assert_not_null(p);
    /* only the backend with differences gets a bar: 2 unexplained + 1 known */
    cr_assert_not_null(strstr(p, ">kvm plots.lua<"), "%s", p);
    cr_assert_not_null(strstr(p, ">2 + 1<"), "%s", p);
    cr_assert_null(strstr(p, "qemu"));
    free(p);
    p = plot(page, "replayfields");
    cr_assert_not_null(p);
    cr_assert_not_null(strstr(p, ">kvm pte.A<"), "addresses folded: %s", p);
    cr_assert_not_null(strstr(p, ">2 + 0<"));
    cr_assert_not_null(strstr(p, ">kvm outcome<"));
    free(p);
    free(page);
}

/* The shape pagesim replay --calibrate --db writes (hw_calibration), first
 * without its predicted column: only the latest sweep, times in ns on the
 * axis (cycles left out), one line per pattern, op and cost column. */
Test(report, calibration_measured_then_predicted)
{
    record_run();
    sql("CREATE TABLE hw_calibration (id INTEGER PRIMARY KEY, started_at TEXT, profile TEXT,"
        " tsc_ghz REAL, pages INTEGER, bytes INTEGER, pattern TEXT, op TEXT, accesses INTEGER,"
        " ns_measured REAL, model_refs REAL, model_walks REAL, model_cycles REAL);"
        "INSERT INTO hw_calibration VALUES (1, '2026-01-01', 'intel', 2.0, 16, 65536, 'seq',"
        " 'read', 100, 2.9, 24, 1, 120);"
        "INSERT INTO hw_calibration VALUES (2, '2026-01-01', 'intel', 2.0, 4096, 16777216,"
        " 'seq', 'read', 100, 4.0, 24, 1, 140);"
        "INSERT INTO hw_calibration VALUES (3, '2026-01-01', 'intel', 2.0, 16, 65536, 'rand',"
        " 'read', 100, 1.8, 24, 1, 120);"
        "INSERT INTO hw_calibration VALUES (4, '2025-01-01', 'intel', 2.0, 16, 65536, 'old',"
        " 'read', 100, 9.9, 24, 1, 120);");
    char *page = render();
    char *p = plot(page, "calibration");
    cr_assert_not_null(p);
    cr_assert_not_null(strstr(p, "against bytes"), "x axis: %s", p);
    cr_assert_not_null(strstr(p, ">intel seq read ns_measured<"), "%s", p);
    cr_assert_not_null(strstr(p, ">intel rand read ns_measured<"));
    cr_assert_null(strstr(p, "old read"), "an older sweep drawn: %s", p);
    cr_assert_null(strstr(p, "model_cycles"), "cycles on the ns axis: %s", p);
    cr_assert_null(strstr(p, "2026-01-01"), "a time column split the lines: %s", p);
    cr_assert_not_null(strstr(page, "No predicted column yet"));
    free(p);
    free(page);
    sql("ALTER TABLE hw_calibration ADD COLUMN ns_predicted REAL;"
        "UPDATE hw_calibration SET ns_predicted = 3.5;");
    page = render();
    p = plot(page, "calibration");
    cr_assert_not_null(strstr(p, ">intel seq read ns_predicted<"), "%s", p);
    cr_assert_not_null(strstr(p, "stroke-dasharray"), "predicted not dashed: %s", p);
    cr_assert_null(strstr(page, "No predicted column yet"));
    free(p);
    free(page);
}

/* A version 2 database (before samples) is still reported, without the
 * plots over time. */
Test(report, version2_database_degrades)
{
    record_run();
    sql("DROP VIEW coverage_per_kind; DROP VIEW run_cycles; DROP VIEW replay_diffs_per_backend;"
        "DROP TABLE samples; PRAGMA user_version = 2;");
    char *page = render();
    cr_assert_not_null(strstr(page, "data-plot='cycles'"));
    cr_assert_null(strstr(page, "data-plot='dirty'"));
    cr_assert_null(strstr(page, "data-plot='ring'"));
    free(page);
}

Test(report, foreign_database_refused_with_its_name)
{
    sql("CREATE TABLE t (x); PRAGMA application_id = 7;");
    char path[700], err[512];
    cr_assert_eq(report_html(db, out, path, sizeof path, err, sizeof err), -1);
    cr_assert_not_null(strstr(err, db), "%s", err);
    cr_assert_not_null(strstr(err, "not a pagesim database"), "%s", err);
}

/* The runs table shows each run's --hap override (runs.hap, schema
 * version 4), and a version 3 file without the column still renders. */
Test(report, runs_table_shows_hap)
{
    char err[512];
    struct recorder *r = rec_open(db, err, sizeof err);
    cr_assert_not_null(r, "%s", err);
    int64_t run = rec_run_begin(r, "npt.lua", 1, NULL);
    cr_assert_eq(rec_run_hap(r, run, "npt"), 0);
    cr_assert_eq(rec_run_end(r, run, "pass", "d", 0, 0, 0, NULL, 1.0), 0);
    rec_close(r);
    char *page = render();
    cr_assert_not_null(strstr(page, "<th>hap</th>"));
    cr_assert_not_null(strstr(page, "</td><td>npt</td>"), "no hap cell");
    free(page);
    /* DROP COLUMN re-checks the views: replay_diffs_per_backend needs an
     * hw_runs table meanwhile */
    sql("CREATE TABLE hw_runs (run_id, backend, status, compared, diffs, known, skipped);"
        "ALTER TABLE runs DROP COLUMN hap; DROP TABLE hw_runs; PRAGMA user_version = 3;");
    page = render();
    cr_assert_not_null(strstr(page, "npt.lua"));
    cr_assert_null(strstr(page, "</td><td>npt</td>"));
    free(page);
}
