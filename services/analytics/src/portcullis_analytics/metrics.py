"""Prometheus metrics of analytics, on a registry of its own (served at /metrics)."""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)


class AnalyticsMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        ns = "portcullis_analytics"
        self.consumed = Counter(
            "consumed",
            "Metric events received from JetStream.",
            namespace=ns,
            registry=self.registry,
        )
        self.inserted_rows = Counter(
            "inserted_rows", "Rows inserted into ClickHouse.", namespace=ns, registry=self.registry
        )
        self.insert_failures = Counter(
            "insert_failures", "Failed batch inserts.", namespace=ns, registry=self.registry
        )
        self.redeliveries = Counter(
            "redeliveries",
            "Events received more than once (delivery count above one).",
            namespace=ns,
            registry=self.registry,
        )
        self.dead_lettered = Counter(
            "dead_lettered",
            "Events sent to the dead-letter subject.",
            ["reason"],
            namespace=ns,
            registry=self.registry,
        )
        self.batch_size = Histogram(
            "batch_size",
            "Events per consumed batch.",
            namespace=ns,
            registry=self.registry,
            buckets=(1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500),
        )
        self.insert_seconds = Histogram(
            "insert_seconds", "Latency of one batch insert.", namespace=ns, registry=self.registry
        )
        self.query_seconds = Histogram(
            "query_seconds",
            "Latency of answering an analytics query.",
            ["graph", "status"],
            namespace=ns,
            registry=self.registry,
        )
