"""Conditional routing queries (``strategy.conditions[].query``): compiled once when the
config is parsed, evaluated per request over ``metadata.*``, ``params.*`` and
``url.pathname``. MongoDB-style, as Portkey's: several keys in one object all have to
hold, a bare value means ``$eq``, ``$and`` / ``$or`` take lists of queries.

``$regex`` runs on RE2 (google-re2), whose matching time is linear in the text: a
pattern that backtracks for minutes in Python's ``re`` (``(a+)+$``) takes microseconds
(docs/decisions/0006-regex-engine.md). RE2 has no backreferences or lookaround; such a
pattern is a 400 when the config is parsed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import re2

from portcullis_gateway.routing._errors import ConfigError

# Linear is not free: RE2's worst case is about 20 ns x (compiled program size) x (text
# length), for a pattern whose DFA does not fit and falls back to the NFA
# (``(a|b)*a(a|b){20}c``). Both factors are bounded, so one request's regex work stays
# under ~40 ms even for a pattern built to be slow (typical patterns: microseconds);
# 0006-regex-engine.md has the measurements.
MAX_REGEX_PROGRAM_SIZE = 1000  # RE2 instructions of every $regex of a config, summed
MAX_REGEX_TEXT_CHARS = 2048  # the longest value a $regex is matched against
_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.never_capture = True  # a yes/no answer needs no groups: DFA only, faster
_RE2_OPTIONS.log_errors = False  # a bad pattern is the caller's 400, not our stderr
_RE2_OPTIONS.max_mem = 1 << 20  # per pattern (the default 8 MiB x cached configs adds up)

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
            operand = compile_regex(operand, f"{where}.{op}")
        out.append(("cmp", field, op, operand))
    return out


def compile_regex(pattern: Any, where: str) -> Any:
    """An RE2 pattern, compiled once with the config; a ConfigError naming ``where``
    if it is not a string, not RE2 syntax or too large."""
    if not isinstance(pattern, str):
        raise ConfigError(where, "takes a string")
    try:
        compiled = re2.compile(pattern, _RE2_OPTIONS)
    except re2.error as exc:
        reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else exc
        raise ConfigError(
            where,
            f"invalid regular expression: {reason} (RE2 syntax: no backreferences or lookaround)",
            code="invalid_regex",
        ) from None
    if compiled.programsize > MAX_REGEX_PROGRAM_SIZE:
        raise regex_too_large(where, compiled.programsize)
    return compiled


def regex_too_large(where: str, size: int) -> ConfigError:
    return ConfigError(
        where,
        f"regular expressions too large: {size} RE2 instructions, the limit for a config "
        f"is {MAX_REGEX_PROGRAM_SIZE} (MAX_REGEX_PROGRAM_SIZE)",
        code="regex_too_large",
    )


def regex_size(query: Query) -> int:
    """RE2 instructions of every ``$regex`` in a compiled query (its matching cost per
    character of text, at worst)."""
    if query[0] != "cmp":
        return sum(regex_size(q) for q in query[1])
    return query[3].programsize if query[2] == "$regex" else 0


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
        if not isinstance(value, str):
            return False
        if len(value) > MAX_REGEX_TEXT_CHARS:
            # Refused rather than cut: a cut text could match where the whole would not.
            raise ConfigError(
                "",
                f"{'.'.join(field)} is {len(value)} characters; a $regex condition "
                f"examines at most {MAX_REGEX_TEXT_CHARS} (MAX_REGEX_TEXT_CHARS)",
                code="regex_text_too_long",
            )
        return operand.search(value) is not None
    if value is _MISSING:
        return False
    return _ordered(value, operand, op)


def choose_condition(conditions, default: int | None, context: Mapping[str, Any]) -> int | None:
    """Index of the child the first matching condition names, else the default."""
    for condition in conditions:
        if evaluate(condition.query, context):
            return condition.then
    return default
