-- Webhook subscriptions. Their configuration is events on `subscription-<id>` streams, written
-- here in the transaction of the command that records them; the secret (never in an event)
-- and the delivery state (cursor, attempts, failures, lease) are kept here only: they are not
-- facts of the domain, and a rebuild must not move a delivery cursor.
CREATE TABLE subscriptions (
    subscription_id   uuid PRIMARY KEY,
    owner_user_id     uuid NOT NULL,
    name              text NOT NULL,
    url               text NOT NULL,
    secret            text NOT NULL,
    types             text[] NOT NULL,
    categories        text[] NOT NULL,
    streams           text[] NOT NULL,
    plan_id           uuid,
    units             uuid[] NOT NULL,
    status            text NOT NULL CHECK (status IN ('active', 'paused', 'parked')),
    version           integer NOT NULL,
    created_at        timestamptz NOT NULL,
    -- Delivered through this feed cursor (NULL: nothing yet, from the beginning).
    cursor            text,
    delivered         bigint NOT NULL DEFAULT 0,
    attempts          bigint NOT NULL DEFAULT 0,
    failures          integer NOT NULL DEFAULT 0,
    next_attempt_at   timestamptz NOT NULL DEFAULT '-infinity',
    last_attempt_at   timestamptz,
    last_delivered_at timestamptz,
    last_error        text,
    parked_reason     text,
    -- One delivery in flight: the worker that holds an unexpired lease.
    lease_token       uuid,
    lease_until       timestamptz
);
CREATE INDEX subscriptions_owner ON subscriptions (owner_user_id);
CREATE INDEX subscriptions_due ON subscriptions (next_attempt_at) WHERE status = 'active';
