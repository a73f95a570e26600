-- The event store: one append-only table, stream heads, idempotency answers, reservations.
-- Never edit this file once it has landed: add a new numbered migration instead.

-- Feed order is (tx_id, position). tx_id is the writing transaction's id plus the offset of the
-- epoch in force, so that after a logical restore (which resets transaction ids) new events
-- still sort after the restored ones. A new epoch also invalidates cursors handed out before.
-- An epoch also records the cluster and database it began in: a restore into another cluster
-- or database (whatever its transaction counter) opens a new epoch too.
CREATE TABLE store_epochs (
    id         integer PRIMARY KEY,
    token      text NOT NULL UNIQUE,
    tx_offset  bigint NOT NULL,
    system_id  bigint NOT NULL,
    db_oid     oid NOT NULL,
    started_at timestamptz NOT NULL DEFAULT now(),
    reason     text NOT NULL
);
INSERT INTO store_epochs (id, token, tx_offset, system_id, db_oid, reason)
SELECT 1, substr(md5(random()::text || clock_timestamp()::text), 1, 12), 0,
       (SELECT system_identifier FROM pg_control_system()),
       (SELECT oid FROM pg_database WHERE datname = current_database()),
       'store created';

CREATE FUNCTION store_epoch_offset() RETURNS bigint
LANGUAGE sql STABLE AS $$ SELECT tx_offset FROM store_epochs ORDER BY id DESC LIMIT 1 $$;

-- Every row with tx_id below this horizon belongs to a finished transaction: a follower that
-- reads only below it never skips an event committed later with a lower position.
CREATE FUNCTION store_visible_horizon() RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint + store_epoch_offset()
$$;

CREATE TABLE events (
    position       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tx_id          bigint NOT NULL,
    event_id       uuid NOT NULL UNIQUE,
    stream_id      text NOT NULL,
    version        integer NOT NULL CHECK (version >= 1),
    type           text NOT NULL,
    schema_version integer NOT NULL CHECK (schema_version >= 1),
    data           jsonb NOT NULL,
    metadata       jsonb NOT NULL,
    category       text NOT NULL,
    plan_id        uuid,
    units          uuid[] NOT NULL DEFAULT '{}',
    recorded_at    timestamptz NOT NULL,
    prev_hash      bytea,
    hash           bytea NOT NULL,
    UNIQUE (stream_id, version)
);
CREATE INDEX events_feed ON events (tx_id, position);
CREATE INDEX events_by_category ON events (category, tx_id, position);
CREATE INDEX events_by_type ON events (type, tx_id, position);
CREATE INDEX events_by_plan ON events (plan_id, tx_id, position) WHERE plan_id IS NOT NULL;
CREATE INDEX events_by_unit ON events USING gin (units);
CREATE INDEX events_recorded_at ON events USING brin (recorded_at);

CREATE FUNCTION events_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events are immutable: % on events is refused', TG_OP
        USING ERRCODE = 'CLE01';
END $$;
CREATE TRIGGER events_refuse_update_delete BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_refuse_change();
CREATE TRIGGER events_refuse_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_refuse_change();

-- The first answer to a command sent with an Idempotency-Key, per actor.
CREATE TABLE idempotency (
    actor        text NOT NULL,
    key          text NOT NULL,
    request_hash bytea NOT NULL,
    answer       jsonb NOT NULL,
    events       jsonb NOT NULL,
    recorded_at  timestamptz NOT NULL,
    PRIMARY KEY (actor, key)
);

-- Unique keys across streams, such as a document number per issuer, kind and term.
CREATE TABLE reservations (
    scope       text NOT NULL,
    key         text NOT NULL,
    stream_id   text NOT NULL,
    recorded_at timestamptz NOT NULL,
    PRIMARY KEY (scope, key)
);

CREATE FUNCTION store_assert_version(p_stream text, p_expected integer, p_actual integer)
RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    IF p_actual <> p_expected THEN
        RAISE EXCEPTION 'stream % is at version %, not %', p_stream, p_actual, p_expected
            USING ERRCODE = 'CLV01', DETAIL = json_build_object(
                'stream', p_stream, 'actual', p_actual, 'expected', p_expected)::text;
    END IF;
    RETURN true;
END $$;

-- The plain append path sends the head hash it chained from and calls this only when the head
-- it finds differs (a CASE keeps function calls off the path that succeeds).
CREATE FUNCTION store_head_moved(p_stream text, p_expected integer, p_actual integer)
RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    PERFORM store_assert_version(p_stream, p_expected, coalesce(p_actual, 0));
    RAISE EXCEPTION 'stream % head at version % has another hash than expected',
        p_stream, p_expected
        USING ERRCODE = 'CLV01', DETAIL = json_build_object(
            'stream', p_stream, 'actual', p_expected, 'expected', p_expected)::text;
END $$;

