"""What the S3 write path signs: the payload hash over plain HTTP, UNSIGNED-PAYLOAD over
TLS, nothing at all for anonymous access, and never the secret itself."""

from __future__ import annotations

import datetime as dt
import hashlib

from minio.credentials import Credentials
from portcullis_logger.adapters.s3_writer import S3Writer

NOW = dt.datetime(2026, 11, 23, 16, 5, 9, tzinfo=dt.UTC)
BODY = b'{"_id":"x"}'
URL = "http://127.0.0.1:18333/portcullis-logs/logs/default/2026/11/23/16/x.json"


def writer(secure: bool = False, credentials: Credentials | None = None) -> S3Writer:
    return S3Writer(
        endpoint="127.0.0.1:18333",
        bucket="portcullis-logs",
        secure=secure,
        credentials=credentials,
        concurrency=1,
        connect_timeout_s=1,
        read_timeout_s=1,
    )


def test_plain_http_signs_the_payload_hash():
    headers = writer(credentials=Credentials("AKID", "s3cr3t-value")).signed_headers(URL, BODY, NOW)
    assert headers["x-amz-content-sha256"] == hashlib.sha256(BODY).hexdigest()
    assert headers["x-amz-date"] == "20261123T160509Z"
    assert headers["Content-Length"] == str(len(BODY))
    auth = headers["Authorization"]
    assert auth.startswith("AWS4-HMAC-SHA256 Credential=AKID/20261123/us-east-1/s3/aws4_request")
    assert "SignedHeaders=" in auth and "content-type" in auth and "host" in auth
    assert "s3cr3t-value" not in repr(headers)


def test_tls_leaves_the_payload_unsigned_and_region_is_used():
    w = writer(secure=True, credentials=Credentials("AKID", "s3cr3t-value"))
    w.region = "eu-west-3"
    headers = w.signed_headers(URL.replace("http:", "https:"), BODY, NOW)
    assert headers["x-amz-content-sha256"] == "UNSIGNED-PAYLOAD"
    assert "/eu-west-3/s3/aws4_request" in headers["Authorization"]


def test_the_signature_depends_on_the_body_and_the_key():
    w = writer(credentials=Credentials("AKID", "s3cr3t-value"))
    first = w.signed_headers(URL, BODY, NOW)["Authorization"]
    assert w.signed_headers(URL, b"{}", NOW)["Authorization"] != first
    assert w.signed_headers(URL.replace("x.json", "y.json"), BODY, NOW)["Authorization"] != first
    assert w.signed_headers(URL, BODY, NOW)["Authorization"] == first


def test_anonymous_access_sends_no_signature():
    headers = writer().signed_headers(URL, BODY, NOW)
    assert "Authorization" not in headers and "x-amz-content-sha256" not in headers
    assert headers["Content-Type"] == "application/json"
