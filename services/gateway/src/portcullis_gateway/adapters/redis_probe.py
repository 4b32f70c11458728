"""Redis/Valkey connectivity for the health report. The gateway connects at start; the
features that read or write Redis (keys, configs, cache, limits) arrive later."""

from __future__ import annotations

import asyncio
import logging

import redis.asyncio as redis

log = logging.getLogger(__name__)


class RedisProbe:
    def __init__(self, url: str, timeout_s: float = 0.5) -> None:
        self.client = redis.Redis.from_url(
            url, socket_connect_timeout=timeout_s, socket_timeout=timeout_s
        )
        self.timeout_s = timeout_s

    async def ping(self) -> bool:
        try:
            return bool(await asyncio.wait_for(self.client.ping(), timeout=self.timeout_s * 2))
        except Exception:  # noqa: BLE001 — any failure is "not reachable"
            return False

    async def check_at_start(self) -> None:
        if await self.ping():
            log.info("Redis reachable")
        else:
            log.warning("Redis not reachable (not needed yet; health reports it)")

    async def close(self) -> None:
        try:
            await self.client.aclose()
        except Exception:  # noqa: BLE001
            pass
