"""The services, by layer: `ops` (the operator's entry points), `api` (the HTTP shell),
`handlers` (commands and read rules), `domain` (the pure core), `runtime` (config, logging,
probes)."""
