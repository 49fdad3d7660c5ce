/* SPDX-License-Identifier: MIT */
/*
 * reports/report.h - the self-contained HTML report (reports/report.c).
 */
#ifndef PAGESIM_REPORT_H
#define PAGESIM_REPORT_H

#include <stddef.h>

/* Writes outdir/index.html from the database at dbpath (opened read-only).
 * 0 on success with the page's path in out_path; -1 with err naming the
 * file and the reason. */
int report_html(const char *dbpath, const char *outdir, char *out_path, size_t out_len,
                char *err, size_t errlen);

#endif /* PAGESIM_REPORT_H */
