import msgspec
import pytest
from portcullis.events import decode_log, encode, metered_from_logged
from portcullis_gateway.domain.cost import PriceBook
from portcullis_gateway.domain.exchange import Exchange, build_logged

PRICES = PriceBook()
REQUEST = b'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hello there"}]}'
RESPONSE = (
    b'{"id":"c1","object":"chat.completion","model":"gpt-4o-mini","choices":[],'
    b'"usage":{"prompt_tokens":10,"completion_tokens":4,"total_tokens":14,'
    b'"prompt_tokens_details":{"cached_tokens":2}}}'
)


def exchange(**fields) -> Exchange:
    ex = Exchange(
        "0190-id",
        "trace-1",
        "POST",
        "/v1/chat/completions",
        fields.pop("kind", "chat"),
        1_700_000_000_000,
        [
            (b"authorization", b"Bearer sk-x"),
            (b"x-portkey-provider", b"openai"),
            (b"x-portkey-api-key", b"pk"),
        ],
    )
    ex.provider = "openai"
    ex.prices_id = "openai"
    ex.request_body = REQUEST
    ex.request_body_json = True
    ex.model = "gpt-4o-mini"
    ex.status = 200
    ex.total_ms = 12.3456
    for key, value in fields.items():
        setattr(ex, key, value)
    return ex


def roundtrip(ex: Exchange):
    logged = build_logged(ex, workspace="ws", organisation_id="org", prices=PRICES)
    return decode_log(encode(logged))


def test_non_stream_exchange_becomes_a_full_log_event():
    ex = exchange(
        response_body=RESPONSE,
        response_headers=[
            (b"content-type", b"application/json"),
            (b"x-portkey-request-id", b"0190-id"),
        ],
        metadata={"_user": "u1", "team": "a"},
        user="u1",
        first_byte_ms=3.0,
        upstream_ms=9.0,
    )
    logged = roundtrip(ex)
    assert logged.id == "0190-id" and logged.workspace == "ws" and logged.organisation_id == "org"
    assert msgspec.json.decode(logged.request_body) == msgspec.json.decode(REQUEST)
    assert bytes(logged.response_body) == RESPONSE
    assert logged.request_headers == {"x-portkey-provider": "openai"}
    assert logged.response_headers["x-portkey-request-id"] == "0190-id"
    assert logged.usage.prompt_tokens == 10 and logged.usage.cached_tokens == 2
    assert logged.usage.estimated is False
    assert logged.cost == pytest.approx(PRICES.cost("openai", "gpt-4o-mini", logged.usage))
    assert logged.cost > 0
    assert logged.is_success and logged.error is None
    assert logged.metadata == {"_user": "u1", "team": "a"} and logged.user == "u1"
    assert logged.timings.total_ms == 12.346 and logged.timings.upstream_ms == 9.0
    metered = metered_from_logged(logged)
    assert metered.total_tokens == 14 and metered.cost == logged.cost


def test_stream_exchange_logs_the_assembled_answer_and_time_to_first_token():
    def c(delta, finish=None):
        return (
            b"data: "
            + msgspec.json.encode(
                {
                    "id": "c2",
                    "model": "gpt-4o-mini",
                    "created": 1,
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                }
            )
            + b"\n\n"
        )

    ex = exchange(
        stream=True,
        chunks=[
            c({"role": "assistant"}),
            c({"content": "Hi you"}),
            c({}, "stop"),
            b"data: [DONE]\n\n",
        ],
        chunk_ms=[5.0, 7.5, 8.0, 8.1],
    )
    logged = roundtrip(ex)
    body = msgspec.json.decode(logged.response_body)
    assert body["object"] == "chat.completion"
    assert body["choices"][0]["message"] == {"role": "assistant", "content": "Hi you"}
    assert logged.timings.first_token_ms == 7.5
    # No usage chunk: counted locally and marked as such.
    assert logged.usage.estimated is True
    assert logged.usage.completion_tokens == 2  # "Hi you" = 6 chars
    assert logged.usage.prompt_tokens == 3  # "hello there" = 11 chars
    assert logged.cost is not None


