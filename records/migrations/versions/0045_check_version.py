"""check_version: the automatic check's version on every judged test result (QC-11)

Revision ID: 0045
Revises: 0044
Create Date: 2026-12-05 15:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0045'
down_revision: str | None = '0044'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Every result judged so far was judged by the first version.
    op.add_column('test_result', sa.Column('check_version', sa.String(length=24), server_default='QC-JUDGE-1',
                                           nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('test_result') as batch:
        batch.drop_column('check_version')
