"""The pure half of the upstream HTTP client: how a URL splits into its origin and
request target, the bytes of a request head, and the answer's ``Headers``."""

from __future__ import annotations

import pytest
from portcullis_gateway.adapters.http import Headers, InvalidHeader, InvalidURL, build_head
from portcullis_gateway.adapters.http.request_head import parse_origin, split_url


async def _stream():
    yield b"x"


def _lines(head: bytes) -> list[str]:
    assert head.endswith(b"\r\n\r\n")
    return head[:-4].decode("latin-1").split("\r\n")


# -- split_url / parse_origin -------------------------------------------------------


def test_default_ports_are_dropped_from_the_host_header():
    origin, target = split_url("https://api.example.com:443/v1/chat")
    assert (origin.tls, origin.host, origin.port) == (True, "api.example.com", 443)
    assert origin.host_header == "api.example.com"
    assert target == "/v1/chat"
    origin, _ = split_url("http://api.example.com:80/")
    assert (origin.tls, origin.port, origin.host_header) == (False, 80, "api.example.com")


def test_other_ports_stay_in_the_host_header():
    origin, _ = split_url("http://api.example.com:8080/x")
    assert origin.port == 8080
    assert origin.host_header == "api.example.com:8080"
    origin, _ = split_url("https://api.example.com:80/x")
    assert (origin.port, origin.host_header) == (80, "api.example.com:80")


def test_the_host_is_lower_cased_and_the_scheme_may_be_any_case():
    origin, _ = split_url("HTTPS://API.Example.COM/v1")
    assert (origin.tls, origin.host, origin.host_header) == (
        True,
        "api.example.com",
        "api.example.com",
    )


def test_an_international_host_is_sent_as_idna():
    origin, target = split_url("https://Bücher.example/v1?q=1")
    assert origin.host == "xn--bcher-kva.example"
    assert origin.host_header == "xn--bcher-kva.example"
    assert origin.literal is None
    assert target == "/v1?q=1"


def test_an_invalid_international_host_is_refused():
    with pytest.raises(InvalidURL):
        split_url("https://a\u200db.example/")  # a joiner outside its allowed context


def test_an_ipv6_literal_keeps_its_brackets_in_the_host_header_only():
    origin, target = split_url("http://[::1]:8080/v1")
    assert origin.host == "::1"
    assert origin.literal == "::1"
    assert origin.port == 8080
    assert origin.host_header == "[::1]:8080"
    assert target == "/v1"
    origin, _ = split_url("https://[2001:DB8::1]/")
    assert origin.literal == "2001:db8::1"
    assert origin.host_header == "[2001:db8::1]"


def test_an_ipv4_literal_is_its_own_address():
    origin, _ = split_url("http://127.0.0.1:9000/")
    assert origin.literal == "127.0.0.1"
    assert origin.host_header == "127.0.0.1:9000"
    assert split_url("http://localhost/")[0].literal is None


def test_the_fragment_is_dropped_and_the_query_kept():
    _, target = split_url("https://h.example/a/b?x=1&y=%20#frag")
    assert target == "/a/b?x=1&y=%20"
    _, target = split_url("https://h.example#frag")
    assert target == "/"


def test_an_empty_path_becomes_a_slash():
    assert split_url("https://h.example")[1] == "/"
    assert split_url("https://h.example?x=1")[1] == "/?x=1"


def test_characters_that_cannot_go_on_the_wire_are_percent_encoded():
    _, target = split_url("https://h.example/a b/c\rd\ne?q=ü")
    assert target == "/a%20b/c%0Dd%0Ae?q=%C3%BC"
    assert "\r" not in target and "\n" not in target and " " not in target


def test_a_target_that_is_already_sendable_is_left_as_given():
    # A SigV4 signature covers the path exactly as sent: no normalising.
    raw = "/model/anthropic.claude-v2%3A1/invoke?a=%2F&b=c:d@e"
    assert split_url("https://h.example" + raw)[1] == raw
    assert split_url("https://h.example/a/../b/./c")[1] == "/a/../b/./c"


def test_credentials_in_the_url_are_refused():
    with pytest.raises(InvalidURL, match="credentials"):
        split_url("https://user:secret@h.example/")
    with pytest.raises(InvalidURL, match="credentials"):
        split_url("https://user@h.example/")


@pytest.mark.parametrize("url", ["ftp://h.example/", "ws://h.example/", "file://h.example/x"])
def test_an_unsupported_scheme_is_refused(url):
    with pytest.raises(InvalidURL, match="scheme"):
        split_url(url)


@pytest.mark.parametrize(
    "url", ["h.example/v1", "/v1/chat", "://h.example/", "https:///v1", "http://h.example:99999/"]
)
def test_a_url_without_a_usable_origin_is_refused(url):
    with pytest.raises(InvalidURL):
        split_url(url)


