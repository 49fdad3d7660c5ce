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

#endif /* PAGESIM_REPORTS_SCHEMA_H */
