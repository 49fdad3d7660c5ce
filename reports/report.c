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
#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
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

/* Every plot is one <svg> in a <div class=plot data-plot=NAME>: NAME says
 * which figure it is, so that tests/run-report.sh can check each kind is
 * drawn.  The plots of a run are drawn only when the run has data for
 * them (a run without TLBs has no cycles to show). */

struct series {
    double *x, *y;
    size_t n, cap;
    char name[96];
};

static void push_xy(struct series *s, double x, double y)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 256;
        double *nx = realloc(s->x, cap * sizeof(*nx));
        if (!nx)
            return;
        s->x = nx;
        double *ny = realloc(s->y, cap * sizeof(*ny));
        if (!ny)
            return;
        s->y = ny;
        s->cap = cap;
    }
    s->x[s->n] = x;
    s->y[s->n++] = y;
}

/* y over the series' own index (access #, peek #, ...) */
static void push(struct series *s, double v)
{
    push_xy(s, (double)s->n, v);
}

static void series_free(struct series *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(s[i].x);
        free(s[i].y);
        s[i].x = s[i].y = NULL;
        s[i].n = s[i].cap = 0;
    }
}

static const char *const palette[] = { "#4a7fb5", "#b5584a", "#4ab56a", "#a07ab5",
                                       "#c49a2c", "#3aa3a3", "#777777", "#d070a0" };

/* Nice upper bound of an axis: 1, 2 or 5 times a power of ten. */
static double nice_max(double v)
{
    if (v <= 0)
        return 1;
    double p = pow(10, floor(log10(v)));
    for (int m = 1; m <= 10; m *= 2) {
        if (m * p >= v)
            return m * p;
        if (m == 2 && 5 * p >= v)
            return 5 * p;
    }
    return 10 * p;
}

/* Line plot of one or more series, y against x, with axes, the ranges and
 * a legend.  steps: draw as a step function (a state that holds until the
 * next sample).  logx: log2 x axis (working-set sizes).  ymax_fix > 0 fixes
 * the y range (rates in 0..1). */
