"""Which child of a group to try: weighted (and sticky) load balancing and conditional
routing. Pure: randomness, the request context and the clock come in as arguments."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Container, Mapping
from typing import Any

import msgspec

from portcullis_gateway.routing.conditions import choose_condition, lookup
from portcullis_gateway.routing.config import Group
from portcullis_gateway.routing.decisions import sticky_u, weighted_index

_encode = msgspec.json.encode


def sticky_key(group: Group, context: Mapping[str, Any]) -> str | None:
    """The conversation key of a sticky load balancer: its path plus the values of the
    hash fields; None when the request carries none of them (then it is not sticky)."""
    if group.sticky is None:
        return None
    values = [lookup(context, tuple(field.split("."))) for field in group.sticky.hash_fields]
    if all(value is None for value in values):
        return None
    return group.path + "\x1e" + "\x1f".join(_encode(value).decode() for value in values)


def loadbalance_index(
    group: Group, u: float, skip: Container[int] = (), key: str | None = None
) -> int | None:
    """A child by weight (``u`` uniform in [0, 1)); with a sticky ``key`` the number
    comes from the key instead, so every replica picks the same child. Children in
    ``skip`` (open circuits) get weight 0; None when nothing is left."""
    weights = [0.0 if i in skip else child.weight for i, child in enumerate(group.children)]
    if not any(weight > 0 for weight in weights):
        return None
    return weighted_index(weights, sticky_u([key]) if key is not None else u)


def conditional_index(group: Group, context: Mapping[str, Any]) -> int | None:
    return choose_condition(group.conditions, group.default, context)


class StickyPins:
    """Remembers which child a sticky key went to, for ``ttl`` seconds, so that a
    conversation moved off a failing target stays on its new one instead of flapping
    back. Bounded (least recently used goes first); the clock is passed in."""

    def __init__(self, max_keys: int = 100_000) -> None:
        self.max_keys = max_keys
        self._pins: OrderedDict[str, tuple[int, float]] = OrderedDict()

    def get(self, key: str, now: float) -> int | None:
        pin = self._pins.get(key)
        if pin is None:
            return None
        if pin[1] <= now:
            del self._pins[key]
            return None
        self._pins.move_to_end(key)
        return pin[0]

    def put(self, key: str, index: int, ttl_s: float, now: float) -> None:
        self._pins[key] = (index, now + ttl_s)
        self._pins.move_to_end(key)
        while len(self._pins) > self.max_keys:
            self._pins.popitem(last=False)
