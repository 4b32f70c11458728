"""Portkey's Gateway Config Object: parsed, validated and resolved into a tree of
``Group`` and ``Leaf`` nodes with the inheritable settings pushed down to every leaf.

An invalid config raises ``ConfigError`` whose ``path`` names the offending field the
way a user would write it (``targets[1].retry.attempts``). Parsing is cached by the
header string: apps send the same config on every request.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from portcullis_gateway.routing._errors import ConfigError
from portcullis_gateway.routing.conditions import (
    MAX_REGEX_PROGRAM_SIZE,
    compile_query,
    regex_size,
    regex_too_large,
)

# Portkey's defaults (docs: "Automatic Retries"): at most 5 retries, on these codes.
MAX_RETRY_ATTEMPTS = 5
DEFAULT_RETRY_CODES = frozenset({429, 500, 502, 503, 504})
ROOT_PATH = "config"

# Bounds on one config (issue 10, "bounded work per request"): a config is the caller's
# input, parsed on the request path, so its size bounds the parse, the memory of the
# cached tree and the walk. Each is far above any config seen in practice (Portkey's
# examples use 2-5 targets, 1-2 levels); exceeding one is a 400 naming it.
MAX_CONFIG_BYTES = 64 * 1024  # x-portkey-config header text
MAX_CONFIG_TARGETS = 100  # targets at every level, counted together
MAX_CONFIG_DEPTH = 8  # levels of targets inside targets below the root
MAX_CONFIG_CONDITIONS = 50  # strategy.conditions of every group, counted together
# Containers (objects, lists) inside each other anywhere in the config, override_params
# included: what the tree and the per-request merge of override_params may walk.
MAX_CONFIG_JSON_DEPTH = 64

StatusCode = Annotated[int, Meta(ge=100, le=599)]
Positive = Annotated[float, Meta(gt=0)]


class RetrySpec(msgspec.Struct, kw_only=True, frozen=True):
    attempts: Annotated[int, Meta(ge=0, le=MAX_RETRY_ATTEMPTS)] = 0
    on_status_codes: list[StatusCode] | None = None
    use_retry_after_header: bool = True


class CacheSpec(msgspec.Struct, kw_only=True, frozen=True):
    mode: Literal["simple", "semantic"] = "simple"
    max_age: Annotated[int, Meta(gt=0)] | None = None


class StickySpec(msgspec.Struct, kw_only=True, frozen=True):
    hash_fields: Annotated[list[str], Meta(min_length=1)]
    ttl: Annotated[int, Meta(gt=0)] = 3600  # seconds


class ConditionSpec(msgspec.Struct, kw_only=True, frozen=True):
    query: dict[str, Any]
    then: str


class CircuitSpec(msgspec.Struct, kw_only=True, frozen=True):
    """``strategy.cb_config``: when a target's circuit opens, and for how long."""

    failure_threshold: Annotated[int, Meta(gt=0)] | None = None
    failure_threshold_percentage: Annotated[float, Meta(gt=0, le=100)] | None = None
    minimum_requests: Annotated[int, Meta(gt=0)] = 5
    cooldown_interval: Annotated[int, Meta(gt=0)] = 30_000  # ms
    # Counted over a fixed window; a failure is a status here or a gateway-side error.
    window: Annotated[int, Meta(gt=0)] = 60_000  # ms
    failure_status_codes: list[StatusCode] | None = None


class StrategySpec(msgspec.Struct, kw_only=True, frozen=True):
    mode: Literal["single", "fallback", "loadbalance", "conditional"]
    on_status_codes: list[StatusCode] | None = None
    conditions: list[ConditionSpec] | None = None
    default: str | None = None
    sticky_session: StickySpec | None = None
    cb_config: CircuitSpec | None = None


