"""Bedrock's SigV4 check: a request signed with IAM keys (``AWS4-HMAC-SHA256``) is
re-signed here with botocore over what was received and refused like AWS refuses it
when the signatures differ. Bearer keys (Bedrock API keys) and unsigned requests pass.

Every access key shares one secret, ``PORTCULLIS_MOCK_AWS_SECRET_ACCESS_KEY``
(``mock-secret-key``). The clock is not checked: tests sign at pinned instants.
"""

from __future__ import annotations

import hmac
import os
import re

from mock_provider.bedrock_format import ROUTE
from mock_provider.responding import send_json

SECRET_ENV = "PORTCULLIS_MOCK_AWS_SECRET_ACCESS_KEY"
DEFAULT_SECRET = "mock-secret-key"
_ALGORITHM = "AWS4-HMAC-SHA256"
_FIELDS = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=([^/,\s]+)/(\d{8})/([^/,\s]+)/([^/,\s]+)/aws4_request,"
    r"\s*SignedHeaders=([a-z0-9;-]+),\s*Signature=([0-9a-f]{64})$"
)
# AWS's own words and error types, so a client's error mapping meets the real thing.
_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. "
    "Consult the service documentation for details."
)
_INCOMPLETE = "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature'."


def _expected_signature(scope, body: bytes, fields: re.Match, amz_date: str) -> str:
    # botocore is imported only when a signed request arrives: most tests never send one.
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    key_id, _, region, service, signed_names, _ = fields.groups()
    names = signed_names.split(";")
    received: dict[str, str] = {}
    for name, value in scope["headers"]:
        key = name.decode("latin-1").lower()
        if key in names:
            text = value.decode("latin-1")
            received[key] = f"{received[key]},{text}" if key in received else text
    # The path exactly as it arrived (still percent-encoded), as the signer saw it.
    path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
    query = scope.get("query_string", b"").decode("latin-1")
    url = f"http://{received.get('host', '')}{path}" + (f"?{query}" if query else "")
    request = AWSRequest(method=scope["method"], url=url, headers=received, data=body)
    request.context["timestamp"] = amz_date
    secret = os.environ.get(SECRET_ENV, DEFAULT_SECRET)
    signer = SigV4Auth(Credentials(key_id, secret), service, region)
    return signer.signature(
        signer.string_to_sign(request, signer.canonical_request(request)), request
    )


def problem(scope, route: str, body: bytes) -> tuple[str, str] | None:
    """(AWS error type, message) when a Bedrock request's SigV4 signature is wrong."""
    if ROUTE.match(route) is None:
        return None
    headers = dict(scope["headers"])
    authorization = headers.get(b"authorization", b"").decode("latin-1")
    if not authorization.startswith(_ALGORITHM):
        return None
    fields = _FIELDS.match(authorization)
    amz_date = headers.get(b"x-amz-date", b"").decode("latin-1")
    if fields is None or not amz_date:
        return "IncompleteSignatureException", _INCOMPLETE
    # AWS insists the host and the date be signed, and the scope's date be the request's.
    signed = set(fields.group(5).split(";"))
    if not amz_date.startswith(fields.group(2)) or not {"host", "x-amz-date"} <= signed:
        return "IncompleteSignatureException", _INCOMPLETE
    expected = _expected_signature(scope, body, fields, amz_date)
    if not hmac.compare_digest(expected, fields.group(6)):
        return "InvalidSignatureException", _MISMATCH
    return None


async def refuse_bad_signature(scope, route: str, body: bytes, send) -> bool:
    """Answer Bedrock's 403 and return True when the request's signature is wrong."""
    found = problem(scope, route, body)
    if found is None:
        return False
    error_type, message = found
    await send_json(send, 403, {"message": message}, [(b"x-amzn-errortype", error_type.encode())])
    return True
