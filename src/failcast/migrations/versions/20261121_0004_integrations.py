"""integrations: scrape targets and ML prediction events

Revision ID: 0004_integrations
Revises: 0001
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004_integrations"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "scrape_target",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("service", sa.String(length=128), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("interval_seconds", sa.Float(), nullable=False),
        sa.Column("timeout_seconds", sa.Float(), nullable=False),
        sa.Column("labels", JSON, nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_scrape_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_scrape_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_duration_seconds", sa.Float(), nullable=True),
        sa.Column("last_samples", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("up", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organization.id"],
            name=op.f("fk_scrape_target_org_id_organization"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scrape_target")),
        sa.UniqueConstraint("org_id", "url", name=op.f("uq_scrape_target_org_id_url")),
    )
    with op.batch_alter_table("scrape_target", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_scrape_target_next_scrape_at"), ["next_scrape_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_scrape_target_org_id"), ["org_id"], unique=False)

    op.create_table(
        "prediction_event",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("prediction_id", sa.String(length=200), nullable=False),
        sa.Column("predicted_at", sa.BigInteger(), nullable=True),
        sa.Column("features", JSON, nullable=True),
        sa.Column("prediction", JSON, nullable=True),
        sa.Column("label", JSON, nullable=True),
        sa.Column("labelled_at", sa.BigInteger(), nullable=True),
        sa.Column("correct", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organization.id"],
            name=op.f("fk_prediction_event_org_id_organization"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["service.id"],
            name=op.f("fk_prediction_event_service_id_service"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prediction_event")),
        sa.UniqueConstraint(
            "service_id", "prediction_id", name=op.f("uq_prediction_event_service_id_prediction_id")
        ),
    )
    with op.batch_alter_table("prediction_event", schema=None) as batch_op:
        batch_op.create_index(
            "ix_prediction_event_service_labelled", ["service_id", "labelled_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("prediction_event", schema=None) as batch_op:
        batch_op.drop_index("ix_prediction_event_service_labelled")
    op.drop_table("prediction_event")
    with op.batch_alter_table("scrape_target", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_scrape_target_org_id"))
        batch_op.drop_index(batch_op.f("ix_scrape_target_next_scrape_at"))
    op.drop_table("scrape_target")
