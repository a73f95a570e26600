"""Services: the domain deciders, the HTTP API, authentication and the `campaign` CLI."""
