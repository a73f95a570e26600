-- rebuild: deadline_steps
-- The steps of every task's deadline schedule and where each stands, a read model of the task
-- streams kept in the transaction of the command that changes them (projections/
-- deadline_steps.py): pending until due and recorded; done once recorded; skipped (a reminder
-- already past when scheduled); superseded (a newer schedule of the task); void (the task
-- closed before the step, or the step aims at no unit). The deadline scheduler and the
-- reconciler read the pending ones.
CREATE TABLE deadline_steps (
    assignment_id    uuid NOT NULL,
    schedule_version integer NOT NULL,
    step             text NOT NULL,
    action           text NOT NULL,
    unit_id          uuid,
    at               timestamptz NOT NULL,
    status           text NOT NULL,
    PRIMARY KEY (assignment_id, schedule_version, step)
);
CREATE INDEX deadline_steps_pending ON deadline_steps (at) WHERE status = 'pending';
