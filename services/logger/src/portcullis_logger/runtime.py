"""The objects a running logger shares between its handlers, built once per process."""

from __future__ import annotations

from dataclasses import dataclass

from faststream.nats import NatsBroker

from portcullis_logger.adapters.log_store import LogStore
from portcullis_logger.metrics import LoggerMetrics
from portcullis_logger.settings import LoggerSettings


@dataclass
class Runtime:
    settings: LoggerSettings
    broker: NatsBroker
    store: LogStore
    metrics: LoggerMetrics
