-- What the reworked API reads besides the day tables: the names it shows
-- beside the ids, the day's records counted by task and by seat, a version
-- of the data that goes up with every day written, and the job table in
-- force. The API no longer reads call_records.

-- The account's platform id (the row's user_id, query_type 1), which call
-- records name as userId. NULL on days synced before this migration.
ALTER TABLE account_stats ADD COLUMN user_id text;

-- The task's name as the statistics give it (the row's username,
-- query_type 20); NULL when the row has none.
ALTER TABLE task_stats ADD COLUMN task_name text;

-- The day's call records counted by task (key: task_id, name: the task's
-- name in the records) and by seat (key: the records' user_id, no name);
-- a record without the field counts under key ''. Rebuilt with day_grades
-- in the transaction that writes or merges the day's records, so that
-- each dimension adds up to the day's day_grades.
CREATE TABLE day_breakdown (
    stat_date date   NOT NULL,
    dimension text   NOT NULL CHECK (dimension IN ('task', 'seat')),
    key       text   NOT NULL,
    name      text,
    grade_9   bigint NOT NULL,
    grade_1   bigint NOT NULL,
    records   bigint NOT NULL,
    PRIMARY KEY (stat_date, dimension, key)
);

-- The days already stored get theirs from their records.
INSERT INTO day_breakdown (stat_date, dimension, key, name, grade_9, grade_1,
                           records)
SELECT stat_date, 'task', coalesce(task_id, ''), max(task_name),
       count(*) FILTER (WHERE grade_class = 'grade_9'),
       count(*) FILTER (WHERE grade_class = 'grade_1'), count(*)
FROM call_records
GROUP BY stat_date, coalesce(task_id, '')
UNION ALL
SELECT stat_date, 'seat', coalesce(user_id, ''), NULL,
       count(*) FILTER (WHERE grade_class = 'grade_9'),
       count(*) FILTER (WHERE grade_class = 'grade_1'), count(*)
FROM call_records
GROUP BY stat_date, coalesce(user_id, '');

-- One row: goes up by one in every transaction that writes a day (of
-- either source, or today's merged calls), as its last statement, which
-- also sends NOTIFY callstats_data with the new version. A reader keys
-- what it caches by it.
CREATE TABLE data_version (
    id         integer     PRIMARY KEY CHECK (id = 1),
    version    bigint      NOT NULL,
    changed_at timestamptz NOT NULL
);
INSERT INTO data_version VALUES (1, 1, now());

-- The leading worker's job table, written when it takes the lead; each
-- job's next run is updated as the worker computes it. schedule is the
-- job's spec as CALLSTATS_JOB_<NAME> takes it; the days are offsets from
-- today; interval_seconds is NULL for jobs that run at times of day.
CREATE TABLE sync_jobs (
    job              text        PRIMARY KEY,
    schedule         text        NOT NULL,
    sources          text        NOT NULL,
    first_day        integer     NOT NULL,
    last_day         integer     NOT NULL,
    interval_seconds integer,
    next_run         timestamptz,
    worker           text        NOT NULL,
    updated_at       timestamptz NOT NULL
);

GRANT SELECT ON day_breakdown, data_version, sync_jobs TO callstats_reader;
REVOKE SELECT ON call_records FROM callstats_reader;
