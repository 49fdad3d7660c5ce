/* SPDX-License-Identifier: MIT */
/*
 * sim/engine/main.c - the pagesim command line.
 *
 *   pagesim run [--db FILE] [--seed N] [--mutant NAME]... [-v] [--tap]
 *               [--junit FILE] [--shard K/N] PATH...
 *   pagesim show [--db FILE] [--run ID]
 *   pagesim merge OUT.db IN.db...
 *   pagesim mutants
 *   pagesim --help | --version
 *
 * Exit status: 0 all scenarios passed; 1 some scenario failed, diverged or
 * was broken; 2 bad usage or an unusable database (nothing was run).
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "../../reports/report.h"
#include "fuzz.h"
#include "fuzz-native.h"
#include "../../hw-replay/hwreplay.h"
#include "lapi.h"
#include "pagesim/mutant.h"
#include "pagesim/recorder.h"

static const char usage_main[] =
    "usage: pagesim <command> [options]\n"
    "\n"
    "pagesim is a deterministic simulator and conformance harness for x86\n"
    "memory virtualisation: an MMU/EPT model, a Xen-like paging core and an\n"
    "independent oracle, driven by Lua scenarios, recorded in SQLite.\n"
    "\n"
    "commands:\n"
    "  run PATH...     run scenario files (directories are searched for *.lua)\n"
    "  show            print the runs and divergences recorded in a database\n"
    "  report          write a self-contained HTML report of a database\n"
    "  merge OUT IN... append the runs of databases IN to database OUT\n"
    "  fuzz            random state transitions vs the oracle, shrunk reproducers\n"
    "  mutants         list the deliberate bugs --mutant can switch on\n"
    "  replay          re-run recorded runs on KVM and diff against the model\n"
    "\n"
    "examples:\n"
    "  pagesim run scenarios/                     the default suite into pagesim.db\n"
    "  pagesim run --seed 7 -v scenarios/logdirty one folder, every step printed\n"
    "  pagesim show --run 3                       one run's steps and divergences\n"
    "\n"
    "  pagesim <command> --help   for the command's options\n"
    "  pagesim --version\n";

static const char usage_run[] =
    "usage: pagesim run [--db FILE] [--no-db] [--seed N] [--mutant NAME]...\n"
    "                   [--verbose] [--max-instructions N] [--tap]\n"
    "                   [--junit FILE] [--shard K/N] [--timeout S] [--no-fork]\n"
    "                   [--hap ept|npt]\n"
    "                   SCENARIO_OR_DIR...\n"
    "\n"
    "Runs each scenario (a directory means every *.lua below it, in sorted\n"
    "order), checks every step against the oracle, records the runs in the\n"
    "database and prints one line per scenario, then 'N passed, N failed'.\n"
    "\n"
    "  --db FILE       SQLite database to record into (default pagesim.db)\n"
    "  --no-db         do not record\n"
    "  --seed N        seed of math.random in the scenarios (default 1)\n"
    "  --mutant NAME   switch on a deliberate bug (see 'pagesim mutants')\n"
    "  -v, --verbose   print every step\n"
    "  --max-instructions N  Lua VM instruction budget per scenario\n"
    "                  (default 200000000)\n"
    "  --tap           print TAP version 13 instead of the plain lines\n"
    "  --junit FILE    also write a JUnit XML report to FILE\n"
    "  --hap ept|npt   nested paging of domains whose domain{} does not set\n"
    "                  hap = (default ept)\n"
    "  --shard K/N     run only the K-th of N deterministic slices of the\n"
    "                  sorted scenario list (1 <= K <= N)\n"
    "  --timeout S     a scenario still running after S seconds is killed and\n"
    "                  reported (default 600)\n"
    "  --no-fork       run scenarios in this process (for a debugger); by\n"
    "                  default each runs in a child, so a crash ends only it\n"
    "\n"
    "Exit status: 0 all passed, 1 any failure/divergence/error, 2 bad usage.\n";

static const char usage_show[] =
    "usage: pagesim show [--db FILE] [--run ID]\n"
    "\n"
    "Prints the recorded runs (or one run's steps and divergences).\n";

/* ---- scenario discovery ------------------------------------------------------- */

struct pathlist {
    char **v;
    size_t n, cap;
};

