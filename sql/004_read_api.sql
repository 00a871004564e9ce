-- What the read API needs beyond the first tables: the breakdown of a
-- day's call records by task and by seat, the data version the API keys
-- its cache by, and the leader's job table.

-- The account's platform id, which call records name as userId.
ALTER TABLE account_stats ADD COLUMN user_id text;

-- A task's name as the statistics give it, when they do.
ALTER TABLE task_stats ADD COLUMN task_name text;

-- A day's call records counted by task (key: the task id) and by seat
-- (key: the records' userId), rebuilt with day_grades.
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

-- Raised by every transaction that writes a day, with a NOTIFY on
-- callstats_data.
CREATE TABLE data_version (
    id         integer     PRIMARY KEY CHECK (id = 1),
    version    bigint      NOT NULL,
    changed_at timestamptz NOT NULL
);
INSERT INTO data_version VALUES (1, 1, now());

-- The leading worker's jobs, with their next run.
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
