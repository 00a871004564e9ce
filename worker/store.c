/* The day writer (see store.h). */
#include "store.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "grades.h"
#include "log.h"

#define COPY_CHUNK (256 * 1024)

static const char count_sql[] =
    "SELECT count(*) FROM call_records WHERE stat_date = $1::date";

#define COPY_COLUMNS                                                           \
    "(stat_date, record_id, call_time, end_time, task_id, "                    \
    "task_name, user_id, device_id, device_name, cc_id, is_follow, "           \
    "company_id, duration, is_call, hangup_reason, grade, grade_class, "       \
    "province, city, audio, gen)"

/* A merged record replaces every column but the key. */
static const char merge_sql[] =
    "INSERT INTO call_records SELECT * FROM call_stage "
    "ON CONFLICT (stat_date, gen, record_id) DO UPDATE SET "
    "call_time = excluded.call_time, end_time = excluded.end_time, "
    "task_id = excluded.task_id, task_name = excluded.task_name, "
    "user_id = excluded.user_id, device_id = excluded.device_id, "
    "device_name = excluded.device_name, cc_id = excluded.cc_id, "
    "is_follow = excluded.is_follow, company_id = excluded.company_id, "
    "duration = excluded.duration, is_call = excluded.is_call, "
    "hangup_reason = excluded.hangup_reason, grade = excluded.grade, "
    "grade_class = excluded.grade_class, province = excluded.province, "
    "city = excluded.city, audio = excluded.audio";

static const char grades_sql[] =
    "INSERT INTO day_grades (stat_date, grade, grade_class, records) "
    "SELECT stat_date, coalesce(grade, ''), min(grade_class), count(*) "
    "FROM call_records WHERE stat_date = $1::date "
    "GROUP BY stat_date, coalesce(grade, '')";

/* The day's records counted by task (with the task's name) and by seat;
 * a record without the field counts under ''. */
static const char breakdown_sql[] =
    "INSERT INTO day_breakdown (stat_date, dimension, key, name, grade_9, "
    "grade_1, records) "
    "SELECT stat_date, 'task', coalesce(task_id, ''), max(task_name), "
    "count(*) FILTER (WHERE grade_class = 'grade_9'), "
    "count(*) FILTER (WHERE grade_class = 'grade_1'), count(*) "
    "FROM call_records WHERE stat_date = $1::date "
    "GROUP BY stat_date, coalesce(task_id, '') "
    "UNION ALL "
    "SELECT stat_date, 'seat', coalesce(user_id, ''), NULL, "
    "count(*) FILTER (WHERE grade_class = 'grade_9'), "
    "count(*) FILTER (WHERE grade_class = 'grade_1'), count(*) "
    "FROM call_records WHERE stat_date = $1::date "
    "GROUP BY stat_date, coalesce(user_id, '')";

/* The last statement of a day's transaction: the data's version goes up,
 * and listeners hear the new one once the day commits. Last, so that the
 * row's lock, which every day's writer takes, is held only for the
 * commit. */
static const char version_sql[] =
    "WITH bumped AS (UPDATE data_version SET version = version + 1, "
    "changed_at = clock_timestamp() WHERE id = 1 RETURNING version) "
    "SELECT pg_notify('callstats_data', version::text) FROM bumped";

static const char sync_sql[] =
    "INSERT INTO sync_state (stat_date, source, synced_at, records_written, "
    "upstream_total) VALUES ($1::date, $2, to_timestamp($5::bigint), "
    "$3::bigint, $4::bigint) "
    "ON CONFLICT (stat_date, source) DO UPDATE SET "
    "synced_at = excluded.synced_at, "
    "records_written = excluded.records_written, "
    "upstream_total = excluded.upstream_total";

static const char account_sql[] =
    "INSERT INTO account_stats (stat_date, username, calls_dialled, "
    "calls_answered, success_orders, intention_number, intention_number2, "
    "user_id) VALUES ($1::date, $2, $3::bigint, $4::bigint, $5::bigint, "
    "$6::bigint, $7::bigint, $8)";