static int push_path(struct pathlist *l, const char *p)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        char **v = realloc(l->v, cap * sizeof(*v));
        if (!v)
            return -1;
        l->v = v;
        l->cap = cap;
    }
    if (!(l->v[l->n] = strdup(p)))
        return -1;
    l->n++;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool has_suffix(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

/* Appends every *.lua below dir, sorted, depth first. */
static int scan_dir(struct pathlist *out, const char *dir)
{
    DIR *dp = opendir(dir);
    if (!dp)
        return -1;
    struct pathlist ents = { 0 };
    struct dirent *de;
    while ((de = readdir(dp)))
        if (de->d_name[0] != '.')
            push_path(&ents, de->d_name);
    closedir(dp);
    qsort(ents.v, ents.n, sizeof(char *), cmp_str);
    for (size_t i = 0; i < ents.n; i++) {
        char p[4096];
        struct stat st;
        snprintf(p, sizeof p, "%s%s%s", dir, has_suffix(dir, "/") ? "" : "/",
                 ents.v[i]);
        if (stat(p, &st) == 0 && S_ISDIR(st.st_mode))
            scan_dir(out, p);
        else if (has_suffix(p, ".lua"))
            push_path(out, p);
        free(ents.v[i]);
    }
    free(ents.v);
    return 0;
}

/* --mutant NAME: switches the deliberate bug on and appends its name to
 * the comma-separated list recorded with the runs.  -1 if unknown. */
static int switch_on_mutant(const char *cmd, const char *name, char *list, size_t len)
{
    mutset_t bit = mutant_from_name(name);
    if (!bit) {
        fprintf(stderr, "pagesim %s: unknown mutant '%s' (see 'pagesim mutants')\n", cmd,
                name);
        return -1;
    }
    pagesim_mutants |= bit;
    size_t n = strlen(list);
    snprintf(list + n, len - n, "%s%s", n ? "," : "", name);
    return 0;
}

/* ---- output formats ---------------------------------------------------------------- */

static const char *status_word(const char *status)
{
    return !strcmp(status, "pass") ? "PASS" : !strcmp(status, "fail") ? "FAIL"
         : !strcmp(status, "diverge") ? "DIVERGE" : "ERROR";
}

/* TAP 13: "ok N - name", or "not ok" with a YAML block saying why. */
static void tap_line(size_t n, const char *file, const struct run_result *r)
{
    bool ok = !strcmp(r->status, "pass");
    printf("%sok %zu - %s\n", ok ? "" : "not ", n, file);
    printf("  ---\n  status: %s\n  steps: %" PRIu64 "\n  digest: \"%s\"\n",
           r->status, r->steps, r->digest);
    if (!ok) {
        printf("  message: \"");
        for (const char *c = r->message; *c; c++)
            printf(*c == '"' || *c == '\\' ? "\\%c" : "%c", *c);
        printf("\"\n");
    }
    printf("  ...\n");
}

static void xml_escape(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        default:
            if ((unsigned char)*s >= 0x20 || *s == '\n' || *s == '\t')
                fputc(*s, f);
        }
    }
}

/* JUnit XML as CI systems read it: a failed expect() or a divergence is a
 * <failure> (the subject failed), a broken scenario an <error>. */
static int write_junit(const char *path, const struct pathlist *files,
                       const struct run_result *res, uint64_t seed)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    unsigned nf = 0, ne = 0;
    double total = 0;
    for (size_t i = 0; i < files->n; i++) {
        nf += !strcmp(res[i].status, "fail") || !strcmp(res[i].status, "diverge");
        ne += !strcmp(res[i].status, "error");
        total += res[i].duration_ms;
    }
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    fprintf(f, "<testsuites name=\"pagesim\" tests=\"%zu\" failures=\"%u\" errors=\"%u\">\n",
            files->n, nf, ne);
    fprintf(f, "  <testsuite name=\"pagesim\" tests=\"%zu\" failures=\"%u\" errors=\"%u\""
            " skipped=\"0\" time=\"%.3f\">\n", files->n, nf, ne, total / 1e3);
    fprintf(f, "    <properties><property name=\"seed\" value=\"%" PRIu64 "\"/></properties>\n",
            seed);
    for (size_t i = 0; i < files->n; i++) {
        const struct run_result *r = &res[i];
        /* classname: the scenario's folder, dots for slashes */
        char cls[512];
        snprintf(cls, sizeof cls, "%s", files->v[i]);
        char *slash = strrchr(cls, '/');
        const char *name = slash ? files->v[i] + (slash - cls) + 1 : files->v[i];
        if (slash)
            *slash = 0;
        else
            snprintf(cls, sizeof cls, "pagesim");
        for (char *c = cls; *c; c++)
            if (*c == '/')
                *c = '.';
        fprintf(f, "    <testcase classname=\"");
        xml_escape(f, cls);
        fprintf(f, "\" name=\"");
        xml_escape(f, name);
        fprintf(f, "\" time=\"%.3f\"", r->duration_ms / 1e3);
        if (!strcmp(r->status, "pass")) {
            fprintf(f, "/>\n");
            continue;
        }
        const char *tag = !strcmp(r->status, "error") ? "error" : "failure";
        fprintf(f, ">\n      <%s type=\"%s\" message=\"", tag, r->status);
        xml_escape(f, r->message);
        fprintf(f, "\">");
        xml_escape(f, r->message);
        fprintf(f, "</%s>\n    </testcase>\n", tag);
    }
    fprintf(f, "  </testsuite>\n</testsuites>\n");
    return fclose(f) ? -1 : 0;
}

