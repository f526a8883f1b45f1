"""random session keys for access tokens

Access tokens named their session by its row id, which counts up; they now name a random key.
Existing sessions get one here. Access tokens issued before the upgrade are refused (they name
the old id); their refresh tokens still work and issue tokens that name the key.

Revision ID: 0012_session_keys
Revises: 0002_security
Create Date: 2026-12-14
"""

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_session_keys"
down_revision: str | None = "0002_security"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("auth_session", schema=None) as batch_op:
        batch_op.add_column(sa.Column("key", sa.String(length=64), nullable=True))
    connection = op.get_bind()
    sessions = sa.table("auth_session", sa.column("id", sa.Integer), sa.column("key", sa.String))
    ids = [row.id for row in connection.execute(sa.select(sessions.c.id))]
    for session_id in ids:
        connection.execute(
            sessions.update()
            .where(sessions.c.id == session_id)
            .values(key=secrets.token_urlsafe(32))
        )
    with op.batch_alter_table("auth_session", schema=None) as batch_op:
        batch_op.alter_column("key", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_auth_session_key"), ["key"])


def downgrade() -> None:
    with op.batch_alter_table("auth_session", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_auth_session_key"), type_="unique")
        batch_op.drop_column("key")
