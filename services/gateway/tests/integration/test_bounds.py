"""Bounded work per request (issue 10) through the running gateway: oversized, deep or
crowded configs and patterns RE2 cannot run are 400s naming the limit; a config that
lists a failing target dozens of times makes at most MAX_UPSTREAM_ATTEMPTS calls (the
mock provider counts them); /v1/health stays prompt while pathological requests run."""

import asyncio
import json
import time

import httpx

MESSAGES = [{"role": "user", "content": "bounded"}]
ATTEMPTS = 4  # this module's gateway's MAX_UPSTREAM_ATTEMPTS


def post(gateway, config: str | dict, body: dict | None = None, **headers):
    text = config if isinstance(config, str) else json.dumps(config)
    return httpx.post(
        f"{gateway.v1}/chat/completions",
        json={"model": "gpt-4o-mini", "messages": MESSAGES, **(body or {})},
        headers={"authorization": "Bearer sk-bounds", "x-portkey-config": text, **headers},
        timeout=30,
    )


def nested_text(levels: int, leaf: str) -> str:
    return '{"strategy":{"mode":"fallback"},"targets":[' * levels + leaf + "]}" * levels


def regex_config(mock, pattern: str) -> dict:
    return {
        "strategy": {
            "mode": "conditional",
            "conditions": [{"query": {"params.user": {"$regex": pattern}}, "then": "other"}],
            "default": "mock",
        },
        "targets": [
            {"name": "mock", "custom_host": mock.v1},
            {"name": "other", "custom_host": f"{mock.url}/mock/status=500/v1"},
        ],
    }


def calls_to(mock, marker: str) -> int:
    return sum(1 for r in mock.requests() if marker in r["path"])


def assert_400(response, code: str, fragment: str) -> dict:
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["code"] == code and error["type"] == "invalid_request_error"
    assert fragment in error["message"], error["message"]
    return error


async def test_a_config_nested_1000_deep_is_a_400_and_is_logged(bounded_gateway, mock, events):
    leaf = json.dumps({"custom_host": mock.v1, "api_key": "sk-deep-secret"})
    response = post(bounded_gateway, nested_text(1000, leaf))
    # The header's JSON depth is checked on its text, before the config is parsed.
    error = assert_400(response, "json_too_deep", "64 levels")
    assert error["param"] == "x-portkey-config"
    # Its log is built too (masking the config must not recurse past Python's limit).
    logged, msg = await events.log(bounded_gateway, response.headers["x-portkey-request-id"])
    assert logged.status == 400
    assert b"sk-deep-secret" not in msg.data
    error = assert_400(post(bounded_gateway, nested_text(9, leaf)), "config_too_deep", "8 levels")
    assert error["param"] == "targets[0]." * 8 + "targets"
    assert post(bounded_gateway, nested_text(8, leaf)).status_code == 200


def test_too_many_targets_conditions_or_bytes_are_400s_naming_the_limit(bounded_gateway, mock):
    target = {"custom_host": mock.v1}
    crowded = {"strategy": {"mode": "fallback"}, "targets": [target] * 101}
    error = assert_400(post(bounded_gateway, crowded), "too_many_targets", "MAX_CONFIG_TARGETS")
    assert error["param"] == "targets"
    config = regex_config(mock, "^x")
    config["strategy"]["conditions"] *= 51
    assert_400(post(bounded_gateway, config), "too_many_conditions", "at most 50 conditions")
    huge = json.dumps({"custom_host": mock.v1, "name": "n" * 70_000})
    assert_400(post(bounded_gateway, huge), "config_too_large", "MAX_CONFIG_BYTES")


def test_a_pattern_re2_cannot_run_is_a_400_at_parse_naming_its_path(bounded_gateway, mock):
    mock.clear()
    error = assert_400(
        post(bounded_gateway, regex_config(mock, r"(\w)\1")), "invalid_regex", "RE2 syntax"
    )
    assert error["param"] == "strategy.conditions[0].query.params.user.$regex"
    assert mock.requests() == []


def test_a_regex_text_over_the_limit_is_a_400(bounded_gateway, mock):
    response = post(bounded_gateway, regex_config(mock, "^a"), {"user": "a" * 5000})
    assert_400(response, "regex_text_too_long", "params.user is 5000 characters")


