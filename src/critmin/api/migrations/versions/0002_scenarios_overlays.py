"""Scenarios with versions, data overlays with their rows, and shares.

Revision ID: 0002_scenarios_overlays
Revises: 0001_accounts
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_scenarios_overlays"
down_revision = "0001_accounts"
branch_labels = None
depends_on = None


def _owner() -> list[sa.Column]:
    return [
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("org_id", sa.String(32),
                  sa.ForeignKey("organisations.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_by", sa.String(32), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    ]


def upgrade() -> None:
    op.create_table("scenarios", *_owner(),
                    sa.Column("latest_version", sa.Integer, nullable=False))
    op.create_index("ix_scenarios_org_id", "scenarios", ["org_id"])
    op.create_table(
        "scenario_versions",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("scenario_id", sa.String(32),
                  sa.ForeignKey("scenarios.id", ondelete="CASCADE"), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("content_type", sa.String(16), nullable=False),
        sa.Column("scenario_hash", sa.String(64), nullable=False),
        sa.Column("note", sa.String(500), nullable=False),
        sa.Column("created_by", sa.String(32), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("scenario_id", "version", name="uq_scenario_version"),
    )
    op.create_index("ix_scenario_versions_scenario_id", "scenario_versions", ["scenario_id"])
    op.create_table("overlays", *_owner(),
                    sa.Column("description", sa.String(2000), nullable=False))
    op.create_index("ix_overlays_org_id", "overlays", ["org_id"])
    op.create_table(
        "overlay_rows",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("overlay_id", sa.String(32),
                  sa.ForeignKey("overlays.id", ondelete="CASCADE"), nullable=False),
        sa.Column("commodity", sa.String(100), nullable=False),
        sa.Column("stage", sa.String(100), nullable=False),
        sa.Column("iso3", sa.String(3), nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("statistic", sa.String(40), nullable=False),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("unit", sa.String(40), nullable=False),
        sa.Column("note", sa.String(500), nullable=False),
        sa.UniqueConstraint("overlay_id", "commodity", "stage", "iso3", "year", "statistic",
                            name="uq_overlay_fact"),
    )
    op.create_index("ix_overlay_rows_overlay_id", "overlay_rows", ["overlay_id"])
    op.create_table(
        "shares",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("resource_id", sa.String(32), nullable=False),
        sa.Column("owner_org_id", sa.String(32),
                  sa.ForeignKey("organisations.id", ondelete="CASCADE"), nullable=False),
        sa.Column("target_org_id", sa.String(32),
                  sa.ForeignKey("organisations.id", ondelete="CASCADE")),
        sa.Column("target_group", sa.String(100)),
        sa.Column("created_by", sa.String(32), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.CheckConstraint("kind IN ('scenario', 'overlay')", name="ck_share_kind"),
        sa.CheckConstraint("(target_org_id IS NULL) <> (target_group IS NULL)",
                           name="ck_share_target"),
    )
    op.create_index("ix_shares_resource_id", "shares", ["resource_id"])
    op.create_index("ix_shares_target_org_id", "shares", ["target_org_id"])


def downgrade() -> None:
    op.drop_table("shares")
    op.drop_table("overlay_rows")
    op.drop_table("overlays")
    op.drop_table("scenario_versions")
    op.drop_table("scenarios")
