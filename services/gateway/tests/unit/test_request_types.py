"""The field checks where bodies enter accept every real request the adapters are
tested with (the golden fixtures, written from each provider's API reference) and
refuse a wrong type with the field's path."""

import json
from pathlib import Path

import pytest
from portcullis_gateway.domain.errors import InvalidRequest
from portcullis_gateway.domain.request_types import (
    OPENAI_REQUESTS,
    ChatRequest,
    MessagesRequest,
    check_fields,
)

FIXTURES = Path(__file__).parents[1] / "fixtures" / "providers"
GOLDEN = sorted(FIXTURES.glob("*/request_*.json"))


@pytest.mark.parametrize("path", GOLDEN, ids=[f"{p.parent.name}-{p.stem}" for p in GOLDEN])
def test_every_golden_openai_request_passes(path: Path):
    case = json.loads(path.read_text())
    endpoint = case.get("endpoint", "/chat/completions")
    check_fields(case["openai_request"], OPENAI_REQUESTS[endpoint])


ANTHROPIC = sorted((FIXTURES / "anthropic").glob("request_*.json"))


@pytest.mark.parametrize("path", ANTHROPIC, ids=[p.stem for p in ANTHROPIC])
def test_every_anthropic_body_the_adapter_builds_passes_the_messages_check(path: Path):
    # What the Anthropic adapter sends is a Messages request: the inbound check on
    # /v1/messages must take it.
    check_fields(json.loads(path.read_text())["provider_request"]["body"], MessagesRequest)


def test_a_messages_request_with_every_block_kind_passes():
    body = {
        "model": "claude-sonnet-4-5",
        "max_tokens": 100,
        "system": [{"type": "text", "text": "be brief", "cache_control": {"type": "ephemeral"}}],
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "look"},
                    {
                        "type": "image",
                        "source": {"type": "base64", "media_type": "image/png", "data": "iVBO"},
                    },
                ],
            },
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "t1", "name": "f", "input": {"q": 1}}],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "t1",
                        "content": [{"type": "text", "text": "42"}],
                    }
                ],
            },
        ],
        "tools": [{"name": "f", "input_schema": {"type": "object"}}],
        "tool_choice": {"type": "auto", "disable_parallel_tool_use": True},
        "stop_sequences": ["END"],
        "metadata": {"user_id": "u-1"},
        "thinking": {"type": "enabled", "budget_tokens": 1024},  # not read: passes as it is
    }
    check_fields(body, MessagesRequest)


@pytest.mark.parametrize(
    ("body", "param"),
    [
        (
            {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": 5}]}]},
            "messages[0].content[0].image_url",
        ),
        ({"messages": [{"role": "user"}], "stop": [1]}, "stop[0]"),
        ({"messages": [{"role": "user"}], "max_tokens": True}, "max_tokens"),
        ({"messages": [{"role": "user"}], "tool_choice": 5}, "tool_choice"),
        (
            {
                "messages": [{"role": "user"}],
                "response_format": {"type": "json_schema", "json_schema": {"schema": []}},
            },
            "response_format.json_schema.schema",
        ),
        ({"messages": [{"content": "hi"}]}, "messages[0].role"),
        ({}, "messages"),
    ],
)
def test_a_wrong_chat_field_is_named(body, param):
    with pytest.raises(InvalidRequest) as info:
        check_fields(body, ChatRequest)
    assert info.value.param == param
    assert info.value.code == "invalid_body"


def test_nothing_to_check_for_an_endpoint_the_gateway_does_not_read():
    check_fields({"anything": object()}, None)
