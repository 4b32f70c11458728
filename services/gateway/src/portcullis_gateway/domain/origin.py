"""A provider URL as the gateway's HTTP client will use it: its origin (scheme, host as
connected to and verified, port) and its request target. Pure. The custom-host policy
judges this same parse, so the host it decides on is the host the client connects to:
IDNA (UTS-46) maps full-width and other Unicode digits and the ideographic full stop to
ASCII before anything looks at the host.

A request target is sent as given: adapters percent-encode their own paths and a SigV4
signature covers the path as sent, so it is never normalised again; only characters
that cannot appear on the wire are encoded.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import quote, urlsplit

import idna

_AUTHORITY_END = re.compile(r"[/?#]")
# Outside printable ASCII, or printable but never raw in a request target.
_UNSENDABLE = re.compile(r'[^!-~]|["<>\\^`{|}]')
_TARGET_SAFE = "!$&'()*+,;=:@/?%-._~[]"
_DEFAULT_PORTS = {"http": 80, "https": 443}


class InvalidURL(ValueError):
    """The URL cannot be sent as it is (no host, a bad port, credentials, a scheme)."""


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
        # "127.0.0.1." is the address to a URL parser but no name to a resolver: an
        # address with a trailing dot is that address, judged and connected to as one.
        literal = str(ipaddress.ip_address(host.split("%", 1)[0].rstrip(".")))
    except ValueError:
        pass
    else:
        if host.endswith(".") and ":" not in host:
            host = literal
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
