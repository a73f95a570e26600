-- rebuild: directory
-- Plans as they stand, for GET /plans: kept with the directory in the transaction of the
-- command that changes them. `search_key` is the title and number folded (lower case, no
-- diacritics) so "ke hoach tuyen truyen" finds "Kế hoạch tuyên truyền".
CREATE TABLE plan_list (
    plan_id           uuid PRIMARY KEY,
    version           integer NOT NULL,
    kind              text NOT NULL,
    title             text NOT NULL,
    status            text NOT NULL,
    issuer_unit_id    uuid NOT NULL,
    recipients        uuid[] NOT NULL DEFAULT '{}',
    number            text,
    number_normalized text,
    issued_on         date,
    drafted_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    search_key        text NOT NULL
);
CREATE INDEX plan_list_by_issuer ON plan_list (issuer_unit_id, drafted_at);
CREATE INDEX plan_list_by_number ON plan_list (number_normalized);
CREATE INDEX plan_list_by_recipient ON plan_list USING gin (recipients);

-- The unit tree as it stands, as a closure table: every (ancestor, descendant) pair, a unit
-- being its own. A unit merged, split or dissolved counts under its successor as well, so
-- compliance rolls its tasks up to where its work went.
CREATE TABLE unit_closure (
    ancestor_id   uuid NOT NULL,
    descendant_id uuid NOT NULL,
    PRIMARY KEY (ancestor_id, descendant_id)
);
CREATE INDEX unit_closure_by_descendant ON unit_closure (descendant_id);

-- Recomputed whole in the transaction of a command that changed units (organisation changes
-- are rare and trees small); the lock keeps two such commands from interleaving.
CREATE FUNCTION unit_closure_refresh() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('unit_closure', 0));
    DELETE FROM unit_closure;
    INSERT INTO unit_closure (ancestor_id, descendant_id)
    WITH RECURSIVE edge(child, parent) AS (
        SELECT unit_id, parent_id FROM unit_directory WHERE parent_id IS NOT NULL
        UNION
        SELECT unit_id, successor_id FROM unit_directory
        WHERE successor_id IS NOT NULL AND status <> 'active'
    ), closure(ancestor_id, descendant_id) AS (
        SELECT unit_id, unit_id FROM unit_directory
        UNION
        SELECT edge.parent, closure.descendant_id
        FROM closure JOIN edge ON edge.child = closure.ancestor_id
    )
    SELECT ancestor_id, descendant_id FROM closure;
END;
$$;
