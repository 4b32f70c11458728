"""The gateway's one upstream client (``adapters.http``, pooled, keep-alive), built from
the settings, and the mapping of its failures to the gateway's errors.

When private custom hosts are not allowed, every address a host resolves to is checked
by ``is_public_address`` and the connection goes to a checked address, so a DNS name
pointing at 127.0.0.1 or a cloud metadata address is refused like the literal address.
"""

from __future__ import annotations

import ssl
from urllib.parse import urlsplit

from portcullis_gateway.adapters.http import (
    ConnectFailed,
    HttpClient,
    HttpClientError,
    InvalidHeader,
    PrivateAddress,
)
from portcullis_gateway.domain.errors import (
    GatewayError,
    HostNotAllowed,
    InvalidRequest,
    RequestTimeout,
    UpstreamTimeout,
    UpstreamUnreachable,
)
from portcullis_gateway.domain.host_policy import is_public_address
from portcullis_gateway.domain.origin import InvalidURL

UPSTREAM_FAILURES = (HttpClientError, InvalidURL, TimeoutError, OSError)


def upstream_client(
    *,
    connect_timeout_s: float,
    read_timeout_s: float,
    pool_size: int,
    allow_private: bool,
    keepalive_s: float = 60.0,
    ca_file: str | None = None,
) -> HttpClient:
    """The worker's one client for provider calls; with private hosts not allowed,
    every address a host resolves to must be public."""
    return HttpClient(
        connect_timeout_s=connect_timeout_s,
        read_timeout_s=read_timeout_s,
        pool_size=pool_size,
        address_allowed=None if allow_private else is_public_address,
        keepalive_s=keepalive_s,
        ca_file=ca_file,
    )


def map_failure(exc: BaseException, url: str, deadline_s: float | None = None) -> GatewayError:
    """The gateway error for a failed upstream call; names the host, never the URL's
    query (which may hold a key) nor any header. With a ``request_timeout``
    (``deadline_s``) a timeout is the caller's 408, not the gateway's 504."""
    try:
        parts = urlsplit(url)
        host = parts.netloc or "the provider"
        hostname = parts.hostname
    except ValueError:
        host = hostname = "the provider"
    if isinstance(exc, PrivateAddress):
        return HostNotAllowed(
            f"custom_host {hostname!r} resolves to a local or private address, "
            "which this gateway does not call"
        )
    if isinstance(exc, InvalidHeader):
        return InvalidRequest(str(exc), code="invalid_header")
    if isinstance(exc, TimeoutError):
        if deadline_s is not None:
            return RequestTimeout(
                f"{host} did not answer within the request timeout of {deadline_s * 1000:g} ms"
            )
        return UpstreamTimeout(f"{host} did not answer in time")
    if isinstance(exc, ConnectFailed):
        os_error = exc.os_error
        if isinstance(os_error, ssl.SSLError):
            reason = f"TLS failed ({os_error.reason or type(os_error).__name__})"
        else:
            reason = (os_error.strerror if os_error else None) or type(os_error).__name__
        return UpstreamUnreachable(f"could not connect to {host}: {reason}")
    if isinstance(exc, InvalidURL):
        return UpstreamUnreachable(f"invalid upstream URL for {host}: {exc}")
    return UpstreamUnreachable(f"{host} closed the connection: {type(exc).__name__}")
