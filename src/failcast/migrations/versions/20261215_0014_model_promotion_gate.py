"""who forced a model version past the promotion gate, and why

Revision ID: 0014_model_promotion_gate
Revises: 0013_teams
Create Date: 2026-12-15
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_model_promotion_gate"
down_revision: str | None = "0013_teams"
branch_labels: str | Sequence[str] | None = None
# The model_version table comes from the prediction branch.
depends_on: str | Sequence[str] | None = "0005_predict"


def upgrade() -> None:
    with op.batch_alter_table("model_version", schema=None) as batch_op:
        batch_op.add_column(sa.Column("forced_by", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("forced_reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("forced_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("model_version", schema=None) as batch_op:
        batch_op.drop_column("forced_at")
        batch_op.drop_column("forced_reason")
        batch_op.drop_column("forced_by")
