"""The domain: one pure decider per aggregate. No clock, no database, no HTTP in here."""
