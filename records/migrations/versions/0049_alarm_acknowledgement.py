"""alarm_acknowledgement: one signature acknowledging a group of alarms

Revision ID: 0049
Revises: 0048
Create Date: 2026-12-05 19:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import records.base

revision: str = '0049'
down_revision: str | None = '0048'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('alarm_acknowledgement',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('alarm_ids', sa.JSON(), nullable=False),
    sa.Column('handling', sa.Text(), nullable=False),
    sa.Column('acknowledged_by', sa.String(length=64), nullable=False),
    sa.Column('acknowledged_at', records.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alarm_acknowledgement'))
    )


def downgrade() -> None:
    op.drop_table('alarm_acknowledgement')
