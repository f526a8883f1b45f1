"""scale-out: daily-partitioned samples on PostgreSQL, hourly rollups, periodic job ledger

Revision ID: 0010_scaleout
Revises: 0001
Create Date: 2026-11-21

On PostgreSQL the `sample` table becomes a table partitioned by RANGE on `ts` (milliseconds),
one partition per UTC day in the schema `sample_partitions`, plus a DEFAULT partition. SQLite
keeps its plain table and gets the rollup tables only.
"""

import time
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0010_scaleout"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
SCHEMA = "sample_partitions"
# Today's partition, yesterday's and three ahead; the partition job keeps the window moving.
DAYS_BEHIND = 1
DAYS_AHEAD = 3


def _partition(day: int) -> list[str]:
    name = "sample_" + datetime.fromtimestamp(day / 1000, UTC).strftime("%Y%m%d")
    return [
        f"CREATE TABLE {SCHEMA}.{name} PARTITION OF sample "
        f"FOR VALUES FROM ({day}) TO ({day + DAY_MS})",
        f"CREATE INDEX {name}_ts_brin ON {SCHEMA}.{name} USING brin (ts)",
    ]


def _partition_samples() -> None:
    bind = op.get_bind()
    op.execute("ALTER TABLE sample RENAME TO sample_unpartitioned")
    op.execute("ALTER TABLE sample_unpartitioned RENAME CONSTRAINT pk_sample TO pk_sample_old")
    op.execute(
        "ALTER TABLE sample_unpartitioned "
        "RENAME CONSTRAINT fk_sample_series_id_series TO fk_sample_old_series"
    )
    op.execute(
        "CREATE TABLE sample ("
        "series_id integer NOT NULL, ts bigint NOT NULL, value double precision NOT NULL, "
        "CONSTRAINT pk_sample PRIMARY KEY (series_id, ts), "
        "CONSTRAINT fk_sample_series_id_series FOREIGN KEY (series_id) "
        "REFERENCES series (id) ON DELETE CASCADE"
        ") PARTITION BY RANGE (ts)"
    )
    op.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
    op.execute(f"CREATE TABLE {SCHEMA}.sample_default PARTITION OF sample DEFAULT")
    today = int(time.time() * 1000) // DAY_MS * DAY_MS
    days = {today + k * DAY_MS for k in range(-DAYS_BEHIND, DAYS_AHEAD + 1)}
    existing = bind.execute(
        sa.text(f"SELECT DISTINCT ts - ts % {DAY_MS} FROM sample_unpartitioned")
    )
    days |= {int(row[0]) for row in existing}
    for day in sorted(days):
        for statement in _partition(day):
            op.execute(statement)
    op.execute("INSERT INTO sample SELECT series_id, ts, value FROM sample_unpartitioned")
    op.execute("DROP TABLE sample_unpartitioned")


def _unpartition_samples() -> None:
    op.execute(
        "CREATE TABLE sample_unpartitioned ("
        "series_id integer NOT NULL, ts bigint NOT NULL, value double precision NOT NULL, "
        "CONSTRAINT pk_sample_old PRIMARY KEY (series_id, ts), "
        "CONSTRAINT fk_sample_old_series FOREIGN KEY (series_id) "
        "REFERENCES series (id) ON DELETE CASCADE)"
    )
    op.execute("INSERT INTO sample_unpartitioned SELECT series_id, ts, value FROM sample")
    op.execute("DROP TABLE sample")
    op.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
    op.execute("ALTER TABLE sample_unpartitioned RENAME TO sample")
    op.execute("ALTER TABLE sample RENAME CONSTRAINT pk_sample_old TO pk_sample")
    op.execute(
        "ALTER TABLE sample RENAME CONSTRAINT fk_sample_old_series TO fk_sample_series_id_series"
    )


def upgrade() -> None:
    op.create_table(
        "sample_rollup",
        sa.Column("series_id", sa.Integer(), nullable=False),
        sa.Column("hour_ts", sa.BigInteger(), nullable=False),
        sa.Column("min_value", sa.Float(), nullable=False),
        sa.Column("max_value", sa.Float(), nullable=False),
        sa.Column("sum_value", sa.Float(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("last_ts", sa.BigInteger(), nullable=False),
        sa.Column("last_value", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["series_id"],
            ["series.id"],
            name=op.f("fk_sample_rollup_series_id_series"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("series_id", "hour_ts", name=op.f("pk_sample_rollup")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "sample_rollup_dirty",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("hour_ts", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sample_rollup_dirty")),
    )
    op.create_index(
        op.f("ix_sample_rollup_dirty_hour_ts"), "sample_rollup_dirty", ["hour_ts"], unique=False
    )
    op.create_table(
        "job_run",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("slot_ms", sa.BigInteger(), nullable=False),
        sa.Column("fence", sa.BigInteger(), nullable=False),
        sa.Column("worker", sa.String(length=200), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_run")),
    )
    op.create_index("ix_job_run_name_slot_ms", "job_run", ["name", "slot_ms"], unique=False)
    # Samples stored before rollups existed get theirs on the job's first pass.
    op.execute(
        f"INSERT INTO sample_rollup_dirty (hour_ts) SELECT DISTINCT ts - ts % {HOUR_MS} FROM sample"
    )
    if op.get_bind().dialect.name == "postgresql":
        _partition_samples()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _unpartition_samples()
    op.drop_index("ix_job_run_name_slot_ms", table_name="job_run")
    op.drop_table("job_run")
    op.drop_index(op.f("ix_sample_rollup_dirty_hour_ts"), table_name="sample_rollup_dirty")
    op.drop_table("sample_rollup_dirty")
    op.drop_table("sample_rollup")
