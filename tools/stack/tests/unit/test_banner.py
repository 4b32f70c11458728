from pathlib import Path

from portcullis_stack.banner import READY_LINE, first_request_curl, ready_box
from portcullis_stack.settings import StackSettings


def test_curl_goes_through_the_gateway_to_the_mock_provider():
    curl = first_request_curl(StackSettings(gateway_port=1234, mock_port=5678))
    assert "http://127.0.0.1:1234/v1/chat/completions" in curl
    assert "x-portkey-provider: openai" in curl
    assert "x-portkey-custom-host: http://127.0.0.1:5678/v1" in curl
    assert "Authorization: Bearer anything" in curl
    # Every line but the last continues the command, so it pastes as one.
    lines = curl.splitlines()
    assert all(line.endswith("\\") for line in lines[:-1])
    assert not lines[-1].endswith("\\")


def test_box_says_where_everything_is_and_keeps_secrets_out():
    s = StackSettings(
        gateway_port=1234,
        logger_http_port=1235,
        analytics_http_port=1236,
        s3_access_key="AK-configured",
        s3_secret_key="configured-secret-value",
    )
    box = ready_box(s, Path("/data/pc"))
    assert READY_LINE in box
    assert "http://127.0.0.1:1234/v1/logs/" in box
    assert "http://127.0.0.1:1234/v1/analytics/graphs/requests" in box
    assert "http://127.0.0.1:1235/metrics" in box and "http://127.0.0.1:1236/metrics" in box
    assert "/data/pc" in box
    # Where the S3 keys are kept, not the keys themselves.
    assert "/data/pc/s3-identities.json" in box
    assert "configured-secret-value" not in box and "AK-configured" not in box
