"""Numbered ClickHouse schema migrations, ``NNNN_name.py``, applied in order.

Each module defines ``VERSION`` (its number), ``NAME`` and ``statements(db) -> list[str]``
where ``db`` is the quoted database name. Statements must be idempotent (``IF NOT
EXISTS``) and run unchanged on chDB and on a ClickHouse server. Never edit a migration
that has shipped: add the next number instead.
"""
