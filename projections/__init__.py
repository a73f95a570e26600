"""Read models: pure apply(view, event) functions, the projector daemon and queries (issue 7)."""
