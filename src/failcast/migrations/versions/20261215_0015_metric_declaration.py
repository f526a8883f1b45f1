"""metric roles and limits an org declares for failure prediction

Revision ID: 0015_metric_declaration
Revises: 0014_model_promotion_gate
Create Date: 2026-12-15
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_metric_declaration"
down_revision: str | None = "0014_model_promotion_gate"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "metric_declaration",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("service", sa.String(length=128), nullable=False),
        sa.Column("metric", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=True),
        sa.Column("limit_value", sa.Float(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organization.id"],
            name=op.f("fk_metric_declaration_org_id_organization"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_metric_declaration")),
        sa.UniqueConstraint(
            "org_id", "service", "metric", name=op.f("uq_metric_declaration_org_id_service_metric")
        ),
    )
    with op.batch_alter_table("metric_declaration", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_metric_declaration_org_id"), ["org_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("metric_declaration", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_metric_declaration_org_id"))
    op.drop_table("metric_declaration")
