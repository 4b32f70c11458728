"""What an audit record says a call did, from its method and path (pure)."""

from __future__ import annotations

MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})

_ACTIONS = {"POST": "create", "PUT": "update", "PATCH": "update", "DELETE": "delete"}
# The first path segment after /v1 (and after /admin), and the resource it names.
_RESOURCES = {
    "workspaces": "workspaces",
    "api-keys": "api_keys",
    "virtual-keys": "virtual_keys",
    "configs": "configs",
    "policies": "policies",
}


def describe(method: str, path: str) -> tuple[str, str]:
    """(resource_type, action) of a mutating call: ``("virtual_keys", "update")``."""
    parts = [p for p in path.split("/") if p]
    if parts and parts[0] == "v1":
        parts = parts[1:]
    if parts and parts[0] == "admin":
        parts = parts[1:]
    head = parts[0] if parts else ""
    resource = _RESOURCES.get(head, head or "unknown")
    if resource == "policies" and len(parts) > 1:
        resource = f"{parts[1].replace('-', '_')}_policies"
    return resource, _ACTIONS.get(method, method.lower())
