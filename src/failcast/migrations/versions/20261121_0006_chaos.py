"""chaos faults and experiments

Revision ID: 0006_chaos
Revises: 0001
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006_chaos"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "chaos_experiment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("spec", JSON, nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("verdict", sa.String(length=20), nullable=True),
        sa.Column("journal", JSON, nullable=True),
        sa.Column("observe_from", sa.Float(), nullable=False),
        sa.Column("method_start", sa.Float(), nullable=False),
        sa.Column("method_end", sa.Float(), nullable=False),
        sa.Column("after_from", sa.Float(), nullable=False),
        sa.Column("after_to", sa.Float(), nullable=False),
        sa.Column("rolled_back", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organization.id"],
            name=op.f("fk_chaos_experiment_org_id_organization"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chaos_experiment")),
    )
    op.create_index(
        op.f("ix_chaos_experiment_org_id"), "chaos_experiment", ["org_id"], unique=False
    )
    op.create_table(
        "chaos_fault",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("experiment_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("target", sa.String(length=128), nullable=False),
        sa.Column("start", sa.Float(), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("lead_s", sa.Float(), nullable=False),
        sa.Column("intensity", sa.Float(), nullable=False),
        sa.Column("stopped_at", sa.Float(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["experiment_id"],
            ["chaos_experiment.id"],
            name=op.f("fk_chaos_fault_experiment_id_chaos_experiment"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organization.id"],
            name=op.f("fk_chaos_fault_org_id_organization"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chaos_fault")),
    )
    op.create_index("ix_chaos_fault_org_start", "chaos_fault", ["org_id", "start"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_chaos_fault_org_start", table_name="chaos_fault")
    op.drop_table("chaos_fault")
    op.drop_index(op.f("ix_chaos_experiment_org_id"), table_name="chaos_experiment")
    op.drop_table("chaos_experiment")
