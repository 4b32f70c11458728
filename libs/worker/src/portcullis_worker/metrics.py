"""The Prometheus metrics every worker has, on a registry of the worker's own (served at
/metrics); a service subclasses it to add those of its sink."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, PlatformCollector, ProcessCollector


class WorkerMetrics:
    def __init__(self, namespace: str, events: str) -> None:
        """``namespace``: ``portcullis_logger``; ``events``: what it consumes, for the help
        text (``Log events``)."""
        self.namespace = namespace
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        self.consumed = self.counter("consumed", f"{events} received from JetStream.")
        self.redeliveries = self.counter(
            "redeliveries", "Events received more than once (delivery count above one)."
        )
        self.dead_lettered = self.counter(
            "dead_lettered", "Events sent to the dead-letter subject.", ["reason"]
        )

    def counter(self, name: str, documentation: str, labels: list[str] | None = None) -> Counter:
        return Counter(
            name, documentation, labels or [], namespace=self.namespace, registry=self.registry
        )
