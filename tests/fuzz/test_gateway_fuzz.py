"""Fuzzing the gateway on a real platform: every route the README documents, driven by
schemathesis from their OpenAPI description (valid and invalid input), and hostile
headers, configs and bodies from hypothesis strategies of our own.

The claim under test: whatever arrives, the gateway answers without a 5xx of its own,
answers within the request's bounds, and stays up for the next caller. The upstream is
the mock provider (or a host the SSRF policy must refuse), so a 5xx here can only be
the gateway's. ``PORTCULLIS_FUZZ_EXAMPLES`` sets examples per route (`make fuzz` runs
a longer session than CI's).
"""

from __future__ import annotations

import json
import os
import string
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from tests.e2e.platform import Platform
from tests.fuzz.conftest import TALLY

EXAMPLES = int(os.environ.get("PORTCULLIS_FUZZ_EXAMPLES", "25"))
# A case that takes longer than this is a hang: nothing in these requests should wait
# for anything slower than the local mock.
CASE_TIMEOUT_S = 20.0

schema = schemathesis.openapi.from_path(Path(__file__).with_name("gateway-openapi.json"))
schema.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
    max_examples=EXAMPLES,
    allow_x00=True,
)
# The coverage phase alone is thousands of cases per run; `make fuzz` turns it on.
schema.config.phases.update(
    phases=["examples", "fuzzing"]
    + (["coverage"] if os.environ.get("PORTCULLIS_FUZZ_COVERAGE") else [])
)


def _judge(
    platform: Platform, method: str, path: str, response: httpx.Response | Any, sent: object = None
) -> None:
    status = response.status_code
    TALLY["cases"] += 1
    TALLY[f"{status // 100}xx"] += 1
    body = response.content[:600]
    assert status < 500, f"{method} {path} -> {status}: {body!r}; sent {sent!r:.800}"
    if status >= 400 and path.startswith("/v1/") and response.content:
        # Our own refusals are OpenAI-shaped; a relayed upstream error keeps its shape.
        error = json.loads(response.content).get("error")
        assert error is not None, f"{method} {path} -> {status} without an error body: {body!r}"
    health = httpx.get(f"{platform.gateway_url}/v1/health", timeout=5)
    assert health.status_code == 200, "the gateway stopped answering its health check"


def _provider_headers(platform: Platform) -> dict[str, str]:
    return {"authorization": "Bearer sk-fuzz", **platform.provider_headers()}


@schema.parametrize()
@settings(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_documented_routes_never_fail_on_input(case: Any, platform: Platform) -> None:
    case.headers = {**_provider_headers(platform), **(case.headers or {})}
    response = case.call(base_url=f"{platform.gateway_url}/v1", timeout=CASE_TIMEOUT_S)
    _judge(platform, case.method, f"/v1{case.formatted_path}", response, case.body)


# --- hostile input of our own ---------------------------------------------------------

INFERENCE_ROUTES = ("/v1/chat/completions", "/v1/embeddings", "/v1/messages", "/v1/completions")
PROVIDERS = (
    "openai",
    "anthropic",
    "google",
    "vertex-ai",
    "bedrock",
    "cohere",
    "ollama",
    "azure-openai",
    "groq",
    "mistral-ai",
    "nonsense",
)

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
)
_json = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)


def _nested(depth: int, kind: str) -> str:
    if kind == "list":
        return "[" * depth + "]" * depth
    return '{"a":' * depth + "1" + "}" * depth


_deep = st.builds(
    _nested, st.integers(min_value=50, max_value=20_000), st.sampled_from(["list", "dict"])
)


@st.composite
def _query(draw: st.DrawFn, depth: int = 0) -> Any:
    field = draw(
        st.sampled_from(["metadata.env", "params.model", "url.pathname", "params.x", "bogus"])
    )
    op = draw(st.sampled_from(["$eq", "$ne", "$gt", "$in", "$nin", "$regex", "$bogus"]))
    operand = draw(
        st.one_of(
            _scalars,
            st.sampled_from(["(a+)+$", "(a|aa)+b", "([a-z]+)*!", "[", "(?P<x>a)(?P=x)", ".*"]),
            st.lists(_scalars, max_size=3),
        )
    )
    leaf = {field: {op: operand}} if draw(st.booleans()) else {field: operand}
    if depth < 3 and draw(st.booleans()):
        key = draw(st.sampled_from(["$and", "$or"]))
        return {key: draw(st.lists(_query(depth + 1), max_size=3))}
    return leaf


