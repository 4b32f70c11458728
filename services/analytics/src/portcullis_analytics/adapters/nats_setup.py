"""Analytics' durable consumer on PK_METRICS, set up before it consumes."""

from __future__ import annotations

from portcullis.subjects import ANALYTICS_DURABLE, METRICS_PREFIX, METRICS_STREAM
from portcullis_worker.durable import durable_config, prepare_durable

from portcullis_analytics.settings import AnalyticsSettings


async def prepare_jetstream(settings: AnalyticsSettings) -> None:
    config = durable_config(
        ANALYTICS_DURABLE,
        METRICS_PREFIX,
        settings.ack_wait_s,
        max_ack_pending=max(1000, settings.batch_size * 4),
    )
    await prepare_durable(settings.nats_url, "analytics", METRICS_STREAM, config)
