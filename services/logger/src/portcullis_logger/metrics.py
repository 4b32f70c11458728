"""Prometheus metrics of the logger, on a registry of its own (served at /metrics)."""

from __future__ import annotations

from portcullis_worker import WorkerMetrics
from prometheus_client import Histogram


class LoggerMetrics(WorkerMetrics):
    def __init__(self) -> None:
        super().__init__("portcullis_logger", "Log events")
        self.written = self.counter("written", "Log objects written to S3.")
        self.write_failures = self.counter("write_failures", "Failed S3 writes.")
        self.oversized = self.counter(
            "oversized", "Log events read from the Object Store (over NATS max_payload)."
        )
        self.objects_missing = self.counter(
            "objects_missing",
            "Oversized events whose object was gone and whose log was not yet written:"
            " logged without bodies, marked truncated.",
        )
        self.write_seconds = Histogram(
            "write_seconds",
            "Latency of one S3 log write.",
            namespace=self.namespace,
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.rpc_seconds = Histogram(
            "rpc_seconds",
            "Latency of answering a log-by-id request.",
            ["status"],
            namespace=self.namespace,
            registry=self.registry,
        )
