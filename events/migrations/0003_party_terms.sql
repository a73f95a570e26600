-- Party committee terms (nhiệm kỳ), per issuing unit: Party document numbers restart with each
-- term. Operators edit this table (`campaign terms set`); a unit without a row for a date falls
-- in the five-year default term that starts in a year divisible by five (2020-2025, 2025-2030).
CREATE TABLE party_terms (
    unit_id   uuid NOT NULL,
    starts_on date NOT NULL,
    ends_on   date NOT NULL CHECK (ends_on > starts_on),
    label     text NOT NULL,
    PRIMARY KEY (unit_id, starts_on)
);
