/* SPDX-License-Identifier: MIT */
/*
 * reports/schema.h - private to the recorder: the embedded schema text
 * (reports/schema.c, identical to reports/schema.sql).
 */
#ifndef PAGESIM_REPORTS_SCHEMA_H
#define PAGESIM_REPORTS_SCHEMA_H

/* Schema version RECORDER_SCHEMA_VERSION: DDL plus the application_id and
 * user_version PRAGMAs, ready for sqlite3_exec() inside one transaction. */
extern const char rec_schema_sql[];
extern const char rec_upgrade_v1_v2_sql[];
extern const char rec_upgrade_v2_v3_sql[];
extern const char rec_upgrade_v2_v3_samples_sql[];
extern const char rec_upgrade_v3_v4_sql[];

/* One in-place upgrade step: DDL for a file at user_version >= from (and
 * below RECORDER_SCHEMA_VERSION).  The steps set no user_version: the
 * recorder sets it once all of them ran. */
struct rec_upgrade_step {
    int from;
    const char *sql;
};
extern const struct rec_upgrade_step rec_upgrades[];
extern const unsigned rec_nupgrades;

#endif /* PAGESIM_REPORTS_SCHEMA_H */
