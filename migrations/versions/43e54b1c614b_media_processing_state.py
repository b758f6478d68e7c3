"""media processing state: MediaFile.status (ready, processing, failed)

Videos are transcoded by a background job; until it has run a video is "processing" (or "failed").
Every file that exists already was processed during its upload: the server default makes it ready.

Revision ID: 43e54b1c614b
Revises: d2f1a9c3e7b4
Create Date: 2026-11-29 02:39:36.719855

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '43e54b1c614b'
down_revision = 'd2f1a9c3e7b4'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('media_file', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status', sa.String(length=12), server_default='ready', nullable=False))


def downgrade():
    with op.batch_alter_table('media_file', schema=None) as batch_op:
        batch_op.drop_column('status')
