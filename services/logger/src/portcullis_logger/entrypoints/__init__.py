"""Thin translators between the outside world and the logger: the JetStream consumer,
the log-by-id RPC, and the HTTP health and metrics endpoints."""
