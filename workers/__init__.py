"""arq workers: the deadline engine, the reconciler and webhook delivery."""
