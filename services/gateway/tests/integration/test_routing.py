"""The routing engine through the running gateway: fallback, retries, timeouts, load
balancing, conditional routing and nested configs against mock-provider targets that
fail in chosen ways; the attempt tree in the log."""

import json
import time
from collections import Counter

import httpx
import pytest
from portcullis_stack.servers import free_port

MESSAGES = [{"role": "user", "content": "route me"}]


def knobbed(mock, knobs: str) -> str:
    return f"{mock.url}/mock/{knobs}/v1"


def post(gateway, config: dict, body: dict | None = None, **headers):
    payload = {"model": "gpt-4o-mini", "messages": MESSAGES, **(body or {})}
    return httpx.post(
        f"{gateway.v1}/chat/completions",
        json=payload,
        headers={
            "authorization": "Bearer sk-route",
            "x-portkey-config": json.dumps(config),
            **headers,
        },
        timeout=20,
    )


def metric_value(gateway, name: str) -> float:
    scrape = httpx.get(f"{gateway.url}/metrics").text
    line = next(x for x in scrape.splitlines() if x.startswith(f"portcullis_gateway_{name} "))
    return float(line.split()[-1])


def fallback(*targets, **strategy):
    return {"strategy": {"mode": "fallback", **strategy}, "targets": list(targets)}


async def test_fallback_moves_on_after_a_500_and_logs_the_attempt_tree(gateway, mock, events):
    config = fallback({"custom_host": knobbed(mock, "status=500")}, {"custom_host": mock.v1})
    response = post(gateway, config)
    assert response.status_code == 200
    assert response.json()["choices"][0]["message"]["content"] == "mock reply to: route me"
    assert response.headers["x-portkey-last-used-option-index"] == "config.targets[1]"
    assert response.headers["x-portkey-retry-attempt-count"] == "0"
    request_id = response.headers["x-portkey-request-id"]
    logged, _ = await events.log(gateway, request_id)
    assert [(a.path, a.status) for a in logged.attempts] == [
        ("config.targets[0]", 500),
        ("config.targets[1]", 200),
    ]
    # The provider's own error object, so the log says why each attempt failed.
    assert logged.attempts[0].error["message"]
    assert logged.attempts[1].error is None
    assert logged.fallbacks == 1 and logged.rescued
    assert logged.last_used_option_index == "config.targets[1]"
    metric, _ = await events.metric(gateway, request_id)
    assert metric.fallbacks == 1 and metric.rescued
    assert metric_value(gateway, "routing_fallbacks_total") >= 1
    assert metric_value(gateway, "routing_rescued_total") >= 1


def test_fallback_on_status_codes_limits_what_falls_back(gateway, mock):
    config = fallback(
        {"custom_host": knobbed(mock, "status=500")},
        {"custom_host": mock.v1},
        on_status_codes=[429],
    )
    response = post(gateway, config)
    assert response.status_code == 500
    assert response.headers["x-portkey-last-used-option-index"] == "config.targets[0]"


def test_all_targets_failing_returns_the_last_answer(gateway, mock):
    config = fallback(
        {"custom_host": knobbed(mock, "status=500")}, {"custom_host": knobbed(mock, "status=503")}
    )
    response = post(gateway, config)
    assert response.status_code == 503
    assert response.headers["x-portkey-last-used-option-index"] == "config.targets[1]"


async def test_refused_connection_counts_as_a_failure(gateway, mock, events):
    closed = f"http://127.0.0.1:{free_port()}/v1"
    config = fallback({"custom_host": closed}, {"custom_host": mock.v1}, on_status_codes=[429])
    response = post(gateway, config)
    assert response.status_code == 200
    logged, _ = await events.log(gateway, response.headers["x-portkey-request-id"])
    assert logged.attempts[0].status == 502
    assert logged.attempts[0].error["code"] == "upstream_unreachable"


async def test_timeout_is_a_408_and_falls_back(gateway, mock, events):
    slow = {"custom_host": knobbed(mock, "latency_ms=3000"), "request_timeout": 200}
    response = post(gateway, fallback(slow, {"custom_host": mock.v1}))
    assert response.status_code == 200
    logged, _ = await events.log(gateway, response.headers["x-portkey-request-id"])
    assert logged.attempts[0].status == 408
    assert logged.attempts[0].error["code"] == "request_timeout"

    alone = post(gateway, {"retry": {"attempts": 0}, **slow})
    assert alone.status_code == 408
    assert alone.json()["error"]["type"] == "timeout_error"
    assert alone.json()["error"]["code"] == "request_timeout"


