"""Circuit breaker state shared by every gateway replica through Redis/Valkey.

Results are recorded with one Lua script (atomic: counting, opening and the half-open
probe happen in one step, whatever the number of replicas), in a background task so the
caller never waits for it. Whether a circuit is open is answered from a local map: a key
seen for the first time is read once, and a poller refreshes every known key each
``refresh_s``, so other replicas' openings arrive within that delay. When Redis is
unreachable every circuit reads as closed (fail open: a breaker must not become the
outage).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict

import redis.asyncio as redis

from portcullis_gateway.routing.config import CircuitSpec

log = logging.getLogger(__name__)

# KEYS[1]: counts (hash: total, fails, probe), KEYS[2]: open marker (expires at reopen).
# ARGV: failed (0/1), now_ms, window_ms, minimum_requests, threshold (0: none),
# percentage (0: none), cooldown_ms. Returns the open-until time in ms, or 0.
_RECORD = """
local open_until = tonumber(redis.call('GET', KEYS[2]) or '0')
if open_until > 0 then
  return open_until
end
local failed = tonumber(ARGV[1])
local now = tonumber(ARGV[2])
local cooldown = tonumber(ARGV[7])
local function open()
  local until_ms = now + cooldown
  redis.call('SET', KEYS[2], until_ms, 'PX', cooldown)
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[1], 'probe', 1)
  redis.call('PEXPIRE', KEYS[1], cooldown + tonumber(ARGV[3]))
  return until_ms
end
if redis.call('HGET', KEYS[1], 'probe') then
  -- Half-open after a cooldown: the first result decides.
  if failed == 1 then
    return open()
  end
  redis.call('DEL', KEYS[1])
  return 0
end
local total = redis.call('HINCRBY', KEYS[1], 'total', 1)
if total == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
end
if failed == 0 then
  return 0
end
local fails = redis.call('HINCRBY', KEYS[1], 'fails', 1)
local threshold = tonumber(ARGV[5])
local percentage = tonumber(ARGV[6])
if total >= tonumber(ARGV[4]) and ((threshold > 0 and fails >= threshold)
    or (percentage > 0 and fails * 100 >= percentage * total)) then
  return open()
end
return 0
"""


def _keys(key: str) -> tuple[str, str]:
    # One hash tag for both keys: they land on the same slot in Redis Cluster.
    return f"pk:cb:{{{key}}}:n", f"pk:cb:{{{key}}}:open"


def _now_ms() -> int:
    return int(time.time() * 1000)


class Circuits:
    def __init__(self, client: redis.Redis, refresh_s: float = 0.5, max_keys: int = 10_000):
        self.client = client
        self.refresh_s = refresh_s
        self.max_keys = max_keys
        self._record = client.register_script(_RECORD)
        # circuit key -> open until (epoch ms; 0 when closed), for keys seen lately.
        self._open: OrderedDict[str, int] = OrderedDict()
        self._tasks: set[asyncio.Task] = set()
        self._poller: asyncio.Task | None = None
        self._warned_at = 0.0

    def start(self) -> None:
        self._poller = asyncio.create_task(self._poll())

    async def close(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
        for task in list(self._tasks):
            task.cancel()

    async def is_open(self, key: str) -> bool:
        until = self._open.get(key)
        if until is None:
            until = await self._load(key)
        return until > _now_ms()

    def record(self, key: str, spec: CircuitSpec, failed: bool) -> None:
        """Count one result, off the request path."""
        task = asyncio.create_task(self._record_now(key, spec, failed))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _record_now(self, key: str, spec: CircuitSpec, failed: bool) -> None:
        try:
            until = await self._record(
                keys=list(_keys(key)),
                args=[
                    int(failed),
                    _now_ms(),
                    spec.window,
                    spec.minimum_requests,
                    spec.failure_threshold or 0,
                    spec.failure_threshold_percentage or 0,
                    spec.cooldown_interval,
                ],
            )
        except Exception as exc:  # noqa: BLE001 — the breaker fails open
            self._warn(exc)
            return
        self._remember(key, int(until))
        if until:
            log.warning("circuit opened", extra={"circuit": key, "open_until_ms": int(until)})

    async def _load(self, key: str) -> int:
        try:
            value = await self.client.get(_keys(key)[1])
            until = int(value) if value else 0
        except Exception as exc:  # noqa: BLE001
            self._warn(exc)
            until = 0
        self._remember(key, until)
        return until

    def _remember(self, key: str, until: int) -> None:
        self._open[key] = until
        self._open.move_to_end(key)
        while len(self._open) > self.max_keys:
            self._open.popitem(last=False)

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self.refresh_s)
            keys = list(self._open)
            if not keys:
                continue
            try:
                values = await self.client.mget([_keys(key)[1] for key in keys])
            except Exception as exc:  # noqa: BLE001
                self._warn(exc)
                continue
            for key, value in zip(keys, values, strict=True):
                if key in self._open:
                    self._open[key] = int(value) if value else 0

    def _warn(self, exc: Exception) -> None:
        now = time.monotonic()
        if now - self._warned_at > 10:
            self._warned_at = now
            log.warning("circuit breaker state unavailable: %s", type(exc).__name__)
