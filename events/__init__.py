"""Events: the envelope, the catalogue of event types, and the PostgreSQL event store."""