static const char task_sql[] =
    "INSERT INTO task_stats (stat_date, task_id, calls_dialled, "
    "calls_answered, success_orders, intention_number, intention_number2, "
    "task_name) VALUES ($1::date, $2, $3::bigint, $4::bigint, $5::bigint, "
    "$6::bigint, $7::bigint, $8)";

static const char totals_sql[] =
    "INSERT INTO day_totals (stat_date, calls_dialled, calls_answered, "
    "success_orders) VALUES ($1::date, $2::bigint, $3::bigint, $4::bigint)";

bool store_copy_field(struct buf *out, const char *text)
{
    if (text == NULL)
        return buf_append(out, "\\N", 2);
    const char *run = text;
    for (const char *p = text; *p; p++) {
        const char *esc = NULL;
        switch (*p) {
        case '\\':
            esc = "\\\\";
            break;
        case '\t':
            esc = "\\t";
            break;
        case '\n':
            esc = "\\n";
            break;
        case '\r':
            esc = "\\r";
            break;
        default:
            continue;
        }
        if (!buf_append(out, run, (size_t)(p - run)) ||
            !buf_append(out, esc, 2))
            return false;
        run = p + 1;
    }
    return buf_puts(out, run);
}

/* Unix seconds as a timestamptz literal in UTC; NULL for 0. */
/* Writes the n last decimal digits of v at out (zero-padded). */
static void put_digits(char *out, int64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--, v /= 10)
        out[i] = (char)('0' + v % 10);
}

/* Unix seconds as a timestamptz literal in UTC; NULL for 0. Written by
 * hand: it is done twice for each of a million records. */
static const char *time_text(int64_t t, char *buf, size_t len)
{
    if (t == 0 || len < 23)
        return NULL;
    time_t tt = (time_t)t;
    struct tm tm;
    if (gmtime_r(&tt, &tm) == NULL || tm.tm_year + 1900 > 9999 ||
        tm.tm_year + 1900 < 0)
        return NULL;
    memcpy(buf, "0000-00-00 00:00:00+00", 23);
    put_digits(buf, tm.tm_year + 1900, 4);
    put_digits(buf + 5, tm.tm_mon + 1, 2);
    put_digits(buf + 8, tm.tm_mday, 2);
    put_digits(buf + 11, tm.tm_hour, 2);
    put_digits(buf + 14, tm.tm_min, 2);
    put_digits(buf + 17, tm.tm_sec, 2);
    return buf;
}

static const char *int_text(int64_t v, bool present, char *buf, size_t len)
{
    if (!present || len < 21)
        return NULL;
    if (v < 0 || v > 999999999999999999LL) {
        snprintf(buf, len, "%" PRId64, v);
        return buf;
    }
    char digits[20];
    int n = 0;
    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v > 0);
    for (int i = 0; i < n; i++)
        buf[i] = digits[n - 1 - i];
    buf[n] = '\0';
    return buf;
}

bool store_copy_record(struct buf *out, const struct cs_config *cfg,
                       const char *stat_date, const struct rec_record *rec)
{
    char call[40], end[40], follow[24], duration[24], is_call[24];
    const char *grade = rec_text(rec, REC_GRADE);
    enum cs_grade_class cls =
        cs_grade_classify(&cfg->grade_9, &cfg->grade_1, grade);
    const char *fields[] = {
        stat_date,
        rec_text(rec, REC_ID),
        time_text(rec->call_time, call, sizeof(call)),
        time_text(rec->end_time, end, sizeof(end)),
        rec_text(rec, REC_TASK_ID),
        rec_text(rec, REC_TASK_NAME),
        rec_text(rec, REC_USER_ID),
        rec_text(rec, REC_DEVICE_ID),
        rec_text(rec, REC_DEVICE_NAME),
        rec_text(rec, REC_CC_ID),
        int_text(rec->is_follow, rec->has_is_follow, follow, sizeof(follow)),
        rec_text(rec, REC_COMPANY_ID),
        int_text(rec->duration, true, duration, sizeof(duration)),
        int_text(rec->is_call, rec->has_is_call, is_call, sizeof(is_call)),
        rec_text(rec, REC_HANGUP_REASON),
        grade,
        cs_grade_class_name(cls),
        rec_text(rec, REC_PROVINCE),
        rec_text(rec, REC_CITY),
        rec_text(rec, REC_AUDIO),
    };
    size_t n = sizeof(fields) / sizeof(fields[0]);
    for (size_t i = 0; i < n; i++) {
        if (!store_copy_field(out, fields[i]) ||
            !buf_append(out, i + 1 < n ? "\t" : "\n", 1))
            return false;
    }
    return true;
}

