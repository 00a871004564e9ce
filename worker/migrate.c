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

/* What the API's role is now; exists false when there is none. */
struct role_state {
    bool exists, refused, login, reader, read_only;
};

static bool read_role(PGconn *conn, const char *role, struct role_state *st,
                      struct werr *err)
{
    const char *p[] = {role};
    PGresult *res = PQexecParams(
        conn,
        "SELECT r.rolsuper OR r.rolname = current_user, r.rolcanlogin, "
        "EXISTS (SELECT 1 FROM pg_auth_members m JOIN pg_roles g ON "
        "g.oid = m.roleid WHERE m.member = r.oid AND "
        "g.rolname = 'callstats_reader'), "
        "coalesce('default_transaction_read_only=on' = ANY (r.rolconfig), "
        "false) FROM pg_roles r WHERE r.rolname = $1",
        1, NULL, p, NULL, NULL, 0);
    bool ok = PQresultStatus(res) == PGRES_TUPLES_OK;
    if (!ok) {
        PQclear(res);
        return failed(conn, "read api role", err);
    }
    memset(st, 0, sizeof(*st));
    st->exists = PQntuples(res) == 1;
    if (st->exists) {
        st->refused = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
        st->login = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
        st->reader = strcmp(PQgetvalue(res, 0, 2), "t") == 0;
        st->read_only = strcmp(PQgetvalue(res, 0, 3), "t") == 0;
    }
    PQclear(res);
    return true;
}

/* Runs one statement on the role; a missing privilege is reported as
 * what the operator can do about it. */
static bool role_exec(PGconn *conn, const char *role, const char *what,
                      const char *sql, struct werr *err)
{
    PGresult *res = PQexec(conn, sql);
    bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    if (!ok && state != NULL && strcmp(state, "42501") == 0) {
        const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
        char line[256];
        werr_set(err,
                 "cannot make the API's role \"%s\": the migrating role "
                 "lacks the privilege (%s); set CALLSTATS_API_ROLE empty to "
                 "skip this step, or run migrate as a role with CREATEROLE",
                 role, cs_log_value(msg ? msg : "", line, sizeof(line)));
    } else if (!ok) {
        failed(conn, what, err);
    }
    PQclear(res);
    return ok;
}

/* The role's password as ALTER ROLE takes it: hashed here, so that the
 * clear text never reaches a statement or a log. NULL after reporting. */
static char *password_sql(PGconn *conn, const char *ident, const char *role,
                          const char *password, struct werr *err)
{
    char *hashed = PQencryptPasswordConn(conn, password, role, NULL);
    if (hashed == NULL) {
        failed(conn, "hash api role password", err);
        return NULL;
    }
    char *literal = PQescapeLiteral(conn, hashed, strlen(hashed));
    PQfreemem(hashed);
    if (literal == NULL) {
        failed(conn, "quote api role password", err);
        return NULL;
    }
    size_t len = strlen(ident) + strlen(literal) + 32;
    char *sql = malloc(len);
    if (sql != NULL)
        snprintf(sql, len, "ALTER ROLE %s PASSWORD %s", ident, literal);
    else
        werr_set(err, "out of memory setting the API role's password");
    PQfreemem(literal);
    return sql;
}

/* The statements that bring the role to what st lacks, in one
 * transaction; *changes counts them. */
static bool fix_role(PGconn *conn, const char *role, const char *ident,
                     const struct role_state *st, const char *password,
                     int *changes, struct werr *err)
{
    char sql[256];
    *changes = 0;
    if (!exec(conn, "begin api role", "BEGIN", err))
        return false;
    bool ok = true;
    if (!st->exists) {
        snprintf(sql, sizeof(sql),
                 "CREATE ROLE %s LOGIN IN ROLE callstats_reader", ident);
        ok = role_exec(conn, role, "create api role", sql, err);
        *changes += ok;
    }
    if (ok && st->exists && !st->login) {
        snprintf(sql, sizeof(sql), "ALTER ROLE %s LOGIN", ident);
        ok = role_exec(conn, role, "api role login", sql, err);
        *changes += ok;
    }
    if (ok && st->exists && !st->reader) {
        snprintf(sql, sizeof(sql), "GRANT callstats_reader TO %s", ident);
        ok = role_exec(conn, role, "grant callstats_reader", sql, err);
        *changes += ok;
    }
    if (ok && !st->read_only) {
        snprintf(sql, sizeof(sql),
                 "ALTER ROLE %s SET default_transaction_read_only = on", ident);
        ok = role_exec(conn, role, "api role read-only", sql, err);
        *changes += ok;
    }
    if (ok && password != NULL) {
        char *set = password_sql(conn, ident, role, password, err);
        ok =
            set != NULL && role_exec(conn, role, "api role password", set, err);
        *changes += ok;
        free(set);
    }
    if (ok && exec(conn, "commit api role", "COMMIT", err))
        return true;
    PQclear(PQexec(conn, "ROLLBACK"));
    return false;
}

bool migrate_api_role(PGconn *conn, const char *role, const char *password,
                      FILE *out, struct werr *err)
{
    struct role_state st = {0};
    if (role == NULL) {
        fprintf(out, "api role skipped (CALLSTATS_API_ROLE is empty)\n");
        return true;
    }
    if (!read_role(conn, role, &st, err))
        return false;
    if (st.refused)
        return werr_set(err,
                        "CALLSTATS_API_ROLE names \"%s\", a superuser or the "
                        "role migrate runs as: the API's role must only "
                        "read; name another role, or set it empty",
                        role);
    char *ident = PQescapeIdentifier(conn, role, strlen(role));
    if (ident == NULL)
        return failed(conn, "quote api role", err);
    int changes = 0;
    bool ok = fix_role(conn, role, ident, &st, password, &changes, err);
    PQfreemem(ident);
    if (!ok)
        return false;
    if (changes > 0) {
        char name[160];
        cs_info("api role %s name=\"%s\" password=%s",
                st.exists ? "updated" : "created",
                cs_log_value(role, name, sizeof(name)),
                password != NULL ? "set" : "unchanged");
    }
    fprintf(out, "api role %s %s\n", role,
            changes == 0 ? "is current"
            : st.exists  ? "updated"
                         : "created");
    return true;
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