class TargetSpec(msgspec.Struct, kw_only=True, frozen=True):
    """One node of the config as written; the root config is a target too."""

    name: str | None = None
    provider: str | None = None
    api_key: str | None = None
    virtual_key: str | None = None
    custom_host: str | None = None
    weight: Annotated[float, Meta(ge=0)] = 1.0
    override_params: dict[str, Any] | None = None
    retry: RetrySpec | None = None
    cache: CacheSpec | None = None
    request_timeout: Positive | None = None  # milliseconds
    forward_headers: list[str] | None = None
    strategy: StrategySpec | None = None
    targets: list[TargetSpec] | None = None
    before_request_hooks: list[Any] | None = None
    after_request_hooks: list[Any] | None = None
    input_guardrails: list[Any] | None = None
    output_guardrails: list[Any] | None = None
    # Provider settings, as Portkey's configs spell them (each is also an
    # x-portkey-<name-with-dashes> header): Azure, AWS, Vertex, Anthropic.
    resource_name: str | None = None
    deployment_id: str | None = None
    api_version: str | None = None
    azure_resource_name: str | None = None
    azure_deployment_id: str | None = None
    azure_api_version: str | None = None
    azure_ad_token: str | None = None
    aws_access_key_id: str | None = None
    aws_secret_access_key: str | None = None
    aws_session_token: str | None = None
    aws_region: str | None = None
    vertex_project_id: str | None = None
    vertex_region: str | None = None
    vertex_service_account_json: dict[str, Any] | str | None = None
    anthropic_beta: str | None = None
    anthropic_version: str | None = None


# Config field -> provider option name (the x-portkey- header without its prefix).
_OPTION_FIELDS = {
    "resource_name": "azure-resource-name",
    "deployment_id": "azure-deployment-id",
    "api_version": "azure-api-version",
    **{
        name: name.replace("_", "-")
        for name in (
            "azure_resource_name",
            "azure_deployment_id",
            "azure_api_version",
            "azure_ad_token",
            "aws_access_key_id",
            "aws_secret_access_key",
            "aws_session_token",
            "aws_region",
            "vertex_project_id",
            "vertex_region",
            "vertex_service_account_json",
            "anthropic_beta",
            "anthropic_version",
        )
    },
}


def _provider_options(spec: TargetSpec) -> tuple[tuple[str, str], ...]:
    options = []
    for field_name, option in _OPTION_FIELDS.items():
        value = getattr(spec, field_name)
        if value is not None:
            options.append((option, value if isinstance(value, str) else _encode(value).decode()))
    return tuple(options)


@dataclass(frozen=True, slots=True)
class Inherited:
    """Settings a child takes from its parent unless it sets its own."""

    override_params: dict[str, Any] | None = None
    retry: RetrySpec | None = None
    cache: CacheSpec | None = None
    request_timeout_ms: float | None = None
    custom_host: str | None = None
    forward_headers: tuple[str, ...] | None = None
    hooks: tuple[tuple[str, tuple[Any, ...]], ...] = ()
    circuit: CircuitSpec | None = None


@dataclass(frozen=True, slots=True)
class Leaf:
    path: str  # config.targets[1].targets[0]
    name: str | None
    weight: float
    provider: str | None
    api_key: str | None
    settings: Inherited
    # Provider settings of this target (not inherited): (option name, value) pairs.
    options: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Condition:
    query: Any  # compiled by routing.conditions
    then: int  # index into the group's children


@dataclass(frozen=True, slots=True)
class Group:
    path: str
    name: str | None
    weight: float
    mode: str
    children: tuple[Node, ...]
    # fallback: codes that move on to the next target; None means any non-2xx.
    on_status_codes: frozenset[int] | None = None
    conditions: tuple[Condition, ...] = ()
    default: int | None = None
    sticky: StickySpec | None = None
    # The target every request tries first, when that does not depend on the request
    # (fallback and single groups, down to a leaf); None for loadbalance/conditional.
    first_leaf: Leaf | None = None


Node = Leaf | Group


def _first_leaf(mode: str, children: tuple[Node, ...]) -> Leaf | None:
    if mode not in ("fallback", "single"):
        return None
    head = children[0]
    return head if isinstance(head, Leaf) else head.first_leaf


_HOOK_FIELDS = (
    "before_request_hooks",
    "after_request_hooks",
    "input_guardrails",
    "output_guardrails",
)
_decode = msgspec.json.decode
_encode = msgspec.json.encode
_to_spec = functools.partial(msgspec.convert, type=TargetSpec)
_MSGSPEC_PATH = re.compile(r" - at `\$\.?(.*)`$")


def _user_path(path: str, child: str) -> str:
    """``config.targets[0]`` + ``retry`` -> ``targets[0].retry`` (the path users write)."""
    inner = path[len(ROOT_PATH) :].lstrip(".")
    if not child:
        return inner
    return f"{inner}.{child}" if inner and not child.startswith("[") else inner + child


