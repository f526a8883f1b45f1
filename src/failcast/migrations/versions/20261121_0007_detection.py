"""live detector state

Revision ID: 0007_detection
Revises: 0001
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007_detection"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "detector_state",
        sa.Column("score_series_id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("series_id", sa.Integer(), nullable=True),
        sa.Column("detector", sa.String(length=100), nullable=False),
        sa.Column("version", sa.String(length=100), nullable=False),
        sa.Column("state", JSON, nullable=False),
        sa.Column("cursor_ts", sa.BigInteger(), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("scored_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organization.id"],
            name=op.f("fk_detector_state_org_id_organization"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["score_series_id"],
            ["series.id"],
            name=op.f("fk_detector_state_score_series_id_series"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["series_id"],
            ["series.id"],
            name=op.f("fk_detector_state_series_id_series"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["service.id"],
            name=op.f("fk_detector_state_service_id_service"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("score_series_id", name=op.f("pk_detector_state")),
        sa.UniqueConstraint("series_id", name=op.f("uq_detector_state_series_id")),
    )
    with op.batch_alter_table("detector_state", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_detector_state_org_id"), ["org_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("detector_state", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_detector_state_org_id"))
    op.drop_table("detector_state")
