"""Slugs as Portkey makes them: a readable stem from the name plus a random suffix
(``main-258f4d``), so two objects with similar names never collide in practice."""

from __future__ import annotations

import re
import secrets

_NON_WORD = re.compile(r"[^a-z0-9]+")


def make_slug(name: str, prefix: str = "") -> str:
    stem = _NON_WORD.sub("-", name.lower()).strip("-")[:20].strip("-") or "x"
    return f"{prefix}{stem}-{secrets.token_hex(3)}"
