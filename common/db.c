/* Connection set-up and a checked statement runner over libpq. */
#include "db.h"

#include <string.h>

#include "config.h"
#include "log.h"

/* The server's notices (a ROLLBACK outside a transaction, say) go to the
 * log at debug level rather than raw onto standard error. */
static void on_notice(void *arg, const char *message)
{
    char line[256];
    (void)arg;
    cs_debug("database notice message=\"%s\"",
             cs_log_value(message, line, sizeof(line)));
}

PGconn *cs_db_connect(const char *conninfo, const char *application_name,
                      bool read_only)
{
    /* Settings are made after connecting, so that options of the
     * connection string (a search_path, say) are kept. */
    const char *keys[] = {"dbname", "application_name", "connect_timeout",
                          NULL};
    const char *values[] = {conninfo, application_name, "10", NULL};
    PGconn *conn = PQconnectdbParams(keys, values, 1);
    if (conn == NULL || PQstatus(conn) != CONNECTION_OK) {
        char host[256];
        cs_conninfo_host(conninfo, host, sizeof(host));
        const char *msg = conn ? PQerrorMessage(conn) : "out of memory";
        char line[256];
        cs_error("database connection failed db=%s error=\"%s\"", host,
                 cs_log_value(msg, line, sizeof(line)));
        PQfinish(conn);
        return NULL;
    }
    PQsetNoticeProcessor(conn, on_notice, NULL);
    if (!cs_db_exec(conn, "set TimeZone", "SET TimeZone = 'UTC'") ||
        (read_only && !cs_db_exec(conn, "set default_transaction_read_only",
                                  "SET default_transaction_read_only = on"))) {
        PQfinish(conn);
        return NULL;
    }
    return conn;
}

bool cs_db_exec(PGconn *conn, const char *what, const char *sql)
{
    PGresult *res = PQexec(conn, sql);
    bool ok = PQresultStatus(res) == PGRES_COMMAND_OK ||
              PQresultStatus(res) == PGRES_TUPLES_OK;
    if (!ok) {
        const char *msg = PQerrorMessage(conn);
        char line[256];
        cs_error("statement failed what=%s error=\"%s\"", what,
                 cs_log_value(msg, line, sizeof(line)));
    }
    PQclear(res);
    return ok;
}
