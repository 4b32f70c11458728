"""JetStream set-up the logger needs before it consumes: the streams and its durable
consumer, created or updated idempotently by whichever replica starts first."""

from __future__ import annotations

import logging

from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from portcullis.natsio import connect_retrying, ensure_streams
from portcullis.subjects import LOGGER_DURABLE, LOGS_PREFIX, LOGS_STREAM

from portcullis_logger.settings import LoggerSettings

log = logging.getLogger(__name__)


def consumer_config(settings: LoggerSettings) -> ConsumerConfig:
    return ConsumerConfig(
        durable_name=LOGGER_DURABLE,
        name=LOGGER_DURABLE,
        filter_subject=f"{LOGS_PREFIX}.>",
        deliver_policy=DeliverPolicy.ALL,
        ack_policy=AckPolicy.EXPLICIT,
        ack_wait=settings.ack_wait_s,
        # Unlimited on the server: the logger dead-letters after max_deliver itself, so
        # no message is ever dropped without a trace.
        max_deliver=-1,
        # Enough for every replica's batch and in-flight writes.
        max_ack_pending=max(1000, settings.pull_batch * 16),
    )


async def prepare_jetstream(settings: LoggerSettings) -> None:
    nc = await connect_retrying(settings.nats_url, name="portcullis-logger-setup")
    try:
        js = nc.jetstream()
        await ensure_streams(js)
        # add_consumer creates, or updates an existing durable with changed settings.
        await js.add_consumer(LOGS_STREAM, consumer_config(settings))
        log.info("jetstream ready", extra={"stream": LOGS_STREAM, "durable": LOGGER_DURABLE})
    finally:
        await nc.close()
