"""Conditional routing queries (``strategy.conditions[].query``): compiled once when the
config is parsed, evaluated per request over ``metadata.*``, ``params.*`` and
``url.pathname``. MongoDB-style, as Portkey's: several keys in one object all have to
hold, a bare value means ``$eq``, ``$and`` / ``$or`` take lists of queries."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from portcullis_gateway.routing._errors import ConfigError

_ROOTS = ("metadata", "params", "url")
_COMPARE = frozenset({"$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$regex"})
_MISSING = object()

# A compiled query is a tuple tree: ("and", (q, ...)), ("or", (q, ...)) or
# ("cmp", ("params", "model"), "$eq", operand); regexes are compiled here, once.
Query = tuple


def compile_query(query: Any, where: str) -> Query:
    if not isinstance(query, dict) or not query:
        raise ConfigError(where, "a query is a non-empty JSON object")
    parts = []
    for key, value in query.items():
        if key in ("$and", "$or"):
            if not isinstance(value, list) or not value:
                raise ConfigError(f"{where}.{key}", "takes a non-empty list of queries")
            subs = tuple(compile_query(q, f"{where}.{key}[{i}]") for i, q in enumerate(value))
            parts.append(("and" if key == "$and" else "or", subs))
        elif key.startswith("$"):
            raise ConfigError(f"{where}.{key}", f"unknown operator {key!r} at this level")
        else:
            parts.extend(_compile_field(key, value, f"{where}.{key}"))
    return parts[0] if len(parts) == 1 else ("and", tuple(parts))


def _compile_field(key: str, value: Any, where: str) -> list[Query]:
    field = tuple(key.split("."))
    if (
        field[0] not in _ROOTS
        or len(field) < 2
        or (field[0] == "url" and field != ("url", "pathname"))
    ):
        raise ConfigError(where, "a field is metadata.<key>, params.<key> or url.pathname")
    if not (isinstance(value, dict) and value and all(k.startswith("$") for k in value)):
        return [("cmp", field, "$eq", value)]
    out = []
    for op, operand in value.items():
        if op not in _COMPARE:
            raise ConfigError(f"{where}.{op}", f"unknown operator {op!r}")
        if op in ("$in", "$nin") and not isinstance(operand, list):
            raise ConfigError(f"{where}.{op}", "takes a list")
        if op == "$regex":
            if not isinstance(operand, str):
                raise ConfigError(f"{where}.{op}", "takes a string")
            try:
                operand = re.compile(operand)
            except re.error as exc:
                raise ConfigError(f"{where}.{op}", f"invalid regular expression: {exc}") from None
        out.append(("cmp", field, op, operand))
    return out


def lookup(context: Mapping[str, Any], field: tuple[str, ...], missing: Any = None) -> Any:
    """The value at a dotted field of the request context, or ``missing``."""
    value: Any = context
    for part in field:
        if not isinstance(value, Mapping):
            return missing
        value = value.get(part, _MISSING)
        if value is _MISSING:
            return missing
    return value


def _ordered(value: Any, operand: Any, op: str) -> bool:
    # Numbers compare with numbers, strings with strings; anything else never matches
    # (a missing field is not "less than 5").
    if isinstance(value, bool) or isinstance(operand, bool):
        return False
    numbers = isinstance(value, int | float) and isinstance(operand, int | float)
    if not numbers and not (isinstance(value, str) and isinstance(operand, str)):
        return False
    if op == "$gt":
        return value > operand
    if op == "$gte":
        return value >= operand
    if op == "$lt":
        return value < operand
    return value <= operand


def evaluate(query: Query, context: Mapping[str, Any]) -> bool:
    kind = query[0]
    if kind == "and":
        return all(evaluate(q, context) for q in query[1])
    if kind == "or":
        return any(evaluate(q, context) for q in query[1])
    _, field, op, operand = query
    value = lookup(context, field, _MISSING)
    if op == "$eq":
        return value is not _MISSING and value == operand
    if op == "$ne":
        return value is _MISSING or value != operand
    if op == "$in":
        return value is not _MISSING and value in operand
    if op == "$nin":
        return value is _MISSING or value not in operand
    if op == "$regex":
        return isinstance(value, str) and operand.search(value) is not None
    if value is _MISSING:
        return False
    return _ordered(value, operand, op)


def choose_condition(conditions, default: int | None, context: Mapping[str, Any]) -> int | None:
    """Index of the child the first matching condition names, else the default."""
    for condition in conditions:
        if evaluate(condition.query, context):
            return condition.then
    return default
