"""What to do with a message whose sink write failed: redeliver later with back-off, or
give up and dead-letter it once it has been delivered ``max_deliver`` times."""

from __future__ import annotations

from dataclasses import dataclass

MAX_DELAY_S = 60.0


@dataclass(frozen=True)
class Retry:
    delay_s: float


@dataclass(frozen=True)
class DeadLetter:
    reason: str


def backoff_s(num_delivered: int, base_delay_s: float) -> float:
    """base, 2*base, 4*base, ... capped at a minute."""
    return min(base_delay_s * 2 ** max(num_delivered - 1, 0), MAX_DELAY_S)


def after_failure(
    num_delivered: int, max_deliver: int, base_delay_s: float, reason: str
) -> Retry | DeadLetter:
    """The server-side consumer redelivers without limit; this decides when to stop, so a
    message is never dropped silently by the server's own max-deliver."""
    if num_delivered >= max_deliver:
        return DeadLetter(f"{reason} (after {num_delivered} deliveries)")
    return Retry(backoff_s(num_delivered, base_delay_s))
