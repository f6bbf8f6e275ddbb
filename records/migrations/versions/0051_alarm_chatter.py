"""alarm_chatter: tags declared chattering by the alarm rules, and when the declaration ended

Revision ID: 0051
Revises: 0050
Create Date: 2026-12-06 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import records.base

revision: str = '0051'
down_revision: str | None = '0050'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('alarm_chatter',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tag', sa.String(length=64), nullable=False),
    sa.Column('alarms', sa.Integer(), nullable=False),
    sa.Column('window_s', sa.Integer(), nullable=False),
    sa.Column('declared_at', records.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', records.base.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alarm_chatter'))
    )
    op.create_index(op.f('ix_alarm_chatter_tag'), 'alarm_chatter', ['tag'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_alarm_chatter_tag'), table_name='alarm_chatter')
    op.drop_table('alarm_chatter')