static bool db_failed(PGconn *conn, const char *what, struct werr *err)
{
    const char *msg = PQerrorMessage(conn);
    char line[256];
    return werr_set(err, "database statement failed what=%s error=\"%s\"", what,
                    cs_log_value(msg, line, sizeof(line)));
}

static bool run(PGconn *conn, const char *what, const char *sql, int nparams,
                const char *const *params, struct werr *err)
{
    PGresult *res =
        PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(res);
    bool ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (!ok)
        db_failed(conn, what, err);
    PQclear(res);
    return ok;
}

static void rollback(PGconn *conn)
{
    PGresult *res = PQexec(conn, "ROLLBACK");
    PQclear(res);
}

static bool flush_copy(PGconn *conn, struct buf *chunk, struct werr *err)
{
    if (chunk->len > 0 &&
        PQputCopyData(conn, chunk->data, (int)chunk->len) != 1)
        return db_failed(conn, "copy call_records", err);
    buf_reset(chunk);
    return true;
}

/* Ends the COPY: end marker sent, then its result read to the end. */
static bool end_copy(PGconn *conn, bool ok, struct werr *err)
{
    if (PQputCopyEnd(conn, ok ? NULL : "abandoned") != 1 && ok)
        ok = db_failed(conn, "copy call_records end", err);
    PGresult *res;
    while ((res = PQgetResult(conn)) != NULL) {
        if (ok && PQresultStatus(res) != PGRES_COMMAND_OK)
            ok = db_failed(conn, "copy call_records", err);
        PQclear(res);
    }
    return ok;
}

bool store_stage_table(PGconn *conn, struct werr *err)
{
    return run(conn, "create call_stage",
               "CREATE TEMP TABLE call_stage (LIKE call_records)", 0, NULL,
               err);
}

/* A query's one integer. */
static bool query_count(PGconn *conn, const char *what, const char *sql,
                        const char *date, int64_t *count, struct werr *err)
{
    const char *p[] = {date};
    PGresult *res = PQexecParams(conn, sql, 1, NULL, p, NULL, NULL, 0);
    bool ok = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1;
    if (ok)
        *count = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    else
        db_failed(conn, what, err);
    PQclear(res);
    return ok;
}

/* Bumps data_version and queues its NOTIFY (see version_sql). */
static bool bump_version(PGconn *conn, struct werr *err)
{
    PGresult *res =
        PQexecParams(conn, version_sql, 0, NULL, NULL, NULL, NULL, 0);
    bool ok = PQresultStatus(res) == PGRES_TUPLES_OK;
    if (!ok)
        db_failed(conn, "bump data_version", err);
    else if (PQntuples(res) != 1)
        ok = werr_set(err, "database table data_version lacks its row "
                           "(id 1): run `callstats-worker migrate`");
    PQclear(res);
    return ok;
}

/* Rebuilds the day's counts of its records: day_grades by grade label,
 * day_breakdown by task and by seat, from the same rows. */
static bool rebuild_day_counts(PGconn *conn, const char *date, struct werr *err)
{
    const char *p[] = {date};
    return run(conn, "delete day_grades",
               "DELETE FROM day_grades WHERE stat_date = $1::date", 1, p,
               err) &&
           run(conn, "insert day_grades", grades_sql, 1, p, err) &&
           run(conn, "delete day_breakdown",
               "DELETE FROM day_breakdown WHERE stat_date = $1::date", 1, p,
               err) &&
           run(conn, "insert day_breakdown", breakdown_sql, 1, p, err);
}

static bool set_sync_state(PGconn *conn, const char *date, const char *source,
                           int64_t written, int64_t total, time_t synced_at,
                           struct werr *err)
{
    char w[24], t[24], at[24];
    snprintf(w, sizeof(w), "%" PRId64, written);
    snprintf(t, sizeof(t), "%" PRId64, total);
    snprintf(at, sizeof(at), "%lld", (long long)synced_at);
    const char *params[] = {date, source, w, t, at};
    return run(conn, "upsert sync_state", sync_sql, 5, params, err);
}

