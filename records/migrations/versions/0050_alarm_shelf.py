"""alarm_shelf: a tag's alarms shelved with a reason until a time

Revision ID: 0050
Revises: 0049
Create Date: 2026-12-05 19:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import records.base

revision: str = '0050'
down_revision: str | None = '0049'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('alarm_shelf',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tag', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('shelved_by', sa.String(length=64), nullable=False),
    sa.Column('shelved_at', records.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('until', records.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', records.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ended_by', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alarm_shelf'))
    )
    op.create_index(op.f('ix_alarm_shelf_tag'), 'alarm_shelf', ['tag'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_alarm_shelf_tag'), table_name='alarm_shelf')
    op.drop_table('alarm_shelf')
