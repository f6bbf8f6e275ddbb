"""sample_life_cycle

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-05 14:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import records.base

revision: str = '0036'
down_revision: str | None = '0035'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('sample', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name', sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column('quantity', sa.Numeric(precision=12, scale=3, asdecimal=False), nullable=True))
        batch_op.add_column(sa.Column('unit', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('pieces', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('sampled_from', sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column('tube_code', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('bag_intact', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('conditions', sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column('temperature_low', sa.Numeric(precision=6, scale=1, asdecimal=False), nullable=True))
        batch_op.add_column(sa.Column('temperature_high', sa.Numeric(precision=6, scale=1, asdecimal=False), nullable=True))
        batch_op.add_column(sa.Column('stored_at', records.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('equipment_code', sa.String(length=32), nullable=True))

    op.create_table('sample_event',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('sample_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('at', records.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('by', sa.String(length=64), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=12, scale=3, asdecimal=False), nullable=True),
    sa.Column('unit', sa.String(length=16), nullable=True),
    sa.Column('location', sa.String(length=120), nullable=True),
    sa.Column('conditions', sa.String(length=200), nullable=True),
    sa.Column('method', sa.String(length=120), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('test_result_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['sample_id'], ['sample.id'], name=op.f('fk_sample_event_sample_id_sample')),
    sa.ForeignKeyConstraint(['test_result_id'], ['test_result.id'],
                            name=op.f('fk_sample_event_test_result_id_test_result')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sample_event'))
    )
    op.create_index(op.f('ix_sample_event_sample_id'), 'sample_event', ['sample_id'], unique=False)
    op.create_index(op.f('ix_sample_event_test_result_id'), 'sample_event', ['test_result_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_sample_event_test_result_id'), table_name='sample_event')
    op.drop_index(op.f('ix_sample_event_sample_id'), table_name='sample_event')
    op.drop_table('sample_event')
    with op.batch_alter_table('sample', schema=None) as batch_op:
        batch_op.drop_column('equipment_code')
        batch_op.drop_column('stored_at')
        batch_op.drop_column('temperature_high')
        batch_op.drop_column('temperature_low')
        batch_op.drop_column('conditions')
        batch_op.drop_column('bag_intact')
        batch_op.drop_column('tube_code')
        batch_op.drop_column('sampled_from')
        batch_op.drop_column('pieces')
        batch_op.drop_column('unit')
        batch_op.drop_column('quantity')
        batch_op.drop_column('name')
