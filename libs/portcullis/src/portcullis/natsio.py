"""Small helpers around nats-py shared by every service."""

from __future__ import annotations

import asyncio
import logging

import nats
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError, NotFoundError

from portcullis.subjects import DUPLICATE_WINDOW_S, STREAMS

log = logging.getLogger(__name__)


def stream_config(name: str, subjects: list[str]) -> StreamConfig:
    return StreamConfig(
        name=name,
        subjects=subjects,
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        discard=DiscardPolicy.OLD,
        # Keep a week of events so a worker that was away can catch up.
        max_age=7 * 24 * 3600,
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
