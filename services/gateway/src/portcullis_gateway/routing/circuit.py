"""Circuit breaker decisions: which target a circuit belongs to and which outcome counts
against it. The state itself lives in Redis (``adapters.circuits``), shared by replicas."""

from __future__ import annotations

import hashlib

from portcullis_gateway.routing.config import CircuitSpec


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
