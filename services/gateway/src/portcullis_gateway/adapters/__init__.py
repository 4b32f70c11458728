"""The gateway's edges: the upstream HTTP pool, NATS (events, spool, RPC), Redis."""