/* ---- run -------------------------------------------------------------------------- */

/* Runs one scenario in a child process, so that a crash or a hang in the
 * C code (a sim or model bug, or a sanitizer report) ends that scenario
 * only: the child opens its own database connection (SQLite connections
 * must not cross fork()), runs, and sends its result through a pipe.  A
 * child that dies is reported, and recorded by the parent, as an error
 * naming the signal; the rows of the runs before it are already committed. */
static void run_isolated(const char *file, const char *db, const struct run_opts *ro,
                         unsigned timeout_s, struct recorder *rec, struct run_result *r)
{
    int fd[2];
    memset(r, 0, sizeof(*r));
    fflush(stdout);
    fflush(stderr);
    if (pipe(fd) != 0) {
        snprintf(r->status, sizeof r->status, "error");
        snprintf(r->message, sizeof r->message, "%s: pipe: %s", file, strerror(errno));
        return;
    }
    pid_t pid = fork();
    if (pid == 0) {
        close(fd[0]);
        struct run_opts co = *ro;
        char err[512];
        co.rec = db ? rec_open(db, err, sizeof err) : NULL;
        if (db && !co.rec)
            fprintf(stderr, "pagesim run: %s\n", err);
        alarm(timeout_s);
        lapi_run_file(file, &co, r);
        if (co.rec)
            rec_close(co.rec);
        fflush(stdout);
        ssize_t n = write(fd[1], r, sizeof(*r));
        _exit(n == (ssize_t)sizeof(*r) ? 0 : 3);
    }
    close(fd[1]);
    size_t got = 0;
    if (pid > 0) {
        while (got < sizeof(*r)) {
            ssize_t n = read(fd[0], (char *)r + got, sizeof(*r) - got);
            if (n <= 0)
                break;
            got += (size_t)n;
        }
    }
    close(fd[0]);
    int wst = 0;
    if (pid > 0)
        waitpid(pid, &wst, 0);
    if (pid > 0 && got == sizeof(*r) && WIFEXITED(wst) && WEXITSTATUS(wst) == 0)
        return;
    memset(r, 0, sizeof(*r));
    snprintf(r->status, sizeof r->status, "error");
    if (pid < 0)
        snprintf(r->message, sizeof r->message, "%s: fork: %s", file, strerror(errno));
    else if (WIFSIGNALED(wst) && WTERMSIG(wst) == SIGALRM)
        snprintf(r->message, sizeof r->message, "%s: did not finish within %u s (killed)",
                 file, timeout_s);
    else if (WIFSIGNALED(wst))
        snprintf(r->message, sizeof r->message, "%s: crashed: signal %d (%s)", file,
                 WTERMSIG(wst), strsignal(WTERMSIG(wst)));
    else
        snprintf(r->message, sizeof r->message, "%s: runner exited with status %d", file,
                 WIFEXITED(wst) ? WEXITSTATUS(wst) : -1);
    if (rec) {
        int64_t id = rec_run_begin(rec, file, ro->seed, ro->mutants);
        if (id > 0 && ro->npt)
            rec_run_hap(rec, id, "npt");
        rec_run_end(rec, id, r->status, "", 0, 0, 0, r->message, 0);
    }
}

