"""JetStream set-up analytics needs before it consumes: the streams and its durable
consumer, created or updated idempotently by whichever replica starts first."""

from __future__ import annotations

import logging

from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from portcullis.natsio import connect_retrying, ensure_streams
from portcullis.subjects import ANALYTICS_DURABLE, METRICS_PREFIX, METRICS_STREAM

from portcullis_analytics.settings import AnalyticsSettings

log = logging.getLogger(__name__)


def consumer_config(settings: AnalyticsSettings) -> ConsumerConfig:
    return ConsumerConfig(
        durable_name=ANALYTICS_DURABLE,
        name=ANALYTICS_DURABLE,
        filter_subject=f"{METRICS_PREFIX}.>",
        deliver_policy=DeliverPolicy.ALL,
        ack_policy=AckPolicy.EXPLICIT,
        ack_wait=settings.ack_wait_s,
        # Unlimited on the server: analytics decides when to dead-letter, so nothing is
        # dropped without a trace.
        max_deliver=-1,
        max_ack_pending=max(1000, settings.batch_size * 4),
    )


async def prepare_jetstream(settings: AnalyticsSettings) -> None:
    nc = await connect_retrying(settings.nats_url, name="portcullis-analytics-setup")
    try:
        js = nc.jetstream()
        await ensure_streams(js)
        await js.add_consumer(METRICS_STREAM, consumer_config(settings))
        log.info("jetstream ready", extra={"stream": METRICS_STREAM, "durable": ANALYTICS_DURABLE})
    finally:
        await nc.close()
