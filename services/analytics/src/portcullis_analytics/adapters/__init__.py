"""The analytics service's edges: the ClickHouse store and its JetStream set-up."""
