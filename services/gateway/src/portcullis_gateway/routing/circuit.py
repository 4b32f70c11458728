"""Circuit breaker decisions: which target a circuit belongs to, which outcome counts
against it, and whether a call may go ahead given what this replica knows of its state.
The state itself lives in Redis (``adapters.circuits``), shared by replicas."""

from __future__ import annotations

import hashlib
from enum import Enum

from portcullis_gateway.routing.config import CircuitSpec

# How long a half-open probe holds its claim when the call has no timeout of its own. A
# probe slower than its claim lets one more probe in per claim period, no more; a probe
# whose replica died frees the circuit after one claim period.
PROBE_CLAIM_MS = 10_000
PROBE_CLAIM_MAX_MS = 60_000
# A probe's result is recorded in the background after its call ends; its claim outlives
# the call's timeout by this much so the result lands before anyone else may claim.
PROBE_RECORD_SLACK_MS = 1_000


class Gate(Enum):
    CALL = "call"  # closed: call the target, no Redis round trip
    SKIP = "skip"  # open, or a half-open probe is in flight
    ASK = "ask"  # not seen yet, or half-open: Redis answers, and may make this the probe


def circuit_key(provider: str, base_url: str, credential: str | None) -> str:
    """One circuit per upstream identity: the same provider, URL and key share it across
    configs and replicas. The credential is hashed: keys never reach Redis."""
    raw = f"{provider}\x1f{base_url}\x1f{credential or ''}".encode()
    return hashlib.blake2b(raw, digest_size=12).hexdigest()


def counts_as_failure(status: int, gateway_side: bool, spec: CircuitSpec) -> bool:
    if gateway_side:
        return True
    if spec.failure_status_codes is not None:
        return status in spec.failure_status_codes
    return status == 429 or status >= 500


def gate(open_until_ms: int | None, probe_until_ms: int, now_ms: int) -> Gate:
    """``open_until_ms``: None when this replica has not seen the circuit, 0 when it is
    closed, else the end of its cooldown; past that end it is half-open until a probe
    closes or reopens it. ``probe_until_ms``: until when this replica knows a probe of
    this half-open period to be in flight (its own or another replica's)."""
    if open_until_ms is None:
        return Gate.ASK
    if open_until_ms == 0:
        return Gate.CALL
    if open_until_ms > now_ms or probe_until_ms > now_ms:
        return Gate.SKIP
    return Gate.ASK


def probe_claim_ms(timeout_s: float | None) -> int:
    """How long a half-open probe holds its claim: its call's timeout (plus the time to
    record the result) when it has one, within bounds."""
    if timeout_s is None:
        return PROBE_CLAIM_MS
    return min(int(timeout_s * 1000) + PROBE_RECORD_SLACK_MS, PROBE_CLAIM_MAX_MS)
