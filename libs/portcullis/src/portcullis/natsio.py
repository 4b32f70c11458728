"""Small helpers around nats-py shared by every service."""

from __future__ import annotations

import asyncio
import logging

import nats
from nats.js import JetStreamContext
from nats.js.api import (
    DiscardPolicy,
    ObjectStoreConfig,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.errors import BadRequestError, NotFoundError

from portcullis.subjects import DUPLICATE_WINDOW_S, OVERSIZED_BUCKET, RETENTION_S, STREAMS

log = logging.getLogger(__name__)


def stream_config(name: str, subjects: list[str]) -> StreamConfig:
    return StreamConfig(
        name=name,
        subjects=subjects,
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        discard=DiscardPolicy.OLD,
        max_age=RETENTION_S,
        duplicate_window=DUPLICATE_WINDOW_S,
    )


async def ensure_streams(js: JetStreamContext) -> None:
    """Create or update every Portcullis stream. Safe to call from every replica."""
    for name, subjects in STREAMS.items():
        cfg = stream_config(name, subjects)
        try:
            await js.stream_info(name)
        except NotFoundError:
            try:
                await js.add_stream(cfg)
                log.info("created stream", extra={"stream": name})
            except BadRequestError:
                # Another replica won the race; that is fine.
                pass
            continue
        await js.update_stream(cfg)
    await ensure_object_store(js)


async def ensure_object_store(js: JetStreamContext) -> None:
    """The Object Store bucket of oversized events, kept as long as the events that
    point into it."""
    try:
        await js.stream_info(f"OBJ_{OVERSIZED_BUCKET}")
        return
    except NotFoundError:
        pass
    config = ObjectStoreConfig(
        description="Portcullis events over max_payload",
        ttl=RETENTION_S,
        storage=StorageType.FILE,
    )
    try:
        await js.create_object_store(OVERSIZED_BUCKET, config=config)
        log.info("created object store", extra={"bucket": OVERSIZED_BUCKET})
    except BadRequestError:
        pass  # another replica won the race


async def connect(url: str, name: str, **kwargs) -> nats.NATS:
    """Connect with endless reconnects: a service outlives NATS restarts."""
    return await nats.connect(
        url,
        name=name,
        allow_reconnect=True,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.5,
        connect_timeout=2,
        **kwargs,
    )


async def connect_retrying(url: str, name: str, **kwargs) -> nats.NATS:
    """Connect, waiting for NATS to come up the first time (start order is free)."""
    delay = 0.2
    while True:
        try:
            return await connect(url, name, **kwargs)
        except Exception as exc:  # noqa: BLE001 — any failure means "not yet"
            log.warning("NATS not reachable yet", extra={"url": url, "error": str(exc)})
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
