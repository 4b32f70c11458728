"""Google's OAuth 2.0 token endpoint for service accounts (``POST /token``, the
JWT-bearer grant of RFC 7523): checks the grant's shape and claims the way Google
refuses them, without the signature (the mock has no public key), and hands out
numbered access tokens whose lifetime a test can shorten to force a refresh.

``expires_in`` comes from the token URL's query (``/token?expires_in=10``, so one service
account can carry it in its ``token_uri``), else ``PORTCULLIS_MOCK_TOKEN_EXPIRES_IN``,
else 3600. Path knobs (``/mock/status=400,error_message=.../token``) make it refuse.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import os
import time
from itertools import count
from urllib.parse import parse_qs

import msgspec

from mock_provider import knobs as knob_parsing
from mock_provider.responding import send_json

PATH = "/token"
EXPIRES_ENV = "PORTCULLIS_MOCK_TOKEN_EXPIRES_IN"
# google-auth puts Google's own endpoint in "aud" whatever the token_uri is, as Google
# requires; a client that names the URL it calls is accepted too.
GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token"
_JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
_tokens = count(1)


def _error(error: str, description: str) -> dict:
    return {"error": error, "error_description": description}


def _claims(assertion: str) -> dict | None:
    parts = assertion.split(".")
    if len(parts) != 3 or not all(parts):
        return None
    try:
        payload = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
        claims = msgspec.json.decode(payload)
    except (binascii.Error, ValueError, msgspec.DecodeError):
        return None
    return claims if isinstance(claims, dict) else None


def _grant_problem(form: dict[str, list[str]], reached: str) -> dict | None:
    grant_type = form.get("grant_type", [""])[0]
    if grant_type != _JWT_BEARER:
        return _error("unsupported_grant_type", f"Invalid grant_type: {grant_type}")
    claims = _claims(form.get("assertion", [""])[0])
    if claims is None:
        return _error("invalid_grant", "Invalid JWT: the assertion is not a JWT")
    for claim in ("iss", "aud", "scope", "exp"):
        if not claims.get(claim):
            return _error("invalid_request", f"Invalid JWT: missing claim {claim!r}")
    if claims["aud"] not in (GOOGLE_TOKEN_URL, reached):
        return _error("invalid_grant", f"Invalid JWT audience: {claims['aud']}")
    if not isinstance(claims["exp"], int | float) or claims["exp"] <= time.time():
        return _error("invalid_grant", "Invalid JWT: Token must be a short-lived token")
    return None


def _expires_in(query: str) -> int:
    asked = parse_qs(query).get("expires_in")
    return int(asked[0] if asked else os.environ.get(EXPIRES_ENV, "3600"))


async def token(scope, body: bytes, path_knobs: dict[str, str], send) -> None:
    try:
        knobs = knob_parsing.merge(path_knobs, None)
    except knob_parsing.KnobError as exc:
        await send_json(send, 400, _error("invalid_request", str(exc)))
        return
    if knobs.latency_ms:
        await asyncio.sleep(knobs.latency_ms / 1000)
    if knobs.status != 200:
        kind = "internal_failure" if knobs.status >= 500 else "invalid_grant"
        await send_json(send, knobs.status, _error(kind, knobs.error_message or "mock refusal"))
        return
    if scope["method"] != "POST":
        await send_json(send, 405, _error("invalid_request", "the token endpoint takes POST"))
        return
    query = scope.get("query_string", b"").decode("latin-1")
    host = dict(scope["headers"]).get(b"host", b"").decode("latin-1")
    reached = f"http://{host}{scope['path']}" + (f"?{query}" if query else "")
    refusal = _grant_problem(parse_qs(body.decode("utf-8", "replace")), reached)
    if refusal is not None:
        await send_json(send, 400, refusal)
        return
    try:
        expires_in = _expires_in(query)
    except ValueError:
        await send_json(send, 400, _error("invalid_request", "expires_in must be an integer"))
        return
    answer = {
        "access_token": f"ya29.mock-{next(_tokens)}",
        "expires_in": expires_in,
        "token_type": "Bearer",
    }
    await send_json(send, 200, answer)