static void svg_xy(FILE *f, const char *plot, const char *title, const char *xlabel,
                   const char *ylabel, const struct series *s, size_t ns, bool steps,
                   bool logx, double ymax_fix)
{
    const double W = 440, H = 190, L = 50, B = 30, T = 24, R = 12;
    double xmin = INFINITY, xmax = -INFINITY, ymax = 0;
    size_t total = 0;
    for (size_t k = 0; k < ns; k++)
        for (size_t i = 0; i < s[k].n; i++) {
            double x = logx ? log2(s[k].x[i] > 0 ? s[k].x[i] : 1) : s[k].x[i];
            xmin = fmin(xmin, x);
            xmax = fmax(xmax, x);
            ymax = fmax(ymax, s[k].y[i]);
            total++;
        }
    if (!total)
        xmin = 0, xmax = 1;
    if (xmax <= xmin)
        xmax = xmin + 1;
    ymax = ymax_fix > 0 ? ymax_fix : nice_max(ymax);
    fprintf(f, "<div class=plot data-plot='%s'><svg xmlns='http://www.w3.org/2000/svg' "
               "width='%g' height='%g' role='img'><title>", plot, W, H);
    esc(f, title);
    fprintf(f, "</title><text x='%g' y='14' font-size='12' font-weight='600'>", L);
    esc(f, title);
    fprintf(f, "</text>");
    fprintf(f, "<line x1='%g' y1='%g' x2='%g' y2='%g' stroke='#888'/>", L, H - B, W - R, H - B);
    fprintf(f, "<line x1='%g' y1='%g' x2='%g' y2='%g' stroke='#888'/>", L, T, L, H - B);
    fprintf(f, "<text x='%g' y='%g' font-size='10' text-anchor='end'>%g</text>", L - 4, T + 4, ymax);
    fprintf(f, "<text x='%g' y='%g' font-size='10' text-anchor='end'>0</text>", L - 4, H - B);
    fprintf(f, "<text x='%g' y='%g' font-size='10' transform='rotate(-90 %g %g)' "
               "text-anchor='middle'>", 10.0, (T + H - B) / 2, 10.0, (T + H - B) / 2);
    esc(f, ylabel);
    fprintf(f, "</text>");
    if (logx) {
        fprintf(f, "<text x='%g' y='%g' font-size='10'>%g</text>", L, H - B + 12, exp2(xmin));
        fprintf(f, "<text x='%g' y='%g' font-size='10' text-anchor='end'>%g (log scale)</text>",
                W - R, H - B + 12, exp2(xmax));
    } else {
        fprintf(f, "<text x='%g' y='%g' font-size='10'>%g</text>", L, H - B + 12, xmin);
        fprintf(f, "<text x='%g' y='%g' font-size='10' text-anchor='end'>%g</text>", W - R,
                H - B + 12, xmax);
    }
    fprintf(f, "<text x='%g' y='%g' font-size='10' text-anchor='middle'>", (L + W - R) / 2, H - 4);
    esc(f, xlabel);
    fprintf(f, "</text>");
    if (!total)
        fprintf(f, "<text x='%g' y='%g' font-size='11' fill='#888'>no data</text>", L + 20, H / 2);
    for (size_t k = 0; k < ns; k++) {
        const char *color = palette[k % (sizeof palette / sizeof palette[0])];
        size_t n = s[k].n, stride = n > MAX_POINTS ? n / MAX_POINTS + 1 : 1;
        if (!n)
            continue;
#define PX(i) (L + (W - L - R) * ((logx ? log2(s[k].x[i] > 0 ? s[k].x[i] : 1) : s[k].x[i]) - xmin) / (xmax - xmin))
#define PY(v) (H - B - (H - B - T) * fmin((v), ymax) / ymax)
        /* predicted curves dashed beside the measured ones */
        fprintf(f, "<polyline fill='none' stroke='%s' stroke-width='1.5'%s points='", color,
                strstr(s[k].name, "predict") ? " stroke-dasharray='5,3'" : "");
        for (size_t i = 0; i < n; i += stride) {
            if (steps && i)
                fprintf(f, "%.1f,%.1f ", PX(i), PY(s[k].y[i - stride]));
            fprintf(f, "%.1f,%.1f ", PX(i), PY(s[k].y[i]));
        }
        if (steps) /* the last state holds to the end of the run */
            fprintf(f, "%.1f,%.1f ", W - R, PY(s[k].y[n - 1]));
        fprintf(f, "'/>");
        if (n <= 60)
            for (size_t i = 0; i < n; i++)
                fprintf(f, "<circle cx='%.1f' cy='%.1f' r='2.2' fill='%s'/>", PX(i),
                        PY(s[k].y[i]), color);
#undef PX
#undef PY
        if (ns > 1 || s[k].name[0]) {
            double ly = T + 4 + 12 * (double)k;
            fprintf(f, "<rect x='%g' y='%g' width='10' height='3' fill='%s'/>"
                       "<text x='%g' y='%g' font-size='10'>", W - R - 120, ly - 3, color,
                    W - R - 106, ly);
            esc(f, s[k].name);
            fprintf(f, "</text>");
        }
    }
    fprintf(f, "</svg></div>\n");
}

/* One series against its index. */
static void svg_line(FILE *f, const char *plot, const char *title, const char *xlabel,
                     const struct series *s)
{
    svg_xy(f, plot, title, xlabel, "", s, 1, false, false, 0);
}

