"""Parking a message a worker gives up on: published to its family's dead-letter subject
(stream PK_DLQ) with the reason, counted, then terminated so JetStream stops
redelivering it. A failed publish leaves it with JetStream (nak): it is never dropped."""

from __future__ import annotations

import logging

from nats.aio.msg import Msg
from portcullis.dead_letter import Publisher, publish_dead_letter
from prometheus_client import Counter

log = logging.getLogger(__name__)


class DeadLetters:
    def __init__(
        self,
        publisher: Publisher,
        *,
        family: str,
        prefix: str,
        counter: Counter,
        nak_delay_s: float,
        event: str,
    ) -> None:
        """``family``/``prefix``: e.g. ``logs`` / ``pk.logs``; ``counter`` is labelled by
        kind (``undecodable``, ``write_failed``, ...); ``event`` names the message in the
        log line (``log event``)."""
        self._publisher = publisher
        self._family, self._prefix = family, prefix
        self._counter = counter
        self._nak_delay_s = nak_delay_s
        self._event = event

    async def park(self, msg: Msg, reason: str, kind: str) -> None:
        try:
            await publish_dead_letter(self._publisher, msg, self._family, self._prefix, reason)
        except Exception:
            # Not parked: leave it un-acked so it comes back and we try again.
            log.exception("dead-letter publish failed")
            await msg.nak(delay=self._nak_delay_s)
            return
        self._counter.labels(kind).inc()
        log.warning(f"{self._event} dead-lettered", extra={"reason": reason})
        # term: the server must not redeliver what is now parked in the DLQ.
        await msg.term()
