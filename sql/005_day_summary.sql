-- One row per synced day with what the API's day views show, so that a
-- month is read as a range of 31 rows rather than gathered from four
-- tables. It is rebuilt when the transaction that wrote a day commits, by
-- a deferred trigger on sync_state, which every day write updates: the
-- summary is always that of the data committed with it.

CREATE TABLE day_summary (
    stat_date       date        PRIMARY KEY,
    stats_synced_at timestamptz,
    calls_synced_at timestamptz,
    calls_dialled   bigint      NOT NULL,
    calls_answered  bigint      NOT NULL,
    success_orders  bigint      NOT NULL,
    active_accounts bigint      NOT NULL, -- internal accounts included
    grade_9         bigint      NOT NULL,
    grade_1         bigint      NOT NULL,
    records         bigint      NOT NULL
);

CREATE FUNCTION day_summary_rebuild(day date) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO day_summary
    SELECT day,
           (SELECT synced_at FROM sync_state
             WHERE stat_date = day AND source = 'stats'),
           (SELECT synced_at FROM sync_state
             WHERE stat_date = day AND source = 'calls'),
           coalesce(t.calls_dialled, 0), coalesce(t.calls_answered, 0),
           coalesce(t.success_orders, 0),
           (SELECT count(*) FROM account_stats a
             WHERE a.stat_date = day AND a.calls_dialled > 0),
           g.grade_9, g.grade_1, g.records
    FROM (SELECT 1) one
    LEFT JOIN day_totals t ON t.stat_date = day
    CROSS JOIN (SELECT
        coalesce(sum(records) FILTER (WHERE grade_class = 'grade_9'), 0)
            AS grade_9,
        coalesce(sum(records) FILTER (WHERE grade_class = 'grade_1'), 0)
            AS grade_1,
        coalesce(sum(records), 0) AS records
        FROM day_grades WHERE stat_date = day) g
    ON CONFLICT (stat_date) DO UPDATE SET
        stats_synced_at = excluded.stats_synced_at,
        calls_synced_at = excluded.calls_synced_at,
        calls_dialled = excluded.calls_dialled,
        calls_answered = excluded.calls_answered,
        success_orders = excluded.success_orders,
        active_accounts = excluded.active_accounts,
        grade_9 = excluded.grade_9,
        grade_1 = excluded.grade_1,
        records = excluded.records;
$$;

CREATE FUNCTION day_summary_on_sync() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM day_summary_rebuild(NEW.stat_date);
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER day_summary_on_sync
    AFTER INSERT OR UPDATE ON sync_state
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION day_summary_on_sync();

SELECT day_summary_rebuild(stat_date)
FROM (SELECT DISTINCT stat_date FROM sync_state) days;

GRANT SELECT ON day_summary TO callstats_reader;
