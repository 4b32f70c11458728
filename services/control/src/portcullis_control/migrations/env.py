"""Alembic environment: the connection comes from ``migrate`` (already open, on the
service's own engine), so the same code runs on SQLite, PostgreSQL and MySQL."""

from __future__ import annotations

from alembic import context

from portcullis_control.adapters.db.tables import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    # SQLite cannot ALTER most things in place; batch mode copies the table instead.
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