def parse_config_object(raw: Any, providers: Collection[str]) -> Node:
    if not isinstance(raw, dict):
        raise ConfigError("", "x-portkey-config must be a JSON object")
    check_bounds(raw)
    try:
        spec = _to_spec(raw)
    except msgspec.ValidationError as exc:
        text = str(exc)
        match = _MSGSPEC_PATH.search(text)
        where = match.group(1) if match else ""
        message = text[: match.start()] if match else text
        raise ConfigError(where, message) from None
    root = _resolve(spec, ROOT_PATH, Inherited(), providers)
    _check_regex_total(root)
    return root


def _check_regex_total(root: Node) -> None:
    """Every ``$regex`` may be evaluated on one request (a fallback can visit every
    conditional group), so their sizes are bounded together."""
    total = 0
    groups = [root] if isinstance(root, Group) else []
    while groups:
        group = groups.pop()
        for i, condition in enumerate(group.conditions):
            total += regex_size(condition.query)
            if total > MAX_REGEX_PROGRAM_SIZE:
                where = _user_path(group.path, f"strategy.conditions[{i}].query")
                raise regex_too_large(where, total)
        groups.extend(child for child in group.children if isinstance(child, Group))


@functools.lru_cache(maxsize=512)
def parse_config(text: str, providers: frozenset[str]) -> Node:
    """The config tree of an ``x-portkey-config`` header value (JSON text); cached."""
    if len(text) > MAX_CONFIG_BYTES:
        raise ConfigError(
            "",
            f"x-portkey-config is {len(text)} characters; the limit is {MAX_CONFIG_BYTES} "
            "(MAX_CONFIG_BYTES)",
            code="config_too_large",
        )
    try:
        raw = _decode(text)
    except msgspec.DecodeError:
        raise ConfigError("", "x-portkey-config is not valid JSON") from None
    except RecursionError:
        # msgspec stops at its own depth limit (in C): far past ours, so say ours.
        raise _too_deep("") from None
    return parse_config_object(raw, providers)


def _too_deep(where: str) -> ConfigError:
    return ConfigError(
        where,
        f"objects and lists nest at most {MAX_CONFIG_JSON_DEPTH} levels deep "
        "(MAX_CONFIG_JSON_DEPTH)",
        code="config_too_deep",
    )


def check_bounds(raw: dict[str, Any]) -> None:
    """Refuse a config over any of the limits above, before anything recurses over it.

    One explicit-stack walk (no recursion, so a config nested 100,000 deep costs a
    ``ConfigError``, not a ``RecursionError``) over every container, stopping at the
    first limit crossed; the path is the one users write (``targets[0].targets[3]``)."""
    targets = conditions = 0
    # (value, user path, JSON depth, target depth or -1 when not a target)
    stack: list[tuple[Any, str, int, int]] = [(raw, "", 1, 0)]
    while stack:
        value, where, depth, target_depth = stack.pop()
        if depth > MAX_CONFIG_JSON_DEPTH:
            raise _too_deep(where)
        if isinstance(value, list):
            stack.extend(
                (item, f"{where}[{i}]", depth + 1, -1)
                for i, item in enumerate(value)
                if isinstance(item, dict | list)
            )
            continue
        if target_depth >= 0:
            strategy = value.get("strategy")
            if isinstance(strategy, dict) and isinstance(strategy.get("conditions"), list):
                conditions += len(strategy["conditions"])
                if conditions > MAX_CONFIG_CONDITIONS:
                    raise ConfigError(
                        _join(where, "strategy.conditions"),
                        f"a config has at most {MAX_CONFIG_CONDITIONS} conditions in all "
                        "(MAX_CONFIG_CONDITIONS)",
                        code="too_many_conditions",
                    )
        for key, item in value.items():
            if not isinstance(item, dict | list):
                continue
            path = _join(where, key)
            if key == "targets" and target_depth >= 0 and isinstance(item, list):
                targets += len(item)
                if targets > MAX_CONFIG_TARGETS:
                    raise ConfigError(
                        path,
                        f"a config has at most {MAX_CONFIG_TARGETS} targets in all "
                        "(MAX_CONFIG_TARGETS)",
                        code="too_many_targets",
                    )
                if item and target_depth + 1 > MAX_CONFIG_DEPTH:
                    raise ConfigError(
                        path,
                        f"targets nest at most {MAX_CONFIG_DEPTH} levels deep (MAX_CONFIG_DEPTH)",
                        code="config_too_deep",
                    )
                stack.extend(
                    (child, f"{path}[{i}]", depth + 2, target_depth + 1)
                    for i, child in enumerate(item)
                    if isinstance(child, dict | list)
                )
            else:
                stack.append((item, path, depth + 1, -1))


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _inherit(spec: TargetSpec, parent: Inherited) -> Inherited:
    hooks = dict(parent.hooks)
    for name in _HOOK_FIELDS:
        value = getattr(spec, name)
        if value is not None:
            hooks[name] = tuple(value)
    return Inherited(
        override_params=spec.override_params
        if spec.override_params is not None
        else parent.override_params,
        retry=spec.retry if spec.retry is not None else parent.retry,
        cache=spec.cache if spec.cache is not None else parent.cache,
        request_timeout_ms=spec.request_timeout
        if spec.request_timeout is not None
        else parent.request_timeout_ms,
        custom_host=spec.custom_host if spec.custom_host is not None else parent.custom_host,
        forward_headers=tuple(spec.forward_headers)
        if spec.forward_headers is not None
        else parent.forward_headers,
        hooks=tuple(sorted(hooks.items())),
        # A strategy's cb_config covers every target below it, down to the next one.
        circuit=spec.strategy.cb_config
        if spec.strategy is not None and spec.strategy.cb_config is not None
        else parent.circuit,
    )


