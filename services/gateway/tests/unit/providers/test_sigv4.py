"""SigV4 for Bedrock: the signature matches one computed here step by step from AWS's
published algorithm (and AWS's own test vector), only the signable headers are signed,
the session token is sent and signed, and nothing the caller passed is changed."""

import hashlib
import hmac
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import quote, unquote

from portcullis_gateway.providers.sigv4 import sign_aws_request

KEY_ID = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
HOST = "bedrock-runtime.us-west-2.amazonaws.com"
# The path as the adapter sends it: the model id's ":" already percent-encoded.
PATH = "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse"
URL = f"https://{HOST}{PATH}?trace=b&debug=a"
BODY = b'{"messages":[{"role":"user","content":[{"text":"hi"}]}]}'
NOW = datetime(2024, 5, 17, 9, 30, 12, tzinfo=UTC)
HEADERS = {
    "Content-Type": "application/json",
    "User-Agent": "portcullis/0.1",
    "x-portkey-trace-id": "abc",
    "authorization": "Bearer not-for-aws",
}


def sign(**overrides):
    args = {
        "access_key_id": KEY_ID,
        "secret_access_key": SECRET,
        "session_token": None,
        "region": "us-west-2",
        "now": NOW,
    }
    args.update(overrides)
    url = args.pop("url", URL)
    body = args.pop("body", BODY)
    return sign_aws_request("POST", url, HEADERS, body, **args)


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def expected_authorization(amz_date: str, token: str | None = None) -> str:
    """SigV4 by hand, following "Create a signed AWS API request" (AWS IAM user guide)."""
    # Every service but S3 URI-encodes each path segment twice: once on the wire, once
    # more in the canonical request.
    canonical_uri = "/".join(
        quote(quote(unquote(segment), safe="-_.~"), safe="-_.~") for segment in PATH.split("/")
    )
    canonical_query = "debug=a&trace=b"  # sorted by name
    signed = {"content-type": "application/json", "host": HOST, "x-amz-date": amz_date}
    if token is not None:
        signed["x-amz-security-token"] = token
    canonical_headers = "".join(f"{name}:{signed[name]}\n" for name in sorted(signed))
    signed_headers = ";".join(sorted(signed))
    canonical_request = "\n".join(
        [
            "POST",
            canonical_uri,
            canonical_query,
            canonical_headers,
            signed_headers,
            hashlib.sha256(BODY).hexdigest(),
        ]
    )
    date = amz_date[:8]
    scope = f"{date}/us-west-2/bedrock/aws4_request"
    string_to_sign = "\n".join(
        [
            "AWS4-HMAC-SHA256",
            amz_date,
            scope,
            hashlib.sha256(canonical_request.encode()).hexdigest(),
        ]
    )
    key = _hmac(f"AWS4{SECRET}".encode(), date)
    for part in ("us-west-2", "bedrock", "aws4_request"):
        key = _hmac(key, part)
    signature = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    return (
        f"AWS4-HMAC-SHA256 Credential={KEY_ID}/{scope}, "
        f"SignedHeaders={signed_headers}, Signature={signature}"
    )


def test_known_answer_with_an_encoded_path_and_a_query() -> None:
    assert sign() == {
        "authorization": expected_authorization("20240517T093012Z"),
        "x-amz-date": "20240517T093012Z",
    }


def test_aws_published_vector_get_vanilla() -> None:
    # aws-sig-v4-test-suite/get-vanilla: GET / on example.amazonaws.com, service "service".
    headers = sign_aws_request(
        "GET",
        "https://example.amazonaws.com/",
        {},
        b"",
        access_key_id=KEY_ID,
        secret_access_key=SECRET,
        session_token=None,
        region="us-east-1",
        service="service",
        now=datetime(2015, 8, 30, 12, 36, 0),
    )
    assert headers["authorization"].endswith(
        "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
    )
    assert "SignedHeaders=host;x-amz-date," in headers["authorization"]


def test_session_token_is_sent_and_signed() -> None:
    headers = sign(session_token="FwoGZXIvYXdzE-session")
    assert headers["x-amz-security-token"] == "FwoGZXIvYXdzE-session"
    assert headers["authorization"] == expected_authorization(
        "20240517T093012Z", token="FwoGZXIvYXdzE-session"
    )


def test_inputs_are_not_changed() -> None:
    headers = dict(HEADERS)
    body = bytearray(BODY)
    sign_aws_request(
        "POST",
        URL,
        headers,
        bytes(body),
        access_key_id=KEY_ID,
        secret_access_key=SECRET,
        session_token="t",
        region="us-west-2",
        now=NOW,
    )
    assert headers == HEADERS
    assert bytes(body) == BODY


def test_body_url_and_secret_each_change_the_signature() -> None:
    base = sign()["authorization"]
    assert sign(body=BODY + b" ")["authorization"] != base
    assert sign(url=URL.replace("converse", "converse-stream"))["authorization"] != base
    assert sign(secret_access_key="other")["authorization"] != base


def test_the_instant_is_taken_in_utc() -> None:
    # 11:30 at UTC+2 is the same instant as 09:30 UTC: same date header, same signature.
    local = NOW.astimezone(timezone(timedelta(hours=2)))
    assert sign(now=local) == sign()
    assert sign(now=NOW.replace(tzinfo=None)) == sign()


def test_without_now_the_wall_clock_is_used() -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    stamp = sign(now=None)["x-amz-date"]
    signed_at = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    assert before <= signed_at <= datetime.now(UTC)
