"""The one error a config can raise: where it is wrong and why."""

from __future__ import annotations


class ConfigError(Exception):
    """An invalid config; ``path`` is where (``targets[0].weight``), ``code`` why."""

    def __init__(self, path: str, message: str, code: str = "invalid_config") -> None:
        super().__init__(f"invalid config at {path}: {message}" if path else message)
        self.path = path
        self.code = code
