"""The control plane's tables (SQLAlchemy Core), the same on SQLite, PostgreSQL and
MySQL/MariaDB: string ids, naive UTC timestamps (MySQL keeps no zone), JSON columns,
bounded VARCHARs (MySQL indexes need lengths). Alembic's migrations create them; this
module is what the code reads and writes through."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s",
        "pk": "pk_%(table_name)s",
    }
)

ID = sa.String(36)

workspaces = sa.Table(
    "workspaces",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("slug", sa.String(64), nullable=False, unique=True),
    sa.Column("organisation_id", ID, nullable=False),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("description", sa.Text, nullable=True),
    sa.Column("defaults", sa.JSON, nullable=True),
    sa.Column("usage_limits", sa.JSON, nullable=True),
    sa.Column("rate_limits", sa.JSON, nullable=True),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("last_updated_at", sa.DateTime, nullable=False),
    sa.UniqueConstraint("organisation_id", "name"),
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", ID, primary_key=True),
    # HMAC-SHA256 of the value, hex; the value itself is never stored.
    sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("key_hint", sa.String(16), nullable=False),
    sa.Column("organisation_id", ID, nullable=False),
    sa.Column("workspace_id", ID, sa.ForeignKey("workspaces.id"), nullable=True, index=True),
    sa.Column("type", sa.String(16), nullable=False),
    sa.Column("sub_type", sa.String(16), nullable=False),
    sa.Column("user_id", sa.String(64), nullable=True),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("description", sa.Text, nullable=True),
    sa.Column("scopes", sa.JSON, nullable=False),
    sa.Column("rate_limits", sa.JSON, nullable=True),
    sa.Column("usage_limits", sa.JSON, nullable=True),
    sa.Column("defaults", sa.JSON, nullable=True),
    sa.Column("alert_emails", sa.JSON, nullable=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("creation_mode", sa.String(16), nullable=False),
    sa.Column("expires_at", sa.DateTime, nullable=True),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("last_updated_at", sa.DateTime, nullable=False),
)

# One data key per workspace, wrapped by the master key named in master_key_id.
data_keys = sa.Table(
    "data_keys",
    metadata,
    sa.Column("workspace_id", ID, sa.ForeignKey("workspaces.id"), primary_key=True),
    sa.Column("wrapped_key", sa.LargeBinary, nullable=False),
    sa.Column("master_key_id", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("rotated_at", sa.DateTime, nullable=True),
)

virtual_keys = sa.Table(
    "virtual_keys",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("slug", sa.String(64), nullable=False, unique=True),
    sa.Column("workspace_id", ID, sa.ForeignKey("workspaces.id"), nullable=False),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("provider", sa.String(64), nullable=False),
    sa.Column("note", sa.Text, nullable=True),
    # Provider settings that are not secret (region, deployment, API version, ...).
    sa.Column("model_config", sa.JSON, nullable=False),
    # The secret fields as one JSON object, sealed with the workspace's data key.
    sa.Column("sealed_secrets", sa.LargeBinary, nullable=False),
    sa.Column("usage_limits", sa.JSON, nullable=True),
    sa.Column("rate_limits", sa.JSON, nullable=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("expires_at", sa.DateTime, nullable=True),
    sa.Column("created_by", ID, nullable=True),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("last_updated_at", sa.DateTime, nullable=False),
    sa.UniqueConstraint("workspace_id", "name"),
)

configs = sa.Table(
    "configs",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("slug", sa.String(64), nullable=False, unique=True),
    sa.Column("workspace_id", ID, sa.ForeignKey("workspaces.id"), nullable=False),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("is_default", sa.Integer, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("current_version_id", ID, nullable=False),
    sa.Column("owner_id", ID, nullable=True),
    sa.Column("updated_by", ID, nullable=True),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("last_updated_at", sa.DateTime, nullable=False),
    sa.UniqueConstraint("workspace_id", "name"),
)

# Every version a config has had; an update adds one and moves configs.current_version_id.
config_versions = sa.Table(
    "config_versions",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("config_id", ID, sa.ForeignKey("configs.id"), nullable=False, index=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("config", sa.JSON, nullable=False),
    sa.Column("created_by", ID, nullable=True),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.UniqueConstraint("config_id", "version"),
)

audit_logs = sa.Table(
    "audit_logs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("timestamp", sa.DateTime, nullable=False, index=True),
    sa.Column("request_id", ID, nullable=False),
    sa.Column("method", sa.String(8), nullable=False),
    sa.Column("uri", sa.String(512), nullable=False),
    sa.Column("user_id", ID, nullable=True),
    sa.Column("user_type", sa.String(16), nullable=False),
    sa.Column("organisation_id", ID, nullable=True),
    sa.Column("workspace_id", ID, nullable=True),
    sa.Column("resource_type", sa.String(64), nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("response_status_code", sa.Integer, nullable=False),
    sa.Column("client_ip", sa.String(64), nullable=True),
)
