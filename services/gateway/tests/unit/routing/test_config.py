import json

import pytest
from portcullis_gateway.routing import ConfigError, Group, Leaf, parse_config, parse_config_object

PROVIDERS = frozenset({"openai", "anthropic"})


def parse(config: dict):
    return parse_config_object(config, PROVIDERS)


def error_path(config: dict) -> str:
    with pytest.raises(ConfigError) as info:
        parse(config)
    return info.value.path


def test_single_provider_config_is_one_leaf_at_the_root():
    node = parse({"provider": "openai", "api_key": "sk-1", "request_timeout": 500})
    assert isinstance(node, Leaf)
    assert node.path == "config"
    assert node.provider == "openai" and node.api_key == "sk-1"
    assert node.settings.request_timeout_ms == 500


def test_nested_targets_get_json_paths():
    node = parse(
        {
            "strategy": {"mode": "fallback"},
            "targets": [
                {"provider": "openai"},
                {
                    "strategy": {"mode": "loadbalance"},
                    "targets": [{"provider": "openai"}, {"provider": "anthropic", "weight": 3}],
                },
            ],
        }
    )
    assert isinstance(node, Group) and node.mode == "fallback"
    inner = node.children[1]
    assert isinstance(inner, Group) and inner.mode == "loadbalance"
    assert [c.path for c in inner.children] == [
        "config.targets[1].targets[0]",
        "config.targets[1].targets[1]",
    ]
    assert inner.children[1].weight == 3


def test_children_inherit_settings_unless_they_set_their_own():
    node = parse(
        {
            "strategy": {"mode": "fallback"},
            "retry": {"attempts": 2},
            "override_params": {"model": "gpt-4o"},
            "request_timeout": 1000,
            "custom_host": "http://a.example/v1",
            "forward_headers": ["x-a"],
            "before_request_hooks": [{"id": "h1"}],
            "cache": {"mode": "simple", "max_age": 60},
            "targets": [
                {
                    "strategy": {"mode": "single"},
                    "targets": [{"provider": "openai"}],
                },
                {
                    "provider": "openai",
                    "retry": {"attempts": 0},
                    "override_params": {"model": "gpt-4o-mini"},
                    "request_timeout": 50,
                    "custom_host": "http://b.example/v1",
                    "forward_headers": [],
                    "before_request_hooks": [],
                    "cache": {"mode": "semantic"},
                },
            ],
        }
    )
    deep = node.children[0].children[0].settings
    assert deep.retry.attempts == 2
    assert deep.override_params == {"model": "gpt-4o"}
    assert deep.request_timeout_ms == 1000
    assert deep.custom_host == "http://a.example/v1"
    assert deep.forward_headers == ("x-a",)
    assert dict(deep.hooks)["before_request_hooks"] == ({"id": "h1"},)
    assert deep.cache.max_age == 60
    own = node.children[1].settings
    assert own.retry.attempts == 0
    assert own.override_params == {"model": "gpt-4o-mini"}
    assert own.request_timeout_ms == 50
    assert own.custom_host == "http://b.example/v1"
    assert own.forward_headers == ()
    assert dict(own.hooks)["before_request_hooks"] == ()
    assert own.cache.mode == "semantic"


@pytest.mark.parametrize(
    ("config", "path"),
    [
        (
            {
                "strategy": {"mode": "fallback"},
                "targets": [{"provider": "openai"}, {"retry": {"attempts": 6}}],
            },
            "targets[1].retry.attempts",
        ),
        ({"strategy": {"mode": "roundrobin"}, "targets": [{}]}, "strategy.mode"),
        ({"targets": [{"provider": "openai"}]}, "strategy"),
        ({"strategy": {"mode": "fallback"}}, "targets"),
        ({"strategy": {"mode": "fallback"}, "targets": []}, "targets"),
        ({"provider": "nope"}, "provider"),
        ({"provider": "openai", "request_timeout": -5}, "request_timeout"),
        (
            {
                "strategy": {"mode": "fallback", "on_status_codes": [429, 1000]},
                "targets": [{}],
            },
            "strategy.on_status_codes[1]",
        ),
        (
            {
                "strategy": {"mode": "fallback"},
                "targets": [
                    {"strategy": {"mode": "single"}, "targets": [{"weight": "heavy"}]},
                ],
            },
            "targets[0].targets[0].weight",
        ),
        (
            {"strategy": {"mode": "loadbalance"}, "targets": [{"weight": 0}, {"weight": 0}]},
            "targets",
        ),
        ({"retry": {"attempts": 1, "on_status_codes": "429"}}, "retry.on_status_codes"),
        ({"cache": {"mode": "fuzzy"}}, "cache.mode"),
    ],
)
def test_invalid_configs_name_the_offending_path(config, path):
    assert error_path(config) == path


