"""The upstream HTTP client against real local servers: each test starts one on
127.0.0.1, port 0, that parses what the client sends (httptools) and writes scripted
raw bytes back, so framing, keep-alive, retries, timeouts, TLS and the address policy
are seen on a real socket. Waits are bounded by generous timeouts that only prove
"does not hang"; nothing asserts how fast anything was."""

from __future__ import annotations

import asyncio
import datetime
import gzip
import ssl
import zlib
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import httptools
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from portcullis_gateway.adapters.http import (
    ConnectFailed,
    ConnectTimeout,
    HttpClient,
    InvalidHeader,
    PrivateAddress,
    ProtocolViolation,
    ReadTimeout,
    RemoteClosed,
)
from portcullis_gateway.adapters.http.connection import HIGH_WATER
from portcullis_gateway.adapters.upstream import map_failure
from portcullis_gateway.domain.errors import UpstreamUnreachable

# Long enough for a loaded shared machine; a hang shows as a failure after this.
HANG = 10.0


async def within(awaitable: Awaitable, seconds: float = HANG):
    return await asyncio.wait_for(awaitable, seconds)


# -- a scripted server ----------------------------------------------------------------


@dataclass
class Request:
    method: str = ""
    target: str = ""
    version: str = ""
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytearray = field(default_factory=bytearray)
    head_done: bool = False
    complete: bool = False

    def header(self, name: str) -> bytes | None:
        found = [value for key, value in self.headers if key == name.encode()]
        return found[-1] if found else None


class ServerConn:
    """One accepted connection: the requests parsed off it, one after another."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, index: int):
        self.reader = reader
        self.writer = writer
        self.index = index
        self.peer = writer.get_extra_info("peername")
        self.sockname = writer.get_extra_info("sockname")
        self.requests: list[Request] = []
        self.eof = False
        self._parser = httptools.HttpRequestParser(self)
        self._current: Request | None = None
        self._done: deque[Request] = deque()

    # httptools callbacks
    def on_message_begin(self) -> None:
        self._current = Request()
        self.requests.append(self._current)

    def on_url(self, url: bytes) -> None:
        self._current.target += url.decode("latin-1")

    def on_header(self, name: bytes, value: bytes) -> None:
        self._current.headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        self._current.method = self._parser.get_method().decode()
        self._current.version = self._parser.get_http_version()
        self._current.head_done = True

    def on_body(self, body: bytes) -> None:
        self._current.body += body

    def on_message_complete(self) -> None:
        self._current.complete = True
        self._done.append(self._current)

    async def _feed_more(self, size: int = 65536) -> bool:
        data = await self.reader.read(size)
        if not data:
            self.eof = True
            return False
        self._parser.feed_data(data)
        return True

    async def request(self) -> Request | None:
        """The next complete request; None when the client closed first."""
        while not self._done:
            if not await self._feed_more():
                return None
        return self._done.popleft()

    async def head(self) -> Request | None:
        """The next request once its head is in (its body may still be coming)."""
        while True:
            current = self._current
            if current is not None and current.head_done and not current.complete:
                return current
            if self._done:
                return self._done.popleft()
            if not await self._feed_more():
                return None

    async def rest(self, request: Request, slowly: float = 0.0) -> Request | None:
        while not request.complete:
            if slowly:
                await asyncio.sleep(slowly)
            if not await self._feed_more(16384 if slowly else 65536):
                return None
        if self._done and self._done[0] is request:
            self._done.popleft()
        return request

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def wait_closed_by_client(self) -> bool:
        """True once the client closes its side (EOF or reset)."""
        try:
            while await self.reader.read(65536):
                pass
        except ConnectionError:
            pass
        self.eof = True
        return True

    def close(self) -> None:
        self.writer.close()


Handler = Callable[[ServerConn], Awaitable[None]]


class Server:
    def __init__(self, handler: Handler, *, host: str = "127.0.0.1", tls=None) -> None:
        self.handler = handler
        self.host = host
        self.tls = tls
        self.connections: list[ServerConn] = []
        self._tasks: set[asyncio.Task] = set()

    async def __aenter__(self) -> Server:
        self._server = await asyncio.start_server(self._accept, self.host, 0, ssl=self.tls)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc) -> None:
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        for conn in self.connections:
            conn.writer.close()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    def url(self, path: str = "/v1/x", *, host: str | None = None, scheme: str = "http") -> str:
        return f"{scheme}://{host or self.host}:{self.port}{path}"

    @property
    def requests(self) -> list[Request]:
        return [request for conn in self.connections for request in conn.requests]

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        task = asyncio.current_task()
        self._tasks.add(task)
        conn = ServerConn(reader, writer, len(self.connections))
        self.connections.append(conn)
        try:
            await self.handler(conn)
        except (ConnectionError, asyncio.CancelledError, httptools.HttpParserError):
            pass
        finally:
            writer.close()
            self._tasks.discard(task)


def answer(body: bytes = b"ok", *, status: str = "200 OK", headers: str = "") -> bytes:
    return (
        f"HTTP/1.1 {status}\r\ncontent-type: text/plain\r\ncontent-length: {len(body)}\r\n"
        f"{headers}\r\n"
    ).encode() + body


async def answer_every_request(conn: ServerConn) -> None:
    """Keep-alive: "ok <n>" to each request, n counting over the connection."""
    n = 0
    while await conn.request() is not None:
        n += 1
        await conn.send(answer(f"ok {n}".encode()))


@pytest.fixture
async def make_client():
    clients: list[HttpClient] = []

    def make(**options) -> HttpClient:
        settings = dict(
            connect_timeout_s=5.0, read_timeout_s=30.0, pool_size=10, address_allowed=None
        )
        settings.update(options)
        client = HttpClient(**settings)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()


async def get(client: HttpClient, url: str, method: str = "GET", **kw) -> tuple[int, bytes]:
    response = await within(client.request(method, url, [], **kw))
    try:
        return response.status, await within(response.read())
    finally:
        response.release()


async def until(predicate: Callable[[], bool]) -> None:
    """For state of the client's that no event announces (the pool noticing a close)."""

    async def poll():
        while not predicate():  # noqa: ASYNC110
            await asyncio.sleep(0.01)

    await within(poll())