static int cmd_run(int argc, char **argv)
{
    static const struct option opts[] = {
        { "db", required_argument, 0, 'd' }, { "no-db", no_argument, 0, 'n' },
        { "seed", required_argument, 0, 's' }, { "mutant", required_argument, 0, 'm' },
        { "verbose", no_argument, 0, 'v' }, { "help", no_argument, 0, 'h' },
        { "max-instructions", required_argument, 0, 'I' },
        { "tap", no_argument, 0, 'T' }, { "junit", required_argument, 0, 'J' },
        { "shard", required_argument, 0, 'S' }, { "no-fork", no_argument, 0, 'F' },
        { "timeout", required_argument, 0, 'W' },
        { "hap", required_argument, 0, 'H' }, { 0, 0, 0, 0 },
    };
    const char *db = "pagesim.db";
    bool nodb = false, verbose = false, tap = false, nofork = false;
    bool npt = false;
    unsigned timeout_s = 600;
    const char *junit = NULL;
    unsigned shard_k = 1, shard_n = 1;
    uint64_t seed = 1, budget = 0;
    char mutants[256] = "";
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
        switch (c) {
        case 'd': db = optarg; break;
        case 'n': nodb = true; break;
        case 'v': verbose = true; break;
        case 's': {
            char *end;
            errno = 0;
            seed = strtoull(optarg, &end, 0);
            if (errno || *end || !*optarg) {
                fprintf(stderr, "pagesim run: --seed: '%s' is not a number\n", optarg);
                return 2;
            }
            break;
        }
        case 'T': tap = true; break;
        case 'H':
            if (strcmp(optarg, "ept") && strcmp(optarg, "npt")) {
                fprintf(stderr, "pagesim run: --hap: '%s' is not ept or npt\n", optarg);
                return 2;
            }
            npt = !strcmp(optarg, "npt");
            break;
        case 'F': nofork = true; break;
        case 'W': {
            char *end;
            unsigned long t = strtoul(optarg, &end, 0);
            if (*end || !*optarg || t == 0 || t > 86400) {
                fprintf(stderr, "pagesim run: --timeout: '%s' is not 1..86400 seconds\n", optarg);
                return 2;
            }
            timeout_s = (unsigned)t;
            break;
        }
        case 'J': junit = optarg; break;
        case 'S': {
            char extra;
            if (sscanf(optarg, "%u/%u%c", &shard_k, &shard_n, &extra) != 2 ||
                shard_n == 0 || shard_k == 0 || shard_k > shard_n) {
                fprintf(stderr, "pagesim run: --shard: '%s' is not K/N with 1 <= K <= N\n",
                        optarg);
                return 2;
            }
            break;
        }
        case 'I': {
            char *end;
            errno = 0;
            budget = strtoull(optarg, &end, 0);
            if (errno || *end || !*optarg || !budget) {
                fprintf(stderr, "pagesim run: --max-instructions: '%s' is not a positive number\n",
                        optarg);
                return 2;
            }
            break;
        }
        case 'm':
            if (switch_on_mutant("run", optarg, mutants, sizeof mutants))
                return 2;
            break;
        case 'h': fputs(usage_run, stdout); return 0;
        default: fputs(usage_run, stderr); return 2;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "pagesim run: no scenario given\n%s", usage_run);
        return 2;
    }
    /* Open the database first: an unusable one stops everything. */
    struct recorder *rec = NULL;
    if (!nodb) {
        char err[512];
        rec = rec_open(db, err, sizeof err);
        if (!rec) {
            fprintf(stderr, "pagesim run: %s\n", err);
            return 2;
        }
    }
    struct pathlist files = { 0 };
    for (int i = optind; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            /* Keep going: a missing file is reported as an error run. */
            push_path(&files, argv[i]);
        } else if (S_ISDIR(st.st_mode)) {
            size_t before = files.n;
            scan_dir(&files, argv[i]);
            if (files.n == before)
                fprintf(stderr, "pagesim run: warning: no *.lua under %s\n", argv[i]);
        } else {
            push_path(&files, argv[i]);
        }
    }
    /* --shard K/N: every N-th file of the sorted list, starting at K-1.
     * The order is fixed (directories are scanned sorted), so N machines
     * with K = 1..N together run each scenario exactly once. */
    if (shard_n > 1) {
        size_t kept = 0;
        for (size_t i = 0; i < files.n; i++) {
            if (i % shard_n == shard_k - 1)
                files.v[kept++] = files.v[i];
            else
                free(files.v[i]);
        }
        files.n = kept;
    }
    struct run_opts ro = { .seed = seed, .rec = rec,
                           /* TAP owns stdout: diagnostics go to stderr. */
                           .log = tap ? stderr : stdout,
                           .verbose = verbose, .mutants = mutants[0] ? mutants : NULL,
                           .instr_budget = budget, .npt = npt };
    struct run_result *results = calloc(files.n ? files.n : 1, sizeof(*results));
    if (!results) {
        fprintf(stderr, "pagesim run: out of memory\n");
        return 2;
    }
    if (tap)
        printf("TAP version 13\n1..%zu\n", files.n);
    unsigned passed = 0, failed = 0;
    for (size_t i = 0; i < files.n; i++) {
        struct run_result *r = &results[i];
        struct stat st;
        if (stat(files.v[i], &st) != 0) {
            /* Record it too, so the database tells the whole story. */
            snprintf(r->status, sizeof r->status, "error");
            snprintf(r->message, sizeof r->message, "%s: cannot open: %s", files.v[i],
                     strerror(errno));
            if (rec) {
                int64_t id = rec_run_begin(rec, files.v[i], seed, ro.mutants);
                if (id > 0 && npt)
                    rec_run_hap(rec, id, "npt");
                rec_run_end(rec, id, r->status, "", 0, 0, 0, r->message, 0);
            }
        } else if (nofork) {
            lapi_run_file(files.v[i], &ro, r);
        } else {
            run_isolated(files.v[i], nodb ? NULL : db, &ro, timeout_s, rec, r);
        }
        bool ok = !strcmp(r->status, "pass");
        ok ? passed++ : failed++;
        if (tap)
            tap_line(i + 1, files.v[i], r);
        else if (ok)
            printf("PASS     %-52s steps=%-5" PRIu64 " digest=%s\n", files.v[i],
                   r->steps, r->digest);
        else
            printf("%-8s %-52s %s\n", status_word(r->status), files.v[i], r->message);
        fflush(stdout);
    }
    if (rec)
        rec_close(rec);
    int rc = failed ? 1 : 0;
    if (junit && write_junit(junit, &files, results, seed)) {
        fprintf(stderr, "pagesim run: --junit %s: %s\n", junit, strerror(errno));
        rc = 2;
    }
    for (size_t i = 0; i < files.n; i++)
        free(files.v[i]);
    free(files.v);
    free(results);
    printf("%s%u passed, %u failed\n", tap ? "# " : "", passed, failed);
    return rc;
}

