"""Vertex AI's credential: an OAuth access token minted from a service-account key by
google-auth (the JWT-bearer grant), cached per key and minted again a margin before it
expires. Minting is blocking I/O, so it runs in a worker thread, and concurrent callers
for one key share one mint.

The key's ``token_uri`` is the caller's to choose, which makes it an SSRF vector: its
origin passes the custom-host policy, names that resolve to non-public addresses are
refused when the policy refuses private hosts, and redirects are not followed.
"""

from __future__ import annotations

import asyncio
import hashlib
import socket
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import google.auth.exceptions
import google.auth.transport.requests
import msgspec
import requests
from google.oauth2 import service_account as google_service_account

from portcullis_gateway.domain.errors import (
    GatewayError,
    HostNotAllowed,
    InvalidRequest,
    ProviderCredentialsRefused,
    UpstreamUnreachable,
)
from portcullis_gateway.domain.host_policy import HostPolicy, is_public_address
from portcullis_gateway.domain.json_input import check_depth

SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)
DEFAULT_TOKEN_URI = "https://oauth2.googleapis.com/token"
INVALID_ACCOUNT = "invalid_vertex_service_account"
# Google's own endpoint is no SSRF risk, and an operator's custom-host allowlist must not
# shut Vertex out.
_GOOGLE = urlsplit(DEFAULT_TOKEN_URI)
# google-auth waits 120 s by default; a token endpoint that slow fails the request anyway.
_TIMEOUT_S = 10.0
_decode = msgspec.json.decode


@dataclass(slots=True)
class _Entry:
    token: str | None = None
    fresh_until: float = 0.0  # time.monotonic()
    minting: asyncio.Task[str] | None = None


class GoogleTokens:
    def __init__(
        self, policy: HostPolicy, refresh_margin_s: float = 300.0, *, max_accounts: int = 1000
    ) -> None:
        self._policy = policy
        self._margin_s = refresh_margin_s
        self._max_accounts = max_accounts
        self._entries: OrderedDict[str, _Entry] = OrderedDict()

    async def access_token(self, service_account: str | Mapping) -> str:
        """A Bearer token for ``service_account`` (the key file's JSON, as text or
        parsed). Raises InvalidRequest for a malformed key, HostNotAllowed for a
        ``token_uri`` the policy refuses, ProviderCredentialsRefused when the token
        endpoint refuses the key and UpstreamUnreachable when it cannot be reached."""
        info = _parse(service_account)
        _check_token_uri(info["token_uri"], self._policy)
        entry = self._entry(_cache_key(info))
        if entry.token is not None and time.monotonic() < entry.fresh_until:
            return entry.token
        if entry.minting is None:
            entry.minting = asyncio.create_task(self._mint(info, entry))
            entry.minting.add_done_callback(_retrieve_exception)
        # One caller giving up must not cancel the mint the others are waiting on.
        return await asyncio.shield(entry.minting)

    def _entry(self, key: str) -> _Entry:
        entry = self._entries.get(key)
        if entry is None:
            entry = self._entries[key] = _Entry()
            if len(self._entries) > self._max_accounts:
                self._entries.popitem(last=False)
        else:
            self._entries.move_to_end(key)
        return entry

    async def _mint(self, info: dict, entry: _Entry) -> str:
        try:
            token, lifetime_s = await asyncio.to_thread(_mint, info, self._policy.allow_private)
        finally:
            entry.minting = None
        entry.token = token
        entry.fresh_until = time.monotonic() + lifetime_s - self._margin_s
        return token


def _retrieve_exception(task: asyncio.Task) -> None:
    # Every waiter may have been cancelled; the failure is then nobody's to report.
    if not task.cancelled():
        task.exception()


def _invalid(problem: str) -> InvalidRequest:
    return InvalidRequest(f"the Vertex service account JSON {problem}", code=INVALID_ACCOUNT)


def _parse(service_account: str | Mapping) -> dict:
    # Messages name fields, never values: the JSON holds the private key.
    if isinstance(service_account, str):
        check_depth(service_account, "the Vertex service account JSON")
        try:
            info: Any = _decode(service_account)
        except msgspec.DecodeError:
            raise _invalid("is not valid JSON") from None
    else:
        info = service_account
    if not isinstance(info, Mapping):
        raise _invalid("must be an object")
    info = dict(info)
    if info.get("type", "service_account") != "service_account":
        raise _invalid('is not a service-account key (its type must be "service_account")')
    missing = [f for f in ("client_email", "private_key") if not _text(info.get(f))]
    if missing:
        raise _invalid(f"is missing {' and '.join(missing)}")
    info.setdefault("token_uri", DEFAULT_TOKEN_URI)
    if not _text(info["token_uri"]):
        raise _invalid("has a token_uri that is not a URL")
    return info