/*
 * Opens the day's transaction and waits for any other worker writing the
 * same day and source: the second one then replaces the first one's day
 * instead of failing on its rows.
 */
static bool begin_day(PGconn *conn, const char *date, const char *source,
                      struct werr *err)
{
    const char *p[] = {date, source};
    return run(conn, "begin day", "BEGIN", 0, NULL, err) &&
           run(conn, "lock day",
               "SELECT pg_advisory_xact_lock(hashtext('callstats ' || $2),"
               " $1::date - date '2000-01-01')",
               2, p, err);
}

/* The generation the day's new rows take: a replacement writes the one
 * the day does not hold, a merge the one it holds. */
static bool day_generation(PGconn *conn, const char *date, bool merge, int *gen,
                           struct werr *err)
{
    int64_t held = -1;
    if (!query_count(conn, "day's generation",
                     "SELECT coalesce(max(gen), -1) FROM call_records "
                     "WHERE stat_date = $1::date",
                     date, &held, err))
        return false;
    *gen = merge ? (held < 0 ? 0 : (int)held) : (held == 0 ? 1 : 0);
    return true;
}

bool store_calls_begin(PGconn *conn, cs_day day, bool merge, int *gen,
                       struct werr *err)
{
    char date[CS_DATE_LEN];
    cs_date_format(day, date);
    bool ok = begin_day(conn, date, "calls", err) &&
              day_generation(conn, date, merge, gen, err) &&
              (!merge || run(conn, "empty call_stage", "TRUNCATE call_stage", 0,
                             NULL, err));
    if (ok) {
        PGresult *res = PQexec(
            conn, merge ? "COPY call_stage " COPY_COLUMNS " FROM STDIN"
                        : "COPY call_records " COPY_COLUMNS " FROM STDIN");
        ok = PQresultStatus(res) == PGRES_COPY_IN ||
             db_failed(conn, "copy call_records", err);
        PQclear(res);
    }
    if (!ok)
        rollback(conn);
    return ok;
}

bool store_calls_put(PGconn *conn, const struct cs_config *cfg,
                     const char *date, int gen, const struct rec_list *records,
                     struct werr *err)
{
    struct buf chunk = {0};
    char tail[8];
    int tail_len = snprintf(tail, sizeof(tail), "\t%d\n", gen);
    bool ok = true;
    for (size_t i = 0; ok && i < records->count; i++) {
        if (!store_copy_record(&chunk, cfg, date, &records->items[i])) {
            ok = werr_set(err, "out of memory at record %zu", i);
            break;
        }
        chunk.len--; /* the line goes on with the generation */
        if (!buf_append(&chunk, tail, (size_t)tail_len))
            ok = werr_set(err, "out of memory at record %zu", i);
        else if (chunk.len >= COPY_CHUNK)
            ok = flush_copy(conn, &chunk, err);
    }
    if (ok)
        ok = flush_copy(conn, &chunk, err);
    buf_free(&chunk);
    return ok;
}

void store_calls_abandon(PGconn *conn)
{
    struct werr ignored = {{0}};
    if (PQtransactionStatus(conn) == PQTRANS_ACTIVE)
        (void)end_copy(conn, false, &ignored);
    rollback(conn);
}

bool store_calls_commit(PGconn *conn, cs_day day, bool merge, int gen,
                        int64_t upstream_total, time_t synced_at,
                        int64_t *written, struct werr *err)
{
    char date[CS_DATE_LEN], g[8];
    cs_date_format(day, date);
    snprintf(g, sizeof(g), "%d", gen);
    const char *old[] = {date, g};
    bool ok =
        end_copy(conn, true, err) &&
        (merge ? run(conn, "merge call_records", merge_sql, 0, NULL, err)
               : run(conn, "delete old call_records",
                     "DELETE FROM call_records WHERE stat_date = $1::date "
                     "AND gen <> $2::smallint",
                     2, old, err)) &&
        rebuild_day_counts(conn, date, err) &&
        query_count(conn, "count call_records", count_sql, date, written,
                    err) &&
        set_sync_state(conn, date, "calls", *written,
                       merge ? *written : upstream_total, synced_at, err) &&
        (!merge ||
         run(conn, "empty call_stage", "TRUNCATE call_stage", 0, NULL, err)) &&
        bump_version(conn, err) &&
        run(conn, "commit calls day", "COMMIT", 0, NULL, err);
    if (!ok)
        rollback(conn);
    return ok;
}

