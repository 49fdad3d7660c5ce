/* SPDX-License-Identifier: MIT */
/*
 * reports/report.c - `pagesim report`: one self-contained HTML page from a
 * trace database.
 *
 * No scripts, fonts or images are fetched at view time: the style sheet is
 * inline and every plot is inline SVG drawn here.  The page holds:
 *   - totals per status and the runs table (status, steps, duration, digest);
 *   - divergences, expected and actual side by side, with the step and the
 *     scenario line that caused them, and failed expects;
 *   - per run: memory references per guest access over time, VM exits per
 *     access, dirty pages seen by each log-dirty peek/clean, and the
 *     operation mix;
 *   - fuzz findings (runs of finding-*.lua reproducers) with their source;
 *   - domain coverage: the transitions and codes all runs reached.
 * The database is opened read-only and checked like the recorder checks it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "report.h"

#define MAX_POINTS 4000 /* per series; longer runs are subsampled */

static void esc(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

static const char *col(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? (const char *)t : "";
}

static const char css[] =
    "body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;background:#fafafa}"
    "h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ccc}"
    "h3{font-size:15px;margin:18px 0 6px}table{border-collapse:collapse;margin:6px 0;background:#fff}"
    "td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}"
    "th{background:#eee}code,.mono{font-family:ui-monospace,monospace;font-size:12px}"
    ".pass{color:#17702e;font-weight:600}.fail,.diverge{color:#b00020;font-weight:600}"
    ".error{color:#a15c00;font-weight:600}.running{color:#555}"
    ".tot{display:inline-block;margin:0 12px 0 0;padding:6px 12px;border-radius:6px;background:#fff;border:1px solid #ddd}"
    ".plots{display:flex;flex-wrap:wrap;gap:12px}.plot{background:#fff;border:1px solid #ddd;padding:6px}"
    "td.msg{max-width:420px;word-break:break-word}"
    ".exp{background:#eef7ee}.act{background:#fbeaea}pre{background:#fff;border:1px solid #ddd;padding:8px;overflow:auto}";

/* ---- SVG plots --------------------------------------------------------------- */

struct series {
    double *y;
    size_t n, cap;
};

static void push(struct series *s, double v)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 256;
        double *y = realloc(s->y, s->cap * sizeof(*y));
        if (!y)
            return;
        s->y = y;
    }
    s->y[s->n++] = v;
}

/* A line (or step) plot of y over its index, with axis labels. */
static void svg_line(FILE *f, const char *title, const char *ylabel,
                     const struct series *s, const char *color)
{
    const double W = 420, H = 170, L = 44, B = 28, T = 22, R = 10;
    double ymax = 1;
    for (size_t i = 0; i < s->n; i++)
        if (s->y[i] > ymax)
            ymax = s->y[i];
    fprintf(f, "<div class=plot><svg xmlns='http://www.w3.org/2000/svg' width='%g' height='%g'>", W, H);
    fprintf(f, "<text x='%g' y='14' font-size='12' font-weight='600'>", L);
    esc(f, title);
    fprintf(f, "</text>");
    fprintf(f, "<line x1='%g' y1='%g' x2='%g' y2='%g' stroke='#888'/>", L, H - B, W - R, H - B);
    fprintf(f, "<line x1='%g' y1='%g' x2='%g' y2='%g' stroke='#888'/>", L, T, L, H - B);
    fprintf(f, "<text x='%g' y='%g' font-size='10' text-anchor='end'>%.0f</text>", L - 4, T + 4, ymax);
    fprintf(f, "<text x='%g' y='%g' font-size='10' text-anchor='end'>0</text>", L - 4, H - B);
    fprintf(f, "<text x='%g' y='%g' font-size='10'>0</text>", L, H - B + 12);
    fprintf(f, "<text x='%g' y='%g' font-size='10' text-anchor='end'>%zu</text>", W - R, H - B + 12,
            s->n);
    fprintf(f, "<text x='%g' y='%g' font-size='10' text-anchor='middle'>", (L + W - R) / 2, H - 4);
    esc(f, ylabel);
    fprintf(f, "</text>");
    if (s->n) {
        size_t stride = s->n > MAX_POINTS ? s->n / MAX_POINTS + 1 : 1;
        fprintf(f, "<polyline fill='none' stroke='%s' stroke-width='1.5' points='", color);
        for (size_t i = 0; i < s->n; i += stride) {
            double x = L + (W - L - R) * (s->n > 1 ? (double)i / (double)(s->n - 1) : 0.5);
            double y = H - B - (H - B - T) * s->y[i] / ymax;
            fprintf(f, "%.1f,%.1f ", x, y);
        }
        fprintf(f, "'/>");
        if (s->n <= 60)
            for (size_t i = 0; i < s->n; i++)
                fprintf(f, "<circle cx='%.1f' cy='%.1f' r='2.5' fill='%s'/>",
                        L + (W - L - R) * (s->n > 1 ? (double)i / (double)(s->n - 1) : 0.5),
                        H - B - (H - B - T) * s->y[i] / ymax, color);
    } else {
        fprintf(f, "<text x='%g' y='%g' font-size='11' fill='#888'>no data</text>", L + 20, H / 2);
    }
    fprintf(f, "</svg></div>\n");
}

