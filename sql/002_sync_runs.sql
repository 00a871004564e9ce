-- The worker's own record: each run of a scheduled job, and the state of
-- the worker that leads, for operators and for the API to read.

-- One row per run of a job, or per slot skipped. A slot is done only when
-- a run of it succeeded; at most one run of a slot succeeds.
CREATE TABLE sync_runs (
    id                bigserial   PRIMARY KEY,
    job               text        NOT NULL,
    slot              timestamptz NOT NULL,
    status            text        NOT NULL
        CHECK (status IN ('running', 'success', 'failed', 'skipped')),
    started_at        timestamptz NOT NULL,
    finished_at       timestamptz,
    days_written      integer     NOT NULL DEFAULT 0,
    days_failed       integer     NOT NULL DEFAULT 0,
    records_written   bigint      NOT NULL DEFAULT 0,
    upstream_requests integer     NOT NULL DEFAULT 0,
    retries           integer     NOT NULL DEFAULT 0,
    inconsistent_days integer     NOT NULL DEFAULT 0,
    worker            text        NOT NULL,
    error             text
);
CREATE UNIQUE INDEX sync_runs_one_success ON sync_runs (job, slot)
    WHERE status = 'success';
CREATE INDEX sync_runs_by_job ON sync_runs (job, slot DESC);

-- The leading worker, one row, updated as it works.
CREATE TABLE worker_state (
    id             integer     PRIMARY KEY CHECK (id = 1),
    worker         text        NOT NULL,
    version        text        NOT NULL,
    leader_since   timestamptz NOT NULL,
    heartbeat_at   timestamptz NOT NULL,
    current_job    text,
    missing_first  date,
    missing_last   date,
    missing_days   integer     NOT NULL DEFAULT 0
);

-- Per job: its last run and its last success, for status pages and
-- metrics.
CREATE VIEW sync_job_status AS
SELECT job,
       max(slot) FILTER (WHERE status = 'success')        AS last_success_slot,
       max(finished_at) FILTER (WHERE status = 'success') AS last_success_at,
       (array_agg(status ORDER BY started_at DESC))[1]     AS last_status,
       (array_agg(started_at ORDER BY started_at DESC))[1] AS last_started_at,
       (array_agg(finished_at ORDER BY started_at DESC))[1] AS last_finished_at,
       (array_agg(error ORDER BY started_at DESC))[1]      AS last_error,
       count(*) FILTER (WHERE status = 'failed')           AS failed_runs,
       count(*) FILTER (WHERE status = 'skipped')          AS skipped_runs,
       coalesce(sum(inconsistent_days), 0)                 AS inconsistent_days
FROM sync_runs
GROUP BY job;

GRANT SELECT ON sync_runs, worker_state, sync_job_status TO callstats_reader;
