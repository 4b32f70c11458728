"""AWS Signature Version 4 for Bedrock calls made with IAM keys: the headers that sign
one final request, computed by botocore's signer at a given instant. Pure: no I/O, and
the clock is the caller's to pass (tests pin it).

The URL is signed as it will be sent. Its path is already percent-encoded (model ids
carry ``:``); SigV4 for every service but S3 encodes each segment once more in the
canonical request (``%3A`` becomes ``%253A``), which is what botocore does and what
Bedrock checks, so the path must not be decoded or re-encoded before it gets here.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from botocore.auth import SIGV4_TIMESTAMP, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

# What SigV4 must cover: the host, the body's type, and AWS's own headers. Others
# (user-agent, tracing, a stray Bearer) change in transit or are not AWS's business.
_SIGNED = ("host", "content-type")
_RESULT = ("authorization", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256")


class _SigV4AtInstant(SigV4Auth):
    """botocore's SigV4 steps at a fixed instant. Its own ``add_auth`` reads the wall
    clock, and logs the canonical request (session token included) at debug level."""

    def __init__(self, credentials: Credentials, service: str, region: str, at: str) -> None:
        super().__init__(credentials, service, region)
        self._at = at

    def add_auth(self, request: AWSRequest) -> None:
        request.context["timestamp"] = self._at
        self._modify_request_before_signing(request)
        canonical = self.canonical_request(request)
        signature = self.signature(self.string_to_sign(request, canonical), request)
        self._inject_signature_to_request(request, signature)


def _signable(headers: Mapping[str, str]) -> dict[str, str]:
    return {
        name.lower(): value
        for name, value in headers.items()
        if name.lower() in _SIGNED or name.lower().startswith("x-amz-")
    }


def _utc(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    # A naive instant is taken as UTC, as botocore's own clock is.
    return now.astimezone(UTC) if now.tzinfo else now


def sign_aws_request(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    access_key_id: str,
    secret_access_key: str,
    session_token: str | None,
    region: str,
    service: str = "bedrock",
    now: datetime | None = None,
) -> dict[str, str]:
    """The headers to add to the request: authorization, x-amz-date, and
    x-amz-security-token when a session token is given (and x-amz-content-sha256 if
    botocore adds it)."""
    at = _utc(now).strftime(SIGV4_TIMESTAMP)
    request = AWSRequest(method=method.upper(), url=url, headers=_signable(headers), data=body)
    credentials = Credentials(access_key_id, secret_access_key, session_token)
    _SigV4AtInstant(credentials, service, region, at).add_auth(request)
    return {name: request.headers[name] for name in _RESULT if name in request.headers}