# -- 1. response framing --------------------------------------------------------------


async def test_a_content_length_body_is_read_whole(make_client):
    async def handler(conn: ServerConn):
        await conn.request()
        await conn.send(answer(b"hello world", headers="x-a: 1\r\nX-Mixed: Two\r\n"))
        await conn.wait_closed_by_client()

    async with Server(handler) as server:
        client = make_client()
        response = await within(client.request("GET", server.url(), []))
        assert response.status == 200
        assert response.content_type == "text/plain"
        assert (b"x-mixed", b"Two") in response.raw_headers
        assert response.headers["content-length"] == "11"
        assert await within(response.read()) == b"hello world"
        assert response.at_eof()
        response.release()


async def test_chunks_are_yielded_by_readany_as_they_arrive(make_client):
    sent_next = [asyncio.Event() for _ in range(3)]

    async def handler(conn: ServerConn):
        await conn.request()
        await conn.send(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nfirst\r\n")
        await sent_next[0].wait()
        await conn.send(b"6\r\nsecond\r\n")
        await sent_next[1].wait()
        await conn.send(b"5\r\nthird\r\n0\r\n\r\n")
        await answer_every_request(conn)

    async with Server(handler) as server:
        client = make_client()
        response = await within(client.request("GET", server.url(), []))
        # Each piece comes back before the server has sent the next one.
        assert await within(response.readany()) == b"first"
        sent_next[0].set()
        assert await within(response.readany()) == b"second"
        sent_next[1].set()
        assert await within(response.readany()) == b"third"
        assert await within(response.readany()) == b""
        assert response.at_eof()
        response.release()
        # The chunked answer ended cleanly: the connection is reused.
        assert await get(client, server.url()) == (200, b"ok 1")
        assert len(server.connections) == 1


async def test_a_body_without_length_ends_where_the_connection_does(make_client):
    async def handler(conn: ServerConn):
        if await conn.request() is None:
            return
        await conn.send(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\npart one, ")
        await asyncio.sleep(0.05)
        await conn.send(b"part two")
        conn.close()

    async with Server(handler) as server:
        client = make_client()
        assert await get(client, server.url()) == (200, b"part one, part two")
        assert await get(client, server.url()) == (200, b"part one, part two")
        assert len(server.connections) == 2


async def test_204_and_304_have_no_body_and_keep_the_connection(make_client):
    async def handler(conn: ServerConn):
        await conn.request()
        await conn.send(b"HTTP/1.1 204 No Content\r\n\r\n")
        await conn.request()
        # A 304 may carry the length of what it stands for; it still has no body.
        await conn.send(b'HTTP/1.1 304 Not Modified\r\netag: "x"\r\ncontent-length: 10\r\n\r\n')
        await conn.request()
        await conn.send(answer(b"third"))
        await conn.wait_closed_by_client()

    async with Server(handler) as server:
        client = make_client()
        assert await get(client, server.url()) == (204, b"")
        assert await get(client, server.url()) == (304, b"")
        assert await get(client, server.url()) == (200, b"third")
        assert len(server.connections) == 1


async def test_a_head_answer_with_a_length_has_no_body_and_its_connection_is_not_reused(
    make_client,
):
    async def handler(conn: ServerConn):
        request = await conn.request()
        if request is None:
            return
        if request.method == "HEAD":
            await conn.send(b"HTTP/1.1 200 OK\r\ncontent-length: 1234\r\n\r\n")
        else:
            await conn.send(answer(b"got"))
        await answer_every_request(conn)

    async with Server(handler) as server:
        client = make_client()
        response = await within(client.request("HEAD", server.url(), []))
        assert response.status == 200
        assert response.headers["content-length"] == "1234"
        assert await within(response.read()) == b""
        response.release()
        assert await get(client, server.url()) == (200, b"got")
        assert len(server.connections) == 2
        assert [r.method for r in server.connections[0].requests] == ["HEAD"]


async def test_interim_answers_come_before_the_real_one(make_client):
    async def handler(conn: ServerConn):
        await conn.request()
        await conn.send(b"HTTP/1.1 100 Continue\r\n\r\n")
        await asyncio.sleep(0.02)
        await conn.send(
            b"HTTP/1.1 103 Early Hints\r\nlink: </style.css>; rel=preload\r\n\r\n"
            + answer(b"final", headers="x-final: yes\r\n")
        )
        await answer_every_request(conn)

    async with Server(handler) as server:
        client = make_client()
        response = await within(client.request("GET", server.url(), []))
        assert response.status == 200
        assert response.headers.get("x-final") == "yes"
        assert "link" not in response.headers
        assert await within(response.read()) == b"final"
        response.release()
        assert await get(client, server.url()) == (200, b"ok 1")
        assert len(server.connections) == 1


# -- 2. keep-alive ------------------------------------------------------------------


async def test_sequential_requests_share_one_connection(make_client):
    async with Server(answer_every_request) as server:
        client = make_client()
        assert await get(client, server.url()) == (200, b"ok 1")
        assert await get(client, server.url("/v1/y?q=1"), "POST", body=b"{}") == (200, b"ok 2")
        assert len(server.connections) == 1
        assert [(r.method, r.target) for r in server.requests] == [
            ("GET", "/v1/x"),
            ("POST", "/v1/y?q=1"),
        ]
        assert client.pool.idle_count() == 1


@pytest.mark.parametrize(
    "first_answer",
    [
        answer(b"bye", headers="connection: close\r\n"),
        b"HTTP/1.0 200 OK\r\ncontent-length: 3\r\n\r\nbye",
    ],
    ids=["connection-close", "http-1.0"],
)
async def test_an_answer_that_ends_the_connection_is_not_reused(make_client, first_answer):
    async def handler(conn: ServerConn):
        if await conn.request() is None:
            return
        if conn.index == 0:
            # The socket stays open: only the answer's head says it is done.
            await conn.send(first_answer)
            await conn.wait_closed_by_client()
        else:
            await conn.send(answer(b"fresh"))
            await answer_every_request(conn)

    async with Server(handler) as server:
        client = make_client()
        assert await get(client, server.url()) == (200, b"bye")
        assert await get(client, server.url()) == (200, b"fresh")
        assert len(server.connections) == 2
        assert len(server.connections[0].requests) == 1


# -- 3. the provider closes the connection ------------------------------------------


async def test_an_idle_connection_the_server_closed_is_replaced(make_client):
    async def handler(conn: ServerConn):
        await conn.request()
        await conn.send(answer(f"conn {conn.index}".encode()))
        conn.close()

    async with Server(handler) as server:
        client = make_client()
        assert await get(client, server.url()) == (200, b"conn 0")
        await until(lambda: client.pool.open == 0)
        assert await get(client, server.url()) == (200, b"conn 1")
        assert len(server.connections) == 2


async def test_a_reused_connection_closed_as_the_request_went_out_is_retried_once(make_client):
    async def handler(conn: ServerConn):
        if conn.index == 0:
            await conn.request()
            await conn.send(answer(b"first"))
            # The provider's idle timeout: the next request arrives and is dropped.
            await conn.request()
            conn.close()
        else:
            await answer_every_request(conn)

    async with Server(handler) as server:
        client = make_client()
        assert await get(client, server.url()) == (200, b"first")
        assert await get(client, server.url(), "POST", body=b'{"n":2}') == (200, b"ok 1")
        assert len(server.connections) == 2
        assert bytes(server.connections[0].requests[1].body) == b'{"n":2}'
        assert bytes(server.connections[1].requests[0].body) == b'{"n":2}'


async def test_a_fresh_connection_closed_before_the_answer_is_not_retried(make_client):
    async def handler(conn: ServerConn):
        await conn.request()
        conn.close()

    async with Server(handler) as server:
        client = make_client()
        with pytest.raises(RemoteClosed) as caught:
            await get(client, server.url())
        assert caught.value.before_answer is True
        assert len(server.connections) == 1


@pytest.mark.parametrize(
    "partial",
    [
        b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nhello",
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n",
    ],
    ids=["length", "chunked"],
)
async def test_a_close_mid_answer_is_remote_closed_from_read(make_client, partial):
    async def handler(conn: ServerConn):
        await conn.request()
        await conn.send(partial)
        conn.close()

    async with Server(handler) as server:
        client = make_client()
        response = await within(client.request("GET", server.url(), []))
        assert response.status == 200
        with pytest.raises(RemoteClosed) as caught:
            await within(response.read())
        assert caught.value.before_answer is False
        response.release()
        assert len(server.connections) == 1
        assert client.pool.idle_count() == 0


async def test_a_close_mid_head_is_remote_closed_and_not_retried(make_client):
    async def handler(conn: ServerConn):
        await conn.request()
        await conn.send(answer(b"first"))
        await conn.request()
        await conn.send(b"HTTP/1.1 200 OK\r\ncontent-le")
        conn.close()

    async with Server(handler) as server:
        client = make_client()
        assert await get(client, server.url()) == (200, b"first")
        with pytest.raises(RemoteClosed) as caught:
            await get(client, server.url())
        assert caught.value.before_answer is False
        assert len(server.connections) == 1


@pytest.mark.parametrize("when", ["after-head", "after-body"])
async def test_a_streamed_body_is_not_retried(make_client, when):
    dropped = asyncio.Event()

    async def handler(conn: ServerConn):
        await conn.request()
        await conn.send(answer(b"first"))
        if when == "after-head":
            await conn.head()
        else:
            await conn.request()
        conn.close()
        dropped.set()

    async def body() -> AsyncIterator[bytes]:
        yield b"part one "
        if when == "after-head":
            await dropped.wait()
            await asyncio.sleep(0.05)
        yield b"part two"

    async with Server(handler) as server:
        client = make_client()
        assert await get(client, server.url()) == (200, b"first")
        with pytest.raises(RemoteClosed) as caught:
            await within(client.request("POST", server.url(), [], body()))
        assert caught.value.before_answer is True
        assert len(server.connections) == 1


# -- 4. timeouts ----------------------------------------------------------------------


async def test_a_server_that_never_answers_is_a_read_timeout(make_client):
    async def handler(conn: ServerConn):
        await conn.request()
        await conn.wait_closed_by_client()

    async with Server(handler) as server:
        client = make_client(read_timeout_s=0.3)
        with pytest.raises(ReadTimeout):
            await within(client.request("GET", server.url(), []))
        # The client gave up on the connection.
        await until(lambda: server.connections[0].eof)
        assert client.pool.open == 0


async def test_the_deadline_covers_a_body_that_trickles_forever(make_client):
    async def handler(conn: ServerConn):
        await conn.request()
        await conn.send(b"HTTP/1.1 200 OK\r\ncontent-length: 100000\r\n\r\n")
        while True:
            await conn.send(b".")
            await asyncio.sleep(0.02)

    async with Server(handler) as server:
        # Never quiet for as long as the read timeout: only the deadline can end it.
        client = make_client(read_timeout_s=30.0)
        response = await within(client.request("GET", server.url(), [], timeout_s=0.5))
        with pytest.raises(ReadTimeout, match="deadline"):
            await within(response.read())
        response.release()
        assert client.pool.open == 0


async def test_the_deadline_covers_waiting_for_the_head(make_client):
    async def handler(conn: ServerConn):
        await conn.request()
        await conn.wait_closed_by_client()

    async with Server(handler) as server:
        client = make_client(read_timeout_s=30.0)
        with pytest.raises(ReadTimeout):
            await within(client.request("GET", server.url(), [], timeout_s=0.3))


async def test_a_server_that_stops_reading_an_upload_is_a_read_timeout(make_client):
    async def handler(conn: ServerConn):
        await conn.head()
        await asyncio.Event().wait()  # never reads another byte

    async def endless() -> AsyncIterator[bytes]:
        piece = b"x" * 65536
        while True:
            yield piece

    async with Server(handler) as server:
        # No deadline: only the read timeout can notice that nothing moves.
        client = make_client(read_timeout_s=0.5)
        with pytest.raises(ReadTimeout):
            await within(client.request("POST", server.url(), [], endless()))
        assert client.pool.open == 0


async def test_a_closed_port_is_connect_failed(make_client):
    async with Server(answer_every_request) as server:
        url = server.url()
    client = make_client()
    with pytest.raises(ConnectFailed) as caught:
        await within(client.request("GET", url, []))
    assert isinstance(caught.value.os_error, ConnectionRefusedError)


async def test_a_pool_busy_until_the_deadline_is_connect_timeout(make_client):
    async with Server(answer_every_request) as server:
        client = make_client(pool_size=1)
        held = await within(client.request("GET", server.url(), []))
        with pytest.raises(ConnectTimeout):
            await within(client.request("GET", server.url(), [], timeout_s=0.3))
        assert await within(held.read()) == b"ok 1"
        held.release()
        # Room again: the next request goes on the connection given back.
        assert await get(client, server.url(), timeout_s=5.0) == (200, b"ok 2")
        assert len(server.connections) == 1


# -- 5. request bodies ----------------------------------------------------------------


async def parts(*chunks: bytes) -> AsyncIterator[bytes]:
    for chunk in chunks:
        await asyncio.sleep(0)
        yield chunk


async def test_request_bodies_are_framed_as_they_come(make_client):
    async with Server(answer_every_request) as server:
        client = make_client()
        url = server.url()
        await get(client, url, "POST", body=b'{"a":1}')
        await get(client, url, "POST", body=parts(b"one ", b"", b"two ", b"three"))
        response = await within(
            client.request("POST", url, [("Content-Length", "7")], parts(b"abc", b"defg"))
        )
        await within(response.read())
        response.release()
        await get(client, url, "POST")
        await get(client, url, "PUT", body=b"")
        await get(client, url)

        bytes_, chunked, raw, empty, empty_bytes, plain_get = server.requests
        assert bytes_.header("content-length") == b"7"
        assert bytes_.header("transfer-encoding") is None
        assert bytes(bytes_.body) == b'{"a":1}'

        assert chunked.header("transfer-encoding") == b"chunked"
        assert chunked.header("content-length") is None
        assert bytes(chunked.body) == b"one two three"

        assert raw.header("content-length") == b"7"
        assert raw.header("transfer-encoding") is None
        assert bytes(raw.body) == b"abcdefg"

        for request in (empty, empty_bytes):
            assert request.header("content-length") == b"0"
            assert bytes(request.body) == b""
        assert plain_get.header("content-length") is None
        assert plain_get.header("host") == f"127.0.0.1:{server.port}".encode()
        assert plain_get.header("accept-encoding") == b"gzip, deflate"
        # One connection: every body was framed so the next request parsed cleanly.
        assert len(server.connections) == 1


async def test_a_100_continue_during_a_streamed_upload_does_not_stop_the_body(make_client):
    continued = asyncio.Event()

    async def handler(conn: ServerConn):
        request = await conn.head()
        await conn.send(b"HTTP/1.1 100 Continue\r\n\r\n")
        continued.set()
        await conn.rest(request)
        await conn.send(answer(bytes(request.body)))
        await answer_every_request(conn)

    async def body() -> AsyncIterator[bytes]:
        yield b"before "
        await continued.wait()
        await asyncio.sleep(0.1)  # the interim answer is in before the rest goes
        yield b"after"

    async with Server(handler) as server:
        client = make_client()
        assert await get(client, server.url(), "POST", body=body()) == (200, b"before after")
        assert await get(client, server.url()) == (200, b"ok 1")
        assert len(server.connections) == 1


async def test_an_early_answer_stops_the_upload_and_its_connection_is_not_reused(make_client):
    answered = asyncio.Event()
    first_closed = asyncio.Event()
    after_answer: list[bytes] = []

    async def handler(conn: ServerConn):
        if conn.index == 0:
            await conn.head()
            # Refused before the body is in, the connection left open (no close header).
            await conn.send(answer(b"too large", status="413 Payload Too Large"))
            answered.set()
            while data := await conn.reader.read(65536):
                after_answer.append(data)
            first_closed.set()
        else:
            await answer_every_request(conn)

    sent: list[bytes] = []

    async def body() -> AsyncIterator[bytes]:
        for n in range(20):
            if n == 1:
                await answered.wait()
                await asyncio.sleep(0.1)  # the answer is in before the next piece
            sent.append(b"piece")
            yield b"piece"

    async with Server(handler) as server:
        client = make_client()
        assert await get(client, server.url(), "POST", body=body()) == (413, b"too large")
        assert len(sent) < 20
        # The server still expects the rest of that body: a next request on the same
        # connection would be read as part of it.
        assert await get(client, server.url()) == (200, b"ok 1")
        await within(first_closed.wait())
        assert b"GET" not in b"".join(after_answer)
        assert len(server.connections) == 2


# -- 6. compressed answers --------------------------------------------------------------


PLAIN = b'{"choices": [{"text": "' + b"compressible " * 500 + b'"}]}'


def _raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


@pytest.mark.parametrize(
    ("encoding", "encoded"),
    [
        ("gzip", gzip.compress(PLAIN)),
        ("x-gzip", gzip.compress(PLAIN)),
        ("deflate", zlib.compress(PLAIN)),
        ("deflate", _raw_deflate(PLAIN)),
    ],
    ids=["gzip", "x-gzip", "deflate-zlib", "deflate-raw"],
)
@pytest.mark.parametrize("framing", ["length", "chunked"])
async def test_compressed_answers_are_decoded(make_client, encoding, encoded, framing):
    async def handler(conn: ServerConn):
        await conn.request()
        if framing == "length":
            await conn.send(
                f"HTTP/1.1 200 OK\r\ncontent-encoding: {encoding}\r\ncontent-type: "
                f"application/json\r\ncontent-length: {len(encoded)}\r\n\r\n".encode()
                + encoded
            )
        else:
            await conn.send(
                f"HTTP/1.1 200 OK\r\ncontent-encoding: {encoding}\r\ncontent-type: "
                "application/json\r\ntransfer-encoding: chunked\r\n\r\n".encode()
            )
            for start in range(0, len(encoded), 7):
                piece = encoded[start : start + 7]
                await conn.send(b"%x\r\n%b\r\n" % (len(piece), piece))
            await conn.send(b"0\r\n\r\n")
        await answer_every_request(conn)

    async with Server(handler) as server:
        client = make_client()
        response = await within(client.request("GET", server.url(), []))
        assert response.content_type == "application/json"
        assert await within(response.read()) == PLAIN
        names = [name for name, _ in response.raw_headers]
        assert b"content-encoding" not in names
        assert b"content-length" not in names
        assert "content-encoding" not in response.headers
        response.release()
        assert await get(client, server.url()) == (200, b"ok 1")
        assert len(server.connections) == 1


async def test_an_unknown_encoding_is_left_as_it_came(make_client):
    encoded = b"\x1b\x07\x00\xf8\xa5\x40\xc2\xaa"  # not decoded, whatever it is

    async def handler(conn: ServerConn):
        await conn.request()
        await conn.send(answer(encoded, headers="content-encoding: br\r\n"))
        await conn.wait_closed_by_client()

    async with Server(handler) as server:
        client = make_client()
        response = await within(client.request("GET", server.url(), []))
        assert await within(response.read()) == encoded
        assert response.headers["content-encoding"] == "br"
        assert response.headers["content-length"] == str(len(encoded))
        response.release()


async def test_a_body_that_does_not_decompress_is_a_protocol_violation(make_client):
    async def handler(conn: ServerConn):
        await conn.request()
        await conn.send(answer(b"this is not gzip at all", headers="content-encoding: gzip\r\n"))
        await conn.wait_closed_by_client()

    async with Server(handler) as server:
        client = make_client()
        with pytest.raises(ProtocolViolation, match="decompress"):
            response = await within(client.request("GET", server.url(), []))
            try:
                await within(response.read())
            finally:
                response.release()
        assert client.pool.idle_count() == 0


# -- 7. TLS ---------------------------------------------------------------------------


@dataclass
class Pki:
    ca_file: str
    localhost: tuple[str, str]  # cert file, key file
    other_name: tuple[str, str]


def _write_pem(path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Pki:
    base = tmp_path_factory.mktemp("pki")
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Portcullis test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )

    def leaf(name: str) -> tuple[str, str]:
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
            )
            .sign(ca_key, hashes.SHA256())
        )
        cert_file = _write_pem(base / f"{name}.pem", cert.public_bytes(serialization.Encoding.PEM))
        key_file = _write_pem(
            base / f"{name}.key",
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
        )
        return cert_file, key_file

    ca_file = _write_pem(base / "ca.pem", ca.public_bytes(serialization.Encoding.PEM))
    return Pki(ca_file, leaf("localhost"), leaf("other.example"))


