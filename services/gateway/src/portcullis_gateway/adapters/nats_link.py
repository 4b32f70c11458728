"""The gateway's NATS connection, made in the background so the gateway starts and
serves while NATS is down; streams are ensured once connected and after reconnects.

``publish_acked`` is JetStream's publish-with-ack, pared down for one publish per event:
the stream's ack comes to one wildcard inbox of the link's, found by a counter token
and judged by a substring test, where nats-py's ``publish_async`` takes a semaphore,
a random token, a JSON parse and a dataclass per message (together about a tenth of
the gateway's CPU per request in a py-spy profile).
"""

from __future__ import annotations

import asyncio
import logging

import nats
from nats.js import JetStreamContext
from portcullis import oversized
from portcullis.natsio import connect_retrying, ensure_streams

log = logging.getLogger(__name__)


class PublishRefused(Exception):
    """JetStream did not store a message (its answer, or no stream for the subject).

    ``permanent``: JetStream judged the message itself bad (a 400: wrong expected stream,
    a header it refuses, ...), so sending it again can never succeed; anything else (no
    stream yet, no space, a leader election) may pass later."""

    def __init__(self, answer: str, permanent: bool = False) -> None:
        super().__init__(answer)
        self.permanent = permanent


class NatsLink:
    def __init__(self, url: str, name: str = "portcullis-gateway") -> None:
        self.url = url
        self.name = name
        self.nc: nats.NATS | None = None
        self.js: JetStreamContext | None = None
        self.streams_ready = False
        # Set whenever the link becomes usable, so the spool replay can start at once.
        self.came_back = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._closing = False
        self._ack_prefix = ""
        self._ack_seq = 0
        self._pending_acks: dict[str, asyncio.Future] = {}

    @property
    def usable(self) -> bool:
        return self.streams_ready and self.nc is not None and self.nc.is_connected

    @property
    def max_payload(self) -> int:
        """The server's max_payload (from its INFO; 0 before the first connect)."""
        return self.nc.max_payload if self.nc is not None else 0

    @property
    def connected(self) -> bool:
        return self.nc is not None and self.nc.is_connected

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="nats-link")

    async def _run(self) -> None:
        self.nc = await connect_retrying(
            self.url,
            self.name,
            error_cb=self._on_error,
            disconnected_cb=self._on_disconnected,
            reconnected_cb=self._on_reconnected,
        )
        self.js = self.nc.jetstream(timeout=5)
        # One inbox for every ack; nats-py restores the subscription after a reconnect.
        self._ack_prefix = self.nc.new_inbox() + "."
        await self.nc.subscribe(self._ack_prefix + "*", cb=self._on_ack)
        log.info("connected to NATS", extra={"url": self.url})
        await self._ensure_streams()

    async def _ensure_streams(self) -> None:
        delay = 0.2
        while not self._closing:
            try:
                assert self.js is not None
                await ensure_streams(self.js)
            except Exception as exc:  # noqa: BLE001 — retried until NATS answers
                log.warning("could not ensure streams yet", extra={"error": str(exc)})
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            self.streams_ready = True
            self.came_back.set()
            return

    async def publish_acked(
        self, subject: str, data: bytes, headers: dict[str, str]
    ) -> asyncio.Future:
        """Publish to JetStream; the future ends when the stream has stored the message,
        or fails when it refused it (or no stream takes the subject)."""
        assert self.nc is not None and self._ack_prefix
        self._ack_seq += 1
        token = str(self._ack_seq)
        future = asyncio.get_running_loop().create_future()
        self._pending_acks[token] = future
        try:
            await self.nc.publish(subject, data, reply=self._ack_prefix + token, headers=headers)
        except BaseException:
            del self._pending_acks[token]
            raise
        return future

    async def put_object(self, name: str, data: bytes) -> None:
        """Put an oversized event into the Object Store bucket (chunk by chunk, acked)."""
        assert self.js is not None
        await oversized.put(self.js, name, data, self.max_payload)

    def forget_unacked(self) -> None:
        """Drop the futures no ack will come for any more (timed out and cancelled)."""
        self._pending_acks = {
            token: future for token, future in self._pending_acks.items() if not future.done()
        }

    async def _on_ack(self, msg) -> None:
        future = self._pending_acks.pop(msg.subject[len(self._ack_prefix) :], None)
        if future is None or future.done():
            return
        data = msg.data
        # A stored message's ack is {"stream":..,"seq":..}; a refusal carries "error";
        # no stream for the subject answers an empty 503 status message.
        if not data or b'"error"' in data:
            future.set_exception(
                PublishRefused(data[:300].decode("utf-8", "replace"), b'"code":400' in data)
            )
        else:
            future.set_result(None)

    async def _on_error(self, exc: Exception) -> None:
        log.debug("NATS error", extra={"error": str(exc)})

    async def _on_disconnected(self) -> None:
        if not self._closing:
            log.warning("disconnected from NATS; events go to the spool")

    async def _on_reconnected(self) -> None:
        log.info("reconnected to NATS")
        # A NATS that lost its store needs the streams again; ensure_streams is idempotent.
        asyncio.create_task(self._ensure_streams(), name="nats-ensure-streams")

    async def close(self) -> None:
        self._closing = True
        if self._task is not None and not self._task.done():
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):  # noqa: BLE001
                pass
        if self.nc is not None and not self.nc.is_closed:
            try:
                await asyncio.wait_for(self.nc.close(), timeout=2)
            except (TimeoutError, Exception):  # noqa: BLE001 — closing anyway
                pass
