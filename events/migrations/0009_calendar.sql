-- The working-day calendar, one materialised version at a time (services/calendar.py):
-- the exceptions to Monday-to-Friday, loaded by `campaign migrate` and never changed after.
CREATE TABLE calendar_versions (
    version      text PRIMARY KEY,
    loaded_at    timestamptz NOT NULL DEFAULT now(),
    first_day    date NOT NULL,
    last_day     date NOT NULL
);
CREATE TABLE calendar_days (
    version  text NOT NULL REFERENCES calendar_versions (version),
    day      date NOT NULL,
    working  boolean NOT NULL,
    reason   text NOT NULL,
    PRIMARY KEY (version, day)
);
