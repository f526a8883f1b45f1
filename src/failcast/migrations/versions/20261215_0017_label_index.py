"""label index: series by (label name, value), and an org's metric names in order

Revision ID: 0017_label_index
Revises: 0016_training_jobs
Create Date: 2026-12-15
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017_label_index"
down_revision: str | None = "0016_training_jobs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Every stored series' labels, one row per non-empty value, in the dialect's JSON functions.
_FILL = {
    "sqlite": (
        "INSERT INTO series_label (series_id, name, org_id, value) "
        "SELECT s.id, j.key, s.org_id, j.value FROM series AS s, json_each(s.labels) AS j "
        "WHERE j.value <> ''"
    ),
    "postgresql": (
        "INSERT INTO series_label (series_id, name, org_id, value) "
        "SELECT s.id, j.key, s.org_id, j.value FROM series AS s, jsonb_each_text(s.labels) AS j "
        "WHERE j.value <> ''"
    ),
}


def upgrade() -> None:
    op.create_table(
        "series_label",
        sa.Column("series_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("value", sa.String(length=1000), nullable=False),
        sa.ForeignKeyConstraint(
            ["series_id"],
            ["series.id"],
            name=op.f("fk_series_label_series_id_series"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("series_id", "name", name=op.f("pk_series_label")),
        sqlite_with_rowid=False,
    )
    with op.batch_alter_table("series_label", schema=None) as batch_op:
        batch_op.create_index(
            "ix_series_label_org_id_name_value",
            ["org_id", "name", "value", "series_id"],
            unique=False,
        )
    with op.batch_alter_table("series", schema=None) as batch_op:
        batch_op.create_index("ix_series_org_id_metric", ["org_id", "metric"], unique=False)
    op.execute(_FILL[op.get_bind().dialect.name])


def downgrade() -> None:
    with op.batch_alter_table("series", schema=None) as batch_op:
        batch_op.drop_index("ix_series_org_id_metric")
    with op.batch_alter_table("series_label", schema=None) as batch_op:
        batch_op.drop_index("ix_series_label_org_id_name_value")
    op.drop_table("series_label")