def _resolve(spec: TargetSpec, path: str, parent: Inherited, providers: Collection[str]) -> Node:
    settings = _inherit(spec, parent)
    if spec.virtual_key is not None:
        raise ConfigError(
            _user_path(path, "virtual_key"),
            "virtual keys are not available yet: give provider and api_key",
            code="virtual_key_unavailable",
        )
    if spec.targets is None:
        if spec.strategy is not None:
            raise ConfigError(_user_path(path, "targets"), "a strategy needs targets")
        if spec.provider is not None and spec.provider.strip().lower() not in providers:
            raise ConfigError(
                _user_path(path, "provider"),
                f"unknown provider {spec.provider!r}; known: {', '.join(sorted(providers))}",
                code="unknown_provider",
            )
        return Leaf(
            path=path,
            name=spec.name,
            weight=spec.weight,
            provider=spec.provider.strip().lower() if spec.provider else None,
            api_key=spec.api_key,
            settings=settings,
            options=_provider_options(spec),
        )
    if spec.strategy is None:
        raise ConfigError(_user_path(path, "strategy"), "targets need a strategy (mode)")
    if not spec.targets:
        raise ConfigError(_user_path(path, "targets"), "must list at least one target")
    children = tuple(
        _resolve(child, f"{path}.targets[{i}]", settings, providers)
        for i, child in enumerate(spec.targets)
    )
    strategy = spec.strategy
    group = Group(
        path=path,
        name=spec.name,
        weight=spec.weight,
        mode=strategy.mode,
        children=children,
        on_status_codes=frozenset(strategy.on_status_codes)
        if strategy.on_status_codes is not None
        else None,
        sticky=strategy.sticky_session,
        first_leaf=_first_leaf(strategy.mode, children),
    )
    circuit = strategy.cb_config
    if circuit is not None and (circuit.failure_threshold is None) == (
        circuit.failure_threshold_percentage is None
    ):
        raise ConfigError(
            _user_path(path, "strategy.cb_config"),
            "give one of failure_threshold or failure_threshold_percentage",
        )
    if strategy.mode == "loadbalance" and not any(c.weight > 0 for c in children):
        raise ConfigError(_user_path(path, "targets"), "loadbalance needs a weight above 0")
    if strategy.mode == "conditional":
        return _with_conditions(group, strategy, path)
    return group


def _with_conditions(group: Group, strategy: StrategySpec, path: str) -> Group:
    names = {child.name: i for i, child in enumerate(group.children) if child.name}
    if not strategy.conditions:
        raise ConfigError(
            _user_path(path, "strategy.conditions"), "conditional mode needs conditions"
        )
    conditions = []
    for i, cond in enumerate(strategy.conditions):
        where = _user_path(path, f"strategy.conditions[{i}]")
        if cond.then not in names:
            raise ConfigError(f"{where}.then", f"no target is named {cond.then!r}")
        conditions.append(Condition(compile_query(cond.query, f"{where}.query"), names[cond.then]))
    default = None
    if strategy.default is not None:
        if strategy.default not in names:
            raise ConfigError(
                _user_path(path, "strategy.default"), f"no target is named {strategy.default!r}"
            )
        default = names[strategy.default]
    return Group(
        path=group.path,
        name=group.name,
        weight=group.weight,
        mode=group.mode,
        children=group.children,
        on_status_codes=group.on_status_codes,
        conditions=tuple(conditions),
        default=default,
        sticky=group.sticky,
    )
