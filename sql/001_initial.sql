-- The first schema: per business day, what the worker pulled from the
-- upstream, and per day and source the state of the last complete sync.
-- The worker replaces a day of a source in one transaction.

-- Statistics by account (query_type 1), one row per account and day.
-- Rows the upstream names 总计 (total) or 平均 (average) are not stored.
CREATE TABLE account_stats (
    stat_date         date   NOT NULL,
    username          text   NOT NULL,
    calls_dialled     bigint NOT NULL,
    calls_answered    bigint NOT NULL,
    success_orders    bigint NOT NULL,
    intention_number  bigint NOT NULL,
    intention_number2 bigint NOT NULL,
    PRIMARY KEY (stat_date, username)
);

-- The day's totals row (data.total of query_type 1).
CREATE TABLE day_totals (
    stat_date      date   PRIMARY KEY,
    calls_dialled  bigint NOT NULL,
    calls_answered bigint NOT NULL,
    success_orders bigint NOT NULL
);

-- Statistics by dialling task (query_type 20).
CREATE TABLE task_stats (
    stat_date         date   NOT NULL,
    task_id           text   NOT NULL,
    calls_dialled     bigint NOT NULL,
    calls_answered    bigint NOT NULL,
    success_orders    bigint NOT NULL,
    intention_number  bigint NOT NULL,
    intention_number2 bigint NOT NULL,
    PRIMARY KEY (stat_date, task_id)
);

-- Call records. The customer's numbers (phone, realPhone) and the free-text
-- fields (params, remark, ext) are never stored.
CREATE TABLE call_records (
    stat_date     date        NOT NULL,
    record_id     text        NOT NULL,
    call_time     timestamptz,
    end_time      timestamptz,
    task_id       text,
    task_name     text,
    user_id       text,
    device_id     text,
    device_name   text,
    cc_id         text,
    is_follow     integer,
    company_id    text,
    duration      integer     NOT NULL,
    is_call       integer,
    hangup_reason text,
    grade         text,
    grade_class   text        NOT NULL
        CHECK (grade_class IN ('grade_9', 'grade_1', 'other')),
    province      text,
    city          text,
    audio         text,
    PRIMARY KEY (stat_date, record_id)
);

-- The day's records counted by grade label ('' for no grade) and class.
CREATE TABLE day_grades (
    stat_date   date   NOT NULL,
    grade       text   NOT NULL,
    grade_class text   NOT NULL
        CHECK (grade_class IN ('grade_9', 'grade_1', 'other')),
    records     bigint NOT NULL,
    PRIMARY KEY (stat_date, grade)
);

-- One row per day and source once that day has been synced completely.
CREATE TABLE sync_state (
    stat_date       date        NOT NULL,
    source          text        NOT NULL CHECK (source IN ('stats', 'calls')),
    synced_at       timestamptz NOT NULL,
    records_written bigint      NOT NULL,
    upstream_total  bigint      NOT NULL,
    PRIMARY KEY (stat_date, source)
);

-- The API's role: it reads, never writes. A login role for the API is
-- made a member of it (see docs/operations.md).
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'callstats_reader')
    THEN
        CREATE ROLE callstats_reader NOLOGIN;
    END IF;
END
$$;
GRANT USAGE ON SCHEMA public TO callstats_reader;
GRANT SELECT ON account_stats, day_totals, task_stats, call_records,
    day_grades, sync_state TO callstats_reader;
