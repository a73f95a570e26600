-- The feed's horizon waits only for transactions that write events (issue 18).
-- Never edit this file once it has landed: add a new numbered migration instead.
--
-- Before: the horizon was pg_snapshot_xmin(pg_current_snapshot()), the oldest transaction id
-- still running anywhere in the cluster, so one transaction holding an xid in another database,
-- or on another table of this one, hid every new event from every follower until it ended.
--
-- Now every transaction that writes events registers itself BEFORE it has a transaction id: it
-- takes a transaction-scoped advisory lock (key 1129073751, its backend pid) in this database.
-- A transaction that already has an id is refused (CLX03): it could have been passed over by a
-- reader before it registered. A BEFORE INSERT statement trigger on `events` registers every
-- writer (the store's three append paths, COPY, a manual INSERT), and store_append registers
-- first thing, before its reservation and idempotency rows give the transaction an id.
--
-- The horizon, for the statement's snapshot S (taken before this function runs):
--   H = least(xmax(S), min{ x in xip(S) : x is a registered writer (lock table read at t1),
--                           or x has ended (commit log read at t2 > t1) and wrote events
--                           (read with a fresh snapshot at t3 > t2) })
-- i.e. S's xmin with transactions that write no event left out.
-- Why no reader ever skips an event: take an event of transaction T with id x < H that commits.
-- If T ended before S, S sees the event. Otherwise x < H <= xmax(S), so T had its id at S
-- (ids assigned after S are >= xmax(S)) and so was registered at S (registration comes before
-- the id and lasts until T ends), and x is in xip(S). At t1 (> S) either T still holds its
-- lock, so x counts; or T released it, which PostgreSQL does only after marking T committed or
-- aborted in the commit log and removing it from the running transactions, so at t2 (> t1)
-- x has ended, a snapshot taken at t3 sees it ended and its events, and x counts. Either way
-- H <= x: a contradiction. So every event below H that ever commits is visible to S, and a
-- follower that reads below H and moves its cursor there misses nothing; (tx_id, position)
-- order and cursors are unchanged, so it reads nothing twice. A transaction left out (running
-- or ended, with no event) can never write one later: it has an id, so registering is refused.
-- Successive reads never see the horizon go back (a short page still means "caught up"): a
-- writer that bounds a later read was running and registered, with its id, at the earlier one.
-- The horizon is computed once per snapshot (cached in a transaction-local setting keyed by the
-- snapshot), so every use within one statement agrees.

CREATE FUNCTION store_register_writer() RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('campaign.event_writer', true) = 'on' THEN
        RETURN true;
    END IF;
    IF pg_current_xact_id_if_assigned() IS NOT NULL THEN
        RAISE EXCEPTION 'events are written by a transaction that already has a transaction id: '
                        'append before writing anything else in the transaction'
            USING ERRCODE = 'CLX03';
    END IF;
    PERFORM pg_advisory_xact_lock(1129073751, pg_backend_pid());
    PERFORM set_config('campaign.event_writer', 'on', true);
    RETURN true;
END $$;

CREATE FUNCTION events_register_writer() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM store_register_writer();
    RETURN NULL;
END $$;
CREATE TRIGGER events_register_writer BEFORE INSERT ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_register_writer();

-- Whether a transaction that ended after the caller's snapshot wrote events: read with a fresh
-- snapshot (this function is VOLATILE), which sees it as ended; true also when that snapshot
-- still sees it running (a repeatable read caller), so the answer errs on the safe side.
CREATE FUNCTION store_ended_writer(p_tx xid8) RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_ended boolean;
    v_wrote boolean;
BEGIN
    SELECT pg_visible_in_snapshot(p_tx, pg_current_snapshot()),
           EXISTS (SELECT 1 FROM events
                   WHERE tx_id = p_tx::text::bigint + store_epoch_offset())
    INTO v_ended, v_wrote;
    RETURN NOT v_ended OR v_wrote;
END $$;

CREATE OR REPLACE FUNCTION store_visible_horizon() RETURNS bigint
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_snapshot pg_snapshot := pg_current_snapshot();
    v_horizon  xid8 := pg_snapshot_xmax(v_snapshot);
    v_key      text;
    v_cached   text;
    v_writers  xid[];
    v_tx       xid8;
BEGIN
    IF pg_snapshot_xmin(v_snapshot) < v_horizon THEN
        v_key := v_snapshot::text;
        v_cached := current_setting('campaign.horizon', true);
        IF v_cached IS NOT NULL AND split_part(v_cached, '=', 1) = v_key THEN
            RETURN split_part(v_cached, '=', 2)::bigint;
        END IF;
        -- t1: the registered writers of this database and their transaction ids, from one read
        -- of the lock table.
        WITH held AS MATERIALIZED (
            SELECT locktype, database, classid, objsubid, transactionid, virtualtransaction,
                   mode, granted
            FROM pg_locks
        )
        SELECT coalesce(array_agg(x.transactionid), '{}') INTO v_writers
        FROM held w JOIN held x ON x.virtualtransaction = w.virtualtransaction
        WHERE w.locktype = 'advisory' AND w.classid = 1129073751 AND w.objsubid = 2
          AND w.granted
          AND w.database = (SELECT oid FROM pg_database WHERE datname = current_database())
          AND x.locktype = 'transactionid' AND x.mode = 'ExclusiveLock' AND x.granted;
        -- t2, t3: the oldest transaction running at the snapshot that holds events back: a
        -- registered writer, or one that has ended since the snapshot and wrote events.
        FOR v_tx IN SELECT t FROM pg_snapshot_xip(v_snapshot) AS t ORDER BY t LOOP
            IF xid(v_tx) = ANY (v_writers)
               OR (pg_xact_status(v_tx) <> 'in progress' AND store_ended_writer(v_tx)) THEN
                v_horizon := v_tx;
                EXIT;
            END IF;
        END LOOP;
        PERFORM set_config('campaign.horizon',
                           v_key || '=' || (v_horizon::text::bigint + store_epoch_offset()),
                           true);
    END IF;
    RETURN v_horizon::text::bigint + store_epoch_offset();
END $$;

-- store_append registers first thing: its reservation, release and idempotency rows would
-- otherwise give the transaction an id before its events' trigger runs.
CREATE OR REPLACE FUNCTION store_append(
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
    PERFORM store_register_writer();
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
