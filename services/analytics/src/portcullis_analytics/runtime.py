"""The objects a running analytics process shares between its handlers, built once."""

from __future__ import annotations

from dataclasses import dataclass

from faststream.nats import NatsBroker

from portcullis_analytics.adapters.store import AnalyticsStore
from portcullis_analytics.metrics import AnalyticsMetrics
from portcullis_analytics.settings import AnalyticsSettings


@dataclass
class Runtime:
    settings: AnalyticsSettings
    broker: NatsBroker
    store: AnalyticsStore
    metrics: AnalyticsMetrics
