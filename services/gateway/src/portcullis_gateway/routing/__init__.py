"""Routing: Portkey's Gateway Config Object turned into decisions (pure) — which
target to try, whether to retry or fall back, and the path of the one that answered."""

from portcullis_gateway.routing._errors import ConfigError
from portcullis_gateway.routing.conditions import choose_condition, evaluate
from portcullis_gateway.routing.config import (
    DEFAULT_RETRY_CODES,
    ROOT_PATH,
    Group,
    Inherited,
    Leaf,
    Node,
    RetrySpec,
    parse_config,
    parse_config_object,
)
from portcullis_gateway.routing.decisions import (
    backoff_s,
    is_success,
    may_call_again,
    parse_retry_after,
    retry_codes,
    should_retry,
    sticky_u,
    triggers_fallback,
    weighted_index,
)

__all__ = [
    "DEFAULT_RETRY_CODES",
    "ROOT_PATH",
    "ConfigError",
    "Group",
    "Inherited",
    "Leaf",
    "Node",
    "RetrySpec",
    "backoff_s",
    "choose_condition",
    "evaluate",
    "is_success",
    "may_call_again",
    "parse_config",
    "parse_config_object",
    "parse_retry_after",
    "retry_codes",
    "should_retry",
    "sticky_u",
    "triggers_fallback",
    "weighted_index",
]
