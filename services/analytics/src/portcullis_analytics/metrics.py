"""Prometheus metrics of analytics, on a registry of its own (served at /metrics)."""

from __future__ import annotations

from portcullis_worker import WorkerMetrics
from prometheus_client import Histogram


class AnalyticsMetrics(WorkerMetrics):
    def __init__(self) -> None:
        super().__init__("portcullis_analytics", "Metric events")
        self.inserted_rows = self.counter("inserted_rows", "Rows inserted into ClickHouse.")
        self.insert_failures = self.counter("insert_failures", "Failed batch inserts.")
        self.batch_size = Histogram(
            "batch_size",
            "Events per consumed batch.",
            namespace=self.namespace,
            registry=self.registry,
            buckets=(1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500),
        )
        self.insert_seconds = Histogram(
            "insert_seconds",
            "Latency of one batch insert.",
            namespace=self.namespace,
            registry=self.registry,
        )
        self.query_seconds = Histogram(
            "query_seconds",
            "Latency of answering an analytics query.",
            ["graph", "status"],
            namespace=self.namespace,
            registry=self.registry,
        )
