"""The bytes of a request's head: pure. The URL it goes to is parsed by
``domain.origin`` (the same parse the custom-host policy judges)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from portcullis_gateway.adapters.http.errors import HttpClientError
from portcullis_gateway.domain.origin import InvalidURL, Origin, parse_origin, split_url

__all__ = ["InvalidHeader", "InvalidURL", "Origin", "build_head", "parse_origin", "split_url"]

_SENDS_LENGTH = frozenset({"POST", "PUT", "PATCH"})


class InvalidHeader(HttpClientError):
    """A header name or value would break the request's framing (a line break)."""


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