def server_tls(cert: tuple[str, str], sni_seen: list) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*cert)
    context.set_alpn_protocols(["http/1.1"])

    def sni(sock, server_name, _context):
        sni_seen.append(server_name)

    context.sni_callback = sni
    return context


async def test_tls_with_the_configured_ca_verifies_localhost_and_sends_sni(make_client, pki):
    sni_seen: list = []
    async with Server(answer_every_request, tls=server_tls(pki.localhost, sni_seen)) as server:
        client = make_client(ca_file=pki.ca_file)
        url = server.url(host="localhost", scheme="https")
        assert await get(client, url) == (200, b"ok 1")
        assert await get(client, url) == (200, b"ok 2")
        assert sni_seen == ["localhost"]
        assert len(server.connections) == 1
        assert server.requests[0].header("host") == f"localhost:{server.port}".encode()


async def test_tls_without_the_ca_is_connect_failed_on_verification(make_client, pki):
    sni_seen: list = []
    async with Server(answer_every_request, tls=server_tls(pki.localhost, sni_seen)) as server:
        client = make_client()  # the system's CAs only
        url = server.url(host="localhost", scheme="https")
        with pytest.raises(ConnectFailed) as caught:
            await within(client.request("GET", url, []))
        assert isinstance(caught.value.os_error, ssl.SSLCertVerificationError)
        mapped = map_failure(caught.value, url)
        assert isinstance(mapped, UpstreamUnreachable)
        assert "TLS failed" in str(mapped)
        assert server.requests == []