/* Horizontal bars: name -> count. */
static void svg_bars(FILE *f, const char *title, char names[][24], const double *v,
                     size_t n)
{
    const double W = 420, row = 16, L = 120, R = 50;
    double H = 26 + row * (double)(n ? n : 1), vmax = 1;
    for (size_t i = 0; i < n; i++)
        if (v[i] > vmax)
            vmax = v[i];
    fprintf(f, "<div class=plot><svg xmlns='http://www.w3.org/2000/svg' width='%g' height='%g'>", W, H);
    fprintf(f, "<text x='4' y='14' font-size='12' font-weight='600'>");
    esc(f, title);
    fprintf(f, "</text>");
    for (size_t i = 0; i < n; i++) {
        double y = 22 + row * (double)i;
        fprintf(f, "<text x='%g' y='%g' font-size='11' text-anchor='end'>", L - 4, y + 11);
        esc(f, names[i]);
        fprintf(f, "</text><rect x='%g' y='%g' width='%.1f' height='%g' fill='#4a7fb5'/>", L, y + 2,
                (W - L - R) * v[i] / vmax, row - 4);
        fprintf(f, "<text x='%.1f' y='%g' font-size='10'>%.0f</text>",
                L + (W - L - R) * v[i] / vmax + 4, y + 11, v[i]);
    }
    fprintf(f, "</svg></div>\n");
}

/* "key=NUMBER" inside a result string; -1 if absent. */
static double field_num(const char *s, const char *key)
{
    size_t kl = strlen(key);
    for (const char *p = s; (p = strstr(p, key)); p += kl)
        if ((p == s || p[-1] == ' ') && p[kl] == '=')
            return strtod(p + kl + 1, NULL);
    return -1;
}

