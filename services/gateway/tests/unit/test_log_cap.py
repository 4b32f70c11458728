"""MAX_LOG_BYTES: a log over the cap keeps what fits and says it was truncated; and which
publish failures are permanent (dead-lettered) rather than retried in order."""

import json

import msgspec
from portcullis.events import RequestLogged, Timings, encode
from portcullis_gateway.adapters.events import TooBig, dead_letter_name, permanent_reason
from portcullis_gateway.adapters.nats_link import PublishRefused
from portcullis_gateway.adapters.spool import SpooledMessage
from portcullis_gateway.domain.exchange import cap_bodies


def logged(request: bytes, response: bytes) -> RequestLogged:
    return RequestLogged(
        id="id-1", workspace="ws", organisation_id="o", trace_id="t", created_at_ms=0,
        method="POST", path="/v1/chat/completions", provider="openai", status=200,
        is_success=True, request_body=msgspec.Raw(request), response_body=msgspec.Raw(response),
        timings=Timings(started_at_ms=0, total_ms=1.0),
    )  # fmt: skip


def capped(event: RequestLogged, max_bytes: int) -> dict:
    data = encode(cap_bodies(event, len(encode(event)), max_bytes))
    assert len(data) <= max_bytes
    return json.loads(data)


def test_the_larger_body_is_cut_to_what_fits_and_the_smaller_kept_whole():
    request = json.dumps({"messages": [{"role": "user", "content": "hi"}]}).encode()
    response = json.dumps({"choices": [{"text": "é\n" * 50_000}]}).encode()
    log = capped(logged(request, response), 20_000)
    assert log["truncated"] is True
    assert log["request_body"] == json.loads(request)
    cut = log["response_body"]
    assert cut["truncated"] is True and cut["bytes"] == len(response)
    # The head is the answer's start, as much as fits (escaping included).
    assert response.decode().startswith(cut["head"]) and len(cut["head"]) > 8_000


def test_both_bodies_are_cut_when_neither_fits_in_its_share():
    big = json.dumps({"text": "x" * 30_000}).encode()
    log = capped(logged(big, big), 10_000)
    assert log["request_body"]["bytes"] == log["response_body"]["bytes"] == len(big)
    assert log["request_body"]["head"].startswith('{"text": "xxx')


def test_what_is_retried_and_what_is_dead_lettered():
    assert permanent_reason(TooBig("3 MB")) == "too_big"
    assert permanent_reason(PublishRefused('{"error":{"code":400}}', permanent=True)) == "refused"
    assert permanent_reason(msgspec.DecodeError("bad")) == "undecodable"
    # No stream yet, no space, no ack in time, NATS gone: kept in order and retried.
    assert permanent_reason(PublishRefused("", permanent=False)) is None
    assert permanent_reason(TimeoutError()) is None
    assert permanent_reason(ConnectionResetError()) is None


def test_a_dead_letter_file_name_is_safe_and_stable():
    message = SpooledMessage("pk.logs.ws", "a/b c", {}, b"{}")
    assert dead_letter_name(message, "refused") == "pk.logs.ws-a_b_c.refused.seg"
    assert dead_letter_name(message, "refused") == dead_letter_name(message, "refused")
