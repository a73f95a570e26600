-- Seals: tamper evidence for the whole log, not only inside each stream. A seal chains every
-- event of the log in feed order (tx_id, position), from the previous seal's last event to its
-- own: seal_hash = sha256(prev_seal_hash || hash of each event since, in feed order), with an
-- empty prev_seal_hash for the first seal (events/seal.py, README "Seals"). A seal is exported
-- to be kept outside the database; `campaign verify --seal FILE` checks the log against it.
-- Only events below the feed's visible horizon are sealed, so a transaction that commits late
-- with a lower position never falls between two seals.
-- Never edit this file once it has landed: add a new numbered migration instead.
CREATE TABLE seals (
    seq            integer PRIMARY KEY CHECK (seq >= 1),
    epoch          text NOT NULL,
    -- The feed position of the previous seal's last event (NULL for the first seal).
    after_tx_id    bigint,
    after_position bigint,
    -- The feed position of the last event this seal covers.
    last_tx_id     bigint NOT NULL,
    last_position  bigint NOT NULL,
    -- Events this seal covers (since the previous one) and events sealed in all.
    count          integer NOT NULL CHECK (count >= 1),
    total          bigint NOT NULL CHECK (total >= count),
    -- The head {stream_id: [version, hash hex]} of every stream changed since the previous seal.
    heads          jsonb NOT NULL,
    -- The positions of the sealed events in feed order: what lets `verify --seal` name an event
    -- that moved (a rewritten tx_id) or vanished. A hint: the export is the anchor.
    positions      bigint[] NOT NULL,
    prev_seal_hash bytea,
    seal_hash      bytea NOT NULL UNIQUE,
    sealed_at      timestamptz NOT NULL DEFAULT now(),
    CHECK ((seq = 1) = (prev_seal_hash IS NULL)),
    CHECK ((after_tx_id IS NULL) = (after_position IS NULL))
);

-- Append-only, guarded like events (a superuser can disable the triggers: the export is the
-- evidence).
CREATE FUNCTION seals_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'seals are immutable: % on seals is refused', TG_OP
        USING ERRCODE = 'CLE01';
END $$;
CREATE TRIGGER seals_refuse_update_delete BEFORE UPDATE OR DELETE ON seals
    FOR EACH ROW EXECUTE FUNCTION seals_refuse_change();
CREATE TRIGGER seals_refuse_truncate BEFORE TRUNCATE ON seals
    FOR EACH STATEMENT EXECUTE FUNCTION seals_refuse_change();