/* ---- show ------------------------------------------------------------------------------ */

static int print_rows(sqlite3 *db, const char *sql, int64_t arg)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "pagesim show: %s\n", sqlite3_errmsg(db));
        return -1;
    }
    if (arg >= 0)
        sqlite3_bind_int64(st, 1, arg);
    int cols = sqlite3_column_count(st);
    for (int i = 0; i < cols; i++)
        printf("%s%s", i ? " | " : "", sqlite3_column_name(st, i));
    printf("\n");
    while (sqlite3_step(st) == SQLITE_ROW) {
        for (int i = 0; i < cols; i++) {
            const unsigned char *t = sqlite3_column_text(st, i);
            printf("%s%s", i ? " | " : "", t ? (const char *)t : "");
        }
        printf("\n");
    }
    sqlite3_finalize(st);
    return 0;
}

static int cmd_show(int argc, char **argv)
{
    static const struct option opts[] = {
        { "db", required_argument, 0, 'd' }, { "run", required_argument, 0, 'r' },
        { "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 },
    };
    const char *path = "pagesim.db";
    int64_t run = -1;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': path = optarg; break;
        case 'r': run = strtoll(optarg, NULL, 0); break;
        case 'h': fputs(usage_show, stdout); return 0;
        default: fputs(usage_show, stderr); return 2;
        }
    }
    /* Validate through the recorder (schema version, application id) but
     * read with a plain read-only connection. */
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "pagesim show: %s: %s\n", path, strerror(errno));
        return 2;
    }
    sqlite3 *db;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        fprintf(stderr, "pagesim show: %s: %s\n", path, sqlite3_errmsg(db));
        sqlite3_close(db);
        return 2;
    }
    int rc;
    /* runs.cpu_profile exists from schema version 3 on; an older file is
     * shown as it is (show never upgrades), its profile column empty. */
    sqlite3_stmt *uvst;
    int64_t uv = 0;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &uvst, NULL) == SQLITE_OK) {
        if (sqlite3_step(uvst) == SQLITE_ROW)
            uv = sqlite3_column_int64(uvst, 0);
        sqlite3_finalize(uvst);
    }
    const char *prof = uv >= 4 ? "cpu_profile, hap" /* v4: the --hap override */
                       : uv >= 3 ? "cpu_profile, NULL AS hap"
                                 : "NULL AS cpu_profile, NULL AS hap";
    char sql[256];
    if (run < 0) {
        snprintf(sql, sizeof sql, "SELECT id, status, steps, failures, divergences, digest, "
                                  "%s, scenario, message FROM runs ORDER BY id", prof);
        rc = print_rows(db, sql, -1);
    } else {
        snprintf(sql, sizeof sql, "SELECT id, scenario, seed, status, mutants, %s "
                                  "FROM runs WHERE id = ?1", prof);
        rc = print_rows(db, sql, run);
        if (!rc)
            rc = print_rows(db, "SELECT step, src, op, args, result FROM steps "
                                "WHERE run_id = ?1 ORDER BY step", run);
        if (!rc)
            rc = print_rows(db, "SELECT step, src, field, expected, actual FROM "
                                "divergences WHERE run_id = ?1 ORDER BY id", run);
        if (!rc)
            rc = print_rows(db, "SELECT step, message FROM failures WHERE run_id = ?1 "
                                "ORDER BY id", run);
    }
    sqlite3_close(db);
    return rc ? 2 : 0;
}

static int cmd_mutants(void)
{
    for (mutset_t bit = 1; bit; bit <<= 1)
        if (mutant_name(bit))
            printf("%s\n", mutant_name(bit));
    return 0;
}

/* ---- fuzz ------------------------------------------------------------------------------ */

