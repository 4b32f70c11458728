from portcullis_gateway.domain.exchange import Exchange
from portcullis_gateway.routes._call import passthrough_headers
from portcullis_gateway.routes._relay import portkey_headers


def test_upstream_headers_are_filtered():
    # Names as the HTTP client gives them: lower-cased. A content-encoding the client
    # did not decode (it asks for gzip and deflate only) stays with its body.
    raw = [
        (b"content-type", b"application/json"),
        (b"content-length", b"10"),
        (b"content-encoding", b"br"),
        (b"connection", b"keep-alive"),
        (b"set-cookie", b"a=b"),
        (b"x-request-id", b"req_1"),
        (b"x-ratelimit-remaining-requests", b"99"),
        (b"retry-after", b"2"),
        (b"x-portkey-request-id", b"from-another-gateway"),
    ]
    assert passthrough_headers(raw) == [
        (b"content-encoding", b"br"),
        (b"x-request-id", b"req_1"),
        (b"x-ratelimit-remaining-requests", b"99"),
        (b"retry-after", b"2"),
    ]


def test_portkey_response_headers():
    ex = Exchange("rid", "trace-ü", "POST", "/v1/embeddings", "embeddings", 0, [])
    ex.provider = "openai"
    assert dict(portkey_headers(ex)) == {
        b"x-portkey-request-id": b"rid",
        b"x-portkey-trace-id": "trace-ü".encode("latin-1"),
        b"x-portkey-provider": b"openai",
        b"x-portkey-retry-attempt-count": b"0",
        b"x-portkey-cache-status": b"DISABLED",
        b"x-portkey-last-used-option-index": b"config",
    }


def test_portkey_response_headers_after_routing():
    ex = Exchange("rid", "t", "POST", "/v1/chat/completions", "chat", 0, [])
    ex.retry_count = 3
    ex.option_index = "config.targets[1].targets[0]"
    headers = dict(portkey_headers(ex))
    assert headers[b"x-portkey-retry-attempt-count"] == b"3"
    assert headers[b"x-portkey-last-used-option-index"] == b"config.targets[1].targets[0]"