async def test_tls_with_a_certificate_for_another_name_fails(make_client, pki):
    sni_seen: list = []
    async with Server(answer_every_request, tls=server_tls(pki.other_name, sni_seen)) as server:
        client = make_client(ca_file=pki.ca_file)
        with pytest.raises(ConnectFailed) as caught:
            await within(client.request("GET", server.url(host="localhost", scheme="https"), []))
        assert isinstance(caught.value.os_error, ssl.SSLCertVerificationError)
        assert sni_seen == ["localhost"]
        assert server.requests == []


# -- 8. the address policy ------------------------------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
async def test_a_refused_address_is_never_connected_to(make_client, host):
    asked: list[str] = []

    def refuse(address: str) -> bool:
        asked.append(address)
        return False

    async with Server(answer_every_request) as server:
        client = make_client(address_allowed=refuse)
        with pytest.raises(PrivateAddress):
            await within(client.request("GET", server.url(host=host), []))
        assert "127.0.0.1" in asked
        await asyncio.sleep(0.05)
        assert server.connections == []
        assert client.pool.open == 0


async def test_the_connection_goes_to_the_address_that_was_checked(make_client, monkeypatch):
    """A name resolved once: the address checked is the one connected to, and no second
    lookup (that could answer differently) is made. 127.0.0.2 is loopback on Linux (all of
    127.0.0.0/8 is), the platform the project runs and is tested on, so the server binds
    it without set-up; a server on another address than 127.0.0.1 tells them apart."""
    async with Server(answer_every_request, host="127.0.0.2") as server:
        loop = asyncio.get_running_loop()
        lookups: list[str] = []
        real_getaddrinfo = loop.getaddrinfo

        async def resolve(host, port, **kw):
            lookups.append(host)
            if host == "provider.test":
                return await real_getaddrinfo("127.0.0.2", port, **kw)
            return await real_getaddrinfo(host, port, **kw)

        monkeypatch.setattr(loop, "getaddrinfo", resolve)
        asked: list[str] = []
        client = make_client(address_allowed=lambda address: asked.append(address) or True)
        url = server.url(host="provider.test")
        assert await get(client, url) == (200, b"ok 1")
        assert asked == ["127.0.0.2"]
        assert lookups == ["provider.test"]
        (conn,) = server.connections
        assert conn.sockname[0] == "127.0.0.2"
        assert conn.requests[0].header("host") == f"provider.test:{server.port}".encode()