/* Horizontal bars: name -> value (two values stacked when v2 != NULL). */
static void svg_bars(FILE *f, const char *plot, const char *title, char names[][48],
                     const double *v, const double *v2, const char *l1, const char *l2,
                     size_t n)
{
    const double W = 440, row = 16, L = 170, R = 50, top = v2 ? 34 : 22;
    double H = top + 8 + row * (double)(n ? n : 1), vmax = 1;
    for (size_t i = 0; i < n; i++)
        vmax = fmax(vmax, v[i] + (v2 ? v2[i] : 0));
    fprintf(f, "<div class=plot data-plot='%s'><svg xmlns='http://www.w3.org/2000/svg' "
               "width='%g' height='%g' role='img'><title>", plot, W, H);
    esc(f, title);
    fprintf(f, "</title><text x='4' y='14' font-size='12' font-weight='600'>");
    esc(f, title);
    fprintf(f, "</text>");
    if (v2) {
        fprintf(f, "<rect x='%g' y='20' width='10' height='8' fill='%s'/><text x='%g' y='28' "
                   "font-size='10'>", L, palette[1], L + 14);
        esc(f, l1);
        fprintf(f, "</text><rect x='%g' y='20' width='10' height='8' fill='%s'/><text x='%g' "
                   "y='28' font-size='10'>", L + 90, palette[0], L + 104);
        esc(f, l2);
        fprintf(f, "</text>");
    }
    for (size_t i = 0; i < n; i++) {
        double y = top + row * (double)i, w1 = (W - L - R) * v[i] / vmax;
        double w2 = v2 ? (W - L - R) * v2[i] / vmax : 0;
        fprintf(f, "<text x='%g' y='%g' font-size='11' text-anchor='end'>", L - 4, y + 11);
        esc(f, names[i]);
        fprintf(f, "</text><rect x='%g' y='%g' width='%.1f' height='%g' fill='%s'/>", L, y + 2,
                w1, row - 4, palette[v2 ? 1 : 0]);
        if (v2)
            fprintf(f, "<rect x='%.1f' y='%g' width='%.1f' height='%g' fill='%s'/>", L + w1,
                    y + 2, w2, row - 4, palette[0]);
        fprintf(f, "<text x='%.1f' y='%g' font-size='10'>%g", L + w1 + w2 + 4, y + 11, v[i]);
        if (v2)
            fprintf(f, " + %g", v2[i]);
        fprintf(f, "</text>");
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

/* "key=WORD" inside a result string, copied into buf; "" if absent. */
static const char *field_word(const char *s, const char *key, char *buf, size_t n)
{
    size_t kl = strlen(key);
    buf[0] = 0;
    for (const char *p = s; (p = strstr(p, key)); p += kl)
        if ((p == s || p[-1] == ' ') && p[kl] == '=') {
            size_t len = strcspn(p + kl + 1, " ");
            snprintf(buf, n, "%.*s", (int)(len < n ? len : n - 1), p + kl + 1);
            break;
        }
    return buf;
}

static bool has_table(sqlite3 *db, const char *name)
{
    sqlite3_stmt *st;
    bool yes = false;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE name = ?1", -1, &st, NULL) ==
        SQLITE_OK) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        yes = sqlite3_step(st) == SQLITE_ROW;
        sqlite3_finalize(st);
    }
    return yes;
}

#define WALK_REFS_MAX 64 /* histogram buckets: 0..63 references, 64 = more */

/* The plots of one run: from its step rows (every guest access: refs=,
 * exits=, tlb=, cyc=) and, from schema version 3, its samples (dirty
 * count, paging states and ring per domain after each change). */
