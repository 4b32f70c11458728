import random
from collections import Counter

from hypothesis import given
from hypothesis import strategies as st
from portcullis_gateway.routing import parse_config_object
from portcullis_gateway.routing.select import (
    StickyPins,
    conditional_index,
    loadbalance_index,
    sticky_key,
)

PROVIDERS = frozenset({"openai"})


def lb(weights, sticky=None):
    strategy = {"mode": "loadbalance"}
    if sticky:
        strategy["sticky_session"] = sticky
    return parse_config_object(
        {"strategy": strategy, "targets": [{"weight": w} for w in weights]}, PROVIDERS
    )


def test_loadbalance_weights_hold_within_statistical_tolerance():
    group = lb([0.75, 0.25])
    rng = random.Random(7)
    n = 20_000
    counts = Counter(loadbalance_index(group, rng.random()) for _ in range(n))
    # 5 standard deviations of a binomial(n, 0.25): fails by chance ~1 in 3 million.
    sigma = (n * 0.25 * 0.75) ** 0.5
    assert abs(counts[1] - n * 0.25) < 5 * sigma


def test_skipped_children_are_never_picked_and_none_when_all_are():
    group = lb([1, 1, 1])
    for u in (0.0, 0.3, 0.5, 0.99):
        assert loadbalance_index(group, u, skip={0, 2}) == 1
    assert loadbalance_index(group, 0.5, skip={0, 1, 2}) is None


@given(st.text(min_size=1, max_size=30))
def test_sticky_key_picks_the_same_child_every_time(user):
    group = lb([1, 2, 3], {"hash_fields": ["metadata._user"], "ttl": 60})
    context = {"metadata": {"_user": user}, "params": {}}
    key = sticky_key(group, context)
    assert key is not None
    first = loadbalance_index(group, 0.1, key=key)
    assert all(loadbalance_index(group, u, key=key) == first for u in (0.0, 0.5, 0.9))


def test_sticky_keys_still_spread_by_weight():
    group = lb([1, 3], {"hash_fields": ["params.user"]})
    counts = Counter(
        loadbalance_index(group, 0.0, key=sticky_key(group, {"params": {"user": f"u{i}"}}))
        for i in range(4000)
    )
    assert 0.7 < counts[1] / 4000 < 0.8


def test_no_sticky_key_without_the_fields():
    group = lb([1, 1], {"hash_fields": ["metadata._user"]})
    assert sticky_key(group, {"metadata": {}, "params": {}}) is None
    assert sticky_key(lb([1, 1]), {"metadata": {"_user": "u"}}) is None


def test_sticky_pins_expire_and_stay_bounded():
    pins = StickyPins(max_keys=2)
    pins.put("a", 1, ttl_s=10, now=100)
    assert pins.get("a", now=105) == 1
    assert pins.get("a", now=110) is None
    pins.put("a", 0, 10, 0)
    pins.put("b", 0, 10, 0)
    pins.put("c", 1, 10, 0)
    assert pins.get("a", now=1) is None  # evicted, least recently used
    assert pins.get("c", now=1) == 1


ROUTES = parse_config_object(
    {
        "strategy": {
            "mode": "conditional",
            "conditions": [
                {"query": {"metadata.plan": "paid", "params.model": "gpt-4o"}, "then": "premium"},
                {
                    "query": {"$or": [{"metadata.plan": "paid"}, {"metadata.beta": "yes"}]},
                    "then": "paid",
                },
                {"query": {"params.max_tokens": {"$gte": 1000}}, "then": "long"},
            ],
            "default": "free",
        },
        "targets": [
            {"name": "premium"},
            {"name": "paid"},
            {"name": "long"},
            {"name": "free"},
        ],
    },
    PROVIDERS,
)


def test_conditional_table():
    table = [
        ({"plan": "paid"}, {"model": "gpt-4o"}, "premium"),
        ({"plan": "paid"}, {"model": "gpt-4o-mini"}, "paid"),
        ({"beta": "yes"}, {"model": "gpt-4o"}, "paid"),
        ({}, {"max_tokens": 4000}, "long"),
        ({}, {"max_tokens": 10}, "free"),
        ({"plan": "free"}, {}, "free"),
    ]
    for metadata, params, expected in table:
        context = {"metadata": metadata, "params": params, "url": {"pathname": "/v1/x"}}
        index = conditional_index(ROUTES, context)
        assert ROUTES.children[index].name == expected, (metadata, params)


def test_conditional_without_default_can_match_nothing():
    group = parse_config_object(
        {
            "strategy": {
                "mode": "conditional",
                "conditions": [{"query": {"metadata.plan": "paid"}, "then": "a"}],
            },
            "targets": [{"name": "a"}],
        },
        PROVIDERS,
    )
    assert conditional_index(group, {"metadata": {}}) is None
