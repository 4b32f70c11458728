"""A small HTTP/1.1 client for calls to providers: asyncio Protocols and httptools
(llhttp), keep-alive pooled, TLS-verified, with the address policy applied to the
exact address it connects to. Chosen over aiohttp for speed on the request path; see
``docs/decisions/0004-upstream-http-client.md``."""

from portcullis_gateway.adapters.http.client import HttpClient, tls_context
from portcullis_gateway.adapters.http.connection import Headers, Response
from portcullis_gateway.adapters.http.errors import (
    ConnectFailed,
    ConnectTimeout,
    HttpClientError,
    PrivateAddress,
    ProtocolViolation,
    ReadTimeout,
    RemoteClosed,
)
from portcullis_gateway.adapters.http.request_head import InvalidHeader, build_head, split_url
from portcullis_gateway.domain.origin import InvalidURL

__all__ = [
    "ConnectFailed",
    "ConnectTimeout",
    "Headers",
    "HttpClient",
    "HttpClientError",
    "InvalidHeader",
    "InvalidURL",
    "PrivateAddress",
    "ProtocolViolation",
    "ReadTimeout",
    "RemoteClosed",
    "Response",
    "build_head",
    "split_url",
    "tls_context",
]
