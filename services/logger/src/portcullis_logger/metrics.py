"""Prometheus metrics of the logger, on a registry of its own (served at /metrics)."""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)


class LoggerMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        ns = "portcullis_logger"
        self.consumed = Counter(
            "consumed", "Log events received from JetStream.", namespace=ns, registry=self.registry
        )
        self.written = Counter(
            "written", "Log objects written to S3.", namespace=ns, registry=self.registry
        )
        self.write_failures = Counter(
            "write_failures", "Failed S3 writes.", namespace=ns, registry=self.registry
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
        self.write_seconds = Histogram(
            "write_seconds",
            "Latency of one S3 log write.",
            namespace=ns,
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.rpc_seconds = Histogram(
            "rpc_seconds",
            "Latency of answering a log-by-id request.",
            ["status"],
            namespace=ns,
            registry=self.registry,
        )