static const char usage_fuzz[] =
    "usage: pagesim fuzz [--seed N] [--ops N | --time SECONDS] [--out DIR]\n"
    "                    [--db FILE | --no-db] [--mutant NAME]... [--findings N]\n"
    "                    [--program-ops N] [--coverage] [--no-fork] [--quiet]\n"
    "       pagesim fuzz --native [--seed N] [--ops N | --time SECONDS] [--out DIR]\n"
    "                    [--db FILE | --no-db] [--mutant NAME]... [--findings N]\n"
    "                    [--program-ops N] [--full-check-every K] [--quiet]\n"
    "\n"
    "Generates programs of random operations (page-table edits, populate,\n"
    "remove, type changes, log-dirty enable/disable/peek/clean, CPU modes,\n"
    "guest reads/writes/fetches, domain re-creation) from the seed, runs each\n"
    "with the oracle checking every step, and shrinks every failing program\n"
    "to a minimal Lua reproducer in DIR (default fuzz-out/) that fails the same\n"
    "way under 'pagesim run'.  Reproducer runs are recorded in the database.\n"
    "\n"
    "  --seed N        generator seed (default 1); same seed, same programs\n"
    "  --ops N         stop after N operations (default 20000 without --time)\n"
    "  --time S        stop after S seconds\n"
    "  --findings N    stop after N findings\n"
    "  --program-ops N operations per program (default 120)\n"
    "  --coverage      list the domain transitions reached\n"
    "  --no-fork       run programs in this process (by default each runs in a\n"
    "                  child, so a crash or sanitizer report becomes a finding)\n"
    "  --full-check-every K  decode the whole sim state every K-th step check\n"
    "                  (default 64; 1: every step, as before the incremental\n"
    "                  checks; same findings either way)\n"
    "  --native        the hypervisor-operation mix (P2M, log-dirty, mem paging,\n"
    "                  foreign maps, balloon, allocation failures) as op structs\n"
    "                  run by calling the engine directly: no Lua, one engine for\n"
    "                  all programs (default 2000 ops each), in this process;\n"
    "                  findings are shrunk natively and written as Lua\n"
    "                  reproducers (not with --coverage or --no-fork)\n"
    "\n"
    "Exit status: 0 no finding, 1 findings, 2 bad usage.\n";

/* pagesim fuzz --native: the run and its summary. */
static int fuzz_native_main(struct fuzz_opts *fo)
{
    struct nfz_stats st;
    int rc = fuzz_native_run(fo, &st);
    if (fo->rec)
        rec_close(fo->rec);
    if (rc)
        return 2;
    printf("fuzz --native: seed %" PRIu64 ": %" PRIu64 " programs, %" PRIu64 " ops, %" PRIu64
           " steps checked (%" PRIu64 " more building the programs' domains) in %.2f s; %"
           PRIu64 " shrink runs\n", fo->seed, st.programs, st.ops, st.steps, st.setup_steps,
           st.seconds, st.shrink_runs);
    printf("fuzz --native: %.2f s of CPU: %.0f checked ops per CPU second, %.0f steps per "
           "CPU second\n", st.cpu_seconds, st.cpu_seconds > 0 ? st.ops / st.cpu_seconds : 0,
           st.cpu_seconds > 0 ? (st.steps + st.setup_steps) / st.cpu_seconds : 0);
    printf("fuzz --native: state checks: %" PRIu64 " reused unchanged, %" PRIu64
           " restricted to the change, %" PRIu64 " full (the last engine's)\n",
           st.chk_skipped, st.chk_restricted, st.chk_full);
    printf("fuzz --native: operation mix:");
    for (unsigned k = 0; k < NFZ_NKINDS; k++)
        printf(" %s=%" PRIu64, nfz_op_names[k], st.op_counts[k]);
    printf("\nfuzz --native: %" PRIu64 " findings%s%s\n", st.findings,
           st.findings ? ", reproducers in " : "", st.findings ? fo->out_dir : "");
    if (st.baseline)
        printf("fuzz --native: %" PRIu64 " more that fail without the mutants too "
               "(baseline-native-*.lua)\n", st.baseline);
    if (st.unreproduced)
        printf("fuzz --native: %" PRIu64 " failing programs without a reproducer that fails "
               "the same way (unreproduced-native-*.lua, or none)\n", st.unreproduced);
    return st.findings || st.baseline || st.unreproduced ? 1 : 0;
}

