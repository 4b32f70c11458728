"""A worker's durable JetStream consumer: its config, and the idempotent set-up (streams
plus the durable) that whichever replica starts first performs."""

from __future__ import annotations

import logging

from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from portcullis.natsio import connect_retrying, ensure_streams

log = logging.getLogger(__name__)


def durable_config(
    durable: str, subject_prefix: str, ack_wait_s: float, max_ack_pending: int
) -> ConsumerConfig:
    return ConsumerConfig(
        durable_name=durable,
        name=durable,
        filter_subject=f"{subject_prefix}.>",
        deliver_policy=DeliverPolicy.ALL,
        ack_policy=AckPolicy.EXPLICIT,
        ack_wait=ack_wait_s,
        # Unlimited on the server: the worker dead-letters after max_deliver itself, so
        # no message is ever dropped without a trace.
        max_deliver=-1,
        max_ack_pending=max_ack_pending,
    )


async def prepare_durable(nats_url: str, service: str, stream: str, config: ConsumerConfig) -> None:
    nc = await connect_retrying(nats_url, name=f"portcullis-{service}-setup")
    try:
        js = nc.jetstream()
        await ensure_streams(js)
        # add_consumer creates, or updates an existing durable with changed settings.
        await js.add_consumer(stream, config)
        log.info("jetstream ready", extra={"stream": stream, "durable": config.durable_name})
    finally:
        await nc.close()
