"""Routing through the whole platform with the official portkey-ai SDK: a fallback
config given as ``config=`` rescues a request from a failing target (JSON and streamed),
and the log read back through the gateway names the target that answered."""

from __future__ import annotations

import json

from portkey_ai import Portkey

from tests.e2e.platform import Platform


def _config(platform: Platform) -> dict:
    base = platform.mock_url.removesuffix("/v1")
    return {
        "strategy": {"mode": "fallback"},
        "retry": {"attempts": 1, "on_status_codes": [503]},
        "targets": [
            {"provider": "openai", "api_key": "sk-a", "custom_host": f"{base}/mock/status=503/v1"},
            {
                "strategy": {"mode": "loadbalance"},
                "targets": [
                    {"provider": "openai", "api_key": "sk-b", "custom_host": platform.mock_url}
                ],
            },
        ],
    }


def _client(platform: Platform, config: dict) -> Portkey:
    return Portkey(
        api_key="pk-local",
        base_url=f"{platform.gateway_url}/v1",
        config=config,
        metadata={"_user": "sdk-user"},
        max_retries=0,
    )


def test_portkey_sdk_config_falls_back(platform: Platform) -> None:
    client = _client(platform, _config(platform))
    completion = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "rescue me"}]
    )
    assert completion.choices[0].message.content == "mock reply to: rescue me"
    headers = completion.get_headers()  # the SDK strips the x-portkey- prefix
    assert headers["last-used-option-index"] == "config.targets[1].targets[0]"
    assert headers["retry-attempt-count"] == "0"
    log = platform.get_log(headers["request-id"], timeout=15)
    assert log.status_code == 200
    body = log.json()
    text = json.dumps(body)
    assert "config.targets[1].targets[0]" in text
    assert "sk-a" not in text and "sk-b" not in text  # keys in the config never logged


def test_portkey_sdk_config_streams_after_fallback(platform: Platform) -> None:
    client = _client(platform, _config(platform))
    stream = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "stream me please"}],
        stream=True,
    )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert text == "mock reply to: stream me please"


def test_portkey_sdk_invalid_config_names_the_path(platform: Platform) -> None:
    config = _config(platform)
    config["targets"][1]["targets"][0]["weight"] = -1
    client = _client(platform, config)
    try:
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}]
        )
    except Exception as exc:  # noqa: BLE001 — the SDK's BadRequestError
        assert getattr(exc, "status_code", None) == 400
        assert "targets[1].targets[0].weight" in str(exc)
    else:
        raise AssertionError("an invalid config was accepted")


def test_retry_rescues_a_request_on_the_same_target(platform: Platform) -> None:
    base = platform.mock_url.removesuffix("/v1")
    config = {
        "provider": "openai",
        "api_key": "sk-a",
        "custom_host": f"{base}/mock/fail_times=2,status=503,key=e2e-rescue/v1",
        "retry": {"attempts": 3, "on_status_codes": [503]},
    }
    completion = _client(platform, config).chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "second time lucky"}]
    )
    assert completion.choices[0].message.content == "mock reply to: second time lucky"
    headers = completion.get_headers()
    assert headers["retry-attempt-count"] == "2"
    log = platform.get_log(headers["request-id"], timeout=15)
    assert log.status_code == 200