static int run_plots(FILE *f, sqlite3 *db, int64_t run)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT op, result FROM steps WHERE run_id = ?1 ORDER BY step",
                           -1, &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_int64(st, 1, run);
    struct series refs = { 0 }, exits = { 0 }, dirty = { 0 };
    char names[32][24];
    double counts[32];
    size_t nops = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *op = col(st, 0), *res = col(st, 1);
        size_t i;
        for (i = 0; i < nops && strcmp(names[i], op); i++)
            ;
        if (i == nops && nops < 32) {
            snprintf(names[nops], sizeof names[0], "%s", op);
            counts[nops++] = 0;
        }
        if (i < nops)
            counts[i]++;
        if (!strcmp(op, "read") || !strcmp(op, "write") || !strcmp(op, "exec")) {
            double r = field_num(res, "refs"), x = field_num(res, "exits");
            push(&refs, r < 0 ? 0 : r);
            push(&exits, x < 0 ? 0 : x);
        } else if (!strcmp(op, "logdirty_peek") || !strcmp(op, "logdirty_clean")) {
            double d = field_num(res, "dirty");
            push(&dirty, d < 0 ? 0 : d);
        }
    }
    sqlite3_finalize(st);
    fprintf(f, "<div class=plots>\n");
    svg_line(f, "memory references per guest access", "access #", &refs, "#4a7fb5");
    svg_line(f, "VM exits handled per guest access", "access #", &exits, "#b5584a");
    svg_line(f, "dirty pages per log-dirty peek/clean", "peek/clean #", &dirty, "#4ab56a");
    svg_bars(f, "operations", names, counts, nops);
    fprintf(f, "</div>\n");
    free(refs.y);
    free(exits.y);
    free(dirty.y);
    return 0;
}

/* ---- the page ----------------------------------------------------------------- */

static int check_db(sqlite3 *db, const char *path, char *err, size_t n)
{
    sqlite3_stmt *st;
    int64_t app = 0, uv = 0;
    if (sqlite3_prepare_v2(db, "SELECT (SELECT application_id FROM pragma_application_id),"
                               " (SELECT user_version FROM pragma_user_version)",
                           -1, &st, NULL) != SQLITE_OK) {
        snprintf(err, n, "%s: %s", path, sqlite3_errmsg(db));
        return -1;
    }
    if (sqlite3_step(st) == SQLITE_ROW) {
        app = sqlite3_column_int64(st, 0);
        uv = sqlite3_column_int64(st, 1);
    } else {
        snprintf(err, n, "%s: %s", path, sqlite3_errmsg(db));
        sqlite3_finalize(st);
        return -1;
    }
    sqlite3_finalize(st);
    if (app != 0x50475331) {
        snprintf(err, n, "%s: not a pagesim database (application_id 0x%08x)", path,
                 (unsigned)(uint32_t)app);
        return -1;
    }
    if (uv < 1) {
        snprintf(err, n, "%s: no pagesim schema", path);
        return -1;
    }
    return 0;
}

