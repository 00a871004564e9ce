/* Opening PostgreSQL connections the same way in every program. */
#ifndef CS_DB_H
#define CS_DB_H

#include <libpq-fe.h>
#include <stdbool.h>

/*
 * Connects with conninfo, naming the session application_name, with
 * timestamps in UTC and, when read_only, every transaction read-only.
 * Returns NULL after logging libpq's message (never the password).
 */
PGconn *cs_db_connect(const char *conninfo, const char *application_name,
                      bool read_only);

/*
 * Runs a statement without parameters that returns no rows; what names it
 * in the log on failure. Returns false after logging the error.
 */
__attribute__((warn_unused_result)) bool
cs_db_exec(PGconn *conn, const char *what, const char *sql);

#endif
