"""Read models: every one listed in `registry.py`, each a module with its fold and queries; the
projector and rebuilds; the rows that are not events (personal data, subscriptions, terms)."""
