"""Vertex service-account keys become access tokens at the mock's Google token endpoint:
one mint per account while the token is fresh, a new one inside the refresh margin, one
mint for many concurrent callers, and refusals (policy, malformed keys, the endpoint's
own) that never repeat the key, the assertion or a token."""

import asyncio
import http.server
import json
import socket
import threading
import uuid
from urllib.parse import parse_qs

import pytest
from google.auth import jwt
from portcullis_gateway.adapters.google_tokens import GoogleTokens
from portcullis_gateway.domain.errors import (
    HostNotAllowed,
    InvalidRequest,
    ProviderCredentialsRefused,
    UpstreamUnreachable,
)
from portcullis_gateway.domain.host_policy import HostPolicy
from portcullis_stack.keys import new_private_key
from portcullis_stack.servers import free_port

OPEN = HostPolicy(allow_private=True)
STRICT = HostPolicy(allow_private=False)


@pytest.fixture(scope="module")
def private_key() -> str:
    return new_private_key()


@pytest.fixture
def account(private_key, mock):
    """A fresh service account (its own e-mail, so its token requests can be counted)
    whose token_uri is the mock's, with ``suffix`` appended."""

    def build(suffix: str = "/token", **fields) -> dict:
        email = f"sa-{uuid.uuid4().hex[:8]}@proj-1.iam.gserviceaccount.com"
        return {
            "type": "service_account",
            "project_id": "proj-1",
            "private_key_id": uuid.uuid4().hex,
            "private_key": private_key,
            "client_email": email,
            "token_uri": mock.url + suffix,
            **fields,
        }

    return build


def assertions_for(mock, sa: dict) -> list[str]:
    """The JWT assertions of the token requests the mock received for this account."""
    found = []
    for request in mock.requests():
        if not request["path"].endswith("/token") or not isinstance(request["body"], str):
            continue
        assertion = parse_qs(request["body"])["assertion"][0]
        if jwt.decode(assertion, verify=False)["iss"] == sa["client_email"]:
            found.append(assertion)
    return found


def minted_for(mock, sa: dict) -> list[dict]:
    return [jwt.decode(a, verify=False) for a in assertions_for(mock, sa)]


async def test_a_fresh_token_is_reused(mock, account) -> None:
    sa = account()
    tokens = GoogleTokens(OPEN)
    first = await tokens.access_token(json.dumps(sa))  # as the header carries it
    second = await tokens.access_token(sa)  # as a config target carries it
    assert first == second and first.startswith("ya29.mock-")
    claims = minted_for(mock, sa)
    assert len(claims) == 1
    assert claims[0]["scope"] == "https://www.googleapis.com/auth/cloud-platform"


async def test_a_token_inside_the_refresh_margin_is_minted_again(mock, account) -> None:
    sa = account("/token?expires_in=10")  # lives 10 s, below the 300 s margin
    tokens = GoogleTokens(OPEN)
    first = await tokens.access_token(sa)
    second = await tokens.access_token(sa)
    assert first != second
    assert len(minted_for(mock, sa)) == 2
    # With a margin below its lifetime the same short token is reused.
    relaxed = GoogleTokens(OPEN, refresh_margin_s=1)
    assert await relaxed.access_token(sa) == await relaxed.access_token(sa)
    assert len(minted_for(mock, sa)) == 3


async def test_concurrent_callers_share_one_mint(mock, account) -> None:
    sa = account("/mock/latency_ms=200/token")
    tokens = GoogleTokens(OPEN)
    results = await asyncio.gather(*(tokens.access_token(sa) for _ in range(20)))
    assert len(set(results)) == 1
    assert len(minted_for(mock, sa)) == 1


async def test_a_cancelled_caller_does_not_cancel_the_shared_mint(mock, account) -> None:
    sa = account("/mock/latency_ms=300/token")
    tokens = GoogleTokens(OPEN)
    impatient = asyncio.create_task(tokens.access_token(sa))
    patient = asyncio.create_task(tokens.access_token(sa))
    await asyncio.sleep(0.05)
    impatient.cancel()
    assert (await patient).startswith("ya29.mock-")
    assert impatient.cancelled()
    assert len(minted_for(mock, sa)) == 1


async def test_the_cache_keeps_the_most_recently_used_accounts(mock, account) -> None:
    a, b, c = account(), account(), account()
    tokens = GoogleTokens(OPEN, max_accounts=2)
    for sa in (a, b, a, c):  # c pushes out b, the least recently used, not a
        await tokens.access_token(sa)
    await tokens.access_token(a)
    await tokens.access_token(b)
    assert [len(minted_for(mock, sa)) for sa in (a, b, c)] == [1, 2, 1]