int report_html(const char *dbpath, const char *outdir, char *out_path, size_t out_len,
                char *err, size_t errlen)
{
    sqlite3 *db = NULL;
    FILE *f = NULL;
    int rc = -1;
    struct stat sb;
    if (stat(dbpath, &sb) != 0) {
        snprintf(err, errlen, "%s: %s", dbpath, strerror(errno));
        return -1;
    }
    if (sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "%s: %s", dbpath, db ? sqlite3_errmsg(db) : "cannot open");
        goto out;
    }
    if (check_db(db, dbpath, err, errlen))
        goto out;
    if (mkdir(outdir, 0777) && errno != EEXIST) {
        snprintf(err, errlen, "%s: %s", outdir, strerror(errno));
        goto out;
    }
    snprintf(out_path, out_len, "%s/index.html", outdir);
    if (!(f = fopen(out_path, "w"))) {
        snprintf(err, errlen, "%s: %s", out_path, strerror(errno));
        goto out;
    }
    fprintf(f, "<!doctype html>\n<html lang=en><head><meta charset=utf-8>"
               "<title>pagesim report</title><style>%s</style></head><body>\n", css);
    fprintf(f, "<h1>pagesim report</h1><div class=mono>");
    esc(f, dbpath);
    fprintf(f, "</div>\n");

    sqlite3_stmt *st;
    /* totals */
    fprintf(f, "<p>");
    if (sqlite3_prepare_v2(db, "SELECT status, count(*) FROM runs GROUP BY status ORDER BY status",
                           -1, &st, NULL) == SQLITE_OK) {
        while (sqlite3_step(st) == SQLITE_ROW) {
            fprintf(f, "<span class=tot><span class='%s'>", col(st, 0));
            esc(f, col(st, 0));
            fprintf(f, "</span> %s</span>", col(st, 1));
        }
        sqlite3_finalize(st);
    }
    fprintf(f, "</p>\n<h2>Runs</h2>\n<table><tr><th>id</th><th>scenario</th><th>seed</th>"
               "<th>status</th><th>steps</th><th>failures</th><th>divergences</th>"
               "<th>ms</th><th>digest</th><th>mutants</th><th>CPU profile</th>"
               "<th>message</th></tr>\n");
    /* runs.cpu_profile exists from schema version 3 on; older files are
     * shown with the column empty. */
    if (sqlite3_prepare_v2(db, "SELECT id, scenario, seed, status, steps, failures, divergences,"
                               " printf('%.1f', duration_ms), digest, mutants, message,"
                               " cpu_profile FROM runs ORDER BY id", -1, &st, NULL) != SQLITE_OK &&
        sqlite3_prepare_v2(db, "SELECT id, scenario, seed, status, steps, failures, divergences,"
                               " printf('%.1f', duration_ms), digest, mutants, message,"
                               " NULL FROM runs ORDER BY id", -1, &st, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "%s: %s", dbpath, sqlite3_errmsg(db));
        goto out;
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
        fprintf(f, "<tr><td><a href='#run%s'>%s</a></td><td class=mono>", col(st, 0), col(st, 0));
        esc(f, col(st, 1));
        fprintf(f, "</td><td>%s</td><td class='%s'>", col(st, 2), col(st, 3));
        esc(f, col(st, 3));
        fprintf(f, "</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td class=mono>", col(st, 4),
                col(st, 5), col(st, 6), col(st, 7));
        esc(f, col(st, 8));
        fprintf(f, "</td><td>");
        esc(f, col(st, 9));
        fprintf(f, "</td><td>");
        esc(f, col(st, 11));
        fprintf(f, "</td><td class='mono msg'>");
        esc(f, col(st, 10));
        fprintf(f, "</td></tr>\n");
    }
    sqlite3_finalize(st);
    fprintf(f, "</table>\n");

    /* divergences, expected and actual side by side */
    fprintf(f, "<h2>Divergences</h2>\n");
    if (sqlite3_prepare_v2(db, "SELECT d.run_id, r.scenario, d.step, d.src, d.field, d.expected,"
                               " d.actual FROM divergences d JOIN runs r ON r.id = d.run_id"
                               " ORDER BY d.run_id, d.id LIMIT 2000", -1, &st, NULL) == SQLITE_OK) {
        int n = 0;
        while (sqlite3_step(st) == SQLITE_ROW) {
            if (!n++)
                fprintf(f, "<table><tr><th>run</th><th>step</th><th>scenario line</th>"
                           "<th>field</th><th>expected (oracle)</th><th>actual (model/sim)</th></tr>\n");
            fprintf(f, "<tr><td><a href='#run%s'>%s</a></td><td>%s</td><td class=mono>", col(st, 0),
                    col(st, 0), col(st, 2));
            esc(f, col(st, 3));
            fprintf(f, "</td><td class=mono>");
            esc(f, col(st, 4));
            fprintf(f, "</td><td class='mono exp'>");
            esc(f, col(st, 5));
            fprintf(f, "</td><td class='mono act'>");
            esc(f, col(st, 6));
            fprintf(f, "</td></tr>\n");
        }
        fprintf(f, n ? "</table>\n" : "<p>None: the model and the oracle agreed on every step.</p>\n");
        sqlite3_finalize(st);
    }
    fprintf(f, "<h2>Failed expectations</h2>\n");
    if (sqlite3_prepare_v2(db, "SELECT run_id, step, message FROM failures ORDER BY run_id, id"
                               " LIMIT 2000", -1, &st, NULL) == SQLITE_OK) {
        int n = 0;
        while (sqlite3_step(st) == SQLITE_ROW) {
            if (!n++)
                fprintf(f, "<table><tr><th>run</th><th>step</th><th>message</th></tr>\n");
            fprintf(f, "<tr><td><a href='#run%s'>%s</a></td><td>%s</td><td class=mono>", col(st, 0),
                    col(st, 0), col(st, 1));
            esc(f, col(st, 2));
            fprintf(f, "</td></tr>\n");
        }
        fprintf(f, n ? "</table>\n" : "<p>None.</p>\n");
        sqlite3_finalize(st);
    }

    /* fuzz findings: embed the reproducer's source */
    if (sqlite3_prepare_v2(db, "SELECT id, scenario, status, message FROM runs"
                               " WHERE scenario LIKE '%finding-%.lua' ORDER BY id",
                           -1, &st, NULL) == SQLITE_OK) {
        int n = 0;
        while (sqlite3_step(st) == SQLITE_ROW) {
            if (!n++)
                fprintf(f, "<h2>Fuzz findings</h2>\n");
            fprintf(f, "<h3>run %s: <span class=mono>", col(st, 0));
            esc(f, col(st, 1));
            fprintf(f, "</span> <span class='%s'>%s</span></h3><p class=mono>", col(st, 2),
                    col(st, 2));
            esc(f, col(st, 3));
            fprintf(f, "</p>");
            FILE *src = fopen(col(st, 1), "r");
            if (src) {
                char buf[4096];
                size_t len;
                fprintf(f, "<pre>");
                while ((len = fread(buf, 1, sizeof buf - 1, src)) > 0) {
                    buf[len] = 0;
                    esc(f, buf);
                }
                fprintf(f, "</pre>\n");
                fclose(src);
            } else {
                fprintf(f, "<p>(reproducer file not found)</p>\n");
            }
        }
        sqlite3_finalize(st);
    }

    /* domain coverage (schema version 2) */
    if (sqlite3_prepare_v2(db, "SELECT kind, key, runs, total FROM transition_coverage",
                           -1, &st, NULL) == SQLITE_OK) {
        int n = 0;
        while (sqlite3_step(st) == SQLITE_ROW) {
            if (!n++)
                fprintf(f, "<h2>Domain coverage</h2>\n<p>Transitions and codes the runs "
                           "reached: (P2M type before &rarr; after) per operation, log-dirty "
                           "operations and their return codes, EPT-fault handling, #PF error "
                           "codes and EPT exit qualifications.</p>\n<table><tr><th>kind</th>"
                           "<th>transition / code</th><th>runs</th><th>times</th></tr>\n");
            fprintf(f, "<tr><td>");
            esc(f, col(st, 0));
            fprintf(f, "</td><td class=mono>");
            esc(f, col(st, 1));
            fprintf(f, "</td><td>%s</td><td>%s</td></tr>\n", col(st, 2), col(st, 3));
        }
        if (n)
            fprintf(f, "</table>\n");
        sqlite3_finalize(st);
    }

    /* per-run plots */
    fprintf(f, "<h2>Per run</h2>\n");
    if (sqlite3_prepare_v2(db, "SELECT id, scenario, status FROM runs ORDER BY id LIMIT 500", -1,
                           &st, NULL) == SQLITE_OK) {
        while (sqlite3_step(st) == SQLITE_ROW) {
            fprintf(f, "<h3 id='run%s'>run %s: <span class=mono>", col(st, 0), col(st, 0));
            esc(f, col(st, 1));
            fprintf(f, "</span> <span class='%s'>%s</span></h3>\n", col(st, 2), col(st, 2));
            run_plots(f, db, sqlite3_column_int64(st, 0));
        }
        sqlite3_finalize(st);
    }
    fprintf(f, "</body></html>\n");
    rc = 0;
out:
    if (f && fclose(f) && !rc) {
        snprintf(err, errlen, "%s: %s", out_path, strerror(errno));
        rc = -1;
    }
    sqlite3_close(db);
    return rc;
}
