"""The Anthropic SDK through the whole platform with an OpenAI model behind it: the
stream is translated on the way out, and the log stored by the logger (read back by id)
carries the usage the SDK saw."""

from __future__ import annotations

import anthropic

from tests.e2e.platform import Platform

KEY = "sk-ant-e2e-not-a-real-key"


def test_anthropic_sdk_streams_an_openai_model_and_the_log_has_its_usage(
    platform: Platform,
) -> None:
    client = anthropic.Anthropic(
        base_url=platform.gateway_url,
        api_key=KEY,
        default_headers=platform.provider_headers(),
        max_retries=0,
    )
    messages = [{"role": "user", "content": "stream through the platform"}]
    with client.messages.stream(
        model="gpt-4o-mini", max_tokens=64, system="be brief", messages=messages
    ) as stream:
        deltas = list(stream.text_stream)
        final = stream.get_final_message()
        request_id = stream.response.headers["x-portkey-request-id"]
    text = "".join(deltas)
    assert len(deltas) > 1, "the answer came in one piece: streaming was buffered"
    assert text == "mock reply to: stream through the platform"
    assert final.stop_reason == "end_turn"
    assert final.usage.input_tokens > 0 and final.usage.output_tokens > 0

    log = platform.get_log(request_id, timeout=5.0)
    assert log.status_code == 200, log.text
    stored = log.json()
    assert stored["request"]["body"]["messages"] == messages
    assert stored["request"]["body"]["system"] == "be brief"
    assert stored["response"]["body"]["choices"][0]["message"]["content"] == text
    assert stored["metrics"]["ai_org"] == "openai"
    assert stored["metrics"]["req_units"] == final.usage.input_tokens
    assert stored["metrics"]["res_units"] == final.usage.output_tokens
    assert not stored["metrics"].get("units_estimated")
    assert KEY not in log.text