def _text(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _cache_key(info: dict) -> str:
    # The key id and e-mail are not secret, so they alone would let anyone who knows
    # them collect another tenant's cached token: the key itself is part of the digest.
    material = "\n".join(
        str(info.get(f) or "") for f in ("client_email", "private_key_id", "token_uri")
    )
    digest = hashlib.sha256(f"{material}\n{info['private_key']}".encode()).hexdigest()
    return f"{info['client_email']}/{info.get('private_key_id') or '-'}/{digest[:32]}"


def _is_google(token_uri: str) -> bool:
    parts = urlsplit(token_uri)
    return (parts.scheme, parts.netloc) == (_GOOGLE.scheme, _GOOGLE.netloc)


def _check_token_uri(token_uri: str, policy: HostPolicy) -> None:
    try:
        parts = urlsplit(token_uri.strip())
        if _is_google(token_uri):
            return
        # The policy judges where the request goes; a query on the token URL is fine.
        policy.check(urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")))
    except ValueError:
        raise _invalid("has a token_uri that is not a URL") from None
    except GatewayError as exc:
        raise type(exc)(
            f"the Vertex service account's token_uri is refused: {exc.message}", code=exc.code
        ) from None


def _refuse_private_names(token_uri: str) -> None:
    """The literal check cannot see where a name points; this one resolves it. (A name
    that changes its answer between here and the connection is not caught.)"""
    parts = urlsplit(token_uri)
    host = parts.hostname or ""
    try:
        found = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError:
        raise UpstreamUnreachable(f"could not resolve the token endpoint {host!r}") from None
    if any(not is_public_address(str(address[4][0])) for address in found):
        raise HostNotAllowed(
            f"the Vertex service account's token_uri host {host!r} resolves to a local or "
            "private address, which this gateway does not call"
        )


class _Request(google.auth.transport.requests.Request):
    def __call__(self, url, method="GET", body=None, headers=None, timeout=_TIMEOUT_S, **kwargs):
        return super().__call__(url, method, body, headers, timeout, **kwargs)


def _mint(info: dict, allow_private: bool) -> tuple[str, float]:
    """(token, seconds it lives). Blocking: runs in a worker thread."""
    token_uri = info["token_uri"]
    try:
        credentials = google_service_account.Credentials.from_service_account_info(
            info, scopes=SCOPES
        )
    except (ValueError, TypeError):
        raise _invalid("has a private_key that is not a PEM-encoded RSA key") from None
    if not allow_private and not _is_google(token_uri):
        _refuse_private_names(token_uri)
    host = urlsplit(token_uri).netloc
    with requests.Session() as session:
        # A redirect would take the request past the policy check to any host.
        session.max_redirects = 0
        try:
            credentials.refresh(_Request(session))
        except google.auth.exceptions.RefreshError as exc:
            raise _refused(exc, host) from None
        except google.auth.exceptions.TransportError as exc:
            reason = type(exc.__cause__ or exc).__name__
            raise UpstreamUnreachable(
                f"could not get a token from {host}: {reason}", code="token_endpoint_unreachable"
            ) from None
    # google-auth's expiry is a naive UTC datetime; without one the token is not reused.
    expiry = credentials.expiry
    now = datetime.now(UTC).replace(tzinfo=None)
    lifetime_s = (expiry - now).total_seconds() if expiry else 0.0
    return credentials.token, lifetime_s


def _refused(exc: google.auth.exceptions.RefreshError, host: str) -> GatewayError:
    # Only the endpoint's OAuth error code and description are repeated, cut short, never
    # its raw answer: that could echo the signed assertion, itself a credential for an
    # hour (and 200 characters hold less than its signature).
    answer = exc.args[1] if len(exc.args) > 1 else None
    if not isinstance(answer, Mapping) or not isinstance(answer.get("error"), str):
        return UpstreamUnreachable(
            f"{host} did not answer as an OAuth token endpoint", code="token_endpoint_unreachable"
        )
    detail = answer["error"][:64]
    if isinstance(answer.get("error_description"), str):
        detail += ": " + answer["error_description"][:200]
    if exc.retryable:
        return UpstreamUnreachable(
            f"the token endpoint {host} failed: {detail}", code="token_endpoint_unreachable"
        )
    return ProviderCredentialsRefused(
        f"the token endpoint {host} refused the Vertex service account: {detail}"
    )
