"""The gateway's Redis/Valkey client (a single node, TLS with ``rediss://``, or a cluster
with ``REDIS_CLUSTER=true``) and its connectivity for the health report."""

from __future__ import annotations

import asyncio
import logging

import redis.asyncio as redis
from redis.asyncio.cluster import RedisCluster

log = logging.getLogger(__name__)


class RedisProbe:
    def __init__(self, url: str, timeout_s: float = 0.5, cluster: bool = False) -> None:
        factory = RedisCluster.from_url if cluster else redis.Redis.from_url
        self.client = factory(url, socket_connect_timeout=timeout_s, socket_timeout=timeout_s)
        self.cluster = cluster
        self.timeout_s = timeout_s

    async def connect(self) -> None:
        """A cluster client learns the slot map before the first request: redis-py's
        async cluster client, left to discover it under many concurrent commands, fails
        some of them. Unreachable is not fatal: circuits read closed until it answers."""
        if not self.cluster:
            return
        try:
            await asyncio.wait_for(self.client.initialize(), timeout=self.timeout_s * 10)
        except Exception:  # noqa: BLE001 — any failure is "not reachable yet"
            log.warning("Redis Cluster not reachable at start; will retry on use")

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
