"""Thin translators between the outside world and analytics: the JetStream batch
consumer, the analytics-query RPC, and the HTTP health and metrics endpoints."""
