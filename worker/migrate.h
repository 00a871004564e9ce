/*
 * The schema's migrations: the sql/NNN_*.sql files compiled into the
 * binary, applied in order, each in its own transaction with its version.
 */
#ifndef WK_MIGRATE_H
#define WK_MIGRATE_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdio.h>

#include "werr.h"

/* Applies every migration not yet recorded in schema_migrations, under an
 * advisory lock, printing a line per migration applied (or one saying the
 * schema is current) to out. Stops at the first failure. */
__attribute__((warn_unused_result)) bool migrate_apply(PGconn *conn, FILE *out,
                                                       struct werr *err);

/*
 * Makes role (NULL: nothing to do) the API's login role: created when
 * missing, a member of callstats_reader, every transaction read-only by
 * default, and, when password is not NULL, that password (sent hashed,
 * never logged). Changes only what is not so already, so that a migrating
 * role without CREATEROLE can run it again over a role made before.
 * Refuses a superuser or the migrating role itself. Prints one line to
 * out; a missing privilege fails with one line that says what to do.
 */
__attribute__((warn_unused_result)) bool
migrate_api_role(PGconn *conn, const char *role, const char *password,
                 FILE *out, struct werr *err);

/* True when every compiled-in migration has been applied; otherwise the
 * report says to run `callstats-worker migrate`. */
__attribute__((warn_unused_result)) bool migrate_check(PGconn *conn,
                                                       struct werr *err);

#endif
