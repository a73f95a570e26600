-- rebuild: directory
-- Plans found by the documents they implement (issue 21): GET /plans?cites=1498 lists the plans
-- whose "Căn cứ" or "Thực hiện" names 1498-CV/TU, and free text (q=) finds the cited numbers.
-- Kept by the plan_list read model beside its table. Never edit this file once it has landed:
-- add a new numbered migration instead.
CREATE TABLE plan_citations (
    plan_id           uuid NOT NULL,
    number_normalized text NOT NULL,
    PRIMARY KEY (plan_id, number_normalized)
);
CREATE INDEX plan_citations_by_number ON plan_citations (number_normalized);