bool store_calls_day(PGconn *conn, const struct cs_config *cfg, cs_day day,
                     const struct rec_list *records, int64_t upstream_total,
                     time_t synced_at, struct werr *err)
{
    char date[CS_DATE_LEN];
    int64_t written;
    int gen;
    cs_date_format(day, date);
    if (!store_calls_begin(conn, day, false, &gen, err))
        return false;
    if (!store_calls_put(conn, cfg, date, gen, records, err)) {
        store_calls_abandon(conn);
        return false;
    }
    return store_calls_commit(conn, day, false, gen, upstream_total, synced_at,
                              &written, err);
}

/* One row of account_stats or (by_task) task_stats, with its name. */
static bool insert_row(PGconn *conn, const char *what, const char *sql,
                       const char *date, const struct stats_row *row,
                       bool by_task, struct werr *err)
{
    char v[5][24];
    const int64_t counts[] = {row->calls_dialled, row->calls_answered,
                              row->success_orders, row->intention_number,
                              row->intention_number2};
    for (int i = 0; i < 5; i++)
        snprintf(v[i], sizeof(v[i]), "%" PRId64, counts[i]);
    const char *params[] = {
        date, row->key, v[0], v[1],
        v[2], v[3],     v[4], by_task ? row->task_name : row->user_id};
    return run(conn, what, sql, 8, params, err);
}

static bool insert_table(PGconn *conn, const char *what, const char *sql,
                         const char *date, const struct stats_table *t,
                         bool by_task, struct werr *err)
{
    for (size_t i = 0; i < t->count; i++)
        if (!insert_row(conn, what, sql, date, &t->rows[i], by_task, err))
            return false;
    return true;
}

static bool insert_totals(PGconn *conn, const char *date,
                          const struct stats_row *total, struct werr *err)
{
    char v[3][24];
    snprintf(v[0], sizeof(v[0]), "%" PRId64, total->calls_dialled);
    snprintf(v[1], sizeof(v[1]), "%" PRId64, total->calls_answered);
    snprintf(v[2], sizeof(v[2]), "%" PRId64, total->success_orders);
    const char *params[] = {date, v[0], v[1], v[2]};
    return run(conn, "insert day_totals", totals_sql, 4, params, err);
}

bool store_stats_day(PGconn *conn, cs_day day,
                     const struct stats_table *accounts,
                     const struct stats_table *tasks, time_t synced_at,
                     struct werr *err)
{
    char date[CS_DATE_LEN];
    cs_date_format(day, date);
    const char *p[] = {date};
    int64_t rows = (int64_t)(accounts->count + tasks->count);
    if (!begin_day(conn, date, "stats", err))
        goto fail;
    if (!run(conn, "delete account_stats",
             "DELETE FROM account_stats WHERE stat_date = $1::date", 1, p,
             err) ||
        !run(conn, "delete day_totals",
             "DELETE FROM day_totals WHERE stat_date = $1::date", 1, p, err) ||
        !run(conn, "delete task_stats",
             "DELETE FROM task_stats WHERE stat_date = $1::date", 1, p, err) ||
        !insert_table(conn, "insert account_stats", account_sql, date, accounts,
                      false, err) ||
        !insert_table(conn, "insert task_stats", task_sql, date, tasks, true,
                      err) ||
        !insert_totals(conn, date, &accounts->total, err) ||
        !set_sync_state(conn, date, "stats", rows, rows, synced_at, err) ||
        !bump_version(conn, err) ||
        !run(conn, "commit stats day", "COMMIT", 0, NULL, err))
        goto fail;
    return true;
fail:
    rollback(conn);
    return false;
}
