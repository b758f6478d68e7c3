"""partial indexes for held comments and messages

The staff navigation counts what waits for a check on every page; without these indexes that
count read the whole comment and message history.

Revision ID: 47bc9877d251
Revises: 43e54b1c614b
Create Date: 2026-11-29 03:13:37.736913

"""
import sqlalchemy as sa
from alembic import op

revision = '47bc9877d251'
down_revision = '43e54b1c614b'
branch_labels = None
depends_on = None

WAITING = "held_at IS NOT NULL AND held_decision IS NULL"


def upgrade():
    for table in ("comment", "message"):
        op.create_index(f"ix_{table}_held", table, ["school_id"], unique=False,
                        sqlite_where=sa.text(WAITING), postgresql_where=sa.text(WAITING))


def downgrade():
    for table in ("message", "comment"):
        op.drop_index(f"ix_{table}_held", table_name=table)
