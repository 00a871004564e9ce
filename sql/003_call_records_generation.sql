-- A day's call records carry the generation of the sync that wrote them:
-- a new sync writes the next generation beside the old one and deletes
-- the old in the same transaction. New keys then never meet the old
-- rows' dead index entries, which made a re-sync much slower than the
-- first.
ALTER TABLE call_records ADD COLUMN gen smallint NOT NULL DEFAULT 0
    CHECK (gen IN (0, 1));
ALTER TABLE call_records DROP CONSTRAINT call_records_pkey;
ALTER TABLE call_records ADD PRIMARY KEY (stat_date, gen, record_id);