static int run_plots(FILE *f, sqlite3 *db, int64_t run, bool samples)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT op, result FROM steps WHERE run_id = ?1 ORDER BY step",
                           -1, &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_int64(st, 1, run);
    struct series refs = { 0 }, exits = { 0 }, dirty = { 0 }, cyc = { 0 };
    struct series rate[3] = { { .name = "L1 TLB hits" }, { .name = "STLB hits" },
                              { .name = "walks" } };
    double hist[WALK_REFS_MAX + 1] = { 0 }, nlevel[3] = { 0 }, ntimed = 0;
    char names[32][48];
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
            double c = field_num(res, "cyc");
            char tlb[16];
            push(&refs, r < 0 ? 0 : r);
            push(&exits, x < 0 ? 0 : x);
            /* A walk that made memory references: the histogram of their
             * number (a TLB hit makes none). */
            if (r > 0)
                hist[r > WALK_REFS_MAX ? WALK_REFS_MAX : (size_t)r]++;
            if (c >= 0)
                push(&cyc, c);
            field_word(res, "tlb", tlb, sizeof tlb);
            int lvl = !strcmp(tlb, "l1") ? 0 : !strcmp(tlb, "stlb") ? 1
                    : !strcmp(tlb, "walk") ? 2 : -1;
            if (lvl >= 0) {
                /* Cumulative share of the accesses each level answered. */
                nlevel[lvl]++;
                ntimed++;
                for (int k = 0; k < 3; k++)
                    push_xy(&rate[k], ntimed, nlevel[k] / ntimed);
            }
        } else if (!strcmp(op, "logdirty_peek") || !strcmp(op, "logdirty_clean")) {
            double d = field_num(res, "dirty");
            push(&dirty, d < 0 ? 0 : d);
        }
    }
    sqlite3_finalize(st);

    fprintf(f, "<div class=plots>\n");
    if (cyc.n)
        svg_line(f, "cycles", "simulated cycles per guest access (VM exits included)",
                 "access # (vCPUs with TLBs)", &cyc);
    if (ntimed)
        svg_xy(f, "tlb", "TLB hit rates per level (cumulative share of accesses)",
               "access # (vCPUs with TLBs)", "share", rate, 3, false, false, 1.0);
    size_t nh = 0;
    char hnames[WALK_REFS_MAX + 1][48];
    double hv[WALK_REFS_MAX + 1];
    for (size_t r = 0; r <= WALK_REFS_MAX; r++)
        if (hist[r]) {
            snprintf(hnames[nh], sizeof hnames[0], r == WALK_REFS_MAX ? ">= %zu refs" : "%zu refs",
                     r);
            hv[nh++] = hist[r];
        }
    if (nh)
        svg_bars(f, "walkrefs", "walk memory references per access (histogram)", hnames, hv,
                 NULL, NULL, NULL, nh);
    if (refs.n)
        svg_line(f, "refs", "memory references per guest access", "access #", &refs);
    if (refs.n)
        svg_line(f, "exits", "VM exits handled per guest access", "access #", &exits);
    if (dirty.n)
        svg_line(f, "peek", "dirty pages per log-dirty peek/clean", "peek/clean #", &dirty);

    if (samples && sqlite3_prepare_v2(db, "SELECT step, domain, dirty, paging_out, paged,"
                                          " paging_in, ring_used, ring_size FROM samples"
                                          " WHERE run_id = ?1 ORDER BY domain, step",
                                      -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, run);
        /* Per domain (at most 4 drawn): dirty count, ring used/size; the
         * paging states summed over domains would hide which one pages,
         * so they are drawn for the first domain that has any. */
        struct series sd[4] = { { .n = 0 } }, sp[3] = { { .name = "paging_out" },
                                                        { .name = "paged" },
                                                        { .name = "paging_in" } };
        struct series sr[2] = { { .name = "requests in ring" }, { .name = "ring slots" } };
        int64_t dom[4], pdom = -1, rdom = -1;
        size_t nd = 0;
        bool any_dirty = false, any_paging = false, any_ring = false;
        while (sqlite3_step(st) == SQLITE_ROW) {
            double step = (double)sqlite3_column_int64(st, 0);
            int64_t d = sqlite3_column_int64(st, 1);
            double v[6];
            for (int k = 0; k < 6; k++)
                v[k] = (double)sqlite3_column_int64(st, 2 + k);
            size_t k;
            for (k = 0; k < nd && dom[k] != d; k++)
                ;
            if (k == nd && nd < 4) {
                dom[nd] = d;
                snprintf(sd[nd].name, sizeof sd[0].name, "domain %lld", (long long)d);
                nd++;
            }
            if (k < nd)
                push_xy(&sd[k], step, v[0]);
            any_dirty |= v[0] > 0;
            if (pdom < 0 && (v[1] || v[2] || v[3]))
                pdom = d;
            if (pdom == d) {
                for (int j = 0; j < 3; j++)
                    push_xy(&sp[j], step, v[1 + j]);
                any_paging = true;
            }
            if (rdom < 0 && v[5])
                rdom = d;
            if (rdom == d) {
                push_xy(&sr[0], step, v[4]);
                push_xy(&sr[1], step, v[5]);
                any_ring = true;
            }
        }
        sqlite3_finalize(st);
        if (any_dirty)
            svg_xy(f, "dirty", "dirty pages over time (log_dirty.dirty_count)", "step", "pages",
                   sd, nd, true, false, 0);
        if (any_paging) {
            char t[96];
            snprintf(t, sizeof t, "paging state populations over time (domain %lld)",
                     (long long)pdom);
            svg_xy(f, "paging", t, "step", "gfns", sp, 3, true, false, 0);
        }
        if (any_ring) {
            char t[96];
            snprintf(t, sizeof t, "vm_event ring occupancy over time (domain %lld)",
                     (long long)rdom);
            svg_xy(f, "ring", t, "step", "slots", sr, 2, true, false, 0);
        }
        series_free(sd, 4);
        series_free(sp, 3);
        series_free(sr, 2);
    }
    svg_bars(f, "ops", "operations", names, counts, NULL, NULL, NULL, nops);
    fprintf(f, "</div>\n");
    series_free(&refs, 1);
    series_free(&exits, 1);
    series_free(&dirty, 1);
    series_free(&cyc, 1);
    series_free(rate, 3);
    return 0;
}