static int cmd_fuzz(int argc, char **argv)
{
    static const struct option opts[] = {
        { "seed", required_argument, 0, 's' }, { "ops", required_argument, 0, 'o' },
        { "time", required_argument, 0, 't' }, { "out", required_argument, 0, 'O' },
        { "db", required_argument, 0, 'd' }, { "no-db", no_argument, 0, 'n' },
        { "mutant", required_argument, 0, 'm' }, { "findings", required_argument, 0, 'f' },
        { "program-ops", required_argument, 0, 'p' }, { "quiet", no_argument, 0, 'q' },
        { "coverage", no_argument, 0, 'c' }, { "no-fork", no_argument, 0, 'F' },
        { "full-check-every", required_argument, 0, 'K' },
        { "native", no_argument, 0, 'N' },
        { "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 },
    };
    struct fuzz_opts fo = { .seed = 1, .out_dir = "fuzz-out" };
    bool native = false;
    const char *db = "pagesim.db";
    bool nodb = false;
    char mutants[256] = "";
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "hq", opts, NULL)) != -1) {
        char *end = NULL;
        errno = 0;
        switch (c) {
        case 's': fo.seed = strtoull(optarg, &end, 0); break;
        case 'o': fo.max_ops = strtoull(optarg, &end, 0); break;
        case 'f': fo.max_findings = strtoull(optarg, &end, 0); break;
        case 'p': fo.prog_ops = (unsigned)strtoul(optarg, &end, 0); break;
        case 't': fo.max_seconds = strtod(optarg, &end); break;
        case 'O': fo.out_dir = optarg; break;
        case 'd': db = optarg; break;
        case 'n': nodb = true; break;
        case 'q': fo.quiet = true; break;
        case 'c': fo.cov_out = stdout; break;
        case 'F': fo.no_fork = true; break;
        case 'K': fo.full_check_every = (unsigned)strtoul(optarg, &end, 0); break;
        case 'N': native = true; break;
        case 'm':
            if (switch_on_mutant("fuzz", optarg, mutants, sizeof mutants))
                return 2;
            break;
        case 'h': fputs(usage_fuzz, stdout); return 0;
        default: fputs(usage_fuzz, stderr); return 2;
        }
        if (end && (errno || *end || end == optarg)) {
            fprintf(stderr, "pagesim fuzz: '%s' is not a number\n", optarg);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "pagesim fuzz: unexpected argument '%s'\n%s", argv[optind], usage_fuzz);
        return 2;
    }
    if (fo.prog_ops > 100000) {
        fprintf(stderr, "pagesim fuzz: --program-ops at most 100000\n");
        return 2;
    }
    if (native && fo.cov_out) {
        fprintf(stderr, "pagesim fuzz: --coverage is not available with --native "
                        "(the native executor does not track transitions)\n");
        return 2;
    }
    if (native && fo.no_fork) {
        fprintf(stderr, "pagesim fuzz: --no-fork is not available with --native "
                        "(native programs always run in this process)\n");
        return 2;
    }
    if (!fo.max_ops && fo.max_seconds <= 0)
        fo.max_ops = native ? 200000 : 20000;
    fo.mutants = mutants[0] ? mutants : NULL;
    if (!nodb) {
        char err[512];
        if (!(fo.rec = rec_open(db, err, sizeof err))) {
            fprintf(stderr, "pagesim fuzz: %s\n", err);
            return 2;
        }
    }
    if (native)
        return fuzz_native_main(&fo);
    struct fuzz_stats st;
    int rc = fuzz_run(&fo, &st);
    if (fo.rec)
        rec_close(fo.rec);
    if (rc)
        return 2;
    printf("fuzz: seed %" PRIu64 ": %" PRIu64 " programs, %" PRIu64 " ops, %" PRIu64
           " steps checked in %.2f s (%.0f ops/s, %.0f steps/s); %" PRIu64 " shrink runs\n",
           fo.seed, st.programs, st.ops, st.steps, st.seconds,
           st.seconds > 0 ? st.ops / st.seconds : 0, st.seconds > 0 ? st.steps / st.seconds : 0,
           st.shrink_runs);
    /* CPU time, children included: on a shared machine the wall-clock rate
     * above measures the neighbours too. */
    printf("fuzz: %.2f s of CPU: %.0f checked ops per CPU second, %.0f steps per CPU second\n",
           st.cpu_seconds, st.cpu_seconds > 0 ? st.ops / st.cpu_seconds : 0,
           st.cpu_seconds > 0 ? st.steps / st.cpu_seconds : 0);
    printf("fuzz: operation mix:");
    for (unsigned k = 0; k < FUZZ_NKINDS; k++)
        printf(" %s=%" PRIu64, fuzz_op_names[k], st.op_counts[k]);
    printf("\nfuzz: weights after coverage feedback:");
    for (unsigned k = 0; k < FUZZ_NKINDS; k++)
        printf(" %s=%u", fuzz_op_names[k], st.weights[k]);
    printf("\nfuzz: %" PRIu64 " distinct transitions reached (%" PRIu64
           " programs found something new; %" PRIu64 " programs mutated from a corpus of %"
           PRIu64 ")%s\n", st.transitions, st.new_cov_programs, st.mutated, st.corpus,
           fo.cov_out ? " (listed above)" : "; --coverage lists them");
    printf("fuzz: transitions per kind: %s\n", st.cov_kinds);
    printf("fuzz: %" PRIu64 " findings%s%s\n", st.findings,
           st.findings ? ", reproducers in " : "", st.findings ? fo.out_dir : "");
    if (st.baseline)
        printf("fuzz: %" PRIu64 " more that fail without the mutants too (baseline-*.lua)\n",
               st.baseline);
    return st.findings || st.baseline ? 1 : 0;
}

