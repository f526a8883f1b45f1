"""sample chunks: closed windows of each series, compressed, beside the row-per-sample head

Revision ID: 0018_sample_chunks
Revises: 0017_label_index
Create Date: 2026-12-15
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018_sample_chunks"
down_revision: str | None = "0017_label_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sample_chunk",
        sa.Column("series_id", sa.Integer(), nullable=False),
        sa.Column("start_ts", sa.BigInteger(), nullable=False),
        sa.Column("first_ts", sa.BigInteger(), nullable=False),
        sa.Column("last_ts", sa.BigInteger(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["series_id"],
            ["series.id"],
            name=op.f("fk_sample_chunk_series_id_series"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("series_id", "start_ts", name=op.f("pk_sample_chunk")),
    )
    op.create_index(op.f("ix_sample_chunk_start_ts"), "sample_chunk", ["start_ts"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        # The chunks are zstd frames already: PostgreSQL's own compression would only cost
        # time. A chunk of a few kB stays in its row rather than in TOAST pieces of 2 kB, each
        # with its own tuple and index entry.
        op.execute("ALTER TABLE sample_chunk ALTER COLUMN data SET STORAGE EXTERNAL")
        op.execute("ALTER TABLE sample_chunk SET (toast_tuple_target = 8160)")


def downgrade() -> None:
    op.drop_index(op.f("ix_sample_chunk_start_ts"), table_name="sample_chunk")
    op.drop_table("sample_chunk")