/* ---- hardware replay and calibration ------------------------------------------ */

/* Differences per (backend, scenario) as stacked bars (unexplained, known)
 * and a table; the fields that differed most per backend.  The hw_ tables
 * exist once `pagesim replay` ran on the file. */
static void replay_section(FILE *f, sqlite3 *db)
{
    sqlite3_stmt *st;
    fprintf(f, "<h2 id=replay>Hardware replay</h2>\n");
    if (!has_table(db, "hw_runs") || !has_table(db, "hw_diffs")) {
        fprintf(f, "<p>No replay in this database (<code>pagesim replay --db FILE --all</code>"
                   " adds it).</p>\n");
        return;
    }
    if (sqlite3_prepare_v2(db, "SELECT h.backend, r.scenario, COUNT(*), SUM(h.status = 'pass'),"
                               " COALESCE(SUM(h.compared), 0), COALESCE(SUM(h.diffs), 0),"
                               " COALESCE(SUM(h.known), 0), COALESCE(SUM(h.skipped), 0)"
                               " FROM hw_runs h JOIN runs r ON r.id = h.run_id"
                               " GROUP BY h.backend, r.scenario ORDER BY h.backend, r.scenario",
                           -1, &st, NULL) != SQLITE_OK)
        return;
    char names[64][48];
    double un[64], kn[64];
    size_t n = 0;
    fprintf(f, "<table><tr><th>backend</th><th>scenario</th><th>replays</th><th>passed</th>"
               "<th>accesses compared</th><th>differences</th><th>known</th><th>skipped</th>"
               "</tr>\n");
    while (sqlite3_step(st) == SQLITE_ROW) {
        fprintf(f, "<tr><td>");
        esc(f, col(st, 0));
        fprintf(f, "</td><td class=mono>");
        esc(f, col(st, 1));
        fprintf(f, "</td><td>%s</td><td>%s</td><td>%s</td><td class='%s'>%s</td><td>%s</td>"
                   "<td>%s</td></tr>\n", col(st, 2), col(st, 3), col(st, 4),
                sqlite3_column_int64(st, 5) ? "fail" : "pass", col(st, 5), col(st, 6),
                col(st, 7));
        if (n < 64 && (sqlite3_column_int64(st, 5) || sqlite3_column_int64(st, 6))) {
            const char *sc = col(st, 1), *b = strrchr(sc, '/');
            snprintf(names[n], sizeof names[0], "%s %s", col(st, 0), b ? b + 1 : sc);
            un[n] = (double)sqlite3_column_int64(st, 5);
            kn[n++] = (double)sqlite3_column_int64(st, 6);
        }
    }
    sqlite3_finalize(st);
    fprintf(f, "</table>\n<div class=plots>\n");
    if (n)
        svg_bars(f, "replay", "replay differences per backend and scenario", names, un, kn,
                 "unexplained", "known", n);
    else
        fprintf(f, "<p>No differences: every compared access agreed.</p>\n");
    /* the fields behind them */
    /* field names carry the address after '@' (pte.A@gpa=0x1000): one bar
     * per field, all addresses together */
    if (sqlite3_prepare_v2(db, "SELECT h.backend || ' ' || substr(d.field, 1,"
                               " instr(d.field || '@', '@') - 1) AS fld, SUM(d.known IS NULL),"
                               " SUM(d.known IS NOT NULL) FROM hw_diffs d"
                               " JOIN hw_runs h ON h.id = d.hw_run_id GROUP BY h.backend, fld"
                               " ORDER BY COUNT(*) DESC, fld LIMIT 24", -1, &st, NULL) == SQLITE_OK) {
        size_t m = 0;
        while (sqlite3_step(st) == SQLITE_ROW && m < 24) {
            snprintf(names[m], sizeof names[0], "%s", col(st, 0));
            un[m] = (double)sqlite3_column_int64(st, 1);
            kn[m++] = (double)sqlite3_column_int64(st, 2);
        }
        sqlite3_finalize(st);
        if (m)
            svg_bars(f, "replayfields", "replay differences per backend and field", names, un,
                     kn, "unexplained", "known", m);
    }
    fprintf(f, "</div>\n");
}

