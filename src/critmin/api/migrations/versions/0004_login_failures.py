"""Failed logins, so the login limiter counts across every server process.

Revision ID: 0004_login_failures
Revises: 0003_runs
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_login_failures"
down_revision = "0003_runs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_login_failures_key_hash", "login_failures", ["key_hash"])
    op.create_index("ix_login_failures_at", "login_failures", ["at"])


def downgrade() -> None:
    op.drop_table("login_failures")
