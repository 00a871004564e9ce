/* Schema migrations (see migrate.h). */
#include "migrate.h"

#include <stdlib.h>
#include <string.h>

#include "embedded.h"
#include "log.h"

/* "callstat" in ASCII: the advisory lock every migrating worker takes. */
#define MIGRATE_LOCK_KEY "7161124095545074036"

static const char create_sql[] =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    "version int PRIMARY KEY, name text NOT NULL, "
    "applied_at timestamptz NOT NULL DEFAULT now())";

static bool failed(PGconn *conn, const char *what, struct werr *err)
{
    const char *msg = PQerrorMessage(conn);
    char line[256];
    return werr_set(err, "database statement failed what=%s error=\"%s\"", what,
                    cs_log_value(msg, line, sizeof(line)));
}

static bool exec(PGconn *conn, const char *what, const char *sql,
                 struct werr *err)
{
    PGresult *res = PQexec(conn, sql);
    ExecStatusType st = PQresultStatus(res);
    bool ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (!ok)
        failed(conn, what, err);
    PQclear(res);
    return ok;
}

static bool is_applied(PGresult *applied, int version)
{
    for (int i = 0; i < PQntuples(applied); i++)
        if (atoi(PQgetvalue(applied, i, 0)) == version)
            return true;
    return false;
}

static bool apply_one(PGconn *conn, const struct cs_embedded *m,
                      struct werr *err)
{
    char version[16];
    snprintf(version, sizeof(version), "%d", m->version);
    const char *params[] = {version, m->name};
    if (!exec(conn, "begin migration", "BEGIN", err))
        return false;
    if (!exec(conn, m->name, m->text, err))
        goto fail;
    PGresult *res = PQexecParams(
        conn,
        "INSERT INTO schema_migrations (version, name) VALUES ($1::int, $2)", 2,
        NULL, params, NULL, NULL, 0);
    bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    if (!ok) {
        failed(conn, "record migration", err);
        goto fail;
    }
    if (!exec(conn, "commit migration", "COMMIT", err))
        goto fail;
    cs_info("migration applied version=%d name=%s", m->version, m->name);
    return true;
fail:
    PQclear(PQexec(conn, "ROLLBACK"));
    return false;
}

static bool apply_missing(PGconn *conn, FILE *out, struct werr *err)
{
    PGresult *applied = PQexec(conn, "SELECT version FROM schema_migrations");
    if (PQresultStatus(applied) != PGRES_TUPLES_OK) {
        PQclear(applied);
        return failed(conn, "select schema_migrations", err);
    }
    int count = 0, latest = 0;
    bool ok = true;
    for (const struct cs_embedded *m = cs_migrations; ok && m->name; m++) {
        latest = m->version;
        if (is_applied(applied, m->version))
            continue;
        ok = apply_one(conn, m, err);
        if (ok) {
            fprintf(out, "applied %s\n", m->name);
            count++;
        }
    }
    PQclear(applied);
    if (ok && count == 0)
        fprintf(out, "schema is current version=%d\n", latest);
    return ok;
}

/* The server's notices ("already exists, skipping") go to the debug log. */
static void on_notice(void *arg, const char *message)
{
    (void)arg;
    cs_debug("database notice: %.*s", (int)strcspn(message, "\n"), message);
}

bool migrate_apply(PGconn *conn, FILE *out, struct werr *err)
{
    PQsetNoticeProcessor(conn, on_notice, NULL);
    if (!exec(conn, "advisory lock",
              "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")", err))
        return false;
    bool ok = exec(conn, "create schema_migrations", create_sql, err) &&
              apply_missing(conn, out, err);
    if (!exec(conn, "advisory unlock",
              "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")", err))
        ok = false;
    return ok;
}

bool migrate_check(PGconn *conn, struct werr *err)
{
    int latest = 0;
    for (const struct cs_embedded *m = cs_migrations; m->name; m++)
        latest = m->version;
    PGresult *res = PQexec(conn, "SELECT coalesce(max(version), 0) "
                                 "FROM schema_migrations");
    bool ok = PQresultStatus(res) == PGRES_TUPLES_OK;
    int current = ok ? atoi(PQgetvalue(res, 0, 0)) : 0;
    PQclear(res);
    if (!ok) {
        const char *msg = PQerrorMessage(conn);
        char line[256];
        return werr_set(err,
                        "database schema unreadable (run "
                        "`callstats-worker migrate`) error=\"%s\"",
                        cs_log_value(msg, line, sizeof(line)));
    }
    if (current < latest)
        return werr_set(err,
                        "database schema is not current (version %d, "
                        "this worker needs %d): run "
                        "`callstats-worker migrate`",
                        current, latest);
    return true;
}
