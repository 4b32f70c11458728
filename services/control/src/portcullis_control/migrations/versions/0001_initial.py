"""The first schema: workspaces, API keys, data keys, virtual keys, configs and their
versions, audit logs.

Revision ID: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None

_ID = sa.String(36)


def _stamps() -> list[sa.Column]:
    return [
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("last_updated_at", sa.DateTime, nullable=False),
    ]


def _limits() -> list[sa.Column]:
    return [
        sa.Column("usage_limits", sa.JSON, nullable=True),
        sa.Column("rate_limits", sa.JSON, nullable=True),
    ]


def upgrade() -> None:
    op.create_table(
        "workspaces",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("slug", sa.String(64), nullable=False),
        sa.Column("organisation_id", _ID, nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("description", sa.Text),
        sa.Column("defaults", sa.JSON),
        *_limits(),
        *_stamps(),
        sa.UniqueConstraint("slug", name="uq_workspaces_slug"),
        sa.UniqueConstraint("organisation_id", "name", name="uq_workspaces_organisation_id_name"),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("key_hint", sa.String(16), nullable=False),
        sa.Column("organisation_id", _ID, nullable=False),
        sa.Column("workspace_id", _ID, sa.ForeignKey("workspaces.id"), nullable=True),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("sub_type", sa.String(16), nullable=False),
        sa.Column("user_id", sa.String(64)),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("description", sa.Text),
        sa.Column("scopes", sa.JSON, nullable=False),
        *_limits(),
        sa.Column("defaults", sa.JSON),
        sa.Column("alert_emails", sa.JSON),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("creation_mode", sa.String(16), nullable=False),
        sa.Column("expires_at", sa.DateTime),
        *_stamps(),
        sa.UniqueConstraint("key_hash", name="uq_api_keys_key_hash"),
    )
    op.create_index("ix_api_keys_workspace_id", "api_keys", ["workspace_id"])
    op.create_table(
        "data_keys",
        sa.Column("workspace_id", _ID, sa.ForeignKey("workspaces.id"), primary_key=True),
        sa.Column("wrapped_key", sa.LargeBinary, nullable=False),
        sa.Column("master_key_id", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("rotated_at", sa.DateTime),
    )
    op.create_table(
        "virtual_keys",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("slug", sa.String(64), nullable=False),
        sa.Column("workspace_id", _ID, sa.ForeignKey("workspaces.id"), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("note", sa.Text),
        sa.Column("model_config", sa.JSON, nullable=False),
        sa.Column("sealed_secrets", sa.LargeBinary, nullable=False),
        *_limits(),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("expires_at", sa.DateTime),
        sa.Column("created_by", _ID),
        *_stamps(),
        sa.UniqueConstraint("slug", name="uq_virtual_keys_slug"),
        sa.UniqueConstraint("workspace_id", "name", name="uq_virtual_keys_workspace_id_name"),
    )
    op.create_table(
        "configs",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("slug", sa.String(64), nullable=False),
        sa.Column("workspace_id", _ID, sa.ForeignKey("workspaces.id"), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("is_default", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("current_version_id", _ID, nullable=False),
        sa.Column("owner_id", _ID),
        sa.Column("updated_by", _ID),
        *_stamps(),
        sa.UniqueConstraint("slug", name="uq_configs_slug"),
        sa.UniqueConstraint("workspace_id", "name", name="uq_configs_workspace_id_name"),
    )
    op.create_table(
        "config_versions",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("config_id", _ID, sa.ForeignKey("configs.id"), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("config", sa.JSON, nullable=False),
        sa.Column("created_by", _ID),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("config_id", "version", name="uq_config_versions_config_id_version"),
    )
    op.create_index("ix_config_versions_config_id", "config_versions", ["config_id"])
    op.create_table(
        "audit_logs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("timestamp", sa.DateTime, nullable=False),
        sa.Column("request_id", _ID, nullable=False),
        sa.Column("method", sa.String(8), nullable=False),
        sa.Column("uri", sa.String(512), nullable=False),
        sa.Column("user_id", _ID),
        sa.Column("user_type", sa.String(16), nullable=False),
        sa.Column("organisation_id", _ID),
        sa.Column("workspace_id", _ID),
        sa.Column("resource_type", sa.String(64), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("response_status_code", sa.Integer, nullable=False),
        sa.Column("client_ip", sa.String(64)),
    )
    op.create_index("ix_audit_logs_timestamp", "audit_logs", ["timestamp"])


def downgrade() -> None:
    for table in (
        "audit_logs",
        "config_versions",
        "configs",
        "virtual_keys",
        "data_keys",
        "api_keys",
        "workspaces",
    ):
        op.drop_table(table)
