-- Exemplary models as they stand: a read model of the model streams, kept in the transaction of
-- the command that changes them, rebuildable from the events.
CREATE TABLE exemplary_models (
    model_id      uuid PRIMARY KEY,
    version       integer NOT NULL,
    unit_id       uuid NOT NULL,
    year          integer NOT NULL,
    field         text NOT NULL,
    kind          text NOT NULL,
    title         text NOT NULL,
    reports       integer NOT NULL DEFAULT 0,
    commendations text[] NOT NULL DEFAULT '{}',
    registered_at timestamptz NOT NULL
);
CREATE INDEX exemplary_models_by_unit_year ON exemplary_models (unit_id, year);
CREATE INDEX exemplary_models_by_year ON exemplary_models (year);
