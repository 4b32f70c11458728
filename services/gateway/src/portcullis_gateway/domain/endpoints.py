"""Which OpenAI endpoint a pass-through path is, for the log (``kind``) and the metrics
(``route``: a bounded label, since paths carry ids such as ``/v1/files/file-abc``).
Pure; any path the table does not know is ``passthrough`` under the label ``/v1/*``."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote

from portcullis_gateway.domain.errors import InvalidRequest


@dataclass(frozen=True, slots=True)
class Endpoint:
    kind: str
    route: str


PASSTHROUGH = Endpoint("passthrough", "/v1/*")
# Endpoints named by their first path segment, then those named by their first two.
_ONE = ("moderations", "rerank", "models", "files", "batches", "responses")
_TWO = (
    ("images", "generations"),
    ("images", "edits"),
    ("images", "variations"),
    ("audio", "speech"),
    ("audio", "transcriptions"),
    ("audio", "translations"),
    ("fine_tuning", "jobs"),
)
_ENDPOINTS: dict[tuple[str, ...], Endpoint] = {
    **{(name,): Endpoint(name, f"/v1/{name}") for name in _ONE},
    **{pair: Endpoint(".".join(pair), "/v1/" + "/".join(pair)) for pair in _TWO},
}
# Every kind this table can give: their streams are typed events, not chat chunks.
KINDS = frozenset({e.kind for e in _ENDPOINTS.values()} | {PASSTHROUGH.kind})


def endpoint_of(suffix: str) -> Endpoint:
    """``suffix`` is the path after ``/v1`` (``/files/file-1/content``)."""
    parts = suffix.strip("/").split("/", 2)
    return _ENDPOINTS.get(tuple(parts[:2])) or _ENDPOINTS.get(tuple(parts[:1])) or PASSTHROUGH


def check_suffix(suffix: str) -> None:
    """Refuse dot segments: appended to a provider's base URL they would climb out of it
    (``/v1/../admin``), reaching paths the caller never named."""
    for segment in suffix.split("/"):
        if segment and unquote(segment) in (".", ".."):
            raise InvalidRequest(
                f"the path {suffix!r} has a '.' or '..' segment; send the path it stands for",
                code="invalid_path",
            )