def test_parse_origin_is_the_same_for_the_same_authority():
    assert parse_origin("https", "h.example") == parse_origin("HTTPS", "h.example:443")


# -- build_head ---------------------------------------------------------------------


def test_the_head_keeps_the_callers_header_order_and_adds_host_after_them():
    head, chunked = build_head(
        "POST",
        "/v1/chat",
        "h.example",
        [("Authorization", "Bearer k"), ("Content-Type", "application/json"), ("X-A", "1")],
        b'{"a":1}',
    )
    assert chunked is False
    assert _lines(head) == [
        "POST /v1/chat HTTP/1.1",
        "Authorization: Bearer k",
        "Content-Type: application/json",
        "X-A: 1",
        "host: h.example",
        "accept-encoding: gzip, deflate",
        "content-length: 7",
    ]


def test_a_host_header_given_is_not_doubled():
    head, _ = build_head("GET", "/", "h.example", [("Host", "other.example")], None)
    lines = _lines(head)
    assert [line for line in lines if line.lower().startswith("host:")] == ["Host: other.example"]


def test_an_accept_encoding_given_is_not_doubled():
    head, _ = build_head("GET", "/", "h", [("Accept-Encoding", "identity")], None)
    assert [line for line in _lines(head) if "accept-encoding" in line.lower()] == [
        "Accept-Encoding: identity"
    ]


def test_a_get_without_a_body_has_no_length():
    head, chunked = build_head("GET", "/", "h", [], None)
    assert chunked is False
    assert not any(line.lower().startswith("content-length") for line in _lines(head))


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH"])
def test_an_empty_post_says_content_length_zero(method):
    head, chunked = build_head(method, "/", "h", [], None)
    assert chunked is False
    assert "content-length: 0" in _lines(head)
    head, _ = build_head(method, "/", "h", [], b"")
    assert "content-length: 0" in _lines(head)


def test_a_stream_without_a_length_goes_chunked():
    head, chunked = build_head("POST", "/", "h", [], _stream())
    assert chunked is True
    lines = _lines(head)
    assert "transfer-encoding: chunked" in lines
    assert not any(line.lower().startswith("content-length") for line in lines)


def test_a_stream_with_a_length_goes_raw():
    head, chunked = build_head("POST", "/", "h", [("Content-Length", "5")], _stream())
    assert chunked is False
    lines = _lines(head)
    assert "Content-Length: 5" in lines
    assert not any("transfer-encoding" in line.lower() for line in lines)


def test_bytes_with_a_length_given_keep_the_callers_length_only():
    head, _ = build_head("POST", "/", "h", [("content-length", "3")], b"abc")
    assert [line for line in _lines(head) if "length" in line] == ["content-length: 3"]


def test_a_callers_transfer_encoding_is_dropped():
    head, chunked = build_head("POST", "/", "h", [("Transfer-Encoding", "chunked")], b"abc")
    assert chunked is False
    lines = _lines(head)
    assert not any("transfer-encoding" in line.lower() for line in lines)
    assert "content-length: 3" in lines


@pytest.mark.parametrize(
    "header",
    [
        ("X-A", "v\r\nX-Injected: 1"),
        ("X-A", "v\nX-Injected: 1"),
        ("X-A", "v\r"),
        ("X-A\r\nX-B", "v"),
    ],
)
def test_a_line_break_in_a_header_is_refused(header):
    with pytest.raises(InvalidHeader):
        build_head("GET", "/", "h", [header], None)


def test_latin_1_goes_as_latin_1_and_anything_else_as_utf_8():
    head, _ = build_head("GET", "/", "h", [("X-A", "café")], None)
    assert b"X-A: caf\xe9\r\n" in head
    head, _ = build_head("GET", "/", "h", [("X-A", "naïve ✓")], None)
    assert "X-A: naïve ✓\r\n".encode() in head


# -- Headers ------------------------------------------------------------------------


def test_headers_by_lower_cased_name_the_last_of_repeated_ones():
    headers = Headers(
        [(b"content-type", b"text/plain"), (b"x-a", b"1"), (b"x-a", b"2"), (b"x-b", b"caf\xe9")]
    )
    assert headers.get("Content-Type") == "text/plain"
    assert headers["X-A"] == "2"
    assert headers.get("x-b") == "café"
    assert headers.get("missing") is None
    assert headers.get("missing", "d") == "d"
    assert "X-A" in headers
    assert "missing" not in headers
    assert 1 not in headers
    with pytest.raises(KeyError):
        headers["missing"]
    assert dict(headers.items()) == {"content-type": "text/plain", "x-a": "2", "x-b": "café"}