@st.composite
def _target(draw: st.DrawFn, mock: str, depth: int = 0) -> dict[str, Any]:
    target: dict[str, Any] = {}
    if draw(st.booleans()):
        target["provider"] = draw(st.sampled_from(PROVIDERS))
    # Every leaf reaches the mock or a host the policy refuses: nothing may leave the box.
    port = mock.rsplit(":", 1)[1].split("/")[0]
    target["custom_host"] = draw(
        st.sampled_from(
            [
                mock,
                mock,
                # Spellings of the mock's own address the policy must read as it:
                f"http://①②⑦.0.0.1:{port}/v1",
                f"http://127.0.0.1.:{port}/v1",
                f"http://localhost:{port}/v1",
                # and hosts it must refuse before any connection is made.
                "http://10.0.0.1/v1",
                "http://169.254.169.254/",
                "http://[::ffff:169.254.169.254]/",
                "http://[64:ff9b::a9fe:a9fe]/",
                "ftp://x/",
                "not a url",
            ]
        )
    )
    for name, strategy in (
        ("api_key", st.text(max_size=20)),
        ("weight", st.one_of(st.floats(allow_nan=False), st.integers(), st.text(max_size=3))),
        (
            "retry",
            st.fixed_dictionaries(
                {},
                optional={
                    "attempts": st.integers(-2, 50),
                    "on_status_codes": st.lists(st.integers(0, 999)),
                },
            ),
        ),
        ("request_timeout", st.one_of(st.integers(-5, 10**12), st.floats(), st.text(max_size=4))),
        (
            "override_params",
            st.dictionaries(
                st.sampled_from(["model", "max_tokens", "stream"]), _scalars, max_size=2
            ),
        ),
        ("vertex_service_account_json", _json),
        ("bogus_field", _json),
    ):
        if draw(st.integers(0, 4)) == 0:
            target[name] = draw(strategy)
    if depth < 4 and draw(st.integers(0, 2)) == 0:
        mode = draw(st.sampled_from(["fallback", "loadbalance", "conditional", "single", "x"]))
        children = draw(st.lists(_target(mock, depth + 1), min_size=0, max_size=4))
        for i, child in enumerate(children):
            child.setdefault("name", f"t{i}")
        strategy: dict[str, Any] = {"mode": mode}
        if mode == "conditional" or draw(st.integers(0, 3)) == 0:
            strategy["conditions"] = [
                {"query": draw(_query()), "then": draw(st.sampled_from(["t0", "t1", "missing"]))}
                for _ in range(draw(st.integers(0, 3)))
            ]
            strategy["default"] = draw(st.sampled_from(["t0", "missing"]))
        if draw(st.integers(0, 3)) == 0:
            strategy["on_status_codes"] = draw(st.lists(st.integers(0, 700), max_size=3))
        target = {**target, "strategy": strategy, "targets": children}
    return target


def _failing(mock: str) -> str:
    # The mock's knobs ride in a path prefix; a 429 is retried and fallen back from like
    # a 5xx, and is not a 5xx the judge would blame the gateway for relaying.
    return mock.replace("/v1", "/mock/status=429/v1")


def _config_text(mock: str) -> st.SearchStrategy[str]:
    return st.one_of(
        _target(mock).map(json.dumps),
        _deep,
        _json.map(json.dumps),
        st.text(max_size=40),
        # Many copies of one failing target: bounded attempts, not hundreds of calls.
        st.integers(50, 2000).map(
            lambda n: json.dumps(
                {
                    "strategy": {"mode": "fallback"},
                    "targets": [{"provider": "openai", "custom_host": _failing(mock)}] * n,
                }
            )
        ),
    )


_header_text = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"),
    max_size=60,
).map(str.strip)  # what a server would strip anyway; h11 refuses to send it
_timeouts = st.one_of(
    st.sampled_from(["inf", "-inf", "nan", "NaN", "1e999", "-1", "0", "1e-9", "", " 5", "0x10"]),
    st.floats().map(repr),
    st.integers(-(2**65), 2**65).map(str),
    _header_text,
)
_metadata = st.one_of(
    st.dictionaries(st.text(max_size=10), _scalars, max_size=5).map(json.dumps),
    _json.map(json.dumps),
    _deep,
    _header_text,
)


