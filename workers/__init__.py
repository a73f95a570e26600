"""arq workers: the deadline engine, the reconciler and webhook delivery (issues 8 and 10)."""