/* Index of the first word of words (NULL-terminated) that name contains,
 * or -1: a lower index is a better match. */
static int name_rank(const char *name, const char *const *words)
{
    for (int i = 0; words[i]; i++)
        if (strstr(name, words[i]))
            return i;
    return -1;
}

/*
 * Calibration curves: measured and predicted cost per access against the
 * working set.  `pagesim replay --calibrate --db FILE` stores its sweep in
 * hw_calibration (bytes, pages, pattern, op, ns_measured, ns_predicted,
 * model_cycles, ...); any table or view whose name contains "calib" is
 * read the same way, by column names:
 *   x: the best of bytes > ws > working > size > pages (numeric);
 *   y: every numeric column naming a time in ns (or, without one, cycles,
 *      measured, predicted, cost), so one axis holds one unit;
 *   lines: one per value of the text columns (pattern, op, ...; times such
 *      as started_at excluded) and y column; predicted ones dashed;
 *   rows: of the latest sweep when the table has started_at.
 * A table without a predicted column is drawn with what it has, and the
 * page says the prediction is missing; no table, a sentence.
 */
static void calibration_section(FILE *f, sqlite3 *db)
{
    static const char *const xw[] = { "bytes", "ws", "working", "size", "pages", NULL };
    static const char *const nsw[] = { "ns", NULL };
    static const char *const yw[] = { "cycles", "measured", "predicted", "cost", NULL };
    static const char *const timew[] = { "started", "_at", "date", "time", NULL };
    sqlite3_stmt *st;
    char table[128] = "";
    fprintf(f, "<h2 id=calibration>Calibration: cost per access</h2>\n");
    if (sqlite3_prepare_v2(db, "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')"
                               " AND name LIKE '%calib%' ORDER BY name LIMIT 1",
                           -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW)
            snprintf(table, sizeof table, "%s", col(st, 0));
        sqlite3_finalize(st);
    }
    if (!table[0]) {
        fprintf(f, "<p>No calibration data in this database (<code>pagesim replay --calibrate"
                   " --db FILE</code> stores the KVM sweep; a table whose name contains"
                   " <code>calib</code> is drawn here).</p>\n");
        return;
    }
    /* classify the columns by name and by the type of the first row */
    char cols[24][64];
    int nc = 0, xcol = -1, xrank = 99, ycols[8], ny = 0, keycols[4], nk = 0;
    bool has_ns = false, predicted = false, latest = false;
    int isnum[24] = { 0 };
    char sql[512];
    snprintf(sql, sizeof sql, "SELECT * FROM \"%s\" LIMIT 1", table);
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return;
    if (sqlite3_step(st) == SQLITE_ROW) {
        nc = sqlite3_column_count(st) < 24 ? sqlite3_column_count(st) : 24;
        for (int c = 0; c < nc; c++) {
            snprintf(cols[c], sizeof cols[0], "%s", sqlite3_column_name(st, c));
            for (char *p = cols[c]; *p; p++)
                *p = (char)tolower((unsigned char)*p);
            int t = sqlite3_column_type(st, c);
            isnum[c] = t == SQLITE_INTEGER || t == SQLITE_FLOAT ? 1 : t == SQLITE_TEXT ? 2 : 0;
            int r = name_rank(cols[c], xw);
            if (isnum[c] == 1 && r >= 0 && r < xrank)
                xcol = c, xrank = r;
            has_ns |= isnum[c] == 1 && name_rank(cols[c], nsw) >= 0;
            latest |= !strcmp(cols[c], "started_at");
        }
    }
    sqlite3_finalize(st);
    for (int c = 0; c < nc; c++) {
        if (c == xcol)
            continue;
        if (isnum[c] == 1 && ny < 8 &&
            name_rank(cols[c], has_ns ? nsw : yw) >= 0) {
            ycols[ny++] = c;
            predicted |= strstr(cols[c], "predict") != NULL;
        } else if (isnum[c] == 2 && nk < 4 && name_rank(cols[c], timew) < 0) {
            keycols[nk++] = c;
        }
    }
    if (xcol < 0 || !ny) {
        fprintf(f, "<p>Table <code>");
        esc(f, table);
        fprintf(f, "</code> has no working-set column and cost column this report "
                   "recognises.</p>\n");
        return;
    }
    struct series s[8];
    memset(s, 0, sizeof s);
    size_t ns = 0;
    if (latest)
        snprintf(sql, sizeof sql, "SELECT * FROM \"%s\" WHERE started_at ="
                                  " (SELECT MAX(started_at) FROM \"%s\")", table, table);
    else
        snprintf(sql, sizeof sql, "SELECT * FROM \"%s\"", table);
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return;
    while (sqlite3_step(st) == SQLITE_ROW) {
        char key[96] = "";
        for (int k = 0; k < nk; k++) {
            size_t l = strlen(key);
            snprintf(key + l, sizeof key - l, "%s%s", k ? " " : "", col(st, keycols[k]));
        }
        for (int y = 0; y < ny; y++) {
            if (sqlite3_column_type(st, ycols[y]) == SQLITE_NULL)
                continue;
            char name[200];
            snprintf(name, sizeof name, "%s%s%s", key, key[0] ? " " : "", cols[ycols[y]]);
            size_t i;
            for (i = 0; i < ns && strcmp(s[i].name, name); i++)
                ;
            if (i == ns) {
                if (ns == 8)
                    continue; /* the legend has room for eight lines */
                snprintf(s[ns++].name, sizeof s[0].name, "%.95s", name);
            }
            push_xy(&s[i], sqlite3_column_double(st, xcol), sqlite3_column_double(st, ycols[y]));
        }
    }
    sqlite3_finalize(st);
    fprintf(f, "<div class=plots>\n");
    char title[320];
    snprintf(title, sizeof title, "calibration (%s): cost per access against %s", table,
             cols[xcol]);
    svg_xy(f, "calibration", title, cols[xcol], has_ns ? "ns per access" : "cost", s, ns, false,
           true, 0);
    fprintf(f, "</div>\n");
    if (!predicted)
        fprintf(f, "<p>No predicted column yet: only the measured cost is drawn.</p>\n");
    series_free(s, 8);
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
               "<th>hap</th><th>message</th></tr>\n");
    /* runs.cpu_profile exists from schema version 3 on, runs.hap (the
     * `pagesim run --hap` override) from version 4; older files are shown
     * with those columns empty. */
    if (sqlite3_prepare_v2(db, "SELECT id, scenario, seed, status, steps, failures, divergences,"
                               " printf('%.1f', duration_ms), digest, mutants, message,"
                               " cpu_profile, hap FROM runs ORDER BY id", -1, &st, NULL) != SQLITE_OK &&
        sqlite3_prepare_v2(db, "SELECT id, scenario, seed, status, steps, failures, divergences,"
                               " printf('%.1f', duration_ms), digest, mutants, message,"
                               " cpu_profile, NULL FROM runs ORDER BY id", -1, &st, NULL) != SQLITE_OK &&
        sqlite3_prepare_v2(db, "SELECT id, scenario, seed, status, steps, failures, divergences,"
                               " printf('%.1f', duration_ms), digest, mutants, message,"
                               " NULL, NULL FROM runs ORDER BY id", -1, &st, NULL) != SQLITE_OK) {
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
        fprintf(f, "</td><td>");
        esc(f, col(st, 12));
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

    replay_section(f, db);
    calibration_section(f, db);

    /* per-run plots */
    bool samples = has_table(db, "samples");
    fprintf(f, "<h2 id=perrun>Per run</h2>\n");
    if (sqlite3_prepare_v2(db, "SELECT id, scenario, status FROM runs ORDER BY id LIMIT 500", -1,
                           &st, NULL) == SQLITE_OK) {
        while (sqlite3_step(st) == SQLITE_ROW) {
            fprintf(f, "<h3 id='run%s'>run %s: <span class=mono>", col(st, 0), col(st, 0));
            esc(f, col(st, 1));
            fprintf(f, "</span> <span class='%s'>%s</span></h3>\n", col(st, 2), col(st, 2));
            run_plots(f, db, sqlite3_column_int64(st, 0), samples);
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