def test_error_message_carries_the_path():
    with pytest.raises(ConfigError, match=r"targets\[1\]\.retry\.attempts"):
        parse({"strategy": {"mode": "fallback"}, "targets": [{}, {"retry": {"attempts": 9}}]})


def test_virtual_keys_are_refused_with_their_path_and_code():
    with pytest.raises(ConfigError) as info:
        parse({"strategy": {"mode": "fallback"}, "targets": [{"virtual_key": "vk"}]})
    assert info.value.path == "targets[0].virtual_key"
    assert info.value.code == "virtual_key_unavailable"


def test_conditional_then_and_default_must_name_a_target():
    base = {
        "strategy": {
            "mode": "conditional",
            "conditions": [{"query": {"metadata.plan": "paid"}, "then": "fast"}],
            "default": "cheap",
        },
        "targets": [{"name": "fast", "provider": "openai"}, {"name": "cheap"}],
    }
    node = parse(base)
    assert node.conditions[0].then == 0 and node.default == 1
    bad_then = json.loads(json.dumps(base))
    bad_then["strategy"]["conditions"][0]["then"] = "slow"
    assert error_path(bad_then) == "strategy.conditions[0].then"
    bad_default = json.loads(json.dumps(base))
    bad_default["strategy"]["default"] = "nobody"
    assert error_path(bad_default) == "strategy.default"
    no_conditions = json.loads(json.dumps(base))
    no_conditions["strategy"]["conditions"] = []
    assert error_path(no_conditions) == "strategy.conditions"


def test_bad_query_operators_and_regexes_are_caught_when_parsing():
    def with_query(query):
        return {
            "strategy": {"mode": "conditional", "conditions": [{"query": query, "then": "a"}]},
            "targets": [{"name": "a"}],
        }

    assert error_path(with_query({"metadata.x": {"$near": 1}})) == (
        "strategy.conditions[0].query.metadata.x.$near"
    )
    assert error_path(with_query({"metadata.x": {"$regex": "("}})) == (
        "strategy.conditions[0].query.metadata.x.$regex"
    )
    assert error_path(with_query({"headers.x": 1})) == "strategy.conditions[0].query.headers.x"
    assert error_path(with_query({"$or": []})) == "strategy.conditions[0].query.$or"


def test_unknown_fields_are_ignored_so_portkey_configs_load_unchanged():
    node = parse({"provider": "openai", "some_future_field": {"x": 1}})
    assert isinstance(node, Leaf)


def test_parsing_is_cached_by_header_text():
    text = '{"strategy": {"mode": "fallback"}, "targets": [{"provider": "openai"}, {}]}'
    assert parse_config(text, PROVIDERS) is parse_config(text, PROVIDERS)


def test_non_json_and_non_object_configs_are_refused():
    with pytest.raises(ConfigError):
        parse_config("{nope", PROVIDERS)
    with pytest.raises(ConfigError):
        parse_config("[1]", PROVIDERS)


def test_first_leaf_is_known_from_the_config_only_where_the_request_cannot_change_it():
    names = PROVIDERS
    nested = parse_config_object(
        {
            "strategy": {"mode": "fallback"},
            "targets": [
                {
                    "strategy": {"mode": "single"},
                    "targets": [{"provider": "anthropic"}],
                },
                {"provider": "openai"},
            ],
        },
        names,
    )
    assert nested.first_leaf is not None
    assert nested.first_leaf.path == "config.targets[0].targets[0]"
    assert nested.first_leaf.provider == "anthropic"
    for mode in ("loadbalance", "conditional"):
        strategy = {"mode": mode}
        targets = [{"provider": "openai", "name": "a"}, {"provider": "anthropic", "name": "b"}]
        if mode == "conditional":
            strategy |= {"conditions": [{"query": {"metadata.x": "1"}, "then": "a"}]}
        tree = parse_config_object({"strategy": strategy, "targets": targets}, names)
        assert tree.first_leaf is None
    under_lb = parse_config_object(
        {
            "strategy": {"mode": "fallback"},
            "targets": [
                {"strategy": {"mode": "loadbalance"}, "targets": targets},
                {"provider": "openai"},
            ],
        },
        names,
    )
    assert under_lb.first_leaf is None
