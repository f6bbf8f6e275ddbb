"""instrument_runs

Revision ID: 0037
Revises: 0036
Create Date: 2026-12-05 14:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import records.base

revision: str = '0037'
down_revision: str | None = '0036'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('instrument_run',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('instrument_id', sa.String(length=64), nullable=False),
    sa.Column('test_item', sa.String(length=16), nullable=False),
    sa.Column('kit_lot', sa.String(length=32), nullable=False),
    sa.Column('analyst', sa.String(length=64), nullable=False),
    sa.Column('imported_at', records.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('invalid_reason', sa.Text(), nullable=True),
    sa.Column('attachment_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('raw_sha256', sa.String(length=64), nullable=False),
    sa.Column('run_label', sa.String(length=64), nullable=False),
    sa.Column('processing', sa.Integer(), nullable=False),
    sa.Column('reviewed_by', sa.String(length=64), nullable=True),
    sa.Column('reviewed_at', records.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['attachment_id'], ['attachment.id'], name=op.f('fk_instrument_run_attachment_id_attachment')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_instrument_run'))
    )
    op.create_index(op.f('ix_instrument_run_instrument_id'), 'instrument_run', ['instrument_id'], unique=False)
    op.create_table('instrument_processing',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('run_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('parser', sa.String(length=32), nullable=False),
    sa.Column('parser_version', sa.String(length=8), nullable=False),
    sa.Column('valid', sa.Boolean(), nullable=False),
    sa.Column('invalid_reason', sa.Text(), nullable=True),
    sa.Column('cutoff', sa.String(length=24), nullable=True),
    sa.Column('wells', sa.JSON(), nullable=False),
    sa.Column('processed_by', sa.String(length=64), nullable=False),
    sa.Column('processed_at', records.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['instrument_run.id'], name=op.f('fk_instrument_processing_run_id_instrument_run')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_instrument_processing')),
    sa.UniqueConstraint('run_id', 'number', name=op.f('uq_instrument_processing_run_id_number'))
    )
    op.create_index(op.f('ix_instrument_processing_run_id'), 'instrument_processing', ['run_id'], unique=False)
    op.create_table('pool_test_result',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('pool_kind', sa.String(length=16), nullable=False),
    sa.Column('pool_code', sa.String(length=32), nullable=False),
    sa.Column('pool_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('units', sa.JSON(), nullable=True),
    sa.Column('run_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('processing', sa.Integer(), nullable=False),
    sa.Column('test', sa.String(length=16), nullable=False),
    sa.Column('result', sa.String(length=16), nullable=False),
    sa.Column('outcome', sa.String(length=12), nullable=False),
    sa.Column('value', sa.String(length=24), nullable=True),
    sa.Column('kit_lot', sa.String(length=32), nullable=False),
    sa.Column('instrument', sa.String(length=64), nullable=False),
    sa.Column('analyst', sa.String(length=64), nullable=False),
    sa.Column('tested_at', records.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('reviewed_by', sa.String(length=64), nullable=True),
    sa.Column('reviewed_at', records.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['pool_id'], ['pool.id'], name=op.f('fk_pool_test_result_pool_id_pool')),
    sa.ForeignKeyConstraint(['run_id'], ['instrument_run.id'], name=op.f('fk_pool_test_result_run_id_instrument_run')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pool_test_result'))
    )
    op.create_index(op.f('ix_pool_test_result_pool_code'), 'pool_test_result', ['pool_code'], unique=False)
    op.create_index(op.f('ix_pool_test_result_pool_id'), 'pool_test_result', ['pool_id'], unique=False)
    op.create_index(op.f('ix_pool_test_result_run_id'), 'pool_test_result', ['run_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_pool_test_result_run_id'), table_name='pool_test_result')
    op.drop_index(op.f('ix_pool_test_result_pool_id'), table_name='pool_test_result')
    op.drop_index(op.f('ix_pool_test_result_pool_code'), table_name='pool_test_result')
    op.drop_table('pool_test_result')
    op.drop_index(op.f('ix_instrument_processing_run_id'), table_name='instrument_processing')
    op.drop_table('instrument_processing')
    op.drop_index(op.f('ix_instrument_run_instrument_id'), table_name='instrument_run')
    op.drop_table('instrument_run')