async def test_retries_use_the_retry_budget_and_say_so(gateway, mock, events):
    config = {"custom_host": knobbed(mock, "status=503"), "retry": {"attempts": 2}}
    response = post(gateway, config)
    assert response.status_code == 503
    assert response.headers["x-portkey-retry-attempt-count"] == "2"
    logged, _ = await events.log(gateway, response.headers["x-portkey-request-id"])
    assert [a.retry for a in logged.attempts] == [0, 1, 2]
    assert logged.retry_attempts == 2 and logged.retries_total == 2 and not logged.rescued


def test_retry_waits_for_retry_after_then_falls_back(gateway, mock):
    limited = {"custom_host": knobbed(mock, "status=429,retry_after=1"), "retry": {"attempts": 1}}
    started = time.monotonic()
    response = post(gateway, fallback(limited, {"custom_host": mock.v1}))
    assert response.status_code == 200
    assert time.monotonic() - started >= 1.0  # the provider's Retry-After was honoured
    assert response.headers["x-portkey-last-used-option-index"] == "config.targets[1]"


async def test_retry_after_beyond_the_cap_is_not_waited_for(gateway, mock, events):
    config = {"custom_host": knobbed(mock, "status=429,retry_after=600"), "retry": {"attempts": 3}}
    response = post(gateway, config)
    assert response.status_code == 429
    assert response.headers["x-portkey-retry-attempt-count"] == "0"
    assert response.headers["retry-after"] == "600"


def test_streaming_switches_target_before_the_first_byte(gateway, mock):
    config = fallback({"custom_host": knobbed(mock, "status=500")}, {"custom_host": mock.v1})
    with httpx.stream(
        "POST",
        f"{gateway.v1}/chat/completions",
        json={"model": "gpt-4o-mini", "messages": MESSAGES, "stream": True},
        headers={"authorization": "Bearer sk-route", "x-portkey-config": json.dumps(config)},
        timeout=20,
    ) as response:
        assert response.status_code == 200
        assert response.headers["x-portkey-last-used-option-index"] == "config.targets[1]"
        text = response.read().decode()
    assert "data: [DONE]" in text
    assert '"error"' not in text


def test_streaming_failure_after_the_first_byte_is_an_in_stream_error(gateway, mock):
    broken = {"custom_host": knobbed(mock, "fail_after_chunks=2,fail_mode=drop")}
    config = fallback(broken, {"custom_host": mock.v1})
    with httpx.stream(
        "POST",
        f"{gateway.v1}/chat/completions",
        json={"model": "m", "messages": [{"role": "user", "content": "a b c d e"}], "stream": True},
        headers={"authorization": "Bearer sk-route", "x-portkey-config": json.dumps(config)},
        timeout=20,
    ) as response:
        assert response.status_code == 200
        assert response.headers["x-portkey-last-used-option-index"] == "config.targets[0]"
        text = response.read().decode()
    assert '"error"' in text


def test_loadbalance_spreads_by_weight_and_never_picks_weight_zero(gateway, mock):
    config = {
        "strategy": {"mode": "loadbalance"},
        "targets": [
            {"custom_host": mock.v1, "weight": 1},
            {"custom_host": mock.v1, "weight": 0},
            {"custom_host": mock.v1, "weight": 1},
        ],
    }
    seen = Counter(
        post(gateway, config).headers["x-portkey-last-used-option-index"] for _ in range(40)
    )
    assert set(seen) == {"config.targets[0]", "config.targets[2]"}


def test_sticky_loadbalance_keeps_a_user_on_one_target(gateway, mock):
    config = {
        "strategy": {
            "mode": "loadbalance",
            "sticky_session": {"hash_fields": ["metadata._user"], "ttl": 60},
        },
        "targets": [{"custom_host": mock.v1} for _ in range(4)],
    }
    for user in ("alice", "bob", "carol"):
        meta = json.dumps({"_user": user})
        seen = {
            post(gateway, config, **{"x-portkey-metadata": meta}).headers[
                "x-portkey-last-used-option-index"
            ]
            for _ in range(6)
        }
        assert len(seen) == 1


CONDITIONAL = {
    "strategy": {
        "mode": "conditional",
        "conditions": [
            {"query": {"metadata.plan": "paid", "params.model": "gpt-4o"}, "then": "premium"},
            {"query": {"params.max_tokens": {"$gte": 1000}}, "then": "long"},
            {"query": {"metadata.region": {"$regex": "^eu-"}}, "then": "eu"},
        ],
        "default": "basic",
    },
    "targets": [
        {"name": "premium"},
        {"name": "long"},
        {"name": "eu"},
        {"name": "basic"},
    ],
}