def test_catastrophic_backtracking_pattern_routes_at_once(bounded_gateway, mock):
    # On Python's re this request would never finish: (a+)+$ on 'a'*2000 + '!'.
    response = post(bounded_gateway, regex_config(mock, "(a+)+$"), {"user": "a" * 2000 + "!"})
    assert response.status_code == 200, response.text
    assert response.headers["x-portkey-last-used-option-index"] == "config.targets[0]"


async def test_a_failing_target_listed_30_times_is_called_at_most_the_limit(
    bounded_gateway, mock, events
):
    marker = "status=503,key=copies"
    failing = {"custom_host": f"{mock.url}/mock/{marker}/v1"}
    config = {"strategy": {"mode": "fallback"}, "targets": [failing] * 30}
    mock.clear()
    response = post(bounded_gateway, config)
    # The caller gets the last failure as the provider sent it.
    assert response.status_code == 503
    assert response.json()["error"]["message"] == "mock error with status 503"
    assert calls_to(mock, marker) == ATTEMPTS
    assert response.headers["x-portkey-last-used-option-index"] == f"config.targets[{ATTEMPTS - 1}]"
    logged, _ = await events.log(bounded_gateway, response.headers["x-portkey-request-id"])
    assert len(logged.attempts) == ATTEMPTS
    assert any("MAX_UPSTREAM_ATTEMPTS" in note for note in logged.notes)


def test_retries_and_fallbacks_share_one_budget(bounded_gateway, mock):
    marker = "status=500,key=budget"
    failing = {"custom_host": f"{mock.url}/mock/{marker}/v1", "retry": {"attempts": 2}}
    config = {
        "strategy": {"mode": "fallback"},
        "targets": [failing, failing, {"custom_host": mock.v1}],
    }
    mock.clear()
    response = post(bounded_gateway, config)
    # 3 calls on the first target, 1 on the second: the budget of 4 is spent before
    # the healthy third target; without the limit it would have answered 200.
    assert response.status_code == 500
    assert calls_to(mock, marker) == ATTEMPTS
    assert response.headers["x-portkey-last-used-option-index"] == "config.targets[1]"


def test_a_rescue_within_the_budget_still_answers(bounded_gateway, mock):
    marker = "status=500,key=rescue"
    config = {
        "strategy": {"mode": "fallback"},
        "targets": [{"custom_host": f"{mock.url}/mock/{marker}/v1"}] * 3
        + [{"custom_host": mock.v1}],
    }
    response = post(bounded_gateway, config)
    assert response.status_code == 200
    assert response.headers["x-portkey-last-used-option-index"] == "config.targets[3]"


async def test_health_answers_within_100ms_while_pathological_requests_run(bounded_gateway, mock):
    text = "a" * 2000 + "!"
    deep = nested_text(1_000, json.dumps({"custom_host": mock.v1}))
    # A slow default target keeps the regex requests in flight while health is probed.
    slow = regex_config(mock, "(a+)+$")
    slow["targets"][0]["custom_host"] = f"{mock.url}/mock/latency_ms=1500/v1"
    # And a failing target listed 100 times, each call slow: at most the budget of calls.
    failing = {"custom_host": f"{mock.url}/mock/status=503,latency_ms=200/v1"}
    copies = json.dumps({"strategy": {"mode": "fallback"}, "targets": [failing] * 100})
    configs = [deep, json.dumps(slow), copies]
    async with httpx.AsyncClient(timeout=30) as client, httpx.AsyncClient(timeout=5) as prober:
        # The probe's connection is open before the flood: what is timed is the answer.
        assert (await prober.get(f"{bounded_gateway.v1}/health")).status_code == 200

        async def pathological(i: int) -> int:
            config = configs[i % 3]
            response = await client.post(
                f"{bounded_gateway.v1}/chat/completions",
                json={"model": "gpt-4o-mini", "messages": MESSAGES, "user": text},
                headers={"authorization": "Bearer sk-bounds", "x-portkey-config": config},
            )
            return response.status_code

        async def probes() -> list[float]:
            await asyncio.sleep(0.2)  # every request sent; the regex ones wait on the mock
            times = []
            for _ in range(20):
                started = time.perf_counter()
                health = await prober.get(f"{bounded_gateway.v1}/health")
                times.append(time.perf_counter() - started)
                assert health.status_code == 200
                await asyncio.sleep(0.01)
            return times

        results = await asyncio.gather(*(pathological(i) for i in range(21)), probes())
    statuses, times = results[:-1], results[-1]
    assert sorted(set(statuses)) == [200, 400, 503]
    assert max(times) < 0.1, f"slowest health probe {max(times) * 1000:.0f} ms"
