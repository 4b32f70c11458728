"""Credentials by what they are: the marker that declares a field secret where it is
defined, and the masking of a request's own credential values wherever they show up
again (a provider's error that echoes the key, a log line, the stored log). Pure.

Declaring: a msgspec field is ``Annotated[str | None, SECRET]`` (``secret_fields`` reads
the declarations back, once, at import time); a provider option is
``Option(name, secret=True)`` in its ``ProviderSpec`` (``providers.base``). What parts of
a structured credential are worth masking on their own (a service-account JSON's
``private_key``) is declared with ``secret_meta(parts=...)``.

Values shorter than ``MIN_MASKED_LEN`` are not masked by value: a short value ("test",
"abc") would mangle ordinary text wherever it happens to occur, and is no real key. A
value made only of number characters is not masked either: in JSON it could stand
outside a string, where a replacement would break the document.
"""

from __future__ import annotations

import re
import typing
from collections.abc import Iterable, Mapping
from typing import Annotated, Any

import msgspec

MASK = "[REDACTED]"
MIN_MASKED_LEN = 8
_SECRET_KEY = "secret"
_PARTS_KEY = "secret_parts"
_NUMBERISH = re.compile(r"[0-9.eE+\-]+")
_encode = msgspec.json.encode
_decode = msgspec.json.decode


def secret_meta(parts: tuple[str, ...] = ()) -> msgspec.Meta:
    """The annotation that declares a field a credential; ``parts`` name the members of
    a JSON object credential that are themselves values to mask."""
    extra: dict[str, Any] = {_SECRET_KEY: True}
    if parts:
        extra[_PARTS_KEY] = parts
    return msgspec.Meta(extra=extra)


SECRET = secret_meta()


def _declaration(annotation: Any) -> msgspec.Meta | None:
    """The secret marker inside an annotation (``Annotated[...] | None`` included)."""
    if typing.get_origin(annotation) is Annotated:
        for meta in annotation.__metadata__:
            if isinstance(meta, msgspec.Meta) and (meta.extra or {}).get(_SECRET_KEY):
                return meta
    for arg in typing.get_args(annotation):
        found = _declaration(arg)
        if found is not None:
            return found
    return None


def secret_fields(struct_type: type) -> dict[str, tuple[str, ...]]:
    """Field name -> declared secret parts, for the fields of ``struct_type`` declared
    secret. Built once per type, at import time."""
    hints = typing.get_type_hints(struct_type, include_extras=True)
    out: dict[str, tuple[str, ...]] = {}
    for name in msgspec.structs.fields(struct_type):
        meta = _declaration(hints[name.name])
        if meta is not None:
            out[name.name] = tuple((meta.extra or {}).get(_PARTS_KEY, ()))
    return out


def values_of(value: object, parts: tuple[str, ...] = ()) -> list[str]:
    """The values worth masking in one credential: the text itself, and for a JSON
    object credential (given parsed or as text) the declared ``parts``."""
    out: list[str] = []
    obj: object = value
    if isinstance(value, str):
        add(out, value)
        if parts and value.lstrip().startswith("{"):
            try:
                obj = _decode(value)
            except (msgspec.DecodeError, RecursionError):
                # Not JSON, or nested past msgspec's reach: refused with a 400 by the
                # input gate; its text is masked whole.
                return out
    if parts and isinstance(obj, Mapping):
        for part in parts:
            item = obj.get(part)
            if isinstance(item, str):
                add(out, item)
    return out


def add(values: list[str], value: str | None) -> None:
    """Keep ``value`` for masking if it is worth it (long enough, not a number)."""
    if value and len(value) >= MIN_MASKED_LEN and not _NUMBERISH.fullmatch(value):
        values.append(value)


def _forms(value: str, in_json: bool) -> Iterable[str]:
    """The spellings of ``value`` to look for. In JSON text a raw quote or control
    character is structure, never a string's content, so there only the escaped
    spelling is looked for (a raw one could match across tokens)."""
    escaped = _encode(value).decode()[1:-1]
    if not in_json:
        yield value
    yield escaped
    if "/" in escaped:
        yield escaped.replace("/", "\\/")  # JSON may escape the solidus (PHP does)
    if "\n" in value:
        # A PEM key's body lines, each a secret of its own however the whole is quoted;
        # the armour lines ("-----BEGIN PRIVATE KEY-----") are not.
        for line in value.splitlines():
            line = line.strip()
            if len(line) >= MIN_MASKED_LEN and not line.startswith("-----"):
                yield from _forms(line, in_json)


def _needles(values: Iterable[str], in_json: bool) -> list[str]:
    found = {form for value in values for form in _forms(value, in_json)}
    return sorted(found, key=len, reverse=True)  # the whole before any of its parts


def mask_text(text: str, values: Iterable[str]) -> str:
    """``text`` with every form of every value replaced by ``MASK``."""
    for needle in _needles(values, in_json=False):
        if needle in text:
            text = text.replace(needle, MASK)
    return text


def mask_json(data: bytes, values: Iterable[str]) -> bytes:
    """JSON bytes with every value masked inside its strings; stays valid JSON."""
    for needle in _needles(values, in_json=True):
        raw = needle.encode()
        if raw in data:
            data = data.replace(raw, MASK.encode())
    return data