@pytest.mark.parametrize(
    ("metadata", "body", "expected"),
    [
        ({"plan": "paid"}, {"model": "gpt-4o"}, 0),
        ({"plan": "paid"}, {"model": "gpt-4o-mini"}, 3),
        ({}, {"max_tokens": 2000}, 1),
        ({"region": "eu-west-1"}, {}, 2),
        ({"region": "us-east-1"}, {"max_tokens": 10}, 3),
    ],
)
def test_conditional_routing_table(gateway, mock, metadata, body, expected):
    config = {**CONDITIONAL, "custom_host": mock.v1}
    response = post(gateway, config, body, **{"x-portkey-metadata": json.dumps(metadata)})
    assert response.status_code == 200
    assert response.headers["x-portkey-last-used-option-index"] == f"config.targets[{expected}]"


def test_conditional_without_a_match_is_a_400(gateway, mock):
    config = {
        "custom_host": mock.v1,
        "strategy": {
            "mode": "conditional",
            "conditions": [{"query": {"metadata.plan": "paid"}, "then": "a"}],
        },
        "targets": [{"name": "a"}],
    }
    response = post(gateway, config)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "no_matching_condition"


def test_nested_config_with_inherited_override_params(gateway, mock):
    config = {
        "strategy": {"mode": "fallback"},
        "override_params": {"model": "overridden-model"},
        "targets": [
            {
                "strategy": {"mode": "loadbalance"},
                "targets": [
                    {"custom_host": knobbed(mock, "status=502")},
                    {"custom_host": knobbed(mock, "status=500")},
                ],
            },
            {
                "strategy": {"mode": "fallback"},
                "targets": [
                    {"custom_host": knobbed(mock, "status=429")},
                    {"custom_host": mock.v1},
                ],
            },
        ],
    }
    response = post(gateway, config)
    assert response.status_code == 200
    assert response.headers["x-portkey-last-used-option-index"] == "config.targets[1].targets[1]"
    assert response.json()["model"] == "overridden-model"


def test_invalid_config_is_a_400_naming_the_path(gateway, mock):
    config = fallback({"custom_host": mock.v1}, {"custom_host": mock.v1, "retry": {"attempts": 6}})
    response = post(gateway, config)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_config"
    assert "targets[1].retry.attempts" in error["message"]


def test_stream_slow_to_start_times_out_and_falls_back(gateway, mock):
    config = fallback({"custom_host": knobbed(mock, "latency_ms=3000")}, {"custom_host": mock.v1})
    with httpx.stream(
        "POST",
        f"{gateway.v1}/chat/completions",
        json={"model": "m", "messages": MESSAGES, "stream": True},
        headers={
            "authorization": "Bearer sk-route",
            "x-portkey-config": json.dumps(config),
            # The header is the default timeout of every target without its own.
            "x-portkey-request-timeout": "300",
        },
        timeout=20,
    ) as response:
        assert response.status_code == 200
        assert response.headers["x-portkey-last-used-option-index"] == "config.targets[1]"
        assert "data: [DONE]" in response.read().decode()


def test_a_caller_who_leaves_stops_the_retries(gateway, mock):
    config = {
        "custom_host": knobbed(mock, "status=503,retry_after=3"),
        "retry": {"attempts": 3},
    }
    mock.clear()
    with pytest.raises(httpx.ReadTimeout):
        post_with_timeout(gateway, config, timeout=0.5)
    # Without the disconnect check the gateway would wait 3 s and call three more times.
    time.sleep(4)
    calls = [r for r in mock.requests() if "/mock/status=503,retry_after=3" in r["path"]]
    assert len(calls) == 1


def post_with_timeout(gateway, config: dict, timeout: float):
    return httpx.post(
        f"{gateway.v1}/chat/completions",
        json={"model": "m", "messages": MESSAGES},
        headers={"authorization": "Bearer sk-route", "x-portkey-config": json.dumps(config)},
        timeout=timeout,
    )


async def test_a_first_target_that_answers_leaves_no_tree_and_a_failing_one_the_whole_tree(
    gateway, mock, events
):
    ok = post(gateway, fallback({"custom_host": mock.v1}, {"custom_host": mock.v1}))
    assert ok.status_code == 200
    assert ok.headers["x-portkey-last-used-option-index"] == "config.targets[0]"
    logged, _ = await events.log(gateway, ok.headers["x-portkey-request-id"])
    assert logged.attempts == [] and not logged.rescued and logged.fallbacks == 0
    nested = {
        "strategy": {"mode": "fallback"},
        "targets": [
            fallback({"custom_host": knobbed(mock, "status=503")}),
            {"custom_host": mock.v1},
        ],
    }
    rescued = post(gateway, nested)
    assert rescued.status_code == 200
    assert rescued.headers["x-portkey-last-used-option-index"] == "config.targets[1]"
    logged, _ = await events.log(gateway, rescued.headers["x-portkey-request-id"])
    # The failed first call is recorded once, though the fast path made it.
    assert [(a.path, a.status) for a in logged.attempts] == [
        ("config.targets[0].targets[0]", 503),
        ("config.targets[1]", 200),
    ]
    assert logged.rescued