@st.composite
def _hostile_request(draw: st.DrawFn, mock: str) -> tuple[str, dict[str, str], bytes]:
    route = draw(st.sampled_from(INFERENCE_ROUTES))
    headers = {"authorization": "Bearer sk-fuzz", "content-type": "application/json"}
    if draw(st.integers(0, 2)) > 0:
        headers["x-portkey-config"] = draw(_config_text(mock))
    else:
        headers["x-portkey-provider"] = draw(st.sampled_from(PROVIDERS))
        headers["x-portkey-custom-host"] = mock
    for name, strategy in (
        ("x-portkey-metadata", _metadata),
        ("x-portkey-request-timeout", _timeouts),
        ("x-portkey-forward-headers", _header_text),
        ("traceparent", _header_text),
        ("x-portkey-trace-id", _header_text),
    ):
        if draw(st.integers(0, 3)) == 0:
            headers[name] = draw(strategy)
    message = {
        "role": draw(st.sampled_from(["user", "assistant", "system", 5])),
        "content": draw(st.one_of(st.text(max_size=20), _json)),
    }
    wanted = {
        "model": draw(st.one_of(st.just("gpt-4o-mini"), _scalars)),
        "messages": draw(st.one_of(st.just([message]), _json)),
        "max_tokens": draw(st.one_of(st.just(16), _scalars)),
    }
    for name, strategy in (
        ("stream", st.one_of(st.booleans(), _scalars)),
        ("input", st.one_of(st.text(max_size=20), _json)),
        ("prompt", st.one_of(st.text(max_size=20), _json)),
        ("system", _json),
        ("tools", _json),
        ("n", _scalars),
        ("temperature", _scalars),
    ):
        if draw(st.integers(0, 3)) == 0:
            wanted[name] = draw(strategy)
    body = draw(
        st.one_of(
            st.just(json.dumps(wanted).encode()),
            st.just(json.dumps(wanted).encode()),
            _deep.map(str.encode),
            st.binary(max_size=200),
            st.just(b'{"model": "gpt-4o-mini", "messages": "\xff\xfe"}'),
            st.just(b'{"model": NaN, "max_tokens": 1e999}'),
        )
    )
    return route, headers, body


_UNSENDABLE = {code: "?" for code in [*range(0x20), 0x7F] if code != 0x09}


@pytest.fixture(scope="module")
def client() -> httpx.Client:
    with httpx.Client(timeout=CASE_TIMEOUT_S) as c:
        yield c


@settings(
    max_examples=EXAMPLES * 8,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(data=st.data())
def test_hostile_headers_configs_and_bodies(
    data: st.DataObject, platform: Platform, client: httpx.Client
) -> None:
    route, headers, body = data.draw(_hostile_request(platform.mock_url))
    # Control characters are what no HTTP client sends in a header (h11 refuses them);
    # the parser's answer to them is test_inputs.py's, over a raw socket.
    encoded = {k: v.translate(_UNSENDABLE).strip().encode() for k, v in headers.items()}
    response = client.post(f"{platform.gateway_url}{route}", headers=encoded, content=body)
    _judge(platform, "POST", route, response)


_graph_params = st.fixed_dictionaries(
    {},
    optional={
        "time_of_generation_min": st.one_of(
            st.sampled_from(["0001-01-01T00:00:00Z", "2026-01-01T00:00:00", "now", ""]),
            _header_text,
        ),
        "time_of_generation_max": st.one_of(
            st.sampled_from(["9999-12-31T23:59:59Z", "2026-12-31T00:00:00+14:00", "x"]),
            _header_text,
        ),
        # Deep, but within what a URL carries (httpx refuses a query over 64 KiB).
        "metadata": st.one_of(
            _metadata.filter(lambda text: len(text) < 8000),
            st.builds(_nested, st.integers(65, 1500), st.sampled_from(["list", "dict"])),
        ),
        "status_code": st.one_of(_header_text, st.just("200,abc,99999999999999999999")),
        "cost_min": _header_text,
        "total_units_max": _header_text,
        "workspace_slug": st.text(string.printable, max_size=20),
    },
)


@settings(
    max_examples=EXAMPLES * 4,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    graph=st.sampled_from(["requests", "cost", "tokens", "latency", "requests/rescued", "x/y"]),
    params=_graph_params,
)
def test_hostile_analytics_and_log_reads(
    graph: str, params: dict[str, str], platform: Platform, client: httpx.Client
) -> None:
    response = client.get(f"{platform.gateway_url}/v1/analytics/graphs/{graph}", params=params)
    _judge(platform, "GET", f"/v1/analytics/graphs/{graph}", response)
    log_id = quote(params.get("workspace_slug", "") or "0", safe="")
    response = client.get(f"{platform.gateway_url}/v1/logs/{log_id}")
    _judge(platform, "GET", "/v1/logs/{id}", response)
