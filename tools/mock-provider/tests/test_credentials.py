"""The mock's credential checks: Google's token endpoint refuses what Google refuses in a
JWT-bearer grant and hands out numbered tokens with a settable lifetime; the SigV4
secret is a setting."""

import base64
import time

import httpx
import msgspec
import pytest
from portcullis_gateway.providers.sigv4 import sign_aws_request
from portcullis_stack.servers import mock_process

GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    proc = mock_process(
        tmp_path_factory.mktemp("mock") / "mock.log",
        {
            "PORTCULLIS_MOCK_TOKEN_EXPIRES_IN": "1234",
            "PORTCULLIS_MOCK_AWS_SECRET_ACCESS_KEY": "team-secret",
        },
    ).start()
    yield f"http://127.0.0.1:{proc.port}"
    proc.stop()


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode(data)).rstrip(b"=").decode()


def assertion(**claims) -> str:
    """An unsigned-looking JWT: the mock reads the claims, it cannot check a signature."""
    payload = {
        "iss": "sa@proj.iam.gserviceaccount.com",
        "aud": GOOGLE_TOKEN_URL,
        "scope": "https://www.googleapis.com/auth/cloud-platform",
        "iat": int(time.time()),
        "exp": int(time.time()) + 3600,
        **claims,
    }
    return f"{_b64({'alg': 'RS256', 'typ': 'JWT'})}.{_b64(payload)}.c2lnbmF0dXJl"


def grant(base: str, path: str = "/token", **form) -> httpx.Response:
    data = {"grant_type": JWT_BEARER, "assertion": assertion(), **form}
    return httpx.post(base + path, data=data)


def test_a_grant_gets_a_numbered_bearer_token_and_is_recorded(base):
    first, second = grant(base).json(), grant(base).json()
    assert first["token_type"] == "Bearer" and first["expires_in"] == 1234
    assert first["access_token"].startswith("ya29.mock-")
    assert first["access_token"] != second["access_token"]
    # The lifetime in the token URL's query wins over the setting.
    assert grant(base, "/token?expires_in=10").json()["expires_in"] == 10
    recorded = httpx.get(f"{base}/mock/requests").json()["data"]
    assert recorded[-1]["path"] == "/token" and recorded[-1]["query"] == "expires_in=10"
    assert "grant_type=urn" in recorded[-1]["body"]


def test_the_audience_may_also_be_the_url_reached(base):
    reached = assertion(aud=f"{base}/token")
    assert grant(base, assertion=reached).status_code == 200


@pytest.mark.parametrize(
    "form, error",
    [
        ({"grant_type": "client_credentials"}, "unsupported_grant_type"),
        ({"assertion": "only.two"}, "invalid_grant"),
        ({"assertion": "a.!!!.c"}, "invalid_grant"),
        ({"assertion": assertion(scope="")}, "invalid_request"),
        ({"assertion": assertion(iss=None)}, "invalid_request"),
        ({"assertion": assertion(aud="https://elsewhere.example/token")}, "invalid_grant"),
        ({"assertion": assertion(exp=int(time.time()) - 10)}, "invalid_grant"),
    ],
)
def test_a_bad_grant_is_refused_as_google_refuses_it(base, form, error):
    refused = grant(base, **form)
    assert refused.status_code == 400
    assert refused.json()["error"] == error and refused.json()["error_description"]


def test_path_knobs_make_the_endpoint_refuse_or_fail(base):
    refused = grant(base, "/mock/status=401,error_message=Key disabled/token")
    assert refused.status_code == 401
    assert refused.json() == {"error": "invalid_grant", "error_description": "Key disabled"}
    assert grant(base, "/mock/status=503/token").json()["error"] == "internal_failure"
    assert httpx.get(f"{base}/token").status_code == 405
    assert grant(base, "/token?expires_in=soon").status_code == 400


def test_the_sigv4_secret_is_a_setting(base):
    url = f"{base}/model/m/converse"
    body = b'{"messages": [{"role": "user", "content": [{"text": "hi"}]}]}'
    statuses = []
    for secret in ("team-secret", "mock-secret-key"):
        headers = {"content-type": "application/json"}
        headers |= sign_aws_request(
            "POST",
            url,
            headers,
            body,
            access_key_id="AKIATEAM",
            secret_access_key=secret,
            session_token=None,
            region="eu-west-1",
        )
        statuses.append(httpx.post(url, content=body, headers=headers).status_code)
    assert statuses == [200, 403]
