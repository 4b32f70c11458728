import pytest
from portcullis_gateway.routing import ConfigError, parse_config_object
from portcullis_gateway.routing.circuit import circuit_key, counts_as_failure
from portcullis_gateway.routing.config import CircuitSpec


def test_circuit_key_is_per_upstream_identity_and_hides_the_key():
    a = circuit_key("openai", "https://api.openai.com/v1", "Bearer sk-secret")
    assert a == circuit_key("openai", "https://api.openai.com/v1", "Bearer sk-secret")
    assert a != circuit_key("openai", "https://api.openai.com/v1", "Bearer sk-other")
    assert a != circuit_key("openai", "https://other.example/v1", "Bearer sk-secret")
    assert "sk-secret" not in a


@pytest.mark.parametrize(
    ("status", "gateway_side", "codes", "expected"),
    [
        (200, False, None, False),
        (400, False, None, False),  # the caller's mistake says nothing about the target
        (429, False, None, True),
        (503, False, None, True),
        (408, True, None, True),
        (503, False, [401], False),
        (401, False, [401], True),
    ],
)
def test_what_counts_against_a_circuit(status, gateway_side, codes, expected):
    spec = CircuitSpec(failure_threshold=1, failure_status_codes=codes)
    assert counts_as_failure(status, gateway_side, spec) is expected


def test_cb_config_is_inherited_down_to_the_next_strategy_that_sets_one():
    node = parse_config_object(
        {
            "strategy": {"mode": "fallback", "cb_config": {"failure_threshold": 3}},
            "targets": [
                {},
                {
                    "strategy": {
                        "mode": "loadbalance",
                        "cb_config": {"failure_threshold_percentage": 50},
                    },
                    "targets": [{}],
                },
            ],
        },
        frozenset(),
    )
    assert node.children[0].settings.circuit.failure_threshold == 3
    assert node.children[1].children[0].settings.circuit.failure_threshold_percentage == 50


@pytest.mark.parametrize(
    "cb",
    [{}, {"failure_threshold": 2, "failure_threshold_percentage": 10}],
)
def test_cb_config_needs_exactly_one_threshold(cb):
    with pytest.raises(ConfigError) as info:
        parse_config_object(
            {"strategy": {"mode": "fallback", "cb_config": cb}, "targets": [{}]}, frozenset()
        )
    assert info.value.path == "strategy.cb_config"
