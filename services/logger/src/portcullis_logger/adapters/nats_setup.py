"""The logger's durable consumer on PK_LOGS, set up before it consumes."""

from __future__ import annotations

from portcullis.subjects import LOGGER_DURABLE, LOGS_PREFIX, LOGS_STREAM
from portcullis_worker.durable import durable_config, prepare_durable

from portcullis_logger.settings import LoggerSettings


async def prepare_jetstream(settings: LoggerSettings) -> None:
    config = durable_config(
        LOGGER_DURABLE,
        LOGS_PREFIX,
        settings.ack_wait_s,
        # Enough for every replica's batch and in-flight writes.
        max_ack_pending=max(1000, settings.pull_batch * 16),
    )
    await prepare_durable(settings.nats_url, "logger", LOGS_STREAM, config)
