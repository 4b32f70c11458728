"""Which ``custom_host`` URLs the gateway may call, so it is never an SSRF tool.

Literal non-public addresses (loopback, private, link-local, unspecified, IPv6 forms
that embed one, legacy IPv4 spellings) and ``localhost`` are refused unless the
operator allows private hosts; a non-empty allowlist restricts hosts further. The host
judged is the HTTP client's own parse of the URL (``domain.origin``). Names that
*resolve* to non-public addresses are caught by the client, which checks every address
a name resolves to and connects only to a checked one (``is_public_address``).
"""

from __future__ import annotations

import functools
import ipaddress
import socket
import string
from dataclasses import dataclass
from urllib.parse import urlsplit

from portcullis_gateway.domain.errors import HostNotAllowed, InvalidRequest
from portcullis_gateway.domain.origin import InvalidURL, parse_origin

_SCHEMES = ("http", "https")
_LEGACY_IPV4_CHARS = frozenset(string.hexdigits + "xX.")


_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries and a network may deliver to:
    IPv4-mapped, NAT64's well-known prefix, 6to4, IPv4-compatible, Teredo (both ends).
    Python calls several of these forms global; what they reach may not be."""
    found = []
    if ip.ipv4_mapped is not None:
        found.append(ip.ipv4_mapped)
    if ip in _NAT64 or (ip in _IPV4_COMPATIBLE and int(ip) > 1):
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    if ip.sixtofour is not None:
        found.append(ip.sixtofour)
    if ip.teredo is not None:
        found.extend(ip.teredo)
    return found


def is_public_address(address: str) -> bool:
    """True for a globally routable unicast IP; False for anything else (or not an IP),
    and for an IPv6 form that embeds a non-public IPv4 address."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded:
            return all(v4.is_global and not v4.is_multicast for v4 in embedded)
    return ip.is_global and not ip.is_multicast


def _literal_address(host: str) -> str | None:
    """The address a literal host means, including legacy IPv4 forms ("127.1",
    "2130706433", "0x7f.0.0.1") that socket libraries still accept."""
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        pass
    else:
        return host
    if host and all(c in _LEGACY_IPV4_CHARS for c in host):
        try:
            return socket.inet_ntoa(socket.inet_aton(host))
        except OSError:
            return None
    return None


def _is_local_name(host: str) -> bool:
    return host == "localhost" or host.endswith(".localhost")


def matches_allowlist(host: str, allowlist: tuple[str, ...]) -> bool:
    for entry in allowlist:
        if entry.startswith("*."):
            if host.endswith(entry[1:]):
                return True
        elif host == entry:
            return True
    return False


@dataclass(frozen=True, slots=True)
class HostPolicy:
    allow_private: bool = False
    allowlist: tuple[str, ...] = ()

    def check(self, url: str) -> str:
        """Return the base URL to use (no trailing slash) or raise why it is refused."""
        # The same few hosts come back on every request: decide each once.
        return _check(url, self.allow_private, self.allowlist)


@functools.lru_cache(maxsize=1024)
def _check(url: str, allow_private: bool, allowlist: tuple[str, ...]) -> str:
    text = url.strip()
    try:
        parts = urlsplit(text)
    except ValueError:
        raise InvalidRequest("custom_host is not a valid URL", code="invalid_custom_host") from None
    if parts.scheme not in _SCHEMES:
        raise InvalidRequest(
            "custom_host must be an http:// or https:// URL", code="invalid_custom_host"
        )
    if parts.username is not None or parts.password is not None:
        # Credentials in a URL end up in logs; they belong in Authorization.
        raise InvalidRequest(
            "custom_host must not contain credentials; send them as Authorization",
            code="invalid_custom_host",
        )
    if parts.query or parts.fragment:
        raise InvalidRequest(
            "custom_host must not have a query string or fragment", code="invalid_custom_host"
        )
    try:
        # The parse the HTTP client makes of the same URL: the host judged here is the
        # host it resolves and connects to (IDNA-mapped, lower-case, no brackets).
        origin = parse_origin(parts.scheme, parts.netloc)
    except InvalidURL as exc:
        raise InvalidRequest(
            f"custom_host is not a valid URL: {exc}", code="invalid_custom_host"
        ) from None
    host = origin.host.rstrip(".")  # "localhost." is localhost
    if not host:
        raise InvalidRequest("custom_host has no host name", code="invalid_custom_host")
    literal = origin.literal or _literal_address(host)
    if not allow_private and (
        _is_local_name(host) or (literal is not None and not is_public_address(literal))
    ):
        raise HostNotAllowed(
            f"custom_host {host!r} is a local or private address, which this gateway "
            "does not call (set PORTCULLIS_GATEWAY_ALLOW_PRIVATE_CUSTOM_HOSTS=true to allow)"
        )
    if allowlist and not matches_allowlist(host, allowlist):
        raise HostNotAllowed(f"custom_host {host!r} is not in this gateway's allowlist")
    return text.rstrip("/")