async def test_a_key_that_only_shares_the_id_gets_no_cached_token(mock, account) -> None:
    # client_email and private_key_id are not secret; the cached token is the key's.
    sa = account()
    tokens = GoogleTokens(OPEN)
    await tokens.access_token(sa)
    await tokens.access_token({**sa, "private_key": new_private_key()})
    assert len(minted_for(mock, sa)) == 2


async def test_a_private_token_uri_is_refused_by_a_strict_policy(mock, account) -> None:
    tokens = GoogleTokens(STRICT)
    for suffix_host in ("127.0.0.1", "10.0.0.7", "localhost"):
        sa = account(token_uri=f"http://{suffix_host}:{free_port()}/token")
        with pytest.raises(HostNotAllowed) as refused:
            await tokens.access_token(sa)
        assert refused.value.status == 403 and "token_uri" in refused.value.message
    # A name is judged by what it resolves to: this machine's own name is not public.
    sa = account(token_uri=f"http://{socket.gethostname()}:{mock.url.rsplit(':', 1)[1]}/token")
    with pytest.raises(HostNotAllowed, match="resolves to a local or private address"):
        await tokens.access_token(sa)
    assert minted_for(mock, sa) == []


@pytest.mark.parametrize(
    "change, problem",
    [
        ({"private_key": None}, "is missing private_key"),
        ({"client_email": ""}, "is missing client_email"),
        ({"type": "authorized_user"}, "is not a service-account key"),
        ({"token_uri": "ftp://files.example/token"}, "custom_host must be an http"),
        ({"private_key": "cut"}, "private_key that is not a PEM-encoded RSA key"),
    ],
)
async def test_a_malformed_key_is_the_callers_400(account, private_key, change, problem) -> None:
    sa = account()
    if change.get("private_key") == "cut":
        change = {"private_key": private_key[:400]}  # a truncated paste
    sa.update(change)
    with pytest.raises(InvalidRequest) as refused:
        await GoogleTokens(OPEN).access_token(sa)
    assert refused.value.status == 400 and problem in refused.value.message
    assert refused.value.code in ("invalid_vertex_service_account", "invalid_custom_host")
    body = private_key.splitlines()[1]
    assert body not in refused.value.message and body[:20] not in str(refused.value.body())


async def test_text_that_is_not_json_is_a_400_without_its_content(private_key) -> None:
    text = '{"private_key": "' + private_key.replace("\n", "\\n") + '", oops'
    with pytest.raises(InvalidRequest, match="is not valid JSON") as refused:
        await GoogleTokens(OPEN).access_token(text)
    assert "PRIVATE KEY" not in refused.value.message
    assert refused.value.code == "invalid_vertex_service_account"


async def test_the_endpoints_refusal_names_its_error_and_no_secret(mock, account) -> None:
    sa = account("/mock/status=400,error_message=Invalid JWT Signature./token")
    with pytest.raises(ProviderCredentialsRefused) as refused:
        await GoogleTokens(OPEN).access_token(sa)
    message = refused.value.message
    assert refused.value.status == 401
    assert "invalid_grant: Invalid JWT Signature." in message
    (assertion,) = assertions_for(mock, sa)
    assert assertion not in message and assertion.split(".")[2][:16] not in message
    assert sa["private_key"].splitlines()[1] not in message


async def test_an_unreachable_endpoint_is_a_502(account) -> None:
    sa = account(token_uri=f"http://127.0.0.1:{free_port()}/token")
    with pytest.raises(UpstreamUnreachable) as failed:
        await GoogleTokens(OPEN).access_token(sa)
    assert failed.value.status == 502 and "could not get a token from 127.0.0.1" in str(
        failed.value
    )


async def test_a_redirect_is_not_followed(mock, account) -> None:
    # A public token_uri that redirects would otherwise lead past the policy check.
    target = account()["token_uri"]

    class Redirect(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.send_response(307)
            self.send_header("location", target)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        sa = account(token_uri=f"http://127.0.0.1:{server.server_port}/token")
        with pytest.raises(UpstreamUnreachable, match="TooManyRedirects"):
            await GoogleTokens(OPEN).access_token(sa)
    finally:
        server.shutdown()
        server.server_close()
    assert minted_for(mock, sa) == []
