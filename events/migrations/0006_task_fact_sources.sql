-- The tasks a consolidated report sums, so compliance can count the consolidating unit's own
-- figures once and its sources' figures once (migration 0005 could only leave the whole
-- consolidated report out).
ALTER TABLE task_facts
    ADD COLUMN filed_sources uuid[] NOT NULL DEFAULT '{}',
    ADD COLUMN sources uuid[] NOT NULL DEFAULT '{}';
