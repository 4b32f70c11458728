"""The declarative parameter map: renames, nesting, defaults, clamps, drops with notes."""

from portcullis_gateway.providers import PROVIDERS, ProviderOptions
from portcullis_gateway.providers.base import DROP, Param, apply_params

PARAMS = {
    "model": Param("model"),
    "temperature": Param("config.temperature", min=0, max=1),
    "max_tokens": Param("config.max", default=100),
    "stop": Param("stops", transform=lambda v, body: [v] if isinstance(v, str) else DROP),
    "messages": (Param("messages"), Param("count", transform=lambda v, body: len(v))),
}


def test_map_nests_defaults_clamps_transforms_and_notes_drops() -> None:
    notes: list[str] = []
    body = {
        "model": "m",
        "temperature": 3,
        "stop": ["not", "a", "string"],
        "messages": [{"role": "user"}],
        "logit_bias": {"1": 1},
        "user": None,
    }
    assert apply_params(body, PARAMS, notes) == {
        "model": "m",
        "config": {"temperature": 1, "max": 100},
        "messages": [{"role": "user"}],
        "count": 1,
    }
    # null means "not given": neither sent nor noted.
    assert notes == ["clamped temperature from 3 to 1", "dropped unsupported parameter logit_bias"]


def test_given_value_beats_default() -> None:
    assert apply_params({"max_tokens": 5}, PARAMS, []) == {"config": {"max": 5}}


def test_gemini_model_prefix_is_not_doubled() -> None:
    request = PROVIDERS["google"].adapter.transform_request(
        {"model": "models/gemini-2.0-flash", "messages": [{"role": "user", "content": "x"}]},
        "/chat/completions",
        ProviderOptions(),
    )
    assert request.path == "/models/gemini-2.0-flash:generateContent"