CREATE FUNCTION store_assert_clock(p_recorded_at timestamptz) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    v_skew double precision := abs(extract(epoch FROM clock_timestamp() - p_recorded_at));
BEGIN
    IF v_skew > 5 THEN
        RAISE EXCEPTION 'recorded_at % is % s away from the database clock', p_recorded_at, v_skew
            USING ERRCODE = 'CLT01';
    END IF;
    RETURN true;
END $$;

-- One append in full: every stream with the version the decision was based on (written or only
-- read), the new events (grouped by stream, in version order), optional reservations and an
-- idempotency entry; all or nothing. Plain appends whose stream heads the application already
-- knows take a one-statement path in events/store.py that writes the same rows.
-- p_jcs holds each event's RFC 8785 envelope as computed by the application; the chain
-- hash = sha256(prev_hash || jcs) is computed here, where the previous hash is known.
CREATE FUNCTION store_append(
    p_streams        text[],
    p_expected       integer[],
    p_writes         boolean[],
    p_ev_stream_idx  integer[],
    p_ev_version     integer[],
    p_ev_id          uuid[],
    p_ev_type        text[],
    p_ev_schema      integer[],
    p_ev_data        jsonb[],
    p_ev_category    text[],
    p_ev_plan        uuid[],
    p_ev_units       text[],
    p_ev_jcs         bytea[],
    p_metadata       jsonb,
    p_recorded_at    timestamptz,
    p_res_scope      text[],
    p_res_key        text[],
    p_res_stream     text[],
    p_rel_scope      text[],
    p_rel_key        text[],
    p_idem_actor     text,
    p_idem_key       text,
    p_idem_hash      bytea,
    p_idem_answer    jsonb
) RETURNS TABLE (out_event_id uuid, out_position bigint, out_tx_id bigint, out_epoch text,
                out_hash bytea)
LANGUAGE plpgsql AS $$
DECLARE
    v_epoch     text;
    v_offset    bigint;
    v_tx        bigint;
    v_versions  integer[] := p_expected;
    v_heads     bytea[];
    v_head      bytea;
    v_actual    integer;
    v_hashes    bytea[];
    v_prevs     bytea[];
    v_count     integer;
    v_taken     record;
    i           integer;
    j           integer;
