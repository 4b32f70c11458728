import pytest
from portcullis_gateway.adapters.circuits import redis_keys
from portcullis_gateway.routing import ConfigError, parse_config_object
from portcullis_gateway.routing.circuit import (
    PROBE_CLAIM_MAX_MS,
    PROBE_CLAIM_MS,
    Gate,
    circuit_key,
    counts_as_failure,
    gate,
    probe_claim_ms,
)
from portcullis_gateway.routing.config import CircuitSpec
from redis.crc import key_slot


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


NOW = 1_700_000_000_000


@pytest.mark.parametrize(
    ("open_until", "probe_until", "expected"),
    [
        (0, 0, Gate.CALL),  # closed: answered locally
        (0, NOW + 5000, Gate.CALL),  # a closed circuit has no probe to wait for
        (None, 0, Gate.ASK),  # never seen: Redis knows
        (NOW + 1, 0, Gate.SKIP),  # cooling down
        (NOW, 0, Gate.ASK),  # half-open: try to claim the probe
        (NOW - 1, NOW + 1, Gate.SKIP),  # half-open, a probe in flight
        (NOW - 1, NOW, Gate.ASK),  # that probe's claim has run out
    ],
)
def test_gate(open_until, probe_until, expected):
    assert gate(open_until, probe_until, NOW) is expected


@pytest.mark.parametrize(
    ("timeout_s", "expected"),
    [
        (None, PROBE_CLAIM_MS),
        (0.2, 1200),  # the call's timeout plus the time its result takes to land
        (30, 31_000),
        (600, PROBE_CLAIM_MAX_MS),  # a dead probe must not hold the circuit for 10 min
    ],
)
def test_probe_claim_lasts_the_calls_timeout_within_bounds(timeout_s, expected):
    assert probe_claim_ms(timeout_s) == expected


def test_the_keys_of_one_circuit_share_a_cluster_slot():
    # The scripts touch a circuit's keys together: Redis Cluster refuses a script whose
    # keys span slots (CROSSSLOT). key_slot is Redis's CRC16 of the hash tag.
    slots = set()
    for i in range(200):
        keys = redis_keys(circuit_key("openai", f"https://h{i}.example/v1", None))
        assert len({key_slot(k.encode()) for k in keys}) == 1
        slots.add(key_slot(keys[0].encode()))
    # Circuits spread over the cluster (so the poller's read must go per slot).
    assert len(slots) > 150
