"""One keep-alive HTTP/1.1 connection to a provider: an asyncio Protocol with
httptools' parser (llhttp) reading the answer, and the ``Response`` a caller reads it
through. One request at a time per connection (no pipelining).

Flow control both ways: the request body waits for the socket to drain
(``pause_writing``), and a reader slower than the provider pauses the socket once
``HIGH_WATER`` bytes are buffered. Timers are armed only while someone waits, so a
request whose answer is already buffered pays for none.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import httptools

from portcullis_gateway.adapters.http.errors import (
    HttpClientError,
    ProtocolViolation,
    ReadTimeout,
    RemoteClosed,
)

if TYPE_CHECKING:
    from portcullis_gateway.adapters.http.pool import Origin, Pool

# A reader this far behind the provider pauses the socket until it catches up.
HIGH_WATER = 512 * 1024
_GZIP = zlib.MAX_WBITS | 16


class Headers:
    """The answer's headers by lower-cased name (the last of repeated ones), built on
    first use: most answers are read by ``content_type`` alone."""

    __slots__ = ("_by_name",)

    def __init__(self, raw: list[tuple[bytes, bytes]]) -> None:
        self._by_name = {name.decode("latin-1"): value.decode("latin-1") for name, value in raw}

    def get(self, name: str, default: str | None = None) -> str | None:
        return self._by_name.get(name.lower(), default)

    def __getitem__(self, name: str) -> str:
        return self._by_name[name.lower()]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._by_name

    def items(self):
        return self._by_name.items()


class Response:
    """An answer whose status and headers have arrived; its body is read with
    ``read()`` (whole) or ``readany()`` (what has arrived, ``b""`` at the end). Every
    response must end with ``release()`` (the connection goes back to the pool if the
    answer was read to its end) or ``close()``."""

    __slots__ = (
        "status",
        "raw_headers",
        "content_type",
        "_headers",
        "_conn",
        "_chunks",
        "_buffered",
        "_eof",
        "_error",
        "_done",
    )

    def __init__(
        self, conn: Connection, status: int, raw_headers: list[tuple[bytes, bytes]], ctype: str
    ) -> None:
        self.status = status
        # Names lower-cased; a decoded body's content-encoding and -length are gone.
        self.raw_headers = raw_headers
        self.content_type = ctype
        self._headers: Headers | None = None
        self._conn = conn
        self._chunks: list[bytes] = []
        self._buffered = 0
        self._eof = False
        self._error: BaseException | None = None
        self._done = False

    @property
    def headers(self) -> Headers:
        if self._headers is None:
            self._headers = Headers(self.raw_headers)
        return self._headers

    def at_eof(self) -> bool:
        return self._eof and not self._chunks

    async def readany(self) -> bytes:
        while not self._chunks:
            if self._error is not None:
                raise self._error
            if self._eof:
                return b""
            await self._conn.wait()
        chunks = self._chunks
        data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        chunks.clear()
        if self._buffered >= HIGH_WATER:
            self._conn.resume()
        self._buffered = 0
        return data

    async def read(self) -> bytes:
        parts: list[bytes] = []
        while True:
            chunk = await self.readany()
            if not chunk:
                return b"".join(parts)
            parts.append(chunk)

    async def iter_chunks(self) -> AsyncIterator[bytes]:
        while chunk := await self.readany():
            yield chunk

    def release(self) -> None:
        """Done with the answer: a connection whose answer ended cleanly is reused,
        any other is closed (an unread rest of a body cannot be skipped cheaply)."""
        if self._done:
            return
        self._done = True
        self._conn.finish(self, reusable=self._eof and self._error is None)

    def close(self) -> None:
        if self._done:
            return
        self._done = True
        self._conn.finish(self, reusable=False)

    # Called by the connection.
    def _feed(self, data: bytes) -> bool:
        self._chunks.append(data)
        self._buffered += len(data)
        return self._buffered >= HIGH_WATER

    def _fail(self, exc: BaseException) -> None:
        if not self._eof and self._error is None:
            self._error = exc


class Connection(asyncio.Protocol):
    """The socket, the parser and the state of the one request in flight."""

    def __init__(self, pool: Pool, origin: Origin, loop: asyncio.AbstractEventLoop) -> None:
        self.pool = pool
        self.origin = origin
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.closed = False
        self.idle_since = 0.0
        self.reused = False
        self.response: Response | None = None
        self._waiter: asyncio.Future | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._deadline: asyncio.TimerHandle | None = None
        self._read_timeout = 0.0
        self._drain: asyncio.Future | None = None
        self._paused_reading = False
        self._error: BaseException | None = None
        # A request is in flight, from its first byte sent until its answer's release.
        self._busy = False
        self._body_sent = True  # the whole request body went out
        self._reset_message()
        self._head_only = False

    def _reset_message(self) -> None:
        self._headers: list[tuple[bytes, bytes]] = []
        self._ctype = ""
        self._encoding = b""
        self._decoder: zlib._Decompress | None = None
        self._inflated = False  # the decoder has taken a piece of the body without error
        self._started = False  # a byte of the answer has arrived
        self._complete = False
        self._close_delimited = False
        self._has_length = False
        self._chunked = False
        self._keep_alive = False
        self._informational = False

    # -- the exchange ---------------------------------------------------------------

    async def exchange(
        self,
        head: bytes,
        body: bytes | AsyncIterator[bytes] | None,
        chunked: bool,
        read_timeout: float,
        deadline: float | None,
        head_only: bool,
    ) -> Response:
        """Send one request and wait for its answer's head."""
        self._reset_message()
        self._error = None
        self.response = None
        self._busy = True
        self._body_sent = True
        self._head_only = head_only
        self._read_timeout = read_timeout
        if deadline is not None:
            self._deadline = self.loop.call_at(deadline, self._deadline_passed)
        transport = self.transport
        assert transport is not None
        if body is None or isinstance(body, bytes):
            transport.write(head + body if body else head)
        else:
            self._body_sent = False
            transport.write(head)
            await self._send_stream(body, chunked)
        while self.response is None:
            if self._error is not None:
                raise self._error
            await self.wait()
        return self.response

    async def _send_stream(self, body: AsyncIterator[bytes], chunked: bool) -> None:
        transport = self.transport
        assert transport is not None
        try:
            async for part in body:
                # The provider answered (or hung up) before taking the whole body: stop
                # sending; what it said is the answer. Not for an interim answer (100
                # Continue): the real one comes after the body.
                if self.closed or self.response is not None:
                    break
                if not part:
                    continue
                if chunked:
                    transport.write(b"%x\r\n%b\r\n" % (len(part), part))
                else:
                    transport.write(part)
                if self._drain is not None:
                    await self._drained()
            else:
                if chunked and not self.closed:
                    transport.write(b"0\r\n\r\n")
                self._body_sent = True
        except BaseException:
            self.abort()
            raise

    async def _drained(self) -> None:
        """Until the socket takes more of the body; a provider that takes none of it for
        the read timeout ends the exchange like one that sends nothing."""
        drain = self._drain
        assert drain is not None
        timer = self.loop.call_later(self._read_timeout, self._stalled)
        try:
            await drain
        finally:
            timer.cancel()

    def _stalled(self) -> None:
        self._fail(
            ReadTimeout(f"{self.origin.host} took none of the body for {self._read_timeout:g} s")
        )
        self.abort()

    async def wait(self) -> None:
        """Until the parser has news (data, the end, an error) or a timeout fires."""
        if self._error is not None and self.response is None:
            raise self._error
        waiter = self._waiter = self.loop.create_future()
        self._timer = self.loop.call_later(self._read_timeout, self._quiet_too_long)
        try:
            await waiter
        finally:
            self._waiter = None
            self._timer.cancel()
            self._timer = None

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _fail(self, exc: BaseException) -> None:
        if self._error is None:
            self._error = exc
        if self.response is not None:
            self.response._fail(exc)
        self._wake()

    def _quiet_too_long(self) -> None:
        self._fail(ReadTimeout(f"no data from {self.origin.host} for {self._read_timeout:g} s"))
        self.abort()

    def _deadline_passed(self) -> None:
        self._fail(ReadTimeout(f"{self.origin.host} did not answer before the deadline"))
        self.abort()

    def resume(self) -> None:
        if self._paused_reading and self.transport is not None and not self.closed:
            self._paused_reading = False
            self.transport.resume_reading()

    def finish(self, response: Response, reusable: bool) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        self.response = None
        self._busy = False
        reusable = (
            reusable
            and not self.closed
            and not self._head_only
            # A body cut short by an early answer: the provider would read the next
            # request as the rest of it.
            and self._body_sent
            and not self._close_delimited
            and self._complete
            and self._keep_alive
        )
        if not reusable:
            self.abort()
        self.pool.give_back(self, reusable)

    def abort(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        if not self.closed and self.transport is not None:
            self.closed = True
            self.transport.abort()

    # -- asyncio.Protocol ----------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(ProtocolViolation(f"{self.origin.host} switched protocols"))
            self.abort()
        except httptools.HttpParserError as exc:
            # httptools wraps what a callback raised (a body that does not decompress)
            # in HttpParserCallbackError, the callback's own error as its context.
            cause = exc.__context__
            if isinstance(cause, HttpClientError):
                self._fail(cause)
            else:
                self._fail(ProtocolViolation(f"{self.origin.host} sent invalid HTTP: {exc}"))
            self.abort()

    def eof_received(self) -> bool:
        self._ended()
        return False  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._ended()
        if self._drain is not None and not self._drain.done():
            self._drain.set_result(None)
        self.pool.lost(self)

    def _ended(self) -> None:
        if self._complete:
            return
        response = self.response
        if response is not None and self._close_delimited:
            # No length and not chunked: the body ends where the connection does.
            self._finish_body()
            return
        # While a request is in flight, not only while someone waits: a close as a
        # streamed body is still being sent must end the exchange now, not at the read
        # timeout.
        if self._error is None and self._busy:
            state = "mid-answer" if self._started else "before answering"
            self._fail(
                RemoteClosed(
                    f"{self.origin.host} closed the connection {state}",
                    before_answer=not self._started,
                )
            )

    def pause_writing(self) -> None:
        if self._drain is None or self._drain.done():
            self._drain = self.loop.create_future()

    def resume_writing(self) -> None:
        if self._drain is not None and not self._drain.done():
            self._drain.set_result(None)
        self._drain = None

    # -- httptools callbacks --------------------------------------------------------

    def on_message_begin(self) -> None:
        self._started = True

    def on_header(self, name: bytes, value: bytes) -> None:
        name = name.lower()
        if name == b"content-type":
            self._ctype = value.decode("latin-1")
        elif name == b"content-encoding":
            self._encoding = value.strip().lower()
        elif name == b"content-length":
            self._has_length = True
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            self._chunked = True
        self._headers.append((name, value))

    def on_headers_complete(self) -> None:
        status = self.parser.get_status_code()
        if 100 <= status < 200:
            # An interim answer (100 Continue, 103 Early Hints): the real one follows.
            self._informational = True
            self._headers = []
            self._ctype, self._encoding = "", b""
            self._has_length = self._chunked = False
            return
        headers = self._headers
        if self._encoding in (b"gzip", b"x-gzip", b"deflate"):
            self._decoder = zlib.decompressobj(
                _GZIP if self._encoding != b"deflate" else zlib.MAX_WBITS
            )
            headers = [h for h in headers if h[0] not in (b"content-encoding", b"content-length")]
        self._close_delimited = (
            not self._has_length
            and not self._chunked
            and status not in (204, 304)
            and not self._head_only
        )
        # Read here: once the message is complete llhttp no longer says.
        self._keep_alive = self.parser.should_keep_alive()
        self.response = Response(self, status, headers, self._ctype)
        if self._head_only:
            # A HEAD answer has no body whatever its headers say; llhttp cannot be told,
            # so the connection is not reused (``finish`` closes it).
            self._finish_body()
        self._wake()

    def on_body(self, body: bytes) -> None:
        response = self.response
        if response is None or self._head_only:
            return
        if self._decoder is not None:
            try:
                try:
                    body = self._decoder.decompress(body)
                except zlib.error:
                    if self._encoding != b"deflate" or self._inflated:
                        raise
                    # Some servers send raw deflate without the zlib wrapper.
                    self._decoder = zlib.decompressobj(-zlib.MAX_WBITS)
                    body = self._decoder.decompress(body)
            except zlib.error:
                raise ProtocolViolation(
                    f"{self.origin.host} sent a body that does not decompress"
                ) from None
            self._inflated = True
            if not body:
                return
        if response._feed(body) and not self._paused_reading and self.transport is not None:
            self._paused_reading = True
            self.transport.pause_reading()
        self._wake()

    def on_message_complete(self) -> None:
        if self._informational:
            self._informational = False
            return
        self._finish_body()

    def _finish_body(self) -> None:
        if self._complete:
            return
        self._complete = True
        response = self.response
        if response is not None:
            if self._decoder is not None:
                tail = self._decoder.flush()
                if tail:
                    response._feed(tail)
            response._eof = True
        self._wake()