/* ---- report ---------------------------------------------------------------------------- */

static const char usage_report[] =
    "usage: pagesim report [--db FILE] [-o DIR]\n"
    "\n"
    "Writes DIR/index.html (default DIR: report/): runs with status, duration\n"
    "and digest; divergences with expected and actual side by side; failed\n"
    "expects; fuzz findings with their reproducers; per-run plots (inline SVG,\n"
    "nothing fetched at view time).\n";

static int cmd_report(int argc, char **argv)
{
    static const struct option opts[] = {
        { "db", required_argument, 0, 'd' }, { "out", required_argument, 0, 'o' },
        { "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 },
    };
    const char *db = "pagesim.db", *out = "report";
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
        switch (c) {
        case 'd': db = optarg; break;
        case 'o': out = optarg; break;
        case 'h': fputs(usage_report, stdout); return 0;
        default: fputs(usage_report, stderr); return 2;
        }
    }
    char path[4096], err[1024];
    if (report_html(db, out, path, sizeof path, err, sizeof err)) {
        fprintf(stderr, "pagesim report: %s\n", err);
        return 2;
    }
    printf("report: %s\n", path);
    return 0;
}

/* ---- merge ----------------------------------------------------------------------------- */

static const char usage_merge[] =
    "usage: pagesim merge OUT.db IN.db...\n"
    "\n"
    "Appends every run of each IN database (with its steps, divergences and\n"
    "failures) to OUT, creating OUT if needed.  Run ids are renumbered; each\n"
    "IN is merged in one transaction and only read.  For suites split with\n"
    "'pagesim run --shard K/N' over several machines.\n";

static int cmd_merge(int argc, char **argv)
{
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        fputs(usage_merge, stdout);
        return 0;
    }
    if (argc < 3) {
        fputs(usage_merge, stderr);
        return 2;
    }
    struct stat out_st;
    bool out_exists = stat(argv[1], &out_st) == 0;
    for (int i = 2; i < argc; i++) {
        struct stat in_st;
        if (stat(argv[i], &in_st) != 0) {
            fprintf(stderr, "pagesim merge: %s: %s\n", argv[i], strerror(errno));
            return 2;
        }
        if (out_exists && in_st.st_dev == out_st.st_dev && in_st.st_ino == out_st.st_ino) {
            fprintf(stderr, "pagesim merge: %s is the output database\n", argv[i]);
            return 2;
        }
    }
    char err[512];
    struct recorder *rec = rec_open(argv[1], err, sizeof err);
    if (!rec) {
        fprintf(stderr, "pagesim merge: %s\n", err);
        return 2;
    }
    int rc = 0;
    int64_t total = 0;
    for (int i = 2; i < argc; i++) {
        int64_t n = rec_merge(rec, argv[i]);
        if (n < 0) {
            fprintf(stderr, "pagesim merge: %s\n", rec_errmsg(rec));
            rc = 1;
            continue;
        }
        printf("merged %" PRId64 " runs from %s\n", n, argv[i]);
        total += n;
    }
    rec_close(rec);
    printf("%" PRId64 " runs merged into %s\n", total, argv[1]);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage_main, stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        fputs(usage_main, stdout);
        return 0;
    }
    if (!strcmp(cmd, "--version")) {
        printf("pagesim %s\n", PAGESIM_VERSION);
        return 0;
    }
    if (!strcmp(cmd, "run"))
        return cmd_run(argc - 1, argv + 1);
    if (!strcmp(cmd, "show"))
        return cmd_show(argc - 1, argv + 1);
    if (!strcmp(cmd, "mutants"))
        return cmd_mutants();
    if (!strcmp(cmd, "report"))
        return cmd_report(argc - 1, argv + 1);
    if (!strcmp(cmd, "fuzz"))
        return cmd_fuzz(argc - 1, argv + 1);
    if (!strcmp(cmd, "merge"))
        return cmd_merge(argc - 1, argv + 1);
    if (!strcmp(cmd, "replay"))
        return hw_replay_main(argc - 1, argv + 1);
    fprintf(stderr, "pagesim: unknown command '%s'\n%s", cmd, usage_main);
    return 2;
}
