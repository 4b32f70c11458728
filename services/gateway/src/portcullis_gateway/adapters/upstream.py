"""The one pooled HTTP client the gateway uses to call providers (aiohttp, keep-alive),
and the mapping of its failures to the gateway's errors.

When private custom hosts are not allowed, a resolver wrapper refuses names that
resolve to non-public addresses, so a DNS name pointing at 127.0.0.1 or a cloud
metadata address is refused like the literal address would be.
"""

from __future__ import annotations

import asyncio
import socket
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import ResolveResult
from aiohttp.resolver import ThreadedResolver

from portcullis_gateway.domain.errors import (
    GatewayError,
    HostNotAllowed,
    RequestTimeout,
    UpstreamTimeout,
    UpstreamUnreachable,
)
from portcullis_gateway.domain.host_policy import is_public_address


class PrivateAddressError(OSError):
    """A host name resolved to an address the policy does not let the gateway call."""


class PublicOnlyResolver(ThreadedResolver):
    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await super().resolve(host, port, family)
        if any(not is_public_address(result["host"]) for result in results):
            raise PrivateAddressError(f"{host} resolves to a non-public address")
        return results


class Upstream:
    def __init__(
        self,
        *,
        connect_timeout_s: float,
        read_timeout_s: float,
        pool_size: int,
        allow_private: bool,
    ) -> None:
        self.connect_timeout_s = connect_timeout_s
        self.default_timeout = aiohttp.ClientTimeout(
            total=None, connect=connect_timeout_s, sock_read=read_timeout_s
        )
        self.pool_size = pool_size
        self.allow_private = allow_private
        self.session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(
            limit=self.pool_size,
            limit_per_host=0,
            ttl_dns_cache=60,
            keepalive_timeout=60,
            resolver=None if self.allow_private else PublicOnlyResolver(),
        )
        self.session = aiohttp.ClientSession(
            connector=connector,
            timeout=self.default_timeout,
            # Bodies are passed through as bytes; cookies from providers are not ours.
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=True,
            skip_auto_headers=("Content-Type",),
        )

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()

    def timeout_for(self, seconds: float | None) -> aiohttp.ClientTimeout:
        if seconds is None:
            return self.default_timeout
        return aiohttp.ClientTimeout(total=seconds, connect=min(self.connect_timeout_s, seconds))


def map_failure(exc: BaseException, url: str, deadline_s: float | None = None) -> GatewayError:
    """The gateway error for a failed upstream call; names the host, never the URL's
    query (which may hold a key) nor any header. With a ``request_timeout``
    (``deadline_s``) a timeout is the caller's 408, not the gateway's 504."""
    host = urlsplit(url).netloc or "the provider"
    if isinstance(exc, aiohttp.ClientConnectorError) and isinstance(
        exc.os_error, PrivateAddressError
    ):
        return HostNotAllowed(
            f"custom_host {urlsplit(url).hostname!r} resolves to a local or private address, "
            "which this gateway does not call"
        )
    if isinstance(exc, asyncio.TimeoutError | TimeoutError):
        if deadline_s is not None:
            return RequestTimeout(
                f"{host} did not answer within the request timeout of {deadline_s * 1000:g} ms"
            )
        return UpstreamTimeout(f"{host} did not answer in time")
    if isinstance(exc, aiohttp.ClientConnectorError):
        reason = exc.os_error.strerror or type(exc.os_error).__name__
        return UpstreamUnreachable(f"could not connect to {host}: {reason}")
    if isinstance(exc, aiohttp.InvalidURL):
        return UpstreamUnreachable(f"invalid upstream URL for {host}")
    return UpstreamUnreachable(f"{host} closed the connection: {type(exc).__name__}")
