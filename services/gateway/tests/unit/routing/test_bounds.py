"""The limits on one config (issue 10): size, targets, nesting, conditions, regexes.
Each is a ConfigError (a 400) naming the limit and, where there is one, the path."""

import pytest
from portcullis_gateway.routing import ConfigError, evaluate, may_call_again, parse_config
from portcullis_gateway.routing.conditions import (
    MAX_REGEX_PROGRAM_SIZE,
    MAX_REGEX_TEXT_CHARS,
    compile_query,
)
from portcullis_gateway.routing.config import (
    MAX_CONFIG_BYTES,
    MAX_CONFIG_CONDITIONS,
    MAX_CONFIG_DEPTH,
    MAX_CONFIG_JSON_DEPTH,
    MAX_CONFIG_TARGETS,
    parse_config_object,
)

PROVIDERS = frozenset({"openai"})
LEAF = '{"provider":"openai"}'


def refused(config) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        if isinstance(config, str):
            parse_config(config, PROVIDERS)
        else:
            parse_config_object(config, PROVIDERS)
    return info.value


def nested_text(levels: int) -> str:
    """Fallback groups ``levels`` deep around one target, as text (json.dumps itself
    recurses and gives up near 1,000 levels)."""
    return '{"strategy":{"mode":"fallback"},"targets":[' * levels + LEAF + "]}" * levels


def fallback(n: int) -> dict:
    return {"strategy": {"mode": "fallback"}, "targets": [{"provider": "openai"}] * n}


def conditional(queries: list[dict]) -> dict:
    return {
        "strategy": {
            "mode": "conditional",
            "conditions": [{"query": q, "then": "a"} for q in queries],
        },
        "targets": [{"name": "a", "provider": "openai"}],
    }


def test_targets_may_nest_to_the_limit_and_not_one_level_more():
    assert parse_config(nested_text(MAX_CONFIG_DEPTH), PROVIDERS).mode == "fallback"
    error = refused(nested_text(MAX_CONFIG_DEPTH + 1))
    assert error.code == "config_too_deep"
    assert "MAX_CONFIG_DEPTH" in str(error)
    assert error.path == "targets[0]." * MAX_CONFIG_DEPTH + "targets"


@pytest.mark.parametrize("levels", [1_000, 20_000])
def test_a_config_nested_thousands_deep_is_a_config_error_not_a_recursion_error(levels):
    error = refused(nested_text(levels))
    assert error.code in ("config_too_deep", "config_too_large")


def test_deep_objects_anywhere_in_the_config_are_bounded():
    deep: dict = {"x": 1}
    for _ in range(MAX_CONFIG_JSON_DEPTH):
        deep = {"x": deep}
    error = refused({"provider": "openai", "override_params": deep})
    assert error.code == "config_too_deep"
    assert error.path.startswith("override_params.x.x")
    assert "MAX_CONFIG_JSON_DEPTH" in str(error)


def test_targets_are_counted_across_every_level():
    assert len(parse_config_object(fallback(MAX_CONFIG_TARGETS), PROVIDERS).children) == (
        MAX_CONFIG_TARGETS
    )
    error = refused(fallback(MAX_CONFIG_TARGETS + 1))
    assert error.code == "too_many_targets" and error.path == "targets"
    half = MAX_CONFIG_TARGETS // 2 + 1
    split = {"strategy": {"mode": "fallback"}, "targets": [fallback(half), fallback(half)]}
    error = refused(split)
    assert error.code == "too_many_targets"
    assert "MAX_CONFIG_TARGETS" in str(error)


def test_conditions_are_counted_across_every_group():
    query = {"params.model": "gpt-4o"}
    parse_config_object(conditional([query] * MAX_CONFIG_CONDITIONS), PROVIDERS)
    error = refused(conditional([query] * (MAX_CONFIG_CONDITIONS + 1)))
    assert error.code == "too_many_conditions"
    assert error.path == "strategy.conditions"
    assert "MAX_CONFIG_CONDITIONS" in str(error)


def test_the_header_text_is_bounded_before_it_is_decoded():
    padding = " " * MAX_CONFIG_BYTES
    error = refused('{"provider":"openai"}' + padding)
    assert error.code == "config_too_large"
    assert str(MAX_CONFIG_BYTES) in str(error)


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        (r"(a)\1", "invalid escape sequence"),
        ("foo(?=bar)", "invalid perl operator"),
        ("(?<!x)y", "invalid perl operator"),
        ("a{1001}", "invalid repetition size"),
        ("(unclosed", "missing )"),
    ],
)
def test_a_pattern_re2_cannot_run_is_refused_at_parse_with_its_path(pattern, reason):
    error = refused(conditional([{"params.model": {"$regex": pattern}}]))
    assert error.code == "invalid_regex"
    assert error.path == "strategy.conditions[0].query.params.model.$regex"
    assert reason in str(error)


def test_regex_size_is_bounded_per_config_not_only_per_pattern():
    # [a-z]{1,400} is ~800 RE2 instructions: one fits, two do not.
    one = {"params.model": {"$regex": "[a-z]{1,400}"}}
    parse_config_object(conditional([one]), PROVIDERS)
    error = refused(conditional([one, one]))
    assert error.code == "regex_too_large"
    assert error.path == "strategy.conditions[1].query"
    assert str(MAX_REGEX_PROGRAM_SIZE) in str(error)
    error = refused(conditional([{"params.model": {"$regex": "[a-z]{1,1000}"}}]))
    assert error.path == "strategy.conditions[0].query.params.model.$regex"


@pytest.mark.timeout(60)
def test_catastrophic_backtracking_patterns_answer():
    # A backtracking engine (Python's re) needs longer than the universe's age on these
    # texts (2^2000 paths), so a regression fails on the timeout; RE2 takes microseconds.
    for pattern, text in (
        ("(a+)+$", "a" * 2000 + "!"),
        ("(a|aa)+$", "a" * 2000 + "!"),
        (r"^(\w+\s?)*$", "word " * 400 + "!"),
    ):
        query = compile_query({"params.model": {"$regex": pattern}}, "q")
        assert evaluate(query, {"params": {"model": text}}) is False


def test_regex_still_matches_what_it_should():
    query = compile_query({"params.model": {"$regex": "^gpt-4o(-mini)?$"}}, "q")
    assert evaluate(query, {"params": {"model": "gpt-4o-mini"}})
    assert not evaluate(query, {"params": {"model": "gpt-4o-mini-2"}})
    insensitive = compile_query({"metadata.team": {"$regex": "(?i)^ml-"}}, "q")
    assert evaluate(insensitive, {"metadata": {"team": "ML-research"}})


def test_a_value_longer_than_the_regex_text_limit_is_refused_not_cut():
    query = compile_query({"params.prompt": {"$regex": "^summarise"}}, "q")
    assert evaluate(query, {"params": {"prompt": "summarise" + "x" * 100}})
    with pytest.raises(ConfigError) as info:
        evaluate(query, {"params": {"prompt": "summarise" + "x" * MAX_REGEX_TEXT_CHARS}})
    assert info.value.code == "regex_text_too_long"
    assert "params.prompt" in str(info.value)
    assert "MAX_REGEX_TEXT_CHARS" in str(info.value)


@pytest.mark.parametrize(
    ("calls", "limit", "expected"), [(0, 1, True), (9, 10, True), (10, 10, False), (11, 10, False)]
)
def test_may_call_again_counts_every_call(calls, limit, expected):
    assert may_call_again(calls, limit) is expected
