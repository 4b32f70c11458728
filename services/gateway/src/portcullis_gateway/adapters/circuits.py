"""Circuit breaker state shared by every gateway replica through Redis/Valkey, a single
node or a cluster.

Results are recorded with one Lua script (atomic: counting, opening and the half-open
probe's verdict happen in one step, whatever the number of replicas), in a background
task so the caller never waits for it. Whether a circuit is open is answered from a
local map: a key seen for the first time is read once, and a poller refreshes every
known key each ``refresh_s``, so other replicas' openings arrive within that delay. A
closed circuit costs a map lookup, no round trip. Once the cooldown ends the circuit is
half-open: a second script lets exactly one call across all replicas claim the probe
(SET NX with a TTL, so a probe whose replica died frees it); the others skip the target
until the probe's result closes or reopens it. When Redis is unreachable every circuit
reads as closed (fail open: a breaker must not become the outage).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections import OrderedDict

import redis.asyncio as redis
from redis.asyncio.cluster import RedisCluster

from portcullis_gateway.routing.circuit import Gate, gate, probe_claim_ms
from portcullis_gateway.routing.config import CircuitSpec

log = logging.getLogger(__name__)

# KEYS: counts (hash: total, fails), state (open-until ms; it outlives the cooldown by one
# window, which is the half-open period), probe claim (the claim token).
# ARGV: failed (0/1), now_ms, window_ms, minimum_requests, threshold (0: none),
# percentage (0: none), cooldown_ms, probe token ('': not the probe).
# Returns the open-until time in ms, or 0 when closed.
_RECORD = """
local failed = tonumber(ARGV[1])
local now = tonumber(ARGV[2])
local function open()
  local cooldown = tonumber(ARGV[7])
  local until_ms = now + cooldown
  redis.call('SET', KEYS[2], until_ms, 'PX', cooldown + tonumber(ARGV[3]))
  redis.call('DEL', KEYS[1], KEYS[3])
  return until_ms
end
local open_until = tonumber(redis.call('GET', KEYS[2]) or '0')
if open_until > 0 then
  -- Open or half-open: only the probe's result counts, not the late results of calls
  -- that began before the opening. A probe whose claim expired unclaimed still counts.
  local claim = redis.call('GET', KEYS[3])
  if open_until > now or ARGV[8] == '' or (claim and claim ~= ARGV[8]) then
    return open_until
  end
  if failed == 1 then
    return open()
  end
  redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
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

# KEYS: state, probe claim. ARGV: now_ms, token, claim_ms.
# Returns {open-until ms (0: closed), 1 if this call is the probe, the claim's TTL in ms}.
_CLAIM = """
local open_until = tonumber(redis.call('GET', KEYS[1]) or '0')
if open_until == 0 or open_until > tonumber(ARGV[1]) then
  return {open_until, 0, 0}
end
if redis.call('SET', KEYS[2], ARGV[2], 'NX', 'PX', ARGV[3]) then
  return {open_until, 1, 0}
end
return {open_until, 0, redis.call('PTTL', KEYS[2])}
"""


def redis_keys(key: str) -> tuple[str, str, str]:
    """Counts, state and probe claim of one circuit. One hash tag for all three: a script
    touches several of them, so they must share a slot in Redis Cluster."""
    tagged = f"pk:cb:{{{key}}}"
    return f"{tagged}:n", f"{tagged}:open", f"{tagged}:probe"


def _now_ms() -> int:
    return int(time.time() * 1000)


