"""The ``requests`` table: one wide, immutable row per request, written by analytics from
RequestMetered events.

ReplacingMergeTree keyed by (workspace, created_at, id): a redelivered event lands on the
same key and collapses into one row at merge time; readers use FINAL so the duplicate is
invisible before the merge too. Monthly partitions keep merges and drops cheap.
"""

VERSION = 1
NAME = "requests"


def statements(db: str) -> list[str]:
    return [
        f"""
CREATE TABLE IF NOT EXISTS {db}.requests
(
    id String,
    workspace LowCardinality(String),
    organisation_id LowCardinality(String),
    created_at DateTime64(3, 'UTC'),
    trace_id String,
    method LowCardinality(String),
    path LowCardinality(String),
    provider LowCardinality(String),
    model LowCardinality(String),
    stream Bool,
    status UInt16,
    is_success Bool,
    prompt_tokens UInt32,
    completion_tokens UInt32,
    total_tokens UInt32,
    cached_tokens UInt32,
    reasoning_tokens UInt32,
    tokens_estimated Bool,
    cost Nullable(Float64) COMMENT 'USD; NULL when the model has no known price',
    latency_ms Float64,
    first_token_ms Nullable(Float64),
    retry_attempts UInt16,
    cache_status LowCardinality(String),
    metadata Map(String, String),
    user String
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(created_at)
ORDER BY (workspace, created_at, id)
"""
    ]
