"""``HttpClient.request``: the one way the gateway sends a request to a provider.

A host name is resolved once, every address it resolves to is checked against the
address policy (when private hosts are not allowed), and the connection is made to an
address that was checked — never a second lookup that could answer differently. TLS
verifies the certificate against the host as parsed (SNI), with the system's CAs or
a configured file.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import AsyncIterator, Callable

from portcullis_gateway.adapters.http.connection import Connection, Response
from portcullis_gateway.adapters.http.errors import (
    ConnectFailed,
    ConnectTimeout,
    PrivateAddress,
    RemoteClosed,
)
from portcullis_gateway.adapters.http.pool import Pool
from portcullis_gateway.adapters.http.request_head import Origin, build_head, split_url

Body = bytes | AsyncIterator[bytes] | None


def tls_context(ca_file: str | None = None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=ca_file or None)
    context.set_alpn_protocols(["http/1.1"])
    return context


class HttpClient:
    def __init__(
        self,
        *,
        connect_timeout_s: float,
        read_timeout_s: float,
        pool_size: int,
        address_allowed: Callable[[str], bool] | None,
        keepalive_s: float = 60.0,
        dns_ttl_s: float = 60.0,
        ca_file: str | None = None,
    ) -> None:
        self.connect_timeout_s = connect_timeout_s
        self.read_timeout_s = read_timeout_s
        # None: every address may be called (the operator allowed private hosts).
        self.address_allowed = address_allowed
        self.dns_ttl_s = dns_ttl_s
        self.pool = Pool(pool_size, keepalive_s)
        self.tls = tls_context(ca_file)
        self._dns: dict[tuple[str, int], tuple[float, list[tuple[int, tuple]]]] = {}
        self._sweeper: asyncio.Task | None = None

    def start(self) -> None:
        self._sweeper = asyncio.get_running_loop().create_task(self._sweep())

    async def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
        self.pool.close_all()

    async def request(
        self,
        method: str,
        url: str,
        headers: list[tuple[str, str]],
        body: Body = None,
        *,
        timeout_s: float | None = None,
    ) -> Response:
        """Send the request; the answer once its status and headers are in. With
        ``timeout_s`` the whole exchange, body included, ends by then."""
        loop = asyncio.get_running_loop()
        origin, target = split_url(url)
        head, chunked = build_head(method, target, origin.host_header, headers, body)
        read_timeout = self.read_timeout_s
        deadline = None
        if timeout_s is not None:
            deadline = loop.time() + timeout_s
            read_timeout = min(read_timeout, timeout_s)
        replayable = body is None or isinstance(body, bytes)
        while True:
            conn = await self.pool.acquire(origin, self._connect, deadline, loop)
            try:
                return await conn.exchange(
                    head, body, chunked, read_timeout, deadline, method == "HEAD"
                )
            except RemoteClosed as exc:
                conn.abort()
                self.pool.lost(conn)
                # The provider closed an idle connection as the request went out: it saw
                # nothing of it, so it goes again on a fresh connection.
                if conn.reused and exc.before_answer and replayable:
                    continue
                raise
            except BaseException:
                conn.abort()
                self.pool.lost(conn)
                raise

    async def _connect(
        self, origin: Origin, deadline: float | None, loop: asyncio.AbstractEventLoop
    ) -> Connection:
        addresses = await self._addresses(origin, loop)
        timeout = self.connect_timeout_s
        if deadline is not None:
            timeout = max(0.0, min(timeout, deadline - loop.time()))
        tls = self.tls if origin.tls else None
        server_name = origin.host.rstrip(".") if origin.tls else None
        last: OSError | None = None
        for family, sockaddr in addresses:
            try:
                _, conn = await asyncio.wait_for(
                    loop.create_connection(
                        lambda: Connection(self.pool, origin, loop),
                        host=sockaddr[0],
                        port=sockaddr[1],
                        family=family,
                        ssl=tls,
                        server_hostname=server_name,
                    ),
                    timeout,
                )
            except TimeoutError:
                raise ConnectTimeout(
                    f"connecting to {origin.host} took longer than {timeout:g} s"
                ) from None
            except OSError as exc:
                last = exc
                continue
            return conn
        reason = (last.strerror if last else None) or type(last).__name__
        raise ConnectFailed(f"could not connect to {origin.host}: {reason}", last)

    async def _addresses(
        self, origin: Origin, loop: asyncio.AbstractEventLoop
    ) -> list[tuple[int, tuple]]:
        allowed = self.address_allowed
        if origin.literal is not None:
            if allowed is not None and not allowed(origin.literal):
                raise PrivateAddress(f"{origin.host} is a local or private address")
            family = socket.AF_INET6 if ":" in origin.literal else socket.AF_INET
            return [(family, (origin.literal, origin.port))]
        key = (origin.host, origin.port)
        now = loop.time()
        cached = self._dns.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        try:
            infos = await loop.getaddrinfo(
                origin.host, origin.port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
            )
        except OSError as exc:
            raise ConnectFailed(f"could not resolve {origin.host}: {exc}", exc) from None
        addresses: list[tuple[int, tuple]] = []
        for family, _, _, _, sockaddr in infos:
            if (family, sockaddr) not in addresses:
                addresses.append((family, sockaddr))
        if allowed is not None and any(not allowed(sockaddr[0]) for _, sockaddr in addresses):
            raise PrivateAddress(f"{origin.host} resolves to a local or private address")
        if not addresses:
            raise ConnectFailed(f"{origin.host} resolves to no address")
        self._dns[key] = (now + self.dns_ttl_s, addresses)
        return addresses

    async def _sweep(self) -> None:
        loop = asyncio.get_running_loop()
        interval = max(1.0, self.pool.keepalive_s / 2)
        while True:
            await asyncio.sleep(interval)
            self.pool.sweep(loop.time())
            now = loop.time()
            for key in [key for key, (until, _) in self._dns.items() if until <= now]:
                del self._dns[key]