def test_unknown_model_has_null_cost():
    ex = exchange(model="mock-model", response_body=RESPONSE.replace(b"gpt-4o-mini", b"mock-model"))
    assert roundtrip(ex).cost is None


def test_non_json_bodies_are_stored_as_strings_and_errors_recorded():
    ex = exchange(
        request_body=b"{not json",
        request_body_json=False,
        status=400,
        response_body=b'{"error":{"message":"bad","type":"invalid_request_error"}}',
        error={"message": "bad", "type": "invalid_request_error"},
    )
    logged = roundtrip(ex)
    assert msgspec.json.decode(logged.request_body) == "{not json"
    assert logged.is_success is False and logged.error["message"] == "bad"


def test_provider_error_body_becomes_the_error_and_html_is_a_string():
    ex = exchange(
        status=429, response_body=b'{"error":{"message":"slow down","type":"rate_limit_error"}}'
    )
    logged = roundtrip(ex)
    assert logged.error == {"message": "slow down", "type": "rate_limit_error"}
    assert logged.usage is None and logged.cost is None
    ex = exchange(status=502, response_body=b"<html>oops</html>")
    assert msgspec.json.decode(roundtrip(ex).response_body) == "<html>oops</html>"


def test_missing_request_body_is_null():
    ex = exchange(request_body=None, status=413)
    assert bytes(roundtrip(ex).request_body) == b"null"


def test_routing_facts_reach_the_log_and_the_metric():
    from portcullis.events import Attempt

    attempts = [
        Attempt(path="config.targets[0]", provider="openai", status=503, latency_ms=4.0),
        Attempt(path="config.targets[0]", provider="openai", status=503, retry=1),
        Attempt(path="config.targets[1]", provider="openai", skipped="circuit_open"),
        Attempt(path="config.targets[2]", provider="openai", status=200, latency_ms=2.0),
    ]
    ex = exchange(
        response_body=RESPONSE,
        attempts=attempts,
        retry_count=0,
        option_index="config.targets[2]",
        retries_total=1,
        fallbacks=2,
        rescued=True,
    )
    logged = roundtrip(ex)
    assert logged.attempts == attempts
    assert logged.last_used_option_index == "config.targets[2]"
    assert logged.retries_total == 1 and logged.fallbacks == 2 and logged.rescued
    metered = metered_from_logged(logged)
    assert metered.retries_total == 1 and metered.fallbacks == 2 and metered.rescued


def test_single_call_logs_no_attempt_list():
    logged = roundtrip(exchange(response_body=RESPONSE))
    assert logged.attempts == [] and logged.last_used_option_index == "config"
    assert b"attempts" not in encode(logged)  # omitted: older consumers see no change


def test_an_answer_without_usage_is_counted_locally_and_marked_estimated():
    ex = Exchange("01J0000000000000000000000A", "t", "POST", "/v1/chat/completions", "chat", 0, [])
    ex.status = 200
    ex.request_body = b'{"model":"m","messages":[{"role":"user","content":"count these words"}]}'
    ex.request_body_json = True
    ex.response_body = (
        b'{"model":"m","choices":[{"index":0,"message":{"role":"assistant",'
        b'"content":"twelve chars","tool_calls":[{"function":{"name":"f","arguments":"{}"}}]}}]}'
    )
    logged = build_logged(ex, workspace="w", organisation_id="o", prices=PriceBook())
    assert logged.usage.estimated
    assert logged.usage.prompt_tokens == 5  # "count these words": 17 chars / 4, rounded up
    assert logged.usage.completion_tokens == 4  # "twelve chars{}": 14 chars
    ex.response_body = (
        b'{"model":"m","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2}}'
    )
    assert not build_logged(
        ex, workspace="w", organisation_id="o", prices=PriceBook()
    ).usage.estimated