# -- 9. header safety -----------------------------------------------------------------


@pytest.mark.parametrize("value", ["a\r\nx-injected: 1", "a\nx-injected: 1", "a\rb"])
async def test_a_line_break_in_a_header_is_refused_before_anything_is_sent(make_client, value):
    async with Server(answer_every_request) as server:
        client = make_client()
        with pytest.raises(InvalidHeader):
            await within(client.request("GET", server.url(), [("x-a", value)]))
        await asyncio.sleep(0.05)
        assert server.connections == []
        assert client.pool.open == 0


async def test_a_value_latin_1_cannot_carry_goes_as_utf_8(make_client):
    async with Server(answer_every_request) as server:
        client = make_client()
        await get(client, server.url(), "POST", body=b"{}")
        response = await within(client.request("GET", server.url(), [("x-title", "naïve ✓ 東京")]))
        await within(response.read())
        response.release()
        assert server.requests[1].header("x-title") == "naïve ✓ 東京".encode()


# -- 10. flow control -----------------------------------------------------------------

FIVE_MB = 5 * 1024 * 1024


def pattern(size: int) -> bytes:
    block = bytes(range(251))  # a prime length: a misplaced piece shows
    return (block * (size // len(block) + 1))[:size]


async def test_a_large_answer_read_slowly_arrives_whole_and_in_order(make_client):
    body = pattern(FIVE_MB)

    async def handler(conn: ServerConn):
        await conn.request()
        await conn.send(f"HTTP/1.1 200 OK\r\ncontent-length: {len(body)}\r\n\r\n".encode())
        view = memoryview(body)
        for start in range(0, len(body), 65536):
            await conn.send(view[start : start + 65536])
        await answer_every_request(conn)

    async with Server(handler) as server:
        client = make_client()
        response = await within(client.request("GET", server.url(), []))
        received = bytearray()
        largest = 0

        async def read_slowly():
            nonlocal largest
            while chunk := await response.readany():
                largest = max(largest, len(chunk))
                received.extend(chunk)
                await asyncio.sleep(0.01)

        await within(read_slowly(), 60)
        assert len(received) == len(body)
        assert received == body
        # The socket was paused while the reader was behind: never the whole answer at once.
        assert largest < HIGH_WATER + 1024 * 1024
        response.release()
        assert await get(client, server.url()) == (200, b"ok 1")
        assert len(server.connections) == 1


async def test_a_large_streamed_upload_arrives_whole(make_client):
    body = pattern(FIVE_MB)

    async def handler(conn: ServerConn):
        request = await conn.head()
        # A slow reader: the client has to wait for the socket to drain.
        await conn.rest(request, slowly=0.001)
        await conn.send(answer(str(len(request.body)).encode()))
        await answer_every_request(conn)

    async def upload() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 65536):
            yield body[start : start + 65536]

    async with Server(handler) as server:
        client = make_client()
        assert await get(client, server.url(), "POST", body=upload(), timeout_s=60) == (
            200,
            str(FIVE_MB).encode(),
        )
        (request,) = server.requests
        assert request.header("transfer-encoding") == b"chunked"
        assert bytes(request.body) == body
        assert await get(client, server.url()) == (200, b"ok 1")
        assert len(server.connections) == 1


# -- 11. the pool limit ---------------------------------------------------------------


async def test_a_pool_of_one_serves_concurrent_requests_in_turn_on_one_connection(make_client):
    async def handler(conn: ServerConn):
        n = 0
        while await conn.request() is not None:
            n += 1
            await asyncio.sleep(0.05)  # the second request has to wait for this one
            await conn.send(answer(f"ok {n}".encode()))

    async with Server(handler) as server:
        client = make_client(pool_size=1)
        results = await within(
            asyncio.gather(*(get(client, server.url(f"/v1/{i}")) for i in range(3)))
        )
        assert sorted(results) == [(200, b"ok 1"), (200, b"ok 2"), (200, b"ok 3")]
        assert len(server.connections) == 1
        assert sorted(r.target for r in server.requests) == ["/v1/0", "/v1/1", "/v1/2"]