class Circuits:
    def __init__(
        self, client: redis.Redis | RedisCluster, refresh_s: float = 0.5, max_keys: int = 10_000
    ):
        self.client = client
        self.refresh_s = refresh_s
        self.max_keys = max_keys
        self._record = client.register_script(_RECORD)
        self._claim = client.register_script(_CLAIM)
        # The poller reads every known circuit at once: one MGET on a single node; on a
        # cluster the circuits' keys sit in different slots, so one MGET per slot,
        # pipelined per node.
        self._read_many = client.mget_nonatomic if isinstance(client, RedisCluster) else client.mget
        # circuit key -> open until (epoch ms; 0 when closed), for keys seen lately.
        self._open: OrderedDict[str, int] = OrderedDict()
        # circuit key -> until when a probe of its current half-open period is in flight.
        # Dropped whenever the circuit's open-until changes: a new period, a new probe.
        self._probing: dict[str, int] = {}
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

    async def admit(self, key: str, timeout_s: float | None = None) -> str | None:
        """None: skip the target. Otherwise the call may go ahead; hand the returned
        ticket to ``record``: empty for an ordinary call, the claim token when this
        call is the half-open probe (``timeout_s``, the call's own timeout, bounds how
        long the claim is held)."""
        now = _now_ms()
        decision = gate(self._open.get(key), self._probing.get(key, 0), now)
        if decision is Gate.CALL:
            return ""
        if decision is Gate.SKIP:
            return None
        return await self._ask(key, timeout_s, now)

    def record(self, key: str, spec: CircuitSpec, failed: bool, ticket: str = "") -> None:
        """Count one result, off the request path."""
        if ticket:
            # This replica's probe is over, whatever the verdict.
            self._probing.pop(key, None)
        task = asyncio.create_task(self._record_now(key, spec, failed, ticket))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _record_now(self, key: str, spec: CircuitSpec, failed: bool, ticket: str) -> None:
        try:
            until = await self._record(
                keys=list(redis_keys(key)),
                args=[
                    int(failed),
                    _now_ms(),
                    spec.window,
                    spec.minimum_requests,
                    spec.failure_threshold or 0,
                    spec.failure_threshold_percentage or 0,
                    spec.cooldown_interval,
                    ticket,
                ],
            )
        except Exception as exc:  # noqa: BLE001 — the breaker fails open
            self._warn(exc)
            return
        opened = int(until) and int(until) != self._open.get(key)
        self._remember(key, int(until))
        if opened:
            log.warning("circuit opened", extra={"circuit": key, "open_until_ms": int(until)})

    async def _ask(self, key: str, timeout_s: float | None, now: int) -> str | None:
        _, state, claim = redis_keys(key)
        token = secrets.token_hex(8)
        claim_ms = probe_claim_ms(timeout_s)
        try:
            until, claimed, claim_left_ms = await self._claim(
                keys=[state, claim], args=[now, token, claim_ms]
            )
        except Exception as exc:  # noqa: BLE001
            self._warn(exc)
            self._remember(key, 0)
            return ""
        self._remember(key, int(until))
        if not until:
            return ""
        if claimed:
            self._probing[key] = now + claim_ms
            return token
        if claim_left_ms > 0:
            self._probing[key] = now + int(claim_left_ms)
        return None

    def _set(self, key: str, until: int) -> None:
        if self._open.get(key) != until:
            self._probing.pop(key, None)
            self._open[key] = until

    def _remember(self, key: str, until: int) -> None:
        self._set(key, until)
        self._open.move_to_end(key)
        while len(self._open) > self.max_keys:
            evicted, _ = self._open.popitem(last=False)
            self._probing.pop(evicted, None)

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self.refresh_s)
            keys = list(self._open)
            if not keys:
                continue
            try:
                values = await self._read_many([redis_keys(key)[1] for key in keys])
            except Exception as exc:  # noqa: BLE001
                self._warn(exc)
                continue
            for key, value in zip(keys, values, strict=True):
                if key in self._open:  # not evicted meanwhile
                    self._set(key, int(value) if value else 0)

    def _warn(self, exc: Exception) -> None:
        now = time.monotonic()
        if now - self._warned_at > 10:
            self._warned_at = now
            log.warning("circuit breaker state unavailable: %s", type(exc).__name__)
