-- Per-task compliance facts, written by the projector from the task streams; compliance is
-- aggregated from them at query time over the unit tree as it stands. `metrics` are those of the
-- approved submission; a consolidated one (tổng hợp) is marked, so sums count each report once.
CREATE TABLE task_facts (
    assignment_id     uuid PRIMARY KEY,
    plan_id           uuid NOT NULL,
    item              text NOT NULL,
    lead_unit_id      uuid NOT NULL,
    report_to_unit_id uuid NOT NULL,
    issuer_unit_id    uuid NOT NULL,
    status            text NOT NULL,
    original_due      timestamptz NOT NULL,
    due               timestamptz NOT NULL,
    issued_at         timestamptz NOT NULL,
    completed_at      timestamptz,
    on_time           boolean,
    days_late         integer,
    filed_metrics     jsonb NOT NULL DEFAULT '{}',
    metrics           jsonb NOT NULL DEFAULT '{}',
    consolidated      boolean NOT NULL DEFAULT false,
    filed_consolidated boolean NOT NULL DEFAULT false,
    extension_pending boolean NOT NULL DEFAULT false,
    obstacles_open    integer NOT NULL DEFAULT 0
);
CREATE INDEX task_facts_by_plan ON task_facts (plan_id);
CREATE INDEX task_facts_by_lead ON task_facts (lead_unit_id, due);

-- Where each projector stands in the feed, and who may write: a projector writes its rows and
-- its checkpoint in one transaction, only while `owner_epoch` is still the one it claimed.
CREATE TABLE projector_checkpoints (
    name         text PRIMARY KEY,
    tx_id        bigint NOT NULL DEFAULT 0,
    position     bigint NOT NULL DEFAULT 0,
    epoch        text,
    owner        text,
    owner_epoch  bigint NOT NULL DEFAULT 0,
    heartbeat_at timestamptz,
    events       bigint NOT NULL DEFAULT 0
);