BEGIN
    PERFORM store_assert_clock(p_recorded_at);
    -- Asserting the version of a stream only read relies on each statement's fresh snapshot.
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'append in a % transaction: use read committed',
            current_setting('transaction_isolation') USING ERRCODE = 'CLX02';
    END IF;
    SELECT token, tx_offset INTO v_epoch, v_offset FROM store_epochs ORDER BY id DESC LIMIT 1;

    -- A transaction-scoped lock per stream (exclusive to write, shared to assert a version read
    -- by the decision) serialises the writers of one stream without writing anything; streams
    -- arrive sorted by id so that multi-stream appends take their locks in one order.
    FOR i IN 1 .. coalesce(array_length(p_streams, 1), 0) LOOP
        IF p_writes[i] THEN
            PERFORM pg_advisory_xact_lock(hashtextextended(p_streams[i], 0));
        ELSE
            PERFORM pg_advisory_xact_lock_shared(hashtextextended(p_streams[i], 0));
        END IF;
        v_actual := NULL;
        v_head := NULL;
        SELECT version, hash INTO v_actual, v_head FROM events
        WHERE stream_id = p_streams[i] ORDER BY version DESC LIMIT 1;
        PERFORM store_assert_version(p_streams[i], p_expected[i], coalesce(v_actual, 0));
        v_heads[i] := v_head;
    END LOOP;

    -- Keys the streams of this append give up (a unit's code under its old parent) are freed
    -- before new ones are taken, so a rename may take back a code it held.
    IF coalesce(array_length(p_rel_scope, 1), 0) > 0 THEN
        DELETE FROM reservations r
        USING unnest(p_rel_scope, p_rel_key) AS q(scope, key)
        WHERE r.scope = q.scope AND r.key = q.key AND r.stream_id = ANY (p_streams);
    END IF;

    IF coalesce(array_length(p_res_scope, 1), 0) > 0 THEN
        WITH inserted AS (
            INSERT INTO reservations (scope, key, stream_id, recorded_at)
            SELECT r.scope, r.key, r.stream_id, p_recorded_at
            FROM unnest(p_res_scope, p_res_key, p_res_stream) AS r(scope, key, stream_id)
            ON CONFLICT DO NOTHING
            RETURNING reservations.scope, reservations.key
        )
        SELECT q.scope, q.key, held.stream_id INTO v_taken
        FROM unnest(p_res_scope, p_res_key) AS q(scope, key)
        LEFT JOIN reservations held ON held.scope = q.scope AND held.key = q.key
        WHERE NOT EXISTS (SELECT 1 FROM inserted WHERE inserted.scope = q.scope
                                                   AND inserted.key = q.key)
        LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'reservation % % is held by %', v_taken.scope, v_taken.key,
                v_taken.stream_id
                USING ERRCODE = 'CLR01', DETAIL = json_build_object(
                    'scope', v_taken.scope, 'key', v_taken.key, 'holder', v_taken.stream_id)::text;
        END IF;
    END IF;

    v_count := coalesce(array_length(p_ev_id, 1), 0);
    IF v_count > 0 THEN
        FOR j IN 1 .. v_count LOOP
            i := p_ev_stream_idx[j];
            IF p_ev_version[j] <> v_versions[i] + 1 THEN
                RAISE EXCEPTION 'event % of stream % has version %, expected %',
                    p_ev_id[j], p_streams[i], p_ev_version[j], v_versions[i] + 1
                    USING ERRCODE = 'CLX01';
            END IF;
            v_versions[i] := p_ev_version[j];
            v_prevs[j] := v_heads[i];
            v_hashes[j] := sha256(coalesce(v_heads[i], ''::bytea) || p_ev_jcs[j]);
            v_heads[i] := v_hashes[j];
        END LOOP;

        v_tx := pg_current_xact_id()::text::bigint + v_offset;
        RETURN QUERY
        WITH inserted AS (
            INSERT INTO events (tx_id, event_id, stream_id, version, type, schema_version, data,
                                metadata, category, plan_id, units, recorded_at, prev_hash, hash)
            SELECT v_tx, e.id, p_streams[e.idx], e.version, e.type, e.schema, e.data,
                   p_metadata, e.category, e.plan, e.units::uuid[], p_recorded_at, e.prev, e.hash
            FROM unnest(p_ev_id, p_ev_stream_idx, p_ev_version, p_ev_type, p_ev_schema, p_ev_data,
                        p_ev_category, p_ev_plan, p_ev_units, v_prevs, v_hashes)
                 AS e(id, idx, version, type, schema, data, category, plan, units, prev, hash)
            RETURNING events.event_id, events.position, events.hash
        )
        SELECT inserted.event_id, inserted.position, v_tx, v_epoch, inserted.hash FROM inserted;
    END IF;

    IF p_idem_key IS NOT NULL THEN
        INSERT INTO idempotency (actor, key, request_hash, answer, events, recorded_at)
        SELECT p_idem_actor, p_idem_key, p_idem_hash, p_idem_answer,
               coalesce(jsonb_agg(jsonb_build_array(ev.event_id, ev.stream_id, ev.version,
                                                    ev.position, ev.tx_id)
                                  ORDER BY ev.position), '[]'::jsonb),
               p_recorded_at
        FROM events ev WHERE ev.event_id = ANY (p_ev_id)
        ON CONFLICT DO NOTHING;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'idempotency key % of % is already used', p_idem_key, p_idem_actor
                USING ERRCODE = 'CLI01';
        END IF;
    END IF;
END $$;

-- Why the store needs a new epoch, or NULL: a restore into another cluster or database, or a
-- transaction counter that went back below the stored tx_ids (a logical restore).
CREATE FUNCTION store_epoch_needed() RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_epoch   store_epochs;
    v_max     bigint;
BEGIN
    SELECT * INTO v_epoch FROM store_epochs ORDER BY id DESC LIMIT 1;
    IF v_epoch.system_id <> (SELECT system_identifier FROM pg_control_system()) THEN
        RETURN 'restored into another cluster';
    END IF;
    IF v_epoch.db_oid <> (SELECT oid FROM pg_database WHERE datname = current_database()) THEN
        RETURN 'restored into another database';
    END IF;
    SELECT max(tx_id) INTO v_max FROM events;
    IF v_max IS NOT NULL
       AND pg_snapshot_xmax(pg_current_snapshot())::text::bigint + v_epoch.tx_offset <= v_max THEN
        RETURN 'transaction ids went back (logical restore)';
    END IF;
    RETURN NULL;
END $$;

-- Open the epoch store_epoch_needed() asks for, with an offset that keeps new events after
-- every stored one; returns why (NULL when none was needed). Cursors handed out before carry
-- the old token and are refused (410).
CREATE FUNCTION store_open_epoch_if_needed() RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_reason  text;
    v_max     bigint;
    v_current bigint;
BEGIN
    LOCK TABLE store_epochs IN EXCLUSIVE MODE;
    v_reason := store_epoch_needed();
    IF v_reason IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT coalesce(max(tx_id), 0) INTO v_max FROM events;
    v_current := pg_current_xact_id()::text::bigint;
    INSERT INTO store_epochs (id, token, tx_offset, system_id, db_oid, reason)
    SELECT max(id) + 1, substr(md5(random()::text || clock_timestamp()::text), 1, 12),
           greatest(max(tx_offset), v_max - v_current + 1000),
           (SELECT system_identifier FROM pg_control_system()),
           (SELECT oid FROM pg_database WHERE datname = current_database()),
           v_reason
    FROM store_epochs;
    RETURN v_reason;
END $$;
