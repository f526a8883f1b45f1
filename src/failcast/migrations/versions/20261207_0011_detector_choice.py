"""detector chosen per metric of a service

Revision ID: 0011_detector_choice
Revises: 0007_detection
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011_detector_choice"
down_revision: str | None = "0007_detection"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "detector_choice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("metric", sa.String(length=200), nullable=False),
        sa.Column("detector", sa.String(length=100), nullable=False),
        sa.Column("params", JSON, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organization.id"],
            name=op.f("fk_detector_choice_org_id_organization"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["service.id"],
            name=op.f("fk_detector_choice_service_id_service"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_detector_choice")),
        sa.UniqueConstraint(
            "service_id", "metric", name=op.f("uq_detector_choice_service_id_metric")
        ),
    )
    with op.batch_alter_table("detector_choice", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_detector_choice_org_id"), ["org_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("detector_choice", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_detector_choice_org_id"))
    op.drop_table("detector_choice")
