-- The unit closure kept incrementally (issue 20).
-- Never edit this file once it has landed: add a new numbered migration instead.
--
-- Before: every command that touched a unit recomputed the whole closure under one exclusive
-- lock (unit_closure_refresh, 0007): a registration cost grew with the tree, each left the
-- table's every row dead, and all unit commands queued behind one another.
--
-- Now a command hands over the units it registered and the units whose place in the tree it
-- changed (moved, merged, split, dissolved), in event order, after their unit_directory rows
-- are written:
-- * a registered unit gets its own rows: itself, and its parent's ancestors. Nothing can be
--   under a unit before it exists, so no other row changes. Registrations take the lock
--   shared and run side by side.
-- * for a changed unit, the units below it (in the tree, or merged, split or dissolved into
--   one of them) stay below it: only their ancestors change. Their rows are deleted and found
--   again by walking up from each (parent, and successor once not active). The lock is taken
--   exclusive: no registration reads an ancestor row while it is replaced.
-- Commands run at READ COMMITTED, so every statement after the lock sees every closure row
-- committed before it was granted. unit_closure_refresh (0007) stays, for a full recompute.

CREATE FUNCTION unit_closure_apply(added uuid[], reshaped uuid[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    unit uuid;
    below uuid[];
BEGIN
    IF cardinality(reshaped) > 0 THEN
        PERFORM pg_advisory_xact_lock(hashtextextended('unit_closure', 0));
    ELSE
        PERFORM pg_advisory_xact_lock_shared(hashtextextended('unit_closure', 0));
    END IF;

    FOREACH unit IN ARRAY added LOOP
        INSERT INTO unit_closure (ancestor_id, descendant_id)
        SELECT unit, unit
        UNION
        SELECT c.ancestor_id, unit
        FROM unit_directory d JOIN unit_closure c ON c.descendant_id = d.parent_id
        WHERE d.unit_id = unit
        ON CONFLICT DO NOTHING;
    END LOOP;

    FOREACH unit IN ARRAY reshaped LOOP
        below := ARRAY(
            SELECT unit
            UNION
            SELECT descendant_id FROM unit_closure WHERE ancestor_id = unit
        );
        DELETE FROM unit_closure WHERE descendant_id = ANY (below);
        INSERT INTO unit_closure (ancestor_id, descendant_id)
        WITH RECURSIVE up(ancestor_id, descendant_id) AS (
            SELECT b, b FROM unnest(below) AS b
            UNION
            SELECT step.parent, up.descendant_id
            FROM up
            JOIN unit_directory u ON u.unit_id = up.ancestor_id
            CROSS JOIN LATERAL (
                VALUES (u.parent_id), (CASE WHEN u.status <> 'active' THEN u.successor_id END)
            ) AS step(parent)
            WHERE step.parent IS NOT NULL
        )
        SELECT ancestor_id, descendant_id FROM up;
    END LOOP;
END;
$$;
