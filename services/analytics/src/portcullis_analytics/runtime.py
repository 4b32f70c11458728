"""The objects a running analytics process shares between its handlers, built once."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from faststream.nats import NatsBroker
from portcullis.subjects import METRICS_PREFIX
from portcullis_worker import DeadLetters

from portcullis_analytics.adapters.store import AnalyticsStore
from portcullis_analytics.metrics import AnalyticsMetrics
from portcullis_analytics.settings import AnalyticsSettings


@dataclass
class Runtime:
    settings: AnalyticsSettings
    # Serves the RPC and publishes the dead letters.
    broker: NatsBroker
    store: AnalyticsStore
    metrics: AnalyticsMetrics

    @cached_property
    def dead_letters(self) -> DeadLetters:
        return DeadLetters(
            self.broker,
            family="metrics",
            prefix=METRICS_PREFIX,
            counter=self.metrics.dead_lettered,
            nak_delay_s=self.settings.nak_delay_s,
            event="metric event",
        )
