"""plans, usage, Stripe subscriptions and events, reliability reports and their subscribers

Revision ID: 0009_billing
Revises: 0001
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009_billing"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")

# code, name, position, price in cents, services, predictions a month, retention days,
# samples a minute, custom. None: unlimited. Enterprise limits are set per org.
PLANS = [
    ("free", "Free", 0, 0, 5, 100, 7, 10_000, False),
    ("starter", "Starter", 1, 4_900, 25, 1_000, 30, 100_000, False),
    ("professional", "Professional", 2, 19_900, 100, None, 90, 1_000_000, False),
    ("enterprise", "Enterprise", 3, 49_900, None, None, None, None, True),
]


def upgrade() -> None:
    plan = op.create_table(
        "plan",
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("price_cents", sa.Integer(), nullable=False),
        sa.Column("max_services", sa.Integer(), nullable=True),
        sa.Column("max_predictions_per_month", sa.Integer(), nullable=True),
        sa.Column("retention_days", sa.Integer(), nullable=True),
        sa.Column("max_samples_per_minute", sa.Integer(), nullable=True),
        sa.Column("custom", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_plan")),
    )
    op.bulk_insert(
        plan,
        [
            {
                "code": code,
                "name": name,
                "position": position,
                "price_cents": price,
                "max_services": services,
                "max_predictions_per_month": predictions,
                "retention_days": retention,
                "max_samples_per_minute": rate,
                "custom": custom,
            }
            for code, name, position, price, services, predictions, retention, rate, custom in PLANS
        ],
    )
    op.create_table(
        "org_usage",
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("predictions", sa.BigInteger(), nullable=False),
        sa.Column("samples", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organization.id"],
            name=op.f("fk_org_usage_org_id_organization"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("org_id", "month", name=op.f("pk_org_usage")),
    )
    op.create_table(
        "subscription",
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("stripe_customer_id", sa.String(length=255), nullable=True),
        sa.Column("stripe_subscription_id", sa.String(length=255), nullable=True),
        sa.Column("plan", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=40), nullable=False),
        sa.Column("current_period_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("grace_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("event_created", sa.BigInteger(), nullable=False),
        sa.Column("overrides", JSON, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organization.id"],
            name=op.f("fk_subscription_org_id_organization"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("org_id", name=op.f("pk_subscription")),
        sa.UniqueConstraint("stripe_customer_id", name=op.f("uq_subscription_stripe_customer_id")),
    )
    op.create_table(
        "stripe_event",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=100), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=40), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organization.id"],
            name=op.f("fk_stripe_event_org_id_organization"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stripe_event")),
    )
    op.create_index(op.f("ix_stripe_event_org_id"), "stripe_event", ["org_id"], unique=False)
    op.create_table(
        "report_subscription",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organization.id"],
            name=op.f("fk_report_subscription_org_id_organization"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_subscription")),
        sa.UniqueConstraint("org_id", "email", name=op.f("uq_report_subscription_org_id_email")),
    )
    op.create_table(
        "reliability_report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("trigger", sa.String(length=20), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("pdf", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organization.id"],
            name=op.f("fk_reliability_report_org_id_organization"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reliability_report")),
    )
    op.create_index(
        "ix_reliability_report_org_created",
        "reliability_report",
        ["org_id", "created_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_reliability_report_org_created", table_name="reliability_report")
    op.drop_table("reliability_report")
    op.drop_table("report_subscription")
    op.drop_index(op.f("ix_stripe_event_org_id"), table_name="stripe_event")
    op.drop_table("stripe_event")
    op.drop_table("subscription")
    op.drop_table("org_usage")
    op.drop_table("plan")
