"""The bytes of a request's head, and the parse of the URL it goes to: pure.

A URL is split once into its origin (what the pool keys connections by, what the
resolver checks and TLS verifies) and its request target, sent as given: adapters
percent-encode their own paths and a SigV4 signature covers the path as sent, so it is
never normalised again; only characters that cannot appear on the wire are encoded.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import quote, urlsplit

import idna

from portcullis_gateway.adapters.http.errors import HttpClientError, InvalidURL

_AUTHORITY_END = re.compile(r"[/?#]")
# Outside printable ASCII, or printable but never raw in a request target.
_UNSENDABLE = re.compile(r'[^!-~]|["<>\\^`{|}]')
_TARGET_SAFE = "!$&'()*+,;=:@/?%-._~[]"
_DEFAULT_PORTS = {"http": 80, "https": 443}
_SENDS_LENGTH = frozenset({"POST", "PUT", "PATCH"})


class InvalidHeader(HttpClientError):
    """A header name or value would break the request's framing (a line break)."""


@dataclass(frozen=True, slots=True)
class Origin:
    tls: bool
    # Lower-case, IDNA (UTS-46) ASCII, no IPv6 brackets: what is resolved and verified.
    host: str
    port: int
    host_header: str
    # The address itself when the host is an IP literal (no resolution).
    literal: str | None


@lru_cache(maxsize=4096)
def parse_origin(scheme: str, authority: str) -> Origin:
    scheme = scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise InvalidURL(f"unsupported URL scheme {scheme!r}")
    try:
        parts = urlsplit(f"{scheme}://{authority}")
        port = parts.port
    except ValueError as exc:
        raise InvalidURL(f"invalid host or port in the URL: {exc}") from None
    if parts.username is not None or parts.password is not None:
        raise InvalidURL("credentials in the URL are not sent; use a header")
    host = parts.hostname
    if not host:
        raise InvalidURL("the URL has no host")
    if not host.isascii():
        try:
            host = idna.encode(host, uts46=True).decode("ascii")
        except idna.IDNAError as exc:
            raise InvalidURL(f"invalid international host name: {exc}") from None
    literal = None
    try:
        literal = str(ipaddress.ip_address(host.split("%", 1)[0]))
    except ValueError:
        pass
    default = _DEFAULT_PORTS[scheme]
    port = port or default
    shown = f"[{host}]" if literal is not None and ":" in literal else host
    host_header = shown if port == default else f"{shown}:{port}"
    return Origin(scheme == "https", host, port, host_header, literal)


def split_url(url: str) -> tuple[Origin, str]:
    """The origin and the request target (path and query) of an absolute URL."""
    start = url.find("://")
    if start <= 0:
        raise InvalidURL("the URL is not absolute")
    rest = start + 3
    match = _AUTHORITY_END.search(url, rest)
    end = match.start() if match else len(url)
    origin = parse_origin(url[:start], url[rest:end])
    target = url[end:]
    if "#" in target:
        target = target.partition("#")[0]
    if not target.startswith("/"):
        target = "/" + target
    if _UNSENDABLE.search(target):
        target = quote(target, safe=_TARGET_SAFE)
    return origin, target


def build_head(
    method: str,
    target: str,
    host_header: str,
    headers: list[tuple[str, str]],
    body: bytes | AsyncIterator[bytes] | None,
) -> tuple[bytes, bool]:
    """The request head, and whether the body goes chunked (a stream of unknown
    length). A body of bytes gets its length; the caller's headers come as given."""
    lines = [f"{method} {target} HTTP/1.1\r\n"]
    has_host = has_length = has_encoding = False
    for name, value in headers:
        lowered = name.lower()
        if lowered == "host":
            has_host = True
        elif lowered == "content-length":
            has_length = True
        elif lowered == "accept-encoding":
            has_encoding = True
        elif lowered == "transfer-encoding":
            continue  # the client frames the body itself
        lines.append(f"{name}: {value}\r\n")
    if not has_host:
        lines.append(f"host: {host_header}\r\n")
    if not has_encoding:
        lines.append("accept-encoding: gzip, deflate\r\n")
    chunked = False
    if isinstance(body, bytes):
        if not has_length:
            lines.append(f"content-length: {len(body)}\r\n")
    elif body is None:
        if method in _SENDS_LENGTH and not has_length:
            lines.append("content-length: 0\r\n")
    elif not has_length:
        lines.append("transfer-encoding: chunked\r\n")
        chunked = True
    lines.append("\r\n")
    text = "".join(lines)
    # Every line ends in exactly one CRLF: a CR or LF inside a name or value (from a
    # config, say) would otherwise start a header, or a request, of the sender's own.
    if text.count("\n") != len(lines) or text.count("\r") != len(lines):
        raise InvalidHeader("a header for the provider contains a line break")
    try:
        return text.encode("latin-1"), chunked
    except UnicodeEncodeError:
        return text.encode("utf-8"), chunked
