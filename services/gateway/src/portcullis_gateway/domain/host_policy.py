"""Which ``custom_host`` URLs the gateway may call, so it is never an SSRF tool.

Literal non-public addresses (loopback, private, link-local, unspecified, ...) and
``localhost`` are refused unless the operator allows private hosts; a non-empty
allowlist restricts hosts further. Names that *resolve* to non-public addresses are
caught at connect time by the upstream client's resolver (``is_public_address``).
"""

from __future__ import annotations

import functools
import ipaddress
import socket
import string
from dataclasses import dataclass
from urllib.parse import urlsplit

from portcullis_gateway.domain.errors import HostNotAllowed, InvalidRequest

_SCHEMES = ("http", "https")
_LEGACY_IPV4_CHARS = frozenset(string.hexdigits + "xX.")


def is_public_address(address: str) -> bool:
    """True for a globally routable unicast IP; False for anything else (or not an IP)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
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
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018 — raises ValueError on a malformed port
    except ValueError:
        raise InvalidRequest("custom_host is not a valid URL", code="invalid_custom_host") from None
    if parts.scheme not in _SCHEMES:
        raise InvalidRequest(
            "custom_host must be an http:// or https:// URL", code="invalid_custom_host"
        )
    if not host:
        raise InvalidRequest("custom_host has no host name", code="invalid_custom_host")
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
    literal = _literal_address(host)
    if not allow_private and (
        _is_local_name(host) or (literal is not None and not is_public_address(literal))
    ):
        raise HostNotAllowed(
            f"custom_host {host!r} is a local or private address, which this gateway "
            "does not call (set PORTCULLIS_GATEWAY_ALLOW_PRIVATE_CUSTOM_HOSTS=true to allow)"
        )
    if allowlist and not matches_allowlist(host, allowlist):
        raise HostNotAllowed(f"custom_host {host!r} is not in this gateway's allowlist")
    return url.strip().rstrip("/")
