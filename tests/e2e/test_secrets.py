"""Credentials never come back out: every credential header and config field the gateway
accepts, for every provider, is sent with a marker value of its own to a mock provider
that refuses it the way OpenAI does, echoing it ("Incorrect API key provided: ..."). No
marker may appear in an answer the caller gets, an event on pk.logs.> / pk.metrics.>,
a log stored by the logger (GET /v1/logs/{id}) or the output of any process.

The (provider, credential) pairs come from the declarations themselves (the providers'
specs, the config's secret fields, the caller's credential headers), so a credential
declared tomorrow is tested without a line here.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import nats
import pytest
from portcullis_gateway.domain.credentials import SECRET_OPTIONS, specs
from portcullis_gateway.domain.resolution import CALLER_CREDENTIAL_HEADERS
from portcullis_gateway.domain.translation import speaks_openai
from portcullis_gateway.providers import PROVIDERS, ProviderSpec
from portcullis_gateway.routing.config import _OPTION_FIELDS, SECRET_FIELDS
from portcullis_stack.keys import new_private_key

from tests.e2e.platform import Platform

ECHO = "/mock/echo_key=true"
# How each provider that does not speak OpenAI's format reaches the mock: model, the
# custom host's path below the mock, and the settings it cannot do without.
NATIVE = {
    "anthropic": ("claude-sonnet-4-5", "/v1", {}),
    "google": ("gemini-2.0-flash", "/v1beta", {}),
    "vertex-ai": ("gemini-2.0-flash", "/v1", {"vertex-project-id": "proj"}),
    "bedrock": ("anthropic.claude-3-haiku-20240307-v1:0", "", {"aws-region": "eu-west-1"}),
    "cohere": ("command-r-plus", "/v2", {}),
    "ollama": ("llama3.2", "", {}),
    "azure-openai": (
        "gpt-4o-mini",
        "",
        {"azure-resource-name": "res", "azure-deployment-id": "dep-1"},
    ),
}
# Credentials that only work in company: IAM keys sign as a pair.
COMPANIONS = {"aws-access-key-id": "aws-secret-access-key"}
PORTKEY = "x-portkey-"


def credential_pairs() -> list[tuple[str, str, str]]:
    """(provider, "header" | "config", name) for every credential the gateway accepts."""
    pairs = []
    for spec in specs(PROVIDERS):
        secret = {option.name for option in spec.options if option.secret}
        pairs += [(spec.name, "header", name) for name in CALLER_CREDENTIAL_HEADERS]
        pairs += [(spec.name, "header", PORTKEY + name) for name in sorted(secret)]
        for name in SECRET_FIELDS:
            option = _OPTION_FIELDS.get(name)
            if option is None or option in secret:  # api_key, virtual_key: every provider
                pairs.append((spec.name, "config", name))
    return pairs


PAIRS = credential_pairs()


@dataclass
class Markers:
    """Every value sent as a credential, so the checks can look for all of them."""

    values: list[str] = field(default_factory=list)

    def new(self) -> str:
        value = f"mk{uuid.uuid4().hex}"
        self.values.append(value)
        return value

    def account(self, token_uri: str) -> dict:
        """A real service-account key (the mock mints tokens for it): its PEM's body
        lines are the markers, since that is what a leak would show."""
        pem = new_private_key()
        self.values += [line for line in pem.splitlines() if not line.startswith("-----")]
        return {
            "type": "service_account",
            "project_id": "proj",
            "private_key_id": uuid.uuid4().hex,
            "private_key": pem,
            "client_email": f"sa-{uuid.uuid4().hex[:8]}@proj.iam.gserviceaccount.com",
            "token_uri": token_uri,
        }

    def credential(self, option: str, token_uri: str) -> str | dict:
        if SECRET_OPTIONS.get(option) == ("private_key",):
            return self.account(token_uri)
        return self.new()

    def found_in(self, text: str) -> list[str]:
        return [value for value in self.values if value in text]


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """The whole platform, the gateway logging at debug so its output has most to say."""
    running = Platform(
        tmp_path_factory.mktemp("secrets"),
        extra_env={"gateway": {"PORTCULLIS_GATEWAY_LOG_LEVEL": "DEBUG"}},
    )
    running.build().start()
    yield running
    running.stop()


@dataclass
class Sent:
    pair: tuple[str, str, str]
    status: int
    text: str  # the answer's headers and body, as the caller got them
    request_id: str


def build_request(
    spec: ProviderSpec, kind: str, name: str, mock: str, markers: Markers
) -> tuple[str, dict[str, str], dict]:
    """(path, headers, body) sending one credential to ``spec`` at the echoing mock."""
    model, suffix, required = NATIVE.get(spec.name) or ("m-1", "/v1", {})
    assert spec.name in NATIVE or speaks_openai(spec), f"add {spec.name} to NATIVE"
    token_uri = mock + "/token"
    host = mock + ECHO + suffix
    headers = {PORTKEY + option: value for option, value in required.items()}
    path = "/v1/chat/completions"
    body: dict = {"model": model, "max_tokens": 20, "messages": [{"role": "user", "content": "hi"}]}
    if name not in ("authorization", "x-api-key"):
        headers["authorization"] = f"Bearer {markers.new()}"  # a key the upstream echoes
    if kind == "config":
        option = _OPTION_FIELDS.get(name, "")
        config: dict = {"provider": spec.name, "custom_host": host}
        config[name] = markers.credential(option, token_uri)
        companion = COMPANIONS.get(option)
        if companion:
            config[companion.replace("-", "_")] = markers.new()
        headers[PORTKEY + "config"] = json.dumps(config)
        return path, headers, body
    headers[PORTKEY + "provider"] = spec.name
    headers[PORTKEY + "custom-host"] = host
    option = name.removeprefix(PORTKEY)
    value = markers.credential(option, token_uri)
    headers[name] = value if isinstance(value, str) else json.dumps(value)
    if name == "authorization":
        headers[name] = f"Bearer {value}"
    elif name == "x-api-key":
        path = "/v1/messages"  # where the gateway reads it: the Anthropic SDK's header
    companion = COMPANIONS.get(option)
    if companion:
        headers[PORTKEY + companion] = markers.new()
    return path, headers, body


async def send_all(platform: Platform, markers: Markers) -> list[Sent]:
    mock = platform.mock_url.removesuffix("/v1")
    by_name = {spec.name: spec for spec in specs(PROVIDERS)}
    requests = [
        (pair, build_request(by_name[pair[0]], pair[1], pair[2], mock, markers)) for pair in PAIRS
    ]
    # And a routed config: a fallback whose every target echoes its own key back.
    routed = {
        "strategy": {"mode": "fallback"},
        "retry": {"attempts": 1, "on_status_codes": [401]},
        "targets": [
            {"provider": "openai", "custom_host": mock + ECHO + "/v1", "api_key": markers.new()},
            {"provider": "anthropic", "custom_host": mock + ECHO + "/v1", "api_key": markers.new()},
        ],
    }
    requests.append(
        (
            ("fallback", "config", "api_key"),
            (
                "/v1/chat/completions",
                {PORTKEY + "config": json.dumps(routed)},
                {"model": "m-1", "max_tokens": 20, "messages": [{"role": "user", "content": "x"}]},
            ),
        )
    )
    limit = asyncio.Semaphore(8)
    async with httpx.AsyncClient(base_url=platform.gateway_url, timeout=30) as client:

        async def one(pair, request) -> Sent:
            path, headers, body = request
            async with limit:
                response = await client.post(path, headers=headers, json=body)
            text = "\n".join(f"{k}: {v}" for k, v in response.headers.items()) + response.text
            return Sent(pair, response.status_code, text, response.headers["x-portkey-request-id"])

        return list(await asyncio.gather(*(one(pair, request) for pair, request in requests)))


async def read_subject(nats_url: str, subject: str, ids: set[str]) -> list[bytes]:
    """Every message on ``subject`` (headers and data) until each of ``ids`` was seen."""
    nc = await nats.connect(nats_url)
    try:
        sub = await nc.jetstream().subscribe(subject, ordered_consumer=True)
        seen: set[str] = set()
        texts: list[bytes] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while ids - seen and loop.time() < deadline:
            try:
                msg = await sub.next_msg(timeout=1.0)
            except nats.errors.TimeoutError:
                continue
            seen.add(msg.headers["Nats-Msg-Id"])
            texts.append(json.dumps(msg.headers).encode() + msg.data)
        await sub.unsubscribe()
    finally:
        await nc.close()
    assert not ids - seen, f"no event on {subject} for {ids - seen}"
    return texts


@pytest.fixture(scope="module")
def sent(platform: Platform) -> tuple[Markers, list[Sent]]:
    markers = Markers()
    return markers, asyncio.run(send_all(platform, markers))


def test_the_pairs_cover_every_declared_credential() -> None:
    # The list is the declarations' own: every secret option and field has a pair.
    names = {name for _, _, name in PAIRS}
    assert {PORTKEY + option for option in SECRET_OPTIONS} <= names
    assert set(SECRET_FIELDS) <= names
    assert set(CALLER_CREDENTIAL_HEADERS) <= names
    assert {provider for provider, _, _ in PAIRS} == {spec.name for spec in specs(PROVIDERS)}


def test_no_answer_repeats_a_credential(sent) -> None:
    markers, answers = sent
    leaks = {answer.pair: markers.found_in(answer.text) for answer in answers}
    assert not {pair: found for pair, found in leaks.items() if found}
    # Not vacuous: the upstream really did echo the keys it was given, and they were
    # masked on the way back (a key sent in Authorization reaches every provider).
    echoed = [a for a in answers if a.pair[2] == "authorization" and a.status == 401]
    assert len(echoed) == len(specs(PROVIDERS))
    assert all("[REDACTED]" in a.text for a in echoed)


def test_no_event_carries_a_credential(platform: Platform, sent) -> None:
    markers, answers = sent
    ids = {answer.request_id for answer in answers}

    async def read() -> list[bytes]:
        logs = await read_subject(platform.nats_url, "pk.logs.>", ids)
        metrics = await read_subject(platform.nats_url, "pk.metrics.>", ids)
        return logs + metrics

    texts = asyncio.run(read())
    assert len(texts) >= 2 * len(ids)
    leaks = [markers.found_in(text.decode("utf-8", "replace")) for text in texts]
    assert not [found for found in leaks if found]


def test_no_stored_log_carries_a_credential(platform: Platform, sent) -> None:
    markers, answers = sent
    for answer in answers:
        stored = platform.get_log(answer.request_id, timeout=30)
        assert stored.status_code == 200, (answer.pair, stored.text)
        assert stored.json()["_id"] == answer.request_id
        assert not markers.found_in(stored.text), answer.pair


def test_no_process_output_carries_a_credential(platform: Platform, sent) -> None:
    markers, _ = sent
    # The mock is the provider: it is meant to see the keys.
    outputs = [path for path in Path(platform.base, "logs").glob("*.log") if path.stem != "mock"]
    assert {path.stem for path in outputs} >= {"gateway", "logger", "analytics"}
    gateway = Path(platform.base, "logs", "gateway.log").read_text()
    assert "connected to NATS" in gateway  # the file really is the gateway's output
    for path in outputs:
        assert not markers.found_in(path.read_text(errors="replace")), path.name
